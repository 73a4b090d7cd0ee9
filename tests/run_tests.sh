#!/bin/bash
# Runs every test: the C unit tests (cmocka), then the end-to-end tests
# (pytest) that build Go programs and trace them under real uprobes.
# Closes with one line CI reads: "N passed, N failed" (", N skipped" added
# when any test, cmocka or pytest, was skipped).
cd "$(dirname "$0")/.." || exit 1

passed=0
failed=0
skipped=0
e2e_only=0
[ "$1" = "--e2e-only" ] && { e2e_only=1; shift; }

if [ $e2e_only = 0 ]; then
	for t in "${GMT_BUILD:-build}"/tests/test_*; do
		[ -x "$t" ] || continue
		out=$("$t" 2>&1)
		echo "$out"
		p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		s=$(echo "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
		if [ -z "$p" ] && [ -z "$f" ] && [ -z "$s" ]; then
			echo "unit: $t printed no cmocka summary: counted as failed"
			f=1
		fi
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${f:-0}))
		skipped=$((skipped + ${s:-0}))
	done
fi

# The fuzzers guard CI: each runs GMT_FUZZ_SECONDS (15) on its corpus and
# counts as one test; a crash, leak, hang or sanitizer report fails it.
# GMT_FUZZ_SECONDS=0 leaves them out, and says so.
fuzz_dir=${GMT_FUZZ_DIR:-build/fuzz}
fuzz_secs=${GMT_FUZZ_SECONDS:-15}
if [ $e2e_only = 1 ]; then
	:
elif [ "$fuzz_secs" = 0 ]; then
	echo "fuzz: not run (GMT_FUZZ_SECONDS=0)"
elif ! ls "$fuzz_dir"/fuzz_* >/dev/null 2>&1; then
	echo "fuzz: no fuzzers in $fuzz_dir (make fuzz-build): counted as failed"
	failed=$((failed + 1))
else
	# The first one builds the shared seed corpus; the others then run
	# side by side (each is one process for a fixed time: CI's wall
	# clock, not the fuzzing, is what running them together saves).
	fuzzers=("$fuzz_dir"/fuzz_*)
	outs=$(mktemp -d)
	pids=()
	first=0
	for i in "${!fuzzers[@]}"; do
		tests/fuzz/run.sh "$fuzz_secs" "${fuzzers[$i]}" \
			>"$outs/$i" 2>&1 &
		pids[$i]=$!
		if [ "$i" = 0 ]; then
			wait "${pids[0]}"
			first=$?
		fi
	done
	for i in "${!fuzzers[@]}"; do
		if [ "$i" = 0 ]; then
			rc=$first
		else
			wait "${pids[$i]}"
			rc=$?
		fi
		if [ "$rc" = 0 ]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
		cat "$outs/$i"
	done
	rm -rf "$outs"
fi

junit="${GMT_BUILD:-build}/e2e-junit.xml"
rm -f "$junit"
/usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$junit" tests/e2e "$@"
if [ -f "$junit" ]; then
	read -r t f e s < <(/usr/bin/python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else list(r)
g = lambda k: sum(int(x.get(k, 0)) for x in suites)
print(g("tests"), g("failures"), g("errors"), g("skipped"))
PY
)
	passed=$((passed + t - f - e - s))
	failed=$((failed + f + e))
	skipped=$((skipped + s))
else
	echo "e2e: pytest wrote no results: counted as failed"
	failed=$((failed + 1))
fi

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
