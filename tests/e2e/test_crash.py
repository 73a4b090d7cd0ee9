"""The crash section: both sides of a map race, on every Go toolchain.

DESIGN-NOTES section 8, scenarios 1-4 and 7, each a real Go program
(tests/go/race_*) built with Go 1.19 (bucket maps), 1.26 and 1.27 (Swiss
maps), plain, stripped and PIE, run untraced and under `gomaptrace run`.
Expected lines come from the programs' // @markers.
"""
import json
import os
import re
import subprocess

import pytest

from conftest import GO_VERSIONS, gmt, go_build, go_source, source_line

# scenario -> (program, the runtime's message, markers of both sides,
#              the map's Go type)
SCENARIOS = {
    "writes": ("race_writes", "concurrent map writes",
               ["@writeA", "@writeB"], "map[int]int"),
    "delete": ("race_delete", "concurrent map writes",
               ["@write", "@delete"], "map[int]int"),
    "range": ("race_range", "concurrent map iteration and map write",
              ["@write", "@range"], "map[int]int"),
    "pointers": ("race_pointers", "concurrent map writes",
                 ["@writeA", "@writeB"], "map[int]*main.item"),
    "read": ("race_read", "concurrent map read and map write",
             ["@read", "@write"], "map[int]int"),
}
CRASH_VARIANTS = ["plain", "stripped", "pie"]
VERDICTS = {"writes": "race", "delete": "race", "range": "iteration_race",
            "pointers": "race", "read": "race"}

SIDE_HEADER = re.compile(r"^  goroutine (\d+) \(thread \d+[^)]*\) (.*)$")
SIDE_FRAME = re.compile(r"^      (\S+)  (\S+):(\d+)$")


def run_traced(tmp_path, binary, name="trace"):
    """`gomaptrace run` with a JSON report and a trace file."""
    report = tmp_path / f"{name}.json"
    trace = tmp_path / f"{name}.gmt"
    p = gmt("run", "-f", "json", "-o", report, "-t", trace, "--", binary,
            check=False)
    with open(report) as f:
        return p, json.load(f), trace


def fatal_line(stderr):
    lines = [x for x in stderr.splitlines() if x.startswith("fatal error:")]
    return lines[0] if lines else None


def frame_where(frames):
    return f"{frames[0]['file']}:{frames[0]['line']}"


def crash_sides(crash):
    """{file:line of each thread's side: goroutine id}, from the JSON."""
    sides = {}
    for th in crash["threads"]:
        if th["side"] is not None and th["side"]["frames"]:
            sides.setdefault(frame_where(th["side"]["frames"]),
                             set()).add(th["goroutine"])
    return sides


def text_sides(text):
    """[(goroutine, header text, [file:line of each frame])] for each side
    header of the text report's crash section, in order."""
    start = text.index("CRASH")
    section = text[start:text.index("  last map operations", start)]
    sides, cur = [], None
    for line in section.splitlines():
        m = SIDE_HEADER.match(line)
        if m:
            cur = (int(m.group(1)), m.group(2), [])
            sides.append(cur)
            continue
        m = SIDE_FRAME.match(line)
        if m and cur:
            cur[2].append(f"{m.group(2)}:{m.group(3)}")
        else:
            cur = None      # a frame belongs to the header right above
    return sides


def check_text(text, crash, want):
    """Each racing line is the first frame under its own goroutine's header,
    and the headers claim "was in" only where the JSON has evidence."""
    sides = text_sides(text)
    by_line = {}
    for goid, _, frames in sides:
        if frames:
            by_line.setdefault(frames[0], set()).add(goid)
    for w in want:
        assert w in by_line, (w, sides, text)
    owners = [by_line[w] for w in want]
    assert all(len(o) == 1 for o in owners), (owners, text)
    assert len(set.union(*owners)) == len(want), (owners, text)
    json_goids = {w: crash_sides(crash)[w] for w in want}
    assert {w: by_line[w] for w in want} == json_goids, (json_goids, text)
    # A goroutine that moved threads has a side per thread; the text shows
    # its most recent one (threads are listed most recent first).
    evidence = {}
    for th in crash["threads"]:
        if th["side"] is not None:
            evidence.setdefault(th["goroutine"], th)
    for goid, header, _ in sides:
        th = evidence[goid]
        if th["crashing"]:
            assert header.startswith("died"), header
        elif th["was_in"]:
            assert header.startswith("was in "), header
            assert th["evidence"] in ("flag_at_its_op", "flag_at_dying_op",
                                      "frozen_inside")
        else:
            assert th["evidence"] == "last_touch", th
            assert header.startswith("last ") and "was in" not in header, \
                header
            us = th["ns_before_crash"] / 1e3
            assert f"{us:.1f} us before the crash" in header, (us, header)


def check_flag_note(text, crash, go):
    """What the write flag proves, said for the version's map kind."""
    impl = "buckets" if go == "go1.19" else "swiss"
    assert crash["map_impl"] == impl
    note = " ".join(text.split())
    if impl == "swiss":
        assert "XOR" in crash["flag_note"]
        assert "clear proves nothing" in note
    else:
        assert "clear proves none was" in note


def crash_run(tmp, cell):
    """One cell's binary run untraced, then under `gomaptrace run`."""
    scenario, go, variant = cell
    binary = go_build(SCENARIOS[scenario][0], variant, go=go)
    untraced = subprocess.run([binary], capture_output=True, text=True,
                              timeout=120)
    return untraced, run_traced(tmp, binary, "-".join(cell))


@pytest.fixture(scope="module")
def crash_runs(run_ahead, tmp_path_factory):
    """Every selected cell's runs, started together (conftest.run_ahead):
    each is its own program and its own gomaptrace."""
    tmp = tmp_path_factory.mktemp("crash")
    return run_ahead("test_crash_both_sides", ("scenario", "go", "variant"),
                     lambda cell: crash_run(tmp, cell))


@pytest.mark.parametrize("variant", CRASH_VARIANTS)
@pytest.mark.parametrize("go", GO_VERSIONS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_crash_both_sides(crash_runs, scenario, go, variant):
    prog, message, markers, typ = SCENARIOS[scenario]
    untraced, (p, report, trace) = \
        crash_runs[(scenario, go, variant)].result()
    assert untraced.returncode == 2, untraced.stderr[-2000:]
    assert fatal_line(untraced.stderr) == f"fatal error: {message}"

    assert p.returncode == untraced.returncode, p.stderr[-2000:]
    assert fatal_line(p.stderr) == fatal_line(untraced.stderr)

    crash = report["crash"]
    assert crash is not None and crash["message"] == message
    path = go_source(prog)
    want = [f"{path}:{source_line(prog, m)}" for m in markers]
    sides = crash_sides(crash)
    assert set(want) <= set(sides), (want, sides)
    goids = [sides[w] for w in want]
    assert all(len(g) == 1 for g in goids), goids
    assert len(set.union(*goids)) == 2 and 0 not in set.union(*goids), goids

    # The dying thread comes first, with its own stack at the fatal call:
    # runtime frames, then one of the two statements.
    first = crash["threads"][0]
    assert first["crashing"] and first["evidence"] == "crash_stack"
    assert first["goroutine"] == crash["goroutine"]
    uf = crash["user_frame"]
    assert uf is not None and uf > 0
    assert all(f["function"].startswith(("runtime.", "internal/runtime/"))
               for f in crash["frames"][:uf]), crash["frames"]
    own = frame_where(crash["frames"][uf:])
    assert own in want
    assert frame_where(first["side"]["frames"]) == own
    if scenario == "read":
        # Reads are not probed: the reading statement is the dying
        # thread's own, the map the one written last, and said so.
        assert own == want[0]
        assert crash["op"] == "read" and first["side"]["op"] == "read"
        assert crash["in_function"].startswith("runtime.mapaccess")
        assert crash["map_from"] in ("frozen", "last_write", "flagged_op")
    if scenario == "range":
        assert own == want[1]
        ops = {th["side"]["op"] for th in crash["threads"] if th["side"]}
        assert "assign" in ops and ops & {"iterate", "iter_next"}
    # The crash's map is the racing map of the maps section, typed.
    m = [m for m in report["maps"] if m["addr"] == crash["map"]]
    assert m and m[0]["type"] == crash["map_type"] == typ
    assert m[0]["ops"]["assign"] > 0
    assert m[0]["verdict"] == VERDICTS[scenario]
    assert report["maps"][report["hot_spots"][0]["map"]] == m[0]

    text = gmt("report", trace).stdout
    check_text(text, crash, want)
    check_flag_note(text, crash, go)


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_crash_own_stack_for_any_fatal(tmp_path, go):
    """Not a map error: the dying goroutine's stack is still shown, the
    runtime's frames (sync.fatal is runtime code) left out."""
    binary = go_build("fatal_unlock", go=go)
    untraced = subprocess.run([binary], capture_output=True, text=True,
                              timeout=60)
    message = "sync: unlock of unlocked mutex"
    assert untraced.returncode == 2
    assert fatal_line(untraced.stderr) == f"fatal error: {message}"
    p, report, trace = run_traced(tmp_path, binary)
    assert p.returncode == 2
    assert fatal_line(p.stderr) == fatal_line(untraced.stderr)
    crash = report["crash"]
    assert crash["message"] == message and not crash["map_error"]
    assert crash["map"] is None and crash["map_from"] is None
    path = go_source("fatal_unlock")
    unlock = f"{path}:{source_line('fatal_unlock', '@unlock')}"
    call = f"{path}:{source_line('fatal_unlock', '@call')}"
    uf = crash["user_frame"]
    user = [f"{f['file']}:{f['line']}" for f in crash["frames"][uf:]]
    assert unlock in user and call in user, user
    assert crash["frames"][uf]["function"].startswith(("sync.",
                                                       "internal/sync."))
    assert crash["in_function"].endswith("sync.fatal")
    sides = text_sides(gmt("report", trace).stdout)
    assert len(sides) == 1, sides
    goid, header, frames = sides[0]
    assert goid == crash["goroutine"] and header.startswith("died in ")
    assert unlock in frames and call in frames, frames
