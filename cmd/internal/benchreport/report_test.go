package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/report.md")

func testResults(t *testing.T) results {
	t.Helper()
	r, err := loadResults(filepath.Join("testdata", "results.env"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var fullSettings = reportSettings{idleSeconds: 600, warmupSeconds: 30, chromiumSeconds: 60, fanoutBenchtime: "20s",
	failoverBenchtime: "5x"}

// TestReportGolden renders the figures of the checked-in report of
// 2026-11-25 (testdata/results.env): the tables a reader of
// docs/benchmarks.md knows must come out the same. The report had no
// cluster figures then: those of BenchmarkHubFanout5000Replicas3 and
// BenchmarkClusterFailover come from runs of 2026-12-02 (-benchtime 1x
// and 3x), added to the same files.
func TestReportGolden(t *testing.T) {
	lines, err := os.ReadFile(filepath.Join("testdata", "go-lines.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writeReport(&b, testResults(t), fullSettings, string(lines)); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.md")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("report differs from %s (go test -update to accept):\n%s", golden, got)
	}
}

func TestReportVariants(t *testing.T) {
	for _, tc := range []struct {
		name      string
		change    map[string]string
		want      []string
		wantNot   []string
		wantOverN int
	}{
		{name: "full run, all pass", want: []string{"| ≤ 20 MB | pass |", "60× less memory (PSS); 71× (RSS)"},
			wantNot: []string{"Short run", "**over**", "Why budgets are missed", "not measured"}},
		{name: "short run", change: map[string]string{"idle.seconds": "20.004"},
			want: []string{"**Short run: the idle window was 20.004 s, not the 10 minutes the budgets mean; do not check this in.**"}},
		{name: "chromium missing", change: map[string]string{"chromium.missing": "1"},
			want:    []string{"| Chromium tab kept open | not measured: chromium is not installed | | |"},
			wantNot: []string{"Agent with tray vs that Chromium tab"}},
		{name: "hub tail over", change: map[string]string{"go.fan_hub_p99_ms": "51.2"}, wantOverN: 1,
			want:    []string{"| ≤ 50 ms | **over** |", "## Why budgets are missed", "**The hub's own part** (51.2 ms at p99"},
			wantNot: []string{"**Hub memory per agent**"}},
		{name: "hub memory over", change: map[string]string{"go.fan_hub_rss_kb_agent": "39.07"}, wantOverN: 1,
			want: []string{"39.07 KiB (40.0 KB;", "| ≤ 40 KB | **over** |", "**Hub memory per agent** (39.07 KiB of RSS"}},
		{name: "three replicas' tail over", change: map[string]string{"go.fan3_hub_p99_ms": "50.01"}, wantOverN: 1,
			want: []string{"| 50.01 ms | ≤ 50 ms | **over** |", "## Why budgets are missed",
				"**The fan-out across three replicas** (50.01 ms at p99"},
			wantNot: []string{"**The hub's own part**", "**Failover**"}},
		{name: "three replicas' memory over", change: map[string]string{"go.fan3_hub_rss_kb_agent": "39.07"}, wantOverN: 1,
			want:    []string{"39.07 KiB (40.0 KB;", "**Hub memory per agent with three replicas** (39.07 KiB of RSS"},
			wantNot: []string{"**Hub memory per agent** ("}},
		{name: "failover over", change: map[string]string{"go.cluster_failover_max_s": "5.2"}, wantOverN: 1,
			want: []string{"| 2.939 / 5.2 s | ≤ 5 s | **over** |", "## Why budgets are missed",
				"**Failover** (5.2 s at worst, p50 2.939 s, of 3 kills)", "-bench ClusterFailover -benchtime 5x"}},
		{name: "failover exactly at 5 s passes", change: map[string]string{"go.cluster_failover_max_s": "5.000"},
			want: []string{"| 2.939 / 5.000 s | ≤ 5 s | pass |"}, wantNot: []string{"Why budgets are missed"}},
		{name: "tray RSS exactly at 30 MB passes", change: map[string]string{"idle.tray.rss_kb": "29296"},
			want: []string{"| ≤ 30 MB | pass |"}},
		{name: "tray RSS one KiB over", change: map[string]string{"idle.tray.rss_kb": "29297"}, wantOverN: 1,
			want: []string{"| ≤ 30 MB | **over** |"}},
		{name: "missing figure is no verdict", change: map[string]string{"go.write_p99": ""},
			want: []string{"|  ms | ≤ 5 ms | — |"}},
		{name: "a timer every second", change: map[string]string{"idle.headless.busy_pct": "100.0"}, wantOverN: 1,
			want: []string{"(it would make 100 %) | **over** |"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testResults(t)
			for k, v := range tc.change {
				r.put(k, v)
			}
			var b bytes.Buffer
			if err := writeReport(&b, r, fullSettings, "BenchmarkX-2 1 1 ns/op"); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("report lacks %q", w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(b.String(), w) {
					t.Errorf("report has %q", w)
				}
			}
			if got := len(overBudget(r)); got != tc.wantOverN {
				t.Errorf("overBudget: %d figures, want %d", got, tc.wantOverN)
			}
			if got := strings.Count(b.String(), "| **over** |"); got != tc.wantOverN {
				t.Errorf("report shows %d figures over, want %d", got, tc.wantOverN)
			}
		})
	}
}

func TestSaveReportFailsWhenOver(t *testing.T) {
	dir := t.TempDir()
	lines, _ := os.ReadFile(filepath.Join("testdata", "go-lines.txt"))
	if err := os.WriteFile(filepath.Join(dir, "go-lines.txt"), lines, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "benchmarks.md")
	r := testResults(t)
	if err := saveReport(out, r, fullSettings, dir); err != nil {
		t.Fatalf("all within budget: %v", err)
	}
	r.put("go.write_p99", "5.001")
	err := saveReport(out, r, fullSettings, dir)
	if err == nil || !strings.Contains(err.Error(), "1 figure(s) over budget") {
		t.Fatalf("err = %v, want one figure over budget", err)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "5.001 ms | ≤ 5 ms | **over** |") {
		t.Error("the report was not written before failing")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("temporary files left: %v", ents)
	}
}
