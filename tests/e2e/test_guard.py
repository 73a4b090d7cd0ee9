"""The crash guard (issue 9): freeze at a map fatal, snapshot every thread,
resume, never worse than the runtime.

Each test computes what it expects from the Go source (marker lines) and
from an untraced run of the same binary. The measured rates and freeze
durations are printed (pytest -s shows them).
"""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import GMT, GO_VERSIONS, gmt, go_build, source_line

RUNS = 10
FATAL = "fatal error: concurrent map writes"
FREEZE_BOUND_NS = 250_000_000   # the watchdog's default bound


def untraced(exe):
    p = subprocess.run([exe], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stderr.splitlines()[0]


def user_frames(thread, name):
    """(file-relative) lines of the thread's frames in tests/go/<name>."""
    return [f["line"] for f in thread["frames"]
            if f["file"].endswith(f"/tests/go/{name}/main.go")]


def frozen_sides(report, name):
    """(crashing thread, the other writer inside a map function or None)."""
    fr = report["freeze"]
    assert fr is not None, "no freeze in the report"
    assert fr["status"] == "frozen", fr["reason"]
    crash = [t for t in fr["threads"] if t["crashing"]]
    assert len(crash) == 1, [t["tid"] for t in fr["threads"]]
    others = [t for t in fr["threads"] if not t["crashing"]
              and t["in_map_function"] and user_frames(t, name)]
    return crash[0], (others[0] if others else None)


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_crash_only_both_sides(go, tmp_path):
    exe = go_build("race_writes", go=go)
    lines = {source_line("race_writes", "@writeA"),
             source_line("race_writes", "@writeB")}
    want_status, want_msg = untraced(exe)
    assert want_status == 2 and want_msg == FATAL
    both, maps_known, durations = 0, 0, []
    for i in range(RUNS):
        out = tmp_path / f"r{i}.json"
        p = subprocess.run([GMT, "run", "--crash-only", "-f", "json", "-o",
                            str(out), "--", exe], capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == want_status, p.stderr
        assert p.stderr.splitlines()[0] == want_msg
        assert "gomaptrace" not in p.stderr, p.stderr
        report = json.loads(out.read_text())
        assert report["probes"] >= 1
        crash, other = frozen_sides(report, "race_writes")
        fns = [f["function"] for f in crash["frames"]]
        assert fns[0] in ("runtime.fatal", "runtime.throw"), fns
        crash_lines = set(user_frames(crash, "race_writes")) & lines
        assert len(crash_lines) == 1, crash["frames"]
        assert crash["in_map_function"], crash["map_function"]
        fr = report["freeze"]
        assert 0 < fr["duration_ns"] < FREEZE_BOUND_NS
        durations.append(fr["duration_ns"])
        if other and set(user_frames(other, "race_writes")) & lines == \
                lines - crash_lines:
            both += 1
            # Both sides write the one map the program has.
            if crash["map"] and other["map"]:
                assert crash["map"] == other["map"]
                maps_known += 1
    durations.sort()
    print(f"\n{go}: both sides frozen in {both}/{RUNS} (map recovered on "
          f"both in {maps_known}); freeze ms "
          f"min {durations[0] / 1e6:.2f} median "
          f"{durations[len(durations) // 2] / 1e6:.2f} max "
          f"{durations[-1] / 1e6:.2f}")
    assert both >= 8, f"the other writer was caught in {both}/{RUNS} runs"


# The other scenarios: (program, its two racing statements).
SCENARIOS = {
    "delete": ("race_delete", "@write", "@delete"),
    "range": ("race_range", "@write", "@range"),
    "read": ("race_read", "@write", "@read"),
}


@pytest.mark.parametrize("go", GO_VERSIONS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_crash_only_scenarios(scenario, go, tmp_path):
    """Each side's statement in the snapshot: the crashing thread's and a
    frozen thread's inside a map function. The runtime names one side."""
    name, ma, mb = SCENARIOS[scenario]
    exe = go_build(name, go=go)
    lines = {source_line(name, ma), source_line(name, mb)}
    want_status, want_msg = untraced(exe)
    assert want_status == 2 and want_msg.startswith("fatal error: ")
    both = 0
    for i in range(RUNS):
        out = tmp_path / f"r{i}.json"
        p = subprocess.run([GMT, "run", "--crash-only", "-f", "json", "-o",
                            str(out), "--", exe], capture_output=True,
                           text=True, timeout=120)
        assert p.returncode == want_status, p.stderr
        assert p.stderr.splitlines()[0] == want_msg
        report = json.loads(out.read_text())
        crash, other = frozen_sides(report, name)
        crash_lines = set(user_frames(crash, name)) & lines
        assert len(crash_lines) == 1, crash["frames"]
        if other and set(user_frames(other, name)) & lines == \
                lines - crash_lines:
            both += 1
    print(f"\n{scenario} {go}: both sides frozen in {both}/{RUNS}")
    assert both >= 8, f"the other side was caught in {both}/{RUNS} runs"


def start_target(exe, prefix=()):
    """race_stdin, waiting for its go-ahead; returns (Popen, Go pid)."""
    p = subprocess.Popen([*prefix, exe], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "ready"
    if not prefix:
        return p, p.pid
    kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
    assert len(kids) == 1, kids
    return p, int(kids[0])


def watchdog_of(pid):
    """The pid of the guard's watchdog for target pid (comm gmtwd-PID)."""
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and open(f"/proc/{d}/comm").read().strip() == \
                    f"gmtwd-{pid}":
                return int(d)
        except OSError:
            pass
    return None


def wait_guarded(rec, pid):
    """Until record's watchdog for pid exists: the guard is armed just
    after it starts."""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if watchdog_of(pid):
            time.sleep(0.2)
            return
        if rec.poll() is not None:
            pytest.fail(f"record exited early: {rec.stderr.read()}")
        time.sleep(0.01)
    pytest.fail("record never started its watchdog")


def states(pid):
    """The state letter of every thread of pid (empty once it is gone)."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                out.append(f.read().rsplit(")", 1)[1].split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def record(pid, out, env=None):
    return subprocess.Popen([GMT, "record", "-p", str(pid), "--crash-only",
                             "-o", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_sigkill_inside_the_freeze(go, tmp_path):
    exe = go_build("race_stdin", go=go)
    app, pid = start_target(exe)
    rec = record(pid, tmp_path / "t.gmt",
                 {"GOMAPTRACE_TEST_HOLD_FREEZE_MS": "5000",
                  "GOMAPTRACE_FREEZE_MAX_MS": "60000"})
    wait_guarded(rec, pid)
    app.stdin.write("go\n")
    app.stdin.flush()
    deadline = time.monotonic() + 20
    while not all(s == "T" for s in states(pid)):
        assert time.monotonic() < deadline, "the target never froze"
        assert app.poll() is None, "the target died unfrozen"
        time.sleep(0.001)
    rec.kill()
    rec.wait()
    killed = time.monotonic()
    rc = app.wait(timeout=10)
    print(f"\n{go}: target exited {(time.monotonic() - killed) * 1e3:.1f} "
          "ms after gomaptrace's SIGKILL")
    assert rc == 2
    assert app.stderr.read().splitlines()[0] == FATAL
    wait_gone(pid)


def wait_gone(pid):
    """The watchdog of pid ends with its target."""
    end = time.monotonic() + 10
    while watchdog_of(pid):
        assert time.monotonic() < end, "the watchdog outlived its target"
        time.sleep(0.01)


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_watchdog_bounds_the_freeze(go, tmp_path):
    exe = go_build("race_stdin", go=go)
    app, pid = start_target(exe)
    out = tmp_path / "t.gmt"
    rec = record(pid, out, {"GOMAPTRACE_TEST_HOLD_FREEZE_MS": "3000",
                            "GOMAPTRACE_FREEZE_MAX_MS": "100"})
    wait_guarded(rec, pid)
    t0 = time.monotonic()
    app.stdin.write("go\n")
    app.stdin.flush()
    assert app.wait(timeout=20) == 2
    waited = time.monotonic() - t0
    assert app.stderr.read().splitlines()[0] == FATAL
    assert waited < 2.5, f"the target took {waited:.2f} s to die"
    rec.wait(timeout=30)
    rep = json.loads(gmt("report", "-f", "json", out).stdout)
    assert rep["freeze"]["status"] == "released_early", rep["freeze"]


def test_not_crashing_never_stopped(tmp_path):
    exe = go_build("scenrecord", go="go1.26")
    p = subprocess.Popen([GMT, "run", "--crash-only", "-o",
                          str(tmp_path / "r.txt"), "--", exe, "-iters", "8",
                          "-timing", str(tmp_path / "timing")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pid = None
    for _ in range(1000):
        kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
        assert len(kids) <= 1, kids   # the watchdog is not run's child
        if kids:
            pid = int(kids[0])
            break
        time.sleep(0.005)
    assert pid, "the program never started"
    # run holds it in its exec stop ('t') until the probes are in; the
    # timing file is created by its main(), after it was let go.
    end = time.monotonic() + 60
    while not (tmp_path / "timing").exists():
        assert time.monotonic() < end, "the program never ran its main"
        time.sleep(0.001)
    seen, polls, end = set(), 0, time.monotonic() + 5
    while time.monotonic() < end:
        seen.update(states(pid))
        polls += 1
        time.sleep(0.002)
    assert p.wait(timeout=60) == 0, p.stderr.read()
    print(f"\n{polls} polls over 5 s, states seen {sorted(seen)}")
    assert polls > 500
    assert "T" not in seen and "t" not in seen


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_debugger_not_frozen(go, tmp_path):
    exe = go_build("race_stdin", go=go)
    want_status, want_msg = 2, FATAL
    app, pid = start_target(exe, prefix=("strace", "-f", "-o", "/dev/null"))
    tracer = [ln for ln in open(f"/proc/{pid}/status")
              if ln.startswith("TracerPid:")]
    assert int(tracer[0].split()[1]) == app.pid
    out = tmp_path / "t.gmt"
    rec = record(pid, out)
    wait_guarded(rec, pid)
    app.stdin.write("go\n")
    app.stdin.flush()
    seen = set()
    while app.poll() is None:
        seen.update(states(pid))
        time.sleep(0.001)
    assert app.returncode == want_status
    assert want_msg in app.stderr.read()
    assert "T" not in seen, seen
    rec.wait(timeout=30)
    rep = json.loads(gmt("report", "-f", "json", out).stdout)
    assert rep["freeze"]["status"] == "debugger", rep["freeze"]
    assert rep["freeze"]["tracer_pid"] == app.pid
    assert rep["freeze"]["threads"] == []
    text = gmt("report", out).stdout
    assert "not frozen: under a debugger" in text


def crash_with_core(exe, cwd, traced):
    """GOTRACEBACK=crash, cores allowed: (signal, core dumped, message)."""
    import resource

    def allow_core():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                                  resource.RLIM_INFINITY))
    app = subprocess.Popen([exe], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, cwd=cwd, preexec_fn=allow_core,
                           env={**os.environ, "GOTRACEBACK": "crash"})
    assert app.stdout.readline().strip() == "ready"
    rec = None
    if traced:
        rec = record(app.pid, cwd / "t.gmt")
        wait_guarded(rec, app.pid)
    app.stdin.write("go\n")
    app.stdin.flush()
    _, st = os.waitpid(app.pid, 0)
    msg = app.stderr.read().splitlines()[0]
    if rec:
        rec.wait(timeout=30)
        rep = json.loads(gmt("report", "-f", "json", cwd / "t.gmt").stdout)
        assert rep["freeze"]["status"] == "frozen", rep["freeze"]
    return os.WIFSIGNALED(st) and os.WTERMSIG(st), os.WCOREDUMP(st), msg


def test_core_dump_as_untraced(tmp_path):
    exe = go_build("race_stdin", go="go1.19")
    (tmp_path / "u").mkdir()
    (tmp_path / "t").mkdir()
    want = crash_with_core(exe, tmp_path / "u", False)
    assert want[0] == signal.SIGABRT and want[2] == FATAL
    assert crash_with_core(exe, tmp_path / "t", True) == want


DEADLOCK = "fatal error: all goroutines are asleep - deadlock!"


@pytest.mark.parametrize("freeze,status", [
    (None, "frozen"), ("all", "frozen"), ("map", "not_map_error"),
    ("off", "disabled")])
@pytest.mark.parametrize("go", GO_VERSIONS)
def test_other_fatal_errors(go, freeze, status, tmp_path):
    """A fatal error that is not a map error (a deadlock): --freeze all,
    the default, stops the process there too and records what every
    thread was doing; map and off do not stop it. Exit status and message
    as untraced either way."""
    exe = go_build("deadlock", go=go)
    want_status, want_msg = untraced(exe)
    assert (want_status, want_msg) == (2, DEADLOCK)
    out = tmp_path / "r.json"
    args = ["--freeze", freeze] if freeze else []
    p = subprocess.run([GMT, "run", "--crash-only", *args, "-f", "json",
                        "-o", str(out), "--", exe], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == want_status, p.stderr
    assert p.stderr.splitlines()[0] == want_msg
    fr = json.loads(out.read_text())["freeze"]
    assert fr["status"] == status, fr
    assert fr["mode"] == (freeze or "all")
    assert fr["message"] == DEADLOCK.removeprefix("fatal error: ")
    if status != "frozen":
        return
    crash = [t for t in fr["threads"] if t["crashing"]]
    assert len(crash) == 1
    # The runtime finds the deadlock on the thread that parks last; the
    # blocked statement belongs to a goroutine on no thread. What the
    # freeze must give: the crashing thread's own stack, in the runtime.
    assert crash[0]["frames"], crash[0]
    assert any(f["function"] in ("runtime.fatal", "runtime.throw")
               for f in crash[0]["frames"]), crash[0]["frames"]


def test_freeze_usage_error():
    p = subprocess.run([GMT, "run", "--freeze", "sometimes", "--", "true"],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr == "gomaptrace: --freeze 'sometimes': give all, map " \
        "or off\n"
