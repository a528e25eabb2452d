"""``lightviz export`` and ``lightviz.export``: every architecture exported to ONNX (run in ONNX
Runtime) and to a ``torch.export`` program agrees with the PyTorch module it came from (fp32, max
abs difference at most 1e-4 of the output scale), the same seed gives the same weights, the
opset and the "random weights" note are recorded, and the refusals are one line.

Small resolution and width keep it quick; what is checked does not depend on size."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from cli_support import run_cli

import lightviz
from lightviz import make_config
from lightviz.configure import arch_names
from lightviz.exporter import DEFAULT_OPSET, deployable, example_input, onnx_metadata, onnx_opset, pt2_metadata

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RES, ALPHA = 64, 0.5
TOL = 1e-4  # of the output scale


def _reference(cfg, seed=0, fold_bn=True, batch=1):
    model = deployable(cfg, seed=seed, fold_bn=fold_bn)
    x = example_input(cfg.resolution, batch)
    with torch.no_grad():
        return x, model(x).numpy()


def _ort(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]


def _close(got, want):
    scale = float(np.abs(want).max())
    err = float(np.abs(got - want).max())
    assert err <= TOL * scale, f"max abs diff {err:.3g} > {TOL:g} x output scale {scale:.3g}"


@pytest.mark.parametrize("arch", arch_names())
def test_every_architecture_exports_with_parity(arch, tmp_path):
    cfg = make_config(arch, ALPHA, resolution=RES)
    x, want = _reference(cfg)
    info = lightviz.export(cfg, tmp_path / "m.onnx")
    assert info.opset == DEFAULT_OPSET == onnx_opset(tmp_path / "m.onnx")
    assert info.input_shape == (1, 3, RES, RES) and info.output_shape == tuple(want.shape)
    _close(_ort(tmp_path / "m.onnx", x), want)
    lightviz.export(cfg, tmp_path / "m.pt2", format="pt2")
    program = torch.export.load(str(tmp_path / "m.pt2"))
    with torch.no_grad():
        _close(program.module()(x).numpy(), want)


def test_unfolded_batch_norm_and_a_larger_batch_keep_parity(tmp_path):
    cfg = make_config("ghostnet", 0.5, resolution=RES)
    x, want = _reference(cfg, fold_bn=False, batch=2)
    info = lightviz.export("ghostnet", tmp_path / "g.onnx", alpha=0.5, resolution=RES, fold_bn=False, batch=2)
    assert info.input_shape[0] == 2 and not info.fold_bn
    names = {n.op_type for n in onnx.load(str(tmp_path / "g.onnx")).graph.node}
    assert "BatchNormalization" in names  # kept as a layer
    _close(_ort(tmp_path / "g.onnx", x), want)
    folded = {n.op_type for n in onnx.load(str(lightviz.export(cfg, tmp_path / "f.onnx").path)).graph.node}
    assert "BatchNormalization" not in folded


def _initializers(path):
    return {t.name: onnx.numpy_helper.to_array(t).tobytes() for t in onnx.load(str(path)).graph.initializer}


def test_the_seed_decides_the_weights_in_every_format(tmp_path):
    cfg = make_config("mobilenet_v1", 0.25, resolution=RES)
    a = _initializers(lightviz.export(cfg, tmp_path / "a.onnx", seed=0).path)
    b = _initializers(lightviz.export(cfg, tmp_path / "b.onnx", seed=0).path)
    c = _initializers(lightviz.export(cfg, tmp_path / "c.onnx", seed=1).path)
    assert a == b and a != c
    # pt2 of the same seed computes the same function as the ONNX file
    x = example_input(RES)
    lightviz.export(cfg, tmp_path / "a.pt2", format="pt2", seed=0)
    with torch.no_grad():
        y = torch.export.load(str(tmp_path / "a.pt2")).module()(x).numpy()
    _close(_ort(tmp_path / "a.onnx", x), y)
    # and exporting leaves the caller's random state alone
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    lightviz.export(cfg, tmp_path / "d.onnx", seed=5)
    assert torch.equal(torch.rand(3), before)


def test_files_say_their_weights_are_random_and_record_the_opset(tmp_path):
    cfg = make_config("shufflenet_v2", 0.5, resolution=RES)
    meta = onnx_metadata(lightviz.export(cfg, tmp_path / "s.onnx", seed=7).path)
    assert "not trained" in meta["weights"] and "seed 7" in meta["weights"]
    assert json.loads(meta["config"])["arch"] == "shufflenet_v2" and meta["fold_bn"] == "true"
    meta = pt2_metadata(lightviz.export(cfg, tmp_path / "s.pt2", format="pt2", seed=7).path)
    assert "not trained" in meta["weights"] and meta["seed"] == 7


def test_a_given_module_is_exported_as_given(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(8, 4))
    info = lightviz.export(net, tmp_path / "n.onnx", resolution=40)
    assert info.seed is None and info.input_shape == (1, 3, 40, 40) and "own weights" in info.weights
    x = example_input(40)
    with torch.no_grad():
        _close(_ort(tmp_path / "n.onnx", x), net(x).numpy())


def test_cli_export_writes_and_says_no_trained_weights(tmp_path):
    rc, out, err = run_cli(["export", "mobilenet_v2", "--alpha", "0.35", "--resolution", "64",
                            "-o", str(tmp_path / "m.onnx"), "--seed", "3"])
    assert rc == 0 and err == ""
    assert "opset 17" in out and "not trained" in out and "seed 3" in out
    rc, out, _ = run_cli(["export", "resnet18", "--alpha", "0.25", "--resolution", "32", "--format", "pt2",
                          "-o", str(tmp_path / "r.pt2"), "--json"])
    assert rc == 0 and json.loads(out)["format"] == "pt2"


@pytest.mark.parametrize("argv, message", [
    (["--format", "tflite"], "unknown export format 'tflite': choose one of onnx, pt2"),
    (["--batch", "0"], "batch 0 is out of range"),
    (["--opset", "9"], "opset 9 is out of range"),
    (["--seed", "x"], "seed must be"),
    (["--alpha", "9"], "alpha 9 is out of range"),
])
def test_cli_export_bad_values_exit_2_with_one_line(argv, message, tmp_path):
    rc, out, err = run_cli(["export", "mobilenet_v2", "-o", str(tmp_path / "x.onnx"), *argv])
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("lightviz: error: ") and message in err


def test_cli_export_without_onnx_is_refused_in_one_line(tmp_path):
    # onnx made unimportable in a fresh interpreter (sys.modules[name] = None hides a package)
    code = ("import sys; sys.modules['onnx'] = None; from lightviz.cli import main; "
            f"sys.exit(main(['export', 'mobilenet_v2', '-o', {str(tmp_path / 'm.onnx')!r}]))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "pip install 'lightviz[onnx]'" in p.stderr


def test_opset_18_uses_the_dynamo_exporter_with_parity(tmp_path):
    pytest.importorskip("onnxscript")
    cfg = make_config("shufflenet_v1", 0.5, resolution=RES)
    x, want = _reference(cfg)
    info = lightviz.export(cfg, tmp_path / "s.onnx", opset=18)
    assert info.opset == 18 and "dynamo" in info.exporter
    assert "not trained" in onnx_metadata(info.path)["weights"]
    _close(_ort(tmp_path / "s.onnx", x), want)
