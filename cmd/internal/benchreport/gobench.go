package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// benchLine is one result line of `go test -bench`:
// "BenchmarkX-2   452   2407599 ns/op   1.583 p50-ms ...".
type benchLine struct {
	name       string // without the -GOMAXPROCS suffix
	iterations string
	metrics    map[string]string // unit → value as printed
}

var procsSuffix = regexp.MustCompile(`-[0-9]+$`)

// parseBench reads the result lines of `go test -bench` output; everything
// else (logs, PASS, ok lines) is skipped. A later line for the same
// benchmark replaces an earlier one.
func parseBench(out string) map[string]benchLine {
	found := map[string]benchLine{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		b := benchLine{name: procsSuffix.ReplaceAllString(f[0], ""), iterations: f[1], metrics: map[string]string{}}
		for i := 2; i+1 < len(f); i += 2 {
			b.metrics[f[i+1]] = f[i]
		}
		found[b.name] = b
	}
	return found
}

// benchResultLines keeps the lines of the report's "Raw benchmark output".
func benchResultLines(out string) []string {
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "Benchmark") {
			lines = append(lines, line)
		}
	}
	return lines
}

// figureKey turns a benchmark unit into a results name: "hub-rss-KB/agent"
// → "hub_rss_kb_agent".
func figureKey(unit string) string {
	return notKeyChar.ReplaceAllString(strings.ToLower(unit), "_")
}

var notKeyChar = regexp.MustCompile(`[^a-z0-9]`)

// fanoutUnits are the figures of BenchmarkHubFanout5000 the report shows.
var fanoutUnits = []string{"p50-ms", "p99-ms", "max-ms", "hub-p50-ms", "hub-p99-ms", "poll-cycle-ms",
	"hub-rss-KB/agent", "hub-heap-KB/agent", "hub-stack-KB/agent", "hub-goroutines/agent",
	"hub-cpu-wait-ms/s", "deliveries", "misrouted", "reconnects"}

// goFigures picks the report's figures from the two benchmark runs.
func goFigures(main, fanout map[string]benchLine) (results, error) {
	r := results{}
	w := main["BenchmarkStatusChangeToChaportWrite"]
	r.put("go.write_n", w.iterations)
	r.put("go.write_p50", w.metrics["p50-ms"])
	r.put("go.write_p99", w.metrics["p99-ms"])
	h := main["BenchmarkChaportWritesPerHour"]
	r.put("go.hour_writes", h.metrics["writes/h"])
	r.put("go.hour_reads", h.metrics["reads/h"])
	r.put("go.hour_hours", h.metrics["sim-hours"])
	f := fanout["BenchmarkHubFanout5000"]
	for _, u := range fanoutUnits {
		r.put("go.fan_"+figureKey(u), f.metrics[u])
	}
	r.put("go.fan_ns", f.metrics["ns/op"])
	if r.get("go.write_p99") == "" || r.get("go.hour_writes") == "" || r.get("go.fan_p99_ms") == "" {
		return r, fmt.Errorf("a benchmark figure is missing (see the output above)")
	}
	return r, nil
}

// runGoBenchmarks runs every Go benchmark, the 5,000-agent fan-out on its
// own with a longer -benchtime, and writes go-lines.txt into the work dir.
func runGoBenchmarks(ctx context.Context, c *config, work string) (results, error) {
	r := results{}
	r.put("go.load_before", loadAverage())
	say("Go benchmarks (all but the fan-out, -benchtime %s)", c.benchtime)
	mainOut, err := goTest(ctx, c, "-bench", ".", "-skip", "^BenchmarkHubFanout5000$", "-benchtime", c.benchtime,
		"-benchmem", "-count", "1", "-timeout", "30m", "./...")
	if err != nil {
		return nil, err
	}
	say("BenchmarkHubFanout5000 (-benchtime %s)", c.fanoutBenchtime)
	fanOut, err := goTest(ctx, c, "-bench", "^BenchmarkHubFanout5000$", "-benchtime", c.fanoutBenchtime,
		"-count", "1", "-timeout", "30m", "./sync/hub")
	if err != nil {
		return nil, err
	}
	r.put("go.load_after", loadAverage())
	figures, err := goFigures(parseBench(mainOut), parseBench(fanOut))
	r.merge(figures)
	if err != nil {
		return nil, err
	}
	lines := append(benchResultLines(mainOut), benchResultLines(fanOut)...)
	if err := os.WriteFile(filepath.Join(work, "go-lines.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("writing go-lines.txt: %w", err)
	}
	return r, nil
}

// goTest runs `go test -run '^$' ARGS...` in the repository, its output
// shown on stderr as it comes.
func goTest(ctx context.Context, c *config, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := command(ctx, c.goCmd, append([]string{"test", "-run", "^$"}, args...)...)
	cmd.Dir = c.root
	cmd.Stdout = io.MultiWriter(&out, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("running go test %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}
