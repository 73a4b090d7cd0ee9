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
