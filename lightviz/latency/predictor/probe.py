"""The host as it is now: a short probe of fixed kernels, measured with each calibration and
again later, scales a prediction to the host's present speed.

A machine's speed moves under a calibration (FACTS.md: MobileNet v2 1.0 @ 160 at 1 thread took
9.6 ms and, an hour later with nothing else running, 13.7 ms; laptops throttle, Jetsons change
power modes, classrooms load the server). The probe times three kernels of different kinds (a
dense 3x3 conv, a depthwise conv, an elementwise op; well under a second in all) under the host
lock. A prediction made after a newer probe than the calibration's is scaled by the geometric
mean of the kernels' ratios (now / at calibration, within 0.5-3x) and says which host state it is
for. Torch-free here: the doors that can measure (``lightviz predict --probe``, the Latency page,
a calibration) run :func:`measure` and store the state; Explore reads it.
"""

from __future__ import annotations

import math
import os
import time

from ..setup import Setup
from . import store
from .kernels import Kernel

PROBE = {
    "dense conv": Kernel("convkxk", "conv2d", 64, 56, 56, 64, 56, 56, k=3, bias=True, pad=1),
    "depthwise conv": Kernel("dwconv", "conv2d", 144, 56, 56, 144, 56, 56, k=3, groups=144, bias=True,
                             pad=1),
    "elementwise": Kernel("relu", "relu", 96, 112, 112, 96, 112, 112),
}
BUDGET_S = 0.1  # per kernel
MAX_AGE_S = 15 * 60.0  # a host state older than this no longer scales a prediction
BOUNDS = (0.5, 3.0)


def measure(setup: Setup, lock_timeout: float = 2.0) -> dict[str, float] | None:
    """Each probe kernel's median ms now, under the host lock, stored as this setup's host
    state; None when the host stayed busy for ``lock_timeout`` seconds. Imports torch."""
    from ..lab.kernels import time_kernel
    from ..lab.lock import HostLock, LockTimeout

    try:
        with HostLock().hold(f"probe on {setup.label}", lock_timeout):
            ms = {name: time_kernel(k, setup, BUDGET_S) for name, k in PROBE.items()}
    except LockTimeout:
        return None
    save_state(setup, ms)
    return ms


def state_path(setup: Setup) -> str:
    return os.path.join(store.setup_dir(setup), "host_state.json")


def save_state(setup: Setup, ms: dict[str, float]) -> None:
    store.write_json(state_path(setup), {"kind": "host state", "schema": store.SCHEMA,
                                         "host_key": store.host_key(setup.device), "at": time.time(),
                                         "load": store.load_1min(), "probe_ms": ms})


def load_state(setup: Setup) -> dict | None:
    return store.read_json(state_path(setup), store.host_key(setup.device), "host state")


def ratio(at_calibration: dict[str, float], now: dict[str, float]) -> float:
    """The host's speed now against the calibration's: the geometric mean of the probe kernels'
    time ratios, within :data:`BOUNDS`."""
    logs = [math.log(now[k] / at_calibration[k]) for k in PROBE
            if at_calibration.get(k, 0) > 0 and now.get(k, 0) > 0]
    if not logs:
        return 1.0
    return min(max(math.exp(sum(logs) / len(logs)), BOUNDS[0]), BOUNDS[1])


def factor(model: dict, setup: Setup, now: float | None = None) -> tuple[float, dict | None]:
    """(the factor a prediction of ``model`` is scaled by, the host state it comes from): 1 and
    None without a probe at calibration or a newer, recent host state."""
    cal = model.get("probe")
    state = load_state(setup) if cal else None
    now = time.time() if now is None else now
    if not cal or not state or state["at"] <= cal["at"] or now - state["at"] > MAX_AGE_S:
        return 1.0, None
    return ratio(cal["ms"], state["probe_ms"]), state
