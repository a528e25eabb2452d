"""The latency lab: honest live latency of a configuration on this host (CPU, CUDA, MPS), per
layer beside the MACs, with a passport of the machine, Jetson energy from its power rails, and
one measurement at a time per host.

    from lightviz import make_config
    from lightviz.latency import make_setup, measure

    r = measure(make_config("mobilenet_v2", 0.5, resolution=160), make_setup("cpu", threads=4))
    r.median_ms, r.p10_ms, r.p90_ms, r.iqr_ms, r.runs, r.throughput_ips, r.warnings

The wing is laid out by job:

- :mod:`.setup`: what to measure on (:class:`Setup`, :func:`make_setup`, the shared command
  options); torch-free ground that the rest stands on.
- :mod:`.lab`: measures now (the protocol, timers, per-layer times, the host lock, memory and
  hold checks); it keeps nothing: results leave through a listener each door wires.
- :mod:`.host`: what the machine is (passport, Jetson release and clocks, power rails, energy).
- :mod:`.predictor`: latency predicted from stored measurements: the kernel model (a network's
  kernels, timed in place in calibration networks, summed), the host probe, the store, the
  calibration campaign.
- :mod:`.runtimes`: one adapter per runtime (torch, torch-compile, onnxruntime, tensorrt).
- The commands: :mod:`.cli` (``lightviz bench``, ``lightviz export``) and :mod:`.model_cli`
  (``lightviz calibrate``, ``lightviz predict``).

Importing this package does not import torch: the names that need it (``Bench``, ``measure``,
``Result``, ...) load their module on first use.
"""

from __future__ import annotations

import importlib

from .setup import MODES, MeasurementError, OutOfMemory, Setup, Stopped, available_devices, dtype_support, make_setup

_LAZY = {
    "DTYPES": ".lab.timing", "Bench": ".lab.protocol", "Result": ".lab.result",
    "measure": ".lab.protocol", "sweep": ".lab.protocol",
    "HostLock": ".lab.lock", "LockTimeout": ".lab.lock", "QueueStatus": ".lab.lock",
    "MemoryRefused": ".lab.memory", "check_fits": ".lab.memory", "estimate": ".lab.memory",
    "HoldRefused": ".lab.hold", "check_hold": ".lab.hold", "estimate_hold": ".lab.hold",
    # the latency model (torch-free): predicted latency on this host
    "predict": ".predictor.model", "Prediction": ".predictor.model",
    "NotCalibrated": ".predictor.model", "learn": ".predictor.model",
    "measured": ".predictor.store",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DTYPES", "MODES", "Bench", "HoldRefused", "HostLock", "LockTimeout",
           "MeasurementError", "MemoryRefused", "NotCalibrated", "OutOfMemory", "Prediction",
           "QueueStatus", "Result", "Setup", "Stopped", "available_devices", "check_fits",
           "check_hold", "dtype_support", "estimate", "estimate_hold", "make_setup", "measure",
           "learn", "measured", "predict", "sweep"]
