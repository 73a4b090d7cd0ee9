"""`gomaptrace record -p PID`: attach to a process that is already running,
record, detach, and leave it as it was: same output, same speed, its code
bytes restored. Then the trace reported on its own, binary moved away.
Each on the three toolchains: the probes, the bias and the symbols differ.
"""
import json
import os
import shutil
import statistics
import subprocess
import time

import pytest

from conftest import GMT, GO_VERSIONS, code_bytes, file_bytes, gmt, \
    gmt_json, go_build, go_release, source_line, windows

NAME = "scenrecord"


def probes(exe):
    """(run-time address, file offset) of every probe `info` would place."""
    info = gmt_json("info", exe, "--json")
    return [(int(p["probe"], 16), int(p["file_offset"], 16))
            for p in info["probes"]]


def report_json(path, *extra):
    return gmt_json("report", path, "--format", "json", *extra)


@pytest.fixture(scope="module", params=GO_VERSIONS)
def recorded(request, tmp_path_factory):
    """Record scenrecord for 2 s, a second after it started."""
    go = request.param
    tmp = tmp_path_factory.mktemp(f"record-{go}")
    exe = str(tmp / "app")
    shutil.copy(go_build(NAME, go=go), exe)   # moved away later: ours
    reference = subprocess.run([exe, "-interval", "0", "-timing", os.devnull],
                               capture_output=True, text=True, check=True,
                               timeout=120).stdout
    sites = probes(exe)
    timing = tmp / "timing.txt"
    trace = tmp / "app.gmt"
    app = subprocess.Popen([exe, "-timing", str(timing)],
                           stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        before = code_bytes(app.pid, sites)
        rec_start = time.time_ns()
        rec = subprocess.Popen([GMT, "record", "-p", str(app.pid), "-d", "2",
                                "-o", str(trace)],
                               stderr=subprocess.PIPE, text=True)
        # The probes are in while it records: int3 where the probes sit.
        during = before
        while rec.poll() is None and 0xcc not in during:
            during = code_bytes(app.pid, sites)
            time.sleep(0.05)
        _, rec_err = rec.communicate(timeout=120)
        rec_end = time.time_ns()
        after = code_bytes(app.pid, sites)
        out, _ = app.communicate(timeout=120)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    return dict(exe=exe, reference=reference, out=out, trace=trace,
                rec=rec, rec_err=rec_err, rec_start=rec_start,
                rec_end=rec_end, timing=timing, sites=sites, before=before,
                during=during, after=after, tmp=tmp, go=go)


def test_record_writes_a_trace(recorded):
    r = recorded
    assert r["rec"].returncode == 0, r["rec_err"]
    assert "time is up" in r["rec_err"]
    assert len(r["rec_err"].strip().splitlines()) == 1
    assert os.path.exists(r["trace"])
    assert not os.path.exists(str(r["trace"]) + ".partial")
    rep = report_json(r["trace"])
    assert rep["command"] == "record"
    assert rep["target"]["go_version"] == go_release(r["go"])
    assert rep["complete"] is True
    assert rep["target"]["exe"].endswith("/app")
    assert 2.0e9 <= rep["duration_ns"] < 60e9
    line = source_line(NAME, "// WRITE")
    maps = [m for m in rep["maps"]
            if any(s["frames"] and s["frames"][0]["line"] == line and
                   s["frames"][0]["file"].endswith(f"/{NAME}/main.go")
                   for s in m["sites"])]
    assert len(maps) == 1
    assert maps[0]["type"] == "map[int]int"
    # Whole windows of 100,000 writes ran while recording.
    assert maps[0]["ops"]["assign"] >= 100000
    assert maps[0]["goroutines"] == 1


def test_process_output_unchanged(recorded):
    assert recorded["out"] == recorded["reference"]
    assert recorded["out"].count("\n") == 14


def test_probes_removed_after_detach(recorded):
    r = recorded
    on_disk = file_bytes(r["exe"], r["sites"])
    assert r["before"] == on_disk
    assert 0xcc in r["during"]           # the check can see a probe
    assert r["after"] == on_disk


def test_speed_back_after_detach(recorded):
    """The program timed its own write loop; compare within this one run."""
    r = recorded
    rows = windows(r["timing"])
    pre = [ns for a, b, ns in rows if b < r["rec_start"]]
    post = [ns for a, b, ns in rows if a > r["rec_end"]]
    during = [ns for a, b, ns in rows
              if a > r["rec_start"] + 1e9 and b < r["rec_end"] - 0.5e9]
    assert len(pre) >= 4 and len(post) >= 4, (len(pre), len(post))
    base = statistics.median(pre)
    print(f"\nns/op: before {base:.1f}, during "
          f"{statistics.median(during) if during else float('nan'):.1f}, "
          f"after {statistics.median(post):.1f}")
    assert statistics.median(post) <= 3 * base


def findings(rep):
    """What a report finds, by map: type, ops, verdict, writers, and each
    site as op, count and innermost file:line."""
    return sorted(
        (m["type"], m["verdict"], m["goroutines"], m["writers"]["goroutines"],
         sorted(m["ops"].items()),
         sorted((s["op"], s["count"],
                 f"{s['frames'][0]['file']}:{s['frames'][0]['line']}"
                 if s["frames"] else None) for s in m["sites"]))
        for m in rep["maps"])


def test_report_without_the_binary(recorded, tmp_path):
    """The trace copied elsewhere, the binary's path gone: the same
    findings, the same report, byte for byte."""
    r = recorded
    before = gmt("report", r["trace"], "--format", "json").stdout
    text_before = gmt("report", r["trace"]).stdout
    rep = json.loads(before)
    # The original report names the write, exactly: not an empty one.
    line = source_line(NAME, "// WRITE")
    where = f"/{NAME}/main.go:{line}"
    mine = [f for f in findings(rep) if any(
        site[2] and site[2].endswith(where) for site in f[5])]
    assert len(mine) == 1, findings(rep)
    assert mine[0][0] == "map[int]int"
    elsewhere = tmp_path / "copy.gmt"
    shutil.copy(r["trace"], elsewhere)
    # Moved away, not deleted: other tests read this copy of the binary.
    gone = r["exe"] + ".away"
    os.rename(r["exe"], gone)
    try:
        assert not os.path.exists(rep["target"]["exe"])
        after = gmt("report", elsewhere, "--format", "json").stdout
        text_after = gmt("report", elsewhere).stdout
    finally:
        os.rename(gone, r["exe"])
    assert findings(json.loads(after)) == findings(rep)
    assert after == before
    assert text_after == text_before


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_run_trace_matches_live_report(tmp_path, go):
    """`run --trace`: the live report equals the report of its file, PIE
    build (a load bias) included, with the binary (our own copy) deleted."""
    exe = str(tmp_path / "counts")
    shutil.copy(go_build("counts", "pie", go=go), exe)
    live = tmp_path / "live.json"
    trace = tmp_path / "t.gmt"
    p = subprocess.run([GMT, "run", "-f", "json", "-o", str(live),
                        "--trace", str(trace), "--", exe],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    os.unlink(exe)
    saved = gmt("report", trace, "-f", "json").stdout
    assert findings(json.loads(saved)) == findings(json.loads(live.read_text()))
    assert saved == live.read_text()
    assert any(m["ops"]["assign"] == 200000 for m in json.loads(saved)["maps"])


def test_record_bad_pid():
    p = gmt("record", "-p", "999999999", "-d", "1", check=False)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gomaptrace: ")
    assert "999999999" in lines[0]


# A process that is not Go: test_detach.py's test_not_a_go_process.


def test_record_usage():
    assert gmt("record", check=False).returncode == 2
    assert gmt("record", "-p", "abc", check=False).returncode == 2
    assert gmt("record", "-p", "1", "-d", "-3", check=False).returncode == 2
