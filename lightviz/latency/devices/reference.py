"""Reference devices: published latencies on devices nobody here owns (Streamlit- and torch-free).

``assets/published_device_latency.csv`` holds one row per published point (a family at one
width, resolution and group count, on one device, runtime and precision, batch 1), each with its
source (``assets/SOURCES.md``): TFLite's hosted-models table on a Pixel 3 (MobileNet v1's 16
alpha x resolution checkpoints in fp32 and int8, 4 CPU threads), tf-slim's MobileNet v2 table on
a Pixel 1 (22 checkpoints, one large core), the MobileNetV3 paper's Pixel 1 rows, torch2trt's
Jetson Nano and AGX Xavier TensorRT fp16 tables and the ShuffleNet V2 paper's Table 8 on a
Snapdragon 810 (images/s at batch 1, stored as 1000 / images/s). A reference device is one
``reference`` name of that file (a device with one runtime and thread count, as one source
measured it).

:func:`reference_latency` says what can be said about a configuration on one of them:

- ``published`` when the configuration is a published point (same family, width, resolution
  and group count, the paper's table, 1000 classes, the same precision): the number itself.
- ``interpolated`` inside the convex hull, in (ln alpha, ln rho), of a family's published GRID
  on that device and precision (MobileNet v2 on the Pixel 1, MobileNet v1 fp32 and int8 on the
  Pixel 3: points at several widths and several resolutions): :data:`RULE`, a least-squares
  fit of ln(ms) on ln(MACs), ln alpha and ln rho through the grid's points (MACs counted by
  lightviz, so any width and resolution has them). Of the rules compared by leave-one-out
  (``benchmarks/device_reference.py``) it has the lowest mean error over the three grids: a
  plane or a quadratic in (ln alpha, ln rho) misses MobileNet v2's fixed 1280-wide last conv,
  ln(MACs) alone misses the per-layer cost that does not shrink with width. The interval is
  the estimate times exp(+-h), h the worst leave-one-out ln error among the grid points that lie
  inside the hull of the others (the interpolations).
- ``none`` elsewhere, with the reason: another family, device or precision, an edited table,
  another number of classes, outside the grid's hull, or a device with only a few published
  points (never a number carried from another family, device or precision).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ...accuracy import convex_hull
from ...config import BASE_RESOLUTION, Config, parse_precision
from .figure import INTERPOLATED, PUBLISHED, DeviceLatency, no_figure

ASSETS = Path(__file__).resolve().parents[3] / "assets"
DEVICE_CSV = ASSETS / "published_device_latency.csv"
GRID_MIN_POINTS = 8  # a family on one device and precision is a grid from this many points ...
GRID_MIN_SIDE = 3  # ... at this many widths and this many resolutions at least
RULE = "ln MACs + ln alpha + ln rho"
EPS = 1e-9

GridKey = tuple[str, str, int | None, str]  # reference name, family, groups, precision


@dataclass(frozen=True)
class DevicePoint:
    """One published latency (a row of :data:`DEVICE_CSV`), milliseconds per image."""

    family: str
    alpha: float
    resolution: int
    groups: int | None
    reference: str
    device: str
    runtime: str
    precision: str
    threads: int | None
    batch: int
    ms: float
    source: str
    note: str = ""

    @property
    def xy(self) -> tuple[float, float]:
        return math.log(self.alpha), math.log(self.resolution / BASE_RESOLUTION)


@dataclass(frozen=True)
class ReferenceDevice:
    """A device known only from published measurements: ``name`` (what selectors show, e.g.
    ``Pixel 3 (TFLite CPU, 4 threads)``), the ``device`` and ``runtime``, the ``precisions``
    with published points, the ``families`` measured, and the ``sources``."""

    name: str
    device: str
    runtime: str
    threads: int | None
    precisions: tuple[str, ...]
    families: tuple[str, ...]
    sources: tuple[str, ...]


def _opt_int(text: str) -> int | None:
    return None if text.strip() == "" else int(text)


@lru_cache(maxsize=2)
def load_device_points(path: Path = DEVICE_CSV) -> tuple[DevicePoint, ...]:
    """Every published device latency, in the file's order."""
    if not Path(path).exists():
        raise FileNotFoundError(f"published device latency table not found at {path} (the app "
                                "ships it under assets/)")
    with open(path, newline="") as f:
        return tuple(DevicePoint(r["family"], float(r["alpha"]), int(r["resolution"]),
                                 _opt_int(r["groups"]), r["reference"], r["device"],
                                 r["runtime"], parse_precision(r["precision"]),
                                 _opt_int(r["threads"]), int(r["batch"]), float(r["ms"]),
                                 r["source"], r.get("note") or "")
                     for r in csv.DictReader(f))


@lru_cache(maxsize=1)
def reference_devices() -> list[ReferenceDevice]:
    """The reference devices, in the file's order."""
    by: dict[str, list[DevicePoint]] = {}
    for p in load_device_points():
        by.setdefault(p.reference, []).append(p)
    return [ReferenceDevice(name, ps[0].device, ps[0].runtime, ps[0].threads,
                            tuple(dict.fromkeys(p.precision for p in ps)),
                            tuple(dict.fromkeys(p.family for p in ps)),
                            tuple(dict.fromkeys(p.source for p in ps)))
            for name, ps in by.items()]


def reference_names() -> list[str]:
    return [d.name for d in reference_devices()]


def reference_device(name: str) -> ReferenceDevice:
    """The reference device called ``name``; ValueError naming the known ones otherwise."""
    for d in reference_devices():
        if d.name == name:
            return d
    raise ValueError(f"unknown reference device {name!r}: choose one of "
                     f"{', '.join(repr(n) for n in reference_names())}")


# ----------------------------------------------------------------------------- the grids

@lru_cache(maxsize=512)
def config_macs(family: str, alpha: float, resolution: int, groups: int | None) -> int:
    """MACs of the paper's network at this width and resolution (1000 classes), as lightviz
    counts them."""
    from ...counting import count

    return count(Config(family, alpha, resolution, groups)).macs


def _rule_row(rule: str, p) -> list[float]:
    x, y = math.log(p.alpha), math.log(p.resolution / BASE_RESOLUTION)
    if rule == "plane":
        return [1.0, x, y]
    if rule == "quadratic":
        return [1.0, x, y, x * x, x * y, y * y]
    m = math.log(config_macs(p.family, p.alpha, p.resolution, p.groups))
    return [1.0, m] if rule == "ln MACs" else [1.0, m, x, y]


# The interpolation rules compared by leave-one-out (benchmarks/device_reference.py), each a
# least-squares fit of ln(ms) on these terms: the shipped one (RULE) first.
RULES = {
    RULE: "ln(ms) on ln(MACs), ln alpha, ln rho",
    "ln MACs": "ln(ms) on ln(MACs) alone (a power law in MACs)",
    "plane": "ln(ms) on ln alpha, ln rho",
    "quadratic": "ln(ms) quadratic in ln alpha, ln rho",
}


def rule_features(rule: str, points) -> np.ndarray:
    """The design matrix of ``rule`` (a key of :data:`RULES`) for configurations with
    ``family``, ``alpha``, ``resolution`` and ``groups``."""
    if rule not in RULES:
        raise ValueError(f"unknown interpolation rule {rule!r}: one of {', '.join(RULES)}")
    return np.array([_rule_row(rule, p) for p in points], float)


def inside_hull(hull: list[tuple[float, float]], x: float, y: float) -> bool:
    """Whether (x, y) lies in the counter-clockwise hull (edges included)."""
    n = len(hull)
    if n < 3:
        return False
    return all((hull[(i + 1) % n][0] - hull[i][0]) * (y - hull[i][1])
               - (hull[(i + 1) % n][1] - hull[i][1]) * (x - hull[i][0]) >= -EPS
               for i in range(n))


@dataclass(frozen=True)
class Query:
    """A configuration as the rules read it (a :class:`DevicePoint` reads the same way)."""

    family: str
    alpha: float
    resolution: int
    groups: int | None


class Grid:
    """A family's published points on one reference device and precision, spread over widths
    and resolutions: the fit of ``rule`` (:data:`RULES`) through them, their hull in
    (ln alpha, ln rho) and the leave-one-out errors (ln estimate - ln published)."""

    def __init__(self, key: GridKey, points: tuple[DevicePoint, ...], rule: str = RULE):
        self.key, self.points, self.rule = key, points, rule
        self.X = rule_features(rule, points)
        self.t = np.log([p.ms for p in points])
        self.xy = [p.xy for p in points]
        self.hull = convex_hull(self.xy)
        n = len(points)
        self.coef = self.fit(np.ones(n, bool))
        self.loo = np.array([self.loo_error(i) for i in range(n)])
        self.interior = np.array([inside_hull(convex_hull(self.xy[:i] + self.xy[i + 1:]),
                                              *self.xy[i]) for i in range(n)])
        inner = np.abs(self.loo[self.interior])
        self.half = float(inner.max() if inner.size else np.abs(self.loo).max())

    def fit(self, keep: np.ndarray) -> np.ndarray:
        return np.linalg.lstsq(self.X[keep], self.t[keep], rcond=None)[0]

    def loo_error(self, i: int) -> float:
        keep = np.arange(len(self.points)) != i
        return float(self.X[i] @ self.fit(keep) - self.t[i])

    def inside(self, alpha: float, resolution: int) -> bool:
        return inside_hull(self.hull, math.log(alpha), math.log(resolution / BASE_RESOLUTION))

    def predict_ln(self, query) -> float:
        """ln(ms) of ``query`` (family, alpha, resolution, groups) by the fit."""
        return float(rule_features(self.rule, [query])[0] @ self.coef)

    def without(self, i: int) -> Grid:
        """The grid refitted without point ``i`` (the nested leave-one-out of the interval)."""
        return Grid(self.key, self.points[:i] + self.points[i + 1:], self.rule)

    def coverage(self) -> tuple[int, int]:
        """(covered, interior points): how many interior points' published values the interval
        of the grid refitted without them contains (its own leave-one-out width)."""
        hits = [bool(abs(g.predict_ln(self.points[i]) - self.t[i]) <= g.half + EPS)
                for i in np.flatnonzero(self.interior) for g in [self.without(int(i))]]
        return sum(hits), len(hits)

    @property
    def span(self) -> str:
        a = sorted({p.alpha for p in self.points})
        r = sorted({p.resolution for p in self.points})
        return f"alpha {a[0]:g}-{a[-1]:g} x {r[0]}-{r[-1]} px"


def _is_grid(points: list[DevicePoint]) -> bool:
    return (len(points) >= GRID_MIN_POINTS and len({p.alpha for p in points}) >= GRID_MIN_SIDE
            and len({p.resolution for p in points}) >= GRID_MIN_SIDE)


@lru_cache(maxsize=8)
def grids(rule: str = RULE) -> dict[GridKey, Grid]:
    """Every published grid (a family on one reference device and precision), fitted once."""
    by: dict[GridKey, list[DevicePoint]] = {}
    for p in load_device_points():
        by.setdefault((p.reference, p.family, p.groups, p.precision), []).append(p)
    return {k: Grid(k, tuple(v), rule) for k, v in by.items() if _is_grid(v)}


# ----------------------------------------------------------------------------- the figure

def published_point(name: str, cfg: Config, precision: str) -> DevicePoint | None:
    """The published point of exactly this configuration on ``name`` in ``precision``."""
    if cfg.custom or cfg.classes != 1000:
        return None
    for p in load_device_points():
        if (p.reference == name and p.family == cfg.arch and p.precision == precision
                and abs(p.alpha - cfg.alpha) < EPS and p.resolution == cfg.resolution
                and p.groups == cfg.groups):
            return p
    return None


def reference_latency(name: str, cfg: Config, precision: str) -> DeviceLatency:
    """Latency of ``cfg`` on the reference device ``name`` in ``precision``: published,
    interpolated inside a published grid, or none with the reason (see the module doc).
    ValueError for an unknown device or precision."""
    dev = reference_device(name)
    precision = parse_precision(precision)

    def none(reason: str) -> DeviceLatency:
        return no_figure(dev.name, dev.runtime, precision, reason)

    hit = published_point(name, cfg, precision)
    if hit is not None:
        note = f" ({hit.note})" if hit.note else ""
        return DeviceLatency(dev.name, dev.runtime, precision, PUBLISHED, hit.ms, hit.ms,
                             hit.ms, source=hit.source + note, batch=hit.batch)
    if precision not in dev.precisions:
        return none(f"{dev.name} has published latencies in {', '.join(dev.precisions)} only, "
                    f"not {precision}")
    if cfg.arch not in dev.families:
        return none(f"{dev.name} has published latencies of {', '.join(dev.families)} only, "
                    f"not {cfg.arch}")
    if cfg.custom:
        return none("the published latencies are of the papers' tables, not an edited one")
    if cfg.classes != 1000:
        return none(f"the published latencies are for ImageNet's 1000 classes, not {cfg.classes}")
    grid = grids().get((dev.name, cfg.arch, cfg.groups, precision))
    if grid is None:
        return none(f"{dev.name} publishes {cfg.arch} in {precision} at a few points only "
                    "(no grid to interpolate in); this configuration is not one of them")
    if not grid.inside(cfg.alpha, cfg.resolution):
        return none(f"outside the published grid of {cfg.arch} on {dev.name} ({grid.span}, "
                    "interpolation only inside its hull)")
    ln = grid.predict_ln(Query(cfg.arch, cfg.alpha, cfg.resolution, cfg.groups))
    ms = math.exp(ln)
    sources = ", ".join(dict.fromkeys(p.source for p in grid.points))
    return DeviceLatency(dev.name, dev.runtime, precision, INTERPOLATED, ms,
                         math.exp(ln - grid.half), math.exp(ln + grid.half),
                         source=f"interpolated ({RULE}) between {len(grid.points)} published "
                                f"points of {sources}; interval: worst leave-one-out error "
                                f"{math.expm1(grid.half):.1%}")


def reference_latencies(cfg: Config, precision: str) -> list[DeviceLatency]:
    """``cfg`` on every reference device, in :func:`reference_devices` order (Compare's device
    view keeps those whose status is not none)."""
    return [reference_latency(d.name, cfg, precision) for d in reference_devices()]


def loo_summary(rule: str = RULE) -> list[dict]:
    """Per published grid: leave-one-out |error| in % (mean and worst over all points and over
    the interior ones, which are interpolations) of ``rule``, and the interval's coverage."""
    out = []
    for (name, family, _, precision), g in grids(rule).items():
        err = np.abs(np.expm1(g.loo)) * 100
        covered, interior = g.coverage()
        out.append({"device": name, "family": family, "precision": precision, "rule": rule,
                    "points": len(g.points), "interior": interior,
                    "loo_mean": float(err.mean()), "loo_worst": float(err.max()),
                    "inside_mean": float(err[g.interior].mean()),
                    "inside_worst": float(err[g.interior].max()),
                    "interval": float(math.expm1(g.half) * 100),
                    "covered": covered})
    return out
