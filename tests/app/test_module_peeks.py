"""Sessions running side by side in one server (lightviz.views.module_peeks; split out of the
former test_faults.py): the first opening of the Diagrams page does not break the charts of
other sessions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def env_with_lock(lock_dir, **extra) -> dict:
    return dict(os.environ, LIGHTVIZ_LOCK_DIR=str(lock_dir), PYTHONPATH=str(ROOT),
                PYTHONUNBUFFERED="1", **extra)


RACE = r"""
import ast, sys, threading, time
app = sys.argv[1]
# what a server has imported when sessions run: app.py's own imports, then the Explore page's
for node in ast.parse(open(app).read()).body:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        exec(compile(ast.Module([node], []), app, "exec"), {})
import plotly.io as pio
from lightviz import charts, count, make_config
import lightviz.views.explore
assert "lightviz.views.diagrams" not in sys.modules
fig = charts.layer_figure(count(make_config("resnet18", 0.25, resolution=32)), "macs")
pio.to_json(fig, validate=False)
errors, runs, done = [], [0], threading.Event()

def charts_of_other_sessions():
    while not done.is_set():
        try:
            pio.to_json(fig, validate=False)  # what st.plotly_chart does for every chart
            runs[0] += 1
        except AttributeError as exc:
            errors.append(str(exc))

t = threading.Thread(target=charts_of_other_sessions)
t.start()
time.sleep(0.05)
import lightviz.views.diagrams  # what the first opening of the Diagrams page imports
done.set()
t.join()
print(runs[0], len(errors), errors[:1])
"""


def test_first_opening_of_diagrams_does_not_break_other_sessions(tmp_path):
    """Opening the Diagrams page for the first time in a server imports plotly.express, which
    imports PIL.Image; plotly's JSON encoder, serializing other sessions' charts meanwhile,
    looks PIL.Image up in sys.modules without importing it and can find it half-initialized
    (AttributeError: partially initialized module 'PIL.Image' has no attribute 'Image'). The
    classroom sweep found it (one Explore page in a few hundred failed); app.py now imports
    PIL.Image before any page runs. Since the first page no longer imports numpy and pandas,
    the Diagrams page's first import brings them in too, and the same race hit numpy in every
    run ("partially initialized module 'numpy' has no attribute 'ndarray'") until app.py
    imported lightviz.views.module_peeks, which makes plotly's lookups wait for an import in
    progress. Here the race is provoked in-process, after app.py's own imports, three times."""
    for _ in range(3):
        r = subprocess.run([sys.executable, "-c", RACE, str(ROOT / "app.py")], cwd=ROOT,
                           env=env_with_lock(tmp_path / "lock"),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        runs, errors, first = r.stdout.strip().splitlines()[-1].split(" ", 2)
        assert int(runs) > 0
        assert errors == "0", first
