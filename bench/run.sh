#!/bin/bash
# make bench: what gomaptrace costs a Go program per map write, against the
# least any uprobe can cost at the same place.
#
#   untraced    bench/mapbench alone
#   floor       bench/floor (one counter bump) at mapassign_fast64's probe
#   gomaptrace  the same program under `gomaptrace run`
#   crash_only  the same under `gomaptrace run --crash-only` (fatal path
#               probes only): should cost what untraced costs
#
# mapbench prints the cost of one write twice: from its thread's CPU clock
# (uprobes run in the thread's own kernel time; the clock leaves out the time
# other processes hold the CPU, and this machine is shared) and from the wall
# clock. Each measure is taken REPS times, interleaved, and the median kept.
# The figure: (gomaptrace - untraced) / (floor - untraced); goal <= 1.25.
set -e -o pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=$BUILD/bench
GMT=$BUILD/gomaptrace
WRITES=${WRITES:-2000000}
REPS=${REPS:-7}

die() { echo "bench: $*" >&2; exit 1; }

[ -x "$GMT" ] || die "$GMT is missing: run make"
[ -x "$OUT/floor" ] || die "$OUT/floor is missing: run make bench"
mkdir -p "$OUT"
BIN=$OUT/mapbench
if [ ! -x "$BIN" ] || [ bench/mapbench/main.go -nt "$BIN" ]; then
	CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS= \
		go build -o "$BIN" bench/mapbench/main.go
fi

# The probe gomaptrace itself places; the floor goes to the same offset.
read -r FUNC PROBE OFFSET METHOD < <("$GMT" info "$BIN" --json |
	/usr/bin/python3 -c '
import json, sys
for p in json.load(sys.stdin)["probes"]:
    if p["function"] == "runtime.mapassign_fast64":
        print(p["function"], p["probe"], p["file_offset"], p["method"])
')
[ -n "$OFFSET" ] || die "no probe site for runtime.mapassign_fast64 in $BIN"
INSN=$(objdump -d --no-show-raw-insn --start-address="$PROBE" \
	--stop-address=$((PROBE + 16)) "$BIN" |
	awk -F'\t' '/^ *[0-9a-f]+:/ {split($2, w, " "); print w[1]; exit}')

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Each runner prints mapbench's line: "cpu N wall N".
untraced() { "$BIN" "$WRITES"; }
floor() {
	"$OUT/floor" "$BIN" "$OFFSET" -- "$BIN" "$WRITES" 2>"$TMP/floor.err" ||
		die "floor failed: $(cat "$TMP/floor.err")"
	hits=$(sed -n 's/^floor: \([0-9]*\) hits$/\1/p' "$TMP/floor.err")
	[ "${hits:-0}" -ge "$WRITES" ] || die "floor saw ${hits:-no} hits"
}
gomaptrace() {
	"$GMT" run -f json -o "$TMP/report.json" -- "$BIN" "$WRITES" \
		2>"$TMP/gmt.err" || die "gomaptrace run failed: $(cat "$TMP/gmt.err")"
	/usr/bin/python3 - "$TMP/report.json" "$WRITES" >>"$TMP/counts" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["events"], r["lost"])
if r["events"] + r["lost"] < int(sys.argv[2]):
    sys.exit("bench: gomaptrace saw %d events and lost %d of %s writes"
             % (r["events"], r["lost"], sys.argv[2]))
PY
}

crash_only() {
	"$GMT" run --crash-only -f json -o "$TMP/crash.json" -- "$BIN" \
		"$WRITES" 2>"$TMP/crash.err" ||
		die "gomaptrace run --crash-only failed: $(cat "$TMP/crash.err")"
}

echo "gomaptrace bench: $WRITES map writes (runtime.mapassign_fast64), $REPS runs each"
echo "probe: $FUNC at $PROBE ($METHOD: $INSN), file offset $OFFSET"
for r in $(seq "$REPS"); do
	for m in untraced floor gomaptrace crash_only; do
		$m | awk -v m=$m '{print m, $2, $4}' >>"$TMP/runs"
	done
done

/usr/bin/python3 - "$TMP/runs" "$TMP/counts" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m, cpu, wall = line.split()
    runs.setdefault(m, []).append((float(cpu), float(wall)))
med = {m: [statistics.median(v[i] for v in runs[m]) for i in (0, 1)]
       for m in runs}
counts = [tuple(map(int, l.split())) for l in open(sys.argv[2])]
print("ns per write (median)      cpu       wall    each run (cpu)")
for m in ("untraced", "floor", "gomaptrace", "crash_only"):
    print("  %-12s %10.1f %10.1f    %s" % (m, med[m][0], med[m][1],
          " ".join("%.1f" % v[0] for v in runs[m])))
print("gomaptrace events per run: %s; lost: %s"
      % (" ".join(str(e) for e, _ in counts),
         " ".join(str(l) for _, l in counts)))
for i, clock in enumerate(("cpu", "wall")):
    u, f, g = med["untraced"][i], med["floor"][i], med["gomaptrace"][i]
    # The same ratio within each round (its three runs are adjacent in
    # time), then the median: steadier when the machine's speed drifts.
    rounds = [(gr[i] - ur[i]) / (fr[i] - ur[i]) for ur, fr, gr in
              zip(runs["untraced"], runs["floor"], runs["gomaptrace"])]
    print("ratio (gomaptrace - untraced) / (floor - untraced), %s clock: "
          "%.2f (of medians), %.2f (median of rounds)"
          % (clock, (g - u) / (f - u), statistics.median(rounds)))
print("goal: at most 1.25")
for i, clock in enumerate(("cpu", "wall")):
    rounds = [cr[i] / ur[i] for ur, cr in
              zip(runs["untraced"], runs["crash_only"])]
    print("crash-only / untraced, %s clock: %.3f (of medians), %.3f "
          "(median of rounds)" % (clock, med["crash_only"][i] /
                                  med["untraced"][i], statistics.median(rounds)))
print("goal: crash-only within 1 % of untraced")
PY
