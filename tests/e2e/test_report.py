"""`gomaptrace report FILE` on good, cut, damaged and foreign files."""
import json
import os
import struct
import subprocess

import pytest

from conftest import GMT, gmt, go_build, source_line


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    """A finished trace of the counts program, and its live JSON report."""
    tmp = tmp_path_factory.mktemp("report")
    path = tmp / "counts.gmt"
    live = tmp / "live.json"
    p = subprocess.run([GMT, "run", "-f", "json", "-o", str(live),
                        "--trace", str(path), "--", go_build("counts")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return path, json.loads(live.read_text())


def chunks(data):
    """(offset, type, total length) of each chunk after the header."""
    out, off = [], 16
    while off + 16 <= len(data):
        typ, raw, comp, _ = struct.unpack_from("<IIII", data, off)
        out.append((off, typ, 16 + comp))
        off += 16 + comp
    assert off == len(data)
    return out


def one_line(p):
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gomaptrace: "), p.stderr
    return lines[0]


def test_text_and_json(trace):
    path, live = trace
    r = json.loads(gmt("report", path, "--format", "json").stdout)
    assert r == live
    text = gmt("report", path).stdout
    line = source_line("counts", "// WRITE")
    assert "map[int]int" in text
    assert "200,000 assign" in text
    assert f"counts/main.go:{line}" in text
    assert "0 lost" in text


def test_output_file_is_atomic(trace, tmp_path):
    path, live = trace
    out = tmp_path / "r.json"
    p = gmt("report", path, "-f", "json", "-o", out)
    assert p.stdout == ""
    assert json.loads(out.read_text()) == live
    assert os.listdir(tmp_path) == ["r.json"]
    # An unwritable destination: one line, nothing left behind.
    p = gmt("report", path, "-o", tmp_path / "no" / "such" / "r.txt",
            check=False)
    assert p.returncode == 1
    one_line(p)


def test_cut_mid_chunk(trace, tmp_path):
    """Cut inside the last events chunk: the chunks before it, a warning."""
    path, live = trace
    data = path.read_bytes()
    events = [c for c in chunks(data) if c[1] == 5]
    assert len(events) >= 3            # 200,000+ events, 65,536 a chunk
    off, _, length = events[-1]
    cut = tmp_path / "cut.gmt"
    cut.write_bytes(data[:off + length // 2])
    p = gmt("report", cut, "-f", "json")
    assert "cut short" in one_line(p)
    r = json.loads(p.stdout)
    assert r["complete"] is False
    assert r["events"] == 65536 * (len(events) - 1)
    assert r["events"] < live["events"]
    # The text report says so too.
    assert "incomplete" in gmt("report", cut).stdout


def test_damaged_chunk(trace, tmp_path):
    path, _ = trace
    data = bytearray(path.read_bytes())
    off, _, length = [c for c in chunks(bytes(data)) if c[1] == 5][1]
    data[off + length - 3] ^= 0xff
    bad = tmp_path / "bad.gmt"
    bad.write_bytes(bytes(data))
    p = gmt("report", bad, "-f", "json")
    assert "damaged" in one_line(p)
    assert json.loads(p.stdout)["events"] == 65536


@pytest.mark.parametrize("content,what", [
    (b"", "empty"),
    (b"hello, this is not a trace\n", "not a gomaptrace trace"),
    (b"GMTRACE\0\x07\0\0\0\0\0\0\0", "version 7"),
    (b"GMTRA", "cut short"),
])
def test_foreign_files(tmp_path, content, what):
    f = tmp_path / "f.gmt"
    f.write_bytes(content)
    p = gmt("report", f, check=False)
    assert p.returncode == 1 and p.stdout == ""
    assert what in one_line(p)


def test_cut_before_first_chunk(trace, tmp_path):
    path, _ = trace
    f = tmp_path / "f.gmt"
    f.write_bytes(path.read_bytes()[:30])
    p = gmt("report", f, check=False)
    assert p.returncode == 1
    assert "nothing to report" in one_line(p)


def test_not_a_file(tmp_path):
    p = gmt("report", tmp_path, check=False)
    assert p.returncode == 1
    one_line(p)
    p = gmt("report", tmp_path / "missing.gmt", check=False)
    assert p.returncode == 1
    assert "missing.gmt" in one_line(p)


def test_elf_binary_is_not_a_trace():
    p = gmt("report", "/bin/true", check=False)
    assert p.returncode == 1
    assert "not a gomaptrace trace" in one_line(p)


def test_usage():
    assert gmt("report", check=False).returncode == 2
    assert gmt("report", "a", "b", check=False).returncode == 2
    p = gmt("report", "x.gmt", "--format", "yaml", check=False)
    assert p.returncode == 2 and "yaml" in p.stderr
