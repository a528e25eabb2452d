"""``--runtime torch``: eager PyTorch (the CUDA-graph mode is captured by the protocol, see
:mod:`lightviz.latency.lab.cudagraph`)."""

from __future__ import annotations

from .base import Runtime


class TorchEager(Runtime):
    name = "torch"

    def __init__(self):
        self._provider = "eager"

    def prepare(self, model, x, setup):
        self._provider = "CUDA graph" if setup.mode == "cudagraph" else "eager"

        def eager():
            return model(x)

        return eager

    def version(self) -> dict:
        import torch

        return {"name": "torch", "version": torch.__version__, "provider": self._provider}


ADAPTER = TorchEager
