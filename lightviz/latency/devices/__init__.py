"""Where a latency comes from: this host, a device imported from a calibration file, or a
published reference device. One idea with one figure type, so every page and command says which
device, runtime and precision a number is for, and how it is known.

- :mod:`.figure`: :class:`DeviceLatency`, the figure every source returns, and its statuses.
- ``imported``: calibrations that travel (``lightviz devices export|import|list|remove``).
- ``reference``: published measurements on devices nobody here owns, interpolated inside a
  family's published grid with a leave-one-out interval, ``none`` elsewhere.
"""
