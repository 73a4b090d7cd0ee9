"""Streaming analysis: the same answers as before, every operation counted,
and a real server's report that stays small.

- Same answers: traces of tests/go programs recorded here are analysed by
  the old analysis (kept verbatim in tests/unit/old_analysis.c, built into
  build/tests/test_stream only) and the new one, which must agree on every
  field of every map (test_stream FILE... compares and says so).
- Exact counts: in the JSON report, the operations of the listed maps plus
  the private summaries add up to `events`, to the last one.
- A real server: tests/go/http_server (net/http, maps per request, one
  table shared under a mutex) under tests/go/http_load on 127.0.0.1 for
  30 s while `record -p` runs; its report is small, names the shared map
  at its marker line, and summarises the rest; record's memory stays flat.
"""
import json
import os
import subprocess
import time

import pytest

from conftest import BUILD, GMT, GO_SRC, GO_VERSIONS, each_parallel, gmt, \
    go_build, go_env, source_line

COMPARE = os.path.join(BUILD, "tests", "test_stream")
PROGRAMS = ["mutex_writers", "race_writes", "pairmerge", "private_maps"]


def record_run(tmp_path, prog, go):
    trace = tmp_path / f"{prog}-{go}.gmt"
    gmt("run", "-f", "json", "-o", tmp_path / f"{prog}-{go}.json", "-t",
        trace, "--", go_build(prog, go=go), check=False)
    assert trace.stat().st_size > 0
    return trace


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """traces(go): each program's trace on toolchain go, recorded once for
    the module: the same runs serve both the comparison with the old
    analysis and the exact counts (the answers are about the analysis of
    a trace, not about one run of it)."""
    tmp = tmp_path_factory.mktemp("stream")
    done = {}

    def get(go):
        if go not in done:
            done[go] = each_parallel(lambda p: record_run(tmp, p, go),
                                     PROGRAMS)
        return done[go]
    return get


def counted(report):
    return (sum(m["events"] for m in report["maps"]) +
            report["private"]["events"])


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_same_answers_as_the_old_analysis(traces, go):
    recorded = traces(go)
    p = subprocess.run([COMPARE, *map(str, recorded)], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == len(recorded), p.stdout
    for trace, line in zip(recorded, lines):
        assert line.startswith(f"{trace}: ") and \
            line.endswith(" events, same answers"), line
        assert int(line.split()[1]) > 0


@pytest.mark.parametrize("go", ["go1.19", "go1.26"])
def test_exact_counts(traces, go):
    for prog, trace in zip(PROGRAMS, traces(go)):
        r = json.loads(gmt("report", trace, "-f", "json").stdout)
        assert counted(r) == r["events"], prog
        assert len(r["maps"]) + r["private"]["maps"] == r["maps_seen"]
        assert sum(g["events"] for g in r["private"]["groups"]) == \
            r["private"]["events"]
        assert sum(g["maps"] for g in r["private"]["groups"]) == \
            r["private"]["maps"]
        every = json.loads(gmt("report", trace, "-f", "json",
                               "--all").stdout)
        assert every["private"] == {"maps": 0, "events": 0, "groups": []}
        assert len(every["maps"]) == r["maps_seen"]
        assert sum(m["events"] for m in every["maps"]) == r["events"]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def go_binary(tmp_path, name, go):
    """A Go program built with toolchain go (net/http: not the tests'
    go_build cache key, same flags)."""
    path, env = go_env(go)
    out = tmp_path / name
    subprocess.run([path, "build", "-o", str(out), f"./{name}"],
                   cwd=GO_SRC, env=env, check=True, timeout=600)
    return str(out)


# Go 1.26 only, once: 30 s of load is the suite's longest test; the
# analysis it checks is the same on every toolchain (test_same_answers).
def test_http_server_under_load(tmp_path):
    server = go_binary(tmp_path, "http_server", "go1.26")
    load = go_binary(tmp_path, "http_load", "go1.26")
    srv = subprocess.Popen([server], stdout=subprocess.PIPE, text=True)
    trace = tmp_path / "server.gmt"
    try:
        words = srv.stdout.readline().split()
        assert words[0] == "listening", words
        rec = subprocess.Popen([GMT, "record", "-p", str(srv.pid), "-d",
                                "30", "-o", str(trace)],
                               stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        # The load outlasts the recording: top looks at it afterwards.
        gen = subprocess.Popen([load, words[1], "4", "36"],
                               stdout=subprocess.PIPE, text=True)
        samples = []
        while rec.poll() is None:
            samples.append(rss_kb(rec.pid))
            time.sleep(1)
        assert rec.returncode == 0, rec.stderr.read()
        top = gmt("top", "-p", srv.pid, "--interval", "1", "-n", "1",
                  "--top", "40")
        out, _ = gen.communicate(timeout=60)
    finally:
        srv.kill()
        srv.wait()
    reqs = int(out.split()[1])
    assert reqs > 1000 and out.split()[3] == "0", out
    # Memory: the ring buffer (64 MB, mapped twice), the binary and its
    # symbols, and an event array no larger than what one poll drains:
    # nothing that grows with the operations or the maps. Measured here:
    # ~146 MB at 5 s, ~158 MB from 60 s to 125 s (21 MB of it anonymous).
    print(f"record RSS kB per second: {samples}")
    assert len(samples) >= 25
    assert max(samples) < 256 * 1024, samples
    assert max(samples[10:]) - samples[10] < 32 * 1024, samples

    report = tmp_path / "server.json"
    gmt("report", trace, "-f", "json", "-o", report)
    assert report.stat().st_size <= 10 * 1024 * 1024
    r = json.loads(report.read_text())
    assert counted(r) == r["events"]
    shared_line = source_line("http_server", "@shared")
    shared = [m for m in r["maps"] if not m["hidden"] and
              m["type"] == "map[string]int"]
    assert len(shared) == 1, [(m["type"], m["verdict"]) for m in r["maps"]
                              if not m["hidden"]]
    m = shared[0]
    assert m["verdict"] in ("shared", "contended")
    # Recorded for 30 of the load's 36 s.
    assert reqs * 0.5 < m["ops"]["assign"] < reqs
    assert [(s["op"], s["frames"][0]["line"]) for s in m["sites"]] == \
        [("assign", shared_line)]
    assert m["sites"][0]["frames"][0]["file"].endswith(
        "http_server/main.go")
    # The rest: summarised by (type, first site), the request maps there.
    groups = r["private"]["groups"]
    assert r["private"]["maps"] >= m["ops"]["assign"]
    words_line = source_line("http_server", "@words")
    mine = [g for g in groups if g["type"] == "map[string]int" and
            g["first_site"]["frames"][0]["line"] == words_line]
    assert len(mine) == 1 and \
        mine[0]["maps"] >= m["ops"]["assign"] * 0.9, mine
    assert any(g["type"] == "http.Header" for g in groups)

    text = gmt("report", trace).stdout
    assert f"http_server/main.go:{shared_line}" in text
    assert " private maps of " in text
    assert f"main.words (http_server/main.go:{words_line})" in text

    # top: the shared map first, then private maps grouped.
    rows = top.stdout.splitlines()
    first = rows[rows.index(next(x for x in rows if "OPS/S" in x)) + 1]
    assert "map[string]int" in first and int(first.split()[1]) > 1, \
        top.stdout
    assert any(" private " in x and " maps of " in x for x in rows), \
        top.stdout
