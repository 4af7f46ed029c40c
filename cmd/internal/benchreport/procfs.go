package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procFS reads the kernel's process files under root ("/proc"; a test
// directory in tests).
type procFS struct{ root string }

var sysProc = procFS{root: "/proc"}

func (p procFS) read(pid int, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), name))
	if err != nil {
		return "", fmt.Errorf("reading /proc/%d/%s: %w", pid, name, err)
	}
	return string(b), nil
}

// procStat is what the report needs from /proc/PID/stat.
type procStat struct {
	state        string
	ppid         int
	utime, stime uint64 // clock ticks, all threads, dead ones too
	startTime    uint64 // clock ticks after boot
}

// parseStat reads /proc/PID/stat. The command name is in parentheses and
// may itself contain spaces and ")", so the fields start after the last ")".
func parseStat(s string) (procStat, error) {
	i := strings.LastIndex(s, ")")
	if i < 0 {
		return procStat{}, fmt.Errorf("parsing stat %q: no command name", s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state) of proc(5); utime is 14, stime 15, starttime 22.
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("parsing stat: %d fields after the name, want at least 20", len(f))
	}
	var st procStat
	var err error
	st.state = f[0]
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return procStat{}, fmt.Errorf("parsing stat ppid: %w", err)
	}
	for _, v := range []struct {
		dst *uint64
		i   int
	}{{&st.utime, 11}, {&st.stime, 12}, {&st.startTime, 19}} {
		if *v.dst, err = strconv.ParseUint(f[v.i], 10, 64); err != nil {
			return procStat{}, fmt.Errorf("parsing stat field %d: %w", v.i+3, err)
		}
	}
	return st, nil
}

// parseKeyValues reads "Key:  value [kB]" lines, as in /proc/PID/status and
// smaps_rollup, keeping the first number of each; other lines are skipped.
func parseKeyValues(s string) map[string]int64 {
	kv := map[string]int64{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		f := strings.Fields(v)
		if !ok || len(f) == 0 || strings.ContainsAny(k, " \t") {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			kv[k] = n
		}
	}
	return kv
}

// parseSchedstat reads the first field of /proc/PID/task/TID/schedstat:
// the thread's time on a CPU, in nanoseconds.
func parseSchedstat(s string) (uint64, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, fmt.Errorf("parsing schedstat: empty")
	}
	n, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing schedstat: %w", err)
	}
	return n, nil
}

func (p procFS) stat(pid int) (procStat, error) {
	s, err := p.read(pid, "stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(s)
}

func (p procFS) status(pid int) (map[string]int64, error) {
	s, err := p.read(pid, "status")
	if err != nil {
		return nil, err
	}
	return parseKeyValues(s), nil
}

// pssKiB is the process's proportional set size: shared pages divided
// among the processes that share them.
func (p procFS) pssKiB(pid int) (int64, error) {
	s, err := p.read(pid, "smaps_rollup")
	if err != nil {
		return 0, err
	}
	v, ok := parseKeyValues(s)["Pss"]
	if !ok {
		return 0, fmt.Errorf("reading /proc/%d/smaps_rollup: no Pss line", pid)
	}
	return v, nil
}

// threads lists the process's live threads.
func (p procFS) threads(pid int) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(p.root, strconv.Itoa(pid), "task"))
	if err != nil {
		return nil, fmt.Errorf("listing threads of %d: %w", pid, err)
	}
	tids := make([]string, 0, len(ents))
	for _, e := range ents {
		tids = append(tids, e.Name())
	}
	return tids, nil
}

// cpuNS sums the on-CPU time of the live threads (schedstat): finer than
// the 10 ms ticks of stat, which an idle agent barely moves.
func (p procFS) cpuNS(pid int) (uint64, error) {
	return p.sumThreads(pid, "schedstat", parseSchedstat)
}

// switches sums the context switches of the live threads: each one is the
// thread going to sleep or being put off a CPU, so a rise means the process
// ran.
func (p procFS) switches(pid int) (uint64, error) {
	return p.sumThreads(pid, "status", func(s string) (uint64, error) {
		kv := parseKeyValues(s)
		return uint64(kv["voluntary_ctxt_switches"] + kv["nonvoluntary_ctxt_switches"]), nil
	})
}

// sumThreads adds up value of each live thread's file; a thread that ended
// between the listing and the read is skipped.
func (p procFS) sumThreads(pid int, file string, value func(string) (uint64, error)) (uint64, error) {
	tids, err := p.threads(pid)
	if err != nil {
		return 0, err
	}
	var sum uint64
	for _, tid := range tids {
		s, err := p.read(pid, filepath.Join("task", tid, file))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		n, err := value(s)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// connectedTo reports whether a /proc/net/tcp table has an established
// connection to port (on any address): the open page's polling connection.
func connectedTo(table string, port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		// sl local_address rem_address st ...; st 01 is ESTABLISHED.
		if len(f) > 3 && strings.HasSuffix(f[2], want) && f[3] == "01" {
			return true
		}
	}
	return false
}

// loadAverage is the 1, 5 and 15 minute load averages, as /proc/loadavg
// prints them.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
