"""The kernel side under every build variant of a Go program.

tests/unit/test_tracer.c drives user/tracer.c and the BPF programs directly
(no CLI in between): exact counts per operation and call site, goroutine
ids, every thread of a program whose probes went in before its exec, the
stack-growth restart, the write-in-progress flag, the fatal message, loss
accounting and the flight recorder. `make test` runs it on a plain build;
here it runs on the stripped and position-independent ones, whose probe
sites and load bias differ.
"""
import os
import subprocess

import pytest

from conftest import BUILD, go_build

TEST_TRACER = os.path.join(BUILD, "tests", "test_tracer")


@pytest.mark.parametrize("variant", ["stripped", "pie", "pie-stripped"])
def test_tracer_on_variant(variant):
    if not os.access(TEST_TRACER, os.X_OK):
        pytest.fail(f"{TEST_TRACER} is missing: run make unit")
    binary = go_build("probetest", variant)
    p = subprocess.run([TEST_TRACER], capture_output=True, text=True,
                       timeout=600,
                       env=dict(os.environ, GMT_PROBETEST=binary))
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "[  PASSED  ] 6 test(s)." in out, out
