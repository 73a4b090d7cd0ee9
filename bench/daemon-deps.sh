#!/bin/sh
# What the daemon benchmarks need beyond `make deps`: Debian's caddy (the
# real Go server they measure) and wrk (the load). apt-get runs only when one
# is missing. Debian's caddy package enables a caddy.service; the benchmarks
# never use it (they run their own copy on a loopback port).
set -e
missing=""
for p in caddy wrk curl; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "bench-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
