"""The latency lab: honest live latency of a configuration on this host (CPU, CUDA, MPS), per
layer beside the MACs, with a passport of the machine, Jetson energy from its power rails, and
one measurement at a time per host.

    from lightviz import make_config
    from lightviz.latency import make_setup, measure

    r = measure(make_config("mobilenet_v2", 0.5, resolution=160), make_setup("cpu", threads=4))
    r.median_ms, r.p10_ms, r.p90_ms, r.iqr_ms, r.runs, r.throughput_ips, r.warnings

Modules: :mod:`.setup` (what to measure on, checked; torch-free), :mod:`.protocol` (the
measurement protocol, :class:`Bench`, sweeps), :mod:`.timing` (synchronised per-iteration timers
and statistics), :mod:`.layers` (per-block / per-op times, intensity, roofline), :mod:`.lock`
(the host lock), :mod:`.memory` (will it fit?), :mod:`.hold` (will it hold the host too long?),
:mod:`.oom`, :mod:`.cudagraph`, :mod:`.remarks` (warnings and notes of a result),
:mod:`.passport`, :mod:`.jetson` (release, power mode, ``jetson_clocks``, thermal zones),
:mod:`.jetson_power` (INA3221 rails, the module total, energy per image), :mod:`.sysfs` (the
configurable root), :mod:`.cli` (``lightviz bench``); the latency model: :mod:`.store`
(measurements and models on disk, keyed by the passport), :mod:`.features`, :mod:`.model`
(``predict``), :mod:`.calibrate`, :mod:`.model_cli` (``lightviz calibrate``, ``lightviz predict``).

Importing this package does not import torch: the names that need it (``Bench``, ``measure``,
``Result``, ...) load :mod:`.protocol` on first use.

Runtimes: :mod:`.runtimes` has one adapter per runtime (torch, torch-compile, onnxruntime,
tensorrt) behind one interface; ``Setup.runtime`` picks one, and ``lightviz bench --runtime``
and ``lightviz export`` (:mod:`lightviz.exporter`) are in :mod:`.cli`.
"""

from __future__ import annotations

import importlib

from .setup import MODES, MeasurementError, OutOfMemory, Setup, Stopped, available_devices, dtype_support, make_setup

_LAZY = {
    "DTYPES": ".protocol", "Bench": ".protocol", "Result": ".protocol", "measure": ".protocol",
    "sweep": ".protocol", "HostLock": ".lock", "LockTimeout": ".lock", "QueueStatus": ".lock",
    "MemoryRefused": ".memory", "check_fits": ".memory", "estimate": ".memory",
    "HoldRefused": ".hold", "check_hold": ".hold", "estimate_hold": ".hold",
    # the latency model (torch-free): predicted latency on this host
    "predict": ".model", "Prediction": ".model", "NotCalibrated": ".model",
    "measured": ".store",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DTYPES", "MODES", "Bench", "HoldRefused", "HostLock", "LockTimeout",
           "MeasurementError", "MemoryRefused", "NotCalibrated", "OutOfMemory", "Prediction",
           "QueueStatus", "Result", "Setup", "Stopped", "available_devices", "check_fits",
           "check_hold", "dtype_support", "estimate", "estimate_hold", "make_setup", "measure",
           "measured", "predict", "sweep"]
