package main

import (
	"reflect"
	"testing"
)

func TestAgentFigures(t *testing.T) {
	window := agentWindow{
		start: sample{ticks: 100, cpuNS: 1_000_000_000, cpuNSOK: true, switches: 5000},
		end:   sample{ticks: 102, cpuNS: 1_020_600_000, cpuNSOK: true, switches: 5672},
		busy:  79, rss: 13670, hwm: 13670, pss: 6500, threads: 9,
	}
	for _, tc := range []struct {
		name  string
		w     agentWindow
		secs  float64
		looks int
		want  results
	}{
		{name: "the report's tray agent", w: window, secs: 600.191, looks: 596, want: results{
			"idle.tray.busy_seconds": "79", "idle.tray.busy_pct": "13.3", "idle.tray.rss_kb": "13670",
			"idle.tray.hwm_kb": "13670", "idle.tray.pss_kb": "6500", "idle.tray.threads": "9",
			"idle.tray.cpu_ticks": "2", "idle.tray.cpu_pct_ticks": "0.0033", "idle.tray.cpu_ms": "20.6",
			"idle.tray.cpu_pct": "0.0034", "idle.tray.wakeups": "672", "idle.tray.wakeups_per_s": "1.120"}},
		{name: "no schedstat: CPU from ticks; unread memory left out; no looks",
			w:    agentWindow{start: sample{ticks: 10}, end: sample{ticks: 30, cpuNSOK: true}, rss: -1, hwm: -1, pss: -1, threads: -1},
			secs: 20, looks: 0, want: results{
				"idle.tray.busy_seconds": "0", "idle.tray.busy_pct": "0.0", "idle.tray.rss_kb": "",
				"idle.tray.hwm_kb": "", "idle.tray.pss_kb": "", "idle.tray.threads": "",
				"idle.tray.cpu_ticks": "20", "idle.tray.cpu_pct_ticks": "1.0000", "idle.tray.cpu_pct": "1.0000",
				"idle.tray.wakeups": "0", "idle.tray.wakeups_per_s": "0.000"}},
		{name: "busy at every look", w: agentWindow{busy: 20, end: sample{switches: 400}}, secs: 20, looks: 20,
			want: results{"idle.tray.busy_seconds": "20", "idle.tray.busy_pct": "100.0", "idle.tray.rss_kb": "0",
				"idle.tray.hwm_kb": "0", "idle.tray.pss_kb": "0", "idle.tray.threads": "0", "idle.tray.cpu_ticks": "0",
				"idle.tray.cpu_pct_ticks": "0.0000", "idle.tray.cpu_pct": "0.0000", "idle.tray.wakeups": "400",
				"idle.tray.wakeups_per_s": "20.000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := agentFigures("tray", tc.w, tc.secs, tc.looks); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("agentFigures =\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
}

func TestWindowFigures(t *testing.T) {
	got := windowFigures(600.1914, 596, 1, 20)
	want := results{"idle.seconds": "600.191", "idle.looks": "596", "idle.icons": "1", "idle.chaport_writes": "20",
		"idle.writes_per_agent_hour": "60.0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("windowFigures = %v, want %v", got, want)
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{mib("13670"), "13.3 MiB"}, {mib(""), "0.0 MiB"}, {kibToMB("13670"), "14.0 MB"}, {gib("24641536"), "23.5 GiB"},
		{bytesMB("15380000"), "15.38 MB"}, {whole("3.000"), "3"}, {kibToKB("34.10"), "34.9"},
		{every("600.191", "79"), "8"}, {every("20", "0"), "—"}, {times("391168", "6500"), "60×"}, {times("1", ""), ""},
		{perLook("600.191", "596"), "1.01"}, {verdict("5", 5), "pass"}, {verdict("5.001", 5), "**over**"},
		{verdict("", 5), "—"}, {verdict("n/a", 5), "—"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
