package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/omnitray/omnitray/cmd/internal/cli"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// sandboxURLs is what --ready-file receives, so that scripts and tests that
// start the sandbox on port 0 learn where it listens.
type sandboxURLs struct {
	Chaport  string `json:"chaport"`
	Omnidesk string `json:"omnidesk"`
	Control  string `json:"control"`
}

func runSandbox(ctx context.Context, args []string) error {
	fs := cli.NewFlagSet("omnitray", "sandbox", "omnitray sandbox [flags]\n\n"+
		"Runs strict local fakes of the Chaport and Omnidesk APIs and a control page.\n"+
		"Credentials are CHAPORT_TOKEN, OMNIDESK_EMAIL and OMNIDESK_API_KEY when set,\n"+
		"else the sandbox defaults.")
	chaportAddr := fs.String("chaport-listen", "127.0.0.1:8741", "address of the fake Chaport API")
	omnideskAddr := fs.String("omnidesk-listen", "127.0.0.1:8742", "address of the fake Omnidesk API")
	controlAddr := fs.String("control-listen", "127.0.0.1:8743", "address of the control page")
	budget := fs.Int("omnidesk-budget", 20, "Omnidesk requests per minute for the whole account")
	statusWrite := fs.String("status-write", "accept",
		"what Omnidesk does with a status switch: accept, ignore (200, unchanged) or refuse (400)")
	ready := fs.String("ready-file", "", "write the URLs as JSON to this file once listening")
	addStaff := fs.Int("add-staff", 0, "employees to add to the three seed ones, each a staff member (Offline) and "+
		"a Chaport operator with the same e-mail, staff<id>@acme.test (for load tests)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := fs.NoArgs(); err != nil {
		return err
	}
	if *budget < 1 {
		return cli.Usagef("--omnidesk-budget must be at least 1")
	}
	if *addStaff < 0 || *addStaff > 10_000 {
		return cli.Usagef("--add-staff must be between 0 and 10000")
	}
	writeMode, err := sandbox.ParseStatusWriteMode(*statusWrite)
	if err != nil {
		return cli.Usagef("--status-write %q: want accept, ignore or refuse", *statusWrite)
	}
	sb := sandbox.New(sandbox.Config{
		ChaportListen: *chaportAddr, OmnideskListen: *omnideskAddr, ControlListen: *controlAddr,
		ChaportToken: os.Getenv("CHAPORT_TOKEN"), OmnideskEmail: os.Getenv("OMNIDESK_EMAIL"),
		OmnideskAPIKey: os.Getenv("OMNIDESK_API_KEY"),
		Omnidesk:       sandbox.OmnideskSettings{BudgetPerMinute: *budget, StatusWrite: writeMode},
	})
	sb.AddStaff(*addStaff)
	if err := sb.Start(ctx); err != nil {
		return fmt.Errorf("starting the sandbox: %w", portClashHint(err))
	}
	defer sb.Close()
	fmt.Printf("Sandbox control page: %s/\n", sb.ControlURL)
	fmt.Printf("Fake Chaport API:     %s/api/v1\n", sb.ChaportURL)
	fmt.Printf("Fake Omnidesk API:    %s/api\n", sb.OmnideskURL)
	if *ready != "" {
		b, _ := json.Marshal(sandboxURLs{sb.ChaportURL, sb.OmnideskURL, sb.ControlURL})
		if err := os.WriteFile(*ready, b, 0o600); err != nil {
			return fmt.Errorf("writing the ready file: %w", err)
		}
	}
	<-ctx.Done()
	return nil
}

// portClashHint adds the way out to a port that is taken (usually by
// another sandbox): the flag that moves it, and 127.0.0.1:0 for a free one.
func portClashHint(err error) error {
	var le *sandbox.ListenError
	if !errors.As(err, &le) || !(errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") ||
		strings.Contains(err.Error(), "Only one usage of each socket address")) {
		return err
	}
	return fmt.Errorf("%w; another sandbox may be running: stop it, or pass --%s-listen 127.0.0.1:0 for a free port "+
		"(--ready-file tells where it listens)", err, le.Service)
}
