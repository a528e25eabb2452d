"""Timing one kernel alone (:class:`~lightviz.latency.predictor.kernels.Kernel`), the way the
network runs it: the leaf module the builder makes for its row (:func:`lightviz.builder.module_for`)
or the flow operation (add, mul, cat, shuffle) the built network performs, on a random input of
its shapes, in the setup's device, dtype, batch and memory format, with the lab's timer.

Each kernel is warmed up (at least 2 calls and a fifth of its budget, as the protocol does for a
network) and timed for its budget, at least 5 runs; its median is what the kernel model learns.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ... import spec as S
from ...builder import module_for
from ..setup import MIN_RUNS, WARMUP_FRACTION, WARMUP_MIN, Setup
from .timing import DTYPES, Timer, stats, timed_runs, warm_up

LEAF_KINDS = ("conv1x1", "convkxk", "dwconv", "gconv", "linear", "bn", "relu", "relu6",
              "hardsigmoid", "pool", "gap", "call")


def _leaf(k) -> object:
    """The spec leaf of a leaf kernel (what the builder turns into its module)."""
    if k.kind in ("conv1x1", "convkxk", "dwconv", "gconv"):
        return S.Conv2d(k.c_in, k.c_out, k.k, k.stride, k.groups, k.bias)
    if k.kind == "linear":
        return S.Linear(k.c_in * k.h * k.w, k.c_out, k.bias)
    if k.kind == "bn":
        return S.BatchNorm(k.c_in)
    if k.kind in ("relu", "relu6", "hardsigmoid"):
        return S.Act(k.kind)
    if k.kind == "pool":
        return S.Pool("max" if k.op == "max_pool" else "avg", k.k, k.stride, k.pad)
    if k.kind == "gap":
        return S.Pool("global")
    raise ValueError(f"kernel kind {k.kind!r} is not a leaf")


def prepare(k, setup: Setup) -> Callable[[], object]:
    """The call that runs kernel ``k`` once, its module and inputs made and placed."""
    dtype, device, n = DTYPES[setup.dtype], setup.device, setup.batch
    fmt = torch.channels_last if setup.channels_last else torch.contiguous_format

    def tensor(c: int, h: int, w: int) -> torch.Tensor:
        x = torch.randn(n, c, h, w, dtype=dtype, device=device)
        return x.contiguous(memory_format=fmt) if h > 1 or w > 1 else x

    with torch.no_grad():
        if k.kind == "call":
            module = torch.nn.Identity()
            x = tensor(k.c_in, k.h, k.w)
            return lambda: module(x)
        if k.kind in LEAF_KINDS:
            module = module_for(_leaf(k)).to(device=device, dtype=dtype, memory_format=fmt).eval()
            x = tensor(k.c_in, k.h, k.w)
            if k.kind == "linear":
                x = x.reshape(n, -1)
            return lambda: module(x)
        if k.kind == "add":
            a, b = tensor(k.c_in, k.h, k.w), tensor(k.c_in, k.h, k.w)
            return lambda: a + b
        if k.kind == "mul":
            a, s = tensor(k.c_in, k.h, k.w), tensor(k.c_in, 1, 1)
            return lambda: a * s
        if k.kind == "cat":
            xs = [tensor(c, k.h, k.w) for c in k.parts]
            return lambda: torch.cat(xs, 1)
        if k.kind == "shuffle":
            x, g = tensor(k.c_in, k.h, k.w), k.groups
            c, h, w = k.c_in, k.h, k.w
            return lambda: x.view(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)
    raise ValueError(f"unknown kernel kind {k.kind!r}")


def time_kernel(k, setup: Setup, budget_s: float, timer: Timer | None = None) -> float:
    """The median milliseconds of kernel ``k`` alone (``budget_s`` seconds of warm-up and timed
    runs, at least :data:`~lightviz.latency.setup.MIN_RUNS`)."""
    timer = timer or Timer(setup.device)
    with torch.inference_mode():
        fn = prepare(k, setup)
        warm_up(timer, fn, WARMUP_MIN, WARMUP_FRACTION * budget_s)
        timed = timed_runs(timer, fn, (1 - WARMUP_FRACTION) * budget_s, MIN_RUNS, 10_000)
    return stats(timed.samples_ms).median
