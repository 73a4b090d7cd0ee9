"""Safe to run as root (issue 11): output files in a directory anyone can
write to, like /tmp, with fs.protected_symlinks off or on.

A symlink planted at each name gomaptrace would create (the final name and
the name it writes first) pointing at a file that holds "precious": the
file still holds "precious" afterwards and gomaptrace exits non-zero with
one line saying it found a symbolic link there.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile

import pytest

from conftest import GMT, GO_SRC, gmt, go_build, go_env, source_line

PRECIOUS = "precious"


@pytest.fixture
def sticky_dir():
    """A scratch directory made like /tmp: mode 1777."""
    d = tempfile.mkdtemp(prefix="gmt-safety-", dir="/tmp")
    os.chmod(d, 0o1777)
    yield d
    shutil.rmtree(d)


def plant(d, name):
    """A link at d/name to d/victim, which holds "precious"; owned by
    nobody, as one planted by another user would be."""
    victim = os.path.join(d, "victim")
    with open(victim, "w") as f:
        f.write(PRECIOUS)
    link = os.path.join(d, name)
    os.symlink(victim, link)
    os.lchown(link, 65534, 65534)
    return victim, link


def assert_refused(p, victim, link):
    lines = p.stderr.strip().splitlines()
    assert p.returncode != 0, p.stderr
    assert len(lines) == 1, p.stderr
    assert lines[0] == (f"gomaptrace: found a symbolic link at {link}: "
                        "refusing to write through or replace it (remove "
                        "it or give another name)") or \
        lines[0] == (f"gomaptrace: -o: found a symbolic link at {link}: "
                     "refusing to write through or replace it (remove it "
                     "or give another name)"), lines[0]
    with open(victim) as f:
        assert f.read() == PRECIOUS
    assert os.path.islink(link) and os.readlink(link).endswith("/victim")


@pytest.fixture(scope="module")
def counts():
    return go_build("counts")


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory, counts):
    """A trace written where nobody else can write, for `report`."""
    t = tmp_path_factory.mktemp("safety") / "counts.gmt"
    p = gmt("run", "--trace", t, "-f", "json", "--", counts, timeout=120)
    assert p.returncode == 0 and t.exists()
    return t


@pytest.mark.parametrize("name", ["out.gmt", "out.gmt.partial"])
def test_record(sticky_dir, name):
    """record -o: refused before any probe goes in."""
    victim, link = plant(sticky_dir, name)
    app = subprocess.Popen([go_build("longrun"), "-iters", "200"],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout.readline().startswith("iteration 0 ")
        p = subprocess.run([GMT, "record", "-p", str(app.pid), "-d", "1",
                            "-o", os.path.join(sticky_dir, "out.gmt")],
                           capture_output=True, text=True, timeout=60)
        assert_refused(p, victim, link)
        assert app.poll() is None
    finally:
        app.kill()
        app.wait()
    assert sorted(os.listdir(sticky_dir)) == sorted(["victim", name])


@pytest.mark.parametrize("name", ["out.gmt", "out.gmt.partial"])
def test_run_trace(sticky_dir, counts, name):
    """run --trace: refused before the program starts (counts prints the
    size of its map when it runs; the json report would follow)."""
    victim, link = plant(sticky_dir, name)
    p = gmt("run", "--trace", os.path.join(sticky_dir, "out.gmt"),
            "-f", "json", "--", counts, check=False, timeout=120)
    assert_refused(p, victim, link)
    assert p.stdout == ""
    assert sorted(os.listdir(sticky_dir)) == sorted(["victim", name])


def test_run_output(sticky_dir, counts):
    """run -o: refused before the program starts, not after tracing it."""
    victim, link = plant(sticky_dir, "report.txt")
    p = gmt("run", "-o", link, "--", counts, check=False, timeout=120)
    assert_refused(p, victim, link)
    assert p.stdout == ""
    assert sorted(os.listdir(sticky_dir)) == ["report.txt", "victim"]


def test_run_output_and_trace(sticky_dir, counts):
    """-o fine, --trace planted: the program is not run for the report
    alone, and no report is written."""
    victim, link = plant(sticky_dir, "out.gmt")
    out = os.path.join(sticky_dir, "report.txt")
    p = gmt("run", "-o", out, "--trace", link, "--", counts, check=False,
            timeout=120)
    assert_refused(p, victim, link)
    assert p.stdout == ""
    assert sorted(os.listdir(sticky_dir)) == ["out.gmt", "victim"]


def test_run_output_unusable(sticky_dir, counts):
    """-o in a directory that does not exist: one line before the run,
    not a report lost after it."""
    out = os.path.join(sticky_dir, "no", "report.txt")
    p = gmt("run", "-o", out, "--", counts, check=False, timeout=120)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(lines) == 1, p.stderr
    assert lines[0].startswith(f"gomaptrace: cannot create {out}.tmp.")
    assert lines[0].endswith(": No such file or directory"), lines[0]
    assert p.stdout == ""


def test_run_devices_in_place(counts):
    """What must keep working: -o and --trace naming a device write into
    it and leave it a device."""
    p = gmt("run", "-o", "/dev/null", "--trace", "/dev/null", "--", counts,
            timeout=120)
    assert p.stdout == "200000\n" and p.stderr == ""
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_report_output(sticky_dir, trace_file):
    victim, link = plant(sticky_dir, "report.txt")
    p = gmt("report", trace_file, "-o", link, check=False)
    assert_refused(p, victim, link)
    assert sorted(os.listdir(sticky_dir)) == ["report.txt", "victim"]


def test_report_output_before_reading(sticky_dir):
    """report -o: the name is refused before the trace is read (here a
    trace that does not exist, which would be the other line)."""
    victim, link = plant(sticky_dir, "report.txt")
    p = gmt("report", os.path.join(sticky_dir, "missing.gmt"), "-o", link,
            check=False)
    assert_refused(p, victim, link)


def test_report_temp_unpredictable(sticky_dir, trace_file):
    """The temporary name is not OUT.tmp.PID any more: links planted at
    the next 300 PIDs' names catch nothing, the report lands, and no
    temporary is left."""
    victim = os.path.join(sticky_dir, "victim")
    with open(victim, "w") as f:
        f.write(PRECIOUS)
    out = os.path.join(sticky_dir, "report.txt")
    with open("/proc/sys/kernel/ns_last_pid") as f:
        last = int(f.read())
    for pid in range(last + 1, last + 301):
        os.symlink(victim, f"{out}.tmp.{pid}")
    p = gmt("report", trace_file, "-o", out, check=False)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    with open(victim) as f:
        assert f.read() == PRECIOUS
    assert not os.path.islink(out) and os.path.getsize(out) > 0
    left = [n for n in os.listdir(sticky_dir)
            if n.startswith("report.txt.tmp.") and
            not os.path.islink(os.path.join(sticky_dir, n))]
    assert left == []


def test_report_over_regular_and_fifo(sticky_dir, trace_file):
    """What must keep working: -o over an old regular file replaces it;
    -o a FIFO is written in place and stays a FIFO."""
    out = os.path.join(sticky_dir, "report.txt")
    with open(out, "w") as f:
        f.write("old")
    gmt("report", trace_file, "-o", out)
    with open(out) as f:
        assert "old" not in f.read()
    fifo = os.path.join(sticky_dir, "fifo")
    os.mkfifo(fifo)
    rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        gmt("report", trace_file, "-o", fifo, "-f", "json")
        assert len(os.read(rd, 1 << 20)) > 0
    finally:
        os.close(rd)
    assert sorted(os.listdir(sticky_dir)) == ["fifo", "report.txt"]


# ---- names that carry terminal escapes ---------------------------------------

EVIL = b"\x1b[2J\n"
SHOWN = r"\x1b[2J\n"            # how the text output must show it
MARKERS = {"function": b"ZQZQZ", "file": b"XQXQX", "type": b"YQYQY"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """tests/go/hostile built with Go 1.19, its function, file and map key
    type names patched: each marker (same length) becomes ESC[2J and a
    newline wherever it occurs (.gopclntab's name and file tables, the
    type name strings, .symtab)."""
    with open(go_build("hostile"), "rb") as f:
        data = f.read()
    for what, marker in MARKERS.items():
        assert data.count(marker) >= 1, f"{what} marker not in the binary"
        data = data.replace(marker, EVIL)
    exe = tmp_path_factory.mktemp("hostile") / "hostile"
    exe.write_bytes(data)
    exe.chmod(0o755)
    return str(exe)


def no_raw_controls(text):
    bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or
           0x7f <= ord(c) < 0xa0]
    assert bad == [], f"raw control characters in the output: {bad!r}"


def test_escaped_names_text(hostile):
    line = source_line("hostile", "// WRITE", "evilfileXQXQX.go")
    p = gmt("run", "--", hostile, check=False, timeout=120)
    assert p.returncode == 2, p.stderr      # the runtime's fatal error
    no_raw_controls(p.stdout)
    fn = f"main.evilFn{SHOWN}"
    file = f"evilfile{SHOWN}.go"
    typ = f"map[main.evilTy{SHOWN}]int"
    # The site line and the map header, each whole on its own line.
    site = re.compile(r"^ +[0-9,]+ assign +" +
                      re.escape(f"{fn} (hostile/{file}:{line})") + "$")
    header = re.compile(r"^1\. " + re.escape(typ) + r" at 0x[0-9a-f]+$")
    lines = p.stdout.splitlines()
    assert any(site.match(ln) for ln in lines), p.stdout
    assert any(header.match(ln) for ln in lines), p.stdout
    assert f"  on {typ} at 0x" in p.stdout
    # The crash section's frames: function, then the full path.
    assert f"      {fn}  " in p.stdout and f"/tests/go/hostile/{file}:{line}" \
        in p.stdout
    # No line starts with what followed a newline in a name.
    assert not any(ln.startswith(("]int", " (hostile", ".go:"))
                   for ln in p.stdout.splitlines())


def test_escaped_names_folded(hostile):
    p = gmt("run", "-f", "folded", "--", hostile, check=False, timeout=120)
    assert p.returncode == 2, p.stderr
    no_raw_controls(p.stdout)
    lines = p.stdout.splitlines()
    assert lines, p.stdout
    for ln in lines:
        stack, count = ln.rsplit(" ", 1)
        assert " " not in stack and count.isdigit(), ln
    assert any(ln.split(" ")[0].endswith(f";main.evilFn{SHOWN}")
               for ln in lines), p.stdout


def test_escaped_names_json(hostile):
    p = gmt("run", "-f", "json", "--", hostile, check=False, timeout=120)
    assert p.returncode == 2, p.stderr
    p.stdout.encode("utf-8")              # valid UTF-8 all through
    r = json.loads(p.stdout)
    evil = EVIL.decode()
    (m,) = [m for m in r["maps"] if m["type"] == f"map[main.evilTy{evil}]int"]
    fr = m["sites"][0]["frames"][0]
    assert fr["function"] == f"main.evilFn{evil}"
    assert fr["file"].endswith(f"/tests/go/hostile/evilfile{evil}.go")
    assert fr["line"] == source_line("hostile", "// WRITE",
                                     "evilfileXQXQX.go")


def test_escaped_names_symbolize(hostile):
    r = json.loads(gmt("run", "-f", "json", "--", hostile, check=False,
                       timeout=120).stdout)
    pc = r["maps"][0]["sites"][0]["pc"]
    p = gmt("symbolize", hostile, pc)
    no_raw_controls(p.stdout)
    line = source_line("hostile", "// WRITE", "evilfileXQXQX.go")
    assert p.stdout.splitlines() == [
        f"{pc} main.evilFn{SHOWN} {GO_SRC}/hostile/evilfile{SHOWN}.go:{line}"]


def test_escaped_names_info(hostile):
    p = gmt("info", hostile, "--map-types")
    no_raw_controls(p.stdout)
    assert f"  map[main.evilTy{SHOWN}]int" in p.stdout.splitlines()


# ---- hostile inputs: one line, non-zero, in 2 s and 256 MB -------------------

LIMIT_AS = 256 << 20


def sanitized():
    """ASan reserves terabytes of address space: under `make test
    SANITIZE=1` the memory cap cannot apply, the time limit still does."""
    with open(GMT, "rb") as f:
        return b"__asan_init" in f.read()


def limited(*args):
    """gomaptrace under `ulimit -v 262144` and a 2 s timeout."""
    import resource

    def cap():
        if not sanitized():
            resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))
    try:
        return subprocess.run([GMT, *map(str, args)], capture_output=True,
                              text=True, timeout=2, preexec_fn=cap)
    except subprocess.TimeoutExpired:
        pytest.fail(f"gomaptrace {' '.join(map(str, args))} ran past 2 s",
                    pytrace=False)


def assert_one_line(p, *want):
    lines = p.stderr.strip().splitlines()
    assert p.returncode != 0 and p.returncode < 128, (p.returncode, p.stderr)
    assert len(lines) == 1 and lines[0].startswith("gomaptrace: "), p.stderr
    for w in want:
        assert w in lines[0], lines[0]
    return lines[0]


def uv(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7f | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def string(s):
    return uv(len(s)) + s


def chunk(ctype, payload, raw_len=None):
    import struct
    import zlib
    comp = zlib.compress(payload)
    return struct.pack("<IIII", ctype, len(payload) if raw_len is None
                       else raw_len, len(comp), zlib.crc32(comp)) + comp


def trace_bytes(*chunks):
    """A version 1 trace: header, a good meta chunk, one stack (id 0),
    then the chunks given."""
    import struct
    meta = (string(b"run") + uv(4242) + string(b"/srv/app") +
            string(b"go1.19.8") + string(b"buckets") +
            b"".join(uv(v) for v in (1, 1, 1, 0x1f, 1, 1)))
    stacks = uv(0) + uv(1) + uv(0) + uv(1) + uv(0x401000)
    return (b"GMTRACE\0" + struct.pack("<II", 1, 0) + chunk(1, meta) +
            chunk(2, stacks) + b"".join(chunks))


def event(stack):
    return b"".join(uv(v) for v in (2, 7, 1, 2, 2, 1, 0, stack))


LYING_TRACES = {
    # 2^31 events claimed in a few bytes.
    "event-count": chunk(5, uv(1 << 31) + uv(0) + uv(1) + event(0)),
    # 2^31 symbols, each a pc and frames.
    "symbol-count": chunk(3, uv(1 << 31) + uv(0) + uv(0x401000)),
    # A function name that claims 4 GiB.
    "string-length": chunk(3, uv(1) + uv(0) + uv(0x401000) + uv(1) +
                           uv(0xffffffff) + b"main.f"),
    # An event whose stack id is past the one stack stored.
    "stack-index": chunk(5, uv(1) + uv(0) + uv(1) + event(1 << 40)),
    # A chunk header claiming 4 GiB of payload.
    "raw-length": chunk(5, uv(1) + uv(0) + uv(1) + event(0), 0xffffffff),
}


@pytest.mark.parametrize("lie", sorted(LYING_TRACES))
def test_lying_trace(tmp_path, lie):
    good = trace_bytes()
    path = tmp_path / f"{lie}.gmt"
    path.write_bytes(good + LYING_TRACES[lie])
    p = limited("report", path)
    assert_one_line(p, f"{path}: the chunk at byte {len(good)} is "
                    "malformed")
    assert p.stdout == ""


# ---- hostile binaries ---------------------------------------------------------

def elf_sections(data):
    import struct
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    secs = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
            for i in range(shnum)]
    names = secs[shstrndx][4]

    def name(off):
        return data[names + off:data.index(b"\0", names + off)].decode()
    # name -> (vaddr, file offset, size)
    return {name(s[0]): (s[3], s[4], s[5]) for s in secs}


def elf_symbol(data, want):
    import struct
    secs = elf_sections(data)
    _, symoff, symsize = secs[".symtab"]
    _, stroff, _ = secs[".strtab"]
    for off in range(symoff, symoff + symsize, 24):
        n, = struct.unpack_from("<I", data, off)
        if data[stroff + n:data.index(b"\0", stroff + n)] == want:
            return struct.unpack_from("<Q", data, off + 8)[0]
    raise AssertionError(f"{want!r} not in .symtab")


def vaddr_to_offset(data, addr):
    for vaddr, off, size in elf_sections(data).values():
        if vaddr and vaddr <= addr < vaddr + size:
            return off + addr - vaddr
    raise AssertionError(f"0x{addr:x} in no section")


@pytest.fixture(scope="module")
def hostile_plain():
    with open(go_build("hostile"), "rb") as f:
        return f.read()


def map_type(data, name):
    """The address of the type descriptor named `name`: the typelinks
    (offsets from runtime.types, "type.*") whose rtype.str (offset 40)
    is the name's offset; names are flag byte, varint length, bytes, with
    a '*' in front (tflagExtraStar)."""
    import struct
    types = elf_symbol(data, b"type.*")
    enc = b"*" + name
    at = data.index(bytes([len(enc)]) + enc) - 1     # the flag byte
    nameoff = None
    for vaddr, off, size in elf_sections(data).values():
        if vaddr and off <= at < off + size:
            nameoff = vaddr + at - off - types
    tl_vaddr, tl_off, tl_size = elf_sections(data)[".typelink"]
    for i in range(0, tl_size, 4):
        t, = struct.unpack_from("<i", data, tl_off + i)
        toff = vaddr_to_offset(data, types + t)
        if struct.unpack_from("<i", data, toff + 40)[0] == nameoff:
            return types + t
    raise AssertionError(f"no type descriptor named {name!r}")


def write_exe(tmp_path, name, data):
    exe = tmp_path / name
    exe.write_bytes(data)
    exe.chmod(0o755)
    return exe


def test_pclntab_claims_2_31_functions(tmp_path, hostile_plain):
    import struct
    data = bytearray(hostile_plain)
    _, off, _ = elf_sections(data)[".gopclntab"]
    struct.pack_into("<Q", data, off + 8, 1 << 31)
    exe = write_exe(tmp_path, "nfunc", data)
    for args in (("info", exe), ("symbolize", exe, "0x401000")):
        assert_one_line(limited(*args), "corrupt .gopclntab (2147483648 "
                        "functions)")


def test_map_type_whose_key_is_itself(tmp_path, hostile_plain):
    """The map type's key and elem pointers (Go 1.19 maptype: after the
    48-byte rtype) point back at the map type: a bounded answer."""
    import struct
    data = bytearray(hostile_plain)
    addr = map_type(data, b"map[main.evilTyYQYQY]int")
    off = vaddr_to_offset(data, addr)
    struct.pack_into("<QQ", data, off + 48, addr, addr)
    exe = write_exe(tmp_path, "selftype", data)
    p = limited("info", exe, "--map-types")
    assert p.returncode == 0, p.stderr
    assert "  map[main.evilTyYQYQY]int" in p.stdout.splitlines()


def test_names_not_utf8(tmp_path, hostile_plain):
    bad = b"\xff\xc3(\xed\xa0"          # stray byte, cut pair, surrogate
    data = hostile_plain.replace(b"ZQZQZ", bad)
    exe = write_exe(tmp_path, "notutf8", data)
    addr = elf_symbol(data, b"main.evilFn" + bad)
    p = limited("symbolize", exe, hex(addr))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(
        f"{hex(addr)} main.evilFn\\xff\\xc3(\\xed\\xa0 "), p.stdout
    p = limited("symbolize", "--json", exe, hex(addr))
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout.encode("utf-8"))
    assert "main.evilFn\ufffd\ufffd(\ufffd\ufffd" in json.dumps(
        r, ensure_ascii=False)


def test_escaped_names_pprof(tmp_path, hostile):
    """pprof's strings are proto3 (UTF-8) and `go tool pprof` prints them
    to a terminal: escaped as in the text report."""
    out = tmp_path / "p.pb"
    p = gmt("run", "-f", "pprof", "-o", out, "--", hostile, check=False,
            timeout=120)
    assert p.returncode == 2, p.stderr
    go, env = go_env("go1.26")
    top = subprocess.run([go, "tool", "pprof", "-top", str(out)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert top.returncode == 0, top.stderr
    no_raw_controls(top.stdout)
    assert any(ln.endswith(f"main.evilFn{SHOWN}")
               for ln in top.stdout.splitlines()), top.stdout
