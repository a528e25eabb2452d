"""The latency figure every device source returns (Streamlit- and torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

# How a figure is known, from the most to the least direct.
MEASURED = "measured here"
PREDICTED_HERE = "predicted from this host's calibration"
PREDICTED_IMPORTED = "predicted from an imported calibration"
PUBLISHED = "published"
INTERPOLATED = "interpolated between published points"
NONE = "none"
STATUSES = (MEASURED, PREDICTED_HERE, PREDICTED_IMPORTED, PUBLISHED, INTERPOLATED, NONE)

THIS_HOST = "this host"  # the name of the host lightviz runs on, in every selector


@dataclass(frozen=True)
class DeviceLatency:
    """One latency figure: milliseconds per image (batch 1 unless ``batch`` says otherwise)
    with its interval, for ``device`` / ``runtime`` / ``precision``, and how it is known
    (``status``, one of :data:`STATUSES`). ``ms`` is None exactly when status is ``none``, and
    ``reason`` then says why; ``source`` names where the number comes from (a paper's table, a
    calibration file, this host's store)."""

    device: str
    runtime: str
    precision: str
    status: str
    ms: float | None = None
    low: float | None = None
    high: float | None = None
    source: str = ""
    reason: str = ""
    batch: int = 1

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown latency status {self.status!r}: one of {', '.join(STATUSES)}")
        if (self.ms is None) != (self.status == NONE):
            raise ValueError("a latency figure has a number exactly when its status is not none")

    @property
    def label(self) -> str:
        """``device · runtime · precision``, as every figure is captioned."""
        return f"{self.device} \u00b7 {self.runtime} \u00b7 {self.precision}"


def no_figure(device: str, runtime: str, precision: str, reason: str) -> DeviceLatency:
    """The figure a source gives where it can say nothing (never a number carried over)."""
    return DeviceLatency(device, runtime, precision, NONE, reason=reason)
