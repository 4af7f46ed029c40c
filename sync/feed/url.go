package feed

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
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
	u, err := feedURL(hubBase, insecure)
	if err != nil {
		return "", fmt.Errorf("hub URL: %w", err)
	}
	return u, nil
}

// WebsocketURLs derives the feed URLs of a hub given as a comma-separated
// list of base URLs, one per replica ("https://a:8740,https://b:8740"), in
// the order given; a single URL, perhaps of a load balancer, is a list of
// one. Space around an item is ignored; an empty item is an error (a stray
// comma is more likely a URL lost in editing than meant); an item naming
// the same feed as an earlier one is dropped. Each item is checked as
// WebsocketURL checks it, and an error names the item by its position,
// never by its text, for the same reason.
func WebsocketURLs(hubBases string, insecure bool) ([]string, error) {
	items := strings.Split(hubBases, ",")
	out := make([]string, 0, len(items))
	for i, item := range items {
		which := "hub URL"
		if len(items) > 1 {
			which = fmt.Sprintf("hub URL %d of %d", i+1, len(items))
		}
		if strings.TrimSpace(item) == "" {
			return nil, fmt.Errorf("%s is empty", which)
		}
		u, err := feedURL(item, insecure)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", which, err)
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// feedURL is WebsocketURL without naming the URL in its errors, so that
// WebsocketURLs can say which of several it was.
func feedURL(hubBase string, insecure bool) (string, error) {
	u, err := url.Parse(strings.TrimSpace(hubBase))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole input
		}
		return "", err
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "wss":
		u.Scheme = "wss"
	case "http", "ws":
		u.Scheme = "ws"
	case "":
		return "", errors.New("it must start with https:// (or http:// for a hub on this computer)")
	default:
		return "", fmt.Errorf("unsupported scheme %q, want https or http", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return "", errors.New("no host name")
	}
	if u.User != nil {
		return "", errors.New("credentials do not belong in the URL; the token is sent in a header")
	}
	if err := checkPort(u.Port()); err != nil {
		return "", err
	}
	if u.RawQuery != "" || u.ForceQuery {
		return "", errors.New("a query does not belong in it; the token is sent in a header")
	}
	if u.Scheme == "ws" && !insecure && !IsLoopback(u.Hostname()) {
		return "", fmt.Errorf("plain http to %s would expose the token; use https, or --insecure if you must", u.Hostname())
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
