"""Latency between the published points of one family on one device: the rules, the fit, the
hull and the leave-one-out errors (torch- and Streamlit-free; the reference devices use it).

A point is anything with ``family``, ``alpha``, ``resolution``, ``groups`` (a published
:class:`~lightviz.latency.devices.reference.DevicePoint` also has ``ms``). Each rule of
:data:`RULES` is a fit through a grid's published points:

- ``additive`` (:data:`RULE`, shipped): ms = c0 + c1 MACs + c2 activation bytes + c3 weights,
  every coefficient >= 0, least squares in relative error. A fixed cost plus what the network
  computes and moves (the roofline's terms, as lightviz counts them for any width and
  resolution), so it rises with every one of them, and a width rounded up to 8 channels costs
  what its MACs and bytes cost, no more.
- ``ln MACs + ln alpha + ln rho``: least squares of ln(ms). Fits the published points well, but
  its slopes come out large and of opposite signs (ln MACs is nearly 2 ln alpha + 2 ln rho), so
  off the published widths it amplifies the jumps of widths rounded to 8 (MobileNet v1 at
  alpha 0.3 came out slower than at 0.35): not physical, kept as a comparison.
- ``ln MACs``: ln(ms) on ln(MACs), a power law in MACs.
- ``plane``, ``quadratic``: ln(ms) linear or quadratic in (ln alpha, ln rho); they miss
  MobileNet v2's 1280-wide last conv, which does not narrow with alpha.

The interval of an estimate is exp(+-h), h the worst leave-one-out |ln estimate - ln published|
over the grid points that lie inside the hull of the others (the interpolations).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ...accuracy import constrained_lstsq, convex_hull, in_hull
from ...config import BASE_RESOLUTION, Config

EPS = 1e-9
RULE = "additive"
RULES = {
    RULE: "ms = c0 + c1 MACs + c2 activation bytes + c3 weights, c >= 0 (relative least squares)",
    "ln MACs + ln alpha + ln rho": "ln(ms) on ln(MACs), ln alpha, ln rho",
    "ln MACs": "ln(ms) on ln(MACs) (a power law)",
    "plane": "ln(ms) on ln alpha, ln rho",
    "quadratic": "ln(ms) quadratic in ln alpha, ln rho",
}


@lru_cache(maxsize=1024)
def counts(family: str, alpha: float, resolution: int, groups: int | None) -> tuple[int, int, int]:
    """(MACs, activation bytes moved, parameters) of the paper's network at this width and
    resolution (1000 classes), as lightviz counts them (fp32 bytes; a precision's own factor
    goes into the fitted coefficient)."""
    from ...counting import count

    rows = count(Config(family, alpha, resolution, groups)).rows
    return (sum(r.macs for r in rows), sum(r.moved_bytes(weights=False) for r in rows),
            sum(r.params for r in rows))


def _row(rule: str, p) -> list[float]:
    x, y = math.log(p.alpha), math.log(p.resolution / BASE_RESOLUTION)
    if rule == "plane":
        return [1.0, x, y]
    if rule == "quadratic":
        return [1.0, x, y, x * x, x * y, y * y]
    macs, act, params = counts(p.family, p.alpha, p.resolution, p.groups)
    if rule == RULE:  # in units that keep the columns near 1
        return [1.0, macs / 1e8, act / 1e7, params / 1e6]
    m = math.log(macs)
    return [1.0, m] if rule == "ln MACs" else [1.0, m, x, y]


def features(rule: str, points) -> np.ndarray:
    """The design matrix of ``rule`` (a key of :data:`RULES`) for ``points``."""
    if rule not in RULES:
        raise ValueError(f"unknown interpolation rule {rule!r}: one of {', '.join(RULES)}")
    return np.array([_row(rule, p) for p in points], float)


def xy(p) -> tuple[float, float]:
    return math.log(p.alpha), math.log(p.resolution / BASE_RESOLUTION)


class Grid:
    """Published points of one family on one device and precision, spread over widths and
    resolutions: the fit of ``rule`` through them, their hull in (ln alpha, ln rho) and the
    leave-one-out errors (``loo``: ln estimate - ln published, per point)."""

    def __init__(self, key: tuple, points: tuple, rule: str = RULE):
        self.key, self.points, self.rule = key, tuple(points), rule
        self.X = features(rule, self.points)
        self.ms = np.array([p.ms for p in self.points], float)
        self.xy = [xy(p) for p in self.points]
        self.hull = convex_hull(self.xy)
        n = len(self.points)
        self.coef = self.fit(np.ones(n, bool))
        self.loo = np.array([self.predict_ln(self.points[i], self.fit(np.arange(n) != i))
                             - math.log(self.ms[i]) for i in range(n)])
        self.interior = np.array([in_hull(convex_hull(self.xy[:i] + self.xy[i + 1:]),
                                              *self.xy[i]) for i in range(n)])
        inner = np.abs(self.loo[self.interior])
        self.half = float(inner.max() if inner.size else np.abs(self.loo).max())

    def fit(self, keep: np.ndarray) -> np.ndarray:
        X, ms = self.X[keep], self.ms[keep]
        if self.rule == RULE:  # min sum (X c / ms - 1)^2 subject to c >= 0
            return constrained_lstsq(X / ms[:, None], np.ones(len(ms)), np.eye(X.shape[1]))
        return np.linalg.lstsq(X, np.log(ms), rcond=None)[0]

    def predict_ln(self, point, coef: np.ndarray | None = None) -> float:
        """ln(ms) of ``point`` by the fit (``coef``: another fit's coefficients)."""
        v = float(features(self.rule, [point])[0] @ (self.coef if coef is None else coef))
        return math.log(max(v, EPS)) if self.rule == RULE else v

    def inside(self, alpha: float, resolution: int) -> bool:
        return in_hull(self.hull, math.log(alpha), math.log(resolution / BASE_RESOLUTION))

    def without(self, i: int) -> Grid:
        """The grid refitted without point ``i`` (the nested leave-one-out of the interval)."""
        return Grid(self.key, self.points[:i] + self.points[i + 1:], self.rule)

    def coverage(self) -> tuple[int, int]:
        """(covered, interior points): how many interior points' published values the interval
        of the grid refitted without them contains (its own leave-one-out width)."""
        hits = [bool(abs(g.predict_ln(self.points[i]) - math.log(self.ms[i])) <= g.half + EPS)
                for i in np.flatnonzero(self.interior) for g in [self.without(int(i))]]
        return sum(hits), len(hits)

    def summary(self) -> dict:
        """Leave-one-out |error| in % (mean and worst, all points and the interior ones), the
        interval's half-width in % and its coverage."""
        err = np.abs(np.expm1(self.loo)) * 100
        covered, interior = self.coverage()
        return {"rule": self.rule, "points": len(self.points), "interior": interior,
                "loo_mean": float(err.mean()), "loo_worst": float(err.max()),
                "inside_mean": float(err[self.interior].mean()),
                "inside_worst": float(err[self.interior].max()),
                "interval": float(math.expm1(self.half) * 100), "covered": covered}

    @property
    def span(self) -> str:
        a = sorted({p.alpha for p in self.points})
        r = sorted({p.resolution for p in self.points})
        return f"alpha {a[0]:g}-{a[-1]:g} x {r[0]}-{r[-1]} px"
