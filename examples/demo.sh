#!/bin/bash
# make demo: build the bundled example and trace it twice.
#   1. as shipped: a mutex-guarded map, a contention hot spot;
#   2. with SESSIONS_RACE=1: an unlocked map that kills the process with
#      "concurrent map writes"; gomaptrace names both writers.
set -e
cd "$(dirname "$0")/.."
out="${GMT_BUILD:-build}"/examples
mkdir -p "$out"
(cd examples/sessions && CGO_ENABLED=0 GOTOOLCHAIN=local go build -o "../../$out/sessions" .)

echo "== 1. gomaptrace run -- $out/sessions   (locked map: contention)"
"${GMT_BUILD:-build}"/gomaptrace run -- "$out/sessions"

echo
echo "== 2. SESSIONS_RACE=1 gomaptrace run -- $out/sessions   (unlocked map: crash)"
set +e
SESSIONS_RACE=1 "${GMT_BUILD:-build}"/gomaptrace run -- "$out/sessions" 2>"$out/sessions.stderr"
status=$?
set -e
echo "(the program exited with status $status; the runtime said:)"
grep -m1 '^fatal error' "$out/sessions.stderr" || true
exit 0
