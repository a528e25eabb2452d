"""What is not needed is not imported (issue 13, point 5; split out of the former
test_findings.py): the commands that do not measure import neither torch nor the latency lab's
torch modules, and the first page of the app needs no pandas."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


CHECK_MODULES = """
import runpy, sys
sys.argv = ["lightviz"] + sys.argv[1:]
try:
    runpy.run_module("lightviz", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")
               or m in ("lightviz.latency.lab.protocol", "lightviz.latency.lab.timing",
                        "lightviz.latency.lab.layers", "lightviz.builder", "torchinfo"))
sys.stderr.write(f"\\nEXIT {code} HEAVY {heavy}\\n")
"""


@pytest.mark.parametrize("argv", [
    ["list"], ["list", "--format", "json"],
    ["profile", "mobilenet_v2", "--format", "json"], ["profile", "ghostnet", "--format", "csv"],
    ["diagram", "mobilenet_v2"], ["diagram", "shufflenet_v1", "--shuffle"],
    ["diagram", "ghostnet", "--block", "stage3.0", "--format", "dot"],
    ["dsc", "--kernel", "3", "--in", "512", "--out", "512", "--size", "14", "--format", "json"],
    ["bench", "--help"], ["--help"],
])
def test_commands_that_do_not_measure_do_not_import_torch(argv):
    r = subprocess.run([sys.executable, "-c", CHECK_MODULES, *argv], cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                       text=True, timeout=120)
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("EXIT 0 "), r.stderr[-2000:]
    assert last.endswith("HEAVY []"), last


# ----------------------------------------------------------------------------- the first page

FIRST_PAGE = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.query_params.update(arch="mobilenet_v2", alpha="0.5", rho="0.7143")
at.run()
assert not at.exception, at.exception
assert at.metric and at.get("plotly_chart"), "the first page drew no metrics or no chart"
print(sorted(m for m in ("pandas", "pyarrow", "torch", "lightviz.reference")
             if m in sys.modules))
"""


def test_the_first_page_needs_no_pandas():
    """Explore's headline and per-layer bars are drawn from the profile's rows: the first page
    after a server start does not pay for importing pandas (with pyarrow, about half a second
    on the 2-core host; issue 13, point 5). numpy (about 0.1 s) is allowed: the top-1 estimate
    fits the published points with it."""
    r = subprocess.run([sys.executable, "-c", FIRST_PAGE, str(ROOT / "app.py")], cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout
