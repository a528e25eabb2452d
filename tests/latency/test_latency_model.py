"""The per-host latency model: the store (keyed by passport, corrupt and foreign files, two
concurrent writers), the model's interval on held-out points (a fake timer: latency from a known
law with noise), learning from each new measurement, the calibrate / predict commands' exit
codes and one-line errors, torch-free prediction, shared results across processes, and the
Explore metric with and without a calibration. Real measurements only where they are cheap
(a tiny network, short budgets); no assertion on how fast anything is."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from cli_support import run_cli

from lightviz import make_config, units
from lightviz.configure import ARCHS
from lightviz.latency.predictor import features as F
from lightviz.latency.predictor import model as M
from lightviz.latency.predictor import store
from lightviz.latency.predictor.calibrate import calibrate, design
from lightviz.latency.setup import Setup

ROOT = Path(__file__).resolve().parents[2]
TINY = make_config("mobilenet_v2", 0.25, resolution=64)
ONE = Setup(threads=1)


def fake_ms(cfg, setup=ONE, noise=0.03) -> float:
    """A known latency law (per call, per launch, dense MACs, bytes, depthwise MACs) with a
    seeded lognormal noise of ``noise``: the fake timer of these tests."""
    t, _, _ = F.features(cfg, setup.batch, setup.dtype, setup.fold_bn)
    n = dict(zip(F.NAMES, t))
    ms = (0.05 + 0.018 * n["launches"] + n["dense_macs"] / 30e6 + n["moved_bytes"] / 15e6
          + n["dwconv_macs"] / 4e6 + n["shuffle_bytes"] / 5e6)
    rng = np.random.default_rng(zlib.crc32(cfg.label.encode()))
    return float(ms * np.exp(rng.normal(0.0, noise)))


def fake_calibration(setup=ONE, points=80, noise=0.03):
    return calibrate(setup, budget_s=600, measure=lambda c, s: fake_ms(c, s, noise),
                     max_points=points)


def random_configs(n, seed=1, exclude=()):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        arch = ARCHS[len(out) % len(ARCHS)]
        cfg = make_config(arch, round(float(rng.uniform(0.25, 2.0)), 2),
                          resolution=int(rng.integers(64, 385)),
                          groups=int(rng.choice([1, 2, 3, 4, 8])) if arch == "shufflenet_v1" else None)
        if cfg not in exclude:
            out.append(cfg)
    return out


# ----------------------------------------------------------------------------- the store

def test_store_keeps_measurements_per_setup_and_finds_the_latest(cache):
    assert store.measured(TINY, ONE) is None
    store.add(TINY, ONE, 2.0, p10_ms=1.9, taken_at=time.time() - 120)
    store.add(TINY, ONE, 3.0, p10_ms=2.9)
    store.add(TINY, Setup(threads=2), 9.0)
    store.add(make_config("resnet18", 0.25, resolution=64), ONE, 5.0)
    rec = store.measured(TINY, ONE)
    assert rec["median_ms"] == 3.0 and rec["age_s"] < 60
    assert store.measured(TINY, Setup(threads=2))["median_ms"] == 9.0
    assert store.measured(TINY, ONE, max_age_s=1e-9) is None
    assert len(store.measurements(ONE)) == 3
    files = list(cache.rglob("*.json"))
    assert files and all(json.loads(f.read_text())["kind"] == "measurement" for f in files)
    assert not list(cache.rglob("*.pkl")) and not list(cache.rglob(".tmp-*"))


def test_an_edited_table_never_shares_records_with_the_papers(cache):
    """A custom network (the Design page's table) is another network: the paper's measurement
    is not its shared result, and its own record keeps its table."""
    custom = make_config("mobilenet_v2", 0.25, resolution=64,
                         settings={"layers": [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 1, 2]]})
    assert custom.settings is not None and custom.arch == TINY.arch
    store.add(TINY, ONE, 2.0)
    assert store.measured(custom, ONE) is None
    store.add(custom, ONE, 1.0)
    assert store.measured(custom, ONE)["median_ms"] == 1.0
    assert store.measured(TINY, ONE)["median_ms"] == 2.0
    assert store.config_from_dict(store.measured(custom, ONE)["config"]) == custom


def test_store_is_keyed_by_the_passport(cache, monkeypatch):
    store.add(TINY, ONE, 2.0)
    fake_calibration(points=24)
    assert M.predict(TINY, ONE).predicted_ms > 0
    key = store.host_key("cpu")
    ident = store.host_identity("cpu")
    assert ident["torch"] == store.torch_version() and ident["cpu"] and ident["hostname"]
    # a torch upgrade: another key, nothing reused
    monkeypatch.setattr(store, "torch_version", lambda: "99.0.0")
    store.clear_caches()
    assert store.host_key("cpu") != key
    assert store.measured(TINY, ONE) is None
    with pytest.raises(M.NotCalibrated):
        M.predict(TINY, ONE)
    # another machine: the same
    monkeypatch.undo()
    monkeypatch.setenv("LIGHTVIZ_CACHE_DIR", str(cache))
    monkeypatch.setattr(store.socket, "gethostname", lambda: "elsewhere")
    store.clear_caches()
    assert store.host_key("cpu") != key
    with pytest.raises(M.NotCalibrated):
        M.predict(TINY, ONE)


def test_corrupt_and_foreign_files_are_ignored_with_one_warning(cache, caplog):
    store.add(TINY, ONE, 2.0)
    d = Path(store.setup_dir(ONE))
    foreign = json.loads(next(d.glob("m-*.json")).read_text())
    (d / f"m-{store.config_key(TINY)}-1-1-bad.json").write_text("{not json")
    foreign["host_key"] = "0123456789abcdef"
    foreign["median_ms"] = 99.0
    (d / f"m-{store.config_key(TINY)}-2-2-foreign.json").write_text(json.dumps(foreign))
    (d / f"m-{store.config_key(TINY)}-3-3-list.json").write_text("[1, 2]")
    with caplog.at_level(logging.WARNING, logger="lightviz.latency.predictor.store"):
        recs = store.measurements(ONE)
        store.measurements(ONE)  # read again: no second warning
    assert [r["median_ms"] for r in recs] == [2.0]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3 and all("\n" not in m and m.startswith("lightviz: ignoring") for m in lines)
    assert any("another host" in m for m in lines) and any("not a readable JSON" in m for m in lines)
    # a corrupt model is "not calibrated", not a crash
    Path(store.model_path(ONE)).write_text("\x00garbage")
    with pytest.raises(M.NotCalibrated):
        M.predict(TINY, ONE)


WRITER = """
import sys
from lightviz import make_config
from lightviz.latency.predictor import store
from lightviz.latency.setup import Setup
cfg = make_config("mobilenet_v2", 0.25, resolution=64)
for i in range(int(sys.argv[2])):
    store.add(cfg, Setup(threads=1), float(sys.argv[1]) + i / 1000)
"""


def test_two_concurrent_writers_keep_both(cache):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(v), "40"], env=env)
             for v in (1, 2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    recs = store.measurements(ONE, TINY)
    assert len(recs) == 80
    assert sorted({int(r["median_ms"]) for r in recs}) == [1, 2]


# ----------------------------------------------------------------------------- the model

def test_interval_brackets_held_out_points_with_a_fake_timer(cache):
    cal = fake_calibration(points=80)
    m = cal.model
    assert m["measurements"] == 80 and len(cal.measured) == 80
    assert {c.arch for c, _ in cal.measured} == set(ARCHS)
    assert m["heldout_rmspe"] < 0.10 and m["interval"]["log_low"] < 0 < m["interval"]["log_high"]
    fresh = random_configs(40, exclude={c for c, _ in cal.measured})
    inside, errors = 0, []
    for cfg in fresh:
        p = M.predict(cfg, ONE)
        truth = fake_ms(cfg)
        assert p.low_ms < p.predicted_ms < p.high_ms
        inside += p.low_ms <= truth <= p.high_ms
        errors.append((p.predicted_ms - truth) / truth)
        # the breakdown adds up to the prediction
        assert sum(ms for _, ms in p.breakdown) == pytest.approx(p.predicted_ms, rel=1e-6)
    assert inside >= 0.8 * len(fresh)
    assert float(np.sqrt(np.mean(np.square(errors)))) < 0.10


def test_local_correction_learns_an_architectures_own_pattern(cache):
    """A law the shared terms cannot express: ResNet-34 runs faster the narrower it is (up to
    30%). The per-architecture smoothing of residuals learns it from ResNet-34's calibration
    points, the held-out error it reports includes it, and an edited table gets none."""
    def law(cfg, s=ONE):
        ms = fake_ms(cfg, s, noise=0.02)
        return ms * (0.7 + 0.3 * min(cfg.alpha, 1.0)) if cfg.arch == "resnet34" else ms

    cal = calibrate(ONE, budget_s=600, measure=law, max_points=160)
    m = cal.model
    assert m["local"] is not None and m["heldout_rmspe"] < m["heldout_without_local_rmspe"]
    fresh = [make_config("resnet34", a, resolution=r) for a, r in ((0.3, 150), (0.4, 300), (0.6, 220))]
    coef = np.asarray(m["coef"])
    for cfg in fresh:
        linear = float(M.floored(M.design_matrix([cfg], ONE) @ coef, M.design_matrix([cfg], ONE))[0])
        p = M.predict(cfg, ONE)
        assert abs(p.predicted_ms - law(cfg)) < abs(linear - law(cfg))
        assert sum(ms for _, ms in p.breakdown) == pytest.approx(p.predicted_ms, rel=1e-6)
    edited = make_config("resnet34", 0.3, resolution=150,
                         settings={"layers": [3, 4, 5, 3], "widths": [64, 128, 256, 512]})
    X = M.design_matrix([edited], ONE)
    assert M.predict(edited, ONE).predicted_ms == pytest.approx(float(M.floored(X @ coef, X)[0]), rel=1e-9)


def test_a_model_without_the_local_correction_predicts_linearly(cache):
    """A model file from before the correction (no "local" key) still predicts: the linear
    model alone, its breakdown adding up."""
    fake_calibration(points=40)
    setup = M.resolve(ONE)
    model = dict(store.load_model(setup))
    model.pop("local", None)
    store.save_model(setup, model)
    store.clear_caches()
    cfg = make_config("ghostnet", 0.7, resolution=150)
    X = M.design_matrix([cfg], ONE)
    p = M.predict(cfg, ONE)
    assert p.predicted_ms == pytest.approx(float(M.floored(X @ np.asarray(model["coef"]), X)[0]), rel=1e-9)
    assert sum(ms for _, ms in p.breakdown) == pytest.approx(p.predicted_ms, rel=1e-6)


def test_prediction_carries_its_model_and_blocks(cache):
    fake_calibration(points=40)
    p = M.predict(make_config("resnet18", 0.5, resolution=128), ONE)
    assert p.breakdown[0][0] == M.FIXED and [b for b, _ in p.breakdown[1:4]] == ["stem", "conv2_x.0", "conv2_x.1"]
    assert {"method", "calibrated_at", "measurements", "heldout_rmspe"} <= set(p.model)
    assert p.setup.threads == 1
    with pytest.raises(M.NotCalibrated,
                       match=r"run `lightviz calibrate --device cpu --dtype fp32 --threads 2 --batch 1`"):
        M.predict(TINY, Setup(threads=2))
    assert "\n" not in str(M.not_calibrated(Setup(threads=2)))


def test_every_measurement_teaches_the_model(cache):
    fake_calibration(points=30)
    before = store.load_model(ONE)
    assert before["measurements"] == 30

    class R:  # what the protocol hands to the hook: a Result's fields
        config, setup = make_config("ghostnet", 1.3, resolution=300), ONE
        median_ms = p10_ms = p90_ms = min_ms = 42.0
        iqr_ms, runs, finished_at, macs, throughput_ips, spread = 0.1, 10, time.time(), 1, 1.0, 0.0
        warnings, passport = [], {}

    M.learn(R())
    after = store.load_model(ONE)
    assert after["measurements"] == 31 and after["calibrated_at"] == before["calibrated_at"]
    assert after["refit_at"] > before["refit_at"]


def test_ctrl_c_keeps_what_was_measured_and_fits(cache):
    seen = []

    def measure(cfg, setup):
        if len(seen) == 20:
            raise KeyboardInterrupt
        seen.append(cfg)
        return fake_ms(cfg, setup)

    cal = calibrate(ONE, budget_s=600, measure=measure)
    assert cal.interrupted and len(cal.measured) == 20
    assert cal.model["measurements"] == 20 and cal.model["calibration"]["interrupted"]
    assert M.predict(TINY, ONE).predicted_ms > 0


def test_design_spans_the_space():
    d = design(per_arch=16)
    assert {c.arch for c in d[:8]} == set(ARCHS)  # round robin: any prefix is balanced
    alphas = [c.alpha for c in d]
    res = [c.resolution for c in d]
    assert min(alphas) < 0.35 and max(alphas) > 1.7 and min(res) < 64 and max(res) > 420
    assert {c.groups for c in d if c.arch == "shufflenet_v1"} == {1, 2, 3, 4, 8}


# ----------------------------------------------------------------------------- commands

@pytest.mark.parametrize("argv, message", [
    (["predict", "mobilenet_v2"], "lightviz calibrate --device cpu --dtype fp32"),
    (["predict", "mobilenet_v2", "--threads", "999"], "threads 999 is out of range"),
    (["predict", "nope"], "unknown architecture"),
    (["predict", "mobilenet_v2", "--alpha", "9"], "alpha 9 is out of range"),
    (["calibrate", "--budget", "0"], "budget 0 is out of range"),
    (["calibrate", "--budget", "x"], "budget must be a number"),
    (["calibrate", "--mode", "cudagraph"], "mode cudagraph needs a CUDA device"),
])
def test_cli_exit_2_with_one_line(cache, argv, message):
    code, out, err = run_cli(argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("lightviz: error:") and message in err


def test_cli_predict_json_after_calibration(cache):
    fake_calibration(points=30)
    code, out, err = run_cli(["predict", "shufflenet_v2", "--alpha", "0.5", "--resolution", "160",
                              "--threads", "1", "--format", "json"])
    assert code == 0, err
    d = json.loads(out)
    assert d["low_ms"] < d["predicted_ms"] < d["high_ms"]
    assert {"method", "calibrated_at", "measurements", "heldout_rmspe"} <= set(d["model"])
    assert d["passport"]["torch"] == store.torch_version() and d["passport"]["key"]
    code, out, _ = run_cli(["predict", "shufflenet_v2", "--threads", "1"])
    assert code == 0 and "predicted" in out and "held-out RMSPE" in out


PREDICT_NO_TORCH = """
import sys
from lightviz.cli import main
code = main(["predict", "mobilenet_v2", "--threads", "1", "--format", "json"])
assert "torch" not in sys.modules, "predict imported torch"
sys.exit(code)
"""


def test_predict_does_not_import_torch(cache):
    fake_calibration(points=20)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", PREDICT_NO_TORCH], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["predicted_ms"] > 0


def test_real_calibration_with_a_tiny_budget_then_predict(cache):
    """The protocol for real (host lock, warm-up, timed runs), a few small points."""
    code, out, err = run_cli(["calibrate", "--threads", "1", "--budget", "6", "--point-budget",
                              "0.05", "--format", "json"])
    assert code == 0, err
    d = json.loads(out)
    assert d["points"] >= M.MIN_MEASUREMENTS and d["model"]["heldout_rmspe"] > 0
    assert "measured" in err  # the progress lines
    code, out, err = run_cli(["predict", "resnet18", "--alpha", "0.5", "--threads", "1",
                              "--format", "json"])
    assert code == 0 and json.loads(out)["predicted_ms"] > 0


# ----------------------------------------------------------------------------- shared results

def test_a_measurement_in_one_process_is_reused_in_another(cache, monkeypatch):
    # reused by its own quality (lightviz.latency.shared): whatever its spread on this busy
    # machine, a host no quieter now than then reuses it
    monkeypatch.setattr(store, "load_1min", lambda: 99.0)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "lightviz", "bench", "mobilenet_v2", "--alpha", "0.25",
                        "--resolution", "64", "--threads", "1", "--budget", "0.2", "--layers",
                        "--format", "json"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    median = json.loads(r.stdout)["median_ms"]
    rec = store.shared(TINY, ONE, layers=True)
    assert rec is not None and rec["median_ms"] == median and rec["pid"] != os.getpid()
    assert store.describe_age(rec["age_s"]) == "just now"
    assert store.describe_age(180) == "3 min ago"
    # stale: measure again
    assert store.shared(TINY, ONE, max_age_s=1e-9) is None
    # the Latency page of another session shows it instead of measuring, and says so
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(LATENCY_PAGE, default_timeout=120)
    at.run()
    at.slider(key="latency_threads").set_value(1)
    at.slider(key="latency_budget").set_value(0.2)  # no more than the stored one's budget
    at.button(key="latency_measure").click().run()
    assert not at.exception and not at.error
    assert any(i.value.startswith("Shown: measured just now by lightviz bench") for i in at.info)
    assert {m.label: m.value for m in at.metric}["Median (ms)"] == units.fmt_ms(median)
    assert len(store.measurements(ONE, TINY)) == 2  # nothing measured again (its per-layer part)
    at.button(key="latency_again").click().run()  # ... unless asked
    assert not at.exception and len(store.measurements(ONE, TINY)) >= 3
    assert "Where the time goes" in " ".join(m.value for m in at.markdown)


def test_latency_page_prediction_follows_the_setup(cache):
    from streamlit.testing.v1 import AppTest

    fake_calibration(points=20)  # threads 1 only
    at = AppTest.from_string(LATENCY_PAGE, default_timeout=120)
    at.run()
    at.slider(key="latency_threads").set_value(2).run()
    assert not at.exception
    assert any("No latency model for this setup" in c.value for c in at.caption)
    at.slider(key="latency_threads").set_value(1).run()
    assert not at.exception
    assert any("predicted for MobileNet v2 \u03b1 0.25 \u00b7 64 px on cpu fp32 batch 1, 1 thread" in m.value
               for m in at.markdown)
    assert any(b.label.startswith("Recalibrate cpu fp32 batch 1, 1 thread") for b in at.button)


LATENCY_PAGE = """
from lightviz import make_config
from lightviz.views import latency
latency.render(make_config("mobilenet_v2", 0.25, resolution=64))
"""


def test_a_flagged_result_is_not_reused_on_a_quieter_host(cache, monkeypatch):
    """The rule by the result's own quality: tests/latency/test_shared_results.py."""
    store.add(TINY, ONE, 2.0, load=3.0, extra={"spread": 0.5, "warnings": ["spread too wide"]})
    monkeypatch.setattr(store, "load_1min", lambda: 3.0)
    assert store.shared(TINY, ONE) is not None
    monkeypatch.setattr(store, "load_1min", lambda: 0.3)
    assert store.shared(TINY, ONE) is None


# ----------------------------------------------------------------------------- the app

EXPLORE = """
from lightviz import make_config
from lightviz.views import explore
explore.render(make_config("mobilenet_v2", 0.5, resolution=160))
"""


def test_explore_metric_without_and_with_a_calibration(cache, tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "explore_page.py"
    script.write_text(EXPLORE)
    at = AppTest.from_file(str(script), default_timeout=60)
    at.run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert not any(label.startswith("Latency on this host") for label in labels)
    text = " ".join(x.value for x in at.caption) + " ".join(x.value for x in at.markdown)
    assert "lightviz calibrate" in text  # how to get one, never a made-up number
    assert any("Calibrate" in b.label for b in at.button)

    fake_calibration(points=30)
    at.run()
    assert not at.exception
    metric = next(m for m in at.metric if m.label.startswith("Latency on this host (predicted)"))
    assert metric.value.endswith("ms")
    truth = M.predict(make_config("mobilenet_v2", 0.5, resolution=160), ONE)
    assert float(metric.value.split()[0]) == pytest.approx(truth.predicted_ms, rel=0.01)
    assert "cpu fp32 batch 1, 1 thread" in (metric.help or "") + " ".join(c.value for c in at.caption)


PARETO = """
from lightviz import make_config
from lightviz.views import accuracy_ui
accuracy_ui.render_pareto(make_config("mobilenet_v2", 0.5, resolution=160))
"""


def test_pareto_latency_axis_predicts_for_the_setup_explore_uses(cache, tmp_path):
    """Compare's Pareto view on the latency axis reads the same setup as Explore's metric (here
    the only calibrated one, 1 thread), and says which."""
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "pareto_page.py"
    script.write_text(PARETO)
    fake_calibration(points=30)
    at = AppTest.from_file(str(script), default_timeout=60)
    at.run()
    at.segmented_control(key="pareto_axis").set_value("latency").run()
    assert not at.exception and not at.info
    captions = " ".join(c.value for c in at.caption)
    assert "cpu fp32 batch 1, 1 thread" in captions and "grey-edged marks measured latencies" in captions


@pytest.mark.browser
def test_calibrate_then_predict_in_a_browser(new_page, artifacts, tmp_path, monkeypatch):
    """A real server and Chromium: on the Latency page, calibrate with a tiny budget, then the
    page and Explore show the predicted latency; no traceback anywhere."""
    from conftest import free_port, start_streamlit, stop, wait_healthy
    from playwright.sync_api import expect

    monkeypatch.setenv("LIGHTVIZ_CALIBRATE_BUDGET_S", "10")
    monkeypatch.setenv("LIGHTVIZ_LOCK_DIR", str(tmp_path / "lock"))
    port = free_port()
    proc = start_streamlit(port, artifacts / "streamlit_calibrate.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        page = new_page(height=2400)
        page.goto(f"{base}/latency?arch=mobilenet_v2&alpha=0.5&rho=0.5714")
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
        expect(page.get_by_text("No latency model for this setup")).to_be_visible()
        page.get_by_role("button", name="Calibrate cpu fp32").click()
        expect(page.get_by_text("predicted for MobileNet v2 \u03b1 0.5 \u00b7 128 px")).to_be_visible(
            timeout=180_000)
        assert "Traceback" not in page.inner_text("body")
        page.screenshot(path=str(artifacts / "latency_calibrated.png"), full_page=True)
        page.get_by_role("link", name="Explore").click()
        metric = page.get_by_test_id("stMetric").filter(
            has=page.get_by_text("Latency on this host (predicted)"))
        expect(metric).to_be_visible()
        assert metric.get_by_test_id("stMetricValue").inner_text().endswith("ms")
        assert page.get_by_test_id("stException").count() == 0
    finally:
        stop(proc)
