"""The crash guard (issue 9): freeze at a map fatal, snapshot every thread,
resume, never worse than the runtime.

Each test computes what it expects from the Go source (marker lines) and
from an untraced run of the same binary. The measured rates and freeze
durations are printed (pytest -s shows them).
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import BUILD, GMT, GO_VERSIONS, each_parallel, gmt, \
    go_build, source_line

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


# scenario -> (program, its two racing statements)
SCENARIOS = {
    "writes": ("race_writes", "@writeA", "@writeB"),
    "delete": ("race_delete", "@write", "@delete"),
    "range": ("race_range", "@write", "@range"),
    "read": ("race_read", "@write", "@read"),
}
RATES = os.path.join(BUILD, "guard_rates.txt")
SIDE_HEADER = re.compile(r"^  goroutine (\d+) \(thread \d+[^)]*\) (.*)$")
SIDE_FRAME = re.compile(r"^      (\S+)  (\S+):(\d+)$")
NOT_TRACED = "  map operations were not traced (--crash-only)\n"


def each_run(fn):
    """[fn(0), ..., fn(RUNS - 1)]: a cell's runs are independent (each its
    own target and its own gomaptrace, whose probes and guard act on its
    own pid only), so they overlap (conftest.each_parallel)."""
    return each_parallel(fn, range(RUNS))


def note_rate(what):
    """Printed (pytest -s) and kept in build/guard_rates.txt."""
    print(f"\n{what}")
    with open(RATES, "a") as f:
        f.write(what + "\n")


def json_sides(crash, name, lines):
    """{racing line: {goroutine ids}}: each crash thread's side whose first
    frame is one of the racing statements."""
    sides = {}
    for th in crash["threads"]:
        side = th["side"]
        if side is None or not side["frames"]:
            continue
        f = side["frames"][0]
        if f["file"].endswith(f"/tests/go/{name}/main.go") and \
                f["line"] in lines:
            sides.setdefault(f["line"], set()).add(th["goroutine"])
    return sides


def text_section(text):
    start = text.index("CRASH")
    ends = [text.find(m, start) for m in
            ("  last map operations", NOT_TRACED, "\nWhat every thread")]
    return text[start:min(e for e in ends if e >= 0)]


def text_sides(text, name, lines):
    """{racing line: {goroutine ids}} from the text report's crash section,
    each side's first frame under its goroutine header."""
    sides, cur = {}, None
    for line in text_section(text).splitlines():
        m = SIDE_HEADER.match(line)
        if m:
            cur = [int(m.group(1)), True]
            continue
        m = SIDE_FRAME.match(line)
        if m and cur and cur[1]:
            cur[1] = False      # the side's statement: its first frame
            if m.group(2).endswith(f"/tests/go/{name}/main.go") and \
                    int(m.group(3)) in lines:
                sides.setdefault(int(m.group(3)), set()).add(cur[0])
        elif not m:
            cur = None
    return sides


def both_named(sides, lines):
    """Both racing lines, each under one goroutine, two goroutines."""
    if set(sides) != lines or any(len(g) != 1 for g in sides.values()):
        return False
    goids = set.union(*sides.values())
    return len(goids) == 2 and 0 not in goids


def check_crash_only_text(text, crash):
    """Crash-only: no empty history, no "no map operations", said once."""
    assert text.count(NOT_TRACED) == 1, text
    assert "(none recorded)" not in text and \
        "no map operations were seen" not in text, text
    assert "was not traced" not in text, text
    other = [t for t in crash["threads"][1:] if t["side"] is not None]
    if not other:
        assert "the other side was not running on a CPU" in text, text


def crash_only_run(exe, name, lines, out, want):
    """One crash-only run: (named in JSON, named in text, the report)."""
    trace = out.with_suffix(".gmt")
    p = subprocess.run([GMT, "run", "--crash-only", "-f", "json", "-o",
                        str(out), "-t", str(trace), "--", exe],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == want[0], p.stderr
    assert p.stderr.splitlines()[0] == want[1]
    assert "gomaptrace" not in p.stderr, p.stderr
    report = json.loads(out.read_text())
    assert report["probes"] >= 1
    crash, _ = frozen_sides(report, name)
    fns = [f["function"] for f in crash["frames"]]
    assert fns[0] in ("runtime.fatal", "runtime.throw"), fns
    assert len(set(user_frames(crash, name)) & lines) == 1, crash["frames"]
    fr = report["freeze"]
    assert 0 < fr["duration_ns"] < FREEZE_BOUND_NS
    c = report["crash"]
    assert c["message"] == want[1][len("fatal error: "):]
    assert not c["ops_traced"] and c["frozen"]
    for th in c["threads"][1:]:
        # No traced op: every other side is the freeze's.
        assert th["evidence"] in ("frozen_inside", "frozen_at_call"), th
        assert th["side"]["traced"] is False
        assert th["frozen_in"].startswith(("runtime.", "internal/runtime/"))
        assert th["was_in"] == th["frozen_map_known"]
        assert not th["last_ops"]
    if c["map"] is not None and c["map_type"] is not None:
        assert c["map_type"] == "map[int]int", c["map_type"]
    text = subprocess.run([GMT, "report", str(trace)], capture_output=True,
                          text=True, timeout=120, check=True).stdout
    check_crash_only_text(text, c)
    typed = c["map_type"] is not None
    if typed:
        assert f"on map[int]int at {c['map']}" in text, text
    return (both_named(json_sides(c, name, lines), lines),
            both_named(text_sides(text, name, lines), lines), typed,
            fr["duration_ns"])


@pytest.mark.parametrize("go", GO_VERSIONS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_crash_only_both_sides(scenario, go, tmp_path):
    """Crash-only: the report's crash section (JSON and text) names both
    racing statements under two goroutines in at least 8 of 10 runs, from
    the crashing thread's own stack and a thread frozen in a map function.
    """
    name, ma, mb = SCENARIOS[scenario]
    exe = go_build(name, go=go)
    lines = {source_line(name, ma), source_line(name, mb)}
    want = untraced(exe)
    assert want[0] == 2 and want[1].startswith("fatal error: concurrent map")
    in_json = in_text = typed = 0
    durations = []
    results = each_run(lambda i: crash_only_run(
        exe, name, lines, tmp_path / f"r{i}.json", want))
    for i, (j, t, ty, d) in enumerate(results):
        in_json += j
        in_text += t
        typed += ty
        durations.append(d)
        assert j == t, f"run {i}: JSON {j}, text {t}"
    durations.sort()
    note_rate(f"crash-only {scenario} {go}: both sides named in "
              f"{in_json}/{RUNS} (JSON), {in_text}/{RUNS} (text); map typed "
              f"in {typed}/{RUNS}; freeze ms min {durations[0] / 1e6:.2f} "
              f"median {durations[len(durations) // 2] / 1e6:.2f} max "
              f"{durations[-1] / 1e6:.2f}")
    assert in_json >= 8 and in_text >= 8, \
        f"both sides named in {in_json}/{RUNS} (JSON), {in_text}/{RUNS}"


FULL_RUNS_ON = sorted(SCENARIOS)


def full_run(exe, name, lines, want, out):
    """One fully traced run: both sides named in JSON and text; the
    report."""
    trace = out.with_suffix(".gmt")
    p = subprocess.run([GMT, "run", "-f", "json", "-o", str(out), "-t",
                        str(trace), "--", exe], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == want[0], p.stderr
    assert p.stderr.splitlines()[0] == want[1]
    report = json.loads(out.read_text())
    c = report["crash"]
    assert c["ops_traced"]
    text = subprocess.run([GMT, "report", str(trace)], capture_output=True,
                          text=True, timeout=120, check=True).stdout
    j = both_named(json_sides(c, name, lines), lines)
    t = both_named(text_sides(text, name, lines), lines)
    assert j and t, (out.name, c["threads"], text_section(text))
    return report


@pytest.mark.parametrize("go", GO_VERSIONS)
@pytest.mark.parametrize("scenario", FULL_RUNS_ON)
def test_full_tracing_both_sides_every_run(scenario, go, tmp_path):
    """Full tracing (the guard on too): both sides named in 10 of 10."""
    name, ma, mb = SCENARIOS[scenario]
    exe = go_build(name, go=go)
    lines = {source_line(name, ma), source_line(name, mb)}
    want = untraced(exe)
    named, frozen_ev, durations = 0, 0, []
    for report in each_run(lambda i: full_run(exe, name, lines, want,
                                              tmp_path / f"r{i}.json")):
        named += 1
        frozen_ev += any(th["evidence"] == "frozen_inside"
                         for th in report["crash"]["threads"][1:])
        if report["freeze"] and report["freeze"]["duration_ns"]:
            durations.append(report["freeze"]["duration_ns"])
    durations.sort()
    note_rate(f"full {scenario} {go}: both sides named in {named}/{RUNS}; "
              f"freeze evidence on the other side in {frozen_ev}/{RUNS}; "
              f"freeze ms median "
              f"{durations[len(durations) // 2] / 1e6 if durations else 0:.2f}"
              f" max {durations[-1] / 1e6 if durations else 0:.2f}")


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
