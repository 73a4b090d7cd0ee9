"""One BPF object for many processes of a binary (tracer_opts.multi), as
the daemon uses it: the probes act only for watched processes, and the
crash guard freezes each process on its own, with its own watchdog.

Driven through tests/helpers/multi_guard (a test driver, not a command):
one multi-mode tracer on one race_stdin binary, several copies of it
running; each waits for "go" on stdin, then races until the runtime dies.
"""
import json
import os
import subprocess
import time

import pytest

from conftest import BUILD, GMT, go_build, source_line
from test_guard import (FATAL, both_named, check_crash_only_text,
                        frozen_sides, json_sides, start_target, states,
                        text_sides, user_frames, wait_gone, watchdog_of)

HELPER = os.path.join(BUILD, "tests", "helpers", "multi_guard")
NAME = "race_stdin"
HOLD_MS = "1000"        # the helper stays in each freeze this long


def helper(exe, out, full=False, env=None):
    if not os.access(HELPER, os.X_OK):
        pytest.fail(f"{HELPER} is missing: make unit")
    h = subprocess.Popen([HELPER, *(["--full"] if full else []), exe,
                          str(out)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, **(env or {})})
    assert h.stdout.readline().strip() == "ready", h.stderr.read()
    return h


def ask(h, line):
    """One command; its answer line."""
    h.stdin.write(line + "\n")
    h.stdin.flush()
    return h.stdout.readline().strip()


def watch(h, pid):
    """Watched and guarded: its watchdog is there (it names itself once
    forked, so it is waited for)."""
    assert ask(h, f"watch {pid}") == f"watched {pid}"
    deadline = time.monotonic() + 20
    while not watchdog_of(pid):
        assert time.monotonic() < deadline, "no watchdog for " + str(pid)
        time.sleep(0.01)


def go(app):
    app.stdin.write("go\n")
    app.stdin.flush()


def wait_frozen(app, pid):
    """Every thread of pid stopped (the helper holds the freeze)."""
    deadline = time.monotonic() + 20
    while True:
        st = states(pid)
        if st and all(s == "T" for s in st):
            return
        assert time.monotonic() < deadline, "the target never froze"
        assert app.poll() is None, "the target died unfrozen"
        time.sleep(0.001)


def died_unfrozen(app, pid):
    """Runs to its own crash: no thread of it is ever seen stopped."""
    seen = set()
    while app.poll() is None:
        seen.update(states(pid))
        time.sleep(0.001)
    assert app.returncode == 2
    assert app.stderr.read().splitlines()[0] == FATAL
    assert "T" not in seen, seen


def crash_watched(h, app, pid, other):
    """Crashes watched pid while other runs: pid frozen alone, and the
    snapshot holds exactly pid's threads. Returns them."""
    go(app)
    wait_frozen(app, pid)
    tids = {int(t) for t in os.listdir(f"/proc/{pid}/task")}
    assert "T" not in states(other), "a process that did not crash froze"
    assert app.wait(timeout=30) == 2
    assert app.stderr.read().splitlines()[0] == FATAL
    line = h.stdout.readline().split()
    assert line[:3] == ["fatal", str(pid), "frozen"], line
    assert {int(t) for t in line[3:]} == tids
    return tids


def check_report(trace, pid, lines):
    """test_guard's crash-only checks on the trace the helper wrote;
    returns whether both sides were named (JSON, text)."""
    rep = json.loads(subprocess.run([GMT, "report", "-f", "json", trace],
                                    capture_output=True, text=True,
                                    check=True).stdout)
    assert rep["target"]["pid"] == pid
    crash, _ = frozen_sides(rep, NAME)
    fns = [f["function"] for f in crash["frames"]]
    assert fns[0] in ("runtime.fatal", "runtime.throw"), fns
    assert len(set(user_frames(crash, NAME)) & lines) == 1, crash["frames"]
    c = rep["crash"]
    assert c["message"] == FATAL[len("fatal error: "):]
    assert not c["ops_traced"] and c["frozen"]
    for th in c["threads"][1:]:
        assert th["evidence"] in ("frozen_inside", "frozen_at_call"), th
        assert th["side"]["traced"] is False
    if c["map_type"] is not None:
        assert c["map_type"] == "map[int]int", c["map_type"]
    text = subprocess.run([GMT, "report", trace], capture_output=True,
                          text=True, check=True).stdout
    check_crash_only_text(text, c)
    return (both_named(json_sides(c, NAME, lines), lines),
            both_named(text_sides(text, NAME, lines), lines))


@pytest.mark.parametrize("go_v", ["go1.26"])
def test_processes_freeze_apart(go_v, tmp_path):
    """A PIE (each copy at its own load bias): A and B watched, C not.
    A's crash freezes A alone while B runs; then B's freezes B; each
    snapshot holds its own process's threads and names the racing
    statements; C dies unfrozen and yields no record."""
    exe = go_build(NAME, variant="pie", go=go_v)
    lines = {source_line(NAME, "@writeA"), source_line(NAME, "@writeB")}
    h = helper(exe, tmp_path, env={"GOMAPTRACE_TEST_HOLD_FREEZE_MS": HOLD_MS,
                                   "GOMAPTRACE_FREEZE_MAX_MS": "60000"})
    (a, pa), (b, pb), (c, pc) = (start_target(exe) for _ in range(3))
    watch(h, pa)
    watch(h, pb)
    ta = crash_watched(h, a, pa, pb)
    assert b.poll() is None
    tb = crash_watched(h, b, pb, pc)
    assert not ta & tb
    go(c)
    died_unfrozen(c, pc)
    h.stdin.close()
    rest = h.stdout.read().split("\n")
    assert rest[:2] == [f"unwatched {pa}", f"unwatched {pb}"], rest
    assert rest[-2:] == ["done", ""], rest
    # Fatal records only (crash-only): one, or two when both writers
    # reached the fatal path; none from C.
    counts = {r.split()[1]: r.split()[2:] for r in rest[2:-2]}
    assert set(counts) == {str(pa), str(pb)}, rest
    assert all(n[0] == "0" and n[1] in ("1", "2")
               for n in counts.values()), rest
    assert h.wait(timeout=30) == 0
    named = [check_report(str(tmp_path / f"{p}.gmt"), p, lines)
             for p in (pa, pb)]
    print(f"\n{go_v}: both sides named (JSON, text): A {named[0]}, "
          f"B {named[1]}")
    wait_gone(pa)
    wait_gone(pb)


@pytest.mark.parametrize("go_v", ["go1.26"])
def test_map_operations_of_watched_only(go_v, tmp_path):
    """Full tracing: the map-operation probes, attached to every process
    of the binary, record only the watched one; a process unwatched
    before it races is neither recorded nor frozen."""
    exe = go_build(NAME, go=go_v)
    h = helper(exe, tmp_path, full=True)
    (a, pa), (b, pb), (c, pc) = (start_target(exe) for _ in range(3))
    watch(h, pa)
    watch(h, pb)
    assert ask(h, f"unwatch {pb}") == f"unwatched {pb}"
    go(c)
    died_unfrozen(c, pc)
    go(b)
    died_unfrozen(b, pb)
    go(a)
    assert a.wait(timeout=30) == 2
    line = h.stdout.readline().split()
    assert line[:3] == ["fatal", str(pa), "frozen"], line
    h.stdin.close()
    rest = h.stdout.read().split("\n")
    assert rest[0] == f"unwatched {pa}" and rest[-2:] == ["done", ""], rest
    counts = {r.split()[1]: r.split()[2:] for r in rest[1:-2]}
    assert set(counts) == {str(pa)}, rest
    ops, fatals = (int(n) for n in counts[str(pa)])
    assert fatals in (1, 2), rest
    rep = json.loads(subprocess.run([GMT, "report", "-f", "json",
                                     str(tmp_path / f"{pa}.gmt")],
                                    capture_output=True, text=True,
                                    check=True).stdout)
    # Every map operation the helper saw is in the trace.
    assert rep["events"] == ops > 0 and rep["lost"] == 0
    assert rep["freeze"]["status"] == "frozen"
    wait_gone(pa)


@pytest.mark.parametrize("go_v", ["go1.26"])
def test_sigkill_inside_one_freeze(go_v, tmp_path):
    """The tracer's holder killed while it holds A frozen: A's watchdog
    resumes it (it dies of its own crash); B's watchdog lets B run on."""
    exe = go_build(NAME, go=go_v)
    h = helper(exe, tmp_path, env={"GOMAPTRACE_TEST_HOLD_FREEZE_MS": "60000",
                                   "GOMAPTRACE_FREEZE_MAX_MS": "60000"})
    (a, pa), (b, pb) = (start_target(exe) for _ in range(2))
    watch(h, pa)
    watch(h, pb)
    go(a)
    wait_frozen(a, pa)
    h.kill()
    h.wait()
    assert a.wait(timeout=10) == 2
    assert a.stderr.read().splitlines()[0] == FATAL
    wait_gone(pa)
    go(b)
    died_unfrozen(b, pb)
    wait_gone(pb)


@pytest.mark.parametrize("go_v", ["go1.26"])
def test_watchdog_bounds_each_freeze(go_v, tmp_path):
    """The helper overstays in every freeze: each process's own watchdog
    resumes it first, A's and then B's (B's watchdog was not woken, nor
    left blind, by A's freeze)."""
    exe = go_build(NAME, go=go_v)
    h = helper(exe, tmp_path, env={"GOMAPTRACE_TEST_HOLD_FREEZE_MS": "1000",
                                   "GOMAPTRACE_FREEZE_MAX_MS": "50"})
    (a, pa), (b, pb) = (start_target(exe) for _ in range(2))
    watch(h, pa)
    watch(h, pb)
    for app, pid in ((a, pa), (b, pb)):
        go(app)
        assert app.wait(timeout=30) == 2
        assert app.stderr.read().splitlines()[0] == FATAL
        line = h.stdout.readline().split()
        assert line[:3] == ["fatal", str(pid), "released_early"], line
    h.stdin.close()
    assert h.wait(timeout=30) == 0
