"""Estimated int8 (and fp16) ImageNet top-1: the fp32 estimate minus the drop int8 costs.

The published int8 points (``assets/published_int8.csv``, sources in ``assets/SOURCES.md``) give
each quantized network's top-1 next to its own fp32 figure; their difference is the *drop*. The
drop depends on how the network was quantized (quantization-aware training loses less than
post-training quantization) and sources disagree (MobileNet v2 1.0 @ 224: 71.88 -> 71.66 with
torchvision's QAT, 72.0 -> 70.9 in the MobileNetV3 paper's TFLite), so each family stands for one
source and method, by a stated rule (:func:`chosen_method`): the (source, method) with the most
published points of the family; a tie goes to post-training quantization, the kind
``lightviz export --dtype int8`` does (ONNX Runtime static QDQ). None of the sources is ONNX
Runtime, so every estimate names the method and backend it stands for.

:func:`estimate_int8` (what :func:`estimate_for` gives for ``int8``):

- ``published`` at a published point of the family's source: the published int8 value itself.
- elsewhere, :func:`lightviz.accuracy.estimate`'s fp32 value minus the drop fitted as a straight
  line in ln α through the family's published drops (MobileNet v1's 16-point grid: leave-one-out
  0.28 points mean; a plane in (ln α, ln ρ) 0.31 and a constant 0.37, so resolution adds nothing
  the grid can see and the drop is held constant along ρ), held between the published int8
  neighbours (at least the best one it dominates, at most the worst one dominating it). Status:
  the fp32 estimate's, or ``extrapolated`` outside the hull of the family's int8 points (off
  224 px for the families quantized at 224 px only). Interval: the fp32 interval moved by the
  drop and widened by the worst leave-one-out error of the drop (inside the hull for an
  interpolation; with two points, which cannot be checked by leaving one out, half the
  difference of their drops), plus :data:`DROP_SLOPE` points per unit of ln distance past the
  hull.
- ``none`` where the family has no int8 point (ResNet-34, ShuffleNet v1, plugin families), off
  the one point of a family quantized once (ResNet-18/50, GhostNet: one point gives no trend,
  and ShuffleNet v2's drop is 2.6 times larger at 0.5x than at 1x), more than 2x from every int8
  point, for an edited table and wherever the fp32 estimate is ``none``. Never a guessed
  constant.

fp16: no published fp16 top-1 was found for these networks, so the fp16 figure is the fp32
estimate, said to be assumed unchanged (its method says so; the status is the fp32 one's).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .accuracy import (
    ASSETS,
    EPS,
    EXTRAPOLATED,
    INTERPOLATED,
    NONE,
    PUBLISHED,
    REACH,
    Top1Estimate,
    convex_hull,
    estimate,
    in_hull,
)
from .config import BASE_RESOLUTION, Config, parse_precision

INT8_CSV = ASSETS / "published_int8.csv"
DROP_SLOPE = 2.5  # interval points per unit of ln distance past the int8 hull: ShuffleNet v2's
# drop grows 1.58 points from 1x to 0.5x, 2.3 per unit of ln α, the steepest published
RANK = {PUBLISHED: 0, INTERPOLATED: 1, EXTRAPOLATED: 2, NONE: 3}
FP16_NOTE = ("fp16: the fp32 estimate, assumed unchanged (no published fp16 top-1 of these "
             "networks was found)")


@dataclass(frozen=True)
class Int8Point:
    """One published int8 top-1 (a row of ``published_int8.csv``) and its source's fp32."""

    arch: str
    alpha: float
    resolution: int
    fp32_top1: float
    int8_top1: float
    method: str  # qat, ptq, ptq+finetune, unstated
    backend: str
    variant: str
    source: str
    note: str

    @property
    def drop(self) -> float:
        return self.fp32_top1 - self.int8_top1

    @property
    def xy(self) -> tuple[float, float]:
        return math.log(self.alpha), math.log(self.resolution / BASE_RESOLUTION)


@dataclass(frozen=True)
class PrecisionTop1(Top1Estimate):
    """A top-1 estimate at a precision, with the quantization it stands for ("" for fp32)."""

    precision: str = "fp32"
    quantization: str = ""

    def to_dict(self) -> dict:
        return {**super().to_dict(), "precision": self.precision,
                "quantization": self.quantization}


@lru_cache(maxsize=4)
def load_int8_points(path: Path = INT8_CSV) -> tuple[Int8Point, ...]:
    """Every published int8 point, in the file's order."""
    if not Path(path).exists():
        raise FileNotFoundError(f"published int8 table not found at {path} (the app ships it "
                                f"under assets/)")
    with open(path, newline="") as f:
        return tuple(Int8Point(r["arch"], float(r["alpha"]), int(r["resolution"]),
                               float(r["fp32_top1"]), float(r["int8_top1"]), r["method"],
                               r["backend"], r["variant"], r["source"], r["note"])
                     for r in csv.DictReader(f))


METHOD_WORDS = {"qat": "quantization-aware training", "ptq": "post-training quantization",
                "ptq+finetune": "post-training quantization and fine-tuning",
                "unstated": "8-bit, method not stated"}


def chosen_method(arch: str) -> tuple[str, str] | None:
    """The (source, method) a family's int8 estimate stands for: the one with the most
    published points; a tie goes to post-training quantization (``lightviz export``'s kind),
    then to the first in the file. None for a family without int8 points."""
    count: dict[tuple[str, str], int] = {}
    for p in load_int8_points():
        if p.arch == arch:
            count[(p.source, p.method)] = count.get((p.source, p.method), 0) + 1
    if not count:
        return None
    return max(count, key=lambda k: (count[k], k[1] == "ptq"))


class DropFit:
    """The published drops of one family's chosen source and method: a straight line in ln α
    (``dims`` 1 or 2: its points lie on one resolution or several) or one point (``dims`` 0)."""

    def __init__(self, arch: str):
        self.arch = arch
        self.source, self.method = chosen_method(arch) or ("", "")
        self.points = tuple(p for p in load_int8_points()
                            if p.arch == arch and (p.source, p.method) == (self.source, self.method))
        self.xy = np.array([p.xy for p in self.points], float).reshape(-1, 2)
        self.d = np.array([p.drop for p in self.points], float)
        self.q = np.array([p.int8_top1 for p in self.points], float)
        alphas = set(self.xy[:, 0])
        self.dims = 0 if len(alphas) < 2 else (2 if len(set(self.xy[:, 1])) > 1 else 1)
        self.hull = convex_hull([tuple(v) for v in self.xy]) if self.dims == 2 else []
        n = len(self.points)
        self.coef = self._fit(np.ones(n, bool)) if self.dims else None
        self.loo = np.array([self._loo(i) for i in range(n)]) if self.dims else np.zeros(0)
        self.interior = np.array([self._interior(i) for i in range(n)], bool)
        if n == 2 and self.dims:  # a line through two points: nothing left to check it with
            self.worst = self.worst_inside = abs(self.d[0] - self.d[1]) / 2
        elif self.dims:
            self.worst = float(np.abs(self.loo).max())
            inner = np.abs(self.loo[self.interior])
            self.worst_inside = float(inner.max()) if inner.size else self.worst
        else:
            self.worst = self.worst_inside = 0.0

    @property
    def quantization(self) -> str:
        p = self.points[0]
        return f"{METHOD_WORDS.get(self.method, self.method)}, {p.backend} ({self.source})"

    def _fit(self, keep: np.ndarray) -> np.ndarray:
        x = self.xy[keep, 0]
        if len(set(x)) < 2:  # one α left: a constant
            return np.array([float(self.d[keep].mean()), 0.0])
        return np.polyfit(x, self.d[keep], 1)[::-1]

    def drop_at(self, x: float, coef: np.ndarray | None = None) -> float:
        """The fitted drop at ln α = x (``coef``: a refit's, else the shipped fit's)."""
        c = self.coef if coef is None else coef
        if c is None:
            raise ValueError(f"{self.arch} has one int8 point: no drop line to evaluate")
        return float(c[0] + c[1] * x)

    def _loo(self, i: int) -> float:
        keep = np.arange(len(self.points)) != i
        return self.drop_at(self.xy[i, 0], self._fit(keep)) - self.d[i]

    def _interior(self, i: int) -> bool:
        others = np.delete(self.xy, i, axis=0)
        if self.dims == 1:
            return bool(others[:, 0].min() < self.xy[i, 0] < others[:, 0].max())
        if self.dims == 2:
            return in_hull(convex_hull([tuple(v) for v in others]), *self.xy[i])
        return False

    def distance(self, x: float, y: float) -> tuple[float, float]:
        """(|Δ ln α|, |Δ ln ρ|) from the hull of the points (0, 0 inside)."""
        if self.dims == 2:
            if in_hull(self.hull, x, y):
                return 0.0, 0.0
            lo, hi = self.xy.min(axis=0), self.xy.max(axis=0)
            px, py = float(np.clip(x, lo[0], hi[0])), float(np.clip(y, lo[1], hi[1]))
            return abs(x - px), abs(y - py)  # the grid's hull is its bounding box
        lo, hi = self.xy[:, 0].min(), self.xy[:, 0].max()
        return max(lo - x, x - hi, 0.0), abs(y - self.xy[0, 1])

    def bounds(self, x: float, y: float, keep=None) -> tuple[float, float]:
        """(best published int8 top-1 this point dominates, worst one dominating it)."""
        keep = np.ones(len(self.points), bool) if keep is None else keep
        xy, q = self.xy[keep], self.q[keep]
        below = (xy[:, 0] <= x + EPS) & (xy[:, 1] <= y + EPS)
        above = (xy[:, 0] >= x - EPS) & (xy[:, 1] >= y - EPS)
        return (float(q[below].max()) if below.any() else -math.inf,
                float(q[above].min()) if above.any() else math.inf)


@lru_cache(maxsize=1)
def drop_fits() -> dict[str, DropFit]:
    """Every architecture with published int8 points, fitted once per process."""
    return {a: DropFit(a) for a in dict.fromkeys(p.arch for p in load_int8_points())}


def _none(reason: str, sources=(), quantization: str = "") -> PrecisionTop1:
    return PrecisionTop1(None, None, None, NONE, tuple(sources), reason, "int8", quantization)


def estimate_int8(cfg: Config) -> PrecisionTop1:
    """int8 top-1 of ``cfg``'s shape trained as in its paper and quantized as its family's
    int8 source did: see the module doc for the statuses."""
    if getattr(cfg, "settings", None) is not None:
        return _none("a custom table (the Design page) is not a published network: no int8 "
                     "top-1 is known for it")
    if cfg.classes != 1000:
        return _none(f"top-1 is published for ImageNet's 1000 classes, not {cfg.classes}")
    fit = drop_fits().get(cfg.arch)
    if fit is None:
        return _none(f"no published int8 top-1 for {cfg.arch}: no drop to subtract")
    qz = fit.quantization
    x, y = math.log(cfg.alpha), math.log(cfg.rho)
    for p in fit.points:
        if abs(p.alpha - cfg.alpha) < 1e-9 and p.resolution == cfg.resolution:
            return PrecisionTop1(p.int8_top1, p.int8_top1, p.int8_top1, PUBLISHED, (p.source,),
                                 f"published int8 value ({p.variant}, {qz}; its fp32: "
                                 f"{p.fp32_top1:g})", "int8", qz)
    fp = estimate(cfg)
    if fp.status == NONE:
        return _none(f"no fp32 estimate to subtract the drop from: {fp.method}", fp.sources, qz)
    if fit.dims == 0:
        p = fit.points[0]
        return _none(f"{cfg.arch}'s int8 top-1 is published at \u03b1 {p.alpha:g}, "
                     f"{p.resolution} px only ({p.source}); one point gives no trend in the drop",
                     (p.source,), qz)
    dx, dy = fit.distance(x, y)
    if max(dx, dy) > REACH + EPS:
        return _none(f"more than 2\u00d7 in \u03b1 or resolution away from every published "
                     f"int8 {cfg.arch} point", (fit.source,), qz)
    outside = dx > EPS or dy > EPS
    drop = fit.drop_at(x)
    half = (fit.worst if outside else fit.worst_inside) + DROP_SLOPE * math.hypot(dx, dy)
    lo, hi = fit.bounds(x, y)
    assert fp.value is not None and fp.low is not None and fp.high is not None  # not none
    value = min(max(fp.value - drop, lo), hi)
    low, high = max(fp.low - drop - half, lo, 0.1), min(fp.high - drop + half, hi, 100.0)
    status = max(fp.status, EXTRAPOLATED if outside else INTERPOLATED, key=RANK.__getitem__)
    n = len(fit.points)
    check = (f"\u00b1 the worst leave-one-out error of the drop "
             f"{'inside the hull' if not outside else 'of all points'}, {half:.2f}"
             if n > 2 else f"\u00b1 half the difference of its two drops, {fit.worst:.2f}")
    method = (f"the fp32 estimate ({fp.status}, {fp.value:.2f}) minus a drop of {drop:.2f}: a "
              f"straight line in ln \u03b1 through the {n} published drops of {qz}, held "
              f"between the published int8 neighbours; {check}")
    if outside:
        method += f", widened by {DROP_SLOPE:g} points per unit of ln distance past them"
    return PrecisionTop1(value, min(low, value), max(high, value), status,
                         tuple(dict.fromkeys((fit.source,) + fp.sources)), method + ".",
                         "int8", qz)


def estimate_for(cfg: Config, precision: str = "fp32") -> PrecisionTop1:
    """The top-1 estimate of ``cfg`` deployed in ``precision`` (fp32, fp16, int8)."""
    precision = parse_precision(precision)
    if precision == "int8":
        return estimate_int8(cfg)
    e = estimate(cfg)
    method = e.method if precision == "fp32" else f"{e.method} {FP16_NOTE}."
    return PrecisionTop1(e.value, e.low, e.high, e.status, e.sources, method, precision, "")


def loo_summary_int8() -> list[dict]:
    """Per family fitted through several int8 points: leave-one-out mean and worst |error| of
    the drop line, of a constant drop, and of the int8 estimate itself (the fp32 estimate at
    the point minus the refitted drop, held between the other points' bounds)."""
    out = []
    for arch, fit in drop_fits().items():
        if not fit.dims:
            continue
        const, est = [], []
        for i, p in enumerate(fit.points):
            keep = np.arange(len(fit.points)) != i
            const.append(float(fit.d[keep].mean()) - fit.d[i])
            fp = estimate(Config(arch, p.alpha, p.resolution))
            lo, hi = fit.bounds(*p.xy, keep=keep)
            v = min(max((fp.value or math.nan) - fit.drop_at(p.xy[0], fit._fit(keep)), lo), hi)
            est.append(v - p.int8_top1)
        out.append({"family": arch, "points": len(fit.points), "source": fit.source,
                    "method": fit.method, "drop_loo_mean": float(np.abs(fit.loo).mean()),
                    "drop_loo_worst": float(np.abs(fit.loo).max()),
                    "const_loo_mean": float(np.abs(const).mean()),
                    "int8_loo_mean": float(np.abs(est).mean()),
                    "int8_loo_worst": float(np.abs(est).max()),
                    "inside_worst": fit.worst_inside, "inside_points": int(fit.interior.sum())})
    return out
