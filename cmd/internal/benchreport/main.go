package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/omnitray/omnitray/cmd/internal/cli"
)

func main() {
	if len(os.Args) == 1 {
		os.Args = append(os.Args, "all") // `go run ./cmd/internal/benchreport` does everything
	}
	part := func(name, short string, run partFunc) *cli.Command {
		return &cli.Command{Name: name, Short: short, Run: func(ctx context.Context, args []string) error {
			return runPart(ctx, name, args, run)
		}}
	}
	cli.Main("benchreport", "Omnitray's benchmarks and their report (docs/benchmarks.md)", []*cli.Command{
		{Name: "all", Short: "everything, then the report (the default)", Run: runAll},
		part("go", "the Go benchmarks; prints their figures as key=value", runGoBenchmarks),
		part("sizes", "the binary sizes; prints them as key=value", runSizes),
		part("chromium", "the Chromium comparison; prints its figures as key=value", runChromium),
		part("idle", "the idle agents, headless and with the tray; prints their figures", runIdle),
		{Name: "render", Short: "the report again from a work dir kept with --keep, without measuring", Run: runRender},
		{Name: "idle-inner", Short: "(internal) the idle measurement, inside the desktop session", Run: runIdleInner},
	})
}

func say(format string, a ...any) { fmt.Fprintf(os.Stderr, "benchreport: "+format+"\n", a...) }

// config holds the knobs; each flag falls back to the environment variable
// that .ci/bench-report.sh read, so that old habits keep working.
type config struct {
	root                                        string
	goCmd                                       string
	idleSeconds, warmupSeconds, chromiumSeconds int
	chromiumInstall, keep                       bool
	benchtime, fanoutBenchtime, reportPath      string
	failoverBenchtime                           string
}

func (c *config) settings() reportSettings {
	return reportSettings{idleSeconds: c.idleSeconds, warmupSeconds: c.warmupSeconds,
		chromiumSeconds: c.chromiumSeconds, fanoutBenchtime: c.fanoutBenchtime, failoverBenchtime: c.failoverBenchtime}
}

// parseConfig parses a command's flags; want is the number of positional
// arguments the command takes (a work dir).
func parseConfig(name, synopsis string, args []string, want int) (*config, []string, error) {
	c := &config{}
	fs := cli.NewFlagSet("benchreport", name, synopsis)
	root, err := findRoot()
	if err != nil {
		return nil, nil, err
	}
	c.root = root
	idleDefault := 600
	if v, err := strconv.Atoi(os.Getenv("BENCH_IDLE_SECONDS")); err == nil {
		idleDefault = v // make's name for it
	}
	fs.IntVar(&c.idleSeconds, "idle-seconds", idleDefault, "the idle window, in seconds; under 599 the report says it is a short run")
	fs.Env("idle-seconds", "MEASURE_SECONDS")
	fs.IntVar(&c.warmupSeconds, "warmup-seconds", 30, "the wait after both agents are online, before the window")
	fs.Env("warmup-seconds", "IDLE_WARMUP_SECONDS")
	fs.IntVar(&c.chromiumSeconds, "chromium-seconds", 60, "how long the page stays open before Chromium is measured")
	fs.Env("chromium-seconds", "CHROMIUM_SECONDS")
	fs.BoolVar(&c.chromiumInstall, "chromium-install", true, "apt-get chromium when it is missing and this runs as root; without it, the report leaves Chromium out")
	fs.Env("chromium-install", "CHROMIUM_INSTALL")
	fs.StringVar(&c.benchtime, "benchtime", "1s", "-benchtime of the Go benchmarks but the fan-out")
	fs.Env("benchtime", "BENCHTIME")
	fs.StringVar(&c.fanoutBenchtime, "fanout-benchtime", "20s", "-benchtime of BenchmarkHubFanout5000 and BenchmarkHubFanout5000Replicas3")
	fs.Env("fanout-benchtime", "FANOUT_BENCHTIME")
	// Kills, not seconds: each takes about 20 s, most of it untimed (the
	// killed replica's restart and a settled cluster before the next).
	fs.StringVar(&c.failoverBenchtime, "failover-benchtime", "5x", "-benchtime of BenchmarkClusterFailover (one leader killed per iteration)")
	fs.Env("failover-benchtime", "FAILOVER_BENCHTIME")
	fs.StringVar(&c.reportPath, "report", filepath.Join(root, "docs", "benchmarks.md"), "the report's path")
	fs.Env("report", "BENCH_REPORT")
	fs.BoolVar(&c.keep, "keep", false, "keep the work dir (logs, raw output, results.env); it is always kept on failure")
	fs.Env("keep", "BENCH_KEEP")
	fs.StringVar(&c.goCmd, "go", "go", "the go command")
	fs.Env("go", "GO")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() != want {
		return nil, nil, cli.Usagef("want %d argument(s), got %d (see --help)", want, fs.NArg())
	}
	if c.idleSeconds < 1 || c.warmupSeconds < 0 || c.chromiumSeconds < 1 {
		return nil, nil, cli.Usagef("--idle-seconds and --chromium-seconds must be at least 1, --warmup-seconds at least 0")
	}
	return c, fs.Args(), nil
}

// findRoot is the repository: the nearest directory above the working one
// with go.mod and .ci/desktop-session.sh.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository: %w", err)
	}
	for {
		_, errMod := os.Stat(filepath.Join(dir, "go.mod"))
		_, errCI := os.Stat(filepath.Join(dir, ".ci", "desktop-session.sh"))
		if errMod == nil && errCI == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding the repository: no go.mod with .ci/desktop-session.sh above the working directory")
		}
		dir = parent
	}
}
