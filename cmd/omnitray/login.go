package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/agent/secrets"
	"github.com/omnitray/omnitray/cmd/internal/cli"
	"github.com/omnitray/omnitray/internal/atomicfile"
)

// keyringTimeout bounds each keyring call: a locked keyring may never answer.
const keyringTimeout = 5 * time.Second

// runLogin stores the hub token in the OS keyring and, with --hub, the hub's
// URL in the config file. The token is read from the terminal without echo
// or from stdin, never from an argument: arguments show in `ps` to every
// user of the machine and stay in shell history.
func runLogin(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("omnitray", "login", "omnitray login [--hub URL] [--insecure]\n\n"+
		"Stores your hub token in the OS keyring. Type it at the prompt (it is not shown)\n"+
		"or pipe it in: omnitray-hub token --staff ID | omnitray login --hub https://hub.example")
	hub := fs.String("hub", "", "the hub's base URL, or its replicas' separated by commas, saved in the config file for 'omnitray run'")
	insecure := fs.Bool("insecure", false, "allow plain http to a hub that is not on this computer (saved with --hub)")
	config := fs.String("config", "", "config file to save --hub in (default in the user config dir)")
	fs.Env("hub", "OMNITRAY_HUB_URL")
	fs.Env("config", "OMNITRAY_CONFIG")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 { // never echo it: it may be the token
		return cli.Usagef("the token is not accepted as an argument (others could see it); pipe it on stdin or type it at the prompt")
	}
	base := strings.TrimSpace(*hub)
	if base == "" && *insecure {
		return cli.Usagef("--insecure only applies together with --hub")
	}
	if base != "" {
		tidy, err := checkHub(fs, base, *insecure)
		if err != nil {
			return err
		}
		base = tidy
	}

	token, err := readToken(ctx, os.Stdin, os.Stderr)
	if err != nil {
		return err
	}
	if err := secrets.ValidateToken(token); err != nil {
		return cli.Usagef("%v", err)
	}
	if err := secrets.Keyring(keyringTimeout).Set(ctx, token); err != nil {
		return err
	}
	if base != "" {
		path, err := agentConfigPath(*config)
		if err != nil {
			return err
		}
		// A later login without --insecure drops an earlier "insecure".
		updates := map[string]any{"hub": base, "insecure": nil}
		if *insecure {
			updates["insecure"] = true
		}
		if err := mergeConfigFile(path, updates); err != nil {
			return fmt.Errorf("saving the hub URL: %w", err)
		}
		fmt.Printf("Hub %s saved in %s.\n", base, path)
	}
	fmt.Println("Signed in; the token is in the OS keyring.")
	return nil
}

// runLogout signs out: it asks a running agent of this user to sign out
// (it disconnects from the hub and stops; its Chaport lease lapses on its
// own), then removes the token from the keyring. No token is not an error.
// A running agent is signed out first, so that a keyring that cannot be
// reached does not leave it connected.
func runLogout(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("omnitray", "logout", "omnitray logout\n\n"+
		"Signs out: the running agent (tray or headless) disconnects from the hub and stops,\n"+
		"its Chaport lease lapses on its own, and your hub token is removed from the OS keyring.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 { // not quoted back: someone may have pasted the token
		return cli.Usagef("logout takes no arguments (see --help)")
	}
	signedOut, err := signOutRunningAgent(ctx)
	if err != nil {
		return err
	}
	if err := secrets.Keyring(keyringTimeout).Delete(ctx); err != nil {
		if signedOut {
			// The agent is out; a machine without a keyring (headless,
			// OMNITRAY_TOKEN) has no token there to remove.
			fmt.Printf("The OS keyring could not be reached, so no token was removed from it (%v).\n", err)
			return nil
		}
		return err
	}
	fmt.Println("Signed out; no hub token is left in the OS keyring.")
	return nil
}

// signOutRunningAgent asks the agent on the control socket, if any, to sign
// out, and prints its answer.
func signOutRunningAgent(ctx context.Context) (bool, error) {
	path, err := agent.ControlPath()
	if err != nil {
		return false, err
	}
	msg, err := agent.AskToSignOut(ctx, path)
	switch {
	case errors.Is(err, agent.ErrNoAgent):
		return false, nil
	case err != nil:
		return false, err
	}
	fmt.Println(msg)
	return true, nil
}

// readToken reads the token from the terminal without echo (prompting on
// prompt), or, when in is not a terminal, from its first line. Both give up
// when ctx ends: cli.Main turns Ctrl-C into a cancelled context, so a
// blocked read would otherwise ignore it.
func readToken(ctx context.Context, in *os.File, prompt io.Writer) (string, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return awaitRead(ctx, func() (string, error) { return readTokenLine(in) })
	}
	saved, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("reading the token from the terminal: %w", err)
	}
	fmt.Fprint(prompt, "Hub token: ")
	token, err := awaitRead(ctx, func() (string, error) {
		b, err := term.ReadPassword(fd)
		return strings.TrimSpace(string(b)), err
	})
	fmt.Fprintln(prompt)
	if ctx.Err() != nil {
		term.Restore(fd, saved) // ReadPassword may still be blocked with echo off
		return "", fmt.Errorf("reading the token: %w", ctx.Err())
	}
	if err != nil {
		return "", fmt.Errorf("reading the token from the terminal: %w", err)
	}
	if token == "" {
		return "", cli.Usagef("no token entered")
	}
	return token, nil
}

// awaitRead runs read in a goroutine and waits for it or for ctx; a read
// abandoned this way ends with the process.
func awaitRead(ctx context.Context, read func() (string, error)) (string, error) {
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := read()
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-ctx.Done():
		return "", fmt.Errorf("reading the token: %w", ctx.Err())
	}
}

// maxTokenLine bounds what is read from stdin: a token plus some spacing.
const maxTokenLine = secrets.MaxTokenLen + 256

// readTokenLine returns the first line of r with surrounding spaces (and
// \r\n) trimmed. It never returns what it read in an error.
func readTokenLine(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxTokenLine+1), maxTokenLine+1).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the token from stdin: %w", err)
	}
	if len(line) > maxTokenLine {
		return "", cli.Usagef("the first line of stdin is longer than any token (%d bytes at most)", secrets.MaxTokenLen)
	}
	token := strings.TrimSpace(line)
	if token == "" {
		return "", cli.Usagef("no token on stdin; type it at a terminal or pipe it in: omnitray-hub token --staff ID | omnitray login")
	}
	return token, nil
}

// mergeConfigFile sets keys in the flat JSON object at path (a nil value
// deletes the key), keeping the others, and writes it back atomically with
// mode 0600 in a 0700 folder. It refuses a file that holds a token, which
// 'omnitray run' would refuse too.
func mergeConfigFile(path string, updates map[string]any) error {
	values := map[string]any{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading %s: %w", path, err)
	default:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber() // write numbers back exactly as they were
		if err := dec.Decode(&values); err != nil {
			return fmt.Errorf("parsing %s (fix or remove it): %w", path, err)
		}
		if values == nil { // the file said null
			values = map[string]any{}
		}
	}
	if _, ok := values["token"]; ok {
		return fmt.Errorf("%s holds a token; remove it: the token belongs in the keyring", path)
	}
	for k, v := range updates {
		if v == nil {
			delete(values, k)
		} else {
			values[k] = v
		}
	}
	out, err := json.MarshalIndent(values, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return atomicfile.Write(path, append(out, '\n'), 0o600)
}
