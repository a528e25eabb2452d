"""The depthwise-separable calculator, the Ghost module and the family units; the ``dsc`` and
``diagram`` commands (output and exit codes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lightviz
from lightviz.cli import main
from lightviz.counting import trace
from lightviz.diagrams import calculator as C
from lightviz.spec import Conv2d, GhostModule, Sequence
from lightviz.zoo.common import Network, Stage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def paper(n, digits):
    """``n`` in millions, rounded like the paper's table."""
    return round(n / 1e6, digits)


# ---------------------------------------------------------------------------------------------
# MobileNets Table 3
# ---------------------------------------------------------------------------------------------


def test_mobilenet_table3():
    base = C.dsc(3, 512, 512, 14)
    assert base["standard"] == {"params": 2_359_296, "macs": 462_422_016}
    assert base["separable"]["macs"] == 52_283_392 and base["separable"]["params"] == 266_752
    assert (paper(base["standard"]["macs"], 0), paper(base["standard"]["params"], 2)) == (462, 2.36)
    assert (paper(base["separable"]["macs"], 1), paper(base["separable"]["params"], 2)) == (52.3, 0.27)
    a = C.dsc(3, 512, 512, 14, alpha=0.75)
    assert (paper(a["separable"]["macs"], 1), paper(a["separable"]["params"], 2)) == (29.6, 0.15)
    ar = C.dsc(3, 512, 512, 14, alpha=0.75, rho=0.714)
    assert ar["effective"] == {"in": 384, "out": 384, "size": 10}
    assert (paper(ar["separable"]["macs"], 1), paper(ar["separable"]["params"], 2)) == (15.1, 0.15)
    # the table rows are Table 3's rows
    assert [(r["layer"], paper(r["macs"], 1), paper(r["params"], 2)) for r in ar["table"]] == [
        ("standard convolution", 462.4, 2.36), ("depthwise separable", 52.3, 0.27),
        ("alpha = 0.75", 29.6, 0.15), ("alpha = 0.75, rho = 0.714", 15.1, 0.15)]
    assert base["ratio"] == pytest.approx(1 / 512 + 1 / 9)
    assert base["saving"] == pytest.approx(8.84, abs=0.01)
    assert set(base["units"]) == {"macs", "params"} and "multiply" in base["units"]["macs"]


@settings(max_examples=200, deadline=None)
@given(k=st.integers(1, 7), m=st.integers(1, 300), n=st.integers(1, 300), d=st.integers(1, 40),
       alpha=st.sampled_from([0.25, 0.5, 0.75, 1.0, 1.4, 2.0]), rho=st.sampled_from([0.25, 0.5, 0.714, 1.0, 2.0]))
def test_ratio_is_one_over_n_plus_one_over_k2(k, m, n, d, alpha, rho):
    r = C.dsc(k, m, n, d, alpha, rho)
    e = r["effective"]
    assert r["ratio"] == pytest.approx(1 / e["out"] + 1 / (k * k), rel=1e-12)
    assert r["ratio"] == pytest.approx(r["separable"]["params"] / r["standard"]["params"], rel=1e-12)
    assert r["separable"]["macs"] == r["separable"]["depthwise"]["macs"] + r["separable"]["pointwise"]["macs"]
    # the alpha/rho form K*K*aM*rD*rD + aM*aN*rD*rD with the rounded widths
    assert r["separable"]["macs"] == k * k * e["in"] * e["size"] ** 2 + e["in"] * e["out"] * e["size"] ** 2


def _counted(net_items, size):
    """MACs and weights (no BN) of spec convs on a ``size`` map, by the engine's counter."""
    cfg = lightviz.config.Config("resnet18", 1.0, size, None, 1000)
    rows = trace(Network(tuple(net_items), cfg), cfg)
    convs = [r for r in rows if r.op == "conv2d" and r.block != "stem"]
    return sum(r.macs for r in convs), sum(r.params for r in convs)


@settings(max_examples=40, deadline=None)
@given(k=st.sampled_from([1, 3, 5]), m=st.integers(1, 64), n=st.integers(1, 64), d=st.integers(1, 20))
def test_formulas_agree_with_the_engine(k, m, n, d):
    r = C.dsc(k, m, n, d)
    stem = ("stem", Sequence((("conv", Conv2d(3, m, 1)),)))
    std = _counted([stem, ("stage1", Stage.of([Sequence((("conv", Conv2d(m, n, k)),))]))], d)
    sep = _counted([stem, ("stage1", Stage.of([Sequence((("dw", Conv2d(m, m, k, groups=m)),
                                                         ("pw", Conv2d(m, n, 1))))]))], d)
    assert (r["standard"]["macs"], r["standard"]["params"]) == std
    assert (r["separable"]["macs"], r["separable"]["params"]) == sep


def test_bad_calculator_input():
    for args, msg in [((0, 5, 5, 5), "kernel 0 is out of range"), ((3, "x", 5, 5), "must be a number"),
                      ((3, 5.5, 5, 5), "whole number"), ((3, 5, 5, 5, 3.0), "alpha 3 is out of range"),
                      ((3, 5, 5, 5, 1.0, 0.01), "rho 0.01 is out of range"),
                      ((3, 5, 5, float("nan")), "finite")]:
        with pytest.raises(ValueError, match=msg):
            C.dsc(*args)


# ---------------------------------------------------------------------------------------------
# Ghost module and the family units
# ---------------------------------------------------------------------------------------------


def test_ghost_module_saving_close_to_s():
    for s in (2, 3, 4):
        g = C.ghost_module(512, 512, 14, kernel=3, cheap_kernel=3, ratio=s)
        assert g["speedup"] == pytest.approx(s, rel=0.02)
        assert g["paper_approx"] == pytest.approx(s * 512 / (s + 511))
        assert g["compression"] == pytest.approx(s, rel=0.02)
    g = C.ghost_module(16, 16, 56, kernel=1, cheap_kernel=3, ratio=2)  # GhostNet's own 1x1 primary
    assert g["speedup"] < 1.5
    # the same MACs as the engine's GhostModule (the engine adds BN parameters, so compare MACs)
    for c, n, s in ((24, 72, 2), (40, 120, 2), (16, 33, 3)):
        g = C.ghost_module(c, n, 28, kernel=1, cheap_kernel=3, ratio=s)
        stem = ("stem", Sequence((("conv", Conv2d(3, c, 1)),)))
        macs, weights = _counted([stem, ("stage1", Stage.of([GhostModule(c, n, ratio=s)]))], 28)
        assert g["ghost"]["macs"] == macs
        assert g["ghost"]["params"] == weights
    with pytest.raises(ValueError, match="ratio"):
        C.ghost_module(16, 16, 8, ratio=1)


def _block_totals(arch, block, **kw):
    prof = lightviz.count(lightviz.make_config(arch, **kw))
    rows = prof.layers[prof.layers["block"] == block]
    return int(rows["params"].sum()), int(rows["macs"].sum())


@pytest.mark.parametrize("unit, width, size, kw, arch, block, cfg", [
    ("BasicBlock", 64, 56, {}, "resnet18", "conv2_x.1", {}),
    ("Bottleneck", 256, 56, {}, "resnet50", "conv2_x.1", {}),
    ("DepthwiseSeparable", 512, 14, {}, "mobilenet_v1", "stage4.1", {}),
    ("InvertedResidual", 32, 28, {}, "mobilenet_v2", "stage3.1", {}),
    ("ShuffleUnit", 240, 28, {"groups": 3}, "shufflenet_v1", "stage2.1", {"groups": 3}),
    ("ShuffleUnit", 384, 28, {"groups": 8}, "shufflenet_v1", "stage2.1", {"groups": 8}),
    ("ShuffleV2Unit", 116, 28, {}, "shufflenet_v2", "stage2.1", {}),
    ("GhostBottleneck", 24, 56, {"expansion": 3}, "ghostnet", "stage2.1", {}),
])
def test_family_units_equal_the_networks_blocks(unit, width, size, kw, arch, block, cfg):
    units = {u["unit"]: u for u in C.family_units(width, size, **kw)}
    assert (units[unit]["params"], units[unit]["macs"]) == _block_totals(arch, block, **cfg)


def test_family_units_table():
    units = C.family_units(240, 28)
    names = [u["unit"] for u in units]
    assert names == ["3x3 conv", "BasicBlock", "Bottleneck", "DepthwiseSeparable", "InvertedResidual",
                     "ShuffleUnit", "ShuffleV2Unit", "GhostBottleneck"]
    assert all(u["macs"] and not u["note"] for u in units)
    by = {u["unit"]: u for u in units}
    assert by["3x3 conv"]["relative_macs"] == 1.0
    assert by["BasicBlock"]["relative_macs"] == pytest.approx(2.0)
    assert by["DepthwiseSeparable"]["relative_macs"] == pytest.approx(1 / 240 + 1 / 9)
    assert by["ShuffleUnit"]["macs"] < by["ShuffleV2Unit"]["macs"] < by["DepthwiseSeparable"]["macs"]
    odd = {u["unit"]: u for u in C.family_units(30, 14, groups=4)}
    assert odd["ShuffleUnit"]["macs"] is None and "divisible by g = 4" in odd["ShuffleUnit"]["note"]
    assert odd["Bottleneck"]["macs"] is None and odd["ShuffleV2Unit"]["macs"] is not None


# ---------------------------------------------------------------------------------------------
# The commands
# ---------------------------------------------------------------------------------------------


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_dsc_json_and_table(capsys):
    code, out, err = run_cli(capsys, "dsc", "--kernel", "3", "--in", "512", "--out", "512", "--size", "14",
                             "--alpha", "0.75", "--rho", "0.714", "--format", "json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert set(data["standard"]) == {"params", "macs"}
    assert {"params", "macs"} <= set(data["separable"])
    assert data["separable"]["macs"] == 15_091_200 and data["separable"]["params"] == 150_912
    assert data["ratio"] == pytest.approx(1 / 384 + 1 / 9)
    code, out, _ = run_cli(capsys, "dsc", "--kernel", "3", "--in", "512", "--out", "512", "--size", "14")
    assert code == 0
    assert "462 M" in out and "52.3 M" in out and "2.36 M" in out and "267 K" in out  # lightviz.units
    assert "1/N + 1/K^2" in out and "multiply-accumulates" in out


@pytest.mark.parametrize("argv, msg", [
    (["dsc", "--kernel", "3", "--in", "512", "--out", "512"], "--size"),
    (["dsc", "--kernel", "3", "--in", "x", "--out", "5", "--size", "3"], "must be a number"),
    (["dsc", "--kernel", "3", "--in", "5", "--out", "5", "--size", "3", "--alpha", "9"], "alpha 9 is out of range"),
    (["dsc", "--kernel", "3", "--in", "5", "--out", "5", "--size", "3", "--format", "xml"], "invalid choice"),
    (["diagram", "mobilenet_v2", "--block", "stage9.0"], "choose one of stem, stage1.0, stage2.0-1"),
    (["diagram", "ghostnet", "--block", "stage3.0.foo"], "choose one of ghost1, se, ghost2, shortcut"),
    (["diagram", "nonet"], "unknown architecture"),
    (["diagram", "mobilenet_v2", "--alpha", "3"], "alpha 3 is out of range"),
    (["diagram", "mobilenet_v2", "--groups", "3"], "groups applies only to shufflenet_v1"),
    (["diagram", "resnet18", "--block", "conv2_x.0", "--overview"], "not allowed with"),
    (["diagram", "resnet18", "--shuffle"], "no channel shuffle"),
    (["diagram", "resnet18", "--format", "png"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv, msg):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("lightviz: error: ") and msg in err, err


def test_diagram_outputs(capsys):
    code, out, _ = run_cli(capsys, "diagram", "mobilenet_v2", "--alpha", "0.5", "--block", "stage2.1")
    assert code == 0 and out.startswith('digraph "stage2.1"') and 'bgcolor="white"' in out
    code, out, _ = run_cli(capsys, "diagram", "resnet50")
    assert code == 0 and "Bottleneck × 5" in out  # the overview is the default
    code, out, _ = run_cli(capsys, "diagram", "shufflenet_v1", "--groups", "8", "--shuffle")
    assert code == 0 and "channel shuffle, g = 8" in out
    code, out, _ = run_cli(capsys, "diagram", "ghostnet", "--block", "stage3.0.ghost1", "--ops",
                           "--color-by", "params", "--transparent")
    assert code == 0 and "GhostModule" in out and 'bgcolor="transparent"' in out
    if shutil.which("dot"):
        code, out, _ = run_cli(capsys, "diagram", "shufflenet_v2", "--resolution", "160", "--block",
                               "stage3.0", "--format", "svg")
        assert code == 0 and out.lstrip().startswith("<?xml") and "</svg>" in out
        assert "232x10x10" in out  # 160 px input: stage 3 works at 10 x 10


def test_svg_without_dot_is_a_usage_error(tmp_path):
    """A real process with a PATH that has no ``dot``: one line, status 2."""
    env = dict(os.environ, PATH=str(tmp_path), PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "lightviz.cli", "diagram", "resnet18", "--format", "svg"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "needs Graphviz's `dot`" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "lightviz.cli", "diagram", "resnet18", "--block", "conv2_x.0"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("digraph")


# ---------------------------------------------------------------------------------------------
# Fuzz: any argument list ends in exit 0 or one line and status 2, never a traceback
# ---------------------------------------------------------------------------------------------

NASTY = ["nan", "inf", "-inf", "1e308", "1e-320", "0", "-0", "-1", "0x10", "1_000", " 2 ", "", "½",
         "9" * 400, "3.5", "0.714", "512", "1\n2", "stage2.0", "stage2.0.ghost1", "head", "2.0"]
fuzz_values = st.one_of(st.sampled_from(NASTY), st.text(max_size=20),
                        st.integers(-10**12, 10**12).map(str), st.floats().map(repr))


def _fuzz_run(argv):
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    err = err.getvalue()
    if code == 0:
        assert out.getvalue() and not err
    else:
        assert code == 2 and err.startswith("lightviz: error: ") and err.count("\n") == 1, (argv, err)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(fuzz_values, min_size=4, max_size=4),
       extra=st.lists(st.tuples(st.sampled_from(["--alpha", "--rho", "--format", "--bogus"]), fuzz_values),
                      max_size=3))
def test_dsc_never_crashes(values, extra):
    argv = ["dsc"]
    for flag, v in zip(("--kernel", "--in", "--out", "--size"), values):
        argv += [flag, v]
    for flag, v in extra:
        argv += [flag, v]
    _fuzz_run(argv)


@settings(max_examples=150, deadline=None)
@given(arch=st.one_of(st.sampled_from(lightviz.ARCHS), st.text(max_size=12)),
       opts=st.lists(st.tuples(st.sampled_from(["--alpha", "--resolution", "--groups", "--block",
                                                "--format", "--color-by"]), fuzz_values), max_size=3),
       flags=st.lists(st.sampled_from(["--overview", "--shuffle", "--ops", "--transparent"]), max_size=2))
def test_diagram_never_crashes(arch, opts, flags):
    argv = ["diagram", arch, *flags]
    for flag, v in opts:
        argv += [flag, v]
    _fuzz_run(argv)
