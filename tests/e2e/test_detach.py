"""Never hurt the traced process: however gomaptrace stops (Ctrl-C,
SIGTERM, SIGKILL, the process exiting, bad input), the process carries on
with exactly its untraced output, its code exactly as in its file, no
uprobe left on its binary, and its untraced speed. And bad input gets one
clear line, a non-zero exit, and never a half-written file.

The target, tests/go/longrun, runs a bounded few seconds: worker
goroutines writing their own maps, a deterministic stdout, and the speed
of each window of writes (ns/op) written to a side file.

These run on one toolchain (Debian's Go 1.19, go_build's default) on
purpose: they test how the tool attaches and detaches (ptrace, uprobes,
signals, bad input), which does not depend on the Go version, and they are
the slowest tests (they time the target). The probes themselves on every
toolchain: test_probes.py, test_record.py, test_run.py.
"""
import json
import os
import shutil
import signal
import stat
import statistics
import subprocess
import tempfile
import time

import pytest

from conftest import GMT, code_bytes, file_bytes, gmt, \
    gmt_json, go_build, source_line, windows

NAME = "longrun"
WORKERS = 3            # longrun's defaults
PER_WINDOW = 30000
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
          "--inh-caps=-all"]


# ---- looking at the target from outside (reading only) ----------------------

# The kinds of probe `record` attaches by default (not iter_next).
RECORDED = {"assign", "delete", "clear", "iterate", "fatal"}


def probe_sites(pid):
    """(run-time address, file offset, op) of every probe site `info`
    finds in this process: link-time addresses plus a PIE's load bias."""
    info = gmt_json("info", "-p", pid, "--json")
    bias = int(info["load_bias"], 16)
    return [(bias + int(p["probe"], 16), int(p["file_offset"], 16), p["op"])
            for p in info["probes"]]


def probed_bytes(exe, sites):
    """The bytes while every default probe is in: int3 at those."""
    return [0xcc if op in RECORDED else b
            for (_, _, op), b in zip(sites, file_bytes(exe, sites))]


def text_differs(pid, exe):
    """Bytes of the executable mappings of exe in pid that differ from the
    file: 0 when its code is exactly what the file holds."""
    with open(exe, "rb") as f:
        data = f.read()
    diff = nmapped = 0
    with open(f"/proc/{pid}/maps") as maps, \
            open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            f = line.split(maxsplit=5)
            if len(f) < 6 or f[5].strip() != exe or "x" not in f[1]:
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            off = int(f[2], 16)
            want = data[off:off + hi - lo]
            mem.seek(lo)
            got = mem.read(len(want))
            nmapped += len(want)
            diff += sum(a != b for a, b in zip(got, want))
    assert nmapped > 0, f"no executable mapping of {exe} in {pid}"
    return diff


def uprobes_on(exe):
    """Uprobe perf events any process holds on exe (`bpftool perf list`)."""
    p = subprocess.run(["bpftool", "-j", "perf", "list"], capture_output=True,
                       text=True, check=True, timeout=60)
    return [e for e in json.loads(p.stdout or "[]")
            if e.get("fd_type") in ("uprobe", "uretprobe")
            and e.get("filename", "").endswith(exe)]


def wait_until(cond, what, limit=60.0):
    """Poll cond() (a generous bound: only a hang trips it)."""
    end = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < end, f"gave up waiting for {what}"
        time.sleep(0.02)


def lines(text):
    return text.strip().splitlines()


def report_json(path):
    p = gmt("report", path, "--format", "json")
    return json.loads(p.stdout), p.stderr


def summary(rep):
    """What a report holds, in short, for a failing assertion."""
    return dict(events=rep["events"], lost=rep["lost"], maps=[
        (m["type"], m["ops"], [(s["op"], s["count"], s["frames"][:1])
                               for s in m["sites"][:3]])
        for m in rep["maps"][:8]])


def write_maps(rep):
    """The maps written at longrun's WRITE line."""
    line = source_line(NAME, "// WRITE")
    return [m for m in rep["maps"]
            if any(s["frames"] and s["frames"][0]["line"] == line and
                   s["frames"][0]["file"].endswith(f"/{NAME}/main.go")
                   for s in m["sites"])]


# ---- the target -------------------------------------------------------------

@pytest.fixture(scope="module")
def reference():
    """What an untraced run prints (the pauses do not change it)."""
    exe = go_build(NAME)
    p = subprocess.run([exe, "-interval", "0", "-timing", os.devnull],
                       capture_output=True, text=True, check=True,
                       timeout=120)
    assert lines(p.stdout)[-1] == "done 2880000 writes"
    return p.stdout


def expected(reference, iters):
    """The untraced output of a run of `-iters iters`."""
    return "".join(reference.splitlines(True)[:iters]) + \
        f"done {iters * 2 * WORKERS * PER_WINDOW} writes\n"


class Target:
    """A copy of longrun (a file name only this test uses), running."""

    def __init__(self, tmp, variant="plain", args=()):
        self.exe = str(tmp / "app")
        shutil.copy(go_build(NAME, variant), self.exe)
        self.timing = tmp / "timing.txt"
        self.proc = subprocess.Popen(
            [self.exe, "-timing", str(self.timing), *args],
            stdout=subprocess.PIPE, text=True)
        self.pid = self.proc.pid

    def windows_after(self, t_ns):
        if not self.timing.exists():
            return 0
        return sum(1 for a, _, _ in windows(self.timing) if a > t_ns)

    def finish(self):
        out, _ = self.proc.communicate(timeout=120)
        return out, self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def wait_for_probes(pid, exe, sites, proc):
    """Until every default probe is in (or proc ended): the bytes seen.
    The first int3 shows well before the last: attaching takes a while."""
    want = probed_bytes(exe, sites)
    seen = code_bytes(pid, sites)
    end = time.monotonic() + 60
    while seen != want and proc.poll() is None:
        assert time.monotonic() < end, "the probes did not all go in"
        time.sleep(0.02)
        seen = code_bytes(pid, sites)
    return seen


# ---- record, stopped by a signal --------------------------------------------

STOPS = {
    # signal: (how gomaptrace ends, what it says)
    "SIGINT": (0, "interrupted"),
    "SIGTERM": (0, "stopped"),
    "SIGKILL": (-signal.SIGKILL, None),
}


@pytest.fixture(scope="module", params=sorted(STOPS))
def stopped(request, tmp_path_factory, reference):
    """`record -p` a second into the run, stopped by the signal after two
    windows of writes were traced; the target then runs to its end."""
    sig = request.param
    # SIGTERM on a PIE build: probe addresses carry a load bias.
    tmp = tmp_path_factory.mktemp(f"stop-{sig}")
    app = Target(tmp, "pie" if sig == "SIGTERM" else "plain")
    trace = tmp / "app.gmt"
    r = dict(sig=sig, app=app, trace=trace, reference=reference)
    try:
        wait_until(lambda: app.windows_after(0) >= 6, "windows before attach")
        sites = probe_sites(app.pid)
        r["before"] = code_bytes(app.pid, sites)
        r["rec_start"] = time.time_ns()
        rec = subprocess.Popen([GMT, "record", "-p", str(app.pid), "-o",
                                str(trace)], stderr=subprocess.PIPE, text=True)
        r["during"] = wait_for_probes(app.pid, app.exe, sites, rec)
        attached = time.time_ns()
        # The first int3 shows before its perf event reaches bpftool.
        wait_until(lambda: uprobes_on(app.exe) or rec.poll() is not None,
                   "bpftool to list the uprobes")
        r["uprobes_during"] = uprobes_on(app.exe)
        wait_until(lambda: app.windows_after(attached) >= 2 or
                   rec.poll() is not None, "windows while traced")
        r["text_during"] = text_differs(app.pid, app.exe)
        if sig == "SIGKILL":
            # Killed once events reached the file, which can be read
            # while it grows.
            wait_until(lambda: partial_events(trace) or
                       rec.poll() is not None, "events in FILE.partial")
            r["events_written"] = partial_events(trace)
        rec.send_signal(getattr(signal, sig))
        _, r["rec_err"] = rec.communicate(timeout=120)
        r["rec_end"] = time.time_ns()
        r["rec_rc"] = rec.returncode
        # Read while the target still runs: it has windows left to do.
        r["alive_after"] = app.proc.poll() is None
        r["after"] = code_bytes(app.pid, sites)
        r["text_after"] = text_differs(app.pid, app.exe)
        r["uprobes_after"] = uprobes_on(app.exe)
        r["sites"] = sites
        r["out"], r["rc"] = app.finish()
    finally:
        app.kill()
    return r


def partial_events(trace):
    """Events a report of the growing FILE.partial finds (0: none yet)."""
    p = gmt("report", f"{trace}.partial", "--format", "json", check=False)
    return json.loads(p.stdout)["events"] if p.returncode == 0 else 0


def test_target_unharmed(stopped):
    """Same output as an untraced run, exit 0."""
    assert stopped["rc"] == 0
    assert stopped["out"] == stopped["reference"]


def test_code_restored(stopped):
    """int3 while recording; after gomaptrace is gone, the whole text is
    the file's bytes again and no uprobe is left on the binary."""
    s = stopped
    on_disk = file_bytes(s["app"].exe, s["sites"])
    assert s["before"] == on_disk
    # The check can see the probes: int3 at each that record attaches.
    assert s["during"] == probed_bytes(s["app"].exe, s["sites"])
    assert s["text_during"] > 0
    assert s["uprobes_during"]                 # and bpftool can see them
    assert s["alive_after"], "the target ended before it could be checked"
    assert s["after"] == on_disk
    assert s["text_after"] == 0
    assert s["uprobes_after"] == []


def test_speed_back(stopped):
    """Windows after the detach as fast as before the attach (same run)."""
    s = stopped
    rows = windows(s["app"].timing)
    pre = [ns for a, b, ns in rows if b < s["rec_start"]]
    post = [ns for a, b, ns in rows if a > s["rec_end"]]
    assert len(pre) >= 6 and len(post) >= 6, (len(pre), len(post))
    ratio = statistics.median(post) / statistics.median(pre)
    print(f"\n{s['sig']}: ns/op before {statistics.median(pre):.1f}, "
          f"after {statistics.median(post):.1f}, ratio {ratio:.2f}")
    assert ratio <= 2.5


def test_trace_file(stopped):
    """SIGINT/SIGTERM: a complete file under the name asked for. SIGKILL:
    only FILE.partial, reported up to its last chunk with one warning."""
    s = stopped
    rc, says = STOPS[s["sig"]]
    assert s["rec_rc"] == rc, s["rec_err"]
    partial = str(s["trace"]) + ".partial"
    if says:
        said = lines(s["rec_err"])
        assert len(said) == 1, said
        assert said[0].startswith(f"gomaptrace: {says}: wrote {s['trace']}:")
        assert s["trace"].exists() and not os.path.exists(partial)
        rep, warn = report_json(s["trace"])
        assert warn == ""
        assert rep["complete"] is True
    else:
        assert s["rec_err"] == ""
        assert not s["trace"].exists()         # never a half-written FILE
        assert os.path.exists(partial)
        rep, warn = report_json(partial)
        assert len(lines(warn)) == 1 and "warning" in warn, warn
        assert rep["complete"] is False
        assert rep["events"] >= s["events_written"] > 0
    assert rep["command"] == "record"
    assert rep["target"]["pid"] == s["app"].pid
    maps = write_maps(rep)
    assert maps and len(maps) <= WORKERS, (s["rec_err"], summary(rep))
    for m in maps:
        assert m["type"] == "map[int]int"
        assert m["goroutines"] == 1            # each worker its own map
        assert m["ops"]["delete"] == m["ops"]["clear"] == 0
    if says:
        # Two whole windows ran with the probes in, every worker's map.
        assert len(maps) == WORKERS
        assigns = sum(m["ops"]["assign"] for m in maps)
        assert assigns + rep["lost"] >= 2 * WORKERS * PER_WINDOW


# ---- record, the target exits first -----------------------------------------

def test_record_notices_the_target_exit(tmp_path, reference):
    """`record -d 30` on a process with ~3 s to live: it stops when the
    process exits (the subprocess bound below would trip at a hang), with
    a complete file, exit 0."""
    app = Target(tmp_path, args=("-iters", "8"))
    trace = tmp_path / "exit.gmt"
    rec = None
    try:
        wait_until(lambda: app.windows_after(0) >= 1, "the first window")
        sites = probe_sites(app.pid)
        rec = subprocess.Popen([GMT, "record", "-p", str(app.pid), "-d",
                                "30", "-o", str(trace)],
                               stderr=subprocess.PIPE, text=True)
        during = wait_for_probes(app.pid, app.exe, sites, rec)
        out, rc = app.finish()
        _, err = rec.communicate(timeout=20)
    finally:
        app.kill()
        if rec and rec.poll() is None:
            rec.kill()
            rec.wait()
    assert during == probed_bytes(app.exe, sites)
    assert rc == 0 and out == expected(reference, 8)
    assert rec.returncode == 0, err
    assert len(lines(err)) == 1
    assert lines(err)[0].startswith("gomaptrace: the process exited: wrote")
    assert trace.exists() and not os.path.exists(str(trace) + ".partial")
    rep, warn = report_json(trace)
    assert warn == "" and rep["complete"] is True
    assert rep["duration_ns"] < 30e9
    assert len(write_maps(rep)) == WORKERS
    assert uprobes_on(app.exe) == []


# ---- run --------------------------------------------------------------------

def child_of(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        kids = f.read().split()
    assert len(kids) == 1, kids
    return int(kids[0])


def first_line(reference):
    return reference.splitlines(True)[0]


def start_run(tmp_path, reference):
    exe = str(tmp_path / "app")
    shutil.copy(go_build(NAME), exe)
    out = tmp_path / "report.json"
    p = subprocess.Popen([GMT, "run", "-f", "json", "-o", str(out), "--",
                          exe, "-timing", os.devnull],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    # Its first line: the program runs, probes in, writes traced.
    first = p.stdout.readline()
    assert first == first_line(reference), first
    return p, exe, out


@pytest.mark.parametrize("victim", ["gomaptrace", "program"])
def test_run_stopped(tmp_path, reference, victim):
    """SIGTERM to gomaptrace reaches the program (which dies of it);
    SIGKILL to the program. Either way: a report, and the program's
    status (128 + signal) as ours."""
    sig = signal.SIGTERM if victim == "gomaptrace" else signal.SIGKILL
    p, exe, out = start_run(tmp_path, reference)
    try:
        child = child_of(p.pid)
        os.kill(p.pid if victim == "gomaptrace" else child, sig)
        rest, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 128 + sig, err
    assert err == ""
    # What it printed before it died is the untraced run's beginning.
    printed = first_line(reference) + rest
    assert reference.startswith(printed)
    rep = json.loads(out.read_text())
    assert rep["target"]["exit_status"] == 128 + sig
    assert rep["target"]["pid"] == child
    assert rep["complete"] is True
    maps = write_maps(rep)
    assert len(maps) == WORKERS
    # The first iteration's two windows ran under the probes.
    assert sum(m["ops"]["assign"] for m in maps) + rep["lost"] >= \
        2 * WORKERS * PER_WINDOW
    assert not os.path.exists(f"/proc/{child}")
    assert uprobes_on(exe) == []


def test_run_killed_the_program_carries_on(tmp_path, reference):
    """gomaptrace run SIGKILLed: the program goes on untraced to its end,
    its code the file's again."""
    p, exe, out = start_run(tmp_path, reference)
    try:
        child = child_of(p.pid)
        p.kill()
        p.wait(timeout=60)
        alive = os.path.exists(f"/proc/{child}/exe")
        text_after = text_differs(child, exe) if alive else None
        uprobes_after = uprobes_on(exe)
        # The program holds the pipe: EOF when it ends.
        rest = p.stdout.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    assert alive, "the program died with gomaptrace"
    assert text_after == 0
    assert uprobes_after == []
    assert first_line(reference) + rest == reference
    assert not out.exists()


# ---- bad input --------------------------------------------------------------

def one_line(p):
    assert p.returncode == 1, p.stderr
    got = lines(p.stderr)
    assert len(got) == 1 and got[0].startswith("gomaptrace: "), p.stderr
    return got[0]


@pytest.fixture
def nobody_dir():
    """A directory user nobody can read and write (pytest's are 0700)."""
    d = tempfile.mkdtemp(prefix="gmt-detach-", dir="/tmp")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d)


def test_no_bpf_permission(nobody_dir, reference):
    """As nobody, on nobody's own process: one line naming the
    capabilities, no file, the target untouched."""
    exe = os.path.join(nobody_dir, "app")
    shutil.copy(go_build(NAME), exe)
    os.chmod(exe, 0o755)
    outdir = os.path.join(nobody_dir, "out")
    os.mkdir(outdir, 0o777)
    os.chmod(outdir, 0o777)
    app = subprocess.Popen([*NOBODY, exe, "-iters", "6", "-timing",
                            os.path.join(nobody_dir, "timing.txt")],
                           stdout=subprocess.PIPE, text=True)
    try:
        first = app.stdout.readline()
        sites = probe_sites(app.pid)
        before = code_bytes(app.pid, sites)
        p = subprocess.run([*NOBODY, GMT, "record", "-p", str(app.pid),
                            "-d", "1", "-o", os.path.join(outdir, "x.gmt")],
                           capture_output=True, text=True, timeout=60)
        running = app.poll() is None
        after = code_bytes(app.pid, sites)
        text = text_differs(app.pid, exe)
        rest, _ = app.communicate(timeout=60)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    msg = one_line(p)
    assert "CAP_BPF" in msg and "CAP_PERFMON" in msg, msg
    assert os.listdir(outdir) == []
    assert running and before == after == file_bytes(exe, sites)
    assert text == 0
    assert app.returncode == 0
    assert first + rest == expected(reference, 6)


def test_run_without_bpf_permission(nobody_dir):
    """`run` as nobody: one line; the program is not started untraced."""
    exe = os.path.join(nobody_dir, "app")
    shutil.copy(go_build(NAME), exe)
    os.chmod(exe, 0o755)
    timing = os.path.join(nobody_dir, "timing.txt")
    p = subprocess.run([*NOBODY, GMT, "run", "--", exe, "-iters", "1",
                        "-timing", timing], capture_output=True, text=True,
                       timeout=60, cwd=nobody_dir)
    msg = one_line(p)
    assert "CAP_BPF" in msg and "CAP_PERFMON" in msg, msg
    assert p.stdout == ""
    assert not os.path.exists(timing)
    assert sorted(os.listdir(nobody_dir)) == ["app"]


def arm64_build():
    """longrun for aarch64, by Debian's Go 1.19 (the refusal is about the
    architecture, the same for every toolchain)."""
    return go_build(NAME, goarch="arm64")


def pre_go116_build(tmp_path):
    """longrun with the .gopclntab magic of Go 1.2-1.15."""
    data = bytearray(open(go_build(NAME), "rb").read())
    at = data.find(b"\xf0\xff\xff\xff\x00\x00\x01\x08")
    assert at > 0 and data.find(b"\xf0\xff\xff\xff\x00\x00\x01\x08",
                                at + 1) < 0
    data[at:at + 4] = b"\xfb\xff\xff\xff"
    out = tmp_path / "old"
    out.write_bytes(bytes(data))
    out.chmod(0o755)
    return str(out)


@pytest.mark.parametrize("what", ["arm64", "go1.15"])
def test_run_unsupported_binary(tmp_path, what):
    exe = arm64_build() if what == "arm64" else pre_go116_build(tmp_path)
    p = subprocess.run([GMT, "run", "--", exe, "-iters", "1", "-timing",
                        str(tmp_path / "timing.txt")], capture_output=True,
                       text=True, timeout=60)
    msg = one_line(p)
    assert ("x86-64" if what == "arm64" else "Go 1.16 or later") in msg, msg
    assert p.stdout == ""
    assert not (tmp_path / "timing.txt").exists()


def test_root_process_as_nobody(tmp_path, nobody_dir, reference):
    """nobody may not even read a root process's binary: one line."""
    app = Target(tmp_path, args=("-iters", "6"))
    try:
        assert app.proc.stdout.readline().startswith("iteration 0 ")
        p = subprocess.run([*NOBODY, GMT, "record", "-p", str(app.pid),
                            "-d", "1", "-o",
                            os.path.join(nobody_dir, "x.gmt")],
                           capture_output=True, text=True, timeout=60)
        running = app.proc.poll() is None
        out, rc = app.finish()
    finally:
        app.kill()
    msg = one_line(p)
    assert f"PID {app.pid}" in msg and "permission denied" in msg, msg
    assert os.listdir(nobody_dir) == []
    assert running and rc == 0
    assert first_line(reference) + out == \
        expected(reference, 6)


def test_not_a_go_process(tmp_path):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        p = gmt("record", "-p", sleeper.pid, "-d", "1", "-o",
                tmp_path / "x.gmt", check=False)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert "not a Go binary" in one_line(p)
    assert os.listdir(tmp_path) == []


def kernel_thread():
    """A kernel thread's PID (PF_KTHREAD in its flags): no executable."""
    for pid in sorted(int(d) for d in os.listdir("/proc") if d.isdigit()):
        try:
            with open(f"/proc/{pid}/stat") as f:
                flags = int(f.read().rsplit(")", 1)[1].split()[6])
        except (OSError, IndexError, ValueError):
            continue
        if flags & 0x00200000:
            return pid
    pytest.fail("no kernel thread visible in /proc")


def test_kernel_thread(tmp_path):
    pid = kernel_thread()
    p = gmt("record", "-p", pid, "-d", "1", "-o", tmp_path / "x.gmt",
            check=False)
    msg = one_line(p)
    assert f"PID {pid}" in msg and "no executable" in msg, msg
    assert os.listdir(tmp_path) == []


@pytest.fixture(scope="module")
def bystander(tmp_path_factory):
    """A target left running for the bad -o tests."""
    app = Target(tmp_path_factory.mktemp("bystander"),
                 args=("-iters", "200"))
    assert app.proc.stdout.readline().startswith("iteration 0 ")
    app.sites = probe_sites(app.pid)
    yield app
    app.kill()


@pytest.mark.parametrize("cmd", ["record", "top"])
def test_thread_id(tmp_path, bystander, cmd):
    """-p given one of the process's other threads: the probes follow the
    process, so say which PID to give instead of showing nothing."""
    tids = [int(t) for t in os.listdir(f"/proc/{bystander.pid}/task")
            if int(t) != bystander.pid]
    assert tids
    args = {"record": ("-d", "1", "-o", tmp_path / "x.gmt"),
            "top": ("-n", "1")}[cmd]
    p = gmt(cmd, "-p", tids[0], *args, check=False)
    assert one_line(p) == (f"gomaptrace: PID {tids[0]} is a thread of "
                           f"process {bystander.pid}: give -p "
                           f"{bystander.pid}")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args,bad", [
    (("-p", "-d", "1"), "-d"), (("-p", "12abc"), "12abc"),
    (("-p", "1", "-d", "abc"), "abc"), (("-p", "1", "--ringbuf-mb", "3"), "3"),
    (("-p", "1", "--ops", "frob"), "frob"),
])
def test_usage_error_is_one_line(args, bad):
    p = gmt("record", *args, check=False)
    assert p.returncode == 2
    assert len(lines(p.stderr)) == 1, p.stderr
    assert f"'{bad}'" in p.stderr


@pytest.mark.parametrize("where", ["missing-dir", "under-a-file",
                                   "a-directory", "a-fifo", "not-writable"])
def test_bad_output(tmp_path, bystander, where):
    """-o where no trace can be written: one line naming the path, before
    any probe went in; the target's code untouched. A FIFO (or /dev/null)
    is refused: the finished file is renamed into place, which would
    replace it."""
    (tmp_path / "file").write_text("")
    os.mkfifo(tmp_path / "fifo")
    out = {
        "missing-dir": tmp_path / "no" / "such" / "x.gmt",
        "under-a-file": tmp_path / "file" / "x.gmt",
        "a-directory": tmp_path,
        "a-fifo": tmp_path / "fifo",
        "not-writable": "/sys/gmt-detach-test.gmt",
    }[where]
    p = gmt("record", "-p", bystander.pid, "-d", "5", "-o", out,
            check=False, timeout=60)
    msg = one_line(p)
    assert str(out) in msg and "-o" in msg, msg
    assert sorted(os.listdir(tmp_path)) == ["fifo", "file"]
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode)
    assert not os.path.exists(f"{out}.partial")
    assert bystander.proc.poll() is None
    assert code_bytes(bystander.pid, bystander.sites) == \
        file_bytes(bystander.exe, bystander.sites)
    assert text_differs(bystander.pid, bystander.exe) == 0
