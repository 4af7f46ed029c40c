// Command benchreport measures Omnitray's benchmarks in one run on this
// machine (everything on loopback) and writes their report,
// docs/benchmarks.md. `make bench` runs it.
//
//  1. Go benchmarks: feed event → Chaport write (agent), Chaport writes per
//     simulated hour (agent), hub fan-out to 5,000 websocket agents, from
//     one hub and from three replicas (sync/hub), and the failover of three
//     `omnitray-hub serve` replicas whose leader is killed (cmd/internal/e2e).
//     The fan-outs and the failover run on their own, with their own
//     -benchtime (--fanout-benchtime, --failover-benchtime).
//  2. Binary sizes: cmd/omnitray and cmd/omnitray-hub for linux/amd64 and
//     windows/amd64, plain and with -ldflags="-s -w" (CGO_ENABLED=0).
//  3. Chromium: headless Chromium with one page open (the sandbox control
//     page), RSS and PSS of all its processes after --chromium-seconds.
//  4. Idle agents: sandbox + hub + `omnitray run` with its tray (inside
//     .ci/desktop-session.sh) and `omnitray run --headless`, both online, then
//     RSS, PSS, CPU and wake-ups over --idle-seconds, read from /proc.
//  5. The report: the machine, every figure against its budget, and how each
//     was measured. A figure over its budget makes the run fail, after the
//     report (which says which) is written.
//
// The figures travel as key=value lines (results.env in the work dir, kept
// with --keep), so that `benchreport render DIR` can write the report again
// without measuring, and so that the idle part, which runs inside the
// desktop session as a child process (`idle-inner`), can hand its figures
// back.
//
// The parsing of `go test -bench` output and of /proc, the process-tree
// walk, the CPU and wake-up arithmetic and the report are pure functions
// with table tests; the rest starts processes and reads the clock.
package main
