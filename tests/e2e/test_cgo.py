"""cgo with the external linker (Go 1.26): .text starts with C code before
the Go code, and Go 1.26's pclntab header no longer carries the text
start, so every function entry is relative to runtime.text as moduledata
gives it. Expected answers come from Go's own `go tool addr2line`, `go tool
objdump` and `go tool nm` on the unstripped twin (same toolchain, same link
addresses), and from the program's own counts and marker comments.
"""
import json
import subprocess

from conftest import GMT, elf_sections, gmt_json, go_build, go_env, \
    source_line

NAME = "cgocounts"
GO = "go1.26"
NPCS = 1500


def go_tool(*args, stdin=None):
    path, env = go_env(GO)
    return subprocess.run([path, "tool", *args], input=stdin, env=env,
                          capture_output=True, text=True, check=True).stdout


def nm(binary):
    """{symbol: address} from `go tool nm`."""
    syms = {}
    for line in go_tool("nm", binary).splitlines():
        f = line.split()
        if len(f) >= 3:
            syms[f[2]] = int(f[0], 16)
    return syms


def go_text_pcs(twin, start, end):
    """Instruction starts of the Go functions in [start, end), per
    `go tool objdump` (which lists the C functions too)."""
    pcs = []
    for line in go_tool("objdump", twin).splitlines():
        f = line.split()
        if len(f) >= 2 and f[1].startswith("0x"):
            pc = int(f[1], 16)
            if start <= pc < end:
                pcs.append(pc)
    return pcs


def addr2line(binary, pcs):
    out = go_tool("addr2line", binary,
                  stdin="".join(f"0x{pc:x}\n" for pc in pcs)).splitlines()
    assert len(out) == 2 * len(pcs)
    return {pc: (out[2 * i], out[2 * i + 1]) for i, pc in enumerate(pcs)}


def test_text_starts_before_go_code():
    """The premise: .text holds C code first; info finds runtime.text."""
    binary = go_build(NAME, "cgo-ext-stripped", go=GO)
    syms = nm(go_build(NAME, "cgo-ext", go=GO))
    assert elf_sections(binary)[".text"] < syms["runtime.text"]
    assert "main._Cfunc_twice.abi0" in syms   # really cgo
    info = gmt_json("info", binary, "--json")
    assert info["symtab"] is False and info["dwarf"] is False
    assert int(info["text_start"], 16) == syms["runtime.text"]
    assert info["text_start_source"] == "moduledata"


def test_symbolize_agrees_with_addr2line():
    binary = go_build(NAME, "cgo-ext-stripped", go=GO)
    twin = go_build(NAME, "cgo-ext", go=GO)
    syms = nm(twin)
    insns = go_text_pcs(twin, syms["runtime.text"], syms["runtime.etext"])
    step = max(1, len(insns) // NPCS)
    pcs = insns[::step] + [insns[-1]]
    assert len(pcs) >= 1000
    want = addr2line(twin, pcs)
    got = gmt_json("symbolize", binary, *[f"0x{pc:x}" for pc in pcs],
                   "--json")
    assert [int(r["addr"], 16) for r in got] == pcs
    funcs = set()
    for r in got:
        pc = int(r["addr"], 16)
        fn, fileline = want[pc]
        frames = r["frames"]
        assert frames, f"0x{pc:x}: no frames, addr2line says {fn}"
        if fileline == ":-1":       # a marker such as go:textfipsend
            assert frames[0]["line"] == 0, (hex(pc), frames, fn)
        else:
            assert f"{frames[0]['file']}:{frames[0]['line']}" == fileline, \
                f"0x{pc:x}: {frames} vs addr2line {fn} {fileline}"
        assert frames[-1]["function"] == fn, f"0x{pc:x}: {frames} vs {fn}"
        funcs.add(fn)
    # Spread over the Go text: many functions, the last one included.
    assert len(funcs) >= 500, len(funcs)


def test_exact_counts(tmp_path):
    binary = go_build(NAME, "cgo-ext-stripped", go=GO)
    line = source_line(NAME, "// WRITE")
    out = tmp_path / "report.json"
    p = subprocess.run([GMT, "run", "-f", "json", "-o", str(out), "--",
                        binary], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "200000 8\n"     # the program's own output
    r = json.loads(out.read_text())
    assert r["lost"] == 0
    assert r["target"]["map_impl"] == "swiss"

    def at_line(s):
        f = s["frames"][0] if s["frames"] else {}
        return (f.get("file", "").endswith(f"/tests/go/{NAME}/main.go")
                and f.get("line") == line)

    maps = [m for m in r["maps"] if any(at_line(s) for s in m["sites"])]
    assert len(maps) == 1, [m["addr"] for m in maps]
    m = maps[0]
    assert m["type"] == "map[int]int"
    assert m["ops"]["assign"] == 200000
    assert m["ops"]["delete"] == m["ops"]["clear"] == 0
    assert [(s["op"], s["count"]) for s in m["sites"]] == [("assign", 200000)]
    assert m["sites"][0]["frames"][0]["function"].startswith("main.main.func")
    assert m["goroutines"] == 4
