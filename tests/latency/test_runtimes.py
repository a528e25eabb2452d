"""Runtimes for the latency lab: ``bench --runtime onnxruntime`` (same protocol, statistics and
JSON fields as eager PyTorch, plus the runtime's version and provider), one small
``torch-compile`` case, the one-line refusals (no onnxruntime, no C++ compiler, no trtexec), and
``trtexec`` output parsing on outputs recorded in TensorRT 8.6's and 10's formats
(tests/fixtures/trtexec/README.md says where the format comes from)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import run_cli

from lightviz import make_config
from lightviz.latency import Bench, HostLock, make_setup
from lightviz.latency import runtimes as R
from lightviz.latency.lab.timing import stats
from lightviz.latency.runtimes.tensorrt import banner_version, parse_times, parse_trtexec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trtexec"
TINY = make_config("mobilenet_v2", 0.25, resolution=64)
REQUIRED = {"median_ms", "p10_ms", "p90_ms", "iqr_ms", "runs", "throughput_ips", "device", "dtype",
            "batch", "threads", "passport", "started_at", "finished_at", "cold_ms", "config",
            "runtime", "runtime_version", "runtime_provider", "timer", "setup"}


@pytest.fixture
def lock(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_LOCK_DIR", str(tmp_path / "lock"))
    return HostLock(tmp_path / "lock")


# ----------------------------------------------------------------------------- onnxruntime

def test_bench_runtime_onnxruntime_json(lock):
    pytest.importorskip("onnxruntime")
    import onnxruntime

    rc, out, err = run_cli(["bench", "mobilenet_v2", "--alpha", "0.25", "--resolution", "64",
                            "--threads", "1", "--budget", "0.3", "--runtime", "onnxruntime",
                            "--format", "json"])
    assert rc == 0, err
    d = json.loads(out)
    assert REQUIRED <= set(d)
    assert d["runtime"] == "onnxruntime" == d["setup"]["runtime"]
    assert d["runtime_version"] == onnxruntime.__version__
    assert d["runtime_provider"] == "CPUExecutionProvider"
    rt = d["passport"]["runtime"]
    assert rt["name"] == "onnxruntime" and rt["opset"] == 17
    assert d["runs"] >= 5 and d["p10_ms"] <= d["median_ms"] <= d["p90_ms"]
    assert "InferenceSession.run" in d["timer"]
    assert any("ONNX Runtime" in n for n in d["notes"])


def test_runtime_change_rewarms_and_torch_json_names_its_runtime(lock):
    pytest.importorskip("onnxruntime")
    bench = Bench(lock)
    try:
        a = bench.run(TINY, make_setup("cpu", threads=1, budget_s=0.2))
        b = bench.run(TINY, make_setup("cpu", threads=1, budget_s=0.2, runtime="onnxruntime"))
        c = bench.run(TINY, make_setup("cpu", threads=1, budget_s=0.2, runtime="onnxruntime"))
    finally:
        bench.release()
    assert a.to_dict()["runtime"] == "torch" and a.passport["runtime"]["provider"] == "eager"
    assert b.rewarmed == "runtime torch -> onnxruntime" and c.rewarmed is None
    assert b.median_ms == pytest.approx(stats(b.samples_ms).median)


def test_bench_measures_what_export_writes():
    """The bench's network is `lightviz export`'s default (seed 0): same weights."""
    import torch

    from lightviz.exporter import deployable

    a, b = deployable(TINY, seed=0), deployable(TINY, seed=0)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


# ----------------------------------------------------------------------------- torch-compile

@pytest.mark.slow
@pytest.mark.skipif(R.find_compiler() is None, reason="no C++ compiler for inductor")
def test_torch_compile_one_small_case(lock):
    cfg = make_config("mobilenet_v1", 0.25, resolution=32)
    bench = Bench(lock)
    try:
        r = bench.run(cfg, make_setup("cpu", threads=1, budget_s=0.2, runtime="torch-compile"))
    finally:
        bench.release()
    d = r.to_dict()
    assert d["runtime"] == "torch-compile" and d["runtime_provider"].startswith("inductor")
    assert r.runs >= 5 and r.cold_ms > r.median_ms  # the cold call compiled


# ----------------------------------------------------------------------------- refusals

def _run(code: str, env=None):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=env)


def test_no_onnxruntime_is_refused_in_one_line_exit_2():
    code = ("import sys; sys.modules['onnxruntime'] = None; from lightviz.cli import main; "
            "sys.exit(main(['bench', 'mobilenet_v2', '--runtime', 'onnxruntime']))")
    p = _run(code)
    assert p.returncode == 2 and p.stdout == "" and p.stderr.count("\n") == 1
    assert "runtime onnxruntime is not installed here" in p.stderr
    assert "pip install 'lightviz[onnx]'" in p.stderr


def test_no_compiler_refuses_torch_compile_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CXX"}
    env["PATH"] = str(tmp_path)  # nothing on it: no g++, c++ or clang++
    code = ("import sys; from lightviz.cli import main; "
            "sys.exit(main(['bench', 'mobilenet_v2', '--runtime', 'torch-compile']))")
    p = _run(code, env)
    assert p.returncode == 2 and p.stdout == "" and p.stderr.count("\n") == 1
    assert "runtime torch-compile refused: no C++ compiler found" in p.stderr


def test_no_trtexec_is_refused_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("LIGHTVIZ_TRTEXEC", raising=False)
    if os.access(R.TRTEXEC_JETPACK, os.X_OK):
        pytest.skip("JetPack's trtexec is installed here")
    why = R.unavailable("tensorrt", "cuda")
    assert why.startswith("runtime tensorrt needs trtexec, which is neither on PATH nor at "
                          "/usr/src/tensorrt/bin/trtexec") and "\n" not in why
    with pytest.raises(R.RuntimeUnavailable, match="needs trtexec"):
        R.require("tensorrt", "cuda")
    # on a CPU it is the device that is refused first, in one line, exit 2
    rc, out, err = run_cli(["bench", "mobilenet_v2", "--runtime", "tensorrt"])
    assert rc == 2 and out == "" and err.count("\n") == 1 and "runs on an NVIDIA GPU" in err


@pytest.mark.parametrize("argv, message", [
    (["--runtime", "tvm"], "unknown runtime 'tvm': choose one of torch, torch-compile, onnxruntime, tensorrt"),
    (["--runtime", "onnxruntime", "--channels-last"], "channels-last is a PyTorch memory format"),
])
def test_bad_runtime_values_exit_2(argv, message, lock):
    rc, out, err = run_cli(["bench", "mobilenet_v2", *argv])
    assert rc == 2 and out == "" and err.count("\n") == 1 and message in err


def test_runtime_names_and_setup_stay_torch_free():
    code = ("import sys; from lightviz.latency.setup import make_setup, Setup; "
            "from lightviz.latency import runtimes; "
            "s = Setup(runtime='onnxruntime'); assert 'onnxruntime' in s.label; "
            "assert runtimes.parse_runtime('ORT') == 'onnxruntime'; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    p = _run(code)
    assert p.returncode == 0, p.stderr


# ----------------------------------------------------------------------------- trtexec parsing

def test_trtexec_86_summary():
    s = parse_trtexec((FIXTURES / "trt86_jetson_orin_fp16.log").read_text())
    assert s["version"] == "8.6.2"
    g = s["gpu_compute"]
    assert g == {"min_ms": 1.58105, "max_ms": 2.11328, "mean_ms": 1.62017, "median_ms": 1.61621,
                 "p90_ms": 1.63574, "p95_ms": 1.64453, "p99_ms": 1.81152}
    assert s["throughput_qps"] == 616.1 and s["total_gpu_compute_s"] == 1.59911
    assert s["h2d"]["median_ms"] == 0.0 and "cv_percent" not in s


def test_trtexec_10_summary():
    s = parse_trtexec((FIXTURES / "trt10_fp32.log").read_text())
    assert s["version"] == "10.3.0"
    assert s["gpu_compute"]["median_ms"] == 0.229492 and s["gpu_compute"]["p99_ms"] == 0.28418
    assert s["latency"]["p95_ms"] == 0.243896 and s["enqueue"]["mean_ms"] == 0.0921783
    assert s["cv_percent"] == 6.41294 and s["total_host_walltime_s"] == 1.60018


def test_trtexec_banner_versions_and_failures():
    assert banner_version("8601") == "8.6.1" and banner_version("100300") == "10.3.0"
    assert banner_version("101600") == "10.16.0"
    text = (FIXTURES / "trt10_fp32.log").read_text().replace("TensorRT version: 10.3.0", "")
    assert parse_trtexec(text)["version"] == "10.3.0"  # from the banner
    with pytest.raises(ValueError, match="no 'GPU Compute Time' line"):
        parse_trtexec((FIXTURES / "trt86_failed.log").read_text())


def test_trtexec_export_times_give_the_samples():
    samples = parse_times((FIXTURES / "times.json").read_text())
    assert samples == [1.62109, 1.61621, 1.61011, 1.81152, 1.58105]
    assert stats(samples).median == 1.61621


# ----------------------------------------------------------------------------- the app page

APP = """
from lightviz import make_config
from lightviz.views import latency
latency.render(make_config("mobilenet_v2", 0.25, resolution=64))
"""


def test_latency_page_runtimes_comparison_and_export(lock, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))  # keep torch-compile out: slow
    script = tmp_path / "page.py"
    script.write_text(APP)
    at = AppTest.from_file(str(script), default_timeout=180)
    at.run()
    assert not at.exception
    runtime = at.selectbox(key="latency_runtime")
    assert runtime.options == ["torch", "onnxruntime"] and runtime.value == "torch"
    assert "no C++ compiler found" in runtime.help
    # one measurement on onnxruntime: the same metrics as eager
    at.slider(key="latency_budget").set_value(0.2)
    at.checkbox(key="latency_per_layer").uncheck()
    runtime.set_value("onnxruntime").run()
    at.button(key="latency_measure").click().run()
    assert not at.exception and not at.error
    assert float({m.label: m.value for m in at.metric}["Median (ms)"]) > 0
    assert any("ONNX Runtime ran the network" in c.value for c in at.caption)
    # the comparison: every runtime present, one chart, speed-up over eager
    at.button(key="latency_runtimes_run").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[-1].value
    assert list(table["runtime"]) == ["torch", "onnxruntime", "onnxruntime"]
    assert list(table["precision"]) == ["fp32", "fp32", "int8"]  # int8 beside fp32 (issue 20)
    assert table["speedup"].iloc[0] == pytest.approx(1.0) and (table["median_ms"] > 0).all()
    assert table["int8_speedup"].iloc[2] > 0
    assert at.get("plotly_chart")
    # int8 per layer: ONNX Runtime's profiler on both graphs, by op type (chart) and block (table)
    at.button(key="latency_int8_profile_run").click().run()
    assert not at.exception and not at.error
    assert any("quantize/dequantize" in c.value for c in at.caption)
    assert "int8_ms" in at.dataframe[-1].value.columns
    # the export: a file to download, said to carry random weights
    at.button(key="latency_export_run").click().run()
    assert not at.exception and not at.error
    assert any("not trained" in c.value and "opset 17" in c.value for c in at.caption)
    assert at.get("download_button")
    # in int8 (issue 20): the quantized file, said so
    at.radio(key="latency_export_dtype").set_value("int8").run()
    at.button(key="latency_export_run").click().run()
    assert not at.exception and not at.error
    assert any("as onnx int8" in c.value and "calibrated on random inputs" in c.value for c in at.caption)


FAKE_TRTEXEC = """#!{python}
# A stand-in for trtexec that replays a recorded output (tests/fixtures/trtexec): it checks
# the arguments lightviz passes, writes the engine and the --exportTimes file, prints the log.
import sys
args = dict(a[2:].split("=", 1) if "=" in a else (a[2:], "") for a in sys.argv[1:])
open({calls!r}, "a").write(" ".join(sys.argv[1:]) + "\\n")
if "onnx" in args:
    assert open(args["onnx"], "rb").read(4), "empty ONNX file"
    open(args["saveEngine"], "wb").write(b"engine")
    print("&&&& RUNNING TensorRT.trtexec [TensorRT v100300] [b17] # trtexec")
    print("[11/28/2026-11:02:10] [I] TensorRT version: 10.3.0")
    sys.exit(0)
assert open(args["loadEngine"], "rb").read() == b"engine"
open(args["exportTimes"], "w").write(open({times!r}).read())
print(open({log!r}).read())
"""


def test_tensorrt_adapter_drives_trtexec_and_reads_what_it_reports(tmp_path, monkeypatch):
    """The adapter's command lines and its reading of trtexec's output, with a stand-in
    executable replaying the recorded TensorRT 10 output (no GPU or TensorRT here)."""
    pytest.importorskip("onnx")
    import torch

    from lightviz.exporter import deployable, example_input
    from lightviz.latency.runtimes.tensorrt import TensorRT

    calls = tmp_path / "calls.txt"
    fake = tmp_path / "trtexec"
    fake.write_text(FAKE_TRTEXEC.format(python=sys.executable, calls=str(calls),
                                        times=str(FIXTURES / "times.json"),
                                        log=str(FIXTURES / "trt10_fp32.log")))
    fake.chmod(0o755)
    monkeypatch.setenv("LIGHTVIZ_TRTEXEC", str(fake))
    assert R.find_trtexec() == str(fake)
    setup = make_setup("cpu", threads=1, budget_s=0.5)
    setup = type(setup)(**{**setup.__dict__, "device": "cuda", "runtime": "tensorrt"})
    rt = TensorRT()
    with torch.no_grad():
        rt.prepare(deployable(TINY), example_input(64), setup)
        warm, timed = rt.timed(0.5, 5, lambda: None)
    build, run = calls.read_text().splitlines()
    assert "--skipInference" in build and "--saveEngine=" in build and "--fp16" not in build
    assert "--warmUp=100" in run and "--duration=0.4" in run and "--iterations=5" in run
    assert "--useSpinWait" in run and "--noDataTransfers" in run and "--exportTimes=" in run
    assert warm == 1710 and timed.samples_ms == [1.62109, 1.61621, 1.61011, 1.81152, 1.58105]
    v = rt.version()
    assert v["version"] == "10.3.0" and v["trtexec_summary"]["gpu_compute"]["median_ms"] == 0.229492
    assert "trtexec's own GPU compute median 0.2295 ms" in rt.notes(setup)[0]
    rt.release()


@pytest.mark.browser
def test_export_download_in_a_browser(page, streamlit_server, wait_for_app, tmp_path):
    """The real server and Chromium: the Export panel hands over an ONNX file that ONNX Runtime
    loads, with the note that its weights are random."""
    pytest.importorskip("onnxruntime")
    import numpy as np
    import onnxruntime as ort
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1280, "height": 2400})
    page.goto(f"{streamlit_server}/latency?arch=mobilenet_v2&alpha=0.25&rho=0.2857")
    wait_for_app(page)
    page.get_by_role("button", name="Prepare the file").click()
    expect(page.get_by_text("not trained", exact=False).last).to_be_visible(timeout=120_000)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download ONNX").click()
    path = tmp_path / "m.onnx"
    info.value.save_as(path)
    assert info.value.suggested_filename == "lightviz_mobilenet_v2_0.25_64_seed0.onnx"
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    y = sess.run(None, {"input": np.zeros((1, 3, 64, 64), np.float32)})[0]
    assert y.shape == (1, 1000)
    assert page.get_by_test_id("stException").count() == 0
