"""Shared fixtures for the end-to-end tests.

Every test here runs the real build/gomaptrace against real Go programs
built from tests/go/<name>/ with Debian's Go toolchain, under real uprobes.
"""
import json
import os
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("GMT_BUILD", "build"))
GMT = os.path.join(BUILD, "gomaptrace")
GO_SRC = os.path.join(ROOT, "tests", "go")
GO_OUT = os.path.join(BUILD, "gotargets")
ESBUILD = os.path.join(ROOT, "build", "npm", "node_modules", "@esbuild",
                       "linux-x64", "bin", "esbuild")

# variant -> extra `go build` flags
VARIANTS = {
    "plain": [],
    "stripped": ["-ldflags=-s -w"],
    "pie": ["-buildmode=pie"],
    "pie-stripped": ["-buildmode=pie", "-ldflags=-s -w"],
}


def go_build(name, variant="plain", gcflags=None):
    """Build tests/go/<name> once per variant; return the binary's path."""
    os.makedirs(GO_OUT, exist_ok=True)
    out = os.path.join(GO_OUT, f"{name}-{variant}")
    srcdir = os.path.join(GO_SRC, name)
    newest = max(os.path.getmtime(os.path.join(srcdir, f))
                 for f in os.listdir(srcdir))
    if os.path.exists(out) and os.path.getmtime(out) >= newest:
        return out
    cmd = ["go", "build", "-o", out + ".tmp"] + VARIANTS[variant]
    if gcflags:
        cmd.append("-gcflags=" + gcflags)
    cmd.append("./" + name)
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod",
               GOTOOLCHAIN="local")
    subprocess.run(cmd, cwd=GO_SRC, env=env, check=True)
    os.replace(out + ".tmp", out)
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
    go = shutil.which("go")
    if not go:
        pytest.fail("go is missing: run `make deps`")
    return go
