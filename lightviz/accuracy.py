"""Estimated ImageNet top-1 between the published configurations of a family.

The papers and checkpoint tables publish top-1 at a few widths and resolutions
(``assets/published_accuracy.csv``, sources in ``assets/SOURCES.md``): MobileNet v1 at 16 (α 0.25-1
x 128-224 px, tensorflow/models research/slim/nets/mobilenet_v1.md), MobileNet v2 at 22 (α 0.35-1.4
x 96-224 px, research/slim/nets/mobilenet/README.md), ShuffleNet v1 (g=3 and g=8) and v2 at four
widths and GhostNet at three, all at 224 px, and each ResNet once. :func:`estimate` says what can
be said between them, for a network of that shape trained as in its paper (never for any
particular weights):

- ``published`` at a published configuration: the published value itself.
- ``interpolated`` inside the convex hull of a family's published (ln α, ln ρ) points: a quadratic
  in (ln α, ln ρ) least-squares fit (in ln α alone for the families published at 224 px only),
  constrained to rise with α and ρ at every hull vertex (its gradient is affine, so it then rises
  everywhere inside the hull), then held between the published neighbours: at least the best
  published point it dominates, at most the worst one dominating it. That envelope makes the
  estimate equal the published value at each published point and keeps it monotone (a clip of
  monotone functions by monotone bounds). The interval is ± the worst leave-one-out error of
  this estimator, narrowed by the same neighbours.
- ``extrapolated`` outside the hull but within a factor 2 of it in α and in resolution: the same
  fit below and beside the hull; above it (larger α and resolution than any published point
  nearby) the value stays at the hull's edge (no gain is claimed past the published networks),
  and the interval grows with the distance, so its upper end shows the gain that may be there. A family
  published at 224 px only borrows MobileNet v2's resolution term off its line (clearly a
  transfer, hence extrapolated and wider).
- ``none`` otherwise: one published point (ResNet), no points (ShuffleNet v1 g=1/2/4), too far
  from any published point, or a classifier that is not ImageNet's 1000 classes.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import numpy as np

from .config import BASE_RESOLUTION, Config

ASSETS = Path(__file__).resolve().parent.parent / "assets"
ACCURACY_CSV = ASSETS / "published_accuracy.csv"
FIGURES_CSV = ASSETS / "published_figures.csv"  # the papers' tables (lightviz.reference)
# (arch, variant) rows of FIGURES_CSV about a network lightviz does not build
OTHER_NETWORK = {("mobilenet_v1", "conv-mobilenet-224")}

PUBLISHED, INTERPOLATED, EXTRAPOLATED, NONE = "published", "interpolated", "extrapolated", "none"
STATUSES = (PUBLISHED, INTERPOLATED, EXTRAPOLATED, NONE)
REACH = math.log(2.0)  # how far past the hull (in ln α or ln ρ) an extrapolation may go
EXTRA_SLOPE = 10.0  # interval points added per unit of ln distance past the hull
BORROW_SHARE = 0.5  # share of a borrowed resolution term added to the interval
DONOR = ("mobilenet_v2", None)  # whose resolution term the 224-px-only families borrow
EPS = 1e-9
NOTE = ("An estimate of ImageNet top-1 for a network of this shape trained as in its paper "
        "(or its checkpoint table), from the published points; not a measurement of any weights.")

Key = tuple[str, int | None]


@dataclass(frozen=True)
class Point:
    """One published checkpoint (a row of ``published_accuracy.csv``)."""

    arch: str
    groups: int | None
    alpha: float
    resolution: int
    top1: float
    top5: float | None
    macs: int
    params: int
    variant: str
    source: str
    convention: str

    @property
    def xy(self) -> tuple[float, float]:
        return math.log(self.alpha), math.log(self.resolution / BASE_RESOLUTION)


@dataclass(frozen=True)
class Top1Estimate:
    """Estimated top-1 (%) with its interval, status (:data:`STATUSES`), sources and method."""

    value: float | None
    low: float | None
    high: float | None
    status: str
    sources: tuple[str, ...]
    method: str

    def to_dict(self) -> dict:
        def r(v):
            return None if v is None else round(v, 2)
        return {"value": r(self.value), "low": r(self.low), "high": r(self.high),
                "status": self.status, "sources": list(self.sources), "method": self.method,
                "note": NOTE}


def _opt(text: str, kind=float):
    return None if text.strip() == "" else kind(text)


@lru_cache(maxsize=4)
def load_points(path: Path = ACCURACY_CSV) -> tuple[Point, ...]:
    """Every published checkpoint, in the file's order."""
    if not Path(path).exists():
        raise FileNotFoundError(f"published accuracy table not found at {path} (the app ships "
                                f"it under assets/)")
    with open(path, newline="") as f:
        return tuple(Point(r["arch"], _opt(r["groups"], int), float(r["alpha"]),
                           int(r["resolution"]), float(r["top1"]), _opt(r["top5"]),
                           int(r["macs"]), int(r["params"]), r["variant"], r["source"],
                           r["convention"]) for r in csv.DictReader(f))


# ----------------------------------------------------------------------------- fitting

def features(x, y, dims: int, n_terms: int) -> np.ndarray:
    """The design row(s) of the fit: 1, x, y, x², xy, y² (``dims`` 2) or 1, x[, x²] (1)."""
    x, y = np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(y, float))
    if dims == 2:
        cols = [np.ones_like(x), x, y, x * x, x * y, y * y]
    else:
        cols = [np.ones_like(x), x, x * x][:n_terms]
    return np.stack(cols, axis=1)


def gradient_rows(x: float, y: float, dims: int, n_terms: int) -> np.ndarray:
    """Rows g with g @ coef = df/dx (and df/dy) at (x, y): affine in (x, y) for a quadratic."""
    if dims == 2:
        return np.array([[0, 1, 0, 2 * x, y, 0], [0, 0, 1, 0, x, 2 * y]], float)
    return np.array([[0, 1, 2 * x][:n_terms]], float)


def constrained_lstsq(X: np.ndarray, t: np.ndarray, A: np.ndarray) -> np.ndarray:
    """argmin |X c - t|² subject to A c >= 0, by trying every active set (A has a handful of
    rows: the gradient at each hull vertex): the optimum is the equality-constrained least
    squares of its own active set, and no feasible candidate has a smaller error."""
    c = np.linalg.lstsq(X, t, rcond=None)[0]
    if (A @ c >= -EPS).all():
        return c
    best, best_sse = None, math.inf
    n, m = X.shape[1], A.shape[0]
    xtx, xtt = X.T @ X, X.T @ t
    for k in range(1, m + 1):
        for active in combinations(range(m), k):
            S = A[list(active)]
            kkt = np.block([[xtx, S.T], [S, np.zeros((k, k))]])
            sol = np.linalg.lstsq(kkt, np.concatenate([xtt, np.zeros(k)]), rcond=None)[0]
            c = sol[:n]
            if (A @ c >= -1e-7).all():
                sse = float(((X @ c - t) ** 2).sum())
                if sse < best_sse - 1e-12:
                    best, best_sse = c, sse
    return best if best is not None else np.zeros(n)


def convex_hull(pts: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Counter-clockwise hull vertices (Andrew's monotone chain), collinear points dropped."""
    p = sorted(set(pts))
    if len(p) <= 2:
        return p

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for q in p:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], q) <= EPS:
            lower.pop()
        lower.append(q)
    for q in reversed(p):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], q) <= EPS:
            upper.pop()
        upper.append(q)
    return lower[:-1] + upper[:-1]


def in_hull(hull: Sequence[tuple[float, float]], x: float, y: float) -> bool:
    """Whether (x, y) lies in the counter-clockwise ``hull`` (:func:`convex_hull`; edges
    included); never in a hull of fewer than three vertices."""
    n = len(hull)
    return n >= 3 and all((hull[(k + 1) % n][0] - hull[k][0]) * (y - hull[k][1])
                          - (hull[(k + 1) % n][1] - hull[k][1]) * (x - hull[k][0]) >= -EPS
                          for k in range(n))


def _closest_on_segment(p, a, b):
    ax, ay = b[0] - a[0], b[1] - a[1]
    L = ax * ax + ay * ay
    t = 0.0 if L == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * ax + (p[1] - a[1]) * ay) / L))
    return a[0] + t * ax, a[1] + t * ay


class Family:
    """The published points of one architecture (and ShuffleNet v1 group count), their hull
    in (ln α, ln ρ) and the fit through them. ``dims`` is 2 for a surface (several
    resolutions), 1 for a line along α at 224 px, 0 for a single point."""

    def __init__(self, key: Key, points: Sequence[Point]):
        self.key, self.points = key, tuple(points)
        self.xy = np.array([p.xy for p in self.points], float)
        self.t = np.array([p.top1 for p in self.points], float)
        n = len(self.points)
        self.dims = 0 if n < 2 else (2 if len(set(self.xy[:, 1])) > 1 else 1)
        self.n_terms = 6 if self.dims == 2 else (3 if n >= 4 else 2)
        self.hull = convex_hull([tuple(v) for v in self.xy]) if self.dims else []
        self.sources = tuple(dict.fromkeys(p.source for p in self.points))
        if self.dims:
            self.coef = self._fit(np.ones(n, bool))
            self.loo = self._loo()
            self.worst = float(np.abs(self.loo).max())
            self.interior = np.array([self._interior(i) for i in range(n)])
            inner = np.abs(self.loo[self.interior])
            self.worst_inside = float(inner.max()) if inner.size else self.worst
        else:
            self.coef, self.loo, self.worst, self.worst_inside = None, np.array([]), 0.0, 0.0
            self.interior = np.zeros(n, bool)

    # -- the fit
    def _fit(self, keep: np.ndarray) -> np.ndarray:
        X = features(self.xy[keep, 0], self.xy[keep, 1], self.dims, self.n_terms)
        A = np.vstack([gradient_rows(x, y, self.dims, self.n_terms) for x, y in self.hull])
        return constrained_lstsq(X, self.t[keep], A)

    def poly(self, x: float, y: float, coef=None) -> float:
        c = self.coef if coef is None else coef
        return float(features(x, y, self.dims, self.n_terms)[0] @ c)

    def _loo(self) -> np.ndarray:
        """Leave-one-out errors (estimate - published) of the shipped estimator: refit without
        the point and hold between the other points' bounds."""
        errs = []
        for i in range(len(self.points)):
            keep = np.ones(len(self.points), bool)
            keep[i] = False
            x, y = self.xy[i]
            errs.append(self.fitted(x, y, self._fit(keep), keep) - self.t[i])
        return np.array(errs)

    def _interior(self, i: int) -> bool:
        """Whether point i lies inside the hull of the others: its leave-one-out error is then
        an interpolation error (the others' are extrapolations)."""
        others = [tuple(v) for j, v in enumerate(self.xy) if j != i]
        x, y = self.xy[i]
        if self.dims == 1:
            xs = [o[0] for o in others]
            return min(xs) < x < max(xs)
        return in_hull(convex_hull(others), x, y)

    # -- geometry
    def inside(self, x: float, y: float) -> bool:
        if self.dims == 1:
            lo, hi = self.xy[:, 0].min(), self.xy[:, 0].max()
            return abs(y - self.xy[0, 1]) < EPS and lo - EPS <= x <= hi + EPS
        h = self.hull
        return all((h[(i + 1) % len(h)][0] - h[i][0]) * (y - h[i][1])
                   - (h[(i + 1) % len(h)][1] - h[i][1]) * (x - h[i][0]) >= -EPS
                   for i in range(len(h)))

    def project(self, x: float, y: float) -> tuple[float, float]:
        """The nearest point of the hull (for a line: of its α range, at its resolution)."""
        if self.dims == 1:
            return float(np.clip(x, self.xy[:, 0].min(), self.xy[:, 0].max())), float(self.xy[0, 1])
        if self.inside(x, y):
            return x, y
        h = self.hull
        cands = [_closest_on_segment((x, y), h[i], h[(i + 1) % len(h)]) for i in range(len(h))]
        return min(cands, key=lambda q: (q[0] - x) ** 2 + (q[1] - y) ** 2)

    def bounds(self, x: float, y: float, keep=None) -> tuple[float, float]:
        """(best published top-1 this point dominates, worst one dominating it): what
        monotonicity alone says; -inf / inf where there is none."""
        keep = np.ones(len(self.points), bool) if keep is None else keep
        xy, t = self.xy[keep], self.t[keep]
        below = (xy[:, 0] <= x + EPS) & (xy[:, 1] <= y + EPS)
        above = (xy[:, 0] >= x - EPS) & (xy[:, 1] >= y - EPS)
        return (float(t[below].max()) if below.any() else -math.inf,
                float(t[above].min()) if above.any() else math.inf)

    def fitted(self, x: float, y: float, coef=None, keep=None) -> float:
        """The fit at (x, y), monotone along the way out of the hull, held between the
        published bounds."""
        px, py = self.project(x, y)
        if self.dims == 1:
            y = py  # a line's own term is at its resolution; the caller adds a borrowed one
        v = self.poly(x, y, coef)
        if (px, py) != (x, y):
            lo, hi = self.bounds(px, py, keep)
            at = min(max(self.poly(px, py, coef), lo), hi)  # the estimate at the hull's edge
            if x >= px - EPS and y >= py - EPS:
                v = at  # no gain is claimed past the largest published networks
            elif x <= px + EPS and y <= py + EPS:
                v = min(v, at)
        lo, hi = self.bounds(x, y, keep)
        return float(min(max(v, lo), hi))


@lru_cache(maxsize=1)
def families() -> dict[Key, Family]:
    """Every (arch, groups) with published points, fitted once per process."""
    grouped: dict[Key, list[Point]] = {}
    for p in load_points():
        grouped.setdefault((p.arch, p.groups), []).append(p)
    return {k: Family(k, v) for k, v in grouped.items()}


# ----------------------------------------------------------------------------- the estimate

def _label(key: Key) -> str:
    return key[0] + (f" g={key[1]}" if key[1] is not None else "")


def _none(reason: str, sources=()) -> Top1Estimate:
    return Top1Estimate(None, None, None, NONE, tuple(sources), reason)


def _borrowed(x: float, y: float) -> tuple[float, Family]:
    """The donor's resolution term at ln ρ = y: its fit's change from 224 px, at the donor's α
    nearest to x among those it published at every resolution (the fit, not the envelope, which
    pins it to the donor's own published points)."""
    donor = families()[DONOR]
    full = donor.xy[np.isclose(donor.xy[:, 1], donor.xy[:, 1].min()), 0]
    xd = float(np.clip(x, full.min(), full.max()))
    y = min(y, 0.0)  # no gain is claimed above the published resolution
    return donor.poly(xd, y) - donor.poly(xd, 0.0), donor


def estimate(cfg: Config) -> Top1Estimate:
    """Top-1 of ``cfg``'s shape trained as in its paper: see the module doc for the statuses."""
    if cfg.classes != 1000:
        return _none(f"top-1 is published for ImageNet's 1000 classes, not {cfg.classes}")
    if getattr(cfg, "settings", None) is not None:
        return _none("a custom table (the Design page) is not a published network: "
                     "no top-1 is known for it")
    pub = published_top1(cfg.arch, cfg.alpha, cfg.resolution, cfg.groups)
    if pub is not None:  # the one published value of this configuration (Compare's too)
        return Top1Estimate(pub.top1, pub.top1, pub.top1, PUBLISHED, (pub.source,),
                            f"published value ({pub.variant}, {pub.source})")
    key = (cfg.arch, cfg.groups)
    fam = families().get(key)
    if fam is None:
        have = sorted(g for a, g in families() if a == cfg.arch and g is not None)
        also = f" (published: g={', g='.join(map(str, have))})" if have else ""
        return _none(f"no published top-1 for {_label(key)}{also}")
    if fam.dims == 0:
        p = fam.points[0]
        return _none(f"{_label(key)} is published at \u03b1 {p.alpha:g}, {p.resolution} px only "
                     f"({p.source}); one point gives no trend", fam.sources)
    x, y = math.log(cfg.alpha), math.log(cfg.rho)
    px, py = fam.project(x, y)
    dx, dy = abs(x - px), abs(y - py)
    if max(dx, dy) > REACH + EPS:
        return _none(f"more than 2\u00d7 in \u03b1 or resolution away from every published "
                     f"{_label(key)} configuration", fam.sources)
    value = fam.fitted(x, y)
    lo, hi = fam.bounds(x, y)
    what = ("quadratic in (ln \u03b1, ln \u03c1)" if fam.dims == 2 else
            f"{'quadratic' if fam.n_terms == 3 else 'straight line'} in ln \u03b1 at "
            f"{fam.points[0].resolution} px")
    status = INTERPOLATED if fam.inside(x, y) else EXTRAPOLATED
    half = fam.worst_inside if status == INTERPOLATED else fam.worst
    rising = "\u03b1 and \u03c1" if fam.dims == 2 else "\u03b1"
    method = (f"{what} through the {len(fam.points)} published points, rising in {rising}, "
              f"held between the published neighbours; \u00b1 the worst leave-one-out "
              f"error {'inside the hull' if status == INTERPOLATED else 'of all points'}, "
              f"{half:.2f}")
    sources = fam.sources
    if status == EXTRAPOLATED:
        half += EXTRA_SLOPE * math.hypot(dx, 0.0 if fam.dims == 1 else dy)
        method += f", widened by {EXTRA_SLOPE:g} points per unit of ln distance past the hull"
        if fam.dims == 1 and dy > EPS:
            delta, donor = _borrowed(x, y)
            value += delta
            half += BORROW_SHARE * abs(delta) + donor.worst
            sources = sources + donor.sources
            method += (f"; plus MobileNet v2's resolution term {delta:+.2f} (borrowed: "
                       f"{_label(key)} is published at 224 px only)")
    value = min(max(value, 0.1), 100.0)
    low, high = max(value - half, lo, 0.1), min(value + half, hi, 100.0)
    return Top1Estimate(value, min(low, value), max(high, value), status, sources,
                        method + ".")


@dataclass(frozen=True)
class PublishedTop1:
    """The one published ImageNet top-1 (%) of a configuration and where it comes from."""

    top1: float
    source: str
    variant: str = ""


def published_top1(arch: str, alpha: float, resolution: int,
                   groups: int | None) -> PublishedTop1 | None:
    """The published top-1 of exactly this configuration, one per configuration wherever it is
    shown (Explore's estimate, Compare, the Pareto view, ``lightviz pareto``): its checkpoint
    table's (:data:`ACCURACY_CSV`) where one exists, else its paper's (:data:`FIGURES_CSV`, the
    first row of that configuration; rows about another network left out), else None. The
    Paper check page alone lists every table's figure, each with its source."""
    return _published_top1s().get((arch, None if groups is None else int(groups),
                                   round(float(alpha), 4), int(resolution)))


@lru_cache(maxsize=1)
def _published_top1s() -> dict[tuple, PublishedTop1]:
    out: dict[tuple, PublishedTop1] = {}
    if FIGURES_CSV.exists():  # the papers' (csv, not pandas: Explore's first page needs none)
        with open(FIGURES_CSV, newline="") as f:
            for r in csv.DictReader(f):
                if r["top1"].strip() and (r["arch"], r["variant"]) not in OTHER_NETWORK:
                    key = (r["arch"], _opt(r["groups"], int), round(float(r["alpha"]), 4),
                           int(r["resolution"]))
                    out.setdefault(key, PublishedTop1(float(r["top1"]), r["source"],
                                                      r["variant"]))
    for p in load_points():  # the checkpoint tables', where one exists
        out[(p.arch, p.groups, round(p.alpha, 4), p.resolution)] = PublishedTop1(
            p.top1, p.source, p.variant)
    return out


def published_points(arch: str | None = None, groups: int | None = None) -> list[Point]:
    """The published checkpoints, of one arch (and groups, for ShuffleNet v1) when given."""
    return [p for p in load_points()
            if arch is None or (p.arch == arch and (groups is None or p.groups == groups))]


def loo_summary() -> list[dict]:
    """Per fitted family: leave-one-out mean and worst |error| of the shipped estimator and
    of a straight line in ln(published MACs) (the usual "accuracy vs cost" baseline)."""
    out = []
    for key, fam in families().items():
        if fam.dims == 0:
            continue
        lx = np.log([p.macs for p in fam.points])
        base = []
        for i in range(len(fam.points)):
            keep = np.arange(len(fam.points)) != i
            c = np.polyfit(lx[keep], fam.t[keep], 1)
            base.append(np.polyval(c, lx[i]) - fam.t[i])
        base = np.abs(base)
        out.append({"family": _label(key), "points": len(fam.points),
                    "fit": "quadratic (ln a, ln rho)" if fam.dims == 2 else
                           ("quadratic ln a" if fam.n_terms == 3 else "line ln a"),
                    "loo_mean": float(np.abs(fam.loo).mean()),
                    "loo_worst": float(np.abs(fam.loo).max()),
                    "inside_worst": fam.worst_inside, "inside_points": int(fam.interior.sum()),
                    "line_macs_mean": float(base.mean()), "line_macs_worst": float(base.max())})
    return out
