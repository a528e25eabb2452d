"""The host's drift during a calibration, measured and taken out of what it measured.

A calibration takes minutes, and the host's speed moves under it: on this project's 2-core
machine, networks measured in a stretch of 15-30 s of a campaign ran 15-20% slower than the
model fitted on the rest predicted (the calibration's own held-out residuals, smoothed over the
round-robin of the eight families, rose and fell in phases), and in one campaign the reference
network took 10.3 ms before it and 13.5 ms after: the whole model came out 20% slow, and every
prediction with it. A fit cannot tell such a phase from the shapes measured in it.

So a campaign times the host probe (:data:`lightviz.latency.predictor.probe.PROBE`, a fixed
kernel chain) every :data:`EVERY_S` seconds, and each measurement is divided by the host's
slowdown at its time: the lesser of the probes just before and just after it (a phase must
cover both to count) over the campaign's *undisturbed* state (the :data:`QUANTILE` of its
probes' totals, and never under the second-fastest: a lone fast probe is noise), only where that
is over :data:`DEADBAND` (the probe's own noise) and at most :data:`MAX_FACTOR`.

Why the lower tail: a host slower for most of a campaign is still slow at its 25th percentile.
In one campaign the probe took 6.4-6.6 ms in three of its first four probes and 7.1-9.9 ms in
the twelve after; at the 25th percentile (7.18 ms) the campaign's slow part counted as
undisturbed, and the model came out about 6% slow on the zoo and the edited tables and 38% on
the plugin family. Refitted offline on eight kept campaigns (the same measurements, deflated
again with the reference at the 10th percentile): mean RMSPE over the eight,
zoo configurations 9.1% -> 8.5%, edited tables 9.5% -> 8.5%, the plugin family 19.7% -> 17.9%,
and a family left out better in all four refitted (16.1% -> 11.1% on that campaign); the
fastest probe alone (the minimum) put a quiet campaign whose first probe was 10% fast 11% low.

The model then predicts the host undisturbed, as the lab's measurements report it (the median,
or 1.05 x the 10th percentile where a disturbance moved the median); the probe later says how
far the host is from it now.
Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

EVERY_S = 10.0
QUANTILE = 0.10
DEADBAND = 1.05
MAX_FACTOR = 2.0


@dataclass
class Drift:
    """The probes of one campaign, ``(time, ms per group of kinds)`` in time order."""

    probes: list[tuple[float, dict[str, float]]] = field(default_factory=list)

    def due(self, t: float) -> bool:
        return not self.probes or t - self.probes[-1][0] >= EVERY_S

    def add(self, t: float, group_ms: dict[str, float]) -> None:
        total = float(sum(group_ms.values()))
        if total > 0 and math.isfinite(total):
            self.probes.append((t, dict(group_ms)))

    def totals(self) -> list[float]:
        """Each probe's total ms, in time order."""
        return [float(sum(g.values())) for _, g in self.probes]

    def state(self) -> dict[str, float] | None:
        """The undisturbed host's probe, per group of kinds: each group's median over the probes
        within :data:`DEADBAND` of the reference (what later probes are compared with)."""
        ref = self.reference()
        if ref is None:
            return None
        quiet = [g for (_, g), ms in zip(self.probes, self.totals()) if ms <= ref * DEADBAND]
        return {k: float(np.median([g.get(k, 0.0) for g in quiet])) for k in quiet[0]}

    def reference(self) -> float | None:
        """The campaign's undisturbed probe total: the :data:`QUANTILE` of the totals, at least
        the second-fastest (None with fewer than 3 probes)."""
        if len(self.probes) < 3:
            return None
        totals = sorted(self.totals())
        return max(float(np.quantile(totals, QUANTILE)), totals[1])

    def factor(self, t: float) -> float:
        """The host's slowdown at time ``t`` against the undisturbed state (1: none seen)."""
        ref = self.reference()
        if ref is None:
            return 1.0
        timed = list(zip((at for at, _ in self.probes), self.totals()))
        before = [ms for at, ms in timed if at <= t]
        after = [ms for at, ms in timed if at > t]
        near = min(([before[-1]] if before else []) + ([after[0]] if after else []))
        return slowdown(near / ref)

    def states(self) -> list[float]:
        """The host's states the campaign met (:func:`states`)."""
        return states(self.totals(), self.reference())

    def summary(self, factors: Sequence[float], chain_factors: Sequence[float] = (),
                at_s: Sequence[float] = (), chain_at_s: Sequence[float] = ()) -> dict:
        """What the campaign saw (stored with the model's calibration): the probes (their
        totals, when each was taken and each group's ms), the factor each network and each
        kernel chain was divided by and when each was timed, so a later rule can be tried on a
        kept campaign."""
        ref = self.reference()
        moved = [f for f in factors if f > 1.0]
        groups = sorted({k for _, g in self.probes for k in g})
        return {"probes": len(self.probes), "reference_ms": ref,
                "probe_ms": [round(ms, 4) for ms in self.totals()],
                "probe_at_s": [round(at, 2) for at, _ in self.probes],
                "probe_groups_ms": {k: [round(g.get(k, 0.0), 4) for _, g in self.probes] for k in groups},
                "scaled": len(moved), "of": len(factors), "max_factor": max(moved, default=1.0),
                "factors": [round(f, 4) for f in factors],
                "chain_factors": [round(f, 4) for f in chain_factors],
                "network_at_s": [round(t, 2) for t in at_s], "chain_at_s": [round(t, 2) for t in chain_at_s]}


def states(totals: Sequence[float], reference: float | None) -> list[float]:
    """ln of each probe's slowdown against the undisturbed state (``reference``), as
    :meth:`Drift.factor` counts it: 0 within :data:`DEADBAND`, at most :data:`MAX_FACTOR`;
    empty without a reference. The states a later measurement may meet, which the interval
    holds it in (:func:`lightviz.latency.predictor.heldout.bounds`)."""
    if not reference:
        return []
    return [math.log(slowdown(ms / reference)) for ms in totals]


def slowdown(ratio: float) -> float:
    """A probe's ratio to the undisturbed state as a slowdown: 1 within :data:`DEADBAND` (the
    probe's own noise), at most :data:`MAX_FACTOR`."""
    return min(ratio, MAX_FACTOR) if ratio > DEADBAND else 1.0


def deflate(ops: Sequence[tuple], factor: float) -> list:
    """``[(kernel, ms)]`` with each ms divided by ``factor``."""
    return [(k, t / factor) for k, t in ops] if factor != 1.0 else list(ops)
