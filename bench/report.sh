#!/bin/bash
# make bench-report: `report` on a big server-shaped trace (bench/gen_trace.c:
# >= 20 M operations over >= 1 M maps, mostly per-request private maps, three
# maps shared under a mutex, one racy). Goals: >= 2 M operations per second
# of CPU time (report is single-threaded: one core), peak RSS <= 256 MB,
# a JSON report <= 10 MB; and the answers: the shared and racy maps found,
# every operation counted (maps + private summaries == events).
set -e -o pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=$BUILD/bench
GMT=$BUILD/gomaptrace
OPS=${OPS:-21000000}
TRACE=$OUT/report-$OPS.gmt

die() { echo "bench-report: $*" >&2; exit 1; }

[ -x "$GMT" ] || die "$GMT is missing: run make"
[ -x "$OUT/gen_trace" ] || die "$OUT/gen_trace is missing: run make bench-report"
if [ ! -s "$TRACE" ] || [ "$OUT/gen_trace" -nt "$TRACE" ]; then
	"$OUT/gen_trace" "$TRACE.tmp" "$OPS" > "$TRACE.txt"
	mv "$TRACE.tmp" "$TRACE"
fi
read -r _ EVENTS _ PRIV _ _ _ _ < "$TRACE.txt"
echo "trace: $TRACE, $(du -m "$TRACE" | cut -f1) MB, $EVENTS operations," \
     "$PRIV private maps + 3 shared + 1 racy"

# One run: prints "cpu_s wall_s maxrss_kb".
measure() {
	/usr/bin/time -f "%U %S %e %M" -o "$OUT/time.txt" "$@" > /dev/null
	awk '{ printf "%.2f %.2f %d\n", $1 + $2, $3, $4 }' "$OUT/time.txt"
}

fail=0
for fmt in json text; do
	read -r cpu wall rss < <(measure "$GMT" report "$TRACE" -f $fmt \
				 -o "$OUT/report.$fmt")
	size=$(stat -c %s "$OUT/report.$fmt")
	rate=$(awk -v e="$EVENTS" -v c="$cpu" 'BEGIN { printf "%.0f", e / c }')
	printf "%-5s %6.2f s CPU (%6.2f s wall)  %'12d ops/s  peak RSS %4d MB" \
	       "$fmt" "$cpu" "$wall" "$rate" $((rss / 1024))
	printf "  report %'d bytes\n" "$size"
	[ "$rate" -ge 2000000 ] || { echo "  below 2 M ops/s"; fail=1; }
	[ "$rss" -le $((256 * 1024)) ] || { echo "  above 256 MB"; fail=1; }
	[ "$fmt" != json ] || [ "$size" -le $((10 * 1024 * 1024)) ] ||
		{ echo "  JSON above 10 MB"; fail=1; }
done

# The answers, from the JSON report.
python3 - "$OUT/report.json" "$EVENTS" "$PRIV" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
events, priv = int(sys.argv[2]), int(sys.argv[3])
counted = sum(m["events"] for m in r["maps"]) + r["private"]["events"]
verdicts = sorted(m["verdict"] for m in r["maps"] if not m["hidden"])
ok = (r["events"] == events and counted == events and
      r["maps_seen"] == priv + 4 and
      verdicts == ["contended", "contended", "contended", "race"])
print(f"answers: events {r['events']}, counted {counted}, maps "
      f"{r['maps_seen']}, findings {verdicts}: {'ok' if ok else 'WRONG'}")
sys.exit(0 if ok else 1)
PY
exit $fail
