package main

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

//go:embed report.md.tmpl
var reportText string

// fullIdleSeconds is what the budgets mean by "10 idle minutes".
const fullIdleSeconds = 600

// reportSettings are the knobs the report mentions.
type reportSettings struct {
	idleSeconds, warmupSeconds, chromiumSeconds int
	fanoutBenchtime, failoverBenchtime          string
}

// shortRun tells a quick run's report apart: its idle window is shorter
// than the budgets mean.
func shortRun(r results) bool {
	return num(r.get("idle.seconds"))+1 < fullIdleSeconds
}

// writeReport renders the report of r; goLines is the raw benchmark output.
func writeReport(w io.Writer, r results, s reportSettings, goLines string) error {
	funcs := template.FuncMap{
		"g":   r.get,
		"mib": mib, "gib": gib, "whole": whole, "kibToMB": kibToMB, "kibToKB": kibToKB,
		"bytesMB": bytesMB, "every": every, "times": times, "perLook": perLook,
		"verdict": func(key string) (string, error) {
			limit, ok := budgetOf(key)
			if !ok {
				return "", fmt.Errorf("no budget for %s", key)
			}
			return verdict(r.get(key), limit), nil
		},
		"over": func(key string) bool {
			limit, _ := budgetOf(key)
			return verdict(r.get(key), limit) == "**over**"
		},
	}
	t, err := template.New("report").Funcs(funcs).Option("missingkey=error").Parse(reportText)
	if err != nil {
		return fmt.Errorf("parsing the report template: %w", err)
	}
	data := struct {
		Short                          bool
		RerunMinutes                   int
		WarmupSeconds, ChromiumSeconds int
		FanoutBenchtime, GoLines       string
		FailoverBenchtime              string
		Commands                       []string
	}{
		Short:             shortRun(r),
		RerunMinutes:      s.idleSeconds/60 + 10, // the rest of the run takes about 10 minutes
		WarmupSeconds:     s.warmupSeconds,
		ChromiumSeconds:   s.chromiumSeconds,
		FanoutBenchtime:   s.fanoutBenchtime,
		FailoverBenchtime: s.failoverBenchtime,
		GoLines:           strings.TrimRight(goLines, "\n"),
		Commands:          []string{"omnitray", "omnitray-hub"},
	}
	if err := t.Execute(w, data); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// saveReport writes the report to path through a temporary file beside it,
// so that an interrupted run leaves the old report whole. It fails, after
// writing, when a figure is over its budget.
func saveReport(path string, r results, s reportSettings, work string) error {
	goLines, err := os.ReadFile(filepath.Join(work, "go-lines.txt"))
	if err != nil {
		return fmt.Errorf("reading the raw benchmark output: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".benchmarks.*")
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeReport(tmp, r, s, string(goLines)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	say("wrote %s", path)
	if shortRun(r) {
		say("short idle window (%s s): the report says so; do not check it in", r.get("idle.seconds"))
	}
	if over := overBudget(r); len(over) > 0 {
		return fmt.Errorf("%d figure(s) over budget (%s): see %s", len(over), strings.Join(over, "; "), path)
	}
	return nil
}
