"""One measurement at a time per host: the lock serialises requests from two threads and from
two processes (their timed windows never overlap), queues them in order, shows a waiting caller
that it is queued, survives a holder killed with SIGKILL, and times out as a last resort."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lightviz import make_config
from lightviz.latency import HostLock, LockTimeout, make_setup, measure
from lightviz.latency.lab.lock import QUEUE_DIR

ROOT = Path(__file__).resolve().parents[2]
CFG = make_config("mobilenet_v2", 0.25, resolution=32)
SETUP = make_setup("cpu", threads=1, budget_s=0.2)


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def assert_disjoint(windows):
    windows = sorted(windows)
    for (a0, a1), (b0, b1) in zip(windows, windows[1:]):
        assert a1 <= b0, f"timed windows overlap: [{a0}, {a1}] and [{b0}, {b1}]"


def test_two_threads_are_serialised_in_queue_order(tmp_path):
    lock = HostLock(tmp_path)
    results, notices, errors = {}, {}, []

    def worker(name):
        try:
            seen = notices.setdefault(name, [])
            results[name] = measure(CFG, SETUP, lock=lock, on_wait=seen.append)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with lock.hold("test holder"):  # both requests must queue behind this one
        first = threading.Thread(target=worker, args=("first",))
        first.start()
        wait_for(lambda: lock.status()["waiting"] == 1, what="the first request to queue")
        second = threading.Thread(target=worker, args=("second",))
        second.start()
        wait_for(lambda: lock.status()["waiting"] == 2, what="the second request to queue")
        status = lock.status()
        assert status["holder"]["label"] == "test holder" and status["holder"]["pid"] == os.getpid()
    first.join(60)
    second.join(60)
    assert not errors
    a, b = results["first"], results["second"]
    assert_disjoint([(a.started_at, a.finished_at), (b.started_at, b.finished_at)])
    assert a.finished_at <= b.started_at  # FIFO: the first to queue ran first
    assert a.lock_wait_s > 0 and b.lock_wait_s > a.lock_wait_s
    # each waiter was told it was queued, behind whom, and how many were ahead of it
    assert notices["first"] and notices["second"]
    assert notices["first"][0].holder["label"] == "test holder"
    assert notices["second"][0].ahead == 1
    assert "Queued" in notices["second"][0].describe()
    assert lock.status() == {"holder": None, "waiting": 0, "lock": lock.path, "scope": lock.scope}


def test_two_processes_are_serialised(tmp_path):
    lock = HostLock(tmp_path)
    env = dict(os.environ, LIGHTVIZ_LOCK_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "lightviz.cli", "bench", "mobilenet_v2", "--alpha", "0.25",
           "--resolution", "32", "--threads", "1", "--budget", "0.3", "--format", "json"]
    with lock.hold("test holder"):
        procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        wait_for(lambda: lock.status()["waiting"] == 2, timeout=120, what="both processes to queue")
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    data = [json.loads(o) for o, _ in outs]
    assert_disjoint([(d["started_at"], d["finished_at"]) for d in data])
    assert all(d["lock_wait_s"] > 0 for d in data)
    for _, err in outs:  # the CLI says, once, that it is queued
        assert err.count("lightviz: Queued: one measurement at a time per host") == 1


def test_reentrant_in_one_thread(tmp_path):
    lock = HostLock(tmp_path)
    with lock.hold("outer"):
        with lock.hold("inner") as waited:
            assert waited == 0.0 and lock.held()
        assert lock.held()
    assert not lock.held()
    with pytest.raises(RuntimeError, match="without a matching acquire"):
        lock.release()


def test_timeout_names_the_holder(tmp_path):
    lock = HostLock(tmp_path)
    with lock.hold("mobilenet_v2 1x @ 224 on cpu"):
        box = []
        t = threading.Thread(target=lambda: box.append(_try_acquire(lock, 0.2)))
        t.start()
        t.join(30)
    exc = box[0]
    assert isinstance(exc, LockTimeout)
    assert "mobilenet_v2 1x @ 224 on cpu" in str(exc) and "no measurement was made" in str(exc)
    assert not os.listdir(os.path.join(tmp_path, QUEUE_DIR))  # the ticket was withdrawn


def _try_acquire(lock, timeout):
    try:
        lock.acquire("late", timeout=timeout)
    except LockTimeout as exc:
        return exc
    lock.release()
    return None


def test_killed_holder_releases_the_lock(tmp_path):
    code = ("import sys, time; from lightviz.latency import HostLock; "
            "l = HostLock(sys.argv[1]); l.acquire('doomed'); print('held', flush=True); time.sleep(120)")
    p = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                         text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert p.stdout.readline().strip() == "held"
    lock = HostLock(tmp_path)
    assert lock.holder()["label"] == "doomed"
    assert isinstance(_try_acquire(lock, 0.1), LockTimeout)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(30)
    assert lock.holder() is None  # its process is gone: not reported as holding
    assert lock.acquire("next", timeout=5) < 5  # the kernel dropped the flock with the process
    lock.release()


def test_tickets_of_dead_waiters_do_not_block(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    queue = Path(tmp_path) / QUEUE_DIR
    queue.mkdir()
    (queue / f"{1:020d}-{dead.pid}-1-deadbeef").write_text("{}")
    lock = HostLock(tmp_path)
    assert lock.acquire("after a dead waiter", timeout=5) < 1
    lock.release()
    assert not any(queue.iterdir())
