package feed

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// FeedPath is where the hub serves the feed, under its base URL.
const FeedPath = "/v1/feed"

// WebsocketURL derives the feed URL from the hub's base URL (http → ws,
// https → wss, FeedPath appended to any path prefix). Plain ws to anything
// but loopback is refused unless insecure is set: the hub token would cross
// the network readable by anyone on the path.
//
// Errors never quote the input, because a mistyped base URL may carry a
// password or a token.
func WebsocketURL(hubBase string, insecure bool) (string, error) {
	u, err := url.Parse(strings.TrimSpace(hubBase))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole input
		}
		return "", fmt.Errorf("parse hub URL: %w", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "wss":
		u.Scheme = "wss"
	case "http", "ws":
		u.Scheme = "ws"
	case "":
		return "", errors.New("parse hub URL: it must start with https:// (or http:// for a hub on this computer)")
	default:
		return "", fmt.Errorf("parse hub URL: unsupported scheme %q, want https or http", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return "", errors.New("parse hub URL: no host name")
	}
	if u.User != nil {
		return "", errors.New("parse hub URL: credentials do not belong in the URL; the token is sent in a header")
	}
	if err := checkPort(u.Port()); err != nil {
		return "", fmt.Errorf("parse hub URL: %w", err)
	}
	if u.RawQuery != "" || u.ForceQuery {
		return "", errors.New("parse hub URL: a query does not belong in the hub URL; the token is sent in a header")
	}
	if u.Scheme == "ws" && !insecure && !IsLoopback(u.Hostname()) {
		return "", fmt.Errorf("hub URL: plain http to %s would expose the token; use https, or --insecure if you must", u.Hostname())
	}
	u.Fragment, u.RawFragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/") + FeedPath
	if u.RawPath != "" {
		u.RawPath = strings.TrimRight(u.RawPath, "/") + FeedPath
	}
	return u.String(), nil
}

// IsLoopback reports whether host (a name or an IP literal, without port)
// never leaves this computer: localhost, 127.0.0.0/8 or ::1. Other names are
// not resolved, because DNS is exactly what an attacker on the path controls.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// checkDialURL guards the client against a URL that did not come from
// WebsocketURL; it refuses the same leaks but leaves the loopback policy to
// WebsocketURL, which knows about --insecure.
func checkDialURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("parse feed URL: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("parse feed URL: scheme %q, want ws or wss (see WebsocketURL)", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("parse feed URL: no host name")
	}
	if err := checkPort(u.Port()); err != nil {
		return fmt.Errorf("parse feed URL: %w", err)
	}
	if u.User != nil || u.RawQuery != "" {
		return errors.New("parse feed URL: credentials or a query do not belong in the URL; the token is sent in a header")
	}
	return nil
}

// checkPort refuses a port no connection can ever be made to, so that such a
// URL is bad input at start rather than a reconnect loop: url.Parse accepts
// any digits ("http://hub:99999").
func checkPort(port string) error {
	if port == "" {
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %s is not between 1 and 65535", port)
	}
	return nil
}
