package main

import "fmt"

// userHZ is the unit of utime and stime in /proc/PID/stat: USER_HZ, which
// Linux fixes at 100 on every architecture Omnitray builds for.
const userHZ = 100

// sample is one look at an agent's CPU use.
type sample struct {
	ticks    uint64 // utime+stime, all threads, dead ones too
	cpuNS    uint64 // on-CPU time of the live threads
	cpuNSOK  bool   // false when schedstat could not be read
	switches uint64 // context switches of the live threads
}

// agentWindow is one agent's idle window: the looks at its start and end,
// how many of the one-second looks found it had run, and its memory at the
// end (KiB; -1 when unread).
type agentWindow struct {
	start, end    sample
	busy          int
	rss, hwm, pss int64
	threads       int64
}

// agentFigures are the figures of one agent ("tray" or "headless") over a
// window of secs seconds and looks one-second looks.
func agentFigures(who string, w agentWindow, secs float64, looks int) results {
	r := results{}
	p := "idle." + who + "."
	r.put(p+"busy_seconds", fmt.Sprint(w.busy))
	busyPct := 0.0
	if looks > 0 {
		busyPct = float64(w.busy) / float64(looks) * 100
	}
	r.put(p+"busy_pct", fmt.Sprintf("%.1f", busyPct))
	r.put(p+"rss_kb", kib(w.rss))
	r.put(p+"hwm_kb", kib(w.hwm))
	r.put(p+"pss_kb", kib(w.pss))
	r.put(p+"threads", kib(w.threads))
	ticks := w.end.ticks - w.start.ticks
	r.put(p+"cpu_ticks", fmt.Sprint(ticks))
	tickPct := fmt.Sprintf("%.4f", float64(ticks)/userHZ/secs*100)
	r.put(p+"cpu_pct_ticks", tickPct)
	if w.start.cpuNSOK && w.end.cpuNSOK {
		ns := float64(w.end.cpuNS - w.start.cpuNS)
		r.put(p+"cpu_ms", fmt.Sprintf("%.1f", ns/1e6))
		r.put(p+"cpu_pct", fmt.Sprintf("%.4f", ns/1e9/secs*100))
	} else {
		r.put(p+"cpu_pct", tickPct)
	}
	wakeups := w.end.switches - w.start.switches
	r.put(p+"wakeups", fmt.Sprint(wakeups))
	r.put(p+"wakeups_per_s", fmt.Sprintf("%.3f", float64(wakeups)/secs))
	return r
}

// kib prints a /proc figure, or nothing when it could not be read.
func kib(v int64) string {
	if v < 0 {
		return ""
	}
	return fmt.Sprint(v)
}

// windowFigures are the figures common to both agents: the window, the
// looks, and the lease renewals of the two agents from the call log.
func windowFigures(secs float64, looks, icons, chaportWrites int) results {
	r := results{}
	r.put("idle.seconds", fmt.Sprintf("%.3f", secs))
	r.put("idle.looks", fmt.Sprint(looks))
	r.put("idle.icons", fmt.Sprint(icons))
	r.put("idle.chaport_writes", fmt.Sprint(chaportWrites))
	r.put("idle.writes_per_agent_hour", fmt.Sprintf("%.1f", float64(chaportWrites)/2/secs*3600))
	return r
}
