"""gomaptrace against Go's race detector: the same two statements.

Scenarios 1-3 (tests/go/race_writes, race_delete, race_range) are built
twice with each Go toolchain: with -race, whose "WARNING: DATA RACE" report
names the two conflicting accesses, and without, run under `gomaptrace run`,
whose crash section names the dying statement and the other side. The test
parses both outputs: the two file:line pairs must be the same, and they
must be the programs' two marked statements.

The race build is a race of its own: both goroutines start at once, and
when their first map operations coincide the detector can miss them while
the runtime's own check does not, so the process dies with the runtime's
"fatal error: concurrent map ..." before any report is written (measured:
2 to 12 of 30 runs, by program and toolchain). Such a run is checked too
(exit status 2, the runtime's message, the dying statement one of the two)
and the program is run again, up to RACE_ATTEMPTS times.
"""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import GO_VERSIONS, gmt, go_build, go_source, source_line

# (program, the runtime's message, its two markers, the detector's kinds of
# access: a delete is a write, a range reads the map header)
SCENARIOS = [
    ("race_writes", "concurrent map writes", ("@writeA", "@writeB"),
     ["write", "write"]),
    ("race_delete", "concurrent map writes", ("@write", "@delete"),
     ["write", "write"]),
    ("race_range", "concurrent map iteration and map write",
     ("@write", "@range"), ["read", "write"]),
]

RACE_ATTEMPTS = 20
# A race build reports within ~0.1 s here; without a report or a crash the
# programs' round bound ends them in seconds. This only stops a hang.
RACE_TIMEOUT = 120
# ThreadSanitizer's exit status with halt_on_error=1.
RACE_EXIT = 66

REPORT_START = "WARNING: DATA RACE"
REPORT_END = "=================="
ACCESS = re.compile(r"^(Previous )?(write|read) at (0x[0-9a-f]+) "
                    r"by goroutine (\d+):$", re.IGNORECASE)
FUNC = re.compile(r"^  (\S+)\(\)$")
WHERE = re.compile(r"^      (\S+):(\d+)(?: \+0x[0-9a-f]+)?$")
# A goroutine traceback's frame: "main.f(...)" then "\tfile:line +0x..".
TB_FUNC = re.compile(r"^(\S+)\(.*\)$")
TB_WHERE = re.compile(r"^\t(\S+):(\d+)(?: \+0x[0-9a-f]+)?$")


def parse_race_report(stderr):
    """The report's two accesses: [(kind, address, goroutine, frames)],
    frames [(function, "file:line")], innermost first."""
    assert stderr.count(REPORT_START) == 1, stderr
    block = stderr[stderr.index(REPORT_START):]
    block = block[:block.index(REPORT_END)].splitlines()[1:]
    accesses = []
    cur = None
    func = None
    for line in block:
        m = ACCESS.match(line)
        if m:
            cur = (m.group(2).lower(), m.group(3), int(m.group(4)), [])
            accesses.append(cur)
            continue
        if not line.strip():
            cur = None      # the access's stack ends at a blank line
            continue
        if cur is None:
            continue        # "Goroutine N (running) created at:" stacks
        m = FUNC.match(line)
        if m:
            func = m.group(1)
            continue
        m = WHERE.match(line)
        assert m and func, f"unparsed race report line {line!r}:\n{stderr}"
        cur[3].append((func, f"{m.group(1)}:{m.group(2)}"))
        func = None
    assert len(accesses) == 2, stderr
    return accesses


def first_main_frame(frames):
    """The first frame in the program's own package: the statement. The
    runtime's frames above it (runtime.mapassign_fast64, ...) are where the
    runtime told the detector of the access, not the user's line."""
    for func, where in frames:
        if func.startswith("main."):
            return where
    raise AssertionError(f"no main.* frame in {frames}")


def traceback_statement(stderr):
    """The dying goroutine's first main.* file:line in a Go traceback."""
    lines = stderr.splitlines()
    for i, line in enumerate(lines[:-1]):
        m, w = TB_FUNC.match(line), TB_WHERE.match(lines[i + 1])
        if m and w and m.group(1).startswith("main."):
            return f"{w.group(1)}:{w.group(2)}"
    raise AssertionError(f"no main.* frame in the traceback:\n{stderr}")


def race_detector_lines(binary, message, want):
    """Run the -race build until the detector reports; return the report's
    two accesses and a list of (seconds, outcome) per run."""
    env = dict(os.environ, GORACE="halt_on_error=1")
    runs = []
    for _ in range(RACE_ATTEMPTS):
        t0 = time.monotonic()
        try:
            p = subprocess.run([binary], env=env, capture_output=True,
                               text=True, timeout=RACE_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{binary} (-race) still running after "
                        f"{RACE_TIMEOUT} s", pytrace=False)
        secs = time.monotonic() - t0
        if REPORT_START in p.stderr:
            runs.append((secs, "report"))
            assert p.returncode == RACE_EXIT, (p.returncode, p.stderr)
            return parse_race_report(p.stderr), runs
        # The runtime's check came first: the untraced program's own death.
        runs.append((secs, "fatal"))
        assert p.returncode == 2, (p.returncode, p.stderr)
        assert f"fatal error: {message}" in p.stderr, p.stderr
        assert traceback_statement(p.stderr) in want, p.stderr
    pytest.fail(f"{binary}: no race report in {RACE_ATTEMPTS} runs "
                f"(each died with the runtime's fatal error first)",
                pytrace=False)


def side_where(thread):
    """file:line of a crash thread's side: its first frame, the user's."""
    frames = thread["side"]["frames"]
    assert frames and frames[0]["function"].startswith("main."), thread
    return f"{frames[0]['file']}:{frames[0]['line']}"


def gomaptrace_lines(tmp_path, binary, message):
    """The crash section's two sides: the dying thread's statement and the
    other side it names first (the other threads come most recent first).
    [(file:line, goroutine)]."""
    out = tmp_path / "report.json"
    p = gmt("run", "-f", "json", "-o", out, "--", binary, check=False)
    assert p.returncode == 2, p.stderr
    assert f"fatal error: {message}" in p.stderr, p.stderr
    with open(out) as f:
        crash = json.load(f)["crash"]
    assert crash is not None and crash["message"] == message, crash
    threads = crash["threads"]
    assert threads and threads[0]["crashing"], threads
    assert threads[0]["side"] is not None, threads[0]
    others = [t for t in threads[1:] if t.get("side") is not None]
    assert others, f"the crash section names one side only: {threads}"
    return [(side_where(t), t["goroutine"]) for t in (threads[0], others[0])]


def wanted(prog, markers):
    path = go_source(prog)
    return {f"{path}:{source_line(prog, m)}" for m in markers}


def cell_runs(tmp, cell):
    """One cell's race-detector runs, then its run under gomaptrace."""
    prog, message, markers, go = cell
    race = race_detector_lines(go_build(prog, "race", go=go), message,
                               wanted(prog, markers))
    out = tmp / f"{prog}-{go}"
    out.mkdir()
    return race, gomaptrace_lines(out, go_build(prog, "plain", go=go),
                                  message)


@pytest.fixture(scope="module")
def cells(run_ahead, tmp_path_factory):
    """Every selected cell's runs, started together (conftest.run_ahead):
    each its own program and its own gomaptrace."""
    tmp = tmp_path_factory.mktemp("race")
    return run_ahead("test_same_lines_as_race_detector",
                     ("prog", "message", "markers", "go"),
                     lambda cell: cell_runs(tmp, cell))


@pytest.mark.parametrize("go", GO_VERSIONS)
@pytest.mark.parametrize("prog,message,markers,kinds", SCENARIOS,
                         ids=[s[0] for s in SCENARIOS])
def test_same_lines_as_race_detector(cells, prog, message, markers, kinds,
                                     go):
    want = wanted(prog, markers)
    assert len(want) == 2

    (accesses, runs), sides = cells[(prog, message, markers, go)].result()
    print(f"{prog} {go} -race runs: " +
          ", ".join(f"{s:.3f} s {what}" for s, what in runs))
    assert sorted(a[0] for a in accesses) == kinds, accesses
    assert accesses[0][1] == accesses[1][1], accesses    # one map
    assert accesses[0][2] != accesses[1][2], accesses    # two goroutines
    race_lines = [first_main_frame(a[3]) for a in accesses]

    gmt_lines = [where for where, _ in sides]
    goroutines = {g for _, g in sides}
    assert len(goroutines) == 2 and 0 not in goroutines, sides

    assert set(race_lines) == set(gmt_lines), (race_lines, gmt_lines)
    assert set(race_lines) == want, (race_lines, want)
