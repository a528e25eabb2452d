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
  Pixel 3: points at several widths and several resolutions), by the rule of
  :mod:`.interpolate` (``additive``: a fixed cost plus non-negative costs per MAC, per
  activation byte and per weight, as lightviz counts them), chosen among several by leave-one-out
  (``benchmarks/device_reference.py``); the interval is the worst leave-one-out error of the
  grid's interior points, as for top-1 (:mod:`lightviz.accuracy`).
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

from ...config import BASE_RESOLUTION, Config, parse_precision
from .figure import INTERPOLATED, PUBLISHED, DeviceLatency, no_figure
from .interpolate import EPS, RULE, RULES, Grid

ASSETS = Path(__file__).resolve().parents[3] / "assets"
DEVICE_CSV = ASSETS / "published_device_latency.csv"
GRID_MIN_POINTS = 8  # a family on one device and precision is a grid from this many points ...
GRID_MIN_SIDE = 3  # ... at this many widths and this many resolutions at least

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


def reference_devices() -> list[ReferenceDevice]:
    """The reference devices, in the file's order."""
    return list(_devices())


@lru_cache(maxsize=1)
def _devices() -> tuple[ReferenceDevice, ...]:
    by: dict[str, list[DevicePoint]] = {}
    for p in load_device_points():
        by.setdefault(p.reference, []).append(p)
    return tuple(ReferenceDevice(name, ps[0].device, ps[0].runtime, ps[0].threads,
                                 tuple(dict.fromkeys(p.precision for p in ps)),
                                 tuple(dict.fromkeys(p.family for p in ps)),
                                 tuple(dict.fromkeys(p.source for p in ps)))
                 for name, ps in by.items())


def reference_names() -> list[str]:
    """The reference devices' names, as selectors list them."""
    return [d.name for d in _devices()]


def reference_device(name: str) -> ReferenceDevice:
    """The reference device called ``name``; ValueError naming the known ones otherwise."""
    for d in _devices():
        if d.name == name:
            return d
    raise ValueError(f"unknown reference device {name!r}: choose one of "
                     f"{', '.join(repr(n) for n in reference_names())}")


# ----------------------------------------------------------------------------- the grids

@dataclass(frozen=True)
class Query:
    """A configuration as the rules read it (a :class:`DevicePoint` reads the same way)."""

    family: str
    alpha: float
    resolution: int
    groups: int | None


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
                         source=f"interpolated ({RULE}: {RULES[RULE]}) between "
                                f"{len(grid.points)} published points of {sources}; interval: "
                                f"worst leave-one-out error {math.expm1(grid.half):.1%}")


def reference_latencies(cfg: Config, precision: str) -> list[DeviceLatency]:
    """``cfg`` on every reference device, in :func:`reference_devices` order (Compare's device
    view keeps those whose status is not none)."""
    return [reference_latency(d.name, cfg, precision) for d in _devices()]


def loo_summary(rule: str = RULE) -> list[dict]:
    """Per published grid, what :meth:`Grid.summary` says of ``rule`` (a key of
    :data:`~lightviz.latency.devices.interpolate.RULES`): leave-one-out errors in %, the
    interval and its coverage."""
    if rule not in RULES:
        raise ValueError(f"unknown interpolation rule {rule!r}: one of {', '.join(RULES)}")
    return [{"device": name, "family": family, "precision": precision, **g.summary()}
            for (name, family, _, precision), g in grids(rule).items()]
