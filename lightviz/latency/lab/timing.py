"""Per-iteration timing with the device synchronised, and the statistics of a sample.

* CPU: ``time.perf_counter`` around the call; CPU kernels return when their work is done.
* CUDA: a pair of ``torch.cuda.Event`` recorded on the current stream around the call, and the
  end event synchronised after every iteration, so each sample is one complete inference
  (the next one starts from an idle GPU, as a request-at-a-time deployment does).
* MPS: ``time.perf_counter`` around the call followed by ``torch.mps.synchronize()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..setup import Stopped

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def build_dtype(name: str):
    """The torch dtype the network is built in for a setup's dtype: int8 is built in fp32, which
    the runtime (ONNX Runtime, TensorRT) quantizes itself (:mod:`lightviz.quantize`)."""
    return torch.float32 if name == "int8" else DTYPES[name]


class Timer:
    """Times one call of a function on a device, synchronised; milliseconds."""

    def __init__(self, device: str):
        self.device = device
        self.kind = device.split(":")[0]
        if self.kind == "cuda":
            self._start = torch.cuda.Event(enable_timing=True)
            self._end = torch.cuda.Event(enable_timing=True)
            self.method = "CUDA events around each iteration, synchronised after each"
        elif self.kind == "mps":
            self.method = "time.perf_counter with torch.mps.synchronize() after each iteration"
        else:
            self.method = "time.perf_counter around each iteration (CPU work is synchronous)"

    def sync(self) -> None:
        if self.kind == "cuda":
            torch.cuda.synchronize(self.device)
        elif self.kind == "mps":
            torch.mps.synchronize()

    def time(self, fn: Callable[[], object]) -> float:
        if self.kind == "cuda":
            self._start.record()
            fn()
            self._end.record()
            self._end.synchronize()
            return self._start.elapsed_time(self._end)
        t0 = time.perf_counter()
        fn()
        if self.kind == "mps":
            torch.mps.synchronize()
        return (time.perf_counter() - t0) * 1e3

    def wall(self, fn: Callable[[], object]) -> float:
        """Wall-clock milliseconds of one call including the synchronisation (the cold call:
        it includes host-side work such as cuDNN autotuning that events would not see)."""
        self.sync()
        t0 = time.perf_counter()
        fn()
        self.sync()
        return (time.perf_counter() - t0) * 1e3


class StopCheck:
    """Between iterations, asks ``should_stop()`` (at most every ``every_s`` seconds) whether
    the caller has withdrawn, e.g. closed the page; a true answer (a reason) raises
    :class:`~lightviz.latency.setup.Stopped` naming the phase it stopped in."""

    def __init__(self, should_stop: Callable[[], object] | None = None, every_s: float = 0.05):
        self.should_stop = should_stop
        self.every_s = every_s
        self.phase = ""
        self._next = 0.0

    def __call__(self) -> None:
        if self.should_stop is None:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.every_s
        reason = self.should_stop()
        if reason:
            why = reason if isinstance(reason, str) else "the caller withdrew"
            where = f" during {self.phase}" if self.phase else ""
            raise Stopped(f"measurement stopped{where}: {why}; nothing was recorded")


def no_stop() -> None:
    return None


def warm_up(timer: Timer, fn: Callable[[], object], min_iters: int, seconds: float,
            max_iters: int = 10_000, stop: Callable[[], None] = no_stop) -> int:
    """Run ``fn`` synchronised at least ``min_iters`` times and for at least ``seconds``;
    return the number of calls. ``stop()`` runs before each call (it raises to stop)."""
    t0 = time.perf_counter()
    n = 0
    while n < max_iters and (n < min_iters or time.perf_counter() - t0 < seconds):
        stop()
        fn()
        timer.sync()
        n += 1
    return n


@dataclass(frozen=True)
class Timed:
    samples_ms: list[float]
    started_at: float   # epoch seconds, just before the first timed run
    finished_at: float  # epoch seconds, just after the last timed run
    elapsed_s: float


def timed_runs(timer: Timer, fn: Callable[[], object], budget_s: float, min_runs: int,
               max_runs: int, stop: Callable[[], None] = no_stop) -> Timed:
    """Time ``fn`` one iteration at a time until the next run would pass ``budget_s``
    (predicted from the median of the last 9 runs), with at least ``min_runs`` runs: the
    elapsed time exceeds the budget by at most one run's deviation from that median, unless
    ``min_runs`` runs alone take longer. ``stop()`` runs between runs, outside the timed call."""
    samples: list[float] = []
    append = samples.append
    started_at = time.time()
    t0 = time.perf_counter()
    while True:
        stop()
        append(timer.time(fn))
        n = len(samples)
        if n >= max_runs:
            break
        if n >= min_runs:
            recent = sorted(samples[-9:])
            if time.perf_counter() - t0 + recent[len(recent) // 2] / 1e3 > budget_s:
                break
    elapsed = time.perf_counter() - t0
    return Timed(samples, started_at, time.time(), elapsed)


@dataclass(frozen=True)
class Stats:
    median: float
    p10: float
    p90: float
    q1: float
    q3: float
    mean: float
    min: float
    max: float
    runs: int

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def spread(self) -> float:
        """IQR as a fraction of the median."""
        return self.iqr / self.median if self.median > 0 else float("inf")


def stats(samples: Sequence[float]) -> Stats:
    a = np.asarray(samples, dtype=np.float64)
    p10, q1, med, q3, p90 = np.percentile(a, [10, 25, 50, 75, 90])
    return Stats(float(med), float(p10), float(p90), float(q1), float(q3), float(a.mean()),
                 float(a.min()), float(a.max()), int(a.size))
