package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// runMachine describes the machine the figures come from.
func runMachine(ctx context.Context, c *config) results {
	r := results{}
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	r.put("machine.cpu", cpuModel(string(cpuinfo)))
	// runtime.NumCPU honours the CPU affinity mask, as nproc does.
	r.put("machine.cores", fmt.Sprint(runtime.NumCPU()))
	if st, err := os.ReadFile("/proc/meminfo"); err == nil {
		r.put("machine.ram_kb", kib(valueOr(parseKeyValues(string(st)), "MemTotal", -1)))
	}
	r.put("machine.kernel", output(ctx, "uname", "-sr"))
	osRelease, _ := os.ReadFile("/etc/os-release")
	r.put("machine.os", prettyName(string(osRelease)))
	r.put("machine.go", output(ctx, c.goCmd, "version"))
	r.put("machine.date", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	r.put("machine.virt", virtualisation(ctx, string(cpuinfo)))
	return r
}

func valueOr(kv map[string]int64, key string, missing int64) int64 {
	if v, ok := kv[key]; ok {
		return v
	}
	return missing
}

// output is a command's first line of output, or "" when it cannot run;
// systemd-detect-virt prints "none" and exits 1 when there is none.
func output(ctx context.Context, name string, args ...string) string {
	out, _ := exec.CommandContext(ctx, name, args...).Output()
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func cpuModel(cpuinfo string) string {
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok && strings.TrimSpace(k) == "model name" {
			return v
		}
	}
	return ""
}

func prettyName(osRelease string) string {
	for _, line := range strings.Split(osRelease, "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// virtualisation names the container or hypervisor when there is one: a
// shared host shows in the latency figures.
func virtualisation(ctx context.Context, cpuinfo string) string {
	if _, err := exec.LookPath("systemd-detect-virt"); err == nil {
		if v := output(ctx, "systemd-detect-virt"); v != "" {
			return v
		}
	}
	for _, line := range strings.Split(cpuinfo, "\n") {
		if strings.HasPrefix(line, "flags") && strings.Contains(" "+line+" ", " hypervisor ") {
			return "a virtual machine (hypervisor flag set)"
		}
	}
	return "none detected"
}
