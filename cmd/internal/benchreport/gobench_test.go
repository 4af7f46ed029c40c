package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestParseBench(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  string
		want map[string]benchLine
	}{
		{name: "result lines among the noise", out: "goos: linux\ngoarch: amd64\npkg: x/agent\n" +
			"BenchmarkStatusChangeToChaportWrite-2   \t     452\t   2407599 ns/op\t         1.583 p50-ms\t         3.424 p99-ms\n" +
			"PASS\nok  \tx/agent\t3.1s\n",
			want: map[string]benchLine{"BenchmarkStatusChangeToChaportWrite": {name: "BenchmarkStatusChangeToChaportWrite",
				iterations: "452", metrics: map[string]string{"ns/op": "2407599", "p50-ms": "1.583", "p99-ms": "3.424"}}}},
		{name: "no GOMAXPROCS suffix", out: "BenchmarkX \t 9\t 10 ns/op\n",
			want: map[string]benchLine{"BenchmarkX": {name: "BenchmarkX", iterations: "9", metrics: map[string]string{"ns/op": "10"}}}},
		{name: "a later run replaces an earlier one", out: "BenchmarkX-4 1 5 ns/op\nBenchmarkX-4 2 7 ns/op\n",
			want: map[string]benchLine{"BenchmarkX": {name: "BenchmarkX", iterations: "2", metrics: map[string]string{"ns/op": "7"}}}},
		{name: "a log line naming a benchmark is not a result", out: "BenchmarkHubFanout5000\n--- BENCH: BenchmarkY\n",
			want: map[string]benchLine{}},
		{name: "nothing", out: "", want: map[string]benchLine{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseBench(tc.out); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseBench = %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestFigureKey(t *testing.T) {
	for unit, want := range map[string]string{"hub-rss-KB/agent": "hub_rss_kb_agent", "p99-ms": "p99_ms",
		"hub-cpu-wait-ms/s": "hub_cpu_wait_ms_s", "misrouted": "misrouted"} {
		if got := figureKey(unit); got != want {
			t.Errorf("figureKey(%q) = %q, want %q", unit, got, want)
		}
	}
}

// TestGoFiguresFromRealOutput reads the raw output of the checked-in report
// back into the figures that report shows.
func TestGoFiguresFromRealOutput(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "go-lines.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := goFigures(parseBench(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	want := testResults(t)
	for k, v := range got {
		if want.get(k) != v {
			t.Errorf("%s = %q, want %q", k, v, want.get(k))
		}
	}
	// Per benchmark: 3 + 3, the fan-outs' 14 units and ns/op twice, the
	// failover's 5 units and its iterations.
	if len(got) != 42 {
		t.Errorf("%d figures, want 42", len(got))
	}
}

func TestGoFiguresMissing(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "go-lines.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]string{"BenchmarkChaportWritesPerHour": "go.hour_writes",
		"BenchmarkHubFanout5000": "go.fan_p99_ms", "BenchmarkHubFanout5000Replicas3": "go.fan3_p99_ms",
		"BenchmarkClusterFailover": "go.cluster_failover_max_s"} {
		lines := parseBench(string(raw))
		delete(lines, name)
		if _, err := goFigures(lines); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("without %s: err = %v, want one naming %s", name, err, key)
		}
	}
}

// TestSkipAlone: the run of all other benchmarks leaves out exactly the
// ones run on their own (it once ran the three-replica fan-out for
// nothing, its figures unread).
func TestSkipAlone(t *testing.T) {
	re := regexp.MustCompile(skipAlone())
	for name, want := range map[string]bool{"BenchmarkHubFanout5000": true, "BenchmarkHubFanout5000Replicas3": true,
		"BenchmarkClusterFailover": true, "BenchmarkStatusChangeToChaportWrite": false, "BenchmarkDecodeStaffPage": false,
		"BenchmarkHubFanout5000Replicas5": false} {
		if got := re.MatchString(name); got != want {
			t.Errorf("-skip %s matches %s: %v, want %v", skipAlone(), name, got, want)
		}
	}
}
