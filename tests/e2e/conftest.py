"""Shared fixtures for the end-to-end tests.

Every test here runs the real build/gomaptrace against real Go programs
built from tests/go/<name>/ with each of the three Go toolchains (Debian's
1.19 for bucket maps, 1.26 and 1.27.3 for Swiss maps), under real uprobes.
"""
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("GMT_BUILD", "build"))
GMT = os.path.join(BUILD, "gomaptrace")
GO_SRC = os.path.join(ROOT, "tests", "go")
GO_OUT = os.path.join(BUILD, "gotargets")
ESBUILD = os.path.join(ROOT, "build", "npm", "node_modules", "@esbuild",
                       "linux-x64", "bin", "esbuild")

# The three Go toolchains the tests use, each by its explicit path (never
# by PATH order: Debian's golang package puts a `go` in /usr/bin too).
# id -> (go binary, GOTOOLCHAIN, the version `go version` must print)
GO_TOOLCHAINS = {
    "go1.19": ("/usr/lib/go-1.19/bin/go", "local", "go1.19."),
    "go1.26": ("/usr/local/go/bin/go", "local", "go1.26."),
    "go1.27": ("/usr/local/go/bin/go", "go1.27.3", "go1.27.3"),
}
GO_VERSIONS = list(GO_TOOLCHAINS)
SWISS_VERSIONS = ["go1.26", "go1.27"]

# variant -> (extra `go build` flags, CGO_ENABLED)
VARIANTS = {
    "plain": ([], "0"),
    "stripped": (["-ldflags=-s -w"], "0"),
    "pie": (["-buildmode=pie"], "0"),
    "pie-stripped": (["-buildmode=pie", "-ldflags=-s -w"], "0"),
    "race": (["-race"], "1"),
    # cgo with the external linker: .text starts before the Go code.
    "cgo-ext": (["-ldflags=-linkmode=external"], "1"),
    "cgo-ext-stripped": (["-ldflags=-linkmode=external -s -w"], "1"),
}

_toolchain_version = {}


def go_env(go):
    """(argv0, env) to run toolchain `go`; fails the test with one line
    when that toolchain cannot be had (`make deps` installs all three)."""
    if go not in GO_TOOLCHAINS:
        raise AssertionError(f"unknown Go toolchain {go!r}")
    path, toolchain, want = GO_TOOLCHAINS[go]
    env = dict(os.environ, GOTOOLCHAIN=toolchain, GOFLAGS="-mod=mod")
    if go not in _toolchain_version:
        if not os.access(path, os.X_OK):
            pytest.fail(f"Go toolchain {go} is missing ({path}): "
                        "run `make deps`", pytrace=False)
        p = subprocess.run([path, "version"], env=env, capture_output=True,
                           text=True)
        ver = p.stdout.strip()
        if p.returncode != 0 or want not in ver:
            pytest.fail(f"Go toolchain {go} cannot be had ({path}, "
                        f"GOTOOLCHAIN={toolchain}): {ver or p.stderr.strip()}"
                        " -- run `make deps`", pytrace=False)
        _toolchain_version[go] = ver
    return path, env


def go_version_string(go):
    go_env(go)
    return _toolchain_version[go]


def go_release(go):
    """The toolchain's own release, e.g. "go1.26.8" (from `go version`)."""
    return re.search(r"\b(go1\.[0-9.]+)\b", go_version_string(go)).group(1)


def go_run(go, *args, **kw):
    """Run `go ARGS` with toolchain `go` (never PATH's go); check=True."""
    path, env = go_env(go)
    env = dict(env, **kw.pop("env", {}))
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("check", True)
    return subprocess.run([path, *map(str, args)], env=env, **kw)


_goroot = {}


def go_map_impl(go):
    """"swiss" or "buckets": what the toolchain's own runtime source says
    (Swiss tables live in internal/runtime/maps), not a version table."""
    if go not in _goroot:
        _goroot[go] = go_run(go, "env", "GOROOT").stdout.strip()
    maps = os.path.join(_goroot[go], "src", "internal", "runtime", "maps",
                        "map.go")
    return "swiss" if os.path.exists(maps) else "buckets"


def _source_digest(name):
    """The sources of tests/go/<name> and the module file, by content."""
    h = hashlib.sha256()
    srcdir = os.path.join(GO_SRC, name)
    for f in sorted(os.listdir(srcdir)) + ["../go.mod"]:
        path = os.path.join(srcdir, f)
        if os.path.isfile(path):
            h.update(f.encode() + b"\0")
            with open(path, "rb") as fh:
                h.update(fh.read())
    return h


def go_build(name, variant="plain", gcflags=None, go="go1.19", ldflags=None,
             goarch=None):
    """Build tests/go/<name> with toolchain `go`; return the binary's path.

    The cache key is the toolchain's own version string, every flag, the
    source content and where it is: no test reuses a binary built another
    way or elsewhere."""
    path, env = go_env(go)
    flags, cgo = VARIANTS[variant]
    flags = list(flags)
    if ldflags is not None:
        flags = [f for f in flags if not f.startswith("-ldflags=")]
        flags.append("-ldflags=" + ldflags)
    if gcflags:
        flags.append("-gcflags=" + gcflags)
    h = _source_digest(name)
    # The source directory too: the binary carries its file paths, which
    # the tests compare (a copy from another checkout has that one's).
    h.update(repr((_toolchain_version[go], flags, cgo, goarch,
                   GO_SRC)).encode())
    os.makedirs(GO_OUT, exist_ok=True)
    arch = f"-{goarch}" if goarch else ""
    out = os.path.join(GO_OUT,
                       f"{name}-{go}-{variant}{arch}-{h.hexdigest()[:12]}")
    if os.path.exists(out):
        return out
    tmp = f"{out}.tmp{os.getpid()}"
    cmd = [path, "build", "-o", tmp] + flags + ["./" + name]
    env["CGO_ENABLED"] = cgo
    if goarch:
        env["GOARCH"] = goarch
    p = subprocess.run(cmd, cwd=GO_SRC, env=env, capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise AssertionError(f"{go} build of {name} ({variant}) failed:\n"
                             f"{p.stderr}")
    os.replace(tmp, out)
    return out


def go_source(name, filename="main.go"):
    return os.path.join(GO_SRC, name, filename)


def source_line(name, marker, filename="main.go"):
    """Line number of the source line holding `marker` (a comment tag)."""
    with open(go_source(name, filename)) as f:
        for i, line in enumerate(f, 1):
            if marker in line:
                return i
    raise AssertionError(f"marker {marker!r} not in {name}/{filename}")


# Independent target runs overlap this many at a time: a run mostly waits
# (each uprobe's removal waits for the kernel to be done with it), so two
# runs take little more wall time than one, even on two cores.
PARALLEL = 2


def each_parallel(fn, items, workers=PARALLEL):
    """[fn(x) for x in items], `workers` at a time, in order; the first
    failing call's exception is raised here, as from the loop."""
    with ThreadPoolExecutor(workers) as ex:
        return list(ex.map(fn, items))


def selected_cells(request, test, names):
    """The parameters (a tuple, by names) of each selected cell of `test`
    in the requesting module, in collection order."""
    return [tuple(item.callspec.params[n] for n in names)
            for item in request.session.items
            if item.module is request.module and
            getattr(item, "originalname", None) == test]


@pytest.fixture(scope="module")
def run_ahead(request):
    """run_ahead(test, names, fn) -> {cell: Future of fn(cell)}: for a test
    whose every cell makes its own independent target run, the runs of all
    its selected cells start at once, PARALLEL at a time; each cell then
    asserts on its own result (.result() raises what its run raised)."""
    pools = []

    def start(test, names, fn):
        ex = ThreadPoolExecutor(PARALLEL)
        pools.append(ex)
        return {c: ex.submit(fn, c)
                for c in selected_cells(request, test, names)}
    yield start
    for ex in pools:
        ex.shutdown(cancel_futures=True)


def gmt(*args, check=True, timeout=300, **kw):
    """Run build/gomaptrace; return the CompletedProcess (text mode)."""
    p = subprocess.run([GMT, *map(str, args)], capture_output=True,
                       text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(
            f"gomaptrace {' '.join(map(str, args))} exited {p.returncode}:"
            f"\n{p.stderr}")
    return p


def gmt_json(*args, **kw):
    return json.loads(gmt(*args, **kw).stdout)


# ---- a target seen from outside (reading only) ------------------------------

def code_bytes(pid, sites):
    """The byte at each site's run-time address (site[0]) in pid's memory:
    0xcc where a probe sits."""
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        out = []
        for site in sites:
            mem.seek(site[0])
            out.append(mem.read(1)[0])
        return out


def file_bytes(exe, sites):
    """The byte at each site's file offset (site[1]) in exe."""
    with open(exe, "rb") as f:
        data = f.read()
    return [data[site[1]] for site in sites]


def windows(path):
    """(start_ns, end_ns, ns_per_op) per window a target timed (-timing)."""
    rows = []
    with open(path) as f:
        for line in f:
            a, b, c = line.split()
            rows.append((int(a), int(b), float(c)))
    return rows


@pytest.fixture(scope="session")
def esbuild():
    if not os.access(ESBUILD, os.X_OK):
        pytest.fail("esbuild from npm is missing: run `make deps`")
    return ESBUILD


@pytest.fixture(scope="session")
def go_tool():
    return go_env("go1.19")[0]


def elf_sections(binary):
    """{name: address} of an ELF's sections, read here from the section
    headers rather than trusted to the tool under test."""
    with open(binary, "rb") as f:
        data = f.read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    hdr = lambda i: struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
    stroff = hdr(shstrndx)[4]
    out = {}
    for i in range(shnum):
        name, _, _, addr, _, _ = hdr(i)
        start = stroff + name
        out[data[start:data.index(b"\0", start)].decode()] = addr
    return out
