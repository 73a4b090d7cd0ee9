#!/usr/bin/python3
"""Seeds for fuzz_pclntab: input = u32 length L, L bytes of .gopclntab,
then the FUNCDATA region (go:func.*) that inline-tree offsets point into.

    make_seeds.py OUTDIR GO_BINARY_WITH_SYMTAB

writes OUTDIR/real (cut from the binary) and OUTDIR/small-{116,118,120}:
two-function tables in each layout with an inline tree two deep, the same
shape as tests/unit/test_pclntab.c builds, small enough for the fuzzer to
mutate every field quickly; and issue 11's hostile ones: hostile-nfunc
(2^31 functions), hostile-cyclic-{118,120} (an inline entry that is its own
parent), hostile-names (a name that is not UTF-8, with an ESC).

    make_seeds.py --gobin OUTDIR GO_BINARY
    make_seeds.py --trace OUTDIR

write hostile whole binaries for fuzz_gobin (the table claiming 2^31
functions; the first function name made of invalid UTF-8) and, for
fuzz_trace_file, traces whose counts, string lengths and stack indexes lie.
"""
import os
import struct
import sys

TEXT = 0x401000
GOFUNC = 0x10000000             # fuzz_pclntab maps the region here
TREE_OFF = 0x10


def real_seed(path):
    data = open(path, "rb").read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    secs = [struct.unpack_from("<IIQQQQI", data, shoff + i * shentsize)
            for i in range(shnum)]

    def name(off, base):
        return data[base + off:data.index(b"\0", base + off)].decode()

    by_name = {name(s[0], secs[shstrndx][4]): s for s in secs}
    pcln = by_name[".gopclntab"]
    table = data[pcln[4]:pcln[4] + pcln[5]]
    symtab, strs = by_name[".symtab"], by_name[".strtab"]
    gofunc = None
    for off in range(symtab[4], symtab[4] + symtab[5], 24):
        n, = struct.unpack_from("<I", data, off)
        if name(n, strs[4]) in ("go.func.*", "go:func.*"):
            gofunc, = struct.unpack_from("<Q", data, off + 8)
    region = b""
    for s in secs:
        if s[3] and s[3] <= gofunc < s[3] + s[5]:
            region = data[s[4] + gofunc - s[3]:s[4] + s[5]]
    # Rebase: fuzz_pclntab puts the region at GOFUNC, the real one was at
    # gofunc; 1.18+ funcdata are offsets from it, so nothing else changes.
    return struct.pack("<I", len(table)) + table + region


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7f | 0x80)
        v >>= 7
    out.append(v)
    return out


def pcvalue(steps):
    """[(value, end pc offset)] -> Go's pc-value encoding."""
    out, prev, pc = bytearray(), -1, 0
    for val, end in steps:
        d = val - prev
        out += varint(((d << 1) ^ (d >> 31)) & 0xffffffff)
        out += varint(end - pc)
        prev, pc = val, end
    return out + b"\0"


def small_seed(ver, nfunc=2, inner_parent=0x30,
               names=b"main.outer\0main.other\0main.inner\0main.deep\0"):
    hdr = 64 if ver == 116 else 72
    buf = bytearray(hdr)
    magic = {116: 0xfffffffa, 118: 0xfffffff0, 120: 0xfffffff1}[ver]
    struct.pack_into("<IBBBBQQ", buf, 0, magic, 0, 0, 1, 8, nfunc, 2)

    def align(a):
        buf.extend(b"\0" * (-len(buf) % a))

    nametab = len(buf)
    buf += names
    align(4)
    cutab = len(buf)
    buf += struct.pack("<III", 0, 5, 5)
    filetab = len(buf)
    buf += b"a.go\0b.go\0"
    pctab = len(buf)
    buf += b"\0"

    def table(steps):
        off = len(buf) - pctab
        buf.extend(pcvalue(steps))
        return off

    f0 = dict(entry=0, name=0, cu=0, inline=True,
              pcfile=table([(0, 0x20), (1, 0x40)]),
              pcln=table([(10, 0x10), (20, 0x20), (30, 0x30), (40, 0x40)]),
              inl=table([(-1, 0x10), (0, 0x20), (1, 0x30), (-1, 0x40)]))
    f1 = dict(entry=0x40, name=11, cu=1, inline=False,
              pcfile=table([(0, 0x20)]), pcln=table([(50, 0x10), (51, 0x20)]),
              inl=0)
    align(8)
    ftab = len(buf)
    slot = 16 if ver == 116 else 8
    buf += bytearray(3 * slot)
    funcoffs = []
    for f in (f0, f1):
        align(8 if ver == 116 else 4)
        funcoffs.append(len(buf) - ftab)
        size = 40 if ver == 118 else 44
        rec = bytearray(size)
        if ver == 116:
            struct.pack_into("<Q", rec, 0, TEXT + f["entry"])
            base = 8
        else:
            struct.pack_into("<I", rec, 0, f["entry"])
            base = 4
        struct.pack_into("<i", rec, base, f["name"])
        struct.pack_into("<IIII", rec, base + 16, f["pcfile"], f["pcln"],
                         3 if f["inline"] else 0, f["cu"])
        rec[size - 1] = 4 if f["inline"] else 0
        buf += rec
        if not f["inline"]:
            continue
        buf += struct.pack("<III", 0, 0, f["inl"])
        if ver == 116:
            align(8)
            buf += struct.pack("<QQQQ", 0, 0, 0, GOFUNC + TREE_OFF)
        else:
            buf += struct.pack("<IIII", 0xffffffff, 0xffffffff, 0xffffffff,
                               TREE_OFF)
    for i, (entry, fo) in enumerate([(0, funcoffs[0]), (0x40, funcoffs[1]),
                                     (0x60, 0)]):
        if ver == 116:
            struct.pack_into("<QQ", buf, ftab + i * 16, TEXT + entry, fo)
        else:
            struct.pack_into("<II", buf, ftab + i * 8, entry, fo)
    pos = 24
    if ver != 116:
        struct.pack_into("<Q", buf, 24, 0)     # textStart 0, as Go 1.26
        pos = 32
    struct.pack_into("<QQQQQ", buf, pos, nametab, cutab, filetab, pctab, ftab)
    # Inline tree: [0] main.inner called at 0x30, [1] main.deep at 0x10.
    region = bytearray(TREE_OFF)
    if ver == 120:
        region += struct.pack("<BxxxiiI", 0, 22, inner_parent, 0)
        region += struct.pack("<BxxxiiI", 0, 33, 0x10, 0)
    else:
        region += struct.pack("<hBxiiii", -1, 0, 0, 0, 22, inner_parent)
        region += struct.pack("<hBxiiii", 0, 0, 0, 0, 33, 0x10)
    return struct.pack("<I", len(buf)) + bytes(buf) + bytes(region)


def pclntab_at(data):
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    secs = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
            for i in range(shnum)]
    names = secs[shstrndx][4]
    for s in secs:
        if data[names + s[0]:].startswith(b".gopclntab\0"):
            return s[4]
    raise SystemExit("make_seeds.py: no .gopclntab")


def gobin_seeds(out, binary):
    data = open(binary, "rb").read()
    off = pclntab_at(data)
    nfunc = bytearray(data)
    struct.pack_into("<Q", nfunc, off + 8, 1 << 31)
    names = bytearray(data)
    nametab, = struct.unpack_from("<Q", data, off + 32)   # 1.18+ layout
    names[off + nametab:off + nametab + 6] = b"\xff\x1b[2J\xc3"
    for name, blob in (("hostile-nfunc", nfunc), ("hostile-names", names)):
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)


def uv(v):
    return bytes(varint(v))


def chunk(ctype, payload, raw_len=None):
    import zlib
    comp = zlib.compress(payload)
    return struct.pack("<IIII", ctype, len(payload) if raw_len is None
                       else raw_len, len(comp), zlib.crc32(comp)) + comp


def trace_seeds(out):
    """Mode byte 0 (the bytes are the file), then a good meta chunk and
    one stack, then a chunk that lies."""
    def s(b):
        return uv(len(b)) + b
    meta = (s(b"run") + uv(4242) + s(b"/srv/app") + s(b"go1.19.8") +
            s(b"buckets") + b"".join(uv(v) for v in (1, 1, 1, 0x1f, 1, 1)))
    head = (b"\0GMTRACE\0" + struct.pack("<II", 1, 0) + chunk(1, meta) +
            chunk(2, uv(0) + uv(1) + uv(0) + uv(1) + uv(0x401000)))

    def event(stack):
        return b"".join(uv(v) for v in (2, 7, 1, 2, 2, 1, 0, stack))
    lies = {
        "event-count": chunk(5, uv(1 << 31) + uv(0) + uv(1) + event(0)),
        "string-length": chunk(3, uv(1) + uv(0) + uv(0x401000) + uv(1) +
                               uv(0xffffffff) + b"main.f"),
        "stack-index": chunk(5, uv(1) + uv(0) + uv(1) + event(1 << 40)),
        "raw-length": chunk(5, uv(1) + uv(0) + uv(1) + event(0),
                            0xffffffff),
        "good": chunk(5, uv(1) + uv(0) + uv(1) + event(0)),
    }
    for name, c in lies.items():
        with open(os.path.join(out, f"hostile-{name}"), "wb") as f:
            f.write(head + c)


def main():
    if sys.argv[1] in ("--gobin", "--trace"):
        os.makedirs(sys.argv[2], exist_ok=True)
        if sys.argv[1] == "--gobin":
            gobin_seeds(sys.argv[2], sys.argv[3])
        else:
            trace_seeds(sys.argv[2])
        return
    out, binary = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "real"), "wb") as f:
        f.write(real_seed(binary))
    for ver in (116, 118, 120):
        with open(os.path.join(out, f"small-{ver}"), "wb") as f:
            f.write(small_seed(ver))
    hostile = {
        "hostile-nfunc": small_seed(120, nfunc=1 << 31),
        "hostile-cyclic-118": small_seed(118, inner_parent=0x18),
        "hostile-cyclic-120": small_seed(120, inner_parent=0x18),
        "hostile-names": small_seed(120, names=b"main.outer\0main.other\0"
                                    b"main.inner\0main.\xff\x1b[J\0"),
    }
    for name, blob in hostile.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
