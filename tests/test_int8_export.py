"""int8 and fp16 export (issue 20): ``lightviz export --dtype int8`` writes ONNX Runtime's static
QDQ quantization of the network, whose logits agree with the fp32 network's (cosine >= 0.98 on
random inputs, random weights) for every architecture; the file says how it was quantized and
calibrated; bad calibration folders and impossible combinations are refused in one line."""

import json

import numpy as np
import pytest
from cli_support import run_cli

from lightviz import make_config
from lightviz.exporter import deployable, example_input, export, onnx_metadata
from lightviz.zoo import REGISTRY

pytest.importorskip("onnxruntime")
import onnxruntime as ort  # noqa: E402

COSINE_MIN = 0.98
# Width 0.25 keeps each export to a second or two. 224 px because the agreement depends on the
# input size with random weights: the global average pool averages the quantization noise over
# the last feature map (7 x 7 here; at 64 px, 2 x 2, MobileNet v2 agrees to only about 0.93).
PARITY = {"alpha": 0.25, "resolution": 224}


def _cosine(a, b) -> float:
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def _run(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


@pytest.mark.parametrize("arch", REGISTRY.builtin)
def test_int8_logits_agree_with_fp32(arch, tmp_path):
    import torch

    cfg = make_config(arch, **PARITY)
    info = export(cfg, tmp_path / "m.onnx", dtype="int8", calibration_count=8)
    x = example_input(cfg.resolution, seed=1)  # not one of the calibration inputs
    with torch.no_grad():
        fp32 = deployable(cfg)(x).numpy()
    cos = _cosine(fp32, _run(info.path, x.numpy()))
    assert cos >= COSINE_MIN, f"{cfg.label}: int8 vs fp32 logits cosine {cos:.4f}"


def test_int8_metadata_size_and_ops(tmp_path):
    import onnx

    cfg = make_config("mobilenet_v2", 0.25, resolution=96)
    f = export(cfg, tmp_path / "f.onnx")
    q = export(cfg, tmp_path / "q.onnx", dtype="int8")
    assert (f.dtype, q.dtype) == ("fp32", "int8") and q.bytes < f.bytes / 2.5
    meta = onnx_metadata(q.path)
    assert meta["precision"] == "int8" and onnx_metadata(f.path)["precision"] == "fp32"
    assert meta["calibration"] == "random inputs, N(0, 1), seed 0 (no images given)"
    assert meta["calibration_images"] == "16" and meta["calibration_method"] == "MinMax"
    assert "static QDQ, per-channel int8 weights" in meta["quantization"]
    assert json.loads(meta["config"])["arch"] == "mobilenet_v2" and "not trained" in meta["weights"]
    ops = {n.op_type for n in onnx.load(q.path).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert "int8" in q.describe() and "calibrated on random inputs" in q.describe()
    # per-channel weights: a conv weight's scale has one value per output channel
    proto = onnx.load(q.path)
    scales = {i.name: i for i in proto.graph.initializer}
    dq = next(n for n in proto.graph.node if n.op_type == "DequantizeLinear" and "weight" in n.input[0])
    assert len(scales[dq.input[1]].dims) == 1 and scales[dq.input[1]].dims[0] > 1


def test_fp16_export_is_the_network_halved(tmp_path):
    import onnx

    cfg = make_config("shufflenet_v2", 0.25, resolution=32)
    h = export(cfg, tmp_path / "h.onnx", dtype="fp16")
    proto = onnx.load(h.path)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT16
    assert onnx_metadata(h.path)["precision"] == "fp16"
    import torch

    x = example_input(32, seed=1)
    y = _run(h.path, x.numpy().astype(np.float16))
    with torch.no_grad():
        fp32 = deployable(cfg)(x).numpy()
    assert y.dtype == np.float16 and _cosine(y, fp32) > 0.999


def test_calibration_images_folder(tmp_path):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, size in enumerate([(120, 90), (64, 200), (300, 300)]):
        Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype("uint8")).save(folder / f"{i}.jpg")
    (folder / "notes.txt").write_text("not an image")
    rc, out, err = run_cli(["export", "mobilenet_v1", "--alpha", "0.25", "--resolution", "64", "--dtype",
                            "int8", "--calibration-images", str(folder), "-o", str(tmp_path / "q.onnx"),
                            "--json"])
    assert rc == 0, err
    d = json.loads(out)
    assert d["dtype"] == "int8" and d["quantization"]["calibration"] == "3 images from images"
    assert onnx_metadata(d["path"])["calibration_images"] == "3"


@pytest.mark.parametrize("argv, message", [
    (["--dtype", "int8", "--calibration-images", "{tmp}/missing"], "is not a directory"),
    (["--dtype", "int8", "--calibration-images", "{tmp}"], "holds no JPEG or PNG image"),
    (["--dtype", "int8", "--calibration-images", "{tmp}/bad"], "cannot read"),
    (["--calibration-images", "{tmp}"], "calibrates an int8 export: add --dtype int8"),
    (["--dtype", "int8", "--format", "pt2"], "dtype int8 is exported as a quantized ONNX graph"),
    (["--dtype", "int4"], "unknown precision 'int4': choose one of fp32, fp16, int8"),
])
def test_export_refusals_in_one_line(argv, message, tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_text("not a png")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    rc, out, err = run_cli(["export", "mobilenet_v2", "--alpha", "0.25", "--resolution", "32",
                            "-o", str(tmp_path / "m.onnx"), *argv])
    assert rc == 2 and out == "" and err.count("\n") == 1 and message in err, err


def test_no_onnxruntime_refuses_int8_export_in_one_line(tmp_path):
    import subprocess
    import sys

    code = ("import sys; sys.modules['onnxruntime'] = None; from lightviz.cli import main; "
            f"sys.exit(main(['export', 'mobilenet_v2', '--dtype', 'int8', '-o', {str(tmp_path / 'm.onnx')!r}]))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert "int8 export (ONNX Runtime's static quantization) needs the onnxruntime package" in p.stderr
