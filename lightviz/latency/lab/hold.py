"""How long will a measurement hold the host? Refuse it before it queues when that is too long.

The protocol forces some calls whatever the budget: the cold call, at least
:data:`~lightviz.latency.setup.WARMUP_MIN` warm-up calls and at least
:data:`~lightviz.latency.setup.MIN_RUNS` timed runs (CUDA-graph mode adds a warm-up on a side
stream and the capture; the per-layer pass adds its own whole-network run and at least three
instrumented passes per level, after one discarded pass). A ResNet-50 2x at 512 px with batch 64
makes each of them a minute on a small CPU, so a measurement would hold everyone else's queue
for a quarter of an hour however small its budget.

**The estimate** (deliberately optimistic, so only what is surely too long is refused):
seconds per call = MACs per image x batch / the device's rate, where the rate is twice that of
a large matrix product on this device in the measured dtype (a probe of a few milliseconds, best
of five, once per process, device and dtype, scaled to the thread count; doubled so that a
moment of load during the probe does not refuse what would fit): convolutions seldom run faster than a matmul of the
same precision, and the memory-bound layers (depthwise, BN, activations) only slow the network
further. On this project's 2-core host the matmul runs at about 100 GMAC/s, ResNet-50 at about
20. The time budget (chosen by the caller) and a Jetson energy run (likewise) are not counted:
the limit guards the time a configuration forces, not the time asked for.

**The limit** is ``$LIGHTVIZ_MAX_HOLD_S`` seconds (default 60; ``inf`` turns it off). A
measurement whose estimate exceeds it is refused with :class:`HoldRefused` (a ``ValueError``:
the CLI exits 2, the app shows the line) before it waits for the lock.

The probe runs outside the lock (a refusal must not wait in the queue), which costs whoever is
measuring at that moment a few milliseconds once per process; it is cached per (device, dtype)
and changes no process-wide setting (thread count, TF32).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ...config import Config
from ...counting import count
from ...units import fmt_seconds
from ..setup import MIN_RUNS, WARMUP_MIN, Setup

ENV_LIMIT = "LIGHTVIZ_MAX_HOLD_S"
DEFAULT_LIMIT_S = 60.0
CAPTURE_CALLS = 4          # _capture: three eager calls on a side stream, then the capture
LAYER_PASSES = 3 + 1       # layers.MIN_PASSES instrumented passes after one discarded pass
GENEROSITY = 2.0           # the rate assumed: this many times the probe's matmul rate

_rates: dict[tuple[str, str], tuple[float, int]] = {}  # (device, dtype) -> (MACs/s, threads)


class HoldRefused(ValueError):
    """The measurement would hold the host longer than ``$LIGHTVIZ_MAX_HOLD_S``."""


def max_hold_s() -> float:
    """The limit from ``$LIGHTVIZ_MAX_HOLD_S`` (default 60 s); ValueError naming the variable
    when it is not a positive number of seconds."""
    raw = os.environ.get(ENV_LIMIT, "").strip()
    if not raw:
        return DEFAULT_LIMIT_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:  # also catches nan
        raise ValueError(f"{ENV_LIMIT}={raw!r} is not a positive number of seconds "
                         f"(default {DEFAULT_LIMIT_S:g}; inf turns the limit off)")
    return value


def device_rate(device: str, dtype: str, threads: int | None = None) -> float:
    """MACs per second of a large matrix product on ``device`` in ``dtype`` with ``threads``
    CPU threads: the best of five runs, measured once per process at torch's current thread
    count (setting threads is process-wide, and a measurement may be running in another of the
    app's sessions) and scaled linearly to ``threads``, which only flatters a larger count."""
    key = (device, dtype)
    if key not in _rates:
        _rates[key] = _probe(device, dtype)
    rate, probed_threads = _rates[key]
    if device.split(":")[0] == "cpu" and threads:
        rate *= threads / probed_threads
    return rate


def _probe(device: str, dtype: str) -> tuple[float, int]:
    """(MACs/s, threads used) of an n x n x n matmul: n = 1024 on a CPU, 4096 on a GPU. On CUDA
    an fp32 network's convolutions run in TF32 (cuDNN's default), so fp32 is probed in fp16,
    whose tensor-core rate bounds TF32's from above; no global switch is touched."""
    import torch

    from .timing import Timer, build_dtype

    kind = device.split(":")[0]
    n = 1024 if kind == "cpu" else 4096
    dt = build_dtype("fp16" if kind == "cuda" and dtype == "fp32" else dtype)
    timer = Timer(device)
    with torch.inference_mode():
        a = torch.randn(n, n, device=device).to(dt)
        b = torch.randn(n, n, device=device).to(dt)
        torch.mm(a, b)
        timer.sync()
        best = min(timer.time(lambda: torch.mm(a, b)) for _ in range(5))
    return n**3 / max(best * 1e-3, 1e-9), torch.get_num_threads()


@dataclass(frozen=True)
class Hold:
    """A measurement's forced hold of the host: ``calls`` calls of ``per_call_s`` seconds."""

    label: str
    batch: int
    calls: int
    macs_per_call: float
    rate: float  # MACs per second
    device: str
    dtype: str
    threads: int | None

    @property
    def per_call_s(self) -> float:
        return self.macs_per_call / self.rate

    @property
    def seconds(self) -> float:
        return self.calls * self.per_call_s

    def describe(self) -> str:
        n = self.threads
        th = f" with {n} thread{'s' if n != 1 else ''}" if n else ""
        return (f"{self.calls} calls the protocol needs whatever the budget, of at least "
                f"{fmt_seconds(self.per_call_s)} each: {self.macs_per_call / 1e9:.3g} G MACs per "
                f"call at {self.rate / 1e9:.3g} G MAC/s, {GENEROSITY:g}x the rate of a large "
                f"{self.dtype} matmul on this {self.device}{th}, more than a network reaches")


def forced_calls(setup: Setup, whole: bool = True, layers: bool = False) -> int:
    """Calls of the network the protocol makes whatever the budget: the whole-network
    measurement (cold call, warm-up, timed runs; a CUDA graph's warm-up and capture), and the
    per-layer pass (its whole-network run, eager or a CUDA graph, then the blocks and the ops
    passes)."""
    graph = setup.mode == "cudagraph"
    calls = 0
    if whole:
        calls += 1 + WARMUP_MIN + MIN_RUNS + (CAPTURE_CALLS if graph else 0)
    if layers:
        calls += WARMUP_MIN + MIN_RUNS + 2 * LAYER_PASSES
        if not whole:  # the model is prepared, with its cold call (and a graph its capture)
            calls += 1 + (CAPTURE_CALLS if graph and setup.runtime == "torch" else 0)
        elif setup.runtime != "torch":
            calls += 1  # a new signature: eager PyTorch is prepared, with its cold call
    return calls


def estimate_hold(cfg: Config, setup: Setup, whole: bool = True, layers: bool = False,
                  rate: float | None = None) -> Hold:
    """The forced hold of measuring ``cfg`` with ``setup`` (see the module doc); ``rate``
    (MACs/s) replaces the probe."""
    if rate is None:
        rate = GENEROSITY * device_rate(setup.device, setup.dtype, setup.threads)
    return Hold(cfg.label, setup.batch, forced_calls(setup, whole, layers),
                float(count(cfg).macs) * setup.batch, rate, setup.device, setup.dtype,
                setup.threads)


def check_hold(cfg: Config, setup: Setup, whole: bool = True, layers: bool = False,
               limit_s: float | None = None, rate: float | None = None) -> Hold | None:
    """The estimate (None when the limit is off), or :class:`HoldRefused` (one line: the limit, the estimate, what to
    change) when it exceeds ``limit_s`` (default ``$LIGHTVIZ_MAX_HOLD_S``, 60 s)."""
    limit = max_hold_s() if limit_s is None else limit_s
    if math.isinf(limit):
        return None
    hold = estimate_hold(cfg, setup, whole, layers, rate)
    if hold.seconds > limit:
        what = "with its per-layer pass " if layers else ""
        raise HoldRefused(
            f"refused: measuring {cfg.label} at batch {setup.batch} {what}would hold this host "
            f"for at least {fmt_seconds(hold.seconds)} ({hold.describe()}), over the limit of "
            f"{limit:g} s ({ENV_LIMIT}): lower the batch, the resolution or alpha, or raise "
            f"{ENV_LIMIT}")
    return hold
