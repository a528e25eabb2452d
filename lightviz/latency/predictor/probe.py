"""The host as it is now: a short probe of the kernel kinds, timed in place with each
calibration and again later, says how the host's speed has moved since, kind by kind.

A machine's speed moves under a calibration (FACTS.md: MobileNet v2 1.0 @ 160 at 1 thread took
9.6 ms and, an hour later with nothing else running, 13.7 ms; laptops throttle, Jetsons change
power modes, classrooms load the server), and not by one factor: a neighbour on the memory bus
slows depthwise convs, shuffles and activations more than dense convs, so a slowdown measured on
networks was 1.45x for ResNets and 1.7x for GhostNet and ShuffleNet v2. The probe is one fixed
kernel chain (:data:`PROBE`: a stem, 1x1, depthwise, grouped and 3x3 convs, a shuffle, a
concatenation, a residual add, pooling and squeeze-excite on a 160 px input; about 0.3 s with its
build) timed op by op in place with the protocol, under the host lock, and summed per group of
kinds (:data:`GROUPS`: dense convs, depthwise convs, elementwise ops, module calls). A
prediction made after a newer probe than the calibration's scales each kernel by its group's
ratio (now / at calibration, within 0.5-3x) when asked to (``scale_to_host``), and reports their
time-weighted mean either way. Torch-free here: the doors that can measure (``lightviz predict
--probe``, a calibration, the benchmark) run :func:`measure` and store the state; every
prediction reads it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable

from ...spec import ConvBNAct, Pool, Sequence, SqueezeExcite
from ..setup import Setup
from . import store
from .chains import Chain, Concat, Residual, Shuffled
from .kernels import with_times

# The groups of kinds a host's move is measured and applied by (every kind in one group).
GROUPS = {
    "dense": ("conv1x1", "convkxk", "gconv", "linear"),
    "depthwise": ("dwconv",),
    "elementwise": ("bn", "relu", "relu6", "hardsigmoid", "add", "mul", "cat", "shuffle", "pool", "avgpool",
                    "gap"),
    "calls": ("call",),
}
GROUP_OF = {kind: group for group, kinds in GROUPS.items() for kind in kinds}
PROBE = Chain(Sequence((
    ("stem", ConvBNAct(3, 24, 3, 2, act="relu6")),
    ("expand", ConvBNAct(24, 96, 1, act="relu6")),
    ("dw", ConvBNAct(96, 96, 3, 2, groups=96, act="relu6")),
    ("project", Residual(ConvBNAct(96, 96, 1, act=None))),
    ("group", Shuffled(ConvBNAct(96, 96, 1, groups=4), 4)),
    ("ghost", Concat(ConvBNAct(96, 96, 3, groups=96, act="relu"))),
    ("se", SqueezeExcite(192, 48)),
    ("pool", Pool("max", 3, 2, 1)),
    ("dense", ConvBNAct(192, 128, 3, act="relu")),
)), 160, -1)
BUDGET_S = 0.2
MAX_AGE_S = 15 * 60.0  # a host state older than this no longer scales a prediction
BOUNDS = (0.5, 3.0)


def measure(setup: Setup, lock_timeout: float = 2.0) -> dict[str, float] | None:
    """The probe's ms per group of kinds now (the protocol's per-op pass, under the host lock),
    stored as this setup's host state; None when the host stayed busy for ``lock_timeout``
    seconds. Imports torch."""
    from ..lab.lock import LockTimeout
    from ..lab.protocol import Bench

    bench = Bench()  # neither stored nor learnt from
    try:
        ms = time_on(bench, setup, lock_timeout)
    except LockTimeout:
        return None
    finally:
        bench.release()
    save_state(setup, ms)
    return ms


def time_on(bench, setup: Setup, lock_timeout: float | None = None, on_wait=None) -> dict[str, float]:
    """The probe's ms per group of kinds, timed by ``bench`` (a lab Bench) now; not stored."""
    from dataclasses import replace

    ops = bench.spec_op_times(PROBE.spec, PROBE.resolution, replace(setup, budget_s=BUDGET_S),
                              BUDGET_S, "host probe", on_wait=on_wait, lock_timeout=lock_timeout)
    return by_group((k.kind, t) for k, t in with_times(PROBE.kernels(setup.fold_bn), ops))


def state_path(setup: Setup) -> str:
    return os.path.join(store.setup_dir(setup), "host_state.json")


def save_state(setup: Setup, ms: dict[str, float]) -> None:
    store.write_json(state_path(setup), {"kind": "host state", "schema": store.SCHEMA,
                                         "host_key": store.host_key(setup.device), "at": time.time(),
                                         "load": store.load_1min(), "probe_ms": ms})


def load_state(setup: Setup) -> dict | None:
    return store.read_json(state_path(setup), store.host_key(setup.device), "host state")


def by_group(kind_ms: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Milliseconds summed per group of kinds (every group, 0 where none ran)."""
    ms = dict.fromkeys(GROUPS, 0.0)
    for kind, t in kind_ms:
        ms[GROUP_OF.get(kind, "elementwise")] += float(t)
    return ms


def ratios(at_calibration: dict[str, float], now: dict[str, float]) -> dict[str, float]:
    """The host's speed now against the calibration's, per group of kinds (now / then, within
    :data:`BOUNDS`); a group either probe lacks (an older probe's) is left out."""
    return {g: min(max(now[g] / at_calibration[g], BOUNDS[0]), BOUNDS[1]) for g in GROUPS
            if at_calibration.get(g, 0) > 0 and now.get(g, 0) > 0}


def mean_ratio(r: dict[str, float], weights: dict[str, float]) -> float:
    """One figure for a prediction: the groups' ratios' geometric mean weighted by ``weights``
    (the prediction's ms per group); 1 without ratios."""
    w = {g: weights.get(g, 0.0) for g in r}
    total = sum(w.values())
    if not r or total <= 0:
        return 1.0
    return math.exp(sum(w[g] * math.log(r[g]) for g in r) / total)


def factor(model: dict, setup: Setup, now: float | None = None) -> tuple[dict[str, float], dict | None]:
    """(each group's ratio a prediction of ``model`` may be scaled by, the host state it comes
    from): empty and None without a probe at calibration or a newer, recent host state."""
    cal = model.get("probe")
    state = load_state(setup) if cal else None
    now = time.time() if now is None else now
    if not cal or not state or state["at"] <= cal["at"] or now - state["at"] > MAX_AGE_S:
        return {}, None
    return ratios(cal["ms"], state["probe_ms"]), state
