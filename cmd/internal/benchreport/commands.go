package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// partFunc measures one part into the work dir.
type partFunc func(ctx context.Context, c *config, work string) (results, error)

// withWorkDir runs fn with a fresh work dir holding omnitray and
// omnitray-hub built for this machine; the dir is removed afterwards unless
// --keep is set or fn failed (its logs tell why).
func withWorkDir(ctx context.Context, c *config, fn func(work string) error) (err error) {
	work, err := os.MkdirTemp("", "omnitray-bench.")
	if err != nil {
		return fmt.Errorf("making the work dir: %w", err)
	}
	defer func() {
		if c.keep || err != nil {
			say("work dir kept: %s", work)
			return
		}
		os.RemoveAll(work)
	}()
	build := command(ctx, c.goCmd, "build", "-o", filepath.Join(work, "bin")+"/",
		"./cmd/omnitray", "./cmd/omnitray-hub")
	build.Dir = c.root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building omnitray and omnitray-hub: %w", err)
	}
	return fn(work)
}

// runPart measures one part and prints its figures.
func runPart(ctx context.Context, name string, args []string, run partFunc) error {
	c, _, err := parseConfig(name, "benchreport "+name+" [flags]", args, 0)
	if err != nil {
		return err
	}
	return withWorkDir(ctx, c, func(work string) error {
		r, err := run(ctx, c, work)
		if err != nil {
			return err
		}
		return r.write(os.Stdout, "")
	})
}

func runAll(ctx context.Context, args []string) error {
	c, _, err := parseConfig("all", "benchreport [all] [flags]\n\n"+
		"Measures everything and writes the report; a figure over its budget fails the run\n"+
		"after the report is written.", args, 0)
	if err != nil {
		return err
	}
	return withWorkDir(ctx, c, func(work string) error {
		r := runMachine(ctx, c)
		for _, part := range []partFunc{runGoBenchmarks, runSizes, runChromium, runIdle} {
			figures, err := part(ctx, c, work)
			if err != nil {
				return err
			}
			r.merge(figures)
		}
		if err := r.save(filepath.Join(work, "results.env")); err != nil {
			return err
		}
		return saveReport(c.reportPath, r, c.settings(), work)
	})
}

func runRender(ctx context.Context, args []string) error {
	c, rest, err := parseConfig("render", "benchreport render [flags] WORKDIR\n\n"+
		"Writes the report again from a work dir kept with --keep (results.env and go-lines.txt).", args, 1)
	if err != nil {
		return err
	}
	r, err := loadResults(filepath.Join(rest[0], "results.env"))
	if err != nil {
		return err
	}
	return saveReport(c.reportPath, r, c.settings(), rest[0])
}

func runIdleInner(ctx context.Context, args []string) error {
	c, rest, err := parseConfig("idle-inner", "benchreport idle-inner [flags] WORKDIR\n\n"+
		"Run by `benchreport idle` inside .ci/desktop-session.sh: measures the idle agents\n"+
		"and writes WORKDIR/idle.env.", args, 1)
	if err != nil {
		return err
	}
	return idleInner(ctx, c, rest[0])
}
