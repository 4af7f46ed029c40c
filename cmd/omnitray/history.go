package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/cmd/internal/cli"
	"github.com/omnitray/omnitray/sync/history"
)

// runHistory is `omnitray history`: the employee's own transitions with
// their reasons, as the hub keeps them for all of the employee's computers.
// Like `status` and `switch`, it asks the running agent, which holds the
// token and the connection.
func runHistory(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("omnitray", "history", "omnitray history [--since 24h] [--json | --csv]\n\n"+
		"Prints your Omnidesk status changes and the Chaport statuses written for you, with\n"+
		"the reason for each, oldest first. The hub keeps them for 90 days.")
	since := fs.Duration("since", 24*time.Hour, "how far back, as a Go duration such as 90m, 24h or 720h")
	asJSON := fs.Bool("json", false, "print JSON (one array)")
	asCSV := fs.Bool("csv", false, "print CSV with a header row")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := fs.NoArgs(); err != nil {
		return err
	}
	if *asJSON && *asCSV {
		return cli.Usagef("--json and --csv: choose one")
	}
	if *since <= 0 || *since > 400*24*time.Hour {
		return cli.Usagef("--since %s: want a Go duration between 1s and 9600h, such as 24h or 720h", *since)
	}
	path, err := agent.ControlPath()
	if err != nil {
		return err
	}
	entries, err := agent.ReadHistory(ctx, path, time.Now().Add(-*since))
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	case *asCSV:
		w := csv.NewWriter(os.Stdout)
		_ = w.Write([]string{"at", "kind", "from", "to", "cause", "reason", "computer"})
		for _, e := range entries {
			_ = w.Write([]string{e.At.UTC().Format(time.RFC3339), e.Kind, e.From, e.To, e.Cause, e.Reason, e.Host})
		}
		w.Flush()
		return w.Error()
	}
	if len(entries) == 0 {
		fmt.Printf("No changes in the last %s.\n", *since)
		return nil
	}
	for _, e := range entries {
		fmt.Println(historyLine(e))
	}
	return nil
}

// historyLine is one entry for a terminal:
// "2026-12-02 14:02  Chaport   online → offline   Screen locked → Chaport offline (laptop)".
func historyLine(e history.Entry) string {
	kind := map[string]string{history.KindOmnidesk: "Omnidesk", history.KindChaport: "Chaport",
		history.KindSession: "Computer"}[e.Kind]
	change := e.To
	if e.From != "" {
		change = e.From + " → " + e.To
	}
	line := fmt.Sprintf("%s  %-8s  %-24s  %s", e.At.Local().Format("2006-01-02 15:04:05"), kind, change, e.Reason)
	if e.Host != "" {
		line += " (" + e.Host + ")"
	}
	return strings.TrimRight(line, " ")
}
