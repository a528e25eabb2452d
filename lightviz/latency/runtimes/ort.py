"""``--runtime onnxruntime``: the network exported to ONNX (opset 17, as ``lightviz export``
writes it: :mod:`lightviz.exporter`) and run in an ONNX Runtime ``InferenceSession``.

Session settings, as a latency-minded deployment sets them
(https://onnxruntime.ai/docs/performance/tune-performance/threading.html):
``intra_op_num_threads`` = the measurement's thread count, ``inter_op_num_threads`` = 1,
sequential execution, all graph optimisations (``ORT_ENABLE_ALL``: constant folding, conv
fusions, layout transforms). Providers: the CPU execution provider on ``cpu``; on ``cuda`` the
CUDA execution provider (``onnxruntime-gpu``), the input and output bound on the GPU
(``io_binding``) so that no host copy is timed. ``run`` returns when the outputs are ready, so
each call is timed with ``time.perf_counter``.

``--dtype int8``: the fp32 export quantized by ONNX Runtime's static quantization exactly as
``lightviz export --dtype int8`` writes it by default (QDQ, per-channel int8 weights, 16 random
calibration inputs from seed 0: :mod:`lightviz.quantize`), then run like the fp32 file (the CPU
provider fuses each QuantizeLinear/DequantizeLinear pair into its int8 kernels). Quantizing takes
seconds, so the quantized file is kept in this process, keyed by the fp32 file's digest
(:data:`CACHE_SIZE` networks): measuring the same network again does not quantize it again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import OrderedDict

from .base import Runtime

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
CACHE_SIZE = 8
_QUANTIZED: OrderedDict[str, tuple[bytes, dict]] = OrderedDict()  # fp32 digest -> (int8 file, metadata)


def quantized(path: str, shape: tuple[int, ...], input_name: str) -> tuple[str, dict]:
    """The int8 file beside the fp32 ONNX file ``path`` (``int8.onnx`` in its folder) and its
    quantization metadata; from the process's cache when the same fp32 file was quantized before."""
    from ...quantize import quantize_onnx

    with open(path, "rb") as fh:
        key = hashlib.sha256(fh.read()).hexdigest() + repr(tuple(shape))
    out = os.path.join(os.path.dirname(path), "int8.onnx")
    if key in _QUANTIZED:
        _QUANTIZED.move_to_end(key)
        data, meta = _QUANTIZED[key]
        with open(out, "wb") as fh:
            fh.write(data)
        return out, meta
    meta = quantize_onnx(path, out, input_name, tuple(shape))
    with open(out, "rb") as fh:
        _QUANTIZED[key] = (fh.read(), meta)
    while len(_QUANTIZED) > CACHE_SIZE:
        _QUANTIZED.popitem(last=False)
    return out, meta


class OnnxRuntime(Runtime):
    name = "onnxruntime"
    wall_clock = True
    timer_method = "time.perf_counter around each InferenceSession.run (it returns when the outputs are ready)"

    def __init__(self):
        self.session = None
        self._binding = None
        self._providers = []
        self._opset = None
        self._quantization: dict = {}

    def prepare(self, model, x, setup):
        import onnxruntime as ort
        import torch

        from ...exporter import DEFAULT_OPSET, onnx_opset, write_onnx

        kind = setup.device.split(":")[0]
        provider = PROVIDERS[kind]
        if provider not in ort.get_available_providers():
            from . import RuntimeUnavailable

            raise RuntimeUnavailable(
                f"onnxruntime {ort.__version__} here has no {provider} (it has "
                f"{', '.join(ort.get_available_providers())}): pip install onnxruntime-gpu for CUDA")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(setup.threads or torch.get_num_threads())
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        with tempfile.TemporaryDirectory(prefix="lightviz-ort-") as tmp:
            path = os.path.join(tmp, "model.onnx")
            with torch.inference_mode(False), torch.no_grad():
                write_onnx(model, x.clone(), path, DEFAULT_OPSET)
            self._opset = onnx_opset(path)
            if setup.dtype == "int8":
                path, self._quantization = quantized(path, tuple(x.shape), "input")
            index = torch.device(setup.device).index or 0
            providers = ([provider] if kind == "cpu" else
                         [(provider, {"device_id": index}), "CPUExecutionProvider"])
            self.session = sess = ort.InferenceSession(path, opts, providers=providers)
        self._providers = sess.get_providers()
        name = sess.get_inputs()[0].name
        if kind == "cpu":
            feed = {name: x.contiguous().numpy()}

            def run():
                return sess.run(None, feed)

            return run
        binding = sess.io_binding()
        xc = x.contiguous()
        binding.bind_input(name, "cuda", xc.device.index or 0, _numpy_dtype(xc), tuple(xc.shape), xc.data_ptr())
        binding.bind_output(sess.get_outputs()[0].name, "cuda", xc.device.index or 0)

        self.needs_sync, self._binding = True, binding

        def run_bound():
            sess.run_with_iobinding(binding)
            return binding

        return run_bound

    def sync(self) -> None:
        if self._binding is not None:
            self._binding.synchronize_outputs()

    def version(self) -> dict:
        import onnxruntime as ort

        return {"name": "onnxruntime", "version": ort.__version__,
                "provider": self._providers[0] if self._providers else None,
                "providers": list(self._providers), "opset": self._opset,
                "graph_optimization": "ORT_ENABLE_ALL",
                "precision": "int8" if self._quantization else None,
                **({"quantization": dict(self._quantization)} if self._quantization else {})}

    def notes(self, setup) -> list:
        q = self._quantization
        int8 = (f" and quantized to int8 (static QDQ, per-channel weights, calibrated on "
                f"{q.get('calibration')})") if q else ""
        notes = [f"ONNX Runtime ran the network exported to ONNX (opset {self._opset}){int8}, "
                 f"{(self._providers or ['?'])[0]}, all graph optimisations, "
                 f"{setup.threads} intra-op thread(s)"]
        if not setup.fold_bn:
            notes.append("the ONNX graph kept its BatchNormalization nodes, but ONNX Runtime "
                         "fuses them into the convs when it loads the graph: unfolded BN costs "
                         "little here")
        return notes

    def release(self) -> None:
        self.session = self._binding = None


def _numpy_dtype(x):
    import numpy as np

    return {"torch.float32": np.float32, "torch.float16": np.float16}.get(str(x.dtype), np.float32)


ADAPTER = OnnxRuntime
