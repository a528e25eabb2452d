"""The latency lab on the CPU: the protocol's statistics, warm-up after every change, pinned
threads, per-layer timing that covers every profiled op, the memory refusal, the CLI's exit
codes and JSON, and the app's Latency page (AppTest). Small configurations, short budgets;
no assertion on how fast anything is."""

import io
import json
import threading
import time
import weakref
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pandas as pd
import pytest
import torch

from lightviz import exporter, make_config
from lightviz.cli import main
from lightviz.counting import count
from lightviz.latency import Bench, HostLock, MemoryRefused, OutOfMemory, Result, check_fits, make_setup, measure, sweep
from lightviz.latency import setup as SETUP
from lightviz.latency.host.cpu import usable_cores
from lightviz.latency.lab import protocol as M
from lightviz.latency.lab import timing
from lightviz.latency.lab.layers import report_csv
from lightviz.latency.lab.remarks import warnings_for

TINY = make_config("mobilenet_v2", 0.25, resolution=64)
REQUIRED_KEYS = {"median_ms", "p10_ms", "p90_ms", "iqr_ms", "runs", "throughput_ips", "device",
                 "dtype", "batch", "threads", "passport", "started_at", "finished_at", "cold_ms",
                 "config"}


@pytest.fixture
def lock(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_LOCK_DIR", str(tmp_path / "lock"))
    return HostLock(tmp_path / "lock")


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


# ----------------------------------------------------------------------------- protocol

def test_statistics_are_consistent_and_runs_fit_the_budget(lock):
    budget = 0.4
    r = measure(TINY, make_setup("cpu", threads=1, budget_s=budget), lock=lock)
    s = np.asarray(r.samples_ms)
    assert r.runs == len(s) >= SETUP.MIN_RUNS
    assert r.min_ms <= r.p10_ms <= r.q1_ms <= r.median_ms <= r.q3_ms <= r.p90_ms <= r.max_ms
    assert r.iqr_ms == pytest.approx(r.q3_ms - r.q1_ms) and r.iqr_ms >= 0
    assert r.median_ms == pytest.approx(np.median(s))
    assert r.throughput_ips == pytest.approx(1000.0 / r.median_ms)
    # the timed runs fit the budget: they stop before the next run is predicted to overshoot
    assert s.sum() / 1e3 <= r.timed_s <= budget + s.max() / 1e3
    assert r.started_at < r.finished_at
    assert r.finished_at - r.started_at == pytest.approx(r.timed_s, abs=0.05)
    assert r.cold_ms > 0 and r.rewarmed == "first run" and r.warmup_runs >= SETUP.WARMUP_MIN
    assert r.macs == count(TINY).macs
    d = r.to_dict()
    assert REQUIRED_KEYS <= set(d)
    json.dumps(d)
    assert d["passport"]["threads"] == 1 and d["passport"]["device"]["kind"] == "cpu"


def test_rewarms_after_a_shape_change(lock):
    """A Bench keeps its model while nothing changes; after a change of input shape the first
    calls at the new shape are the cold call and the warm-up, all before the timed window."""
    calls = []

    def hook(module, args, output):
        if type(module).__name__ == "Network":
            calls.append((time.time(), tuple(args[0].shape)))

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        bench = Bench(lock)
        setup = make_setup("cpu", threads=1, budget_s=0.2)
        a = bench.run(TINY, setup)
        again = bench.run(TINY, setup)
        bigger = make_config("mobilenet_v2", 0.25, resolution=96)
        b = bench.run(bigger, setup)
        bench.release()
    finally:
        handle.remove()
    assert a.rewarmed == "first run" and a.cold_ms is not None
    assert again.rewarmed is None and again.cold_ms is None  # nothing changed: no cold call
    assert again.warmup_runs >= SETUP.WARMUP_MIN  # but still a short warm-up
    assert "input 1x3x64x64 -> 1x3x96x96" in b.rewarmed and b.cold_ms is not None
    at_96 = [t for t, shape in calls if shape == (1, 3, 96, 96)]
    before = [t for t in at_96 if t < b.started_at]
    assert len(before) == 1 + b.warmup_runs  # the cold call, then the warm-up
    assert len(at_96) == 1 + b.warmup_runs + b.runs
    assert all(t < b.started_at for t, shape in calls if shape == (1, 3, 64, 64))


def test_rewarm_reasons_name_every_change():
    sig = M.Signature(TINY, "cpu", "fp32", 1, 2, False, "eager")
    other = M.Signature(TINY, "cpu", "bf16", 4, 1, True, "eager")
    why = M.describe_change(sig, other)
    for part in ("input 1x3x64x64 -> 4x3x64x64", "dtype fp32 -> bf16", "threads 2 -> 1",
                 "channels-last False -> True"):
        assert part in why


@pytest.mark.skipif(usable_cores() < 2, reason="needs 2 cores to tell 1 thread from the default")
def test_honours_the_thread_count_and_restores_it(lock):
    seen = []

    def hook(module, args):
        if type(module).__name__ == "Network":
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    want = 1 if before != 1 else 2
    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        r = measure(TINY, make_setup("cpu", threads=want, budget_s=0.2), lock=lock)
    finally:
        handle.remove()
    assert seen and set(seen) == {want}
    assert r.setup.threads == want and r.passport["threads"] == want
    assert torch.get_num_threads() == before


def test_channels_last_and_batch(lock):
    r = measure(TINY, make_setup("cpu", batch=3, threads=1, channels_last=True, budget_s=0.2), lock=lock)
    assert r.setup.channels_last and r.setup.batch == 3
    assert r.throughput_ips == pytest.approx(3000.0 / r.median_ms)


def test_reduced_precision_on_the_cpu(lock, monkeypatch):
    for dtype in ("bf16", "fp16"):
        if SETUP.dtype_support("cpu")[dtype] is None:  # native kernels here: it measures
            r = measure(TINY, make_setup("cpu", dtype=dtype, threads=1, budget_s=0.1), lock=lock)
            assert r.setup.dtype == dtype and r.median_ms > 0
    monkeypatch.setattr(SETUP, "cpu_native", lambda dtype: False)
    with pytest.raises(ValueError) as exc:
        make_setup("cpu", dtype="fp16")
    assert str(exc.value).startswith("dtype fp16 refused on cpu: fp16 on this CPU has no native kernels")
    support = SETUP.dtype_support("cpu")
    assert support["fp32"] is None and "AVX512-BF16 or AMX" in support["bf16"]


def test_spread_warning_when_the_iqr_passes_10_percent():
    def result(samples):
        st = timing.stats(samples)
        return Result(TINY, SETUP.Setup(threads=1), list(samples), st.median, st.p10, st.p90, st.q1,
                      st.q3, st.iqr, st.mean, st.min, st.max, st.runs, 1.0, None, None, 2, None,
                      0.0, 1.0, 1.0, 0.0, 1, 1, "t",
                      passport={"cpu": {"load_1min": 0.1, "usable_cores": 2}})
    steady = result([10.0, 10.1, 10.2, 10.0, 10.1, 10.3, 10.2, 10.0, 10.1, 10.2])
    noisy = result([10.0, 14.0, 9.0, 12.0, 10.0, 15.0, 8.0, 13.0, 11.0, 10.0])
    assert warnings_for(steady) == []
    (w,) = warnings_for(noisy)
    assert w.startswith("spread too wide to trust") and "limit 10%" in w
    few = result([10.0, 10.1, 10.2, 10.0, 10.1])
    assert any(x.startswith("only 5 timed runs") for x in warnings_for(few))


def test_out_of_memory_is_caught_freed_and_the_bench_keeps_going(lock, monkeypatch):
    bench = Bench(lock)
    setup = make_setup("cpu", threads=1, budget_s=0.1)
    bench.run(TINY, setup)
    real, real_free = exporter.deployable, M.free_device_memory
    held = []

    def oom(*args, **kwargs):
        activations = torch.empty(1 << 20)  # what a failing forward would hold in its frames
        held.append(weakref.ref(activations))
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")

    alive_when_freeing = []

    def free(device):
        if held:  # (the first call frees the previous model, before the failing prepare)
            alive_when_freeing.append(held[0]() is not None)
        real_free(device)

    monkeypatch.setattr(exporter, "deployable", oom)
    monkeypatch.setattr(M, "free_device_memory", free)
    with pytest.raises(OutOfMemory, match=r"ran out of memory measuring mobilenet_v2 0.25x @ 96 .*"
                                          r"\(CUDA out of memory. Tried to allocate 20.00 GiB\)"):
        bench.run(make_config("mobilenet_v2", 0.25, resolution=96), setup)
    assert bench.model is None and not lock.held()
    assert alive_when_freeing == [False]  # the failed frames were gone before empty_cache
    monkeypatch.setattr(exporter, "deployable", real)
    assert bench.run(TINY, setup).rewarmed  # usable again, and it re-warms
    bench.release()


def test_memory_refusal_says_why():
    huge = make_config("resnet50", 2.0, resolution=512)
    with pytest.raises(MemoryRefused) as exc:
        check_fits(huge, 1024, "fp32", "cpu")
    msg = str(exc.value)
    assert msg.startswith("refused: resnet50 2x @ 512 at batch 1024 in fp32 needs about")
    assert "per image x 1024" in msg and "free" in msg and "\n" not in msg
    est = check_fits(TINY, 1, "fp32", "cpu")
    assert est.weights == count(TINY).params * 4
    assert est.activations == count(TINY).peak_activation_bytes


def test_sweep_keeps_going_past_a_refused_point(lock):
    configs = [TINY, make_config("resnet50", 2.0, resolution=512), make_config("ghostnet", 0.25, resolution=64)]
    setup = make_setup("cpu", batch=1024, threads=1, budget_s=0.1)
    rows = sweep(configs[1:2], setup, Bench(lock))
    assert "refused" in rows[0]["error"] and rows[0]["macs"] > 0
    rows = sweep([configs[0], configs[2]], make_setup("cpu", threads=1, budget_s=0.1), Bench(lock))
    assert [r["arch"] for r in rows] == ["mobilenet_v2", "ghostnet"]
    assert all(r["median_ms"] > 0 and r["macs"] > 0 for r in rows)
    assert rows[0]["finished_at"] <= rows[1]["started_at"]


# ----------------------------------------------------------------------------- per layer

@pytest.mark.parametrize("cfg", [TINY, make_config("ghostnet", 0.25, resolution=64),
                                 make_config("shufflenet_v2", 0.5, resolution=64),
                                 make_config("shufflenet_v1", 0.25, resolution=64, groups=2)],
                         ids=lambda c: c.arch)
def test_per_layer_times_cover_every_profiled_op(lock, cfg):
    bench = Bench(lock)
    rep = bench.layers(cfg, make_setup("cpu", threads=1, budget_s=0.4))
    bench.release()
    prof = count(cfg)
    assert list(rep.ops["path"]) == list(prof.layers["path"])
    assert np.isfinite(rep.ops["time_ms"]).all(), rep.notes  # every op was seen by a probe
    assert (rep.ops["time_ms"] >= 0).all()
    assert list(rep.blocks["block"]) == list(dict.fromkeys(prof.layers["block"]))
    assert np.isfinite(rep.blocks["time_ms"]).all()
    assert rep.blocks["macs"].sum() == prof.macs  # batch 1
    assert rep.blocks_sum_ms == pytest.approx(rep.blocks["time_ms"].sum())
    assert np.isfinite(rep.gap("blocks")) and np.isfinite(rep.gap("ops"))
    assert rep.ops["time_share"].sum() == pytest.approx(1.0)
    convs = rep.ops[rep.ops["macs"] > 0]
    assert (convs["intensity"] > 0).all() and (convs["gmacs_per_s"] > 0).all()
    views = rep.ops[rep.ops["op"].isin(["split", "narrow", "flatten"])]
    assert (views["bytes"] == 0).all()
    assert rep.roof["peak_macs_per_s"] > 0 and rep.roof["bandwidth_bytes_per_s"] > 0
    json.dumps(rep.to_dict(), default=float)


def test_depthwise_intensity_is_far_below_pointwise():
    """The roofline's point, from the counts alone: per byte moved, a depthwise conv does far
    fewer MACs than the 1x1 conv beside it."""
    from lightviz.latency.lab.layers import moved_bytes

    prof = count(make_config("mobilenet_v2", 1.0))
    df = prof.layers.assign(bytes=moved_bytes(prof, 1, 4))
    df = df[df["macs"] > 0]
    ai = df["macs"] / df["bytes"]
    dw = ai[df["kind"] == "depthwise conv"].median()
    pw = ai[df["kind"] == "pointwise conv"].median()
    assert dw < pw / 4


def test_exports_carry_the_passport(lock):
    bench = Bench(lock)
    rep = bench.layers(TINY, make_setup("cpu", threads=1, budget_s=0.2))
    bench.release()
    text = report_csv(rep, "ops")
    head = text.splitlines()[:2]
    assert head[0].startswith("# lightviz per-op latency: ")
    assert head[1].startswith("# passport: ")
    assert json.loads(head[1][len("# passport: "):])["torch"] == torch.__version__
    df = pd.read_csv(io.StringIO(text), comment="#")
    assert list(df["path"]) == list(count(TINY).layers["path"])
    blocks = pd.read_csv(io.StringIO(report_csv(rep, "blocks")), comment="#")
    assert "mac_kinds" in blocks.columns
    assert rep.to_dict()["passport"]["cpu"]["model"]


# ----------------------------------------------------------------------------- CLI

@pytest.mark.parametrize("argv, message", [
    (["--device", "gpu"], "unknown device 'gpu': choose one of cpu, cuda, cuda:N, mps"),
    (["--device", "cuda:x"], "unknown device 'cuda:x'"),
    (["--dtype", "int4"], "unknown dtype 'int4': choose one of fp32, fp16, bf16, int8"),
    (["--dtype", "int8"], "dtype int8 is a quantized graph that runtime torch does not run here"),
    (["--batch", "0"], "batch 0 is out of range: allowed 1 to 1024"),
    (["--batch", "2.5"], "batch must be a whole number"),
    (["--threads", "0"], "threads 0 is out of range"),
    (["--mode", "graph"], "unknown mode 'graph': choose one of eager, cudagraph"),
    (["--mode", "cudagraph"], "mode cudagraph needs a CUDA device"),
    (["--budget", "nan"], "budget must be a finite number"),
    (["--lock-timeout", "-1"], "--lock-timeout must be a positive number of seconds"),
    (["--alpha", "9"], "alpha 9 is out of range"),
    (["--format", "xml"], "invalid choice: 'xml'"),
])
def test_cli_bad_values_exit_2_with_one_line(argv, message, lock):
    rc, out, err = run_cli(["bench", "mobilenet_v2", *argv])
    assert rc == 2 and out == ""
    assert err.startswith("lightviz: error: ") and message in err
    assert err.count("\n") == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this host has CUDA")
def test_cli_cuda_absent_exit_2(lock):
    rc, _, err = run_cli(["bench", "ghostnet", "--device", "cuda", "--mode", "cudagraph", "--dtype", "fp16"])
    assert rc == 2 and "device cuda is not available here" in err and err.count("\n") == 1


def test_cli_memory_refusal_exit_2(lock):
    rc, _, err = run_cli(["bench", "resnet50", "--alpha", "2", "--resolution", "512", "--batch", "1024"])
    assert rc == 2 and err.startswith("lightviz: error: refused: resnet50 2x @ 512 at batch 1024")


def test_cli_json(lock):
    rc, out, err = run_cli(["bench", "mobilenet_v2", "--alpha", "0.25", "--resolution", "64",
                            "--threads", "1", "--budget", "0.2", "--format", "json", "--samples"])
    assert rc == 0, err
    d = json.loads(out)
    assert REQUIRED_KEYS <= set(d)
    assert d["device"] == "cpu" and d["dtype"] == "fp32" and d["batch"] == 1 and d["threads"] == 1
    assert d["config"] == {"arch": "mobilenet_v2", "alpha": 0.25, "resolution": 64, "rho": 64 / 224,
                           "groups": None, "classes": 1000}
    assert len(d["samples_ms"]) == d["runs"]
    assert d["p10_ms"] <= d["median_ms"] <= d["p90_ms"]
    assert d["started_at"] < d["finished_at"]


def test_cli_table_with_layers(lock):
    rc, out, err = run_cli(["bench", "ghostnet", "--alpha", "0.25", "--resolution", "64", "--threads", "1",
                            "--budget", "0.3", "--layers"])
    assert rc == 0, err
    assert "median" in out and "throughput" in out and "first call" in out and "passport" in out
    assert "depthwise conv" in out and "blocks sum to" in out and "roof:" in out


# ----------------------------------------------------------------------------- the app page

APP = """
from lightviz import make_config
from lightviz.views import latency
latency.render(make_config("mobilenet_v2", 0.25, resolution=64))
"""


def test_latency_page_measures_on_request(lock, tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "page.py"
    script.write_text(APP)
    at = AppTest.from_file(str(script), default_timeout=120)
    at.run()
    assert not at.exception
    assert not at.metric  # nothing measured until asked
    assert any("Press **Measure**" in i.value for i in at.info)
    at.slider(key="latency_budget").set_value(0.2)
    holder = threading.Thread(target=_hold, args=(lock, 1.0))
    holder.start()
    time.sleep(0.2)
    at.button(key="latency_measure").click().run()
    holder.join()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) >= {"Median (ms)", "p10 (ms)", "p90 (ms)", "IQR (ms)", "Images/s", "First call (ms)"}
    assert float(metrics["Median (ms)"]) > 0
    captions = " ".join(c.value for c in at.caption)
    assert "queued" in captions and "behind another measurement" in captions
    assert "Blocks timed in place sum to" in captions
    # batch norm folded: said once, and the rows that time the identity left in its place are
    # explained and kept out of the page's tables (they stay in the CSV)
    texts = [c.value for c in at.caption] + [m.value for m in at.markdown]
    assert sum("folded into the convs" in t for t in texts) == 2, texts  # result note + rows' note
    assert sum("batch norm (folded)" in t for t in texts) == 1
    for df in at.dataframe:
        if "kind" in df.value.columns:
            assert "batch norm (folded)" not in set(df.value["kind"])
    assert len(at.get("plotly_chart")) >= 2  # time vs MACs, roofline
    assert at.get("json")  # the passport
    # a sweep, on request: latency against alpha beside the MACs
    at.slider(key="latency_sweep_budget").set_value(0.2)
    at.button(key="latency_sweep_run").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[-1].value
    assert list(table["label"]) == [f"mobilenet_v2 {a:g}x @ 64" for a in (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)]
    assert (table["median_ms"] > 0).all() and table["macs"].is_monotonic_increasing


def _hold(lock, seconds):
    with lock.hold("another session"):
        time.sleep(seconds)


def test_latency_page_refuses_what_would_not_fit(tmp_path, lock):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "page.py"
    script.write_text(APP.replace('"mobilenet_v2", 0.25, resolution=64', '"resnet50", 2.0, resolution=512'))
    at = AppTest.from_file(str(script), default_timeout=60)
    at.run()
    at.number_input(key="latency_batch").set_value(1024).run()
    assert not at.exception
    assert any(e.value.startswith("refused: resnet50 2x @ 512 at batch 1024") for e in at.error)
    assert at.button(key="latency_measure").disabled


@pytest.mark.browser
def test_latency_page_in_a_browser(page, streamlit_server, wait_for_app, artifacts, tmp_path):
    """The real server and Chromium: measure on request, see the results and the per-layer
    charts, download the result with its passport; no traceback anywhere."""
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1280, "height": 2400})
    page.goto(f"{streamlit_server}/latency?arch=ghostnet&alpha=0.5&rho=0.5714")
    wait_for_app(page)
    expect(page.get_by_text("Press Measure to time this configuration")).to_be_visible()
    page.get_by_role("button", name="Measure").click()
    expect(page.get_by_text("Where the time goes")).to_be_visible(timeout=120_000)
    median = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text("Median (ms)", exact=True)).get_by_test_id("stMetricValue")
    assert float(median.inner_text()) > 0
    page.locator(".js-plotly-plot .barlayer path").first.wait_for(timeout=30_000)  # time vs MACs
    assert page.get_by_test_id("stException").count() == 0
    assert "Traceback" not in page.inner_text("body")
    with page.expect_download() as info:
        page.get_by_role("button", name="Result (JSON, with passport)").click()
    path = tmp_path / "result.json"
    info.value.save_as(path)
    data = json.loads(path.read_text())
    assert data["config"]["arch"] == "ghostnet" and data["median_ms"] > 0
    assert data["passport"]["torch"] == torch.__version__ and len(data["samples_ms"]) == data["runs"]
    assert len(data["layers"]["ops"]) == len(count(make_config("ghostnet", 0.5, resolution=128)).rows)
    page.screenshot(path=str(artifacts / "latency.png"), full_page=True)


# ----------------------------------------------------------------------------- BN folding

@pytest.mark.parametrize("arch", ["resnet18", "resnet34", "resnet50", "mobilenet_v1", "mobilenet_v2",
                                  "shufflenet_v1", "shufflenet_v2", "ghostnet"])
def test_fold_batchnorm_keeps_the_outputs(arch):
    """Folding is exact algebra: in fp64 the outputs agree to rtol 1e-4 / atol 1e-5 (and far
    better). In fp32 both the folded and the unfolded network differ from the fp64 result by
    ~1e-4 of the logits' scale after 50 layers of rounding, so there the tolerance is that
    scale."""
    import copy

    from lightviz.builder import build_module, calibrate_batchnorm, fold_batchnorm
    from lightviz.configure import ARCHS
    from lightviz.zoo import resolve

    assert arch in ARCHS
    torch.manual_seed(0)
    model = calibrate_batchnorm(build_module(resolve(make_config(arch, 0.5, resolution=64))))
    params = sum(p.numel() for p in model.parameters())
    x = torch.randn(2, 3, 64, 64)
    wide = copy.deepcopy(model).double()
    with torch.no_grad():
        y64 = wide(x.double())
        assert fold_batchnorm(wide) is wide
        assert torch.allclose(y64, wide(x.double()), rtol=1e-4, atol=1e-5)
        y32 = model(x)
        fold_batchnorm(model)
        folded32 = model(x)
    assert torch.allclose(y32, folded32, rtol=1e-4, atol=1e-4 * float(y32.abs().max()))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert not model.training
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert sum(m.bias is not None for m in convs) > 0
    assert sum(p.numel() for p in model.parameters()) < params  # gammas+betas gone, biases in
    assert count(make_config(arch, 0.5, resolution=64)).params > 0  # the profile is untouched
    fold_batchnorm(model)  # folding twice changes nothing
    with torch.no_grad():
        assert torch.equal(folded32, model(x))


def test_setup_folds_by_default_and_says_so(lock):
    setup = make_setup("cpu", threads=1, budget_s=0.1)
    assert setup.fold_bn and "BN folded" in setup.label
    assert "BN unfused" in make_setup("cpu", fold_bn=False).label
    bench = Bench(lock)
    try:
        r = bench.run(TINY, setup)
        assert r.to_dict()["fold_bn"] is True and r.to_dict()["setup"]["fold_bn"] is True
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in bench.model.modules())
        r2 = bench.run(TINY, make_setup("cpu", threads=1, budget_s=0.1, fold_bn=False))
        assert "fold-bn True -> False" in r2.rewarmed and r2.to_dict()["fold_bn"] is False
        assert any(isinstance(m, torch.nn.BatchNorm2d) for m in bench.model.modules())
        rep = bench.layers(TINY, make_setup("cpu", threads=1, budget_s=0.2))
    finally:
        bench.release()
    assert rep.whole.rewarmed  # folded again
    bn = rep.ops[rep.ops["kind"] == "batch norm (folded)"]
    assert len(bn) and np.isfinite(bn["time_ms"]).all() and (bn["bytes"] == 0).all()
    assert not (rep.ops["kind"] == "batch norm").any()
    assert any("folded" in n for n in rep.notes)


def test_cli_no_fold_bn(lock):
    base = ["bench", "mobilenet_v2", "--alpha", "0.25", "--resolution", "64", "--threads", "1",
            "--budget", "0.1"]
    rc, out, err = run_cli(base + ["--format", "json"])
    assert rc == 0, err
    assert json.loads(out)["fold_bn"] is True
    rc, out, err = run_cli(base + ["--no-fold-bn", "--format", "json"])
    assert rc == 0, err
    assert json.loads(out)["fold_bn"] is False and json.loads(out)["setup"]["fold_bn"] is False
    rc, out, err = run_cli(base + ["--no-fold-bn", "--layers"])
    assert rc == 0, err
    assert "BN unfused" in out and "batch norm " in out and "(folded)" not in out
