package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/cmd/internal/cli"
)

// runSwitch is `omnitray switch STATUS`. It asks the running agent over its
// control socket, as `omnitray status` does, rather than the hub itself:
// the agent already holds the token and the connection, and the status
// list it has is the one the tray shows. Exit 0 once Omnidesk shows the
// status, 1 when it was refused or not applied (or no agent runs), 2 for a
// status that is not switchable.
func runSwitch(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("omnitray", "switch", "omnitray switch [--timeout 2m] STATUS\n\n"+
		"Switches your Omnidesk status through the running agent and waits until Omnidesk\n"+
		"shows it. STATUS is a status name, in any case («обед», «Без чатов»; quotes are\n"+
		"optional), or its id. Exit 0 once Omnidesk shows it; 1 when Omnidesk refused or\n"+
		"did not apply it, or no agent runs; 2 for an unknown or inactive status.")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up waiting for Omnidesk after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	arg := strings.Join(fs.Args(), " ")
	if strings.TrimSpace(arg) == "" {
		return cli.Usagef("missing STATUS: a status name or id (see --help)")
	}
	if *timeout < time.Second {
		return cli.Usagef("--timeout %s: want a Go duration of at least 1s, such as 90s or 2m", *timeout)
	}
	path, err := agent.ControlPath()
	if err != nil {
		return err
	}
	st, err := agent.ReadState(ctx, path)
	if err != nil {
		return fmt.Errorf("%w; start one with 'omnitray run'", err)
	}
	if len(st.Statuses) == 0 {
		return fmt.Errorf("the agent has no status list from the hub yet (hub: %s); try again once 'omnitray status' says connected", st.Connection)
	}
	want, err := agent.ResolveStatus(st.Statuses, arg)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	if st.Connection != agent.Connected {
		return fmt.Errorf("the agent is not connected to the hub (%s); see 'omnitray status'", st.Connection)
	}
	if st.StatusID == want.ID {
		// What the hub last read from Omnidesk: nothing to switch, and no
		// write to spend the company's Omnidesk budget on.
		fmt.Printf("Omnidesk already shows «%s».\n", want.Name)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := agent.RequestSwitch(ctx, path, want.ID); err != nil {
		var sf *agent.SwitchFailed
		if errors.As(err, &sf) && st.OmnideskURL != "" {
			return fmt.Errorf("%s — you can switch it in Omnidesk: %s", sf.Message, st.OmnideskURL)
		}
		return err
	}
	fmt.Printf("Omnidesk shows «%s».\n", want.Name)
	return nil
}
