package main

import (
	"context"
	"fmt"
	"time"
)

// measureWindow watches both agents for length: a look at the start and at
// the end, and once a second whether each agent ran since the last look (a
// timer firing every second or faster would make that every look).
func measureWindow(ctx context.Context, a idleAgents, length time.Duration) (tray, headless agentWindow, secs float64, looks int, err error) {
	watched := []*child{a.tray, a.headless}
	windows := []*agentWindow{&tray, &headless}
	t0 := time.Now()
	for i, ag := range watched {
		windows[i].start = look(ag.pid())
	}
	prev := []uint64{tray.start.switches, headless.start.switches}
	for time.Since(t0) < length {
		if err := sleepCtx(ctx, time.Second); err != nil {
			return tray, headless, 0, 0, err
		}
		for _, ag := range watched {
			if ag.exited() {
				return tray, headless, 0, 0, fmt.Errorf("the %s agent exited: %s", ag.name, ag.logTail())
			}
		}
		looks++
		for i, ag := range watched {
			cur, _ := sysProc.switches(ag.pid())
			if cur > prev[i] {
				windows[i].busy++
			}
			prev[i] = cur
		}
	}
	for i, ag := range watched {
		windows[i].end = look(ag.pid())
	}
	secs = time.Since(t0).Seconds()
	for i, ag := range watched {
		readMemory(ag.pid(), windows[i])
	}
	return tray, headless, secs, looks, nil
}

// look reads one sample of a process's CPU use.
func look(pid int) sample {
	var s sample
	if st, err := sysProc.stat(pid); err == nil {
		s.ticks = st.utime + st.stime
	}
	if ns, err := sysProc.cpuNS(pid); err == nil {
		s.cpuNS, s.cpuNSOK = ns, true
	}
	s.switches, _ = sysProc.switches(pid)
	return s
}

// readMemory fills in the memory figures at the end of the window; one it
// cannot read stays -1 and shows as missing.
func readMemory(pid int, w *agentWindow) {
	w.rss, w.hwm, w.pss, w.threads = -1, -1, -1, -1
	if st, err := sysProc.status(pid); err == nil {
		if v, ok := st["VmRSS"]; ok {
			w.rss = v
		}
		if v, ok := st["VmHWM"]; ok {
			w.hwm = v
		}
		if v, ok := st["Threads"]; ok {
			w.threads = v
		}
	}
	if v, err := sysProc.pssKiB(pid); err == nil {
		w.pss = v
	}
}
