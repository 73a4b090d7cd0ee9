"""The kernel side under every build variant of a Go program.

tests/unit/test_tracer.c drives user/tracer.c and the BPF programs directly
(no CLI in between): exact counts per operation and call site, goroutine
ids, every thread of a program whose probes went in before its exec, the
stack-growth restart, the write-in-progress flag, the fatal message, loss
accounting and the flight recorder. `make test` runs it on a plain Go 1.19
build; here it runs on the stripped and position-independent ones, whose
probe sites and load bias differ, and on the Swiss-map toolchains (1.26,
1.27), whose map functions and fatal path differ.
"""
import os
import subprocess

import pytest

from conftest import BUILD, GO_VERSIONS, SWISS_VERSIONS, go_build

TEST_TRACER = os.path.join(BUILD, "tests", "test_tracer")


# About 20 s each. Go 1.19 as before (its plain build is `make test`'s);
# the Swiss-map toolchains on the two ends: plain (symbols, no load bias)
# and pie-stripped (neither symbols nor a fixed address).
CASES = [(go, v) for go in GO_VERSIONS
         for v in (["plain", "pie-stripped"] if go in SWISS_VERSIONS
                   else ["stripped", "pie", "pie-stripped"])]


@pytest.mark.parametrize("go,variant", CASES)
def test_tracer_on_variant(go, variant):
    if not os.access(TEST_TRACER, os.X_OK):
        pytest.fail(f"{TEST_TRACER} is missing: run make unit")
    binary = go_build("probetest", variant, go=go)
    p = subprocess.run([TEST_TRACER], capture_output=True, text=True,
                       timeout=600,
                       env=dict(os.environ, GMT_PROBETEST=binary))
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "[  PASSED  ] 7 test(s)." in out, out
