#!/bin/bash
# Shared by the daemon benchmarks (bench/daemon.sh, daemon-rss.sh,
# daemon-soak.sh): sourced, never run. It starts only what it owns and
# stops it on every path (the EXIT trap); each daemon it starts is held to
# the binaries under $OUT (--exe) with its own --dir and --run-dir, since
# other people's Go programs run on this machine and must not be guarded.
#
# The caddy it runs is Debian's /usr/bin/caddy copied to $OUT/caddy: so the
# --exe glob names our copy alone, never a caddy someone else runs.

BUILD=${BUILD:-build}
OUT=$BUILD/bench
GMT=${GMT:-$BUILD/gomaptrace}
# Everything the daemons may guard: our builds in $OUT, nothing else.
EXE_GLOB="$(realpath -m "$OUT")/*"

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
note() { echo "$BENCH_NAME: $*" >&2; }

# Processes we started, stopped on exit in reverse order (by PID only).
OWNED_PIDS=()
# Daemons: "PID" entries, stopped first (SIGTERM, then SIGKILL after 3 s).
OWNED_DAEMONS=()
BENCH_TMP=
# PIDs already stopped and reaped: never signalled again (the number may
# belong to someone else's process by then).
declare -A STOPPED

stop_pid() {
	local pid=$1 i
	[ -z "${STOPPED[$pid]}" ] || return 0
	STOPPED[$pid]=1
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
	local i
	for ((i = ${#OWNED_DAEMONS[@]} - 1; i >= 0; i--)); do
		stop_pid "${OWNED_DAEMONS[i]}"
	done
	for ((i = ${#OWNED_PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${OWNED_PIDS[i]}"
	done
	[ -z "$BENCH_TMP" ] || rm -rf "$BENCH_TMP"
}

# bench_init NAME: checks the tools, builds the Go programs, sets the trap.
bench_init() {
	BENCH_NAME=$1
	[ "$(id -u)" = 0 ] || die "run as root (the daemon loads BPF)"
	[ -x "$GMT" ] || die "$GMT is missing: run make"
	mkdir -p "$OUT"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	BENCH_TMP=$(mktemp -d "$OUT/tmp.$BENCH_NAME.XXXXXX")
	go_build mapserver /usr/local/go/bin/go
	go_build maploop /usr/lib/go-1.19/bin/go
}

# go_build NAME GO: bench/NAME/main.go into $OUT/NAME when newer.
go_build() {
	local bin=$OUT/$1 src=bench/$1/main.go
	[ -x "$bin" ] && [ ! "$src" -nt "$bin" ] && return 0
	CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS= "$2" build -o "$bin" "$src" ||
		die "cannot build $src with $2"
}

# caddy_copy: Debian's caddy as $OUT/caddy, and a static file to serve.
caddy_copy() {
	command -v caddy >/dev/null && command -v wrk >/dev/null ||
		die "caddy or wrk is missing: bench/daemon-deps.sh installs them"
	local src
	src=$(command -v caddy)
	if ! cmp -s "$src" "$OUT/caddy"; then
		cp "$src" "$OUT/caddy.tmp" && mv "$OUT/caddy.tmp" "$OUT/caddy"
	fi
	mkdir -p "$OUT/www" "$OUT/caddy-home"
	head -c 4096 /dev/zero | tr '\0' 'x' > "$OUT/www/index.html"
}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something answers HTTP there (10 s at most).
wait_port() {
	local i
	for i in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
		sleep 0.1
	done
	die "nothing answers on port $1"
}

# start_caddy PORT [CPU]: prints its PID into $LAST_PID.
start_caddy() {
	local pin=()
	[ -z "$2" ] || pin=(taskset -c "$2")
	HOME=$OUT/caddy-home XDG_DATA_HOME=$OUT/caddy-home \
	XDG_CONFIG_HOME=$OUT/caddy-home \
		"${pin[@]}" "$(realpath "$OUT/caddy")" file-server \
		--listen "127.0.0.1:$1" --root "$OUT/www" \
		>>"$BENCH_TMP/caddy.log" 2>&1 &
	LAST_PID=$!
	OWNED_PIDS+=("$LAST_PID")
}

# start_mapserver PORT [CPU]
start_mapserver() {
	local pin=()
	[ -z "$2" ] || pin=(taskset -c "$2")
	"${pin[@]}" "$(realpath "$OUT/mapserver")" "127.0.0.1:$1" \
		>>"$BENCH_TMP/mapserver.log" 2>&1 &
	LAST_PID=$!
	OWNED_PIDS+=("$LAST_PID")
}

start_maploop() {
	"$(realpath "$OUT/maploop")" >>"$BENCH_TMP/maploop.log" 2>&1 &
	LAST_PID=$!
	OWNED_PIDS+=("$LAST_PID")
}

# wrk_run PORT SECONDS [CPU]: "RATE REQUESTS" (requests per second and in
# all), from wrk's summary.
wrk_run() {
	local pin=() out
	[ -z "$3" ] || pin=(taskset -c "$3")
	out=$("${pin[@]}" wrk -t1 -c16 -d"$2"s "http://127.0.0.1:$1/" 2>&1) ||
		die "wrk failed: $out"
	echo "$out" | awk '/ requests in / { n = $1 }
		/^Requests\/sec:/ { r = $2 } END { if (!r || !n) exit 1
		print r, n }' || die "no rate in wrk's output: $out"
}

# proc_cpu_ns PID: CPU time of all its threads, ns (schedstat: the uprobes a
# thread hits count in its own time). 0 when it is gone.
proc_cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null |
		awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# daemon_start DIR RUNDIR [OPTIONS...]: a daemon held to $EXE_GLOB; its PID
# in $DAEMON_PID, its stderr in DIR.log. Waits until it answers `status`.
daemon_start() {
	local dir=$1 run=$2 i
	shift 2
	rm -rf "$dir" "$run"
	mkdir -p "$run" && chmod 700 "$run"
	"$GMT" daemon --dir "$dir" --run-dir "$run" --exe "$EXE_GLOB" "$@" \
		2>"$dir.log" &
	DAEMON_PID=$!
	OWNED_DAEMONS+=("$DAEMON_PID")
	for i in $(seq 300); do
		kill -0 "$DAEMON_PID" 2>/dev/null ||
			die "the daemon exited: $(tail -5 "$dir.log")"
		"$GMT" status --run-dir "$run" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "the daemon did not answer status within 30 s"
}

daemon_stop() { stop_pid "$DAEMON_PID"; }

# status_json RUNDIR: the daemon's status, {} when it does not answer.
status_json() {
	"$GMT" status --json --run-dir "$1" 2>/dev/null || echo '{}'
}

# wait_attached RUNDIR SECONDS PID...: until every PID is among the
# daemon's targets; prints the seconds it took, fails after SECONDS.
wait_attached() {
	local run=$1 bound=$2 t0
	shift 2
	t0=$(date +%s.%N)
	while :; do
		if status_json "$run" | /usr/bin/python3 -c '
import json, sys
want = set(int(p) for p in sys.argv[1:])
have = set(t.get("pid") for t in json.load(sys.stdin).get("targets", []))
sys.exit(0 if want <= have else 1)' "$@"; then
			awk -v a="$t0" -v b="$(date +%s.%N)" \
				'BEGIN { printf "%.2f\n", b - a }'
			return 0
		fi
		awk -v a="$t0" -v b="$(date +%s.%N)" -v m="$bound" \
			'BEGIN { exit !(b - a > m) }' && return 1
		sleep 0.1
	done
}

# status_brief RUNDIR [PID]: one line of what the daemon says it costs:
# whichever of these fields its status carries (the schema grows), at the
# top and for the target PID (all targets when none is given).
status_brief() {
	status_json "$1" | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
keys = ("budget_percent", "hit_ns", "cost_percent", "observed_fraction",
        "map_operations_probed", "lost_records")
out = ["%s %s" % (k, s[k]) for k in keys if k in s]
skip = ("pid", "ns_pid", "exe", "guarded_s", "crashed")
for t in s.get("targets", []):
    if len(sys.argv) > 1 and str(t.get("pid")) != sys.argv[1]:
        continue
    out.append("target %s %s: %s" % (t.get("pid"), t.get("exe", "").split("/")[-1],
               " ".join("%s %s" % (k, v) for k, v in t.items()
                        if k not in skip and not isinstance(v, (dict, list)))))
print(", ".join(out))' $2
}

# target_hits RUNDIR PID: the map-operation probe hits the daemon counted
# on PID so far ("-" when its status has no such count).
target_hits() {
	status_json "$1" | /usr/bin/python3 -c '
import json, sys
for t in json.load(sys.stdin).get("targets", []):
    if str(t.get("pid")) == sys.argv[1] and isinstance(t.get("hits"), int):
        print(t["hits"]); break
else:
    print("-")' "$2"
}

# rss_kb PID: "VmRSS VmHWM" in kB.
rss_kb() {
	awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r, h }' \
		"/proc/$1/status"
}

# uprobe_floor [REPS] [WRITES]: the least one uprobe hit costs on this host
# now, in ns: bench/floor (one counter bump at mapassign_fast64's probe, the
# probe `make bench` measures) minus untraced, on bench/mapbench's thread
# CPU clock, median of REPS interleaved pairs. Sets $FLOOR_NS.
uprobe_floor() {
	local reps=${1:-5} writes=${2:-1000000} bin=$OUT/mapbench off r
	[ -x "$OUT/floor" ] || die "$OUT/floor is missing: run make bench-daemon"
	if [ ! -x "$bin" ] || [ bench/mapbench/main.go -nt "$bin" ]; then
		CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS= \
			go build -o "$bin" bench/mapbench/main.go
	fi
	off=$("$GMT" info "$bin" --json | /usr/bin/python3 -c '
import json, sys
for p in json.load(sys.stdin)["probes"]:
    if p["function"] == "runtime.mapassign_fast64":
        print(p["file_offset"])')
	[ -n "$off" ] || die "no probe site for mapassign_fast64 in $bin"
	: >"$BENCH_TMP/floor.runs"
	for r in $(seq "$reps"); do
		u=$("$bin" "$writes" | awk '{ print $2 }')
		f=$("$OUT/floor" "$bin" "$off" -- "$bin" "$writes" \
			2>"$BENCH_TMP/floor.err" | awk '{ print $2 }')
		[ -n "$f" ] || die "floor failed: $(cat "$BENCH_TMP/floor.err")"
		echo "$u $f" >>"$BENCH_TMP/floor.runs"
	done
	FLOOR_NS=$(/usr/bin/python3 -c '
import statistics, sys
d = [float(f) - float(u) for u, f in (l.split() for l in open(sys.argv[1]))]
print("%.0f" % statistics.median(d))' "$BENCH_TMP/floor.runs")
}
