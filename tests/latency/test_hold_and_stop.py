"""The hold limit and a withdrawn caller (issue 13, point 4), with real parts:

* a measurement whose forced calls would hold the host longer than ``$LIGHTVIZ_MAX_HOLD_S`` is
  refused before it queues, within seconds, naming the limit (CLI exit 2, the app's error box,
  ``HoldRefused`` from the Python API);
* a caller that withdraws (the app's closed tab) stops the whole-network run and the per-layer
  pass between two calls, and the host lock is free at once.

(The out-of-memory text is in test_measurement_faults.py, ``?rho=`` with hundreds of digits in
app/test_huge_url_numbers.py, the torch-free commands in test_lazy_imports.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lightviz import make_config
from lightviz.latency import Bench, HoldRefused, HostLock, Stopped, check_hold, make_setup
from lightviz.latency.lab.hold import ENV_LIMIT, estimate_hold, forced_calls, max_hold_s
from lightviz.latency.lab.lock import QUEUE_DIR

ROOT = Path(__file__).resolve().parents[2]
HUGE = make_config("resnet50", 2.0, resolution=512)
SMALL = make_config("mobilenet_v2", 0.5, resolution=128)


@pytest.fixture
def lock(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_LOCK_DIR", str(tmp_path / "lock"))
    monkeypatch.delenv(ENV_LIMIT, raising=False)
    return HostLock(tmp_path / "lock")


# ----------------------------------------------------------------------------- the hold limit

def test_cli_refuses_a_long_hold_within_seconds_without_queueing(tmp_path):
    """ResNet-50 2x at 512 px, batch 64, would hold the host for many minutes: refused with exit
    2 in seconds, while another measurement holds the lock (so it never queued for it)."""
    lock_dir = tmp_path / "lock"
    lock = HostLock(lock_dir)
    env = dict(os.environ, LIGHTVIZ_LOCK_DIR=str(lock_dir), PYTHONPATH=str(ROOT))
    env.pop(ENV_LIMIT, None)
    with lock.hold("another measurement"):
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "lightviz", "bench", "resnet50", "--alpha", "2",
                            "--resolution", "512", "--batch", "64", "--lock-timeout", "600"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        elapsed = time.monotonic() - t0
        queue = lock_dir / QUEUE_DIR
        assert not queue.is_dir() or not list(queue.iterdir())  # it never queued
    assert r.returncode == 2, r.stderr
    assert elapsed < 30, elapsed  # the interpreter, torch's import and a matmul probe
    assert r.stdout == "" and r.stderr.count("\n") == 1, r.stderr
    err = r.stderr
    assert err.startswith("lightviz: error: refused: measuring resnet50 2x @ 512 at batch 64 "
                          "would hold this host for at least")
    assert "over the limit of 60 s (LIGHTVIZ_MAX_HOLD_S)" in err
    assert "lower the batch, the resolution or alpha, or raise LIGHTVIZ_MAX_HOLD_S" in err
    assert "Queued" not in err


def test_the_api_raises_a_value_error_naming_the_limit(lock, monkeypatch):
    bench = Bench(lock)
    setup = make_setup("cpu", batch=64)
    t0 = time.monotonic()
    with pytest.raises(HoldRefused) as exc:
        bench.run(HUGE, setup)
    assert time.monotonic() - t0 < 5  # a matmul probe and a count, not a minute of ResNet-50
    assert isinstance(exc.value, ValueError) and "\n" not in str(exc.value)
    assert "over the limit of 60 s (LIGHTVIZ_MAX_HOLD_S)" in str(exc.value)
    assert not lock.held() and lock.holder() is None
    # the limit comes from the environment, or from the bench
    monkeypatch.setenv(ENV_LIMIT, "0.001")
    with pytest.raises(HoldRefused, match=r"over the limit of 0.001 s"):
        Bench(lock).run(SMALL, make_setup("cpu", threads=1, budget_s=0.1))
    r = Bench(lock, max_hold_s=float("inf")).run(SMALL, make_setup("cpu", threads=1, budget_s=0.1))
    assert r.runs >= 5
    monkeypatch.setenv(ENV_LIMIT, "soon")
    with pytest.raises(ValueError, match=r"LIGHTVIZ_MAX_HOLD_S='soon' is not a positive number"):
        max_hold_s()


def test_the_estimate_counts_the_forced_calls():
    eager, graph = make_setup("cpu", batch=4), make_setup("cpu", batch=4)
    assert forced_calls(eager) == 1 + 2 + 5  # cold call, warm-up, minimum runs
    assert forced_calls(eager, whole=True, layers=True) == 8 + 7 + 8
    assert forced_calls(eager, whole=False, layers=True) == 1 + 7 + 8
    from dataclasses import replace

    from lightviz.latency.lab.hold import CAPTURE_CALLS

    cuda_graph = replace(eager, device="cuda", mode="cudagraph")  # per-layer passes replay the graph too
    assert forced_calls(cuda_graph, whole=True, layers=True) == 8 + CAPTURE_CALLS + 7 + 8
    assert forced_calls(cuda_graph, whole=False, layers=True) == 1 + CAPTURE_CALLS + 7 + 8
    assert forced_calls(replace(eager, runtime="onnxruntime"), whole=True, layers=True) == 8 + 7 + 8 + 1
    hold = estimate_hold(SMALL, graph, rate=1e9)
    from lightviz import count

    assert hold.seconds == pytest.approx(8 * count(SMALL).macs * 4 / 1e9)
    assert check_hold(SMALL, eager, limit_s=float("inf")) is None
    with pytest.raises(HoldRefused, match=r"at least 8 calls|8 calls the protocol needs"):
        check_hold(SMALL, eager, limit_s=hold.seconds / 2, rate=1e9)


def test_the_latency_page_refuses_a_long_hold(lock, tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "page.py"
    script.write_text("from lightviz import make_config\nfrom lightviz.views import latency\n"
                      "latency.render(make_config('resnet50', 2.0, resolution=512))\n")
    at = AppTest.from_file(str(script), default_timeout=60)
    at.run()
    at.number_input(key="latency_batch").set_value(64).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("would hold this host" in e and "LIGHTVIZ_MAX_HOLD_S" in e for e in errors), errors
    assert at.button(key="latency_measure").disabled


# ----------------------------------------------------------------------------- a withdrawn caller

def _stop_after(seconds):
    t0 = time.monotonic()
    return lambda: "the browser tab was closed" if time.monotonic() - t0 > seconds else None


def test_a_withdrawn_caller_stops_the_per_layer_pass(lock):
    """The whole-network part of the per-layer pass takes a quarter of its 8 s budget; the
    caller withdraws at 3 s, in the blocks pass: it stops there, not 5 s later."""
    bench = Bench(lock, should_stop=_stop_after(3.0))
    setup = make_setup("cpu", threads=1, budget_s=8.0)
    t0 = time.monotonic()
    with pytest.raises(Stopped) as exc:
        bench.layers(SMALL, setup)
    elapsed = time.monotonic() - t0
    assert 3.0 <= elapsed < 5.5, elapsed
    assert str(exc.value) == ("measurement stopped during the per-layer pass: the browser tab "
                              "was closed; nothing was recorded")
    assert not lock.held() and lock.holder() is None
    bench.release()


def test_a_withdrawn_caller_stops_the_whole_network_run(lock):
    bench = Bench(lock, should_stop=_stop_after(0.5))
    t0 = time.monotonic()
    with pytest.raises(Stopped, match="during the whole-network run"):
        bench.run(SMALL, make_setup("cpu", threads=1, budget_s=10.0))
    assert time.monotonic() - t0 < 3.0
    assert lock.acquire("next", timeout=1) < 1
    lock.release()
