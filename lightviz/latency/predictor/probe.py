"""The host as it is now: a short probe of three small networks, measured with each calibration
and again later, says how the host's speed has moved since.

A machine's speed moves under a calibration (FACTS.md: MobileNet v2 1.0 @ 160 at 1 thread took
9.6 ms and, an hour later with nothing else running, 13.7 ms; laptops throttle, Jetsons change
power modes, classrooms load the server). The probe measures three small networks of different
kinds (:data:`PROBE`; about a second in all, builds included) with the protocol, under the host
lock. A prediction made after a newer probe than the calibration's reports the geometric mean of
the networks' ratios (now / at calibration, within 0.5-3x). It is not applied: on this project's
machine, scaling predictions by it made every held-out set worse (benchmarks/predict_accuracy.py
--probe: the host's moves differ by network, and three small networks did not track the large
ones), so a prediction says how the host moved and leaves its number alone. Torch-free here:
the doors that can measure (``lightviz predict --probe``, a calibration) run :func:`measure` and
store the state; every prediction reads it.
"""

from __future__ import annotations

import math
import os
import time

from ..setup import Setup
from . import store

# Three small networks of different kinds (dense convs, depthwise and pointwise, split and
# shuffle), measured whole with the protocol: the host's speed as networks see it (three kernels
# timed alone tracked it badly: alone an op is up to 2.7x faster than in its network, and by
# how much moves with the host's state).
PROBE = {
    "resnet18 0.25x @ 64": ("resnet18", 0.25, 64),
    "mobilenet_v2 0.35x @ 96": ("mobilenet_v2", 0.35, 96),
    "shufflenet_v2 0.5x @ 96": ("shufflenet_v2", 0.5, 96),
}
BUDGET_S = 0.15  # per network
MAX_AGE_S = 15 * 60.0  # a host state older than this no longer scales a prediction
BOUNDS = (0.5, 3.0)


def measure(setup: Setup, lock_timeout: float = 2.0) -> dict[str, float] | None:
    """Each probe network's median ms now (the protocol, under the host lock), stored as this
    setup's host state; None when the host stayed busy for ``lock_timeout`` seconds. Imports
    torch."""
    from dataclasses import replace

    from ...configure import make_config
    from ..lab.lock import LockTimeout
    from ..lab.protocol import Bench

    bench = Bench()  # neither stored nor learnt from
    try:
        ms = {name: bench.run(make_config(a, alpha, resolution=r), replace(setup, budget_s=BUDGET_S),
                              lock_timeout=lock_timeout).median_ms
              for name, (a, alpha, r) in PROBE.items()}
    except LockTimeout:
        return None
    finally:
        bench.release()
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
    """The host's speed now against the calibration's: the geometric mean of the probe networks'
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
