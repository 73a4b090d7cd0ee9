"""The command-line convention every subcommand shares (user/cli.c), the one
operation vocabulary of `info`, the reports and --ops, and the text
report's merged site-pair lines."""
import json
import re
import subprocess

import pytest

from conftest import GMT, gmt, go_build, source_line

SUBCOMMANDS = ["run", "record", "report", "top", "info", "symbolize", "daemon",
               "status"]

# A value -p must refuse, and the rest of a command line that is otherwise
# fine: the refusal must come from the value alone.
PID_COMMANDS = {
    "record": ("-d", "1", "-o", "/nonexistent/x.gmt"),
    "top": ("-n", "1"),
    "info": (),
    "symbolize": ("0x401000",),
}
NOT_PIDS = ["1e3", "0x3e8", "+1000", "1000.0", " 1000", "1000 ", "inf", "-5",
            "0", ""]


def one_stderr_line(p):
    assert p.stdout == "", p.stdout
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


def test_version():
    p = gmt("--version")
    assert p.stderr == ""
    assert re.fullmatch(r"gomaptrace \d+\.\d+\.\d+( \([0-9a-f]{7,}\))?\n",
                        p.stdout), p.stdout


def test_top_level_help_names_every_subcommand():
    out = gmt("--help").stdout
    block = out.split("Commands:\n")[1].split("\n\n")[0]
    listed = [m.group(1) for m in re.finditer(r"^  (\w+) ", block, re.M)]
    assert listed == SUBCOMMANDS
    assert "--version" in out


@pytest.mark.parametrize("flag", ["-h", "--help"])
@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_subcommand_help(sub, flag):
    """Exit 0, on stdout, the usage names `gomaptrace SUB`, with examples
    that are command lines of this subcommand."""
    p = gmt(sub, flag)
    assert p.stderr == ""
    lines = p.stdout.splitlines()
    assert lines[0].startswith(f"Usage: gomaptrace {sub} "), lines[0]
    examples = lines[lines.index("Examples:") + 1:]
    ex = [x for x in examples if x.startswith(f"  gomaptrace {sub} ")]
    assert len(ex) >= 2, p.stdout
    assert "-h, --help" in p.stdout


@pytest.mark.parametrize("bad", NOT_PIDS)
@pytest.mark.parametrize("sub", list(PID_COMMANDS))
def test_pid_is_strict(sub, bad):
    """-p takes decimal digits only: a usage error, exit 2, one line naming
    the value (strtod read "1e3" as PID 1000 once)."""
    p = gmt(sub, "-p", bad, *PID_COMMANDS[sub], check=False)
    assert p.returncode == 2, p.stderr
    line = one_stderr_line(p)
    assert line.startswith("gomaptrace") and f"'{bad}'" in line, line


@pytest.mark.parametrize("args,bad", [
    (("record", "-p", "1", "-d", "1e1"), "1e1"),
    (("record", "-p", "1", "-d", "nan"), "nan"),
    (("record", "-p", "1", "-d", "0"), "0"),
    (("record", "-p", "1", "--ringbuf-mb", "0x40"), "0x40"),
    (("record", "-p", "1", "--ringbuf-mb", "64.0"), "64.0"),
    (("top", "-p", "1", "--interval", "1e0"), "1e0"),
    (("top", "-p", "1", "-n", "1e1"), "1e1"),
    (("top", "-p", "1", "--top", "-3"), "-3"),
    (("report", "x.gmt", "--top", "1e2"), "1e2"),
    (("run", "--top", "0x10", "--", "/bin/true"), "0x10"),
    (("run", "--ringbuf-mb", "3", "--", "/bin/true"), "3"),
])
def test_numbers_are_strict(args, bad):
    p = gmt(*args, check=False)
    assert p.returncode == 2, p.stderr
    assert f"'{bad}'" in one_stderr_line(p)


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_unknown_option_is_one_line(sub):
    p = gmt(sub, "--no-such-option", check=False)
    assert p.returncode == 2
    line = one_stderr_line(p)
    assert line.startswith(f"gomaptrace {sub}: ") and \
        "'--no-such-option'" in line and f"gomaptrace {sub} --help" in line


@pytest.mark.parametrize("sub", ["record", "top", "info"])
def test_missing_value_is_one_line(sub):
    p = gmt(sub, "-p", check=False)
    assert p.returncode == 2
    assert "'-p'" in one_stderr_line(p)


def test_verbose_shows_libbpf_log(tmp_path):
    """-v replaces GOMAPTRACE_DEBUG: libbpf's log reaches stderr; without
    it the run is quiet."""
    exe = go_build("counts", "plain")
    quiet = gmt("run", "-o", tmp_path / "a.txt", "--", exe)
    assert quiet.stderr == ""
    loud = gmt("run", "-vv", "-o", tmp_path / "b.txt", "--", exe)
    assert "libbpf" in loud.stderr, loud.stderr[:500]


# ---- one operation vocabulary ----------------------------------------------

ALL_MAP_OPS = "assign,delete,clear,iterate,iter_next"


def info_ops(exe):
    return {p["op"] for p in json.loads(gmt("info", exe, "--json").stdout)
            ["probes"]}


def report_ops(tmp_path, exe, ops):
    """The op names the JSON and text reports of one traced run use."""
    trace = tmp_path / f"{ops}.gmt"
    out = tmp_path / f"{ops}.json"
    gmt("run", "--ops", ops, "--trace", trace, "-f", "json", "-o", out,
        "--", exe)
    r = json.loads(out.read_text())
    names = {s["op"] for m in r["maps"] for s in m["sites"]}
    assert names == {k for m in r["maps"] for k, v in m["ops"].items() if v}
    text = gmt("report", trace, "--all").stdout
    words = set()
    for line in text.splitlines():
        m = re.match(r"^\s+[\d,]+ ops(?: \([\d,]+/s\))?: (.*); ", line)
        if m:
            words |= {w.split()[1] for w in m.group(1).split(", ")}
    assert words == names, (words, names)
    return names


@pytest.mark.parametrize("go", ["go1.19", "go1.26"])
def test_info_ops_are_report_ops(tmp_path, go):
    """Every op `info --json` names is a word the reports use for what that
    probe records and one --ops accepts: infotest calls every kind of map
    function, so the run with all ops shows each (fatal only in a crash)."""
    exe = go_build("infotest", "plain", go=go)
    names = info_ops(exe)
    assert names == {"assign", "delete", "clear", "iterate", "iter_next",
                     "fatal"}, names
    assert report_ops(tmp_path, exe, ALL_MAP_OPS) == names - {"fatal"}
    for op in sorted(names):
        got = report_ops(tmp_path, exe, op)
        assert got == ({op} if op != "fatal" else set()), (op, got)


def test_old_op_name_still_accepted(tmp_path):
    """`--ops iter_init`, the word `info` printed before, selects iterate."""
    exe = go_build("infotest", "plain")
    assert report_ops(tmp_path, exe, "iter_init") == {"iterate"}


# ---- the text report -------------------------------------------------------

PAIR = re.compile(r"^\s+([\d,]+) x\s+(.*?)(?: ([\d,]+) overlapping)?$")
OTHER = re.compile(r"^\s+<->\s+(.*)$")
ROW = re.compile(r"^\s+\S+ \S+\+ \|#* +(\d+)$")


def where(frames):
    """A site as the text report prints it: innermost frame, dir/file."""
    if not frames:
        return "(no stack)"
    f = frames[0]
    short = "/".join(f["file"].split("/")[-2:])
    return f"{f['function']} ({short}:{f['line']})"


def expected_pairs(conflicts):
    """The JSON's conflicts merged as the text prints them."""
    merged = {}
    for c in conflicts:
        a = where(c["a"]["frames"])
        if c["b"] is None:
            b = "(a write that was not traced)"
        else:
            b = where(c["b"]["frames"])
            if b == a:
                b = "the same site, in another goroutine"
        key = (b, a) if (b, a) in merged else (a, b)
        n, o = merged.get(key, (0, 0))
        merged[key] = (n + c["count"], o + c["overlaps"])
    return merged


def text_pairs(text):
    lines = text.splitlines()
    start = lines.index("   who else writes it (site pairs, different "
                        "goroutines):")
    got = {}
    i = start + 1
    while i < len(lines) and PAIR.match(lines[i]):
        m, o = PAIR.match(lines[i]), OTHER.match(lines[i + 1])
        assert o, lines[i + 1]
        key = (m.group(2), o.group(1))
        assert key not in got and key[::-1] not in got, key
        got[key] = (int(m.group(1).replace(",", "")),
                    int((m.group(3) or "0").replace(",", "")))
        i += 2
    return got, lines[i:]


def test_site_pairs_that_print_alike_are_one_line(tmp_path):
    """pairmerge's first goroutine writes at one line from two callers (two
    sites), the second at its own line: the analysis has two pairs, the
    text prints them as one, counts summed."""
    exe = go_build("pairmerge", "plain")
    trace = tmp_path / "t.gmt"
    gmt("run", "--trace", trace, "-o", tmp_path / "r.txt", "--", exe)
    r = json.loads(gmt("report", trace, "-f", "json").stdout)
    put = source_line("pairmerge", "@put")
    maps = [m for m in r["maps"]
            if any(s["frames"] and s["frames"][0]["line"] == put
                   for s in m["sites"])]
    assert len(maps) == 1
    conflicts = maps[0]["conflicts"]
    want = expected_pairs(conflicts)
    # The merge is exercised: more pairs in the analysis than lines.
    assert len(want) < len(conflicts), conflicts
    assert len(want) <= 3, want
    got, rest = text_pairs(gmt("report", trace).stdout)
    assert got == want
    other = f"(pairmerge/main.go:{source_line('pairmerge', '@other')})"
    assert any(other in a or other in b for a, b in got)
    # The histogram below: no row that is zero at either end.
    hist = maps[0]["gap_histogram"]
    assert rest[0].startswith("   time since another goroutine's last write")
    rows = [int(ROW.match(x).group(1)) for x in rest[1:] if ROW.match(x)]
    idx = {(h["ge_ns"].bit_length() - 1 if h["ge_ns"] else 0): h["count"]
           for h in hist}
    lo, hi = min(idx), max(idx)
    assert rows == [idx.get(i, 0) for i in range(lo, hi + 1)]
    assert rows[0] and rows[-1]


def test_run_and_record_share_the_session(tmp_path):
    """run's trace is filled by the session as record's is: the command,
    the child's pid and exit status, every assign (--ops assign only)."""
    exe = go_build("counts", "plain")
    trace = tmp_path / "t.gmt"
    p = subprocess.run([GMT, "run", "--trace", str(trace), "--ops",
                        "assign", "-o", str(tmp_path / "r.txt"), "--",
                        exe], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    r = json.loads(gmt("report", trace, "-f", "json").stdout)
    assert r["command"] == "run"
    assert r["target"]["pid"] > 0 and r["target"]["exit_status"] == 0
    assert r["complete"] and r["lost"] == 0
    assert {k for m in r["maps"] for k, v in m["ops"].items() if v} == \
        {"assign"}
