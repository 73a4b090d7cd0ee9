#!/bin/bash
# make demo: build the bundled example and trace it twice.
#   1. with SESSIONS_RACE=1 under --crash-only: an unlocked map that kills
#      the process with "concurrent map writes". Only the fatal path is
#      probed, so nothing is paid while it runs; at the crash the process
#      is frozen for about a millisecond and both writers are named.
#   2. as shipped, with every map operation traced: a mutex-guarded map,
#      a contention hot spot.
set -e
cd "$(dirname "$0")/.."
out="${GMT_BUILD:-build}"/examples
mkdir -p "$out"
# The machine's default Go (1.26, Swiss maps), by its path: PATH's `go` may
# be Debian's 1.19 (/usr/bin/go), which the tests use for bucket maps.
GO=/usr/local/go/bin/go
[ -x "$GO" ] || { echo "demo: Go is missing at $GO (the machine's default Go)" >&2; exit 1; }
"$GO" version
# -o by absolute path: GMT_BUILD may be absolute or relative.
bin="$(cd "$out" && pwd)"/sessions
(cd examples/sessions && CGO_ENABLED=0 GOTOOLCHAIN=local "$GO" build -o "$bin" .)

echo "== 1. SESSIONS_RACE=1 gomaptrace run --crash-only -- $out/sessions   (unlocked map: crash)"
set +e
SESSIONS_RACE=1 "${GMT_BUILD:-build}"/gomaptrace run --crash-only -- "$out/sessions" 2>"$out/sessions.stderr"
status=$?
set -e
echo "(the program exited with status $status, as it would untraced; the runtime said:)"
grep -m1 '^fatal error' "$out/sessions.stderr" || true

echo
echo "== 2. gomaptrace run -- $out/sessions   (locked map: contention)"
"${GMT_BUILD:-build}"/gomaptrace run -- "$out/sessions"
exit 0
