"""Safe to run as root (issue 11): output files in a directory anyone can
write to, like /tmp, with fs.protected_symlinks off or on.

A symlink planted at each name gomaptrace would create (the final name and
the name it writes first) pointing at a file that holds "precious": the
file still holds "precious" afterwards and gomaptrace exits non-zero with
one line saying it found a symbolic link there.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import GMT, GO_SRC, gmt, go_build, source_line

PRECIOUS = "precious"


@pytest.fixture
def sticky_dir():
    """A scratch directory made like /tmp: mode 1777."""
    d = tempfile.mkdtemp(prefix="gmt-safety-", dir="/tmp")
    os.chmod(d, 0o1777)
    yield d
    shutil.rmtree(d)


def plant(d, name):
    """A link at d/name to d/victim, which holds "precious"; owned by
    nobody, as one planted by another user would be."""
    victim = os.path.join(d, "victim")
    with open(victim, "w") as f:
        f.write(PRECIOUS)
    link = os.path.join(d, name)
    os.symlink(victim, link)
    os.lchown(link, 65534, 65534)
    return victim, link


def assert_refused(p, victim, link):
    lines = p.stderr.strip().splitlines()
    assert p.returncode != 0, p.stderr
    assert len(lines) == 1, p.stderr
    assert lines[0] == (f"gomaptrace: found a symbolic link at {link}: "
                        "refusing to write through or replace it (remove "
                        "it or give another name)") or \
        lines[0] == (f"gomaptrace: -o: found a symbolic link at {link}: "
                     "refusing to write through or replace it (remove it "
                     "or give another name)"), lines[0]
    with open(victim) as f:
        assert f.read() == PRECIOUS
    assert os.path.islink(link) and os.readlink(link).endswith("/victim")


@pytest.fixture(scope="module")
def counts():
    return go_build("counts")


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory, counts):
    """A trace written where nobody else can write, for `report`."""
    t = tmp_path_factory.mktemp("safety") / "counts.gmt"
    p = gmt("run", "--trace", t, "-f", "json", "--", counts, timeout=120)
    assert p.returncode == 0 and t.exists()
    return t


@pytest.mark.parametrize("name", ["out.gmt", "out.gmt.partial"])
def test_record(sticky_dir, name):
    """record -o: refused before any probe goes in."""
    victim, link = plant(sticky_dir, name)
    app = subprocess.Popen([go_build("longrun"), "-iters", "200"],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout.readline().startswith("iteration 0 ")
        p = subprocess.run([GMT, "record", "-p", str(app.pid), "-d", "1",
                            "-o", os.path.join(sticky_dir, "out.gmt")],
                           capture_output=True, text=True, timeout=60)
        assert_refused(p, victim, link)
        assert app.poll() is None
    finally:
        app.kill()
        app.wait()
    assert sorted(os.listdir(sticky_dir)) == sorted(["victim", name])


@pytest.mark.parametrize("name", ["out.gmt", "out.gmt.partial"])
def test_run_trace(sticky_dir, counts, name):
    victim, link = plant(sticky_dir, name)
    p = gmt("run", "--trace", os.path.join(sticky_dir, "out.gmt"),
            "-f", "json", "--", counts, check=False, timeout=120)
    assert_refused(p, victim, link)


def test_run_output(sticky_dir, counts):
    victim, link = plant(sticky_dir, "report.txt")
    p = gmt("run", "-o", link, "--", counts, check=False, timeout=120)
    assert_refused(p, victim, link)
    assert sorted(os.listdir(sticky_dir)) == ["report.txt", "victim"]


def test_report_output(sticky_dir, trace_file):
    victim, link = plant(sticky_dir, "report.txt")
    p = gmt("report", trace_file, "-o", link, check=False)
    assert_refused(p, victim, link)
    assert sorted(os.listdir(sticky_dir)) == ["report.txt", "victim"]


def test_report_temp_unpredictable(sticky_dir, trace_file):
    """The temporary name is not OUT.tmp.PID any more: links planted at
    the next 300 PIDs' names catch nothing, the report lands, and no
    temporary is left."""
    victim = os.path.join(sticky_dir, "victim")
    with open(victim, "w") as f:
        f.write(PRECIOUS)
    out = os.path.join(sticky_dir, "report.txt")
    with open("/proc/sys/kernel/ns_last_pid") as f:
        last = int(f.read())
    for pid in range(last + 1, last + 301):
        os.symlink(victim, f"{out}.tmp.{pid}")
    p = gmt("report", trace_file, "-o", out, check=False)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    with open(victim) as f:
        assert f.read() == PRECIOUS
    assert not os.path.islink(out) and os.path.getsize(out) > 0
    left = [n for n in os.listdir(sticky_dir)
            if n.startswith("report.txt.tmp.") and
            not os.path.islink(os.path.join(sticky_dir, n))]
    assert left == []


def test_report_over_regular_and_fifo(sticky_dir, trace_file):
    """What must keep working: -o over an old regular file replaces it;
    -o a FIFO is written in place and stays a FIFO."""
    out = os.path.join(sticky_dir, "report.txt")
    with open(out, "w") as f:
        f.write("old")
    gmt("report", trace_file, "-o", out)
    with open(out) as f:
        assert "old" not in f.read()
    fifo = os.path.join(sticky_dir, "fifo")
    os.mkfifo(fifo)
    rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        gmt("report", trace_file, "-o", fifo, "-f", "json")
        assert len(os.read(rd, 1 << 20)) > 0
    finally:
        os.close(rd)
    assert sorted(os.listdir(sticky_dir)) == ["fifo", "report.txt"]


# ---- names that carry terminal escapes ---------------------------------------

EVIL = b"\x1b[2J\n"
SHOWN = r"\x1b[2J\n"            # how the text output must show it
MARKERS = {"function": b"ZQZQZ", "file": b"XQXQX", "type": b"YQYQY"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """tests/go/hostile built with Go 1.19, its function, file and map key
    type names patched: each marker (same length) becomes ESC[2J and a
    newline wherever it occurs (.gopclntab's name and file tables, the
    type name strings, .symtab)."""
    with open(go_build("hostile"), "rb") as f:
        data = f.read()
    for what, marker in MARKERS.items():
        assert data.count(marker) >= 1, f"{what} marker not in the binary"
        data = data.replace(marker, EVIL)
    exe = tmp_path_factory.mktemp("hostile") / "hostile"
    exe.write_bytes(data)
    exe.chmod(0o755)
    return str(exe)


def no_raw_controls(text):
    bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or
           0x7f <= ord(c) < 0xa0]
    assert bad == [], f"raw control characters in the output: {bad!r}"


def test_escaped_names_text(hostile):
    line = source_line("hostile", "// WRITE", "evilfileXQXQX.go")
    p = gmt("run", "--", hostile, check=False, timeout=120)
    assert p.returncode == 2, p.stderr      # the runtime's fatal error
    no_raw_controls(p.stdout)
    fn = f"main.evilFn{SHOWN}"
    file = f"evilfile{SHOWN}.go"
    typ = f"map[main.evilTy{SHOWN}]int"
    # The site line and the map header, each whole on its own line.
    site = re.compile(r"^ +[0-9,]+ assign +" +
                      re.escape(f"{fn} (hostile/{file}:{line})") + "$")
    header = re.compile(r"^1\. " + re.escape(typ) + r" at 0x[0-9a-f]+$")
    lines = p.stdout.splitlines()
    assert any(site.match(ln) for ln in lines), p.stdout
    assert any(header.match(ln) for ln in lines), p.stdout
    assert f"  on {typ} at 0x" in p.stdout
    # The crash section's frames: function, then the full path.
    assert f"      {fn}  " in p.stdout and f"/tests/go/hostile/{file}:{line}" \
        in p.stdout
    # No line starts with what followed a newline in a name.
    assert not any(ln.startswith(("]int", " (hostile", ".go:"))
                   for ln in p.stdout.splitlines())


def test_escaped_names_folded(hostile):
    p = gmt("run", "-f", "folded", "--", hostile, check=False, timeout=120)
    assert p.returncode == 2, p.stderr
    no_raw_controls(p.stdout)
    lines = p.stdout.splitlines()
    assert lines, p.stdout
    for ln in lines:
        stack, count = ln.rsplit(" ", 1)
        assert " " not in stack and count.isdigit(), ln
    assert any(ln.split(" ")[0].endswith(f";main.evilFn{SHOWN}")
               for ln in lines), p.stdout


def test_escaped_names_json(hostile):
    p = gmt("run", "-f", "json", "--", hostile, check=False, timeout=120)
    assert p.returncode == 2, p.stderr
    p.stdout.encode("utf-8")              # valid UTF-8 all through
    r = json.loads(p.stdout)
    evil = EVIL.decode()
    (m,) = [m for m in r["maps"] if m["type"] == f"map[main.evilTy{evil}]int"]
    fr = m["sites"][0]["frames"][0]
    assert fr["function"] == f"main.evilFn{evil}"
    assert fr["file"].endswith(f"/tests/go/hostile/evilfile{evil}.go")
    assert fr["line"] == source_line("hostile", "// WRITE",
                                     "evilfileXQXQX.go")


def test_escaped_names_symbolize(hostile):
    r = json.loads(gmt("run", "-f", "json", "--", hostile, check=False,
                       timeout=120).stdout)
    pc = r["maps"][0]["sites"][0]["pc"]
    p = gmt("symbolize", hostile, pc)
    no_raw_controls(p.stdout)
    line = source_line("hostile", "// WRITE", "evilfileXQXQX.go")
    assert p.stdout.splitlines() == [
        f"{pc} main.evilFn{SHOWN} {GO_SRC}/hostile/evilfile{SHOWN}.go:{line}"]


def test_escaped_names_info(hostile):
    p = gmt("info", hostile, "--map-types")
    no_raw_controls(p.stdout)
    assert f"  map[main.evilTy{SHOWN}]int" in p.stdout.splitlines()
