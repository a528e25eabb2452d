"""CUDA-graph mode and cuDNN autotuning: the forward captured once and replayed.

After the eager warm-up, three calls run on a side stream (CUDA graphs require the capture's
allocations to be made off the default stream first), then ``model(x)`` is captured into a
``torch.cuda.CUDAGraph``; each replay reruns the recorded kernels on the same static input and
output tensors (PyTorch, "CUDA Graphs" in the CUDA semantics notes).
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
