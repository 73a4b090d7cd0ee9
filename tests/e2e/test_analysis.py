"""Contention analysis, both sides of a map race, and the exports.

Every test runs real Go programs (tests/go/race_*, mutex_*, private_maps)
under real uprobes through `gomaptrace run`, and asserts facts computed
from the programs' source: exact lines (via the // @markers), exact counts.
"""
import json
import re
import signal
import subprocess

import pytest

from conftest import GMT, GO_VERSIONS, gmt, go_build, go_env, source_line

FOLDED_LINE = re.compile(r"^[^ ;]+(;[^ ;]+)* \d+$")


def run_traced(tmp_path, binary, *args, name="trace"):
    """`gomaptrace run` with a JSON report and a trace file: (proc, report)."""
    report = tmp_path / f"{name}.json"
    trace = tmp_path / f"{name}.gmt"
    p = gmt("run", "-f", "json", "-o", report, "-t", trace, *args, "--",
            binary, check=False)
    with open(report) as f:
        return p, json.load(f), trace


def map_of_type(report, typ, **where):
    found = [m for m in report["maps"] if m["type"] == typ and
             all(m[k] == v for k, v in where.items())]
    assert found, f"no {typ} map in {[m['type'] for m in report['maps']]}"
    return found[0]


# tests/go/mutex_writers: 4 goroutines x 50,000 writes, each under the lock.
MUTEX_WRITES = 200000


@pytest.fixture(scope="module", params=GO_VERSIONS)
def mutex_run(request, tmp_path_factory):
    """mutex_writers traced once per toolchain; (report, trace, dir, go)."""
    go = request.param
    tmp = tmp_path_factory.mktemp(f"mutex-{go}")
    p, report, trace = run_traced(tmp, go_build("mutex_writers", go=go))
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"entries: {MUTEX_WRITES}\n"
    return report, trace, tmp, go


def test_mutex_writers_handoffs_no_overlaps(mutex_run):
    report, _, _, _ = mutex_run
    assert report["lost"] == 0
    m = map_of_type(report, "map[int]int")
    assert m["ops"]["assign"] == MUTEX_WRITES
    assert m["writers"]["goroutines"] == 4
    assert m["handoffs"] > 0
    assert m["overlaps"] == 0
    assert m["verdict"] in ("shared", "contended")
    assert report["crash"] is None
    # Every write was at the one line, by the four goroutines.
    put = source_line("mutex_writers", "@put")
    assert [(s["op"], s["count"], s["frames"][0]["line"])
            for s in m["sites"]] == [("assign", MUTEX_WRITES, put)]
    assert sum(b["count"] for b in m["gap_histogram"]) > 0
    for b in m["gap_histogram"]:
        assert b["lt_ns"] == 2 * b["ge_ns"] or b["ge_ns"] == 0
    # The conflicting pair is put against itself, from other goroutines.
    assert m["conflicts"][0]["count"] == m["handoffs"]
    assert m["conflicts"][0]["overlaps"] == 0
    for side in ("a", "b"):
        assert m["conflicts"][0][side]["frames"][0]["line"] == put
    assert report["hot_spots"][0]["map"] == report["maps"].index(m)


def test_mutex_text_fits_one_screen(mutex_run):
    _, trace, _, _ = mutex_run
    text = gmt("report", trace).stdout
    lines = text.splitlines()
    assert len(lines) <= 50, text
    assert max(len(line) for line in lines) <= 100, text
    assert "4 goroutines" in text
    assert "no overlaps" in text
    assert f"main.go:{source_line('mutex_writers', '@put')}" in text
    # The finding names the map by its type, with its exact count.
    head = re.search(r"^\d+\. map\[int\]int at 0x[0-9a-f]+\n(.*\n)*?\n",
                     text, re.M)
    assert head, text
    assert f"{MUTEX_WRITES:,} ops" in head.group(0), head.group(0)
    assert f"{MUTEX_WRITES:,} assign" in head.group(0), head.group(0)
    assert "\033[" not in text      # not a TTY: no colour


def test_pprof_top_is_the_writing_function(mutex_run, go_tool):
    # The profile is gomaptrace's output, not the Go program: any pprof
    # reads it. Go 1.19's is prebuilt; 1.26 and 1.27 build theirs on first
    # use (about a minute on 2 cores).
    _, trace, tmp, _ = mutex_run
    out = tmp / "maps.pb.gz"
    gmt("report", trace, "--format", "pprof", "-o", out)
    with open(out, "rb") as f:
        assert f.read(2) == b"\x1f\x8b"
    env = go_env("go1.19")[1]
    top = subprocess.run([go_tool, "tool", "pprof", "-top", str(out)],
                         capture_output=True, text=True, check=True,
                         env=env).stdout
    rows = top[top.index("flat%"):].splitlines()[1:]
    assert rows[0].split()[-1] == "main.(*registry).put", top
    assert rows[0].split()[0] == str(MUTEX_WRITES), top
    for index in ("handoffs", "overlaps"):
        subprocess.run([go_tool, "tool", "pprof", "-top",
                        "-sample_index=" + index, str(out)],
                       capture_output=True, check=True, env=env)
    traces = subprocess.run([go_tool, "tool", "pprof", "-traces", str(out)],
                            capture_output=True, text=True,
                            check=True, env=env).stdout
    assert "main.worker" in traces
    assert "map_type:  map[int]int" in traces


def test_folded_one_stack_per_line(mutex_run):
    report, trace, _, _ = mutex_run
    out = gmt("report", trace, "--format", "folded").stdout
    lines = out.splitlines()
    assert lines
    for line in lines:
        assert FOLDED_LINE.match(line), line
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) == \
        report["events"]
    put = [line for line in lines if line.split(" ")[0].endswith(
        ";main.(*registry).put")]
    assert len(put) == 1 and put[0].endswith(f" {MUTEX_WRITES}")
    assert put[0].startswith("runtime.goexit;")
    # Weighted by overlaps: a lock means none at all.
    assert gmt("report", trace, "--format", "folded", "--weight",
               "overlaps").stdout == ""


def test_perfetto_track_per_thread(mutex_run):
    _, trace, _, _ = mutex_run
    data = json.loads(gmt("report", trace, "--format", "perfetto").stdout)
    events = data["traceEvents"]
    named = {e["tid"] for e in events
             if e["ph"] == "M" and e["name"] == "thread_name"}
    writes = [e for e in events if e.get("cat") == "map" and
              e["args"]["type"] == "map[int]int"]
    assert len(writes) == MUTEX_WRITES
    assert {e["tid"] for e in writes} <= named
    assert len({e["args"]["goroutine"] for e in writes}) == 4
    put = source_line("mutex_writers", "@put")
    assert all(e["args"]["site"].endswith(f"main.go:{put}")
               for e in writes)
    assert all(e["ph"] == "i" for e in writes)


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_private_maps_no_finding(tmp_path, go):
    p, report, trace = run_traced(tmp_path, go_build("private_maps", go=go))
    assert p.returncode == 0, p.stderr
    assert p.stdout == "entries: 20000\n"
    assert all(m["writers"]["goroutines"] <= 1 for m in report["maps"])
    mine = [m for m in report["maps"] if m["type"] == "map[int]int"]
    assert len(mine) == 4
    fill = source_line("private_maps", "@fill")
    for m in mine:
        assert m["verdict"] == "single_writer"
        assert m["hidden"]
        assert m["ops"]["assign"] == 5000
        assert m["sites"][0]["frames"][0]["line"] == fill
    assert report["hot_spots"] == []
    text = gmt("report", trace).stdout
    assert "no findings" in text
    assert f"main.go:{fill}" not in text


# Go 1.19 only: --top is the report's, the same for every toolchain.
def test_top_limits_hot_spots(tmp_path):
    _, _, trace = run_traced(tmp_path, go_build("race_writes"))
    full = json.loads(gmt("report", trace, "--format", "json").stdout)
    assert len(full["hot_spots"]) >= 1
    one = json.loads(gmt("report", trace, "--format", "json", "--top",
                         "1").stdout)
    assert one["hot_spots"] == full["hot_spots"][:1]
    bad = gmt("report", trace, "--top", "x", check=False)
    assert bad.returncode == 2 and "--top" in bad.stderr


def write_project(root, n=300):
    """A project of n modules importing each other as a binary tree."""
    src = root / "src"
    src.mkdir()
    for i in range(n):
        deps = [j for j in (2 * i + 1, 2 * i + 2) if j < n]
        body = "".join(f'import {{ f{j} }} from "./m{j}.js";\n'
                       for j in deps)
        calls = "".join(f" s += f{j}(x);" for j in deps)
        body += (f"export function f{i}(x) {{ let s = x + {i};{calls} "
                 f"return s; }}\n")
        (src / f"m{i}.js").write_text(body)
    (src / "index.js").write_text(
        'import { f0 } from "./m0.js";\nconsole.log(f0(1));\n')
    return src / "index.js"


def test_esbuild_shared_maps(tmp_path, esbuild):
    entry = write_project(tmp_path)
    out = tmp_path / "out.js"
    rep = tmp_path / "esb.json"
    gmt("run", "-f", "json", "-o", rep, "--", esbuild, entry, "--bundle",
        f"--outfile={out}", "--log-level=warning")
    report = json.loads(rep.read_text())
    assert out.stat().st_size > 0
    shared = [m for m in report["maps"] if m["writers"]["goroutines"] > 1
              and not m["hidden"]]
    assert shared, "no map written by more than one goroutine"
    files = {f["file"] for m in shared for s in m["sites"]
             for f in s["frames"]}
    assert any("github.com/evanw/esbuild/" in f for f in files), files
    for m in shared:
        assert m["overlaps"] == 0 or m["verdict"] == "race"


# Go 1.19 only: `top` attaches and detaches as record does; its probes on
# every toolchain are test_record.py's.
def test_top_live_view(tmp_path):
    binary = go_build("mutex_server")
    target = subprocess.Popen([binary], stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout.readline() == "ready\n"
        p = gmt("top", "-p", target.pid, "--interval", "0.2", "-n", "3")
        assert p.stdout.count("gomaptrace top") == 3
        assert "map[string]int" in p.stdout
        touch = source_line("mutex_server", "@touch")
        assert f"main.go:{touch}" in p.stdout
        assert "\033[" not in p.stdout   # not a TTY: plain blocks
        assert target.poll() is None     # detached, still running
    finally:
        target.send_signal(signal.SIGKILL)
        target.wait()
