"""One measurement's result: its statistics in milliseconds, the timed window, its warnings and
notes, and the passport of the host that made it (:class:`Result`). Torch-free: a stored or
shared result is read back (:mod:`lightviz.latency.shared`) without the lab.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ...config import Config
from ..setup import SPREAD_LIMIT, Setup


@dataclass
class Result:
    """One measurement: statistics in milliseconds, the timed window, warnings, passport."""

    config: Config
    setup: Setup
    samples_ms: list[float]
    median_ms: float
    p10_ms: float
    p90_ms: float
    q1_ms: float
    q3_ms: float
    iqr_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    runs: int
    throughput_ips: float
    cold_ms: float | None
    capture_ms: float | None
    warmup_runs: int
    rewarmed: str | None
    started_at: float
    finished_at: float
    timed_s: float
    lock_wait_s: float
    macs: int
    params: int
    timer: str
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    passport: dict = field(default_factory=dict)

    @property
    def spread(self) -> float:
        return self.iqr_ms / self.median_ms if self.median_ms > 0 else float("inf")

    @property
    def undisturbed_ms(self) -> float:
        """What the latency model learns from this result: the median, or 1.05 x p10 where the
        runs were disturbed (the store's rule, :func:`lightviz.latency.predictor.model.target_ms`)."""
        return min(self.median_ms, 1.05 * self.p10_ms)

    @property
    def gmacs_per_s(self) -> float:
        return self.macs * self.setup.batch / (self.median_ms * 1e-3) / 1e9

    def to_dict(self, samples: bool = False) -> dict:
        c, s = self.config, self.setup
        out = {
            "arch": c.arch, "label": c.label,
            "median_ms": self.median_ms, "p10_ms": self.p10_ms, "p90_ms": self.p90_ms,
            "iqr_ms": self.iqr_ms, "q1_ms": self.q1_ms, "q3_ms": self.q3_ms,
            "mean_ms": self.mean_ms, "min_ms": self.min_ms, "max_ms": self.max_ms,
            "runs": self.runs, "throughput_ips": self.throughput_ips,
            "spread": self.spread, "spread_ok": self.spread <= SPREAD_LIMIT,
            "device": s.device, "dtype": s.dtype, "batch": s.batch, "threads": s.threads,
            "channels_last": s.channels_last, "mode": s.mode, "budget_s": s.budget_s,
            "fold_bn": s.fold_bn, "runtime": s.runtime,
            "runtime_version": (self.passport.get("runtime") or {}).get("version"),
            "runtime_provider": (self.passport.get("runtime") or {}).get("provider"),
            "cold_ms": self.cold_ms, "capture_ms": self.capture_ms,
            "warmup_runs": self.warmup_runs, "rewarmed": self.rewarmed,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "timed_s": self.timed_s, "lock_wait_s": self.lock_wait_s,
            "macs": self.macs, "params": self.params, "gmacs_per_s": self.gmacs_per_s,
            "timer": self.timer, "warnings": self.warnings, "notes": self.notes,
            "config": {"arch": c.arch, "alpha": c.alpha, "resolution": c.resolution, "rho": c.rho,
                       "groups": c.groups, "classes": c.classes},
            "settings": c.settings_json,  # the edited table, None for the paper's
            "setup": asdict(s),
            "passport": self.passport,
        }
        if samples:
            out["samples_ms"] = list(self.samples_ms)
        return out
