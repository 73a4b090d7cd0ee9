#!/bin/bash
# make bench-daemon: what `gomaptrace daemon` costs a real server, and how
# soon it names a shared map.
#
# 1. Debian's caddy serves a 4 KiB static file on loopback, pinned to CPU
#    $SERVER_CPU; wrk (-t1 -c16) drives it from CPU $CLIENT_CPU. In one run,
#    for the default budget and then for --budget 5, intervals alternate
#    U D U D ... U: untraced, then daemon-on (a fresh daemon, held to our
#    binaries, attached to caddy, $WARM_S s of load to settle, then the
#    measured $INTERVAL_S s: two of its 5 s duty cycles). This host's speed
#    drifts: caddy untraced runs at ~14,700 req/s for a minute, then at
#    ~9,000 (its CPU per request up alike), so many short pairs are taken,
#    and each D is set against the mean of its two neighbours. The figure
#    per budget: the median of those ratios, with a 90 % bootstrap interval;
#    beside it the same for U against its neighbours (the host's own noise,
#    nothing traced). Goals: >= 99 % at the default budget, >= 95 % at 5.
#    The host's uprobe floor (bench/floor, as `make bench`) goes beside each
#    figure: the cost the budget is spent in.
# 2. bench/mapserver (one map shared by every handler under a mutex, several
#    private maps per request) under the same load, a daemon at the default
#    budget with --interval $REPORT_INTERVAL: the time from the daemon's
#    start until a report in DIR/reports/ names the shared map with its site
#    (bench/mapserver/main.go at the line marked "shared write"); 60 s bound.
set -e -o pipefail
cd "$(dirname "$0")/.."
. bench/daemon-lib.sh

REPS=${REPS:-10}		# daemon-on intervals per budget
# The daemon aims at 5 s duty cycles (a window of map probes, then off for
# window * (cost - budget) / budget): an interval holds two.
INTERVAL_S=${INTERVAL_S:-10}
WARM_S=${WARM_S:-2}
# A fresh daemon first settles under the load for $SETTLE_S s (not
# counted): its start (calibration, the binary's symbol table, the first
# look and report) is paid once per boot, not by the service every
# minute; the start's own CPU is given apart.
SETTLE_S=${SETTLE_S:-15}
SERVER_CPU=${SERVER_CPU-0}
CLIENT_CPU=${CLIENT_CPU-1}
REPORT_INTERVAL=${REPORT_INTERVAL:-10m}	# the daemon's default
FIND_BOUND_S=${FIND_BOUND_S:-60}
BUDGETS=${BUDGETS:-"default 5"}	# "none": part 2 alone

bench_init bench-daemon
caddy_copy
RES=$OUT/daemon-bench.txt
: >"$RES"
say() { echo "$*" | tee -a "$RES"; }

say "bench-daemon: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)," \
    "$("$GMT" --version 2>&1 | head -1)"
say "load: $(uptime)"
uprobe_floor 5 "${FLOOR_WRITES:-500000}"
say "uprobe floor: $FLOOR_NS ns per hit (bench/floor at mapassign_fast64," \
    "median of 5)"

PORT=$(free_port)
start_caddy "$PORT" "$SERVER_CPU"
CADDY=$LAST_PID
wait_port "$PORT"
wrk_run "$PORT" 2 "$CLIENT_CPU" >/dev/null	# warm caddy up

# interval [DAEMON_PID]: warm-up load (not counted), then the measured one:
# "RATE CADDY_CPU_US_PER_REQUEST DAEMON_CPU_PERCENT PROBE_PERCENT", the last
# the probe hits the daemon counted on caddy meanwhile times the uprobe
# floor, in percent of one CPU ("-" untraced or when it counts no hits).
interval() {
	local c0 c1 d0=0 d1=0 h0=- h1=- rate n warm=$WARM_S
	[ -z "$1" ] || warm=$SETTLE_S
	wrk_run "$PORT" "$warm" "$CLIENT_CPU" >/dev/null
	c0=$(proc_cpu_ns "$CADDY")
	[ -z "$1" ] || { d0=$(proc_cpu_ns "$1");
			 h0=$(target_hits "$BENCH_TMP/run" "$CADDY"); }
	read -r rate n < <(wrk_run "$PORT" "$INTERVAL_S" "$CLIENT_CPU")
	c1=$(proc_cpu_ns "$CADDY")
	[ -z "$1" ] || { d1=$(proc_cpu_ns "$1");
			 h1=$(target_hits "$BENCH_TMP/run" "$CADDY"); }
	awk -v r="$rate" -v n="$n" -v c="$((c1 - c0))" -v d="$((d1 - d0))" \
		-v s="$INTERVAL_S" -v h0="$h0" -v h1="$h1" -v f="$FLOOR_NS" \
		'BEGIN { p = "-"
		if (h0 != "-" && h1 != "-") p = sprintf("%.2f", (h1 - h0) * f / s / 1e7)
		printf "%s %.2f %.2f %s\n", r, c / n / 1000, d / s / 1e7, p }'
}

[ "$BUDGETS" != none ] || BUDGETS=
for budget in $BUDGETS; do
	opts=()
	[ "$budget" = default ] || opts=(--budget "$budget")
	runs=$BENCH_TMP/runs.$budget
	: >"$runs"
	for r in $(seq "$REPS"); do
		echo "U $(interval)" >>"$runs"
		daemon_start "$BENCH_TMP/d" "$BENCH_TMP/run" "${opts[@]}"
		wait_attached "$BENCH_TMP/run" 30 "$CADDY" >/dev/null ||
			die "the daemon did not attach to caddy within 30 s"
		m=$(interval "$DAEMON_PID")
		echo "D $m $(status_brief "$BENCH_TMP/run" "$CADDY")" >>"$runs"
		daemon_stop
	done
	echo "U $(interval)" >>"$runs"
	/usr/bin/python3 - "$runs" "$budget" "$FLOOR_NS" <<'PY' | tee -a "$RES"
import random, statistics, sys
rows = [l.rstrip("\n").split(" ", 5) for l in open(sys.argv[1])]
u = [float(r[1]) for r in rows if r[0] == "U"]
d = [float(r[1]) for r in rows if r[0] == "D"]
uc = [float(r[2]) for r in rows if r[0] == "U"]
dc = [float(r[2]) for r in rows if r[0] == "D"]
dd = [float(r[3]) for r in rows if r[0] == "D"]
pp = [float(r[4]) for r in rows if r[0] == "D" and r[4] != "-"]
budget, floor = sys.argv[2], sys.argv[3]
goal = 99.0 if budget == "default" else 95.0
med = statistics.median
# D against the mean of its neighbours; U (inner ones) the same way: the
# host's noise with nothing traced, on the same footing.
pairs = [100 * d[i] / ((u[i] + u[i + 1]) / 2) for i in range(len(d))]
aa = [100 * u[i] / ((u[i - 1] + u[i + 1]) / 2) for i in range(1, len(u) - 1)]
def interval(xs):
    rnd = random.Random(1)
    ms = sorted(med([rnd.choice(xs) for _ in xs]) for _ in range(2000))
    return ms[100], ms[1899]
lo, hi = interval(pairs)
alo, ahi = interval(aa) if len(aa) > 1 else (float("nan"),) * 2
fl = "uprobe floor %s ns/hit" % floor
verdict = ("met" if lo >= goal else "missed" if hi < goal else
           "not resolved: the interval holds the goal")
print("budget %s: untraced %s req/s" % (budget, " ".join("%.0f" % v for v in u)))
print("budget %s: daemon   %s req/s" % (budget, " ".join("%.0f" % v for v in d)))
for r in rows:
    if r[0] == "D" and len(r) > 5:
        print("  daemon status at the end of its interval: %s" % r[5])
print("budget %s: throughput %.1f %% of untraced (median of each D against "
      "its neighbours; 90 %% interval %.1f-%.1f %%; each %s); median D / "
      "median U %.1f %%; goal >= %.0f %%: %s; %s"
      % (budget, med(pairs), lo, hi, " ".join("%.1f" % p for p in pairs),
         100 * med(d) / med(u), goal, verdict, fl))
print("budget %s: the host's noise, untraced against untraced: %.1f %% "
      "(90 %% interval %.1f-%.1f %%; each %s)"
      % (budget, med(aa), alo, ahi, " ".join("%.1f" % p for p in aa)))
print("budget %s: caddy CPU per request %.1f us untraced, %.1f us daemon-on "
      "(%+.1f %%; medians); the daemon's own CPU %.2f %% of one CPU "
      "(median); %s"
      % (budget, med(uc), med(dc), 100 * (med(dc) / med(uc) - 1), med(dd), fl))
print("budget %s: probe hits on caddy times the floor: %s %% of one CPU "
      "(median; each %s); %s"
      % (budget, "%.2f" % med(pp) if pp else "no hits counted",
         " ".join("%.2f" % p for p in pp) or "-", fl))
PY
done
stop_pid "$CADDY"

# Part 2: the shared map of bench/mapserver, named with its site.
LINE=$(grep -n '// shared write$' bench/mapserver/main.go | cut -d: -f1)
[ -n "$LINE" ] || die "no '// shared write' line in bench/mapserver/main.go"
SRC=$(realpath bench/mapserver/main.go)
PORT=$(free_port)
start_mapserver "$PORT" "$SERVER_CPU"
SERVER=$LAST_PID
wait_port "$PORT"
taskset -c "$CLIENT_CPU" wrk -t1 -c16 -d$((FIND_BOUND_S + 15))s \
	"http://127.0.0.1:$PORT/" >"$BENCH_TMP/wrk-find.log" 2>&1 &
OWNED_PIDS+=($!)
sleep 1
t0=$(date +%s.%N)
DIR=$BENCH_TMP/find
daemon_start "$DIR" "$BENCH_TMP/run" --interval "$REPORT_INTERVAL"
att=$(wait_attached "$BENCH_TMP/run" 30 "$SERVER") ||
	die "the daemon did not attach to mapserver within 30 s"
found=
while :; do
	el=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if what=$(/usr/bin/python3 - "$DIR/reports" "$SRC" "$LINE" <<'PY'
# Any JSON under DIR/reports with an object that has "sites" (a map), one
# of whose frames is FILE:LINE: the shared map named with its site.
import json, os, sys
top, src, line = sys.argv[1], sys.argv[2], int(sys.argv[3])
def maps(o):
    if isinstance(o, dict):
        if isinstance(o.get("sites"), list):
            yield o
        for v in o.values():
            yield from maps(v)
    elif isinstance(o, list):
        for v in o:
            yield from maps(v)
def at_line(m):
    for s in m["sites"]:
        for f in (s.get("frames") or []) if isinstance(s, dict) else []:
            if f.get("line") == line and str(f.get("file", "")).endswith(
                    src[-len("bench/mapserver/main.go"):]):
                return s
for root, _, files in os.walk(top):
    for n in sorted(files):
        if not n.endswith(".json"):
            continue
        try:
            r = json.load(open(os.path.join(root, n)))
        except (OSError, ValueError):
            continue
        for m in maps(r):
            s = at_line(m)
            if s:
                w = m.get("writers", {}).get("goroutines")
                print("%s: map %s %s, verdict %s, writer goroutines %s, "
                      "site %s %s:%d (the map: %s sites, %s operations)"
                      % (os.path.relpath(os.path.join(root, n), top),
                         m.get("addr"), m.get("type"), m.get("verdict"), w,
                         s.get("op"), os.path.basename(src), line,
                         len(m["sites"]), m.get("events")))
                sys.exit(0)
sys.exit(1)
PY
); then
		found=$el
		break
	fi
	awk -v e="$el" -v m="$FIND_BOUND_S" 'BEGIN { exit !(e > m) }' && break
	sleep 0.5
done
nrep=$(find "$DIR/reports" -type f 2>/dev/null | wc -l)
say "mapserver: daemon attached in $att s; reports written: $nrep" \
    "(--interval $REPORT_INTERVAL)"
if [ -n "$found" ]; then
	say "mapserver: shared map reported with its site after $found s" \
	    "(bound $FIND_BOUND_S s): $what; uprobe floor $FLOOR_NS ns/hit"
else
	say "mapserver: shared map not reported within $FIND_BOUND_S s" \
	    "(bound $FIND_BOUND_S s); uprobe floor $FLOOR_NS ns/hit"
fi
say "mapserver: daemon status: $(status_brief "$BENCH_TMP/run" "$SERVER")"
daemon_stop
say "load at the end: $(uptime)"
echo "bench-daemon: results in $RES"
