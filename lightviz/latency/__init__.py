"""The latency lab: honest live latency of a configuration on this host (CPU, CUDA, MPS), per
layer beside the MACs, with a passport of the machine, Jetson energy from its power rails, and
one measurement at a time per host.

    from lightviz import make_config
    from lightviz.latency import make_setup, measure

    r = measure(make_config("mobilenet_v2", 0.5, resolution=160), make_setup("cpu", threads=4))
    r.median_ms, r.p10_ms, r.p90_ms, r.iqr_ms, r.runs, r.throughput_ips, r.warnings

Modules: :mod:`.protocol` (the measurement protocol, :class:`Bench`, sweeps), :mod:`.timing` (synchronised
per-iteration timers and statistics), :mod:`.layers` (per-block / per-op times, intensity,
roofline), :mod:`.lock` (the host lock), :mod:`.memory` (will it fit?), :mod:`.passport`,
:mod:`.jetson` (rails, thermal zones, power mode, energy), :mod:`.sysfs` (the configurable root),
:mod:`.cli` (``lightviz bench``).
"""

from .lock import HostLock, LockTimeout, QueueStatus
from .protocol import (DTYPES, MODES, Bench, MeasurementError, OutOfMemory, Result, Setup,
                      available_devices, dtype_support, make_setup, measure, sweep)
from .memory import MemoryRefused, check_fits, estimate

__all__ = ["DTYPES", "MODES", "Bench", "HostLock", "LockTimeout", "MeasurementError",
           "MemoryRefused", "OutOfMemory", "QueueStatus", "Result", "Setup", "available_devices",
           "check_fits", "dtype_support", "estimate", "make_setup", "measure", "sweep"]
