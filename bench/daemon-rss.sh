#!/bin/bash
# make bench-rss: the daemon's memory with many Go processes. 20 processes
# of 3 binaries run first: 7 copies of Debian's caddy and 7 bench/mapserver
# (idle servers, Go 1.26.8) and 6 bench/maploop (a little map work every
# 10 ms, Go 1.19). Then one daemon (default budget, --interval
# $REPORT_INTERVAL, held to our binaries) starts: the time until `status`
# lists all 20, then its VmRSS and VmHWM (/proc/PID/status) once all are
# attached and after $SETTLE_S s more (sampling and reports have run).
# Bound: 256 MB. Last, the 6 maploops are restarted under the running
# daemon: the time until the exec tracepoint has them all attached.
set -e -o pipefail
cd "$(dirname "$0")/.."
. bench/daemon-lib.sh

SETTLE_S=${SETTLE_S:-30}
REPORT_INTERVAL=${REPORT_INTERVAL:-10s}
BOUND_MB=256

bench_init bench-rss
caddy_copy
RES=$OUT/daemon-rss.txt
: >"$RES"
say() { echo "$*" | tee -a "$RES"; }

say "bench-rss: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
say "load: $(uptime)"
pids=()
for i in $(seq 7); do
	p=$(free_port)
	start_caddy "$p"
	pids+=("$LAST_PID")
	wait_port "$p"
	p=$(free_port)
	start_mapserver "$p"
	pids+=("$LAST_PID")
	wait_port "$p"
done
loops=()
for i in $(seq 6); do
	start_maploop
	loops+=("$LAST_PID")
done
sleep 1
for p in "${pids[@]}" "${loops[@]}"; do
	kill -0 "$p" 2>/dev/null || die "process $p exited before the daemon started"
done

run=$BENCH_TMP/run
daemon_start "$BENCH_TMP/d" "$run" --interval "$REPORT_INTERVAL"
# daemon_start waited for the socket; count from the daemon's exec.
t_exec=$(awk '{ print $22 }' "/proc/$DAEMON_PID/stat")
att=$(wait_attached "$run" 60 "${pids[@]}" "${loops[@]}") ||
	die "the daemon did not attach all 20 within 60 s: $(status_brief "$run" none)"
start_s=$(awk -v st="$t_exec" -v hz="$(getconf CLK_TCK)" \
	'{ printf "%.2f", $1 - st / hz }' /proc/uptime)
read -r rss hwm < <(rss_kb "$DAEMON_PID")
say "20 processes (7 caddy, 7 mapserver, 6 maploop) attached" \
    "$start_s s after the daemon's exec ($att s after it answered status)"
say "daemon after attach: VmRSS $((rss / 1024)) MB ($rss kB)," \
    "VmHWM $((hwm / 1024)) MB ($hwm kB)"
max=0
for s in $(seq "$SETTLE_S"); do
	sleep 1
	read -r r _ < <(rss_kb "$DAEMON_PID")
	[ "$r" -le "$max" ] || max=$r
done
read -r rss hwm < <(rss_kb "$DAEMON_PID")
cpu=$(proc_cpu_ns "$DAEMON_PID")
status_json "$run" >"$BENCH_TMP/status.json"
say "daemon after $SETTLE_S s more: VmRSS $((rss / 1024)) MB ($rss kB)," \
    "max sampled $((max / 1024)) MB, VmHWM $((hwm / 1024)) MB ($hwm kB);" \
    "bound $BOUND_MB MB: $([ "$hwm" -le $((BOUND_MB * 1024)) ] && echo ok ||
				echo EXCEEDED)"
say "daemon CPU so far: $(awk -v c="$cpu" 'BEGIN { printf "%.2f", c / 1e9 }') s;" \
    "status: $(status_brief "$run" none), $(/usr/bin/python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
t = s.get("targets", [])
def tot(k):
    v = [x[k] for x in t if isinstance(x.get(k), (int, float))]
    return sum(v) if v else "-"
print("targets %d (sampled %s), hits %s, lost %s, shared maps %s, reports %s, "
      "max cost_percent %s; binaries checked %s, processes seen %s" % (
    len(t), tot("sampled"), tot("hits"), tot("lost"), tot("shared_maps"),
    tot("reports"), max([x.get("cost_percent", 0) for x in t] or [0]),
    s.get("binaries_checked"), s.get("processes_seen")))' "$BENCH_TMP/status.json")"
say "reports written: $(find "$BENCH_TMP/d/reports" -type f | wc -l)" \
    "(--interval $REPORT_INTERVAL)"

# The exec tracepoint path: the 6 maploops again, started under the daemon.
for p in "${loops[@]}"; do
	stop_pid "$p"
done
loops=()
t0=$(date +%s.%N)
for i in $(seq 6); do
	start_maploop
	loops+=("$LAST_PID")
done
att=$(wait_attached "$run" 60 "${loops[@]}") ||
	die "the daemon did not attach the new maploops within 60 s"
say "6 maploops started under the daemon: all attached in" \
    "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s"
read -r rss hwm < <(rss_kb "$DAEMON_PID")
say "daemon at the end: VmRSS $((rss / 1024)) MB, VmHWM $((hwm / 1024)) MB"
say "load at the end: $(uptime)"
