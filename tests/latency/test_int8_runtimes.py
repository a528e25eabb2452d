"""int8 on the runtimes that run a quantized graph (issue 20): ``bench --runtime onnxruntime
--dtype int8`` times the graph ``export --dtype int8`` writes, ``--layers`` gives ONNX Runtime's
profiler on fp32 and int8 side by side (parsed from a recorded trace too), calibrations of int8
time whole networks, and TensorRT's command line per precision, read back from recorded trtexec
outputs (tests/fixtures/trtexec/README.md), with int8 never offered on a Jetson Nano."""

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from cli_support import run_cli

from lightviz import make_config
from lightviz.latency import HostLock, make_setup
from lightviz.latency import runtimes as R
from lightviz.latency.host.jetson import jetson_board
from lightviz.latency.runtimes import ort_profile as P
from lightviz.latency.runtimes.tensorrt import build_args, parse_build, parse_trtexec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SYSFS = FIXTURES / "sysfs"
TINY = make_config("mobilenet_v2", 0.25, resolution=64)


@pytest.fixture
def lock(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_LOCK_DIR", str(tmp_path / "lock"))
    monkeypatch.setenv("LIGHTVIZ_CACHE_DIR", str(tmp_path / "cache"))
    return HostLock(tmp_path / "lock")


# ----------------------------------------------------------------------------- onnxruntime int8

def test_bench_onnxruntime_int8_json_says_int8(lock):
    pytest.importorskip("onnxruntime")
    rc, out, err = run_cli(["bench", "mobilenet_v2", "--alpha", "0.25", "--resolution", "64",
                            "--threads", "1", "--budget", "0.2", "--runtime", "onnxruntime",
                            "--dtype", "int8", "--format", "json"])
    assert rc == 0, err
    d = json.loads(out)
    assert d["dtype"] == "int8" == d["setup"]["dtype"] and d["runtime"] == "onnxruntime"
    rt = d["passport"]["runtime"]
    assert rt["precision"] == "int8" and rt["quantization"]["calibration_method"] == "MinMax"
    assert rt["quantization"]["calibration"].startswith("random inputs")
    assert any("quantized to int8" in n for n in d["notes"]) and d["median_ms"] > 0


def test_int8_quantization_is_cached_and_layers_come_from_the_profiler(lock):
    pytest.importorskip("onnxruntime")
    from lightviz.latency import Bench
    from lightviz.latency.runtimes import ort

    setup = make_setup("cpu", "int8", threads=1, budget_s=0.1, runtime="onnxruntime")
    bench = Bench(lock)
    try:
        a = bench.run(TINY, setup)
        cached = len(ort._QUANTIZED)
        bench.release()
        b = bench.run(TINY, setup)  # rebuilt, not quantized again
        with pytest.raises(ValueError, match="cannot be timed in eager PyTorch: ONNX Runtime's profiler"):
            bench.layers(TINY, setup)
    finally:
        bench.release()
    assert len(ort._QUANTIZED) == cached >= 1
    assert a.passport["runtime"]["quantization"] == b.passport["runtime"]["quantization"]
    rc, out, err = run_cli(["bench", "mobilenet_v2", "--alpha", "0.25", "--resolution", "64",
                            "--threads", "1", "--budget", "0.1", "--runtime", "onnxruntime",
                            "--dtype", "int8", "--layers"])
    assert rc == 0, err
    assert "ONNX Runtime profiler, mobilenet_v2 0.25x @ 64" in out and "QLinearConv" in out
    assert "quantize/dequantize" in out and "block (int8 slowest first)" in out


def test_int8_calibration_times_whole_networks(lock, monkeypatch):
    """An int8 (or non-eager) setup cannot be timed op by op: its calibration times whole
    networks on its runtime and fits the whole-network model."""
    from lightviz.latency.lab import protocol
    from lightviz.latency.predictor import calibrate as C
    from lightviz.latency.predictor import model as M
    from lightviz.latency.predictor import store

    setup = make_setup("cpu", "int8", threads=1, runtime="onnxruntime", probe=False)
    assert not C.in_place_ops(setup) and C.in_place_ops(make_setup("cpu", threads=1))
    assert not C.in_place_ops(make_setup("cpu", threads=1, runtime="onnxruntime"))
    # each precision and runtime is its own setup: its own records and model
    fp32 = replace(setup, dtype="fp32")
    assert store.setup_key(setup) == "cpu-int8-b1-t1-eager-fold-onnxruntime" != store.setup_key(fp32)

    def run(self, cfg, s, **kw):  # the protocol's whole-network run, stood in for: 1 ms per 10 MMACs
        from lightviz.counting import count

        ms = 0.05 + count(cfg).macs / 1e7
        store.add(cfg, s, ms, source="test")
        return type("R", (), {"median_ms": ms, "p10_ms": ms, "undisturbed_ms": ms})()

    def op_times(*a, **kw):
        raise AssertionError("an int8 setup must not be timed op by op")

    monkeypatch.setattr(protocol.Bench, "run", run)
    monkeypatch.setattr(protocol.Bench, "op_times", op_times)
    cal = C.calibrate(setup, budget_s=5, archs=["mobilenet_v1", "mobilenet_v2"], max_points=12)
    assert len(cal.measured) == 12 and not cal.networks
    assert cal.model.get("model_kind") != M.KERNEL and cal.model["measurements"] == 12


# ----------------------------------------------------------------------------- the profiler

def test_ort_profile_parsed_from_a_recorded_trace():
    nodes = P.read_trace(str(FIXTURES / "ort_profile" / "ghostnet_0.5_64_int8_stage4.json"))
    assert len(nodes) == 44 and all(n.runs == 2 for n in nodes)
    first = nodes[0]
    assert first == P.NodeTime("input_QuantizeLinear", "QuantizeLinear", first.ms, 2) and first.ms > 0
    ops = P.op_type_totals(nodes)
    assert list(ops)[0] == "DequantizeLinear"  # GhostNet's float convs dequantize their weights each run
    assert {"QuantizeLinear", "QLinearConv", "Conv", "Concat", "Add"} <= set(ops)
    blocks = P.block_totals(nodes)
    assert list(blocks) == ["(graph)", "stem", "stage4.0"]
    assert sum(blocks.values()) == pytest.approx(sum(ops.values()))
    assert 0.5 < P.qdq_share(nodes) < 1
    assert P.block_of("stage4.0.ghost1.primary_conv.conv.weight_DequantizeLinear") == "stage4.0"
    assert P.block_of("/stage1/stage1.0/conv_dw/conv/Conv_token_114") == "stage1.0"
    assert P.block_of("/stem/conv/conv/Conv") == "stem" and P.block_of("Transpose_token_3") == "(graph)"
    rows = P.compare({"Conv": 2.0, "Gemm": 0.5}, {"QLinearConv": 1.0, "Conv": 0.5})
    assert [r["key"] for r in rows] == ["Conv", "Gemm", "QLinearConv"]
    assert rows[0]["change_ms"] == -1.5 and rows[2]["fp32_ms"] == 0.0
    with pytest.raises(ValueError, match="no node events"):
        P.parse_trace([{"cat": "Session", "name": "model_run", "dur": 5}])


# ----------------------------------------------------------------------------- TensorRT

def test_trtexec_command_line_per_precision():
    base = ["--onnx=m.onnx", "--saveEngine=m.engine", "--skipInference", "--device=0"]
    assert build_args("m.onnx", "m.engine", 0, "fp32") == base
    assert build_args("m.onnx", "m.engine", 0, "fp16") == base + ["--fp16"]
    assert build_args("m.onnx", "m.engine", 0, "int8") == base + ["--int8"]
    with pytest.raises(ValueError, match="fp32, fp16 or int8 engines, not bf16"):
        build_args("m.onnx", "m.engine", 0, "bf16")


def test_recorded_int8_and_fp16_builds_and_int8_timing():
    t = FIXTURES / "trtexec"
    assert parse_build((t / "trt86_orin_int8_build.log").read_text()) == {
        "precision": "FP32+INT8", "build_s": 45.2126, "engine_mib": 4.0713}
    assert parse_build((t / "trt10_fp16_build.log").read_text()) == {
        "precision": "FP32+FP16", "build_s": 26.4871, "engine_mib": 7.1243}
    assert parse_build((t / "trt86_failed.log").read_text())["precision"] is None
    s = parse_trtexec((t / "trt86_jetson_orin_int8.log").read_text())
    assert s["version"] == "8.6.2" and s["gpu_compute"]["median_ms"] == 0.903809
    assert s["throughput_qps"] == 1098.4 and s["gpu_compute"]["p99_ms"] == 1.05566


FAKE_TRTEXEC = """#!{python}
import sys
args = dict(a[2:].split("=", 1) if "=" in a else (a[2:], "") for a in sys.argv[1:])
open({calls!r}, "a").write(" ".join(sys.argv[1:]) + "\\n")
if "onnx" in args:
    data = open(args["onnx"], "rb").read()
    open({calls!r}, "a").write("QDQ\\n" if b"QuantizeLinear" in data else "float\\n")
    open(args["saveEngine"], "wb").write(b"engine")
    print(open({build!r}).read())
    sys.exit(0)
open(args["exportTimes"], "w").write(open({times!r}).read())
print(open({log!r}).read())
"""


@pytest.mark.parametrize("dtype, flag, graph, build, provider", [
    ("fp16", "--fp16", "float", "trt10_fp16_build.log", "trtexec (fp16)"),
    ("int8", "--int8", "QDQ", "trt86_orin_int8_build.log", "trtexec (int8, QDQ)"),
])
def test_tensorrt_adapter_builds_each_precision(dtype, flag, graph, build, provider, tmp_path, monkeypatch):
    """The adapter's build command and graph per precision, with a stand-in trtexec replaying the
    recorded outputs (no GPU or TensorRT here): int8 hands trtexec the QDQ graph and --int8."""
    pytest.importorskip("onnxruntime")
    import torch

    from lightviz.exporter import deployable, example_input
    from lightviz.latency.runtimes.tensorrt import TensorRT

    t = FIXTURES / "trtexec"
    calls, fake = tmp_path / "calls.txt", tmp_path / "trtexec"
    fake.write_text(FAKE_TRTEXEC.format(python=sys.executable, calls=str(calls), build=str(t / build),
                                        times=str(t / "times.json"),
                                        log=str(t / "trt86_jetson_orin_int8.log")))
    fake.chmod(0o755)
    monkeypatch.setenv("LIGHTVIZ_TRTEXEC", str(fake))
    setup = replace(make_setup("cpu", threads=1, budget_s=0.5), device="cuda", runtime="tensorrt", dtype=dtype)
    rt = TensorRT()
    try:
        with torch.no_grad():
            rt.prepare(deployable(TINY), example_input(64), setup)
            rt.timed(0.5, 5, lambda: None)
        build_line, kind, run_line = calls.read_text().splitlines()
        assert build_line.endswith(flag) and kind == graph and "--int8" not in run_line
        other = "--int8" if flag == "--fp16" else "--fp16"
        assert other not in build_line
        v = rt.version()
        assert v["provider"] == provider and v["precision"] == dtype
        assert v["build_precision"] == ("FP32+INT8" if dtype == "int8" else "FP32+FP16")
        assert ("quantization" in v) == (dtype == "int8")
        assert f"{dtype} engine built by trtexec ({flag})" in rt.notes(setup)[0]
    finally:
        rt.release()


def test_int8_never_offered_on_a_jetson_nano(monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_SYSFS_ROOT", str(SYSFS / "nano_r32"))
    with pytest.raises(ValueError) as e:
        make_setup("cuda", "int8", runtime="tensorrt", probe=False)
    msg = str(e.value)
    assert msg.startswith("int8 is not offered on the NVIDIA Jetson Nano Developer Kit: its GPU "
                          "(Maxwell, compute 5.3) has no int8 path") and "\n" not in msg and "--dtype fp16" in msg
    assert make_setup("cuda", "fp16", runtime="tensorrt", probe=False).dtype == "fp16"
    monkeypatch.setenv("LIGHTVIZ_SYSFS_ROOT", str(SYSFS / "orin_nano"))  # Orin Nano: compute 8.7, int8
    assert make_setup("cuda", "int8", runtime="tensorrt", probe=False).dtype == "int8"
    assert R.int8_refusal("tensorrt", "cuda", capability=(8, 7)) is None
    assert "compute 5.3" in R.int8_refusal("tensorrt", "cuda", capability=(5, 3))
    assert R.int8_refusal("onnxruntime", "cpu") is None
    # one table of Jetson GPUs decides both the refusal and calibrate's natural setups
    for tree in ("nano_r32", "xavier_nx_jp5", "agx_orin"):
        board = jetson_board(str(SYSFS / tree))
        assert (R.int8_refusal("tensorrt", "cuda", root=str(SYSFS / tree)) is None) == board.int8
