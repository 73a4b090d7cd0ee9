"""`gomaptrace symbolize` against Go's own tools and the source itself.

Every expected answer comes from somewhere other than gomaptrace: from
`go tool addr2line` and `go tool objdump` run on the unstripped twin of the
binary (the tools of the toolchain that built it, for each of the three),
from the compiler's -m report, from marker comments in the Go
source, and from /proc/PID/maps.
"""
import os
import re
import struct
import subprocess
import tempfile

import pytest

from conftest import GMT, GO_SRC, GO_VERSIONS, gmt, gmt_json, go_build, \
    elf_sections, go_run, go_source, source_line

NAME = "symtest"
NPCS = 1500                     # PCs compared with addr2line per variant
# variant -> the unstripped twin with the same link addresses
TWIN = {"plain": "plain", "stripped": "plain", "pie": "pie",
        "pie-stripped": "pie"}
# PIE listings have no line column (":0"): see gosymref.
OBJDUMP_LINE = re.compile(r"^\s+\S*:\d+\s+0x([0-9a-f]+)\s+\S+\s+(.*)$")


_objdumps = {}


def objdump(binary, func=None, go="go1.19"):
    """[(pc, function, instruction)] of `go tool objdump`, in order."""
    if (binary, func) in _objdumps:
        return _objdumps[binary, func]
    args = ["tool", "objdump"] + (["-s", func] if func else []) + [binary]
    out = go_run(go, *args).stdout
    insns, fn = [], None
    for line in out.splitlines():
        if line.startswith("TEXT "):
            fn = line.split()[1][:-len("(SB)")]
            continue
        m = OBJDUMP_LINE.match(line)
        if m:
            insns.append((int(m.group(1), 16), fn, m.group(2).strip()))
    _objdumps[binary, func] = insns
    return insns


def addr2line(binary, pcs, tool=None, go="go1.19"):
    """{pc: (function, "file:line")} from `go tool addr2line` of toolchain
    `go`, or from `tool` (tests/go/gosymref: the same debug/gosym lookup,
    for PIE binaries, which Go 1.19's addr2line cannot read)."""
    stdin = "".join(f"0x{pc:x}\n" for pc in pcs)
    if tool:
        out = subprocess.run([tool, binary], input=stdin, capture_output=True,
                             text=True, check=True).stdout
    else:
        out = go_run(go, "tool", "addr2line", binary, input=stdin).stdout
    lines = out.splitlines()
    assert len(lines) == 2 * len(pcs)
    return {pc: (lines[2 * i], lines[2 * i + 1]) for i, pc in enumerate(pcs)}


def reference_lines(go, twin, pcs):
    """addr2line's answers for the twin: the toolchain's own addr2line, or
    gosymref built by the same toolchain where that addr2line knows nothing
    of the binary (Go 1.19 and PIE)."""
    probe = addr2line(twin, pcs[:5], go=go)
    if set(probe.values()) == {("?", "?:0")}:
        return addr2line(twin, pcs, go_build("gosymref", go=go))
    return addr2line(twin, pcs, go=go)


def symbolize_json(binary, pcs):
    res = gmt_json("symbolize", binary, *[f"0x{pc:x}" for pc in pcs],
                   "--json")
    assert [int(r["addr"], 16) for r in res] == list(pcs)
    return res


@pytest.mark.parametrize("go,variant",
                         [(g, v) for g in GO_VERSIONS for v in TWIN])
def test_agrees_with_addr2line(go, variant):
    binary = go_build(NAME, variant, go=go)
    twin = go_build(NAME, TWIN[variant], go=go)
    if variant.endswith("stripped"):
        assert ".symtab" not in elf_sections(binary)
        assert not any(n.startswith(".debug") or n.startswith(".zdebug")
                       for n in elf_sections(binary))
    insns = objdump(twin, go=go)
    # Every k-th instruction start over the whole text, first to last.
    step = max(1, len(insns) // NPCS)
    picked = insns[::step] + [insns[-1]]
    pcs = [pc for pc, _, _ in picked]
    assert len(pcs) >= 1000
    assert len({fn for _, fn, _ in picked}) >= 500
    want = reference_lines(go, twin, pcs)
    got = symbolize_json(binary, pcs)
    inlined = 0
    for r in got:
        pc = int(r["addr"], 16)
        frames = r["frames"]
        fn, fileline = want[pc]
        assert frames, f"0x{pc:x}: no frames, addr2line says {fn}"
        inner, outer = frames[0], frames[-1]
        assert f"{inner['file']}:{inner['line']}" == fileline, \
            f"0x{pc:x}: {frames} vs addr2line {fn} {fileline}"
        assert outer["function"] == fn, f"0x{pc:x}: {frames} vs {fn}"
        assert [f["inlined"] for f in frames] == \
            [True] * (len(frames) - 1) + [False]
        inlined += len(frames) > 1
    # The comparison must cover inlined code, not only plain functions.
    assert inlined >= 50, inlined


def test_gosymref_is_addr2line(go_tool):
    """Where both work, gosymref answers exactly as `go tool addr2line`."""
    twin = go_build(NAME, "plain")
    pcs = [pc for pc, _, _ in objdump(twin)[::97]]
    assert len(pcs) >= 1000
    assert addr2line(twin, pcs, go_build("gosymref")) == \
        addr2line(twin, pcs)
    # ... and in a PIE, addr2line knows nothing: hence gosymref.
    pie = go_build(NAME, "pie")
    assert set(addr2line(pie, pcs[:5]).values()) == {("?", "?:0")}


def map_write_call(variant, go="go1.19"):
    """Link-time address of fill's CALL runtime.mapassign_faststr."""
    twin = go_build(NAME, TWIN[variant], go=go)
    calls = [pc for pc, _, insn in objdump(twin, "^main.fill$", go=go)
             if insn.startswith("CALL runtime.mapassign_faststr")]
    assert len(calls) == 1, calls
    return calls[0]


def expected_inline_frames():
    src = go_source(NAME)
    return [
        {"function": "main.(*Store).put", "file": src,
         "line": source_line(NAME, "MARK:write"), "inlined": True},
        {"function": "main.fill", "file": src,
         "line": source_line(NAME, "MARK:call"), "inlined": False},
    ]


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_put_is_inlined(go):
    """The compiler itself says put is inlined at the call site."""
    p = go_run(go, "build", "-gcflags=-m", "-o", os.devnull, "./" + NAME,
               cwd=GO_SRC, env={"CGO_ENABLED": "0"})
    call = source_line(NAME, "MARK:call")
    assert re.search(rf"main\.go:{call}:\d+: inlining call to "
                     r"\(\*Store\)\.put", p.stderr), p.stderr


@pytest.mark.parametrize("go,variant",
                         [(g, v) for g in GO_VERSIONS for v in TWIN])
def test_inlined_map_write(go, variant):
    binary = go_build(NAME, variant, go=go)
    pc = map_write_call(variant, go)
    res = symbolize_json(binary, [pc])
    assert res[0]["frames"] == expected_inline_frames()


def test_text_output(go_tool):
    binary = go_build(NAME, "stripped")
    pc = map_write_call("stripped")
    want = [f"0x{pc:x} {f['function']} {f['file']}:{f['line']}" +
            (" (inlined)" if f["inlined"] else "")
            for f in expected_inline_frames()]
    p = gmt("symbolize", binary, f"0x{pc:x}", str(pc))
    assert p.stdout.splitlines() == want + want
    assert p.stderr == ""


def test_address_outside_code(go_tool):
    binary = go_build(NAME, "plain")
    res = gmt_json("symbolize", binary, "0x10", "--json")
    assert res == [{"addr": "0x10", "frames": []}]
    p = gmt("symbolize", binary, "16")
    assert p.stdout == ""
    assert p.stderr == "gomaptrace: 16: not in any Go function\n"


def load_bias(pid, binary):
    """Run-time minus link-time address, from /proc/PID/maps and the ELF
    program headers (the PT_LOAD that maps file offset 0)."""
    with open(binary, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    vaddr0 = None
    for i in range(phnum):
        p_type, _, off, vaddr = struct.unpack_from(
            "<IIQQ", data, phoff + i * phentsize)
        if p_type == 1 and off == 0:
            vaddr0 = vaddr
    assert vaddr0 is not None
    real = os.path.realpath(binary)
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and fields[5] == real and \
                    int(fields[2], 16) == 0:
                return int(fields[0].split("-")[0], 16) - vaddr0
    raise AssertionError(f"{real} not mapped at offset 0 in PID {pid}")


@pytest.mark.parametrize("variant", ["pie", "pie-stripped", "plain"])
def test_pid(variant, go_tool):
    binary = go_build(NAME, variant)
    pc = map_write_call(variant)
    proc = subprocess.Popen([binary, "wait"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "keys 1\n"
        assert proc.stdout.readline() == "ready\n"
        bias = load_bias(proc.pid, binary)
        if variant.startswith("pie"):
            assert bias != 0
        else:
            assert bias == 0
        res = gmt_json("symbolize", "-p", proc.pid, f"0x{pc + bias:x}",
                       "--json")
        assert res == [{"addr": f"0x{pc + bias:x}",
                        "frames": expected_inline_frames()}]
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def test_esbuild(esbuild):
    """Go 1.26, no .symtab, no DWARF: every map function info names
    symbolises back to itself with a Go source file and a line."""
    info = gmt_json("info", esbuild, "--json")
    probes = [p for p in info["probes"] if p["function"].startswith("runtime.map")]
    assert len(probes) >= 4
    res = symbolize_json(esbuild, [int(p["entry"], 16) for p in probes])
    for p, r in zip(probes, res):
        frames = r["frames"]
        assert len(frames) == 1, frames
        assert frames[0]["function"] == p["function"]
        assert frames[0]["file"].endswith(".go")
        assert frames[0]["line"] > 0
        assert frames[0]["inlined"] is False


def one_line_error(p, code):
    assert p.returncode == code, (p.returncode, p.stderr)
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("gomaptrace"), p.stderr
    return lines[0]


def free_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) - 1
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    return pid


def test_bad_input(go_tool, tmp_path):
    binary = go_build(NAME, "plain")
    msg = one_line_error(gmt("symbolize", "/bin/true", "0x401000",
                             check=False), 1)
    assert "/bin/true" in msg and "not a Go binary" in msg
    text = tmp_path / "notes.txt"
    text.write_text("not a program\n")
    msg = one_line_error(gmt("symbolize", text, "0x401000", check=False), 1)
    assert "not an ELF file" in msg
    trunc = tmp_path / "truncated"
    with open(binary, "rb") as f:
        trunc.write_bytes(f.read(64 * 1024))
    msg = one_line_error(gmt("symbolize", trunc, "0x401000", check=False), 1)
    assert str(trunc) in msg
    pid = free_pid()
    msg = one_line_error(gmt("symbolize", "-p", pid, "0x401000",
                             check=False), 1)
    assert str(pid) in msg
    msg = one_line_error(gmt("symbolize", tmp_path / "missing", "0x1",
                             check=False), 1)
    assert "missing" in msg
    for bad in ["main.main", "0x", "0xg1", "12ab", "+5",
                "0x1ffffffffffffffff"]:
        msg = one_line_error(gmt("symbolize", binary, "0x401000", bad,
                                 check=False), 2)
        assert f"'{bad}' is not an address" in msg
    one_line_error(gmt("symbolize", binary, check=False), 2)
    one_line_error(gmt("symbolize", "-p", "abc", "0x1", check=False), 2)
