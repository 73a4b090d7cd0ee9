#!/bin/bash
# Usage: tests/fuzz/run.sh SECONDS FUZZER...
# Runs each libFuzzer target (built by `make fuzz` under ASan and UBSan)
# for SECONDS, starting from seeds cut from real Go binaries built here.
# The corpus persists in BUILD/fuzz-corpus/<target>; a crash, leak, hang or
# sanitizer report is saved to BUILD/fuzz-artifacts/ and fails the run.
set -u
cd "$(dirname "$0")/../.." || exit 1

if [ $# -lt 2 ]; then
	echo "usage: $0 SECONDS FUZZER..." >&2
	exit 2
fi
secs=$1
shift
build=$(realpath -m "$(dirname "$(dirname "$1")")")
seeds=$build/fuzz-seeds
bins=$seeds/bin
mkdir -p "$bins" "$build/fuzz-artifacts"

# Go 1.19 by its path, never by PATH order (README: the toolchains).
go=${GMT_GO119:-/usr/lib/go-1.19/bin/go}

build_go() {	# name variant flags...
	local out=$bins/$1-$2
	shift 2
	[ -s "$out" ] && return 0
	(cd tests/go && CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local \
		"$go" build -o "$out.tmp" "$@" ./symtest) && mv "$out.tmp" "$out"
}

# Whole executables for fuzz_gobin: Go 1.19 stripped, PIE, and a C one.
make_seeds() {
	build_go symtest plain &&
	build_go symtest stripped -ldflags='-s -w' &&
	build_go symtest pie-stripped -buildmode=pie -ldflags='-s -w' ||
		return 1
	mkdir -p "$seeds/fuzz_gobin" "$seeds/fuzz_pclntab"
	cp "$bins/symtest-stripped" "$bins/symtest-pie-stripped" \
		"$seeds/fuzz_gobin/"
	cp /bin/true "$seeds/fuzz_gobin/c-true"
	tests/fuzz/make_seeds.py "$seeds/fuzz_pclntab" "$bins/symtest-plain" &&
	tests/fuzz/make_seeds.py --gobin "$seeds/fuzz_gobin" \
		"$bins/symtest-stripped" &&
	tests/fuzz/make_seeds.py --trace "$seeds/fuzz_trace_file"
}

if ! make_seeds; then
	echo "fuzz: could not build the seed corpus (is Go installed? make deps)" >&2
	exit 1
fi

failed=0
for fuzzer in "$@"; do
	name=$(basename "$fuzzer")
	corpus=$build/fuzz-corpus/$name
	mkdir -p "$corpus" "$seeds/$name"
	# Inputs as large as the biggest seed: a Go binary is over 1 MiB,
	# libFuzzer's default cap, and a cut one does not parse.
	maxlen=$(find "$seeds/$name" "$corpus" -type f -printf '%s\n' |
		 sort -n | tail -1)
	echo "fuzz: $name for ${secs}s"
	if ! "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
		-max_len="${maxlen:-4096}" \
		-print_final_stats=1 \
		-artifact_prefix="$build/fuzz-artifacts/$name-" \
		"$corpus" "$seeds/$name" >"$build/fuzz-$name.log" 2>&1; then
		echo "fuzz: $name FAILED; see $build/fuzz-$name.log and" \
		     "$build/fuzz-artifacts/" >&2
		grep -m5 -E 'ERROR|SUMMARY|runtime error' "$build/fuzz-$name.log" >&2
		failed=1
		continue
	fi
	grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' \
		"$build/fuzz-$name.log" | tail -2
done
if [ $failed = 0 ]; then
	echo "fuzz: no findings"
fi
exit $failed
