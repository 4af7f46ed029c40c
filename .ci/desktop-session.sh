#!/usr/bin/env bash
# .ci/desktop-session.sh: Omnitray's private, headless desktop session for the
# desktop tests (`make test-desktop`). Everything lives in one temp dir and
# nothing touches a real user session:
#
#   private session bus (own config: only the service files copied in are
#   activatable) + gnome-keyring with an unlocked "login" collection
#   + a StatusNotifierWatcher (our Go one, or a real xfce4-panel)
#   + dunst on Xvfb + optionally a private "system" bus (for a fake logind).
#
# Commands
#   install                apt-get the Debian packages (root or sudo); quick no-op when present
#   start                  start a session; prints `export ...` lines:  eval "$(.ci/desktop-session.sh start)"
#                          (on failure it prints `false`, so the eval fails too)
#   stop [DIR]             tear a session down (DIR defaults to $DESKTOP_SESSION_DIR)
#   run [--] CMD [ARG...]  start, run CMD inside, always tear down; exits with CMD's status
#   shot FILE.png          screenshot of the session's Xvfb screen
#
# Knobs (environment)
#   DESKTOP_TRAY=go|xfce4-panel|none  watcher: cmd/internal/sniwatcher, or a real panel
#                                     that renders icons and menus (for screenshots)   [go]
#   DESKTOP_NOTIFY=dunst|none         notification daemon                               [dunst]
#   DESKTOP_XVFB=1|0                  Xvfb (dunst and xfce4-panel need it)              [1]
#   DESKTOP_SCREEN=WxHxD              Xvfb screen                                       [1280x800x24]
#   DESKTOP_KEYRING=1|0               gnome-keyring, login collection unlocked          [1]
#   DESKTOP_KEYRING_PASSWORD          its password                                      [omnitray-test]
#   DESKTOP_KEYRING_PROMPTS=0|1       1: gcr-prompter dialogs may appear on Xvfb        [0]
#   DESKTOP_SYSTEM_BUS=0|1            1: a private bus exported as DBUS_SYSTEM_BUS_ADDRESS [0]
#   DESKTOP_TIMEOUT=SECONDS           how long each component may take to come up      [20]
#   DESKTOP_KEEP=0|1                  1: keep the session dir (logs/) after stop        [0]
#   SNI_WATCHER_BIN=PATH              prebuilt watcher; otherwise built once with `go build`
#                                     into ${XDG_CACHE_HOME:-~/.cache}/omnitray-desktop-session
#
# Exported to the caller: DESKTOP_SESSION_DIR DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR
# DISPLAY (with Xvfb) DBUS_SYSTEM_BUS_ADDRESS (with DESKTOP_SYSTEM_BUS=1). HOME, the
# XDG_*_HOME dirs and GOCACHE stay the caller's: only the daemons get private ones.
# Daemon logs: $DESKTOP_SESSION_DIR/logs/NAME.log.
set -euo pipefail

DS_SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
DS_ROOT=$(cd "$(dirname "$DS_SCRIPT")/.." && pwd)
DS_PACKAGES=(dbus gnome-keyring dunst xvfb libsecret-tools libnotify-bin xdotool imagemagick x11-utils xfce4-panel)
DS_MARKER=.omnitray-desktop-session

say() { printf 'desktop-session: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

usage() {
	sed -n '2,/^set -euo/p' "$DS_SCRIPT" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

# ---------------------------------------------------------------- install

cmd_install() {
	local t0 missing
	t0=$(now_ms)
	# dpkg-query prints "<pkg> ii" only for installed packages; collect the rest.
	missing=$(
		dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${DS_PACKAGES[@]}" 2>/dev/null |
			awk -v want="${DS_PACKAGES[*]}" '
				$2 ~ /^ii/ { ok[$1] = 1 }
				END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!ok[w[i]]) printf "%s ", w[i] }'
	) || true
	if [ -z "$missing" ]; then
		say "install: all ${#DS_PACKAGES[@]} packages present"
		return 0
	fi
	local sudo=()
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "install: not root and no sudo; missing: $missing"
		sudo=(sudo)
	fi
	say "install: missing $missing"
	local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0)
	local try
	for try in 1 2 3; do
		if "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends "${DS_PACKAGES[@]}"; then
			say "install: done in $(($(now_ms) - t0)) ms"
			return 0
		fi
		say "install: attempt $try failed"
		sleep $((try * 5))
	done
	die "install: apt-get failed"
}

# ---------------------------------------------------------------- helpers

# bus_call ADDRESS DEST PATH METHOD [ARGS...]: dbus-send with a literal reply.
bus_call() {
	local addr=$1 dest=$2 path=$3
	shift 3
	dbus-send --bus="$addr" --print-reply=literal --reply-timeout=2000 --dest="$dest" "$path" "$@"
}

# has_owner ADDRESS NAME: whether NAME is owned on that bus.
has_owner() {
	bus_call "$1" org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner "string:$2" 2>/dev/null |
		grep -q true
}

keyring_unlocked() {
	bus_call "$DS_BUS" org.freedesktop.secrets /org/freedesktop/secrets/collection/login \
		org.freedesktop.DBus.Properties.Get string:org.freedesktop.Secret.Collection string:Locked 2>/dev/null |
		grep -q 'boolean false'
}

# bus_client_pids ADDRESS: the pid of every connection on a bus.
bus_client_pids() {
	local addr=$1 name
	for name in $(bus_call "$addr" org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.ListNames 2>/dev/null |
		tr -s ' []' '\n' | grep '^:'); do
		bus_call "$addr" org.freedesktop.DBus /org/freedesktop/DBus \
			org.freedesktop.DBus.GetConnectionUnixProcessID "string:$name" 2>/dev/null | awk '{print $2}'
	done
}

# alive PID: running and not a zombie (PID 1 may never reap orphans here).
# Builtins only: it runs in every polling loop.
alive() {
	local stat=""
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	case ${stat%% *} in Z | X | x | "") return 1 ;; esac
}

# starttime PID: the process's start time (clock ticks after boot), which
# tells a recorded daemon from a later process that reused its pid.
starttime() {
	local stat="" f
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	read -ra f <<<"${stat##*) }"
	echo "${f[19]}" # field 22 of stat; f[0] is field 3
}

# nap: a 10 ms pause without forking sleep(1), once the session dir exists.
nap() {
	if [ -n "${DS_NAP_FD:-}" ]; then
		read -r -t 0.01 -u "$DS_NAP_FD" _ || :
	else
		sleep 0.01
	fi
}

# spawn NAME CMD...: start a daemon in the background with stdin from
# /dev/null (or $stdin), stdout+stderr to logs/NAME.log, every inherited fd
# above 2 closed (so `$(... start)` never hangs on a pipe a daemon holds), fd 3
# to $fd3 when set. setsid makes the daemon lead a process group of its own,
# which also holds what it starts (dunst's dmenu, the panel's plugins):
# teardown signals the group, with no walk of the process tree. (setsid does
# not fork here: the subshell is not a group leader, so the pid stays.)
# The pid goes to $DS_DIR/pids. Sets SPAWNED.
spawn() {
	local name=$1
	shift
	(
		exec <"${stdin:-/dev/null}" >"$DS_DIR/logs/$name.log" 2>&1
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
		done
		[ -n "${fd3:-}" ] && exec 3>"$fd3"
		exec setsid "$@"
	) &
	SPAWNED=$!
	echo "$SPAWNED $name $(starttime "$SPAWNED")" >>"$DS_DIR/pids"
}

# wait_for NAME PID CHECK...: poll CHECK until it succeeds; fail fast when the
# daemon PID dies, or after DESKTOP_TIMEOUT seconds.
wait_for() {
	local name=$1 pid=$2 timeout=${DESKTOP_TIMEOUT:-20}
	shift 2
	local deadline=$((${EPOCHREALTIME/./} + timeout * 1000000))
	until "$@"; do
		alive "$pid" || start_failed "$name" "$name exited during start-up"
		((${EPOCHREALTIME/./} < deadline)) || start_failed "$name" "$name not ready after ${timeout}s"
		nap
	done
}

start_failed() { # NAME MESSAGE
	say "start failed: $2"
	if [ -s "$DS_DIR/logs/$1.log" ]; then
		say "---- last lines of $DS_DIR/logs/$1.log"
		tail -n 30 "$DS_DIR/logs/$1.log" | sed 's/^/    /' >&2
		say "----"
	fi
	exit 1 # the EXIT trap tears the partial session down
}

# ancestors: this shell and every process above it (never to be killed).
ancestors() {
	local p=$BASHPID
	echo "$$"
	while [ "${p:-0}" -gt 1 ]; do
		echo "$p"
		p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null) || break
	done
}

# terminate PID... [-- GROUP...]: SIGTERM to each process and to each
# process group (a daemon and what it started), up to 3 s for the processes
# and the groups' leaders to end, then SIGKILL to what is left and to the
# groups, so that a helper which outlived its daemon goes too.
terminate() {
	local pids=() groups=() left=() pid i
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		pids+=("$1")
		shift
	done
	[ $# -eq 0 ] || shift
	for pid in "$@"; do groups+=("-$pid"); done
	set -- "${pids[@]}" "${@}"
	[ $# -gt 0 ] || return 0
	kill -TERM -- "${pids[@]}" "${groups[@]}" 2>/dev/null || true
	for i in $(seq 300); do
		left=()
		for pid in "$@"; do alive "$pid" && left+=("$pid"); done
		[ ${#left[@]} -gt 0 ] || break
		sleep 0.01
	done
	[ ${#left[@]} -eq 0 ] || say "stop: SIGKILL ${left[*]}"
	kill -KILL -- "${left[@]}" "${groups[@]}" 2>/dev/null || true
}

# ---------------------------------------------------------------- stop

teardown() { # DIR
	local dir=$1
	[ -f "$dir/$DS_MARKER" ] || {
		say "stop: $dir is not a desktop session dir"
		return 1
	}
	local t0 keep pid recorded=() clients=() daemons=() base=()
	t0=$(now_ms)
	keep=" $(ancestors | tr '\n' ' ') "
	# 1. everything still connected to our buses: activated helpers (xfconfd),
	#    leaked test apps, and the daemons themselves.
	local sock
	for sock in "$dir/run/bus" "$dir/run/system_bus"; do
		[ -S "$sock" ] || continue
		for pid in $(bus_client_pids "unix:path=$sock"); do
			[[ $keep == *" $pid "* ]] || clients+=("$pid")
		done
	done
	#    With them the daemons we started, each with its process group.
	if [ -f "$dir/pids" ]; then
		local name start
		while read -r pid name start; do
			[[ $keep != *" $pid "* ]] || continue
			[ "$(starttime "$pid")" = "$start" ] || continue # gone, or pid reused
			recorded=("$pid" "${recorded[@]}")               # newest first
			case $name in
			dbus | dbus-system | xvfb) base=("$pid" "${base[@]}") ;;
			*) daemons=("$pid" "${daemons[@]}") ;;
			esac
		done <"$dir/pids"
	fi
	terminate "${clients[@]}" -- "${daemons[@]}"
	# 2. what the others needed: the buses and Xvfb.
	terminate -- "${base[@]}"
	# reap our own children (run mode), so they do not stay <defunct>
	for pid in "${recorded[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [ "${DESKTOP_KEEP:-0}" = 1 ]; then
		say "stopped in $(($(now_ms) - t0)) ms; kept $dir"
	else
		rm -rf "$dir"
		say "stopped in $(($(now_ms) - t0)) ms"
	fi
}

cmd_stop() {
	local dir=${1:-${DESKTOP_SESSION_DIR:-}}
	[ -n "$dir" ] || die "stop: no DIR given and DESKTOP_SESSION_DIR is unset"
	[ -d "$dir" ] || {
		say "stop: $dir is already gone"
		return 0
	}
	teardown "$dir"
}

# ---------------------------------------------------------------- start

# sniwatcher_bin: path of the Go watcher, built once per source version.
sniwatcher_bin() {
	if [ -n "${SNI_WATCHER_BIN:-}" ]; then
		[ -x "$SNI_WATCHER_BIN" ] || die "SNI_WATCHER_BIN=$SNI_WATCHER_BIN is not executable"
		echo "$SNI_WATCHER_BIN"
		return
	fi
	local go cache hash out
	go=$(command -v go || echo /usr/local/go/bin/go)
	[ -x "$go" ] || die "go not found: needed to build cmd/internal/sniwatcher (or set SNI_WATCHER_BIN)"
	hash=$(cat "$DS_ROOT"/cmd/internal/sniwatcher/*.go "$DS_ROOT/go.mod" "$DS_ROOT/go.sum" | sha256sum | cut -c1-16)
	cache="${XDG_CACHE_HOME:-$HOME/.cache}/omnitray-desktop-session"
	out="$cache/sniwatcher-$hash"
	if [ ! -x "$out" ]; then
		mkdir -p "$cache"
		say "building cmd/internal/sniwatcher into $cache"
		(cd "$DS_ROOT" && "$go" build -buildvcs=false -o "$out.$$" ./cmd/internal/sniwatcher) >&2 ||
			die "building cmd/internal/sniwatcher failed"
		mv -f "$out.$$" "$out"
		find "$cache" -maxdepth 1 -name 'sniwatcher-*' ! -name "sniwatcher-$hash" -delete 2>/dev/null || true
	fi
	echo "$out"
}

write_bus_config() { # FILE TYPE SOCKET SERVICEDIR
	cat >"$1" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>$2</type>
  <listen>unix:path=$3</listen>
  <auth>EXTERNAL</auth>
  <!-- Only what desktop-session.sh copied here can be D-Bus-activated. -->
  <servicedir>$4</servicedir>
  <policy context="default">
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOF
}

write_dunstrc() { # FILE
	cat >"$1" <<EOF
# written by .ci/desktop-session.sh
[global]
    markup = full
    format = "<b>%s</b>\n%b"
    font = Monospace 9
    origin = top-right
    offset = 10x44
    width = 360
    notification_limit = 0
    stack_duplicates = false
    history_length = 1000
    sticky_history = yes
    idle_threshold = 0
    show_age_threshold = -1
    # The test helpers pick a notification action through the context menu.
    dmenu = $DS_DIR/dunst-dmenu
    browser = /bin/true
[urgency_low]
    timeout = 0
[urgency_normal]
    timeout = 0
[urgency_critical]
    timeout = 0
EOF
}

# dunst's "dmenu": it gets one line per action, "#Label (summary) [id,key]",
# and picks the one whose "[id,key]" / ",key]" ends with the pattern that
# testdesktop.InvokeNotificationAction wrote to dunst-dmenu.want.
write_dmenu() { # FILE
	cat >"$1" <<'EOF'
#!/bin/sh
dir=$(dirname "$0")
want=$(cat "$dir/dunst-dmenu.want" 2>/dev/null)
rm -f "$dir/dunst-dmenu.want"
cat >"$dir/dunst-dmenu.input"
pick=$(awk -v want="$want" '
	want != "" && substr($0, length($0) - length(want) + 1) == want {
		id = $0; sub(/.*\[/, "", id); sub(/,.*/, "", id)
		if (best == "" || id + 0 > bestid + 0) { best = $0; bestid = id }
	}
	END { print best }' "$dir/dunst-dmenu.input")
printf '%s\n' "${pick:-NONE}" >"$dir/dunst-dmenu.result.tmp"
mv "$dir/dunst-dmenu.result.tmp" "$dir/dunst-dmenu.result"
printf '%s\n' "$pick"
EOF
	chmod +x "$1"
}

write_panel_config() { # FILE
	cat >"$1" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- written by .ci/desktop-session.sh: one top panel, [expanding separator][tray][clock] -->
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="length" type="uint" value="100"/>
      <property name="size" type="uint" value="32"/>
      <property name="icon-size" type="uint" value="24"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
        <value type="int" value="2"/>
        <value type="int" value="3"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="separator">
      <property name="expand" type="bool" value="true"/>
      <property name="style" type="uint" value="0"/>
    </property>
    <property name="plugin-2" type="string" value="systray">
      <property name="square-icons" type="bool" value="true"/>
      <property name="icon-size" type="int" value="24"/>
    </property>
    <property name="plugin-3" type="string" value="clock">
      <property name="mode" type="uint" value="2"/>
    </property>
  </property>
</channel>
EOF
}

ds_start() {
	local t0 tray notify xvfb keyring sysbus
	t0=$(now_ms)
	xvfb=${DESKTOP_XVFB:-1}
	tray=${DESKTOP_TRAY:-go}
	keyring=${DESKTOP_KEYRING:-1}
	sysbus=${DESKTOP_SYSTEM_BUS:-0}
	if [ -n "${DESKTOP_NOTIFY:-}" ]; then notify=$DESKTOP_NOTIFY; elif [ "$xvfb" = 1 ]; then notify=dunst; else notify=none; fi
	case "$tray" in go | xfce4-panel | none) ;; *) die "DESKTOP_TRAY=$tray: want go, xfce4-panel or none" ;; esac
	case "$notify" in dunst | none) ;; *) die "DESKTOP_NOTIFY=$notify: want dunst or none" ;; esac
	if [ "$xvfb" != 1 ]; then
		[ "$notify" = none ] || die "DESKTOP_NOTIFY=dunst needs Xvfb (DESKTOP_XVFB=1)"
		[ "$tray" != xfce4-panel ] || die "DESKTOP_TRAY=xfce4-panel needs Xvfb (DESKTOP_XVFB=1)"
	fi
	local need=(dbus-daemon dbus-send) c
	[ "$xvfb" = 1 ] && need+=(Xvfb)
	[ "$keyring" = 1 ] && need+=(gnome-keyring-daemon)
	[ "$notify" = dunst ] && need+=(dunst)
	[ "$tray" = xfce4-panel ] && need+=(xfce4-panel)
	for c in "${need[@]}"; do
		command -v "$c" >/dev/null || die "$c not found: run 'bash .ci/desktop-session.sh install' (as root)"
	done
	local watcher=""
	[ "$tray" = go ] && watcher=$(sniwatcher_bin) # may build: before the clock matters
	t0=$(now_ms)

	# Unix socket paths must stay short (108 bytes), so a long TMPDIR is not used.
	local tmp=${TMPDIR:-/tmp}
	[ ${#tmp} -le 40 ] || tmp=/tmp
	DS_DIR=$(mktemp -d "$tmp/omnitray-desktop.XXXXXX")
	: >"$DS_DIR/$DS_MARKER"
	: >"$DS_DIR/pids"
	mkfifo "$DS_DIR/.nap"
	exec {DS_NAP_FD}<>"$DS_DIR/.nap"
	mkdir -p "$DS_DIR"/{run,home,data,config,cache,logs,services,system-services}
	chmod 700 "$DS_DIR" "$DS_DIR/run"

	# The daemons' environment: nothing of the caller's desktop leaks in, and
	# HOME/XDG dirs are private (for the daemons only; see P17).
	local base=(env -i PATH="$PATH" LANG="${LANG:-C.UTF-8}" HOME="$DS_DIR/home"
		XDG_RUNTIME_DIR="$DS_DIR/run" XDG_DATA_HOME="$DS_DIR/data" XDG_CONFIG_HOME="$DS_DIR/config"
		XDG_CACHE_HOME="$DS_DIR/cache" NO_AT_BRIDGE=1 GSETTINGS_BACKEND=memory GIO_USE_VFS=local)
	[ -n "${TZ:-}" ] && base+=(TZ="$TZ")

	# 1. Xvfb picks a free display itself (-displayfd) and reports it when ready;
	#    it starts in parallel with the buses and the keyring.
	local xvfb_pid="" display=""
	if [ "$xvfb" = 1 ]; then
		fd3="$DS_DIR/display" spawn xvfb "${base[@]}" Xvfb -displayfd 3 -screen 0 "${DESKTOP_SCREEN:-1280x800x24}" \
			-nolisten tcp -noreset
		xvfb_pid=$SPAWNED
	fi

	# 2. the buses. DISPLAY is deliberately not in the bus environment, so an
	#    activated helper cannot open a dialog nobody answers (P3).
	local bus_env=("${base[@]}")
	if [ "$tray" = xfce4-panel ]; then # the panel's settings daemon is D-Bus-activated
		cp /usr/share/dbus-1/services/org.xfce.Xfconf.service "$DS_DIR/services/" ||
			die "org.xfce.Xfconf.service not found (is xfce4-panel installed?)"
	fi
	if [ "${DESKTOP_KEYRING_PROMPTS:-0}" = 1 ] && [ "$xvfb" = 1 ]; then
		cp /usr/share/dbus-1/services/org.gnome.keyring.SystemPrompter.service \
			/usr/share/dbus-1/services/org.gnome.keyring.PrivatePrompter.service "$DS_DIR/services/"
		wait_display "$xvfb_pid"
		bus_env+=(DISPLAY="$DS_DISPLAY")
	fi
	write_bus_config "$DS_DIR/session.conf" session "$DS_DIR/run/bus" "$DS_DIR/services"
	fd3="$DS_DIR/bus.address" spawn dbus "${bus_env[@]}" dbus-daemon --config-file="$DS_DIR/session.conf" \
		--nofork --nopidfile --nosyslog --print-address=3
	local bus_pid=$SPAWNED sys_pid=""
	if [ "$sysbus" = 1 ]; then
		write_bus_config "$DS_DIR/system.conf" system "$DS_DIR/run/system_bus" "$DS_DIR/system-services"
		fd3="$DS_DIR/system-bus.address" spawn dbus-system "${base[@]}" dbus-daemon \
			--config-file="$DS_DIR/system.conf" --nofork --nopidfile --nosyslog --print-address=3
		sys_pid=$SPAWNED
	fi
	DS_BUS="unix:path=$DS_DIR/run/bus"
	wait_for dbus "$bus_pid" test -s "$DS_DIR/bus.address"
	[ -z "$sys_pid" ] || wait_for dbus-system "$sys_pid" test -s "$DS_DIR/system-bus.address"
	local denv=("${base[@]}" DBUS_SESSION_BUS_ADDRESS="$DS_BUS")

	# 3. gnome-keyring: --unlock reads the password on stdin and creates (empty
	#    data dir) or unlocks the "login" collection, the default alias: no prompt.
	local keyring_pid=""
	if [ "$keyring" = 1 ]; then
		printf '%s' "${DESKTOP_KEYRING_PASSWORD:-omnitray-test}" >"$DS_DIR/keyring.pw"
		stdin="$DS_DIR/keyring.pw" spawn keyring "${denv[@]}" gnome-keyring-daemon --foreground --unlock \
			--components=secrets
		keyring_pid=$SPAWNED
	fi

	# 4. the Go watcher needs only the bus.
	local tray_pid="" tray_log=""
	if [ "$tray" = go ]; then
		spawn sniwatcher "${denv[@]}" "$watcher"
		tray_pid=$SPAWNED tray_log=sniwatcher
	fi

	# 5. now the display, then what needs it.
	if [ "$xvfb" = 1 ]; then
		wait_display "$xvfb_pid"
		display=$DS_DISPLAY
		denv+=(DISPLAY="$display")
	fi
	if [ "$tray" = xfce4-panel ]; then
		mkdir -p "$DS_DIR/config/xfce4/xfconf/xfce-perchannel-xml"
		write_panel_config "$DS_DIR/config/xfce4/xfconf/xfce-perchannel-xml/xfce4-panel.xml"
		spawn panel "${denv[@]}" xfce4-panel --disable-wm-check
		tray_pid=$SPAWNED tray_log=panel
	fi
	local dunst_pid=""
	if [ "$notify" = dunst ]; then
		write_dunstrc "$DS_DIR/dunstrc"
		write_dmenu "$DS_DIR/dunst-dmenu"
		spawn dunst "${denv[@]}" dunst -config "$DS_DIR/dunstrc"
		dunst_pid=$SPAWNED
	fi

	# 6. wait for everything to be usable.
	if [ -n "$keyring_pid" ]; then
		wait_for keyring "$keyring_pid" keyring_unlocked
		rm -f "$DS_DIR/keyring.pw"
	fi
	[ -z "$tray_pid" ] || wait_for "$tray_log" "$tray_pid" has_owner "$DS_BUS" org.kde.StatusNotifierWatcher
	[ -z "$dunst_pid" ] || wait_for dunst "$dunst_pid" has_owner "$DS_BUS" org.freedesktop.Notifications

	{
		echo "export DESKTOP_SESSION_DIR='$DS_DIR'"
		echo "export DBUS_SESSION_BUS_ADDRESS='$DS_BUS'"
		echo "export XDG_RUNTIME_DIR='$DS_DIR/run'"
		[ -z "$display" ] || echo "export DISPLAY='$display'"
		[ -z "$sys_pid" ] || echo "export DBUS_SYSTEM_BUS_ADDRESS='unix:path=$DS_DIR/run/system_bus'"
	} >"$DS_DIR/env"
	say "up in $(($(now_ms) - t0)) ms: $DS_DIR display=${display:-none} tray=$tray notify=$notify" \
		"keyring=$([ "$keyring" = 1 ] && echo unlocked || echo none) system-bus=$([ -n "$sys_pid" ] && echo yes || echo no)"
}

# wait_display XVFB_PID: sets DS_DISPLAY (":N") once Xvfb is ready.
wait_display() {
	wait_for xvfb "$1" test -s "$DS_DIR/display"
	local n
	read -r n <"$DS_DIR/display"
	DS_DISPLAY=":$n"
}

# ---------------------------------------------------------------- commands

on_exit_start() {
	local rc=$?
	if [ "$DS_STARTED" != 1 ]; then
		echo false # make `eval "$(... start)"` fail as well
		[ -z "${DS_DIR:-}" ] || teardown "$DS_DIR" >/dev/null 2>&1 || true
		exit $((rc == 0 ? 1 : rc))
	fi
}

cmd_start() {
	DS_STARTED=0 DS_DIR=""
	trap on_exit_start EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	ds_start
	DS_STARTED=1
	cat "$DS_DIR/env"
}

cmd_run() {
	[ "${1:-}" = -- ] && shift
	[ $# -gt 0 ] || die "usage: desktop-session.sh run -- CMD [ARGS...]"
	DS_DIR=""
	trap '[ -z "$DS_DIR" ] || teardown "$DS_DIR" || true' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	ds_start
	# shellcheck disable=SC1091
	. "$DS_DIR/env"
	# CMD runs in the background so a signal to this script is handled at once:
	# it is passed on to CMD's whole process group, then the EXIT trap tears down.
	exec {DS_NAP_FD}>&- # start-up is over; CMD must not inherit it
	DS_NAP_FD=""
	exec {stdin_copy}<&0
	# setsid: CMD leads a process group, so a signal reaches all it started.
	setsid "$@" <&"$stdin_copy" {stdin_copy}<&- &
	local cmd_pid=$! rc
	exec {stdin_copy}<&-
	trap 'kill -TERM -- "-$cmd_pid" 2>/dev/null || true' INT TERM HUP
	while :; do
		set +e
		wait "$cmd_pid"
		rc=$?
		set -e
		alive "$cmd_pid" || break
	done
	# What CMD left running in its group (a test's helper) ends with it.
	kill -TERM -- "-$cmd_pid" 2>/dev/null || true
	exit "$rc"
}

cmd_shot() {
	local file=${1:-}
	[ -n "$file" ] || die "usage: desktop-session.sh shot FILE.png"
	local display=${DISPLAY:-}
	if [ -n "${DESKTOP_SESSION_DIR:-}" ] && [ -s "$DESKTOP_SESSION_DIR/display" ]; then
		display=":$(head -n1 "$DESKTOP_SESSION_DIR/display" | tr -dc 0-9)"
	fi
	[ -n "$display" ] || die "shot: no session display (DESKTOP_SESSION_DIR/DISPLAY unset)"
	local tmp
	tmp=$(mktemp "${TMPDIR:-/tmp}/desktop-shot.XXXXXX")
	# ImageMagick refuses /dev/fd inputs (P21): always go through real files.
	if command -v import >/dev/null; then
		DISPLAY=$display import -silent -window root "png:$tmp" || die "shot: import failed"
	else
		DISPLAY=$display xwd -root -silent -out "$tmp.xwd" && convert "$tmp.xwd" "png:$tmp" ||
			die "shot: xwd/convert failed (install imagemagick)"
		rm -f "$tmp.xwd"
	fi
	mv -f "$tmp" "$file"
	say "shot: $file ($(stat -c %s "$file") bytes, display $display)"
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
run)
	shift
	cmd_run "$@"
	;;
shot) cmd_shot "${2:-}" ;;
-h | --help | help) usage ;;
*) usage ;;
esac
