package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

func TestParseStat(t *testing.T) {
	tail := " 0 0 0 0 0 0 0 0 0 0 0 0"
	for _, tc := range []struct {
		name    string
		in      string
		want    procStat
		wantErr bool
	}{
		{name: "plain", in: "1234 (omnitray) S 1200 1234 1234 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 9 0 55555 1000 200" + tail,
			want: procStat{state: "S", ppid: 1200, utime: 7, stime: 3, startTime: 55555}},
		{name: "name with spaces and parentheses", in: "77 (Web Content) (x)) R 1 77 77 0 -1 0 0 0 0 0 11 12 0 0 20 0 1 0 9 0 0" + tail,
			want: procStat{state: "R", ppid: 1, utime: 11, stime: 12, startTime: 9}},
		{name: "zombie", in: "5 (chrome) Z 4 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0",
			want: procStat{state: "Z", ppid: 4, startTime: 42}},
		{name: "no name", in: "5 chrome S 1", wantErr: true},
		{name: "cut short", in: "5 (chrome) S 1 5 5", wantErr: true},
		{name: "bad number", in: "5 (x) S 1 5 5 0 -1 0 0 0 0 0 x 0 0 0 20 0 1 0 42 0 0", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Errorf("parseStat = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseKeyValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]int64
	}{
		{name: "status", in: "Name:\tomnitray\nState:\tS (sleeping)\nVmHWM:\t   13670 kB\nVmRSS:\t   13604 kB\nThreads:\t9\n" +
			"voluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t3\n",
			want: map[string]int64{"VmHWM": 13670, "VmRSS": 13604, "Threads": 9, "voluntary_ctxt_switches": 120,
				"nonvoluntary_ctxt_switches": 3}},
		{name: "smaps_rollup", in: "00400000-7ffd5e1f1000 ---p 00000000 00:00 0                          [rollup]\n" +
			"Rss:               13604 kB\nPss:                6500 kB\nPss_Anon:           4000 kB\n",
			want: map[string]int64{"Rss": 13604, "Pss": 6500, "Pss_Anon": 4000}},
		{name: "empty", in: "", want: map[string]int64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseKeyValues(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseKeyValues = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseSchedstat(t *testing.T) {
	if got, err := parseSchedstat("32200000 1500 87\n"); err != nil || got != 32200000 {
		t.Errorf("parseSchedstat = %d, %v", got, err)
	}
	for _, bad := range []string{"", "x 1 2"} {
		if _, err := parseSchedstat(bad); err == nil {
			t.Errorf("parseSchedstat(%q): no error", bad)
		}
	}
}

func TestConnectedTo(t *testing.T) {
	table := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:A3F1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n" +
		"   1: 0100007F:C350 0100007F:A3F1 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n" +
		"   2: 0100007F:C351 0100007F:1F90 06 00000000:00000000 00:00000000 00000000     0        0 0 3\n"
	for _, tc := range []struct {
		port int
		want bool
	}{{0xA3F1, true}, {0x1F90, false}, {0x3F1, false}, {80, false}} {
		if got := connectedTo(table, tc.port); got != tc.want {
			t.Errorf("connectedTo(%d) = %v, want %v", tc.port, got, tc.want)
		}
	}
}

// fakeProc writes a /proc with the given threads' schedstat and status.
func fakeProc(t *testing.T, pid int, threads map[int][2]string) procFS {
	t.Helper()
	root := t.TempDir()
	for tid, files := range threads {
		dir := filepath.Join(root, strconv.Itoa(pid), "task", strconv.Itoa(tid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "schedstat"), []byte(files[0]), 0o644)
		os.WriteFile(filepath.Join(dir, "status"), []byte(files[1]), 0o644)
	}
	return procFS{root: root}
}

func TestThreadSums(t *testing.T) {
	p := fakeProc(t, 10, map[int][2]string{
		10: {"1000 5 2\n", "voluntary_ctxt_switches:\t4\nnonvoluntary_ctxt_switches:\t1\n"},
		11: {"2500 0 9\n", "voluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t0\n"},
	})
	if ns, err := p.cpuNS(10); err != nil || ns != 3500 {
		t.Errorf("cpuNS = %d, %v; want 3500", ns, err)
	}
	if sw, err := p.switches(10); err != nil || sw != 15 {
		t.Errorf("switches = %d, %v; want 15", sw, err)
	}
	if _, err := p.cpuNS(99); err == nil {
		t.Error("cpuNS of a process that is gone: no error")
	}
}
