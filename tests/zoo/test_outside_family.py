"""A family from outside the package works in every door.

tests/fixtures/tinynet/ is a package that is installed the way pip leaves one, minus pip: a
module (tinynet.py, written with the public API only) and a ``tinynet-0.1.0.dist-info`` folder
whose entry_points.txt registers ``tinynet = tinynet:ARCHS`` in the ``lightviz.archs`` group.
Putting that folder on PYTHONPATH installs it. The commands run in subprocesses (a real entry
point lookup at start-up); the app's pages run in-process under AppTest with the folder put on
sys.path and the registry reloaded, then restored.

tests/fixtures/badplugins/ registers four broken plugins: each gives one warning line and is
skipped, and the commands still work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lightviz.zoo import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TINY = FIXTURES / "tinynet"
BAD = FIXTURES / "badplugins"


def lightviz(*args, plugins=(TINY,), env=None, timeout=240):
    """``python -m lightviz ARGS`` with ``plugins`` installed (on PYTHONPATH)."""
    path = [str(ROOT)] + [str(p) for p in plugins]
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), **(env or {})}
    return subprocess.run([sys.executable, "-m", "lightviz", *args], capture_output=True,
                          text=True, env=full_env, timeout=timeout, cwd=ROOT)


def python(code: str, plugins=(TINY,), timeout=240):
    path = [str(ROOT)] + [str(p) for p in plugins]
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
                          timeout=timeout, cwd=ROOT)


# ----------------------------------------------------------------------------- the commands

def test_list_shows_the_plugin_with_its_variant():
    r = lightviz("list")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("tinynet"))
    assert "TinyNet" in line and "(--groups 1/2/4)" in line
    assert r.stdout.splitlines()[0].startswith("resnet18")  # built-ins first, in their order
    assert r.stderr == ""
    j = json.loads(lightviz("list", "--format", "json").stdout)
    tiny = next(a for a in j if a["arch"] == "tinynet")
    assert tiny["label"] == "TinyNet" and tiny["variants"] == {"groups": {"values": [1, 2, 4], "default": 2}}


def test_profile_and_its_variant_checks():
    r = lightviz("profile", "tinynet", "--groups", "4", "--alpha", "0.5", "--format", "json")
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    assert p["arch"] == "tinynet" and p["groups"] == 4
    assert p["params"] > 0 and p["macs"] > 0
    shuffles = [row for row in p["layers"] if row["kind"] == "channel shuffle"]
    assert len(shuffles) == 4 and all(row["groups"] == 4 for row in shuffles)
    default = json.loads(lightviz("profile", "tinynet", "--format", "json").stdout)
    assert default["groups"] == 2  # the Variant's default
    bad = lightviz("profile", "tinynet", "--groups", "3")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "lightviz: error: groups 3 is not allowed for tinynet: choose one of 1, 2, 4"
    other = lightviz("profile", "resnet18", "--groups", "2")
    assert other.returncode == 2 and "groups applies only to shufflenet_v1, tinynet, not to resnet18" in other.stderr


def test_diagram_block_and_overview():
    r = lightviz("diagram", "tinynet", "--block", "stage2.1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("digraph") and "shuffle" in r.stdout
    r = lightviz("diagram", "tinynet", "--overview", "--groups", "1")
    assert r.returncode == 0, r.stderr
    assert "stage3" in r.stdout and "shuffle" not in r.stdout  # g = 1: nothing to shuffle
    r = lightviz("diagram", "tinynet", "--shuffle", "--groups", "4")
    assert r.returncode == 0 and r.stdout.startswith("digraph"), r.stderr


def test_build_matches_the_profile():
    code = (
        "import json, torch, lightviz\n"
        "m = lightviz.build('tinynet', 0.5, groups=4, classes=10).eval()\n"
        "p = lightviz.profile('tinynet', 0.5, groups=4, classes=10)\n"
        "with torch.no_grad(): y = m(torch.randn(2, 3, 64, 64))\n"
        "print(json.dumps([sum(t.numel() for t in m.parameters()), p.params, list(y.shape),"
        " type(m.get_submodule('stage2.0')).__name__]))\n"
    )
    r = python(code)
    assert r.returncode == 0, r.stderr
    module_params, profile_params, shape, block = json.loads(r.stdout)
    assert module_params == profile_params and shape == [2, 10] and block == "TinyBlock"


def test_bench(tmp_path):
    env = {"LIGHTVIZ_LOCK_DIR": str(tmp_path / "lock"), "LIGHTVIZ_CACHE_DIR": str(tmp_path / "cache")}
    r = lightviz("bench", "tinynet", "--resolution", "64", "--budget", "0.2", "--threads", "1",
                 "--format", "json", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["config"]["arch"] == "tinynet" and out["config"]["groups"] == 2
    assert out["median_ms"] > 0


def test_broken_plugins_are_skipped_with_one_line_each():
    r = lightviz("list", plugins=(TINY, BAD))
    assert r.returncode == 0, r.stderr
    warnings = r.stderr.strip().splitlines()
    assert len(warnings) == 4, r.stderr
    assert all(w.startswith("lightviz: warning: plugin ") for w in warnings)
    text = r.stderr
    assert "cannot replace the built-in architecture resnet18" in text
    assert "gives dict, not a lightviz.zoo.Arch" in text
    assert "spec of brokennet fails" in text
    assert "No module named 'no_such_module_here'" in text
    names = [ln.split()[0] for ln in r.stdout.splitlines()]
    assert "tinynet" in names and "brokennet" not in names and names.count("resnet18") == 1
    assert "He et al." in r.stdout.splitlines()[0]  # resnet18 is still the built-in one
    # a command on a built-in architecture never reads the plugins: no warning at all
    r = lightviz("profile", "mobilenet_v2", "--format", "json", plugins=(TINY, BAD))
    assert r.returncode == 0 and r.stderr == ""
    r = lightviz("profile", "tinynet", "--format", "json", plugins=(TINY, BAD))
    assert r.returncode == 0 and len(r.stderr.strip().splitlines()) == 4


# ----------------------------------------------------------------------------- the app's pages

@pytest.fixture
def tinynet_installed():
    """The fixture package on sys.path and in the registry, for this test only."""
    sys.path.insert(0, str(TINY))
    try:
        REGISTRY.load_plugins()
        assert "tinynet" in REGISTRY
        yield
    finally:
        sys.path.remove(str(TINY))
        sys.modules.pop("tinynet", None)
        REGISTRY.load_plugins()
    assert "tinynet" not in REGISTRY


def _app(query, page=""):
    from test_app import assert_clean, run_app

    at = run_app(query, page)
    assert_clean(at)
    return at


@pytest.mark.slow
def test_app_pages(tinynet_installed):
    at = _app({"arch": "tinynet", "groups": "4"})
    assert at.selectbox(key="arch").value == "tinynet"
    assert at.header[0].value.startswith("TinyNet g=4 \u03b1")
    assert not at.warning

    at = _app({"arch": "tinynet", "groups": "3"})  # not a TinyNet group count: the nearest
    assert "groups 3 is not allowed for tinynet" in at.warning[0].value
    assert at.header[0].value.startswith("TinyNet g=2 \u03b1")

    at = _app({"arch": "tinynet", "groups": "4"}, "compare")
    labels = list(at.dataframe[0].value["label"])
    assert labels[-1] == "TinyNet g=4" and "ShuffleNet v1 g=3" in labels  # its own default

    at = _app({"arch": "tinynet", "block": "stage2.1"}, "diagrams")
    assert any("**TinyNet block** (g = 2)" in m.value for m in at.markdown)
    units = [list(df.value["unit"]) for df in at.dataframe if "unit" in df.value]
    assert units and units[0][-1] == "TinyBlock"  # the calculator's family table

    _app({"arch": "tinynet"}, "paper")
    at = _app({"arch": "tinynet"}, "latency")
    assert [b.label for b in at.button][:1] == ["Measure"]
