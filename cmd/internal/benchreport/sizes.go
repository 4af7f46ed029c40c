package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// runSizes builds both commands for linux and windows (amd64, no cgo),
// plain and stripped, and records each file's size.
func runSizes(ctx context.Context, c *config, work string) (results, error) {
	r := results{}
	for _, goos := range []string{"linux", "windows"} {
		for _, name := range []string{"omnitray", "omnitray-hub"} {
			for _, flavour := range []string{"plain", "stripped"} {
				exe := name
				if goos == "windows" {
					exe += ".exe"
				}
				out := filepath.Join(work, "sizes", goos+"-"+flavour, exe)
				args := []string{"build"}
				if flavour == "stripped" {
					args = append(args, "-ldflags=-s -w")
				}
				cmd := command(ctx, c.goCmd, append(args, "-o", out, "./cmd/"+name)...)
				cmd.Dir = c.root
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH=amd64")
				cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
				if err := cmd.Run(); err != nil {
					return nil, fmt.Errorf("building %s for %s: %w", name, goos, err)
				}
				fi, err := os.Stat(out)
				if err != nil {
					return nil, fmt.Errorf("sizing %s: %w", out, err)
				}
				r.put(fmt.Sprintf("size.%s.%s.%s", goos, name, flavour), fmt.Sprint(fi.Size()))
			}
		}
	}
	return r, nil
}
