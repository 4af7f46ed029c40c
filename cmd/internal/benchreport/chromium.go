package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// chromiumFlags start a headless Chromium as close to a tab left open as
// a headless one gets, with nothing of its own phoning home.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync"}

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// installChromium apt-gets chromium, updating the package lists only when
// the first try fails; a failure leaves Chromium out of the report.
func installChromium(ctx context.Context) {
	say("installing chromium (apt-get)")
	apt := func(args ...string) error {
		cmd := command(ctx, "apt-get", append([]string{"-q", "-o", "Dpkg::Use-Pty=0"}, args...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		return cmd.Run()
	}
	install := []string{"install", "-y", "--no-install-recommends", "chromium"}
	if apt(install...) != nil && apt("update") == nil {
		_ = apt(install...)
	}
}

// runChromium measures headless Chromium with the sandbox's control page
// open: the page polls the sandbox every second, like a web app left open.
func runChromium(ctx context.Context, c *config, work string) (results, error) {
	r := results{}
	bin := chromiumPath()
	if bin == "" && c.chromiumInstall && os.Geteuid() == 0 {
		installChromium(ctx)
		bin = chromiumPath()
	}
	if bin == "" {
		say("chromium is not installed: its comparison is left out")
		r.put("chromium.missing", "1")
		return r, nil
	}
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		r.put("chromium.version", strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]))
	}
	var cs children
	defer cs.stopAll()
	d := filepath.Join(work, "chromium")
	if err := os.MkdirAll(filepath.Join(d, "profile"), 0o755); err != nil {
		return nil, fmt.Errorf("making the chromium dir: %w", err)
	}
	sb, err := startSandbox(ctx, &cs, filepath.Join(work, "bin"), d)
	if err != nil {
		return nil, err
	}
	say("Chromium: %s/ open for %ds", sb.urls.Control, c.chromiumSeconds)
	args := append(append([]string{}, chromiumFlags...), "--user-data-dir="+filepath.Join(d, "profile"), sb.urls.Control+"/")
	browser, err := cs.start(d, "chromium", exec.Command(bin, args...))
	if err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, time.Duration(c.chromiumSeconds)*time.Second); err != nil {
		return nil, err
	}
	if browser.exited() {
		return nil, fmt.Errorf("chromium exited early: %s", browser.logTail())
	}
	procs, err := sysProc.tree(browser.pid())
	if err != nil {
		return nil, err
	}
	var rss, pss, n int64
	for _, pid := range procs {
		st, err := sysProc.status(pid)
		if err != nil {
			continue // ended since the walk
		}
		p, _ := sysProc.pssKiB(pid)
		rss, pss, n = rss+st["VmRSS"], pss+p, n+1
	}
	r.put("chromium.rss_kb", fmt.Sprint(rss))
	r.put("chromium.pss_kb", fmt.Sprint(pss))
	r.put("chromium.procs", fmt.Sprint(n))
	r.put("chromium.page_live", pageLive(sb.urls.Control))
	cs.stop(browser)
	killLeftHelpers(procs[1:])
	return r, nil
}

// pageLive is "yes" when some process holds a connection to the control
// port: the open page polling the sandbox.
func pageLive(control string) string {
	u, err := url.Parse(control)
	if err != nil {
		return "no"
	}
	port, _ := strconv.Atoi(u.Port())
	table, err := os.ReadFile("/proc/net/tcp")
	if err == nil && connectedTo(string(table), port) {
		return "yes"
	}
	return "no"
}

// killLeftHelpers gives Chromium's helpers 5 s to end with the browser,
// then kills what is left. Only processes still named like Chromium are
// signalled, so that a pid reused meanwhile is left alone.
func killLeftHelpers(pids []int) {
	left := func() []int {
		var out []int
		for _, pid := range pids {
			st, err := sysProc.stat(pid)
			comm, _ := sysProc.read(pid, "comm")
			if err == nil && st.state != "Z" && strings.Contains(strings.ToLower(comm), "chrom") {
				out = append(out, pid)
			}
		}
		return out
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(left()) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, pid := range left() {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
}
