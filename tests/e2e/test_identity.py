"""Map identity: a map freed and another made at its address are two maps;
a map cleared, or emptied by deletes, and written again is still one.

tests/go/reuse writes each map from goroutine A, then from goroutine B, and
tells the test, through a side file, the address and the hash seed of the
map each goroutine wrote (read from the runtime's own header). The reports,
live and from the trace file, must keep the maps apart exactly when the
program made a new one.
"""
import json
import struct
import zlib

import pytest

from conftest import GO_VERSIONS, gmt, go_build, go_source, source_line

PROG = "reuse"
WRITES = 100          # tests/go/reuse: writes per goroutine
CHUNK_EVENTS = 5      # docs/trace-format.md


SETUP_TRIES = 3       # runs of the program to get the GC's address back


def side_facts(path):
    """{scenario: (addr_a, seed_a, addr_b, seed_b)} from the side file, or
    None when the GC never gave the freed map's address back: the reuse
    scenario was not set up (a precondition, not a result: run again)."""
    facts = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if w[:2] == ["reuse", "none"]:
                return None
            if w[0] in ("reuse", "clear", "delete") and len(w) == 5:
                facts[w[0]] = (int(w[1], 16), int(w[2]), int(w[3], 16),
                               int(w[4]))
    return facts


def run_reuse(tmp_path, variant, go="go1.19"):
    exe = go_build(PROG, variant, go=go)
    side = tmp_path / "side.txt"
    report = tmp_path / "report.json"
    trace = tmp_path / "trace.gmt"
    for _ in range(SETUP_TRIES):
        p = gmt("run", "-f", "json", "-o", report, "-t", trace, "--", exe,
                side, check=False)
        facts = side_facts(side)
        if facts is not None:
            break
    else:
        pytest.fail(f"the GC never gave the freed map's address to a new "
                    f"map in {SETUP_TRIES} runs: the reuse scenario could "
                    f"not be set up")
    assert p.returncode == 0, p.stderr
    assert set(facts) == {"reuse", "clear", "delete"}, facts
    live = json.loads(report.read_text())
    saved = json.loads(gmt("report", "-f", "json", trace).stdout)
    return facts, live, saved


def maps_at(report, addr, typ):
    return sorted((m for m in report["maps"]
                   if int(m["addr"], 16) == addr and m["type"] == typ),
                  key=lambda m: m["generation"])


def site_lines(m):
    path = go_source(PROG)
    return {(s["op"], s["count"], s["frames"][0]["file"],
             s["frames"][0]["line"]) for s in m["sites"]
            if s["frames"] and s["frames"][0]["file"] == path}


def line(marker):
    return source_line(PROG, marker)


# Each toolchain's maps keep their seed in their own header (hmap.hash0,
# maps.Map.seed) and reseed on their own rules.
@pytest.mark.parametrize("go,variant", [(g, v) for g in GO_VERSIONS
                                        for v in ("plain", "stripped")])
def test_map_identity(tmp_path, go, variant):
    facts, live, saved = run_reuse(tmp_path, variant, go)
    path = go_source(PROG)
    for name, report in (("live", live), ("trace file", saved)):
        # The GC gave A's map's address to a new map of the same type,
        # which B wrote: two maps, one writer each, in time order.
        addr_a, seed_a, addr_b, seed_b = facts["reuse"]
        assert addr_a == addr_b and seed_a != seed_b, facts["reuse"]
        maps = maps_at(report, addr_a, "map[int]int")
        assert len(maps) == 2, (name, maps)
        for gen, (m, marker) in enumerate(zip(maps, ("@reuse-a",
                                                     "@reuse-b"))):
            assert m["generation"] == gen, (name, m)
            assert m["ops"]["assign"] == WRITES, (name, m["ops"])
            assert m["events"] == WRITES, (name, m)
            assert m["writers"]["goroutines"] == 1, (name, m["writers"])
            assert m["goroutines"] == 1, (name, m)
            assert m["handoffs"] == 0, (name, m)
            assert m["verdict"] == "single_writer", (name, m["verdict"])
            assert site_lines(m) == {("assign", WRITES, path,
                                      line(marker))}, (name, m["sites"])
        assert maps[0]["last_ns"] < maps[1]["first_ns"], (name, maps)

        # Cleared by A (a new seed), then written by B: still one map.
        addr, seed_a, _, seed_b = facts["clear"]
        assert seed_a != seed_b, facts["clear"]
        maps = maps_at(report, addr, "map[int]bool")
        assert len(maps) == 1, (name, maps)
        m = maps[0]
        assert m["ops"]["assign"] == 2 * WRITES, (name, m["ops"])
        assert m["ops"]["clear"] == 1, (name, m["ops"])
        assert m["writers"]["goroutines"] == 2, (name, m["writers"])
        assert m["handoffs"] == 1, (name, m)
        assert site_lines(m) >= {("assign", WRITES, path, line("@clear-a")),
                                 ("assign", WRITES, path, line("@clear-b"))}

        # Emptied by A's deletes (the last one reseeds it), then written
        # by B: still one map.
        addr, seed_a, _, seed_b = facts["delete"]
        assert seed_a != seed_b, facts["delete"]
        maps = maps_at(report, addr, "map[int]string")
        assert len(maps) == 1, (name, maps)
        m = maps[0]
        assert m["ops"]["assign"] == 2 * WRITES, (name, m["ops"])
        assert m["ops"]["delete"] == WRITES, (name, m["ops"])
        assert m["writers"]["goroutines"] == 2, (name, m["writers"])
        assert m["handoffs"] == 1, (name, m)
        assert site_lines(m) == {
            ("assign", WRITES, path, line("@delete-a")),
            ("delete", WRITES, path, line("@delete-delete")),
            ("assign", WRITES, path, line("@delete-b"))}, (name, m["sites"])


# ---- a trace file as the versions before the seed wrote it ---------------

def get_uv(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return v, i


def put_uv(v):
    out = bytearray()
    while True:
        c = v & 0x7f
        v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)


def events_without_extras(raw):
    """An events chunk's payload with each event's extra fields cut."""
    n, i = get_uv(raw, 0)
    nextra, i = get_uv(raw, i)
    assert nextra >= 1, "this build writes no seed"
    base, i = get_uv(raw, i)
    out = bytearray(put_uv(n) + put_uv(0) + put_uv(base))
    for _ in range(n):
        start = i
        for _ in range(8):                     # ts .. stack
            _, i = get_uv(raw, i)
        out += raw[start:i]
        for _ in range(nextra):
            _, i = get_uv(raw, i)
    assert i == len(raw)
    return bytes(out)


def strip_seeds(src, dst):
    data = src.read_bytes()
    out = bytearray(data[:16])                 # the file header
    pos = 16
    while pos < len(data):
        typ, raw_len, comp_len, _ = struct.unpack_from("<IIII", data, pos)
        comp = data[pos + 16:pos + 16 + comp_len]
        pos += 16 + comp_len
        raw = zlib.decompress(comp)
        assert len(raw) == raw_len
        if typ == CHUNK_EVENTS:
            raw = events_without_extras(raw)
            comp = zlib.compress(raw, 1)
        out += struct.pack("<IIII", typ, len(raw), len(comp),
                           zlib.crc32(comp)) + comp
    dst.write_bytes(bytes(out))


def test_file_without_seeds(tmp_path):
    """Events from before the seed read as seed 0, unknown: the address
    and type alone name a map, as they did then."""
    facts, _, saved = run_reuse(tmp_path, "plain")
    old = tmp_path / "old.gmt"
    strip_seeds(tmp_path / "trace.gmt", old)
    r = json.loads(gmt("report", "-f", "json", old).stdout)
    assert r["events"] == saved["events"]
    addr = facts["reuse"][0]
    maps = maps_at(r, addr, "map[int]int")
    assert len(maps) == 1, maps
    assert maps[0]["ops"]["assign"] == 2 * WRITES
    assert maps[0]["writers"]["goroutines"] == 2
    for name, typ in (("clear", "map[int]bool"),
                      ("delete", "map[int]string")):
        assert len(maps_at(r, facts[name][0], typ)) == 1
