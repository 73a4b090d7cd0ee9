"""The facts tracing rests on, held against sources gomaptrace does not use.

For each Go toolchain, the expected write flag (offset and mask), hash seed
(offset and size) and goid offset come from the unstripped twin's DWARF as
Go's own debug/dwarf reads it (tests/go/dwarffacts), and the mask also from
`go tool objdump` of the runtime's map assign functions. `info --json` on
the plain build (DWARF), the stripped build (code and the version table)
and the stripped PIE must give the same facts, each source on its own
(fact_sources) as well as the one chosen.

Type names: every map a Swiss-map program (Go 1.26, 1.27) writes has its
type name in the report, as the runtime spells it (the marker after
"// TYPE " in tests/go/typenames).
"""
import json
import re
import subprocess

import pytest

from conftest import GMT, GO_VERSIONS, SWISS_VERSIONS, gmt_json, go_build, \
    go_env, go_source, source_line

NAME = "typenames"
SWISS = set(SWISS_VERSIONS)
BUILDS = ["plain", "stripped", "pie-stripped"]


def dwarf_facts(binary):
    """(flag offset, flag mask, seed offset, seed size, goid offset) from the
    binary's DWARF through tests/go/dwarffacts."""
    p = subprocess.run([go_build("dwarffacts", go="go1.26"), binary],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    goid = d["runtime.g"]["goid"]["offset"]
    if "internal/runtime/maps.Map" in d:
        m = d["internal/runtime/maps.Map"]
        # writing is a whole byte the runtime tests against zero.
        return (m["writing"]["offset"], (1 << 8 * m["writing"]["size"]) - 1,
                m["seed"]["offset"], m["seed"]["size"], goid)
    h = d["runtime.hmap"]
    return (h["flags"]["offset"], d["runtime.hashWriting"],
            h["hash0"]["offset"], h["hash0"]["size"], goid)


def objdump_flag(binary, go):
    """{(offset, mask)} the assign functions test or toggle, per `go tool
    objdump`: CMPB off(BX), $0x0 (Swiss: the whole byte), or XORL $mask on
    the flags byte loaded from off(reg) (buckets)."""
    path, env = go_env(go)
    out = subprocess.run(
        [path, "tool", "objdump", "-s", r"^runtime\.mapassign_fast64$",
         binary], env=env, capture_output=True, text=True,
        check=True).stdout
    found, load = set(), None
    for line in out.splitlines():
        m = re.search(r"CMPB 0x([0-9a-f]+)\(BX\), \$0x0\b", line)
        if m:
            found.add((int(m.group(1), 16), 0xff))
        m = re.search(r"MOVZX 0x([0-9a-f]+)\(\w+\), (\w+)", line)
        if m:
            load = (int(m.group(1), 16), m.group(2))
        m = re.search(r"XORL \$0x([0-9a-f]+), (\w+)", line)
        if m and load and m.group(2) == load[1]:
            found.add((load[0], int(m.group(1), 16)))
    return found


@pytest.fixture(scope="module", params=GO_VERSIONS)
def expected(request):
    go = request.param
    twin = go_build(NAME, "plain", go=go)
    facts = dwarf_facts(twin)
    # The Go toolchain's own listing agrees on the flag (and its mask).
    assert (facts[0], facts[1]) in objdump_flag(twin, go), \
        (facts, objdump_flag(twin, go))
    return go, facts


def as_sources(facts):
    flag_off, mask, seed_off, seed_size, goid = facts
    return {"write_flag": {"offset": flag_off, "mask": mask},
            "seed": {"offset": seed_off, "size": seed_size},
            "goid_offset": goid}


@pytest.mark.parametrize("variant", BUILDS)
def test_facts_agree(expected, variant):
    go, facts = expected
    info = gmt_json("info", go_build(NAME, variant, go=go), "--json")
    flag_off, mask, seed_off, seed_size, goid = facts
    dwarf = variant == "plain"
    assert info["dwarf"] == dwarf
    assert info["map_impl"] == ("swiss" if go in SWISS else "buckets")
    assert info["write_flag"] == {"offset": flag_off, "mask": mask,
                                  "source": "dwarf" if dwarf else "code"}
    assert info["seed"] == {"offset": seed_off, "size": seed_size,
                            "source": "dwarf" if dwarf else "code"}
    assert info["goid_offset"] == goid
    assert info["goid_source"] == ("dwarf" if dwarf else "table")
    # Each source on its own says the same; DWARF only where it exists.
    want = as_sources(facts)
    srcs = info["fact_sources"]
    assert srcs["code"] == want, srcs
    assert srcs["table"] == want, srcs
    if dwarf:
        assert srcs["dwarf"] == want, srcs
    else:
        assert srcs["dwarf"] == {"write_flag": None, "seed": None,
                                 "goid_offset": None}


def typed_lines():
    """{line: type string} from the "// TYPE " markers of typenames."""
    out = {}
    with open(go_source(NAME)) as f:
        for i, line in enumerate(f, 1):
            m = re.search(r"// TYPE (.+?)\s*$", line)
            if m:
                out[i] = m.group(1)
    assert len(out) >= 6
    return out


@pytest.mark.parametrize("variant", BUILDS)
@pytest.mark.parametrize("go", GO_VERSIONS)
def test_info_map_types(go, variant):
    """Every map type the program writes is listed by --map-types."""
    info = gmt_json("info", go_build(NAME, variant, go=go), "--json",
                    "--map-types")
    types = info["map_types"]
    assert set(typed_lines().values()) <= set(types), types
    assert all(t.startswith("map[") for t in types)


@pytest.mark.parametrize("variant", BUILDS)
@pytest.mark.parametrize("go", SWISS_VERSIONS)
def test_report_type_names(go, variant, tmp_path):
    """Every map in the report has its type; each marked line's map has the
    marked one (from the run-time type pointer in RAX, PIE included)."""
    binary = go_build(NAME, variant, go=go)
    out = tmp_path / "report.json"
    p = subprocess.run([GMT, "run", "-f", "json", "-o", str(out), "--",
                        binary], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "600\n"
    r = json.loads(out.read_text())
    assert r["maps"]
    untyped = [(m["addr"], m["sites"][0]["frames"][:1]) for m in r["maps"]
               if not m["type"]]
    assert not untyped, untyped
    for line, want in typed_lines().items():
        at = [m for m in r["maps"] for s in m["sites"]
              if s["frames"] and s["frames"][0]["line"] == line and
              s["frames"][0]["file"].endswith(f"/tests/go/{NAME}/main.go")]
        assert at, f"no map written at line {line}"
        assert {m["type"] for m in at} == {want}, (line, at[0]["type"])


@pytest.mark.parametrize("go", SWISS_VERSIONS)
def test_code_source_reads_the_code(go, tmp_path):
    """The code source decodes the instructions themselves: a copy of the
    stripped build whose seed load in mapassign_fast64 reads 0x10(BX)
    instead of 0x8(BX) gives a different code answer, while the table
    stays, and `info` says where they disagree."""
    binary = go_build(NAME, "stripped", go=go)
    twin = go_build(NAME, "plain", go=go)
    path, env = go_env(go)
    out = subprocess.run(
        [path, "tool", "objdump", "-s", r"^runtime\.mapassign_fast64$",
         twin], env=env, capture_output=True, text=True, check=True).stdout
    pcs = [int(m.group(1), 16) for m in re.finditer(
        r"\s0x([0-9a-f]+)\s+488b5b08\s+MOVQ 0x8\(BX\), BX", out)]
    assert pcs, out
    data = bytearray(open(binary, "rb").read())
    for pc in pcs:      # not PIE: the text segment maps file offset 0
        off = pc - 0x400000
        assert data[off:off + 4] == b"\x48\x8b\x5b\x08"
        data[off + 3] = 0x10
    patched = tmp_path / "patched"
    patched.write_bytes(bytes(data))
    info = gmt_json("info", patched, "--json")
    srcs = info["fact_sources"]
    assert srcs["code"]["seed"] == {"offset": 16, "size": 8}
    assert srcs["table"]["seed"] == {"offset": 8, "size": 8}
    assert info["seed"] == {"offset": 16, "size": 8, "source": "code"}
    text = subprocess.run([GMT, "info", str(patched)], capture_output=True,
                          text=True, check=True).stdout
    assert "note: table says the hash seed is 8 bytes at 8" in text
