"""``--runtime torch-compile``: ``torch.compile(model)`` with the inductor backend, fixed shapes
(``dynamic=False``), default mode. Inductor generates C++/OpenMP kernels on a CPU (hence the C++
compiler it needs) and Triton kernels on a GPU
(https://docs.pytorch.org/docs/stable/torch.compiler.html).

The first call compiles: it is the cold call of the result, reported apart (tens of seconds on a
small CPU). Dynamo's caches are reset before each network and on release: every lightviz unit
runs through the same ``FlowModule.forward``, and after ``torch._dynamo.config.cache_size_limit``
recompilations of one code object dynamo would silently fall back to eager.
"""

from __future__ import annotations

from . import find_compiler
from .base import Runtime


class TorchCompile(Runtime):
    name = "torch-compile"

    def __init__(self):
        self._backend = "inductor"
        self._kind = "cpu"

    def prepare(self, model, x, setup):
        import torch

        torch._dynamo.reset()
        self._kind = setup.device.split(":")[0]
        compiled = torch.compile(model, backend=self._backend, dynamic=False)

        def call():
            return compiled(x)

        return call

    def version(self) -> dict:
        import torch

        codegen = "C++/OpenMP" if self._kind == "cpu" else "Triton"
        out = {"name": "torch-compile", "version": torch.__version__,
               "provider": f"inductor ({codegen})"}
        if self._kind == "cpu":
            out["compiler"] = find_compiler()
        return out

    def notes(self, setup) -> list:
        return ["torch.compile (inductor, fixed shapes): the first call compiled the network and "
                "is reported apart as the cold call"]

    def release(self) -> None:
        import torch

        torch._dynamo.reset()


ADAPTER = TorchCompile
