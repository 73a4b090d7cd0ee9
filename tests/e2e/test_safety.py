"""Safe to run as root (issue 11): output files in a directory anyone can
write to, like /tmp, with fs.protected_symlinks off or on.

A symlink planted at each name gomaptrace would create (the final name and
the name it writes first) pointing at a file that holds "precious": the
file still holds "precious" afterwards and gomaptrace exits non-zero with
one line saying it found a symbolic link there.
"""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import GMT, gmt, go_build

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
