"""`gomaptrace run`: exact counts, crashing programs, Ctrl-C, a flood of
events, and a real program nobody here wrote (esbuild from npm).

Every expected line number comes from a marker comment in the Go source;
every expected count from what the program itself did.

The exact counts run on all three toolchains. The rest (Ctrl-C, the flood,
outputs, refusals) test the tool's own handling, the same whatever built
the target, and stay on Go 1.19; the crash scenarios on every toolchain and
variant are test_crash.py's.
"""
import json
import os
import re
import signal
import stat
import subprocess

import pytest

from conftest import GMT, GO_VERSIONS, gmt, go_build, go_map_impl, \
    go_release, go_run, source_line

WRITERS_FILE = "counts/main.go"


def run_traced(tmp_path, argv, extra=(), timeout=180, **kw):
    """`gomaptrace run -f json -o R -- argv`; (process, parsed report)."""
    out = tmp_path / "report.json"
    p = subprocess.run([GMT, "run", "-f", "json", "-o", str(out), *extra,
                        "--", *argv], capture_output=True, text=True,
                       timeout=timeout, **kw)
    assert out.exists(), f"no report; stderr:\n{p.stderr}"
    return p, json.loads(out.read_text())


def site_at(site, name, line):
    """The site's innermost frame is tests/go/<name>/main.go:line."""
    f = site["frames"][0] if site["frames"] else {}
    return (f.get("file", "").endswith(f"/tests/go/{name}/main.go")
            and f.get("line") == line)


def maps_written_at(report, name, line):
    return [m for m in report["maps"]
            if any(site_at(s, name, line) for s in m["sites"])]


COUNT_MODES = [
    ("plain", "at-exec"), ("stripped", "at-exec"), ("pie", "at-exec"),
    # Where ptrace is refused, the probes go in before the exec instead.
    ("pie", "before-exec"),
]


@pytest.mark.parametrize("go,variant,attach",
                         [(g, v, a) for g in GO_VERSIONS
                          for v, a in COUNT_MODES])
def test_exact_counts(tmp_path, go, variant, attach):
    exe = go_build("counts", variant, go=go)
    line = source_line("counts", "// WRITE")
    env = dict(os.environ)
    if attach == "before-exec":
        env["GOMAPTRACE_NO_PTRACE"] = "1"
    p, r = run_traced(tmp_path, [exe], env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "200000\n"      # the program's own output, untouched
    assert r["schema"] == "gomaptrace.report/1"
    assert r["lost"] == 0
    assert r["target"]["go_version"] == go_release(go)
    assert r["target"]["map_impl"] == go_map_impl(go)
    maps = maps_written_at(r, "counts", line)
    assert len(maps) == 1, [m["addr"] for m in maps]
    m = maps[0]
    assert m["type"] == "map[int]int"
    assert m["ops"]["assign"] == 200000
    assert m["ops"]["delete"] == m["ops"]["clear"] == 0
    # Every one of them at the writing line: one site, in the goroutine.
    assert [(s["op"], s["count"]) for s in m["sites"]] == [("assign", 200000)]
    assert site_at(m["sites"][0], "counts", line)
    assert m["sites"][0]["frames"][0]["function"].startswith("main.main.func")
    assert m["goroutines"] == 4
    assert 1 <= m["threads"] <= 4
    assert r["events"] >= 200000
    # Probes were in before any Go code ran: the first map writes the
    # program makes, in package initialisers (unicode's tables, via fmt),
    # are there. Which initialiser writes first is the toolchain's choice.
    inits = set(init_map_writers(go, go_build("counts", "plain", go=go)))
    assert inits, "the toolchain put no map write in any initialiser"
    funcs = {f["function"] for m in r["maps"] for s in m["sites"]
             for f in s["frames"]}
    assert inits & funcs, (sorted(inits), sorted(funcs))


def init_map_writers(go, exe):
    """Package initialisers (.init, .init.N, .map.init.N) that call a
    runtime.mapassign*, from the toolchain's own objdump of exe (one with
    symbols: the unstripped twin)."""
    out = go_run(go, "tool", "objdump", "-s", r"\.init(\.|$)", exe).stdout
    fn = None
    for line in out.splitlines():
        if line.startswith("TEXT "):
            fn = line.split()[1][:-len("(SB)")]
            # Not closures made there (.init.func1): they may never run.
            if not re.search(r"\.(map\.)?init(\.\d+)?$", fn):
                fn = None
        elif fn and re.search(r"CALL runtime\.mapassign", line):
            yield fn
            fn = None


SCENARIOS = {
    # name: (runtime message, {marker: op the map must show there})
    "scen1": ("concurrent map writes", {"// WRITE": "assign"}),
    "scen2": ("concurrent map writes",
              {"// WRITE": "assign", "// DELETE": "delete"}),
    "scen3": ("concurrent map iteration and map write",
              {"// WRITE": "assign", "// RANGE": "iterate"}),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_crashing_program(tmp_path, name):
    message, sites = SCENARIOS[name]
    exe = go_build(name)
    plain = subprocess.run([exe], capture_output=True, text=True,
                           timeout=120)
    assert plain.returncode == 2
    assert f"fatal error: {message}" in plain.stderr

    p, r = run_traced(tmp_path, [exe], timeout=120)
    # It fails as it does untraced, in its own words, and we say so.
    assert p.returncode == 2, p.stderr[-2000:]
    assert f"fatal error: {message}" in p.stderr
    assert r["target"]["exit_status"] == 2
    assert r["complete"] is True
    assert r["events"] > 0
    for marker, op in sites.items():
        line = source_line(name, marker)
        maps = maps_written_at(r, name, line)
        assert len(maps) == 1, (marker, [m["addr"] for m in maps])
        m = maps[0]
        assert m["type"] == "map[int]int"
        assert any(s["op"] == op and site_at(s, name, line)
                   for s in m["sites"]), (marker, m["sites"])
    # Both markers name the same map: the one the runtime complained about.
    addrs = {maps_written_at(r, name, source_line(name, k))[0]["addr"]
             for k in sites}
    assert len(addrs) == 1


def test_text_report_names_the_crash(tmp_path):
    exe = go_build("scen1")
    p = gmt("run", "--", exe, check=False, timeout=120)
    assert p.returncode == 2
    line = source_line("scen1", "// WRITE")
    assert "the target died: fatal error: concurrent map writes" in p.stdout
    assert f"scen1/main.go:{line}" in p.stdout
    assert re.search(r"map operations, [0-9,]+ lost", p.stdout)


def test_ctrl_c_reaches_the_program_and_we_still_report(tmp_path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C does."""
    exe = go_build("scenrecord")
    out = tmp_path / "report.json"
    p = subprocess.Popen([GMT, "run", "-f", "json", "-o", str(out), "--",
                          exe, "-iters", "1000", "-timing", os.devnull],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        # The program's first line: it is running, probes and all.
        first = p.stdout.readline()
        assert first.startswith("iteration 0 ")
        os.killpg(p.pid, signal.SIGINT)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 128 + signal.SIGINT, err
    r = json.loads(out.read_text())
    assert r["target"]["exit_status"] == 128 + signal.SIGINT
    line = source_line("scenrecord", "// WRITE")
    maps = maps_written_at(r, "scenrecord", line)
    assert len(maps) == 1
    # The first iteration's 4 windows of 100,000 writes each, at least.
    assert maps[0]["ops"]["assign"] >= 400000


def test_every_write_accounted_for(tmp_path):
    """Writes as fast as 4 goroutines can: events + lost == writes."""
    exe = go_build("scenrate")
    p, r = run_traced(tmp_path, [exe, "-g", "4", "-d", "1s"])
    assert p.returncode == 0, p.stderr
    writes = int(p.stdout.split()[1])
    line = source_line("scenrate", "// WRITE")
    maps = maps_written_at(r, "scenrate", line)
    assert len(maps) == 4                  # one per goroutine
    assigns = sum(m["ops"]["assign"] for m in maps)
    assert all(m["goroutines"] == 1 for m in maps)
    # Never a silent gap: what is not in the report is counted as lost.
    assert assigns + r["lost"] == writes, (assigns, r["lost"], writes)
    print(f"\n{writes} writes in 1 s traced, lost {r['lost']}")


def make_js_project(root, n=300):
    """A tree of n modules (JS and TS) importing each other."""
    for i in range(n):
        kids = [k for k in (2 * i + 1, 2 * i + 2) if k < n]
        ts = i % 3 == 0
        lines = [f'import {{ f{k} }} from "./m{k}";' for k in kids]
        sig = "(x: number): number" if ts else "(x)"
        body = " + ".join([f"f{k}(x + {i})" for k in kids] or [f"x * {i}"])
        lines.append(f"export const name{i} = \"module {i}\";")
        lines.append(f"export function f{i}{sig} {{ return {body}; }}")
        ext = "ts" if ts else "js"
        (root / f"m{i}.{ext}").write_text("\n".join(lines) + "\n")
    (root / "entry.js").write_text(
        'import { f0, name0 } from "./m0";\nconsole.log(name0, f0(1));\n')


def test_esbuild_bundle(tmp_path, esbuild):
    proj = tmp_path / "proj"
    proj.mkdir()
    make_js_project(proj)
    args = ["entry.js", "--bundle", "--log-level=warning"]
    plain = subprocess.run([esbuild, *args, "--outfile=plain.js"],
                           cwd=proj, capture_output=True, timeout=120)
    assert plain.returncode == 0, plain.stderr
    p, r = run_traced(tmp_path, [esbuild, *args, "--outfile=traced.js"],
                      cwd=proj)
    assert p.returncode == 0, p.stderr
    a = (proj / "plain.js").read_bytes()
    b = (proj / "traced.js").read_bytes()
    assert len(a) > 10000 and a == b
    assert r["target"]["map_impl"] == "swiss"
    assert r["events"] >= 1000, r["events"]
    files = {f["file"] for m in r["maps"] for s in m["sites"]
             for f in s["frames"]}
    ours = [f for f in files if "github.com/evanw/esbuild/" in f
            or "esbuild/internal/" in f]
    assert ours, sorted(files)[:20]


def test_not_a_go_binary():
    p = gmt("run", "--", "/bin/true", check=False)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gomaptrace: ")
    assert "Go" in lines[0]


def test_command_not_found():
    p = gmt("run", "--", "no-such-command-gmt", check=False)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        "gomaptrace: no-such-command-gmt: command not found in PATH"]


def test_usage_errors():
    assert gmt("run", check=False).returncode == 2
    p = gmt("run", "-f", "xml", "--", "/bin/true", check=False)
    assert p.returncode == 2 and "xml" in p.stderr
    p = gmt("run", "--ops", "assign,frob", "--", "/bin/true", check=False)
    assert p.returncode == 2 and "frob" in p.stderr


def test_outputs_to_a_fifo_stay_fifos(tmp_path):
    """-o and --trace naming a FIFO write into it; they never replace the
    node with a regular file (renaming over /dev/null once did)."""
    binary = go_build("counts", "plain")
    report_fifo = tmp_path / "report.fifo"
    trace_fifo = tmp_path / "trace.fifo"
    os.mkfifo(report_fifo)
    os.mkfifo(trace_fifo)
    # The readers copy to files: a pipe back to us would fill and block.
    outs = [tmp_path / "report.out", tmp_path / "trace.out"]
    readers = [subprocess.Popen(["cp", str(f), str(o)])
               for f, o in zip((report_fifo, trace_fifo), outs)]
    gmt("run", "-f", "json", "-o", report_fifo, "--trace", trace_fifo,
        "--", binary)
    for r in readers:
        assert r.wait(timeout=60) == 0
    report, trace = (o.read_bytes() for o in outs)
    assert json.loads(report)["maps"]
    assert trace.startswith(b"GMTRACE\0")
    for f in (report_fifo, trace_fifo):
        assert stat.S_ISFIFO(os.stat(f).st_mode)


def test_go_before_register_abi_is_refused(tmp_path):
    """A binary that says it is Go 1.16 (arguments on the stack) is not
    traced: one line, exit 1, and the program is never started."""
    data = open(go_build("counts", "plain"), "rb").read()
    version = go_release("go1.19").encode()
    assert version in data
    old = version.replace(version.split(b".")[1], b"16", 1)
    assert len(old) == len(version)
    patched = tmp_path / "go116"
    patched.write_bytes(data.replace(version, old))
    patched.chmod(0o755)
    p = gmt("run", "--", patched, check=False)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "Go 1.17 and later" in lines[0] and old.decode() in lines[0]
    assert p.stdout == ""
