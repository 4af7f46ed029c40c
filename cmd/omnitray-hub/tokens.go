package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/omnitray/omnitray/cmd/internal/cli"
	"github.com/omnitray/omnitray/sync/hub"
)

const tokenUsage = "omnitray-hub token --staff ID [--ttl 720h]\n" +
	"       omnitray-hub token list [--json]\n" +
	"       omnitray-hub token revoke ID | --staff ID\n\n" +
	"Prints a signed agent token naming one Omnidesk staff member and records it (never the token\n" +
	"itself) in tokens.json in the hub's state directory. Needs OMNITRAY_HUB_SECRET; list and revoke\n" +
	"do not. Give the same --state-dir/--state-file/--config (or environment) as 'serve', so that a\n" +
	"running hub sees revocations; it applies them within 2 s and keeps them across restarts."

// token dispatches `token`, `token list` and `token revoke`.
func token(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			return tokenList(args[1:], os.Stdout)
		case "revoke":
			return tokenRevoke(args[1:], os.Stdout)
		}
	}
	return tokenIssue(args)
}

func tokenIssue(args []string) error {
	fs := cli.NewFlagSet("omnitray-hub", "token", tokenUsage)
	staff := fs.Int64("staff", 0, "Omnidesk staff id the token is for (required)")
	ttlText := fs.String("ttl", "720h", "how long the token is valid, 1m to 8760h (1 year)")
	state := addStateFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := fs.NoArgs(); err != nil {
		return err
	}
	if *staff <= 0 {
		return cli.Usagef("--staff must be a positive Omnidesk staff id")
	}
	ttl, err := hub.ParseTokenTTL(*ttlText)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	key, err := secret()
	if err != nil {
		return err
	}
	dir, _, err := state.resolve()
	if err != nil {
		return err
	}
	tok, _, err := hub.IssueToken(dir, key, *staff, time.Now(), ttl)
	if err != nil {
		return fmt.Errorf("issuing the token: %w", err)
	}
	fmt.Println(tok)
	return nil
}

// listedToken is one row of `token list`.
type listedToken struct {
	ID       string    `json:"id"`
	Staff    int64     `json:"staff"`
	Issued   time.Time `json:"issued"`
	Expires  time.Time `json:"expires"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	State    string    `json:"state"` // active, expired or revoked
}

func tokenList(args []string, out io.Writer) error {
	fs := cli.NewFlagSet("omnitray-hub", "token list", "omnitray-hub token list [--json]\n\n"+
		"Lists the tokens issued (and those the hub saw that were issued before the registry existed):\n"+
		"id, staff, issued, expires, last seen by the hub, and state: active, expired or revoked.")
	asJSON := fs.Bool("json", false, "print the list as JSON")
	state := addStateFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := fs.NoArgs(); err != nil {
		return err
	}
	dir, _, err := state.resolve()
	if err != nil {
		return err
	}
	reg, err := hub.ReadTokenRegistry(dir)
	if err != nil {
		return err
	}
	seen, err := hub.ReadTokenSeen(dir)
	if err != nil {
		// Last-seen times are a nicety; the registry is what matters.
		fmt.Fprintf(os.Stderr, "omnitray-hub token list: %v; last-seen times not shown\n", err)
	}
	rows := listTokens(reg, seen, time.Now())
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Tokens       []listedToken         `json:"tokens"`
			StaffRevoked []hub.StaffRevocation `json:"revoked_staff"`
		}{rows, reg.StaffRevoked})
	}
	return printTokens(out, rows, reg.StaffRevoked)
}

// listTokens merges the registry with the hub's last-seen record, oldest
// first.
func listTokens(reg hub.TokenRegistry, seen hub.TokenSeen, now time.Time) []listedToken {
	rows := make([]listedToken, 0, len(reg.Tokens)+len(seen.Seen))
	listed := map[string]bool{}
	add := func(c hub.Claims) {
		row := listedToken{ID: c.ID, Staff: c.Staff, Issued: c.Issued, Expires: c.Expires,
			LastSeen: seen.Seen[c.ID].LastSeen, State: "active"}
		switch {
		case reg.IsRevoked(c):
			row.State = "revoked"
		case !now.Before(c.Expires):
			row.State = "expired"
		}
		listed[c.ID] = true
		rows = append(rows, row)
	}
	for _, t := range reg.Tokens {
		add(hub.Claims{Staff: t.Staff, ID: t.ID, Issued: t.Issued, Expires: t.Expires})
	}
	for id, s := range seen.Seen {
		if !listed[id] {
			add(s.Claims(id))
		}
	}
	slices.SortStableFunc(rows, func(a, b listedToken) int { return a.Issued.Compare(b.Issued) })
	return rows
}

func printTokens(out io.Writer, rows []listedToken, staffRevoked []hub.StaffRevocation) error {
	when := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Local().Format("2006-01-02 15:04")
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTAFF\tISSUED\tEXPIRES\tLAST SEEN\tSTATE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.ID, r.Staff, when(r.Issued), when(r.Expires), when(r.LastSeen), r.State)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("printing the token list: %w", err)
	}
	for _, sr := range staffRevoked {
		fmt.Fprintf(out, "staff %d: every token issued until %s is revoked\n", sr.Staff, when(sr.IssuedUntil))
	}
	return nil
}

func tokenRevoke(args []string, out io.Writer) error {
	fs := cli.NewFlagSet("omnitray-hub", "token revoke", "omnitray-hub token revoke ID | --staff ID\n\n"+
		"Revokes one token by its id (from 'token list'), or with --staff every token of one staff member\n"+
		"issued until now. A running hub with the same state directory closes their sessions within 2 s.")
	staff := fs.Int64("staff", 0, "revoke every token of this Omnidesk staff id")
	state := addStateFlags(fs)
	// Ids issued before they were kept from starting with "-" would read
	// as flags: one that is no flag of ours is taken as the id.
	id := ""
	for i, a := range args {
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && looksLikeTokenID(a) &&
			fs.Lookup(strings.TrimPrefix(a, "-")) == nil {
			id, args = a, append(append([]string{}, args[:i]...), args[i+1:]...)
			break
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The id may come before or after the flags.
	switch {
	case fs.NArg() > 0 && id == "":
		id = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
		if err := fs.NoArgs(); err != nil {
			return err
		}
	case fs.NArg() > 0:
		if err := fs.NoArgs(); err != nil {
			return err
		}
	}
	if (id == "") == (*staff == 0) {
		return cli.Usagef("give either a token id or --staff (see --help)")
	}
	if *staff < 0 {
		return cli.Usagef("--staff must be a positive Omnidesk staff id")
	}
	dir, _, err := state.resolve()
	if err != nil {
		return err
	}
	now := time.Now()
	if *staff > 0 {
		if err := hub.RevokeStaff(dir, *staff, now); err != nil {
			return fmt.Errorf("revoking the tokens of staff %d: %w", *staff, err)
		}
		fmt.Fprintf(out, "revoked every token of staff %d issued until now\n", *staff)
		return nil
	}
	seen, err := hub.ReadTokenSeen(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "omnitray-hub token revoke: %v; only tokens in the registry can be revoked by id\n", err)
	}
	known := func(id string) (hub.Claims, bool) {
		s, ok := seen.Seen[id]
		return s.Claims(id), ok
	}
	if err := hub.RevokeToken(dir, id, known, now); err != nil {
		return fmt.Errorf("revoking the token: %w", err)
	}
	fmt.Fprintf(out, "revoked token %s\n", id)
	return nil
}

// looksLikeTokenID says whether s has the shape of a token id: 12 characters
// of base64url (9 random bytes).
func looksLikeTokenID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
