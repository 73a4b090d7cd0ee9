#!/bin/bash
# make bench-soak: the daemon for SOAK_SECONDS (default 600) on a busy
# target: bench/mapserver pinned to CPU $SERVER_CPU under wrk (-t1 -c16)
# from CPU $CLIENT_CPU, one daemon at the default budget with --interval
# $SOAK_INTERVAL (held to our binaries). Its VmRSS is sampled every 10 s
# (build/bench/daemon-soak-rss.txt); printed: the first half's max against
# the second half's (bound 128 MB, and no growth in the second half), the
# lost-record counters from DIR/gomaptrace.prom and `status --json`, and
# what wrk and the daemon did meanwhile.
set -e -o pipefail
cd "$(dirname "$0")/.."
. bench/daemon-lib.sh

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_INTERVAL=${SOAK_INTERVAL:-60s}
SERVER_CPU=${SERVER_CPU-0}
CLIENT_CPU=${CLIENT_CPU-1}
STEP_S=10
BOUND_MB=128

bench_init bench-soak
RES=$OUT/daemon-soak.txt
SAMPLES=$OUT/daemon-soak-rss.txt
: >"$RES"
say() { echo "$*" | tee -a "$RES"; }

say "bench-soak: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)," \
    "$SOAK_SECONDS s"
say "load: $(uptime)"
PORT=$(free_port)
start_mapserver "$PORT" "$SERVER_CPU"
SERVER=$LAST_PID
wait_port "$PORT"

DIR=$BENCH_TMP/d
run=$BENCH_TMP/run
daemon_start "$DIR" "$run" --interval "$SOAK_INTERVAL"
wait_attached "$run" 30 "$SERVER" >/dev/null ||
	die "the daemon did not attach to mapserver within 30 s"
taskset -c "$CLIENT_CPU" wrk -t1 -c16 -d"$((SOAK_SECONDS + 5))"s \
	"http://127.0.0.1:$PORT/" >"$BENCH_TMP/wrk.log" 2>&1 &
WRK=$!
OWNED_PIDS+=("$WRK")

echo "# seconds VmRSS_kB VmHWM_kB daemon_cpu_s" >"$SAMPLES"
t0=$(date +%s)
while :; do
	el=$(($(date +%s) - t0))
	kill -0 "$DAEMON_PID" 2>/dev/null ||
		die "the daemon exited after $el s: $(tail -5 "$DIR.log")"
	kill -0 "$SERVER" 2>/dev/null || die "mapserver exited after $el s"
	read -r r h < <(rss_kb "$DAEMON_PID")
	echo "$el $r $h $(proc_cpu_ns "$DAEMON_PID" |
		awk '{ printf "%.2f", $1 / 1e9 }')" >>"$SAMPLES"
	[ "$el" -lt "$SOAK_SECONDS" ] || break
	sleep $((STEP_S - ($(date +%s) - t0) % STEP_S))
done
# The metrics file is rewritten every 5 s: let it catch up with the end.
sleep 6
cp "$DIR/gomaptrace.prom" "$BENCH_TMP/prom" 2>/dev/null || : >"$BENCH_TMP/prom"
status_json "$run" >"$BENCH_TMP/status.json"
wait "$WRK" || true
STOPPED[$WRK]=1

/usr/bin/python3 - "$SAMPLES" "$SOAK_SECONDS" "$BOUND_MB" <<'PY' | tee -a "$RES"
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])
        if not l.startswith("#")]
total, bound = float(sys.argv[2]), int(sys.argv[3])
first = max(r[1] for r in rows if r[0] <= total / 2)
second = max(r[1] for r in rows if r[0] > total / 2)
hwm = rows[-1][2]
print("daemon VmRSS: %d samples every 10 s; first half max %.1f MB, second "
      "half max %.1f MB (%+d kB); VmHWM %.1f MB; start %.1f MB, end %.1f MB"
      % (len(rows), first / 1024, second / 1024, second - first, hwm / 1024,
         rows[0][1] / 1024, rows[-1][1] / 1024))
# The second half's trend too: a least-squares slope over its samples.
h = [r for r in rows if r[0] > total / 2]
mx = sum(r[0] for r in h) / len(h)
my = sum(r[1] for r in h) / len(h)
var = sum((r[0] - mx) ** 2 for r in h)
slope = sum((r[0] - mx) * (r[1] - my) for r in h) / var * 60 if var else 0
grow = second - first
print("bound %d MB: %s; growth in the second half: %s; its slope %+.1f kB/min"
      % (bound, "ok" if hwm <= bound * 1024 else "EXCEEDED",
         "none" if grow <= 0 else "%d kB (%s 1 %% of the first half's max)"
         % (grow, "within" if grow <= first / 100 else "MORE than"), slope))
print("daemon CPU over the soak: %.2f s (%.2f %% of one CPU)"
      % (rows[-1][3] - rows[0][3],
         100 * (rows[-1][3] - rows[0][3]) / max(rows[-1][0] - rows[0][0], 1)))
PY
say "wrk: $(awk '/ requests in / { sub(",", "", $4); printf "%s requests in %s ", $1, $4 }
	/^Requests\/sec:/ { printf "(%s req/s)", $2 }' "$BENCH_TMP/wrk.log")"
say "gomaptrace.prom: $(grep -v '^#' "$BENCH_TMP/prom" | tr '\n' ';' |
	sed 's/;$//; s/;/; /g')"
say "status --json: $(/usr/bin/python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
keys = [k for k in s if "lost" in k or k in ("cost_percent",
        "observed_fraction", "map_operations_probed", "crashes")]
tl = [(t.get("pid"), {k: v for k, v in t.items() if "lost" in k})
      for t in s.get("targets", [])]
print(", ".join("%s %s" % (k, s[k]) for k in keys) +
      "".join("; target %s %s" % (p, d) for p, d in tl if d))' \
	"$BENCH_TMP/status.json")"
nrep=$(find "$DIR/reports" -type f 2>/dev/null | wc -l)
say "reports written: $nrep (--interval $SOAK_INTERVAL);" \
    "DIR $(du -sk "$DIR" | cut -f1) kB"
daemon_stop
say "load at the end: $(uptime)"
