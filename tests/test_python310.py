"""JetPack 6 ships Python 3.10: the package, the app and the scripts must compile there."""

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python310():
    """A working Python 3.10 interpreter (on PATH, or pyenv's), or None."""
    candidates = [shutil.which("python3.10")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10")))
    for exe in filter(None, candidates):
        r = subprocess.run([exe, "--version"], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.startswith("Python 3.10"):
            return exe
    return None


@pytest.mark.skipif(python310() is None, reason="no Python 3.10 interpreter here")
def test_sources_compile_under_python_3_10(tmp_path):
    targets = [p for p in ("lightviz", "app.py", "benchmarks", "tests") if (ROOT / p).exists()]
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path)}
    r = subprocess.run([python310(), "-m", "compileall", "-q", *targets], cwd=ROOT,
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
