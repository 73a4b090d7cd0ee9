"""`gomaptrace info` against facts found independently.

Probe addresses are checked against the listing of `go tool objdump` (of
the toolchain that built the binary) on the unstripped twin, for each of
the three toolchains, and of binutils' objdump (esbuild, Go 1.26, no
symbols); the Go version against `go version`; the load bias of a live PIE
process against /proc/PID/maps and the ELF program headers.
"""
import os
import re
import struct
import subprocess

import pytest

from conftest import ESBUILD, GO_SRC, GO_VERSIONS, gmt, gmt_json, go_build, \
    go_map_impl, go_release, go_run

NAME = "infotest"
VARIANTS = ["plain", "stripped", "pie", "pie-stripped"]
TWIN = {"plain": "plain", "stripped": "plain", "pie": "pie",
        "pie-stripped": "pie"}
UNSTRIPPED = {"plain", "pie"}

# What every toolchain's build of infotest calls for map writes, and the
# fatal path.
COMMON_FUNCS = {
    "runtime.mapassign": "assign",
    "runtime.mapassign_fast64": "assign",
    "runtime.mapassign_faststr": "assign",
    "runtime.mapdelete": "delete",
    "runtime.mapdelete_fast64": "delete",
    "runtime.mapdelete_faststr": "delete",
    "runtime.fatal": "fatal",
}
# What infotest makes the Go 1.19 compiler call, and the fatal path.
GO119_FUNCS = {
    **COMMON_FUNCS,
    "runtime.mapclear": "clear",
    "runtime.mapiterinit": "iterate",
    "runtime.mapiternext": "iter_next",
    "runtime.throw": "fatal",
}
# Swiss-table runtimes (DESIGN-NOTES section 4): iteration through
# mapIterStart / mapIterNext, no mapiterinit.
SWISS_FUNCS = {
    **COMMON_FUNCS,
    "runtime.mapclear": "clear",
    "runtime.mapIterStart": "iterate",
    "runtime.mapIterNext": "iter_next",
    "runtime.throw": "fatal",
}
INFOTEST_FUNCS = {"buckets": GO119_FUNCS, "swiss": SWISS_FUNCS}
NOSPLIT = {"runtime.fatal", "runtime.throw"}
# Every entry point info should probe when the binary has it.
ENTRY_POINTS = {
    "runtime.mapassign", "runtime.mapassign_fast32",
    "runtime.mapassign_fast32ptr", "runtime.mapassign_fast64",
    "runtime.mapassign_fast64ptr", "runtime.mapassign_faststr",
    "runtime.mapdelete", "runtime.mapdelete_fast32",
    "runtime.mapdelete_fast64", "runtime.mapdelete_faststr",
    "runtime.mapclear", "runtime.mapiterinit", "runtime.mapIterStart",
    "runtime.mapiternext", "runtime.mapIterNext", "runtime.fatal",
    "runtime.throw",
}

ESBUILD_FUNCS = {
    **COMMON_FUNCS,
    "runtime.mapIterStart": "iterate",
    "runtime.mapIterNext": "iter_next",
}

GO_OBJDUMP_LINE = re.compile(r"^\s+\S*:\d+\s+0x([0-9a-f]+)\s+\S+\s+(.*)$")
# The stack-bound check; newer objdumps print the operands the other way.
STACK_CHECK = re.compile(r"^CMPQ (0x10\(R14\), \w+|\w+, 0x10\(R14\))$")


def go_version(go="go1.19"):
    return go_release(go)


def go_objdump(binary, go):
    """{function: [(pc, instruction)]} for the runtime's map functions,
    listed by the `go tool objdump` of toolchain `go`."""
    out = go_run(
        go, "tool", "objdump", "-s",
        r"^runtime\.(map(assign|delete|clear|iterinit|iternext|IterStart"
        r"|IterNext)\w*|fatal|throw)$", binary).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        if line.startswith("TEXT "):
            cur = funcs.setdefault(line.split()[1].replace("(SB)", ""), [])
            continue
        m = GO_OBJDUMP_LINE.match(line)
        if m and cur is not None:
            cur.append((int(m.group(1), 16), m.group(2).strip()))
    return funcs


def jbe_after_stack_check(insns):
    """The first JBE after `CMPQ 0x10(R14), ...` in a go objdump listing."""
    seen_cmp = False
    for pc, text in insns[:8]:
        if STACK_CHECK.match(text):
            seen_cmp = True
        elif seen_cmp and text.startswith("JBE "):
            return pc
    return None


def by_function(info):
    return {p["function"]: p for p in info["probes"]}


def file_bytes(path, offset, n):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(n)


_listings = {}


def twin_listing(go, twin):
    """go tool objdump of the unstripped twin, once per toolchain."""
    if (go, twin) not in _listings:
        _listings[go, twin] = go_objdump(go_build(NAME, twin, go=go), go)
    return _listings[go, twin]


@pytest.mark.parametrize("go,variant",
                         [(g, v) for g in GO_VERSIONS for v in VARIANTS])
def test_probes(go, variant):
    binary = go_build(NAME, variant, go=go)
    info = gmt_json("info", binary, "--json")
    listing = twin_listing(go, TWIN[variant])
    probes = by_function(info)
    want_funcs = INFOTEST_FUNCS[go_map_impl(go)]

    assert info["go_version"] == go_release(go)
    assert info["map_impl"] == go_map_impl(go)
    # Exactly the entry points the binary has (the runtime itself links
    # some, e.g. mapassign_fast32), including all that infotest calls.
    assert set(probes) == ENTRY_POINTS & set(listing), sorted(probes)
    assert set(want_funcs) <= set(probes), sorted(probes)
    for fn, p in probes.items():
        insns = listing[fn]
        if fn in want_funcs:
            assert p["op"] == want_funcs[fn], fn
        assert int(p["entry"], 16) == insns[0][0], fn
        if fn in NOSPLIT:
            assert jbe_after_stack_check(insns) is None
            # A first instruction the kernel emulates (Go 1.26's push
            # %rbp) costs no single-step; anything else does.
            emulated = insns[0][1] == "PUSHQ BP"
            assert p["method"] == ("entry-emulated" if emulated
                                   else "entry-slow"), (fn, insns[0])
            assert p["probe"] == p["entry"]
            continue
        jbe = jbe_after_stack_check(insns)
        assert jbe is not None, fn
        assert p["method"] == "branch", fn
        assert int(p["probe"], 16) == jbe, fn
        # The file offset really holds the jbe (76 rel8 or 0f 86 rel32).
        code = file_bytes(binary, int(p["file_offset"], 16), 2)
        assert code[0] == 0x76 or code[:2] == b"\x0f\x86", (fn, code)


@pytest.mark.parametrize("variant", VARIANTS)
def test_go119_facts(variant):
    """Offsets and mask from the twin's DWARF via Go's debug/dwarf
    (tests/go/dwarffacts), not from gomaptrace's own reader."""
    from conftest import go_version_string
    from test_facts import dwarf_facts
    info = gmt_json("info", go_build(NAME, variant), "--json")
    built_by = re.search(r"\b(go1\.[0-9.]+)\b",
                         go_version_string("go1.19")).group(1)
    unstripped = variant in UNSTRIPPED
    flag_off, mask, seed_off, seed_size, goid = dwarf_facts(
        go_build(NAME, TWIN[variant]))

    assert info["go_version"] == built_by
    assert info["go_version_source"] == "buildinfo"
    assert info["arch"] == "x86_64"
    assert info["pclntab_version"] == "1.18"
    assert info["pie"] == variant.startswith("pie")
    assert info["map_impl"] == "buckets"
    assert info["write_flag"] == {
        "offset": flag_off, "mask": mask,
        "source": "dwarf" if unstripped else "code"}
    assert info["seed"] == {"offset": seed_off, "size": seed_size,
                            "source": "dwarf" if unstripped else "code"}
    assert info["goid_offset"] == goid
    assert info["goid_source"] == ("dwarf" if unstripped else "table")
    assert info["dwarf"] == unstripped
    assert info["symtab"] == unstripped
    assert "load_bias" not in info


@pytest.mark.parametrize("variant", ["plain", "pie-stripped"])
def test_go119_map_types(variant):
    """Type names decoded from the runtime type data (or .symtab): every
    `make(map[K]V)` of the source, its own types qualified with "main."."""
    with open(os.path.join(GO_SRC, NAME, "main.go")) as f:
        src = f.read()
    local = "|".join(re.findall(r"^type (\w+) ", src, re.M))
    made = {re.sub(r"\b(%s)\b" % local, r"main.\1", t) if local else t
            for t in re.findall(r"make\((map\[[^)]*)\)", src)}
    assert len(made) == 3, made
    info = gmt_json("info", go_build(NAME, variant), "--json", "--map-types")
    assert made <= set(info["map_types"]), info["map_types"]


def test_text_output():
    out = gmt("info", go_build(NAME, "stripped")).stdout
    assert "Go version:    %s (from .go.buildinfo)" % go_version() in out
    assert "Maps:          buckets (runtime.hmap)" in out
    assert ("Write flag:    byte at offset 8, mask 0x4 (decoded from the "
            "binary's own code)") in out
    assert "runtime.mapassign_fast64" in out


def objdump_range(binary, start, stop):
    """[(addr, text)] from binutils objdump between start and stop."""
    out = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn",
         "--start-address=0x%x" % start, "--stop-address=0x%x" % stop,
         binary], capture_output=True, text=True, check=True).stdout
    insns = []
    for line in out.splitlines():
        m = re.match(r"^\s+([0-9a-f]+):\s+(.*)$", line)
        if m:
            insns.append((int(m.group(1), 16), m.group(2).strip()))
    return insns


def test_esbuild(esbuild):
    info = gmt_json("info", esbuild, "--json")
    probes = by_function(info)

    assert info["map_impl"] == "swiss"
    assert info["write_flag"] == {"offset": 34, "mask": 255,
                                  "source": "code"}
    assert info["dwarf"] is False and info["symtab"] is False
    assert info["pclntab_version"] == "1.20"
    # The version is one of the go1.N.P strings the file holds.
    with open(esbuild, "rb") as f:
        held = set(re.findall(rb"go1\.\d+\.\d+", f.read()))
    assert info["go_version"].encode() in held
    assert info["go_version_source"] == "data-scan"
    assert info["goid_offset"] == 152 and info["goid_source"] == "table"
    for fn, op in ESBUILD_FUNCS.items():
        assert fn in probes, fn
        assert probes[fn]["op"] == op
    for fn, p in probes.items():
        entry, probe = int(p["entry"], 16), int(p["probe"], 16)
        insns = objdump_range(esbuild, entry, probe + 8)
        if fn in ("runtime.fatal", "runtime.throw"):
            assert p["method"] == "entry-emulated", fn
            assert probe == entry and insns[0][1] == "push   %rbp"
            continue
        assert p["method"] == "branch", fn
        at = [i for i, (a, _) in enumerate(insns) if a == probe]
        assert at and at[0] >= 1, (fn, insns)
        assert insns[at[0]][1].startswith("jbe "), (fn, insns)
        assert re.match(r"cmp\s+0x10\(%r14\),%r(sp|12)$",
                        insns[at[0] - 1][1]), (fn, insns)
        assert int(p["file_offset"], 16) == probe - 0x400000, fn


def test_esbuild_map_types(esbuild):
    info = gmt_json("info", esbuild, "--json", "--map-types")
    types = info["map_types"]
    assert len(types) > 50
    assert all(t.startswith("map[") for t in types)
    assert "map[string]bool" in types


def hide_version(src, dst):
    """A copy whose every Go version string and buildinfo magic is gone."""
    with open(src, "rb") as f:
        data = f.read()
    data = re.sub(rb"go1\.(\d+)", rb"xx1.\1", data)
    data = data.replace(b"\xff Go buildinf:", b"\0" * 14)
    dst.write_bytes(data)
    dst.chmod(0o755)


@pytest.mark.parametrize("target", ["go119", "esbuild"])
def test_unknown_version(target, tmp_path, esbuild):
    """No version evidence: goid comes from the code, and says so."""
    src = go_build(NAME, "stripped") if target == "go119" else esbuild
    f = tmp_path / "anon"
    hide_version(src, f)
    info = gmt_json("info", f, "--json")
    known = gmt_json("info", src, "--json")
    assert info["go_version"] is None
    assert info["go_version_source"] == "unknown"
    assert info["goid_source"] == "code"
    assert info["goid_offset"] == known["goid_offset"] == 152
    for k in ("map_impl", "write_flag", "probes"):
        assert info[k] == known[k]
    assert "Go version:    unknown" in gmt("info", f).stdout


# --- bad input: one line on stderr, non-zero exit ---------------------------

def assert_one_line_error(p, *words):
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("gomaptrace: ")
    for w in words:
        assert w in lines[0], lines[0]
    assert p.stdout == ""


def test_not_go():
    assert_one_line_error(gmt("info", "/bin/true", check=False),
                          "not a Go binary (no .gopclntab)")


def test_not_elf(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("just some text, long enough to hold an ELF header ...\n")
    assert_one_line_error(gmt("info", f, check=False), "not an ELF file")


def test_truncated(tmp_path):
    src = go_build(NAME, "plain")
    f = tmp_path / "half"
    with open(src, "rb") as a:
        f.write_bytes(a.read(os.path.getsize(src) // 2))
    assert_one_line_error(gmt("info", f, check=False), "truncated")


def test_old_pclntab(tmp_path):
    """A .gopclntab with Go 1.2's magic: refused, with the reason."""
    with open(go_build(NAME, "stripped"), "rb") as f:
        data = bytearray(f.read())
    hdr = b"\xf0\xff\xff\xff\x00\x00\x01\x08"   # Go 1.18 magic, pc quantum, ptr size
    at = data.find(hdr)
    assert at > 0 and data.find(hdr, at + 1) < 0
    data[at:at + 4] = b"\xfb\xff\xff\xff"
    f = tmp_path / "old"
    f.write_bytes(bytes(data))
    assert_one_line_error(gmt("info", f, check=False), "Go 1.16 or later")


def test_missing_file(tmp_path):
    assert_one_line_error(gmt("info", tmp_path / "nope", check=False),
                          "no such file")


def test_aarch64():
    out = go_build(NAME, goarch="arm64")
    assert_one_line_error(
        gmt("info", out, check=False),
        "gomaptrace supports x86-64 Go binaries; this is aarch64")


def unused_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) - 1
    while os.path.exists("/proc/%d" % pid):
        pid -= 1
    return pid


def test_no_such_pid():
    pid = unused_pid()
    assert_one_line_error(gmt("info", "-p", pid, check=False),
                          "no process with PID %d" % pid)


def test_usage_errors():
    assert gmt("info", check=False).returncode == 2
    assert gmt("info", "-p", "x1", check=False).returncode == 2


# --- a live process ---------------------------------------------------------

def load_segments(path):
    """[(offset, vaddr, filesz)] of the PT_LOAD program headers."""
    with open(path, "rb") as f:
        data = f.read(4096)
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segs = []
    for i in range(phnum):
        p_type, _, off, vaddr, _, filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1:
            segs.append((off, vaddr, filesz))
    return segs


def expected_bias(pid, path):
    ino = os.stat(path).st_ino
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 6 or int(fields[4]) != ino:
                continue
            start = int(fields[0].split("-")[0], 16)
            if int(fields[2], 16) != 0:
                continue
            first = [s for s in load_segments(path) if s[0] == 0][0]
            return start - first[1]
    raise AssertionError("no mapping of %s at offset 0" % path)


@pytest.mark.parametrize("variant", ["pie-stripped", "plain"])
def test_live_process(variant):
    binary = go_build(NAME, variant)
    proc = subprocess.Popen([binary, "stay"], stdout=subprocess.PIPE,
                            text=True)
    try:
        # It prints once its maps are done and then only sleeps.
        assert proc.stdout.readline().strip().isdigit()
        live = gmt_json("info", "-p", proc.pid, "--json")
        bias = expected_bias(proc.pid, binary)
    finally:
        proc.kill()
        proc.wait()
    static = gmt_json("info", binary, "--json")
    assert live["pid"] == proc.pid
    assert live["load_bias"] == hex(bias)
    if variant == "plain":
        assert bias == 0
    else:
        assert bias != 0 and bias % 4096 == 0
    assert live["probes"] == static["probes"]
    for k in ("go_version", "map_impl", "write_flag", "goid_offset"):
        assert live[k] == static[k]
