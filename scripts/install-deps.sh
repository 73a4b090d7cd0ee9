#!/bin/sh
# Installs what the build and the tests need. Quick when all is present:
# apt-get runs only if a package is missing.
set -e

# make static links libbpf.a, libelf.a and libz.a from the -dev packages
# below and libc.a (libc6-dev); pkg-config names what they need. For
# tests/e2e/test_deploy.py: systemd (systemd-analyze verify), man-db (the
# unit's man page check), python3-yaml (the DaemonSet), strace (the unit's
# system-call filter), file (the static binary).
PKGS="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev \
golang-1.19-go libcmocka-dev python3 python3-pytest libclang-rt-14-dev binutils \
libc6-dev pkg-config systemd man-db python3-yaml strace file"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
# npm may come with a nodejs that is not Debian's; only ask for it if absent.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The three Go toolchains the tests build with, each by its explicit path:
# Debian's 1.19 (bucket maps, installed above), the machine's 1.26 and
# 1.27.3 through GOTOOLCHAIN (Swiss maps; fetched once per machine).
GO=/usr/local/go/bin/go
for t in /usr/lib/go-1.19/bin/go $GO; do
	[ -x "$t" ] || { echo "install-deps: Go toolchain $t is missing" \
		"(this machine kind ships Go 1.26 at /usr/local/go)" >&2; exit 1; }
done
v=$(GOTOOLCHAIN=go1.27.3 $GO version 2>&1) || true
case "$v" in
*go1.27.3*) ;;
*) echo "install-deps: cannot fetch Go 1.27.3 through GOTOOLCHAIN: $v" >&2
   exit 1 ;;
esac

# esbuild (Go 1.26, stripped, no buildinfo): a real Go binary nobody here
# wrote, for the Swiss-map tests. npm ships it as a plain ELF.
ESB_DIR=build/npm
ESB_VER=0.28.2
if [ ! -x "$ESB_DIR/node_modules/@esbuild/linux-x64/bin/esbuild" ]; then
	mkdir -p "$ESB_DIR"
	npm install --silent --no-audit --no-fund --prefix "$ESB_DIR" \
		"@esbuild/linux-x64@$ESB_VER" >/dev/null 2>&1 ||
		npm install --no-audit --no-fund --prefix "$ESB_DIR" \
			"@esbuild/linux-x64@$ESB_VER"
fi
