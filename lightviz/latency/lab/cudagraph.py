"""CUDA-graph mode and cuDNN autotuning: the forward captured once and replayed.

After the eager warm-up, three calls run on a side stream (CUDA graphs require the capture's
allocations to be made off the default stream first), then ``model(x)`` is captured into a
``torch.cuda.CUDAGraph``; each replay reruns the recorded kernels on the same static input and
output tensors (PyTorch, "CUDA Graphs" in the CUDA semantics notes).

**A graph's kernels one by one.** A replay launches its kernels back to back, without the CPU's
launch gaps that eager mode leaves between them, so a kernel calibration for a CUDA graph needs
each kernel's time on the device alone. :func:`gpu_busy` keeps the GPU spinning
(``torch.cuda._sleep``, so many clock cycles) while the CPU launches the next part behind it:
the part's kernels then run back to back, and the CUDA events around them time the kernels, not
the gap before them (:class:`lightviz.latency.lab.layers._Probe` with ``device_time``).
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import torch

from .oom import is_oom
from .timing import Timer


@contextmanager
def cudnn_benchmark(on: bool):
    """``torch.backends.cudnn.benchmark = on`` for the block, restored afterwards."""
    old = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = on
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = old


_CYCLES_PER_MS: dict[str, float] = {}


def gpu_busy(device: str, ms: float) -> None:
    """Enqueue about ``ms`` milliseconds of spinning on ``device``'s current stream (returns at
    once: what the CPU launches next waits behind it)."""
    rate = _CYCLES_PER_MS.get(device)
    if rate is None:
        rate = _CYCLES_PER_MS[device] = _cycles_per_ms(device)
    with torch.cuda.device(device):
        torch.cuda._sleep(max(int(rate * ms), 1))


def _cycles_per_ms(device: str, cycles: int = 1_000_000) -> float:
    """The spin's clock cycles per millisecond on ``device``, timed once with CUDA events."""
    with torch.cuda.device(device):
        torch.cuda._sleep(cycles)  # the first call loads the kernel
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        torch.cuda._sleep(cycles)
        end.record()
        end.synchronize()
        return cycles / max(start.elapsed_time(end), 1e-3)


def capture(model, x, timer: Timer):
    """Capture ``model(x)`` into a CUDA graph (warm-up on a side stream first, as CUDA graphs
    require); return (capture ms, graph, replay function)."""
    stream = torch.cuda.Stream(device=x.device)
    stream.wait_stream(torch.cuda.current_stream(x.device))
    with torch.cuda.stream(stream):
        for _ in range(3):
            model(x)
    torch.cuda.current_stream(x.device).wait_stream(stream)
    timer.sync()
    t0 = time.perf_counter()
    try:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = model(x)
    except RuntimeError as exc:
        if is_oom(exc):
            raise
        # Some builds refuse to capture under inference_mode: capture under no_grad instead
        # (nothing is recorded for autograd either way).
        timer.sync()
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(False), torch.no_grad(), torch.cuda.graph(graph):
            static_out = model(x)
    timer.sync()
    capture_ms = (time.perf_counter() - t0) * 1e3

    def replay():
        graph.replay()
        return static_out

    return capture_ms, graph, replay
