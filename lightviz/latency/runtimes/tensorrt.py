"""``--runtime tensorrt``: NVIDIA TensorRT through its ``trtexec`` tool (JetPack ships it at
/usr/src/tensorrt/bin/trtexec).

The network is exported to ONNX (opset 17, :mod:`lightviz.exporter`), ``trtexec`` builds an
engine from it (the build is the cold call; the precision flags: :data:`PRECISION_FLAGS`), then
times the engine in its own loop: ``--warmUp`` a fifth of the budget, ``--duration`` the rest,
at least ``MIN_RUNS`` iterations, ``--useSpinWait``, no host transfers (``--noDataTransfers``),
and ``--exportTimes`` writes every iteration. lightviz's statistics are computed from those
per-iteration GPU compute times (``computeMs``), the same statistics as every other runtime;
trtexec's own "Performance summary" (GPU compute median and percentiles, throughput) is parsed
and kept beside them in the passport.

The output formats parsed here are trtexec's in TensorRT 8.6 and 10.x: a banner
``&&&& RUNNING TensorRT.trtexec [TensorRT v8601]`` (v100300 in 10.3: major, minor and patch
written as two digits each from 10 on), a ``TensorRT version: 8.6.1`` line, and the
"=== Performance summary ===" block whose lines read
``GPU Compute Time: min = a ms, max = b ms, mean = c ms, median = d ms, percentile(90%) = e ms,
percentile(95%) = f ms, percentile(99%) = g ms`` (TensorRT developer guide, "trtexec" /
"Performance summary"; TensorRT's samples/trtexec/README.md). ``--exportTimes`` writes a JSON array
of per-iteration records with ``computeMs``, ``latencyMs``, ``h2dMs`` and ``d2hMs``.

**Precision.** fp32 builds with no flag (TF32 where the GPU has it), fp16 with ``--fp16``, int8
with ``--int8`` on the QDQ ONNX graph ``lightviz export --dtype int8`` writes
(:mod:`lightviz.quantize`): the graph carries its own scales (explicit quantization), so trtexec
needs no calibration cache; ops left without Q/DQ run in fp32. The build log's ``Precision:``
line (``FP32+INT8``) is read back (:func:`parse_build`). int8 is refused on a GPU without an int8
path (:func:`lightviz.latency.runtimes.int8_refusal`: the Jetson Nano, compute 5.3).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time

from . import find_trtexec
from .base import Runtime

_BANNER = re.compile(r"\[TensorRT v(\d+)\]")
_VERSION = re.compile(r"TensorRT version:\s*([\d.]+)")
_METRIC = re.compile(r"\]\s*(Latency|Enqueue Time|H2D Latency|GPU Compute Time|D2H Latency):\s*(.*)$")
_FIELD = re.compile(r"(min|max|mean|median|percentile\((\d+(?:\.\d+)?)%\))\s*=\s*([\d.eE+-]+)\s*ms")
_THROUGHPUT = re.compile(r"Throughput:\s*([\d.eE+-]+)\s*qps")
_TOTAL = re.compile(r"Total (Host Walltime|GPU Compute Time):\s*([\d.eE+-]+)\s*s")
_CV = re.compile(r"coefficient of variance = ([\d.]+)%")
_PRECISION = re.compile(r"\]\s*Precision:\s*(\S+)")
_BUILT = re.compile(r"Engine built in ([\d.eE+-]+) sec")
_ENGINE_SIZE = re.compile(r"Created engine with size:\s*([\d.eE+-]+)\s*MiB")
PRECISION_FLAGS = {"fp32": [], "fp16": ["--fp16"], "int8": ["--int8"]}


def build_args(onnx_path: str, engine: str, device: int, dtype: str) -> list[str]:
    """trtexec's arguments to build an engine from ``onnx_path`` in ``dtype`` (fp32, fp16, int8
    on a QDQ graph: :data:`PRECISION_FLAGS`)."""
    if dtype not in PRECISION_FLAGS:
        raise ValueError(f"TensorRT builds fp32, fp16 or int8 engines, not {dtype}")
    return [f"--onnx={onnx_path}", f"--saveEngine={engine}", "--skipInference", f"--device={device}",
            *PRECISION_FLAGS[dtype]]


def parse_build(text: str) -> dict:
    """What an engine build's log says: ``precision`` (the Build Options' ``Precision:`` line,
    e.g. ``FP32+INT8``), ``build_s`` (``Engine built in``) and ``engine_mib`` (``Created engine
    with size``), each None where not printed."""
    out: dict = {}
    for key, rx, cast in (("precision", _PRECISION, str), ("build_s", _BUILT, float),
                          ("engine_mib", _ENGINE_SIZE, float)):
        m = rx.search(text)
        out[key] = cast(m.group(1)) if m else None
    return out


def banner_version(code: str) -> str:
    """The banner's ``NV_TENSORRT_VERSION`` as text: major x 1000 + minor x 100 + patch before
    TensorRT 10 (``8601`` -> ``8.6.1``), major x 10000 + minor x 100 + patch from 10 on
    (``100300`` -> ``10.3.0``)."""
    n = int(code)
    if n >= 100000:
        return f"{n // 10000}.{n // 100 % 100}.{n % 100}"
    return f"{n // 1000}.{n // 100 % 10}.{n % 100}"


def parse_trtexec(text: str) -> dict:
    """The version and the performance summary of a ``trtexec`` run's output: ``version``,
    ``throughput_qps``, and per metric (``gpu_compute``, ``latency``, ``enqueue``, ``h2d``,
    ``d2h``) ``min_ms``, ``max_ms``, ``mean_ms``, ``median_ms`` and ``p90_ms``/``p95_ms``/``p99_ms``
    as printed; ``total_host_walltime_s``, ``total_gpu_compute_s``, ``cv_percent`` where printed.
    ValueError (one line) when there is no "GPU Compute Time" line."""
    out: dict = {"version": None}
    m = _VERSION.search(text)
    if m:
        out["version"] = m.group(1)
    else:
        b = _BANNER.search(text)
        out["version"] = banner_version(b.group(1)) if b else None
    keys = {"Latency": "latency", "Enqueue Time": "enqueue", "H2D Latency": "h2d",
            "GPU Compute Time": "gpu_compute", "D2H Latency": "d2h"}
    summary = text.split("=== Performance summary ===")[-1]
    for line in summary.splitlines():
        mm = _METRIC.search(line)
        if mm:
            fields = {}
            for name, pct, value in _FIELD.findall(mm.group(2)):
                key = f"p{pct.rstrip('0').rstrip('.') if '.' in pct else pct}_ms" if pct else f"{name}_ms"
                fields[key] = float(value)
            out[keys[mm.group(1)]] = fields
    m = _THROUGHPUT.search(summary)
    out["throughput_qps"] = float(m.group(1)) if m else None
    for name, value in _TOTAL.findall(summary):
        out["total_host_walltime_s" if name.startswith("Host") else "total_gpu_compute_s"] = float(value)
    m = _CV.search(summary)
    if m:
        out["cv_percent"] = float(m.group(1))
    if "gpu_compute" not in out or "median_ms" not in out["gpu_compute"]:
        raise ValueError("trtexec's output has no 'GPU Compute Time' line in a performance "
                         "summary: the run failed or its format is not one lightviz reads")
    return out


def parse_times(text: str) -> list[float]:
    """Per-iteration GPU compute milliseconds from a ``--exportTimes`` JSON file."""
    return [float(r["computeMs"]) for r in json.loads(text) if isinstance(r, dict) and "computeMs" in r]


class TensorRT(Runtime):
    name = "tensorrt"
    own_loop = True
    timer_method = ("trtexec's per-iteration GPU compute time (--exportTimes computeMs: CUDA "
                    "events around each enqueue, no host transfers), spin-wait")

    def __init__(self):
        self.trtexec = find_trtexec()
        self._tmp = None
        self._engine = None
        self._summary: dict = {}
        self._version: str | None = None
        self._dtype = "fp32"
        self._build: dict = {}
        self._quantization: dict = {}
        self.build_ms: float | None = None

    def _run(self, args, timeout: float) -> str:
        proc = subprocess.run([self.trtexec, *args], capture_output=True, text=True, timeout=timeout)
        text = proc.stdout + proc.stderr
        if proc.returncode != 0:
            from ..setup import MeasurementError

            last = next((ln for ln in reversed(text.splitlines()) if "[E]" in ln), "no error line")
            raise MeasurementError(f"trtexec failed (exit {proc.returncode}): {last.strip()[:300]}")
        return text

    def prepare(self, model, x, setup):
        import torch

        from ...exporter import DEFAULT_OPSET, write_onnx

        self._tmp = tempfile.TemporaryDirectory(prefix="lightviz-trt-")
        onnx_path = os.path.join(self._tmp.name, "model.onnx")
        with torch.inference_mode(False), torch.no_grad():
            write_onnx(model.float(), x.float().clone(), onnx_path, DEFAULT_OPSET)
        self._dtype = setup.dtype
        if setup.dtype == "int8":  # the QDQ graph export --dtype int8 writes: no calibration cache
            onnx_path, self._quantization = _qdq(onnx_path, tuple(x.shape))
        self._engine = os.path.join(self._tmp.name, "model.engine")
        device = torch.device(setup.device).index or 0
        self._device_args = [f"--device={device}"]
        t0 = time.perf_counter()
        text = self._run(build_args(onnx_path, self._engine, device, setup.dtype), timeout=3600)
        self.build_ms = (time.perf_counter() - t0) * 1e3
        self._build = parse_build(text)
        b = _BANNER.search(text)
        v = _VERSION.search(text)
        self._version = v.group(1) if v else (banner_version(b.group(1)) if b else None)
        return lambda: None

    def timed(self, budget_s: float, min_runs: int, stop):
        from ..lab.timing import Timed
        from ..setup import WARMUP_FRACTION

        stop()
        times = os.path.join(self._tmp.name, "times.json")
        warm_ms = max(int(WARMUP_FRACTION * budget_s * 1e3), 1)
        duration = max(budget_s * (1 - WARMUP_FRACTION), 0.1)
        started = time.time()
        t0 = time.perf_counter()
        text = self._run([f"--loadEngine={self._engine}", *self._device_args, f"--warmUp={warm_ms}",
                          f"--duration={duration:g}", f"--iterations={min_runs}", "--useSpinWait",
                          "--noDataTransfers", "--percentile=90,95,99", f"--exportTimes={times}"],
                         timeout=budget_s * 10 + 120)
        elapsed = time.perf_counter() - t0
        self._summary = parse_trtexec(text)
        with open(times) as fh:
            samples = parse_times(fh.read())
        warm = int(re.search(r"Warmup completed (\d+) queries", text).group(1)) \
            if re.search(r"Warmup completed (\d+) queries", text) else 0
        return warm, Timed(samples, started, time.time(), elapsed)

    def version(self) -> dict:
        precision = {"fp16": "fp16", "int8": "int8, QDQ"}.get(self._dtype, "fp32/TF32")
        return {"name": "tensorrt", "version": self._version or self._summary.get("version"),
                "provider": f"trtexec ({precision})", "precision": self._dtype,
                "build_precision": self._build.get("precision"),
                "trtexec": self.trtexec, "engine_build_ms": self.build_ms,
                "trtexec_summary": self._summary,
                **({"quantization": dict(self._quantization)} if self._quantization else {})}

    def notes(self, setup) -> list:
        g = self._summary.get("gpu_compute", {})
        flags = " ".join(PRECISION_FLAGS.get(self._dtype, [])) or "no precision flag"
        int8 = (" (the int8 QDQ graph of lightviz export --dtype int8: its scales are in the graph, "
                "no calibration cache)") if self._dtype == "int8" else ""
        return [f"TensorRT {self._version} {self._dtype} engine built by trtexec ({flags}) from the "
                f"ONNX export{int8} in {(self.build_ms or 0) / 1e3:.1f} s (not the cold call); "
                f"trtexec's own GPU compute median {g.get('median_ms', float('nan')):.4g} ms, "
                f"p99 {g.get('p99_ms', float('nan')):.4g} ms"]

    def release(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _qdq(onnx_path: str, shape: tuple[int, ...]) -> tuple[str, dict]:
    """The int8 QDQ graph of the fp32 file (ONNX Runtime's quantizer, which needs onnxruntime)."""
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None:
        from . import INSTALL, RuntimeUnavailable

        raise RuntimeUnavailable("an int8 TensorRT engine is built from the QDQ graph ONNX Runtime's "
                                 f"quantizer writes, which needs onnxruntime: {INSTALL['onnxruntime']}")
    from .ort import quantized

    return quantized(onnx_path, shape, "input")


ADAPTER = TensorRT
