package main

import (
	"fmt"
	"strconv"
	"strings"
)

// budget is a figure's limit, in the figure's own unit. Budgets are read in
// decimal units (1 MB = 10⁶ bytes, 1 KB = 10³ bytes), the stricter reading;
// /proc counts KiB, so the memory limits are converted to KiB here.
type budget struct {
	key   string
	limit float64
}

var budgets = []budget{
	{"idle.headless.rss_kb", 20e6 / 1024},
	{"idle.tray.rss_kb", 30e6 / 1024},
	{"idle.headless.cpu_pct", 0.1},
	{"idle.tray.cpu_pct", 0.1},
	// A timer firing every second or faster would make the agent run at
	// every one-second look: 100 %.
	{"idle.headless.busy_pct", 99.9},
	{"idle.tray.busy_pct", 99.9},
	{"go.write_p99", 5},
	{"go.fan_hub_p99_ms", 50},
	{"go.fan_hub_rss_kb_agent", 40e3 / 1024},
	{"go.fan3_hub_p99_ms", 50},
	{"go.fan3_hub_rss_kb_agent", 40e3 / 1024},
	// The issue: "a new leader polls within 5 s", after any kill, so the
	// slowest of them.
	{"go.cluster_failover_max_s", 5},
	// The employee's binary, stripped, must stay small though the hub
	// grew a cluster engine: it links no NATS (cmd/omnitray's deps test).
	{"size.linux.omnitray.stripped", 15e6},
}

func budgetOf(key string) (float64, bool) {
	for _, b := range budgets {
		if b.key == key {
			return b.limit, true
		}
	}
	return 0, false
}

// verdict is "pass" when value ≤ limit, "**over**" when above, and "—"
// when the figure is missing or not a number.
func verdict(value string, limit float64) string {
	v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	switch {
	case err != nil:
		return "—"
	case v <= limit:
		return "pass"
	default:
		return "**over**"
	}
}

// overBudget lists the figures over their budget; any fails the run.
func overBudget(r results) []string {
	var over []string
	for _, b := range budgets {
		if verdict(r.get(b.key), b.limit) == "**over**" {
			over = append(over, fmt.Sprintf("%s = %s (budget %g)", b.key, r.get(b.key), b.limit))
		}
	}
	return over
}

// num reads a figure as a number; a missing one counts as 0, as the
// report's arithmetic always did.
func num(s string) float64 {
	v, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return v
}

func mib(kib string) string     { return fmt.Sprintf("%.1f MiB", num(kib)/1024) }
func gib(kib string) string     { return fmt.Sprintf("%.1f GiB", num(kib)/1024/1024) }
func whole(v string) string     { return fmt.Sprintf("%.0f", num(v)) }
func kibToMB(kib string) string { return fmt.Sprintf("%.1f MB", num(kib)*1024/1e6) }
func bytesMB(b string) string   { return fmt.Sprintf("%.2f MB", num(b)/1e6) }
func kibToKB(kib string) string { return fmt.Sprintf("%.1f", num(kib)*1.024) }

// every is the seconds between the looks that found an agent awake.
func every(secs, busy string) string {
	if num(busy) <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f", num(secs)/num(busy))
}

// times is how many times bigger than b a is ("60×"), or "" without b.
func times(a, b string) string {
	if num(b) <= 0 {
		return ""
	}
	return fmt.Sprintf("%.0f×", num(a)/num(b))
}

// perLook is the average time between two one-second looks.
func perLook(secs, looks string) string {
	if num(looks) <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", num(secs)/num(looks))
}
