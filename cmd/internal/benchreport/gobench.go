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

// fanoutUnits are the figures of BenchmarkHubFanout5000 and
// BenchmarkHubFanout5000Replicas3 the report shows.
var fanoutUnits = []string{"p50-ms", "p99-ms", "max-ms", "hub-p50-ms", "hub-p99-ms", "poll-cycle-ms",
	"hub-rss-KB/agent", "hub-heap-KB/agent", "hub-stack-KB/agent", "hub-goroutines/agent",
	"hub-cpu-wait-ms/s", "deliveries", "misrouted", "reconnects"}

// failoverUnits are the figures of BenchmarkClusterFailover the report shows.
var failoverUnits = []string{"failover-p50-s", "failover-max-s", "reconnect-p50-ms", "reconnect-max-ms", "moved-agents"}

// The benchmarks run on their own, each with a -benchtime of its own; the
// run of all the others skips them (skipAlone).
const (
	fanoutBench   = "BenchmarkHubFanout5000"
	fanout3Bench  = "BenchmarkHubFanout5000Replicas3"
	failoverBench = "BenchmarkClusterFailover"
)

// skipAlone is the -skip pattern of the run of all other benchmarks.
func skipAlone() string {
	return "^(" + strings.Join([]string{fanoutBench, fanout3Bench, failoverBench}, "|") + ")$"
}

// goFigures picks the report's figures from the benchmark runs' result
// lines (parseBench of their output, one after the other).
func goFigures(lines map[string]benchLine) (results, error) {
	r := results{}
	w := lines["BenchmarkStatusChangeToChaportWrite"]
	r.put("go.write_n", w.iterations)
	r.put("go.write_p50", w.metrics["p50-ms"])
	r.put("go.write_p99", w.metrics["p99-ms"])
	h := lines["BenchmarkChaportWritesPerHour"]
	r.put("go.hour_writes", h.metrics["writes/h"])
	r.put("go.hour_reads", h.metrics["reads/h"])
	r.put("go.hour_hours", h.metrics["sim-hours"])
	for prefix, name := range map[string]string{"go.fan_": fanoutBench, "go.fan3_": fanout3Bench} {
		f := lines[name]
		for _, u := range fanoutUnits {
			r.put(prefix+figureKey(u), f.metrics[u])
		}
		r.put(prefix+"ns", f.metrics["ns/op"])
	}
	fo := lines[failoverBench]
	r.put("go.cluster_n", fo.iterations)
	for _, u := range failoverUnits {
		r.put("go.cluster_"+figureKey(u), fo.metrics[u])
	}
	for _, key := range []string{"go.write_p99", "go.hour_writes", "go.fan_p99_ms", "go.fan3_p99_ms", "go.cluster_failover_max_s"} {
		if r.get(key) == "" {
			return r, fmt.Errorf("a benchmark figure is missing: %s (see the output above)", key)
		}
	}
	return r, nil
}

// runGoBenchmarks runs every Go benchmark; the 5,000-agent fan-outs (one
// hub, three replicas) on their own with a longer -benchtime, and the
// cluster failover with its own; and writes go-lines.txt into the work dir.
func runGoBenchmarks(ctx context.Context, c *config, work string) (results, error) {
	r := results{}
	r.put("go.load_before", loadAverage())
	say("Go benchmarks (all but the fan-outs and the failover, -benchtime %s)", c.benchtime)
	mainOut, err := goTest(ctx, c, "-bench", ".", "-skip", skipAlone(), "-benchtime", c.benchtime,
		"-benchmem", "-count", "1", "-timeout", "30m", "./...")
	if err != nil {
		return nil, err
	}
	outs := []string{mainOut}
	// One go test each, so that the memory the fan-outs read is their own
	// process's alone, not what an earlier benchmark left behind.
	for _, run := range []struct{ name, benchtime, pkg string }{
		{fanoutBench, c.fanoutBenchtime, "./sync/hub"},
		{fanout3Bench, c.fanoutBenchtime, "./sync/hub"},
		{failoverBench, c.failoverBenchtime, "./cmd/internal/e2e"},
	} {
		say("%s (-benchtime %s)", run.name, run.benchtime)
		out, err := goTest(ctx, c, "-bench", "^"+run.name+"$", "-benchtime", run.benchtime,
			"-count", "1", "-timeout", "30m", run.pkg)
		if err != nil {
			return nil, err
		}
		outs = append(outs, out)
	}
	r.put("go.load_after", loadAverage())
	all := strings.Join(outs, "\n")
	figures, err := goFigures(parseBench(all))
	r.merge(figures)
	if err != nil {
		return nil, err
	}
	lines := benchResultLines(all)
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
