"""Faults, with real processes: a measurement killed with SIGKILL in the middle of its run (and a
killed waiter) does not hold up the next one; a CPU out-of-memory error during a measurement is
reported in one line and the next measurement works (in the bench, the CLI and the app); a
browser tab closed in the middle of a measurement stops it between two calls (whole network or
per layer) and releases the host lock at once, a tab closed while queued withdraws its request,
and the server keeps serving; the one-line out-of-memory message keeps the end of PyTorch's
text.

Out of memory is real, not simulated: a child process caps its own address space
(``RLIMIT_AS``) a little above what it already uses, so a ResNet-50 2x at 512 px with batch 8
(about 1.2 GiB, which the memory estimate lets through on this host) fails inside PyTorch's
allocator while a small network still fits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lightviz.latency import HostLock
from lightviz.latency.lab.lock import QUEUE_DIR
from lightviz.latency.lab.oom import oom_reason

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["mobilenet_v2", "--alpha", "0.25", "--resolution", "64", "--threads", "1"]
CAN_LIMIT_MEMORY = sys.platform.startswith("linux")


def wait_for(predicate, timeout=60.0, what="condition", every=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def env_with_lock(lock_dir, **extra) -> dict:
    return dict(os.environ, LIGHTVIZ_LOCK_DIR=str(lock_dir), PYTHONPATH=str(ROOT),
                PYTHONUNBUFFERED="1", **extra)


# The out-of-memory tests run a configuration that the hold limit might refuse on a loaded host
# (ResNet-50 2x at 512 px, batch 8: its first call fails, which is the point): no limit there.
NO_HOLD_LIMIT = {"LIGHTVIZ_MAX_HOLD_S": "inf"}


def bench(lock_dir, *args) -> subprocess.Popen:
    """``lightviz bench`` in its own process, sharing the lock directory ``lock_dir``."""
    return subprocess.Popen([sys.executable, "-m", "lightviz.cli", "bench", *args], cwd=ROOT,
                            env=env_with_lock(lock_dir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def tickets(lock_dir, pid=None):
    """The queue's tickets (of process ``pid``)."""
    q = Path(lock_dir) / QUEUE_DIR
    names = sorted(p.name for p in q.iterdir()) if q.is_dir() else []
    return [n for n in names if pid is None or n.split("-")[1] == str(pid)]


def kill(p: subprocess.Popen) -> None:
    if p.poll() is None:
        os.kill(p.pid, signal.SIGKILL)
    p.wait(30)


# ----------------------------------------------------------------------------- killed processes

def test_measurement_killed_mid_run_releases_the_lock_to_the_next_in_queue(tmp_path):
    """A holds the host for a 60 s measurement; W and then C queue behind it. W and A are
    killed with SIGKILL; C measures at once: the kernel dropped A's flock with its process, and
    W's ticket is skipped because its process is gone (no wait for the ticket to go stale)."""
    lock_dir = tmp_path / "lock"
    lock = HostLock(lock_dir)
    procs = []
    try:
        a = bench(lock_dir, *SMALL, "--budget", "60")
        procs.append(a)
        holder = wait_for(lambda: (lock.holder() or {}).get("pid") == a.pid and lock.holder(),
                          what="the first measurement to hold the lock")
        assert "lightviz bench" in holder["label"]
        w = bench(lock_dir, *SMALL, "--budget", "0.2")
        procs.append(w)
        wait_for(lambda: tickets(lock_dir, w.pid), what="the second request to queue")
        c = bench(lock_dir, *SMALL, "--budget", "0.2", "--format", "json", "--lock-timeout", "120")
        procs.append(c)
        wait_for(lambda: tickets(lock_dir, c.pid), what="the third request to queue")
        assert tickets(lock_dir) == tickets(lock_dir, w.pid) + tickets(lock_dir, c.pid)  # FIFO

        kill(w)
        time.sleep(0.5)
        assert a.poll() is None and c.poll() is None  # A still measuring, C still queued
        killed_at = time.time()
        kill(a)
        out, err = c.communicate(timeout=120)
        assert c.returncode == 0, err
        result = json.loads(out)
        # C started once A was killed, long before A's 60 s budget would have run out
        assert killed_at <= result["started_at"] < killed_at + 30, (killed_at, result["started_at"])
        assert "Queued" in err  # C was told that it waited, and behind whom
        assert lock.holder() is None and tickets(lock_dir) == []
        assert lock.acquire("after", timeout=5) < 5
        lock.release()
    finally:
        for p in procs:
            kill(p)


# ----------------------------------------------------------------------------- out of memory

OOM_BENCH = r"""
import io, json, resource, sys
from contextlib import redirect_stderr, redirect_stdout
from lightviz import make_config
from lightviz.cli import main
from lightviz.latency import Bench, OutOfMemory, make_setup


def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024


small = make_config("mobilenet_v2", 0.25, resolution=64)
big = make_config("resnet50", 2.0, resolution=512)
setup = make_setup("cpu", threads=1, budget_s=0.1)
bench = Bench()
bench.run(small, setup)  # everything imported and warmed up before the cap
bench.release()
resource.setrlimit(resource.RLIMIT_AS, (status("VmSize") + 768 * 2**20, resource.RLIM_INFINITY))
out = {}
try:
    bench.run(big, make_setup("cpu", batch=8, threads=1, budget_s=0.1))
    out["oom"] = None
except OutOfMemory as exc:
    out["oom"] = str(exc)
print("oom reported", flush=True)
sys.stdin.readline()  # the parent checks that the host lock is free meanwhile
r = bench.run(small, setup)
out["after"] = {"runs": r.runs, "median_ms": r.median_ms}
bench.release()
o, e = io.StringIO(), io.StringIO()
with redirect_stdout(o), redirect_stderr(e):
    rc = main(["bench", "resnet50", "--alpha", "2", "--resolution", "512", "--batch", "8",
               "--threads", "1", "--budget", "0.1"])
out["cli"] = {"rc": rc, "stderr": e.getvalue(), "stdout": o.getvalue()}
o, e = io.StringIO(), io.StringIO()
with redirect_stdout(o), redirect_stderr(e):
    rc = main(["bench", "mobilenet_v2", "--alpha", "0.25", "--resolution", "64", "--threads", "1",
               "--budget", "0.1", "--format", "json"])
out["cli_after"] = {"rc": rc, "stderr": e.getvalue(), "stdout": o.getvalue()}
print(json.dumps(out), flush=True)
"""


@pytest.mark.skipif(not CAN_LIMIT_MEMORY, reason="RLIMIT_AS caps the address space on Linux")
def test_cpu_out_of_memory_is_reported_and_the_next_measurement_works(tmp_path):
    lock_dir = tmp_path / "lock"
    p = subprocess.Popen([sys.executable, "-c", OOM_BENCH], cwd=ROOT,
                         env=env_with_lock(lock_dir, **NO_HOLD_LIMIT),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        line = p.stdout.readline()
        assert line.strip() == "oom reported", (line, p.stderr.read() if p.poll() is not None else "")
        # the failed measurement's process is alive and does not hold the host
        lock = HostLock(lock_dir)
        assert lock.holder() is None
        assert lock.acquire("while the child is alive", timeout=5) < 5
        lock.release()
        out_text, err = p.communicate("go\n", timeout=240)
    finally:
        kill(p)
    assert p.returncode == 0, err
    out = json.loads(out_text.strip().splitlines()[-1])
    assert out["oom"] and "cpu ran out of memory measuring resnet50 2x @ 512 at batch 8" in out["oom"]
    assert "memory was freed" in out["oom"] and "\n" not in out["oom"]
    # the end of PyTorch's message is kept: how much it tried to allocate, and the system's error
    assert "you tried to allocate" in out["oom"] and "Error code 12" in out["oom"], out["oom"]
    assert out["after"]["runs"] >= 5 and out["after"]["median_ms"] > 0
    cli = out["cli"]
    assert cli["rc"] == 1 and cli["stdout"] == ""
    assert cli["stderr"].startswith("lightviz: error: cpu ran out of memory")
    assert cli["stderr"].count("\n") == 1 and "Traceback" not in cli["stderr"]
    after = out["cli_after"]
    assert after["rc"] == 0, after["stderr"]
    assert json.loads(after["stdout"])["runs"] >= 5


OOM_APP = r"""
import json, resource, sys
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash


def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024


at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.query_params.update({"arch": "resnet50", "alpha": "2", "rho": "2.2857"})
at._page_hash = calc_hash("latency")
at.run()
at.slider(key="latency_budget").set_value(0.2)
at.checkbox(key="latency_per_layer").set_value(False)
at.number_input(key="latency_batch").set_value(8).run()
resource.setrlimit(resource.RLIMIT_AS, (status("VmSize") + 768 * 2**20, resource.RLIM_INFINITY))
at.button(key="latency_measure").click().run()
out = {"exceptions": [e.message for e in at.exception], "errors": [e.value for e in at.error]}
at.selectbox(key="arch").set_value("mobilenet_v2")
at.slider(key="alpha").set_value(0.25)
at.select_slider(key="rho").set_value(0.2857)
at.number_input(key="latency_batch").set_value(1).run()
at.button(key="latency_measure").click().run()
out.update(exceptions_after=[e.message for e in at.exception],
           errors_after=[e.value for e in at.error],
           metrics={m.label: m.value for m in at.metric})
print(json.dumps(out), flush=True)
"""


@pytest.mark.skipif(not CAN_LIMIT_MEMORY, reason="RLIMIT_AS caps the address space on Linux")
def test_app_reports_an_out_of_memory_and_keeps_measuring(tmp_path):
    """The app itself (app.py on its Latency page, through AppTest) in a process whose memory
    runs out: an error box with the one-line reason, no exception, and the next measurement of
    a small configuration shows its figures."""
    r = subprocess.run([sys.executable, "-c", OOM_APP, str(ROOT / "app.py")], cwd=ROOT,
                       env=env_with_lock(tmp_path / "lock", **NO_HOLD_LIMIT), capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["exceptions"] == [], out
    assert any("cpu ran out of memory measuring resnet50 2x @ 512 at batch 8" in e
               for e in out["errors"]), out
    assert out["exceptions_after"] == [] and out["errors_after"] == [], out
    median = next(v for k, v in out["metrics"].items() if k.startswith("Median"))
    assert float(median.split()[0]) > 0, out["metrics"]


def test_out_of_memory_text_keeps_its_end():
    try:
        torch.empty(2**45)  # 128 TiB: PyTorch's own CPU allocator message
    except RuntimeError as exc:
        real = exc
    reason = oom_reason(real)
    assert "you tried to allocate 140737488355328 bytes" in reason
    assert reason.endswith(str(real).strip().split()[-1])
    cuda = RuntimeError(
        "CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of 79.10 GiB "
        "of which 1.25 GiB is free. Including non-PyTorch memory, this process has 77.84 GiB "
        "memory in use. Of the allocated memory 75.1 GiB is allocated by PyTorch, and 1.2 GiB is "
        "reserved by PyTorch but unallocated. If reserved but unallocated memory is large try "
        "setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See "
        "documentation for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html)")
    reason = oom_reason(cuda, limit=120)
    assert len(reason) == 120 and reason.startswith("\u2026")
    assert reason.endswith("1.2 GiB is reserved by PyTorch but unallocated.")
    assert "\n" not in oom_reason(RuntimeError("out of memory\nat line 2"))


# ----------------------------------------------------------------------------- a closed tab

@pytest.fixture(scope="module")
def server_with_lock(tmp_path_factory, artifacts):
    """A real ``streamlit run app.py`` on a free loopback port, with its own lock directory."""
    from conftest import free_port, stop, wait_healthy

    lock_dir = tmp_path_factory.mktemp("server_lock")
    port = free_port()
    log = open(artifacts / "faults_server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env_with_lock(lock_dir), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield base, lock_dir
    finally:
        stop(proc)
        log.close()


LATENCY_URL = "/latency?arch=mobilenet_v2&alpha=0.25&rho=0.2857"


def _open_latency(browser, base, wait_for_app, url=LATENCY_URL):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(60_000)
    page = ctx.new_page()
    page.goto(base + url)
    wait_for_app(page, timeout=90_000)
    return ctx, page


def _measure_button(page):
    """The page's primary Measure button, found by its widget key (a text match also finds the
    lesson's "Measure the lesson's configurations", hidden in its collapsed expander)."""
    return page.locator(".st-key-latency_measure button")


@pytest.mark.browser
def test_closed_tab_releases_the_lock_and_the_server_keeps_serving(browser, server_with_lock,
                                                                   wait_for_app):
    from playwright.sync_api import expect

    base, lock_dir = server_with_lock
    lock = HostLock(lock_dir)

    # 1. a tab closed in the middle of its measurement: the measurement stops at its next call
    #    and the lock is free at once, not when its budget (2 s, and as much again per layer)
    #    would have run out
    ctx, page = _open_latency(browser, base, wait_for_app)
    _measure_button(page).click()
    holder = wait_for(lambda: lock.holder(), timeout=90, what="the app's measurement to start")
    assert holder["label"].endswith("(app)")
    ctx.close()
    waited = lock.acquire("test, after the closed tab", timeout=120)  # 120 s: the last resort
    try:
        assert waited < 3.0, waited  # the whole run and the per-layer pass take 4 s or more
        # 2. a tab closed while queued withdraws its request: no measurement runs for nobody
        #    (another width: the closed tab's result of step 1 is a fresh shared result, which
        #    the page would show instead of measuring again)
        ctx, page = _open_latency(browser, base, wait_for_app,
                                  LATENCY_URL.replace("alpha=0.25", "alpha=0.75"))
        _measure_button(page).click()
        expect(page.get_by_text("Queued", exact=False)).to_be_visible(timeout=60_000)
        assert len(tickets(lock_dir)) == 1
        ctx.close()
        wait_for(lambda: not tickets(lock_dir), timeout=30, what="the closed tab's ticket to go")
    finally:
        lock.release()
    time.sleep(1.5)
    assert lock.holder() is None, "a closed tab's queued request measured after all"
    assert lock.acquire("test", timeout=5) < 5
    lock.release()

    # 3. the server keeps serving: a new tab measures (a configuration not measured yet)
    ctx, page = _open_latency(browser, base, wait_for_app,
                              LATENCY_URL.replace("alpha=0.25", "alpha=1.25"))
    try:
        _measure_button(page).click()
        expect(page.get_by_test_id("stMetricLabel").filter(has_text="Median").first).to_be_visible(
            timeout=120_000)
        wait_for_app(page, timeout=120_000)
        assert page.get_by_test_id("stException").count() == 0
        assert page.get_by_test_id("stAlertContentError").count() == 0
    finally:
        ctx.close()
