#!/usr/bin/env bash
# .ci/bench-report.sh: Omnitray's benchmarks, measured in one run on this
# machine (everything on loopback), and their report, docs/benchmarks.md.
# `make bench` runs it.
#
#   1. Go benchmarks: feed event → Chaport write (agent), Chaport writes per
#      simulated hour (agent), hub fan-out to 5,000 websocket agents (sync/hub)
#   2. binary sizes: cmd/omnitray and cmd/omnitray-hub for linux/amd64 and
#      windows/amd64, plain and with -ldflags="-s -w" (CGO_ENABLED=0)
#   3. Chromium: headless Chromium with one page open (the sandbox control
#      page), RSS and PSS of all its processes after CHROMIUM_SECONDS
#   4. idle agents: sandbox + hub + `omnitray run` with its tray (inside
#      .ci/desktop-session.sh) and `omnitray run --headless`, both online, then
#      RSS, PSS, CPU and wake-ups over MEASURE_SECONDS
#   5. the report, with the machine, every figure against its budget, and how
#      each was measured
#
# Commands
#   all (default)  everything, then the report; the figures are also kept in
#                  the work dir as results.env (with BENCH_KEEP=1)
#   go | sizes | chromium | idle   one part; prints its figures as key=value
#   render DIR     the report again from a kept work dir (results.env and the
#                  raw benchmark output), without measuring
#
# Knobs (environment)
#   MEASURE_SECONDS      idle window (BENCH_IDLE_SECONDS from make)   [600]
#   IDLE_WARMUP_SECONDS  wait after both agents are online, first      [30]
#   CHROMIUM_SECONDS     how long the page stays open before measuring [60]
#   CHROMIUM_INSTALL     0: do not apt-get chromium when it is missing [1]
#   BENCHTIME            -benchtime of the other Go benchmarks         [1s]
#   FANOUT_BENCHTIME     -benchtime of BenchmarkHubFanout5000           [20s]
#   BENCH_REPORT         the report's path                 [docs/benchmarks.md]
#   BENCH_KEEP           1: keep the work dir (logs, raw output)        [0]
#   GO                   the go command                                 [go]
#
# Needs: Go, curl, and (installed on demand when root) Chromium and the
# desktop session's packages (`bash .ci/desktop-session.sh install`).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SELF")/.." && pwd)
GO=${GO:-go}
MEASURE_SECONDS=${MEASURE_SECONDS:-${BENCH_IDLE_SECONDS:-600}}
IDLE_WARMUP_SECONDS=${IDLE_WARMUP_SECONDS:-30}
CHROMIUM_SECONDS=${CHROMIUM_SECONDS:-60}
BENCHTIME=${BENCHTIME:-1s}
FANOUT_BENCHTIME=${FANOUT_BENCHTIME:-20s}
BENCH_REPORT=${BENCH_REPORT:-$ROOT/docs/benchmarks.md}
FULL_IDLE_SECONDS=600 # what the budgets mean by "10 idle minutes"

say() { printf 'bench-report: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

# ---------------------------------------------------------------- results

declare -A R=() # figure name → value

put() { R[$1]=$2; }
get() { printf '%s' "${R[$1]:-}"; }
# load FILE: key=value lines into R.
load() {
	local k v
	while IFS='=' read -r k v; do
		if [ -n "$k" ]; then R[$k]=$v; fi
	done <"$1"
}
dump() { # PREFIX: print the figures whose names start with it
	local k
	for k in $(printf '%s\n' "${!R[@]}" | sort); do
		if [[ $k == "$1"* ]]; then printf '%s=%s\n' "$k" "${R[$k]}"; fi
	done
}

# ---------------------------------------------------------------- processes

STARTED=() # pids this script started in the background and has not stopped

track() { STARTED+=("$1"); }

# stop PID...: SIGTERM, up to 5 s, then SIGKILL; they are no longer tracked
# (so that a pid reused later is never signalled).
stop() {
	local pid i left keep=()
	for pid in "${STARTED[@]}"; do
		[[ " $* " == *" $pid "* ]] || keep+=("$pid")
	done
	STARTED=("${keep[@]}")
	for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
	for i in $(seq 50); do
		left=0
		for pid in "$@"; do kill -0 "$pid" 2>/dev/null && left=1; done
		[ $left = 0 ] && break
		sleep 0.1
	done
	for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
	for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# descendants PID: every process below PID, from /proc.
descendants() {
	local -A parent=()
	local f line pid
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		pid=${f#/proc/}
		line=${line##*) }
		line=${line#* }
		parent[${pid%/stat}]=${line%% *}
	done
	local -a queue=("$1")
	while [ ${#queue[@]} -gt 0 ]; do
		local p=${queue[0]}
		queue=("${queue[@]:1}")
		for pid in "${!parent[@]}"; do
			if [ "${parent[$pid]}" = "$p" ]; then
				echo "$pid"
				queue+=("$pid")
			fi
		done
	done
}

cleanup() {
	local rc=$?
	[ ${#STARTED[@]} -eq 0 ] || stop "${STARTED[@]}"
	if [ -n "${W:-}" ] && [ -d "$W" ] && [ "${W_OWNED:-0}" = 1 ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ] || [ $rc != 0 ]; then
			say "work dir kept: $W"
		else
			rm -rf "$W"
		fi
	fi
	exit $rc
}

# wait_until SECONDS DESCRIPTION CMD...: poll CMD every 0.1 s.
wait_until() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@"; do
		((SECONDS < deadline)) || die "$what: not after ${secs}s"
		sleep 0.1
	done
}

# ---------------------------------------------------------------- /proc

kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
pss_kb() { awk '$1 == "Pss:" {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null; }
# cpu_ticks PID: utime+stime of the whole process (all threads, dead ones too).
cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
# cpu_ns PID: on-CPU nanoseconds of the live threads (schedstat), or empty.
cpu_ns() {
	local t s sum=0
	for t in /proc/"$1"/task/*/schedstat; do
		read -r s _ <"$t" 2>/dev/null || return 0
		sum=$((sum + s))
	done
	echo "$sum"
}
# switches PID: context switches of all live threads (each is a wake-up).
switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '$1 == "voluntary_ctxt_switches:" || $1 == "nonvoluntary_ctxt_switches:" {s += $2} END {print s + 0}'
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------- helpers

need() {
	local c
	for c in "$@"; do command -v "$c" >/dev/null || die "$c not found"; done
}

build_bins() { # DIR: omnitray and omnitray-hub for this machine
	[ -x "$1/omnitray" ] && [ -x "$1/omnitray-hub" ] && return 0
	mkdir -p "$1"
	(cd "$ROOT" && "$GO" build -o "$1/" ./cmd/omnitray ./cmd/omnitray-hub) || die "go build failed"
}

json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$2"; }

# start_sandbox DIR: runs `omnitray sandbox` on free ports; sets SB_PID,
# SB_CHAPORT, SB_OMNIDESK, SB_CONTROL.
start_sandbox() {
	local d=$1
	"$BIN/omnitray" sandbox --chaport-listen 127.0.0.1:0 --omnidesk-listen 127.0.0.1:0 \
		--control-listen 127.0.0.1:0 --omnidesk-budget 240 --ready-file "$d/sandbox.ready" \
		>"$d/sandbox.log" 2>&1 &
	SB_PID=$!
	track $SB_PID
	wait_until 20 "sandbox ready" test -s "$d/sandbox.ready"
	SB_CHAPORT=$(json_field chaport "$d/sandbox.ready")
	SB_OMNIDESK=$(json_field omnidesk "$d/sandbox.ready")
	SB_CONTROL=$(json_field control "$d/sandbox.ready")
}

# ---------------------------------------------------------------- 1. Go benchmarks

# metric FILE BENCHMARK UNIT: one figure from `go test -bench` output.
metric() {
	awk -v name="$2" -v unit="$3" '
		$1 ~ ("^" name "(-[0-9]+)?$") { for (i = 3; i < NF; i++) if ($(i + 1) == unit) v = $i }
		END { if (v != "") print v }' "$1"
}

run_go() {
	local out=$W/go-bench.txt fan=$W/go-fanout.txt
	put go.load_before "$(loadavg)"
	say "Go benchmarks (all but the fan-out, -benchtime $BENCHTIME)"
	(cd "$ROOT" && "$GO" test -run '^$' -bench . -skip '^BenchmarkHubFanout5000$' -benchtime "$BENCHTIME" \
		-benchmem -count 1 -timeout 30m ./...) | tee "$out" >&2
	say "BenchmarkHubFanout5000 (-benchtime $FANOUT_BENCHTIME)"
	(cd "$ROOT" && "$GO" test -run '^$' -bench '^BenchmarkHubFanout5000$' -benchtime "$FANOUT_BENCHTIME" \
		-count 1 -timeout 30m ./sync/hub) | tee "$fan" >&2
	put go.load_after "$(loadavg)"
	local b=BenchmarkStatusChangeToChaportWrite
	put go.write_n "$(awk -v n="$b" '$1 ~ ("^" n "(-[0-9]+)?$") {print $2}' "$out")"
	put go.write_p50 "$(metric "$out" $b p50-ms)"
	put go.write_p99 "$(metric "$out" $b p99-ms)"
	b=BenchmarkChaportWritesPerHour
	put go.hour_writes "$(metric "$out" $b writes/h)"
	put go.hour_reads "$(metric "$out" $b reads/h)"
	put go.hour_hours "$(metric "$out" $b sim-hours)"
	b=BenchmarkHubFanout5000
	local m
	for m in p50-ms p99-ms max-ms hub-p50-ms hub-p99-ms poll-cycle-ms hub-rss-KB/agent hub-heap-KB/agent \
		hub-stack-KB/agent hub-goroutines/agent hub-cpu-wait-ms/s deliveries misrouted reconnects; do
		local key=${m,,}
		put "go.fan_${key//[^a-z0-9]/_}" "$(metric "$fan" $b "$m")"
	done
	put go.fan_ns "$(metric "$fan" $b ns/op)"
	grep -h '^Benchmark' "$out" "$fan" >"$W/go-lines.txt" || true
	[ -n "$(get go.write_p99)" ] && [ -n "$(get go.hour_writes)" ] && [ -n "$(get go.fan_p99_ms)" ] ||
		die "a benchmark figure is missing (see the output above)"
}

# ---------------------------------------------------------------- 2. binary sizes

run_sizes() {
	local os cmd flags dir exe
	for os in linux windows; do
		for cmd in omnitray omnitray-hub; do
			for flags in plain stripped; do
				dir=$W/sizes/$os-$flags
				exe=$cmd
				[ $os = windows ] && exe=$cmd.exe
				local ld=()
				if [ $flags = stripped ]; then ld=("-ldflags=-s -w"); fi
				(cd "$ROOT" && CGO_ENABLED=0 GOOS=$os GOARCH=amd64 "$GO" build "${ld[@]}" -o "$dir/$exe" "./cmd/$cmd") ||
					die "building $cmd for $os failed"
				put "size.$os.$cmd.$flags" "$(stat -c %s "$dir/$exe")"
			done
		done
	done
}

# ---------------------------------------------------------------- 3. Chromium

chromium_bin() { command -v chromium || command -v chromium-browser || true; }

run_chromium() {
	local bin
	bin=$(chromium_bin)
	if [ -z "$bin" ] && [ "${CHROMIUM_INSTALL:-1}" = 1 ] && [ "$(id -u)" = 0 ]; then
		say "installing chromium (apt-get)"
		local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0)
		"${apt[@]}" install -y --no-install-recommends chromium >&2 ||
			{ "${apt[@]}" update >&2 && "${apt[@]}" install -y --no-install-recommends chromium >&2; } || true
		bin=$(chromium_bin)
	fi
	if [ -z "$bin" ]; then
		say "chromium is not installed: its comparison is left out"
		put chromium.missing 1
		return 0
	fi
	put chromium.version "$("$bin" --version 2>/dev/null | head -n1)"
	local d=$W/chromium
	mkdir -p "$d/profile"
	start_sandbox "$d"
	say "Chromium: $SB_CONTROL/ open for ${CHROMIUM_SECONDS}s"
	"$bin" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --user-data-dir="$d/profile" "$SB_CONTROL/" \
		>"$d/chromium.log" 2>&1 &
	local pid=$!
	track $pid
	sleep "$CHROMIUM_SECONDS"
	kill -0 $pid 2>/dev/null || die "chromium exited early: $(tail -n 5 "$d/chromium.log")"
	local procs rss=0 pss=0 n=0 p r s
	procs="$pid $(descendants $pid | tr '\n' ' ')"
	for p in $procs; do
		r=$(kb "$p" VmRSS)
		s=$(pss_kb "$p")
		[ -n "$r" ] || continue
		rss=$((rss + r)) pss=$((pss + ${s:-0})) n=$((n + 1))
	done
	# The page polls /_sandbox/state every second: a live tab keeps a
	# connection to the control port.
	local port hexport live=no
	port=${SB_CONTROL##*:}
	hexport=$(printf '%04X' "$port")
	if awk -v p=":$hexport" '$3 ~ (p "$") && $4 == "01"' /proc/net/tcp | grep -q .; then live=yes; fi
	put chromium.rss_kb $rss
	put chromium.pss_kb $pss
	put chromium.procs $n
	put chromium.page_live $live
	stop $pid
	# Its helpers end with it; whatever is left after 5 s is killed.
	local p2 i left=()
	for i in $(seq 50); do
		left=()
		for p2 in $procs; do
			if [ "$p2" != "$pid" ] && grep -qi chrom "/proc/$p2/comm" 2>/dev/null; then left+=("$p2"); fi
		done
		[ ${#left[@]} -gt 0 ] || break
		sleep 0.1
	done
	if [ ${#left[@]} -gt 0 ]; then kill -KILL "${left[@]}" 2>/dev/null || true; fi
	stop $SB_PID
}

# ---------------------------------------------------------------- 4. idle agents

run_idle() {
	say "idle agents: desktop session packages"
	bash "$ROOT/.ci/desktop-session.sh" install
	put idle.load_before "$(loadavg)"
	bash "$ROOT/.ci/desktop-session.sh" run -- bash "$SELF" _idle-inner "$W" ||
		die "the idle measurement failed (logs: $W/idle; rerun with BENCH_KEEP=1)"
	load "$W/idle.env"
	put idle.load_after "$(loadavg)"
}

# idle_inner W: runs inside the desktop session; writes W/idle.env.
idle_inner() {
	W=$1
	BIN=$W/bin
	trap cleanup EXIT
	local d=$W/idle
	mkdir -p "$d"/{tray-config,headless-config,headless-run}
	chmod 700 "$d/headless-run"
	start_sandbox "$d"
	echo '{"chat_access": {"130001": true}}' >"$d/hub.json"
	local secret
	secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
	OMNITRAY_HUB_SECRET=$secret OMNIDESK_API_KEY=sandbox-omnidesk-key CHAPORT_TOKEN=sandbox-chaport-token \
		"$BIN/omnitray-hub" serve --listen 127.0.0.1:0 --omnidesk-url "$SB_OMNIDESK" \
		--omnidesk-email api@acme.test --chaport-url "$SB_CHAPORT" --config "$d/hub.json" \
		--state-file "$d/hub-chat-state.json" >"$d/hub.log" 2>&1 &
	local hub_pid=$!
	track $hub_pid
	wait_until 20 "hub listening" grep -qs 'hub listening' "$d/hub.log"
	local hub
	hub=$(grep -o 'url=http://[0-9.:]*' "$d/hub.log" | head -n1)
	hub=${hub#url=}
	wait_until 30 "hub healthy" curl -fs -o /dev/null "$hub/healthz"
	# Both employees online with chat access: the agents hold a Chaport
	# lease all the time, as on a working day.
	curl -fs -o /dev/null -XPOST "$SB_CONTROL/_sandbox/staff/201/status" -d '{"status_id": 1}'
	curl -fs -o /dev/null -XPOST "$SB_CONTROL/_sandbox/staff/202/status" -d '{"status_id": 1}'
	local t1 t2
	t1=$(OMNITRAY_HUB_SECRET=$secret "$BIN/omnitray-hub" token --staff 201)
	t2=$(OMNITRAY_HUB_SECRET=$secret "$BIN/omnitray-hub" token --staff 202)

	# The tray agent in the session (its bus, Xvfb, StatusNotifierWatcher);
	# the headless one with no desktop at all.
	XDG_CONFIG_HOME=$d/tray-config OMNITRAY_TOKEN=$t1 \
		"$BIN/omnitray" run --hub "$hub" >"$d/tray.log" 2>&1 &
	local tray=$!
	track $tray
	env -u DISPLAY -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$d/headless-run" \
		XDG_CONFIG_HOME="$d/headless-config" OMNITRAY_TOKEN="$t2" \
		"$BIN/omnitray" run --headless --hub "$hub" >"$d/headless.log" 2>&1 &
	local headless=$!
	track $headless
	wait_until 60 "tray agent online" grep -qs 'Chaport online written' "$d/tray.log"
	wait_until 60 "headless agent online" grep -qs 'Chaport online written' "$d/headless.log"
	local icons
	icons=$(dbus-send --session --print-reply=literal --reply-timeout=2000 --dest=org.kde.StatusNotifierWatcher \
		/StatusNotifierWatcher org.freedesktop.DBus.Properties.Get string:org.kde.StatusNotifierWatcher \
		string:RegisteredStatusNotifierItems 2>/dev/null | grep -o '/StatusNotifierItem' | wc -l) || icons=0
	say "both agents online (tray icons registered: $icons); settling ${IDLE_WARMUP_SECONDS}s"
	sleep "$IDLE_WARMUP_SECONDS"

	local seq0 t0 ticks0_t ticks0_h ns0_t ns0_h sw0_t sw0_h
	seq0=$(curl -fs "$SB_CONTROL/_sandbox/calls?service=chaport" | { grep -o '"seq":[0-9]*' || true; } |
		tail -n1 | cut -d: -f2)
	t0=$EPOCHREALTIME
	ticks0_t=$(cpu_ticks $tray) ticks0_h=$(cpu_ticks $headless)
	ns0_t=$(cpu_ns $tray) ns0_h=$(cpu_ns $headless)
	sw0_t=$(switches $tray) sw0_h=$(switches $headless)
	say "measuring ${MEASURE_SECONDS}s of idle"
	# Once a second: did the agent run at all since the last look? A timer
	# firing every second or faster would make that every second.
	local end=$((SECONDS + MEASURE_SECONDS)) looks=0 busy_t=0 busy_h=0 prev_t=$sw0_t prev_h=$sw0_h cur
	while ((SECONDS < end)); do
		sleep 1
		kill -0 $tray 2>/dev/null || die "the tray agent exited: $(tail -n 5 "$d/tray.log")"
		kill -0 $headless 2>/dev/null || die "the headless agent exited: $(tail -n 5 "$d/headless.log")"
		looks=$((looks + 1))
		cur=$(switches $tray)
		if ((cur > prev_t)); then busy_t=$((busy_t + 1)); fi
		prev_t=$cur
		cur=$(switches $headless)
		if ((cur > prev_h)); then busy_h=$((busy_h + 1)); fi
		prev_h=$cur
	done
	local t1_ ticks1_t ticks1_h ns1_t ns1_h sw1_t sw1_h
	t1_=$EPOCHREALTIME
	ticks1_t=$(cpu_ticks $tray) ticks1_h=$(cpu_ticks $headless)
	ns1_t=$(cpu_ns $tray) ns1_h=$(cpu_ns $headless)
	sw1_t=$(switches $tray) sw1_h=$(switches $headless)
	local secs hz
	secs=$(awk -v a="$t0" -v b="$t1_" 'BEGIN {printf "%.3f", b - a}')
	hz=$(getconf CLK_TCK)
	{
		echo "idle.seconds=$secs"
		echo "idle.looks=$looks"
		echo "idle.icons=$icons"
		local who pid tk0 tk1 n0 n1 s0 s1 busy
		for who in tray headless; do
			if [ $who = tray ]; then
				pid=$tray tk0=$ticks0_t tk1=$ticks1_t n0=$ns0_t n1=$ns1_t s0=$sw0_t s1=$sw1_t busy=$busy_t
			else
				pid=$headless tk0=$ticks0_h tk1=$ticks1_h n0=$ns0_h n1=$ns1_h s0=$sw0_h s1=$sw1_h busy=$busy_h
			fi
			echo "idle.$who.busy_seconds=$busy"
			echo "idle.$who.busy_pct=$(awk -v b="$busy" -v n="$looks" 'BEGIN {printf "%.1f", n ? b / n * 100 : 0}')"
			echo "idle.$who.rss_kb=$(kb $pid VmRSS)"
			echo "idle.$who.hwm_kb=$(kb $pid VmHWM)"
			echo "idle.$who.pss_kb=$(pss_kb $pid)"
			echo "idle.$who.threads=$(awk '$1 == "Threads:" {print $2}' /proc/$pid/status)"
			echo "idle.$who.cpu_ticks=$((tk1 - tk0))"
			echo "idle.$who.cpu_pct_ticks=$(awk -v t=$((tk1 - tk0)) -v hz="$hz" -v s="$secs" 'BEGIN {printf "%.4f", t / hz / s * 100}')"
			if [ -n "$n0" ] && [ -n "$n1" ]; then
				echo "idle.$who.cpu_ms=$(awk -v n=$((n1 - n0)) 'BEGIN {printf "%.1f", n / 1e6}')"
				echo "idle.$who.cpu_pct=$(awk -v n=$((n1 - n0)) -v s="$secs" 'BEGIN {printf "%.4f", n / 1e9 / s * 100}')"
			else
				echo "idle.$who.cpu_pct=$(awk -v t=$((tk1 - tk0)) -v hz="$hz" -v s="$secs" 'BEGIN {printf "%.4f", t / hz / s * 100}')"
			fi
			echo "idle.$who.wakeups=$((s1 - s0))"
			echo "idle.$who.wakeups_per_s=$(awk -v n=$((s1 - s0)) -v s="$secs" 'BEGIN {printf "%.3f", n / s}')"
		done
		# Chaport writes in the window: one lease renewal per agent a minute.
		local writes
		writes=$(curl -fs "$SB_CONTROL/_sandbox/calls?service=chaport&since=${seq0:-0}" |
			{ grep -o '"method":"POST","path":"/api/v1/operators/[0-9a-f]*/status"' || true; } | wc -l)
		echo "idle.chaport_writes=$writes"
		echo "idle.writes_per_agent_hour=$(awk -v w="$writes" -v s="$secs" 'BEGIN {printf "%.1f", w / 2 / s * 3600}')"
	} >"$W/idle.env.tmp"
	mv "$W/idle.env.tmp" "$W/idle.env"
	stop $tray $headless $hub_pid $SB_PID
}

# ---------------------------------------------------------------- machine

run_machine() {
	put machine.cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
	put machine.cores "$(nproc)"
	put machine.ram_kb "$(awk '$1 == "MemTotal:" {print $2}' /proc/meminfo)"
	put machine.kernel "$(uname -sr)"
	put machine.os "$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")"
	put machine.go "$("$GO" version)"
	put machine.date "$(date -u '+%Y-%m-%d %H:%M UTC')"
	local virt=""
	command -v systemd-detect-virt >/dev/null && virt=$(systemd-detect-virt 2>/dev/null || true)
	[ -z "$virt" ] && grep -qw hypervisor /proc/cpuinfo && virt="a virtual machine (hypervisor flag set)"
	put machine.virt "${virt:-none detected}"
}

# ---------------------------------------------------------------- 5. report

# verdict VALUE LIMIT: pass when VALUE ≤ LIMIT.
verdict() { awk -v v="$1" -v l="$2" 'BEGIN { if (v == "") print "—"; else if (v + 0 <= l + 0) print "pass"; else print "**over**" }'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
gib() { awk -v k="$1" 'BEGIN {printf "%.1f GiB", k / 1024 / 1024}'; }
int() { awk -v v="$1" 'BEGIN {printf "%.0f", v}'; }
# every WHO: seconds between the looks that found the agent awake.
every() { awk -v s="$(get idle.seconds)" -v b="$(get "idle.$1.busy_seconds")" 'BEGIN {if (b > 0) printf "%.0f", s / b; else print "—"}'; }
kib_mb() { awk -v k="$1" 'BEGIN {printf "%.1f MB", k * 1024 / 1e6}'; }
bytes_mb() { awk -v b="$1" 'BEGIN {printf "%.2f MB", b / 1e6}'; }

# misses: why a budget is missed, for the misses whose cause is known (the
# analysis of 2026-11-25: heap profile, and the fixes tried on a scratch copy).
misses() {
	local fan_kb
	fan_kb=$(get go.fan_hub_rss_kb_agent)
	if [ "$(verdict "$fan_kb" 39.0625)" != pass ] || [ "$(verdict "$(get go.fan_hub_p99_ms)" 50)" != pass ]; then
		printf '\n## Why budgets are missed\n'
	fi
	local hub_p99 wait
	hub_p99=$(get go.fan_hub_p99_ms) wait=$(get go.fan_hub_cpu_wait_ms_s)
	if [ "$(verdict "$hub_p99" 50)" != pass ]; then
		cat <<EOF

**The hub's own part** ($hub_p99 ms at p99, p50 $(get go.fan_hub_p50_ms) ms) was measured while the
hub's threads waited $wait ms per second for a CPU (load average
$(get go.load_after) on $(get machine.cores) cores), so its tail mixes work with waiting for a CPU;
a run on a quieter machine shows how much of it stays.
EOF
	fi
	if [ "$(verdict "$fan_kb" 39.0625)" != pass ]; then
		cat <<EOF

**Hub memory per agent** ($fan_kb KiB of RSS: Go heap $(get go.fan_hub_heap_kb_agent) KiB, stacks
$(get go.fan_hub_stack_kb_agent) KiB for $(int "$(get go.fan_hub_goroutines_agent)") goroutines). Where the heap goes, by allocation site:
\`OMNITRAY_BENCH_FANOUT_HEAPPROFILE=heap.out go test -run '^\$' -bench HubFanout5000
-benchtime 1x ./sync/hub\`, then \`go tool pprof -sample_index=inuse_space heap.out\`.
EOF
	fi
}

write_report() {
	local out=$BENCH_REPORT tmp
	tmp=$(mktemp "$(dirname "$out")/.benchmarks.XXXXXX")
	local full="" short=0
	if awk -v s="$(get idle.seconds)" -v f=$FULL_IDLE_SECONDS 'BEGIN {exit !(s + 1 < f)}'; then
		short=1
		full=" **Short run: the idle window was $(get idle.seconds) s, not the 10 minutes the budgets mean; do not check this in.**"
	fi
	# Budgets in decimal units (1 MB = 10^6 bytes, 1 KB = 10^3 bytes), the
	# stricter reading; /proc counts KiB.
	local rss_h rss_t fan_kb
	rss_h=$(get idle.headless.rss_kb) rss_t=$(get idle.tray.rss_kb)
	fan_kb=$(get go.fan_hub_rss_kb_agent)
	{
		cat <<EOF
# Benchmarks

Written by \`make bench\` (\`.ci/bench-report.sh\`) on $(get machine.date); every figure
below comes from that one run on the machine described here. Rerun everything
with \`make bench\` (about $((MEASURE_SECONDS / 60 + 8)) minutes); a quick run that is not meant
to be checked in: \`make bench BENCH_IDLE_SECONDS=60\`.$full

## Machine

| | |
|---|---|
| CPU | $(get machine.cpu), $(get machine.cores) cores (\`nproc\`) |
| RAM | $(gib "$(get machine.ram_kb)") |
| Kernel | $(get machine.kernel) |
| OS | $(get machine.os) |
| Virtualisation | $(get machine.virt) |
| Go | $(get machine.go) |
| Load average (1/5/15 min) | $(get go.load_before) before the Go benchmarks, $(get go.load_after) after; $(get idle.load_before) before the idle window, $(get idle.load_after) after |

The load averages are there because the machine was not reserved: other
processes (builds, tests) may have run at the same time, which shows most in
the latency figures.

## Against the budgets

Budgets read in decimal units (1 MB = 10⁶ bytes, 1 KB = 10³ bytes), the
stricter reading; /proc reports KiB, shown as MiB/KiB.

| Figure | Measured | Budget | |
|---|---|---|---|
| Agent RSS, headless, after $(get idle.seconds) s idle | $(mib "$rss_h") ($(kib_mb "$rss_h"); PSS $(mib "$(get idle.headless.pss_kb)"), peak $(mib "$(get idle.headless.hwm_kb)")) | ≤ 20 MB | $(verdict "$rss_h" $((20000000 / 1024))) |
| Agent RSS, with tray, after $(get idle.seconds) s idle | $(mib "$rss_t") ($(kib_mb "$rss_t"); PSS $(mib "$(get idle.tray.pss_kb)"), peak $(mib "$(get idle.tray.hwm_kb)")) | ≤ 30 MB | $(verdict "$rss_t" $((30000000 / 1024))) |
| Agent CPU while idle, headless | $(get idle.headless.cpu_pct) % ($(get idle.headless.cpu_ms) ms in $(get idle.seconds) s) | ≤ 0.1 % | $(verdict "$(get idle.headless.cpu_pct)" 0.1) |
| Agent CPU while idle, with tray | $(get idle.tray.cpu_pct) % ($(get idle.tray.cpu_ms) ms in $(get idle.seconds) s) | ≤ 0.1 % | $(verdict "$(get idle.tray.cpu_pct)" 0.1) |
| Agent waking up while idle, headless | ran in $(get idle.headless.busy_seconds) of $(get idle.looks) one-second looks ($(get idle.headless.busy_pct) %), about every $(every headless) s | no timer faster than 1 s (it would make 100 %) | $(verdict "$(get idle.headless.busy_pct)" 99.9) |
| Agent waking up while idle, with tray | ran in $(get idle.tray.busy_seconds) of $(get idle.looks) one-second looks ($(get idle.tray.busy_pct) %), about every $(every tray) s | no timer faster than 1 s (it would make 100 %) | $(verdict "$(get idle.tray.busy_pct)" 99.9) |
| Feed event → Chaport write, p50 | $(get go.write_p50) ms | — | |
| Feed event → Chaport write, p99 | $(get go.write_p99) ms | ≤ 5 ms | $(verdict "$(get go.write_p99)" 5) |
| Hub, 5,000 agents: change → the right agent (fan-out, from the hub's read of the page that shows the change), p50 | $(get go.fan_hub_p50_ms) ms | — | |
| Hub, 5,000 agents: change → the right agent (fan-out), p99 | $(get go.fan_hub_p99_ms) ms | ≤ 50 ms | $(verdict "$(get go.fan_hub_p99_ms)" 50) |
| Hub, 5,000 agents: change in Omnidesk → agent, adding the wait for the next poll, p50 / p99 / max | $(get go.fan_p50_ms) / $(get go.fan_p99_ms) / $(get go.fan_max_ms) ms | — (one poll of 5,000 staff took $(get go.fan_poll_cycle_ms) ms here; see below) | |
| Hub memory per connected agent (RSS) | $(get go.fan_hub_rss_kb_agent) KiB ($(awk -v k="$fan_kb" 'BEGIN {printf "%.1f", k * 1.024}') KB; Go heap $(get go.fan_hub_heap_kb_agent) KiB + stacks $(get go.fan_hub_stack_kb_agent) KiB) | ≤ 40 KB | $(verdict "$fan_kb" $(awk 'BEGIN {print 40000 / 1024}')) |
| Chaport writes per hour, one online agent | computed 60; simulated $(get go.hour_writes) ($(int "$(get go.hour_hours)") fake-clock hours); real clock $(get idle.writes_per_agent_hour) (idle window) | — | |
EOF
		if [ "$(get chromium.missing)" = 1 ]; then
			echo "| Chromium tab kept open | not measured: chromium is not installed | | |"
		else
			cat <<EOF
| Chromium, headless, one page open $CHROMIUM_SECONDS s: sum over its $(get chromium.procs) processes | RSS $(mib "$(get chromium.rss_kb)"), PSS $(mib "$(get chromium.pss_kb)") | for comparison | |
| Agent with tray vs that Chromium tab | $(awk -v a="$(get idle.tray.pss_kb)" -v c="$(get chromium.pss_kb)" 'BEGIN {if (a > 0) printf "%.0f×", c / a}') less memory (PSS); $(awk -v a="$rss_t" -v c="$(get chromium.rss_kb)" 'BEGIN {if (a > 0) printf "%.0f×", c / a}') (RSS) | | |
EOF
		fi
		cat <<EOF

Fan-out run: misrouted status messages (an agent told of another employee's
change) $(int "$(get go.fan_misrouted)"), reconnections $(int "$(get go.fan_reconnects)"); the hub's threads waited
$(get go.fan_hub_cpu_wait_ms_s) ms per second for a CPU while it ran (the CPU was busy with the agents'
process, the hub process's other threads, or anything else on the machine).

**How the 50 ms fan-out budget is read.** It is the hub's budget: from the
moment the hub has the change to the moment the right one of 5,000 agents
has it. Omnidesk has no push, so a change made in Omnidesk first waits for
the hub's next read of that employee's page; that wait is the poll cycle,
which the Omnidesk rate limit sets, not the hub: 5,000 staff are 50 pages,
and at the largest plan (1,500 calls a minute) with the default 25 % share a
poll takes 8 s. Here, with the budget unlimited and 1 ms between calls, a
poll took $(get go.fan_poll_cycle_ms) ms (the hub shares $(get machine.cores) cores with the sandbox and the agents'
process), so the third row above is that cycle plus the fan-out.
$(misses)

## Binary sizes

\`CGO_ENABLED=0 GOOS=… GOARCH=amd64 go build\`, plain and with \`-ldflags="-s -w"\`
(no symbol table, no DWARF).

| Binary | linux/amd64 | linux/amd64 -s -w | windows/amd64 | windows/amd64 -s -w |
|---|---|---|---|---|
EOF
		local cmd
		for cmd in omnitray omnitray-hub; do
			echo "| $cmd | $(bytes_mb "$(get size.linux.$cmd.plain)") | $(bytes_mb "$(get size.linux.$cmd.stripped)") | $(bytes_mb "$(get size.windows.$cmd.plain)") | $(bytes_mb "$(get size.windows.$cmd.stripped)") |"
		done
		cat <<EOF

## How each figure is measured

**Idle agents** (\`bash .ci/bench-report.sh idle\`, window \`MEASURE_SECONDS\`, here
$(get idle.seconds) s). The built \`omnitray sandbox\` and \`omnitray-hub serve\` run on
loopback; two employees are set to "Онлайн" (chat access), so both agents hold
a Chaport lease all the time, as on a working day. \`omnitray run\` (tray) runs
inside \`.ci/desktop-session.sh run\` (private session bus, Xvfb, the Go
StatusNotifierWatcher, dunst; tray icons registered: $(get idle.icons)); \`omnitray
run --headless\` runs beside it with no display and no session bus. Once both
have written "online", the script waits ${IDLE_WARMUP_SECONDS} s, then reads /proc at the
start and the end of the window: VmRSS, VmHWM (peak) and Pss (smaps_rollup)
at the end; CPU as the on-CPU time of all threads (/proc/PID/task/*/schedstat)
over the window (the kernel's utime+stime, in 10 ms ticks: tray $(get idle.tray.cpu_ticks),
headless $(get idle.headless.cpu_ticks)). Waking up: once a second (every $(awk -v s="$(get idle.seconds)" -v n="$(get idle.looks)" 'BEGIN {printf "%.2f", s / n}') s on
average) the script reads the context switches of all
the agent's threads and notes whether the agent ran since the last look; a
timer firing every second or faster would make that every look. The switches
themselves ($(get idle.tray.wakeups_per_s) /s tray, $(get idle.headless.wakeups_per_s) /s headless) come in bursts: each wake-up of a Go
program also wakes the runtime's monitor thread for a few short sleeps.
Threads at the end: tray $(get idle.tray.threads), headless $(get idle.headless.threads). During the window the
agents renewed their leases: $(get idle.chaport_writes) Chaport writes for the two, from the
sandbox's call log.

**Feed event → Chaport write** (\`go test -run '^$' -bench StatusChangeToChaportWrite ./agent\`).
In one process: sandbox, hub (continuous polling: budget huge,
min_poll_interval 1ms) and agent, on loopback. Each iteration sets the
employee Offline (untimed), then times the switch back to Online from the
change in the sandbox to the sandbox's operator showing "online": hub poll,
feed push, agent decision, set_chaport round trip, Chaport write.
$(get go.write_n) iterations.

**Hub fan-out** (\`go test -run '^$' -bench HubFanout5000 -benchtime $FANOUT_BENCHTIME ./sync/hub\`).
5,000 employees in the sandbox (the 3 seed ones plus 4,997 from
\`Sandbox.AddStaff\`), one agent each with its own token: 5,000 feed clients
(\`feed.NewClient\` + \`Run\`) connected over loopback to one hub. The agents run
in a child process (the test binary started again), so the benchmark process
holds only the sandbox and the hub. Hub config: budget huge, budget_share 1,
min_poll_interval 1ms, chat watcher off. Each iteration waits a random part of
a poll cycle (untimed), changes 10 random employees' status in the sandbox at
once, and takes, for each, the moment its agent has the "status" message in
hand. Two latencies: from the change applied in the sandbox (this includes the
wait until the hub reads that employee's page again: with 5,000 staff a poll
is 50 pages of 100, each a paced call at least 1 ms after the previous one; a
poll took $(get go.fan_poll_cycle_ms) ms here), and from the start of the hub's request for the
page that showed the change (the sandbox's call log) — the fan-out:
reading the page, diffing, pushing, websocket, client. $(int "$(get go.fan_deliveries)") deliveries. Memory: this
process's VmRSS, and the Go runtime's HeapInuse and StackInuse, each after
\`runtime.GC\` + \`debug.FreeOSMemory\`, before the agents connect and 2 s after all
5,000 have their snapshot; the growth divided by 5,000. Kernel socket buffers
are not in RSS. The hub ran $(int "$(get go.fan_hub_goroutines_agent)") goroutines per agent. A heap
profile with all agents connected: \`OMNITRAY_BENCH_FANOUT_HEAPPROFILE=heap.out\`.

**Chaport writes per hour** (\`go test -run '^$' -bench ChaportWritesPerHour ./agent\`).
Computed: the default lease is 2 min, renewed at half-life, so 60 writes an
hour per online agent, whatever the number of agents (each writes its own
operator). Simulated: sandbox, hub and agent on one fake clock, moved from one
pending timer to the next once all are waiting; each iteration is one hour
from the first write on, counted in the sandbox's call log (status writes;
the agent's 5-minute drift check adds $(get go.hour_reads) operator reads an hour). Real
clock: the writes the two idle agents made in the idle window, per agent-hour.

**Binary sizes** (\`bash .ci/bench-report.sh sizes\`): the file sizes of the builds above.

**Chromium** (\`bash .ci/bench-report.sh chromium\`): $(get chromium.version). Started as
\`chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
--disable-background-networking --disable-component-update --disable-sync
--user-data-dir=<fresh dir> <sandbox control page>\`; the page polls the sandbox every second,
like a web app left open (connection to the page's server seen: $(get chromium.page_live)).
After $CHROMIUM_SECONDS s, the VmRSS and Pss of the browser process and all its
descendants are summed. RSS counts shared pages once per process, so PSS is the
fairer sum; the agent's figures are a single process either way.

## Raw benchmark output

\`\`\`
$(cat "$W/go-lines.txt")
\`\`\`
EOF
	} >"$tmp"
	mv -f "$tmp" "$out"
	say "wrote $out"
	[ $short = 0 ] || say "short idle window ($(get idle.seconds) s): the report says so; do not check it in"
	# A figure over its budget fails the run; the report, written first,
	# says which and why.
	local over
	over=$(grep -c '| \*\*over\*\* |$' "$out" || true)
	if [ "$over" -gt 0 ]; then
		say "$over figure(s) over budget: see $out"
		return 1
	fi
}

# ---------------------------------------------------------------- main

main() {
	local cmd=${1:-all}
	case "$cmd" in
	_idle-inner)
		idle_inner "$2"
		return
		;;
	render)
		W=${2:-}
		[ -f "$W/results.env" ] && [ -f "$W/go-lines.txt" ] || die "usage: bench-report.sh render WORKDIR (kept with BENCH_KEEP=1)"
		load "$W/results.env"
		write_report
		return
		;;
	all | go | sizes | chromium | idle) ;;
	-h | --help | help)
		sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2
		return 2
		;;
	*) die "unknown command $cmd (all, go, sizes, chromium, idle)" ;;
	esac
	need "$GO" curl awk
	W=$(mktemp -d "${TMPDIR:-/tmp}/omnitray-bench.XXXXXX")
	W_OWNED=1
	BIN=$W/bin
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	build_bins "$BIN"
	case "$cmd" in
	go) run_go && dump go. ;;
	sizes) run_sizes && dump size. ;;
	chromium) run_chromium && dump chromium. ;;
	idle) run_idle && dump idle. ;;
	all)
		run_machine
		run_go
		run_sizes
		run_chromium
		run_idle
		dump "" >"$W/results.env"
		write_report
		;;
	esac
}

main "$@"
