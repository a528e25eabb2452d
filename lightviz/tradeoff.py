"""The rules behind both doors (the app's pages and the ``lightviz`` command) for the trade-off
views: the grids of α and resolution, the sweeps of a configuration, the latency a Pareto front
uses, and where a configuration stands against a front.

Streamlit-free and torch-free at import (the latency store and model are imported when a latency
is asked for), so the read-only commands and Explore stay light.

- **Grids.** The sliders' stops (α every 0.05 from 0.25 to 2, resolution every 8 px from 32 to
  512) are also the Pareto search's grid (:mod:`lightviz.pareto`). A sweep has two densities,
  each with one name: a *curve* grid, counted or predicted (about 2 ms a point, so dense: every
  α stop and every 32 px), and a *measured* grid, timed on this host (seconds a point, so seven
  widths and six resolutions around the published ones).
- **Sweeps** (:func:`width_sweep`, :func:`resolution_sweep`, :func:`zoo_sweep`): the
  configurations of a sweep around one configuration, an edited table's refused α left out.
- **The Pareto latency cost** (:func:`latency_cost`): measured where the store has a measurement
  of this configuration with this setup on this host (its median), else predicted by the
  latency model (:func:`lightviz.latency.predictor.model.predict`); the status says which. The
  app's Pareto view and ``lightviz pareto --max-ms`` both use it, so one setup and one budget
  give one front.
- **The current configuration's place** (:func:`place_on_front`): its cost and top-1 on the
  chart, whether the front holds it, the front's point that dominates it, or why it is not shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .config import (
    ALPHA_MAX,
    ALPHA_MIN,
    BASE_RESOLUTION,
    RESOLUTION_MAX,
    RESOLUTION_MIN,
    Config,
)
from .configure import arch_names, make_config

# ----------------------------------------------------------------------------- grids

ALPHA_STEP = 0.05
# The α slider's stops and the Pareto grid's widths: 0.25, 0.30, ... 2.00 (every published
# multiplier is on it).
ALPHA_STOPS = tuple(round(ALPHA_MIN + i * ALPHA_STEP, 2)
                    for i in range(int(round((ALPHA_MAX - ALPHA_MIN) / ALPHA_STEP)) + 1))
RESOLUTION_STEP = 8
# The ρ slider's input sides and the Pareto grid's resolutions: 32, 40, ... 512 px (every
# published resolution is on it).
RESOLUTION_STOPS = tuple(range(RESOLUTION_MIN, RESOLUTION_MAX + 1, RESOLUTION_STEP))

# Curve grids: counted (or predicted) totals, about 2 ms a point: every α stop, every fourth
# resolution stop (32, 64, ... 512 px: 16 points, 224 among them). Explore's scaling charts.
CURVE_ALPHAS = ALPHA_STOPS
CURVE_RESOLUTIONS = RESOLUTION_STOPS[::4]
# Measured grids: each point is built, warmed up and timed (seconds each), so a few points around
# the published widths and resolutions. The Latency page's sweeps.
MEASURED_ALPHAS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
MEASURED_RESOLUTIONS = (96, 128, 160, 192, 224, 256)


# ----------------------------------------------------------------------------- sweeps

def _accepted(cfg: Config, **change) -> Config | None:
    """``cfg`` with ``change`` (alpha and/or resolution), or None where its table refuses it."""
    kw = dict(alpha=cfg.alpha, resolution=cfg.resolution)
    kw.update(change)
    try:
        return make_config(cfg.arch, kw["alpha"], resolution=kw["resolution"], groups=cfg.groups,
                           classes=cfg.classes, settings=cfg.settings)
    except ValueError:  # an edited table (the Design page) can be refused at some alpha
        return None


def width_sweep(cfg: Config, alphas: Iterable[float] = CURVE_ALPHAS,
                also: Iterable[float] = ()) -> list[Config]:
    """``cfg`` at every α of ``alphas`` (and ``also``) within the slider's range, in order,
    at its own resolution; an α its table refuses is left out."""
    grid = sorted({a for a in alphas if ALPHA_MIN <= a <= ALPHA_MAX} | set(also))
    return [c for a in grid if (c := _accepted(cfg, alpha=a)) is not None]


def resolution_sweep(cfg: Config, resolutions: Iterable[int] = CURVE_RESOLUTIONS,
                     also: Iterable[int] = ()) -> list[Config]:
    """``cfg`` at every resolution of ``resolutions`` (and ``also``), in order, at its own α."""
    grid = sorted(set(resolutions) | set(also))
    return [c for r in grid if (c := _accepted(cfg, resolution=r)) is not None]


def zoo_sweep(cfg: Config) -> list[Config]:
    """Every registered architecture at α 1 (its default variant), at ``cfg``'s resolution and
    classes."""
    return [make_config(a, 1.0, resolution=cfg.resolution, classes=cfg.classes)
            for a in arch_names()]


def curve_sweeps(cfg: Config) -> tuple[list[Config], list[Config]]:
    """Explore's two curves around ``cfg``: the width sweep on :data:`CURVE_ALPHAS` and the
    resolution sweep on :data:`CURVE_RESOLUTIONS` with 224 px (ρ 1) always among them."""
    return width_sweep(cfg), resolution_sweep(cfg, also=(BASE_RESOLUTION,))


def measured_sweeps(cfg: Config) -> tuple[list[Config], list[Config], list[Config]]:
    """The Latency page's three sweeps around ``cfg``: widths on :data:`MEASURED_ALPHAS` and
    resolutions on :data:`MEASURED_RESOLUTIONS`, each with ``cfg``'s own value, and the zoo."""
    return (width_sweep(cfg, MEASURED_ALPHAS, also=(cfg.alpha,)),
            resolution_sweep(cfg, MEASURED_RESOLUTIONS, also=(cfg.resolution,)),
            zoo_sweep(cfg))


# ----------------------------------------------------------------------------- latency cost

MEASURED, PREDICTED = "measured", "predicted"


@dataclass(frozen=True)
class LatencyCost:
    """The latency a Pareto front uses for one configuration: ``ms`` with a spread (a
    measurement's p10-p90 where stored, else its median; a prediction's interval) and its
    ``status``, :data:`MEASURED` or :data:`PREDICTED`."""

    ms: float
    low_ms: float
    high_ms: float
    status: str

    def columns(self) -> dict:
        """The row columns ``ms``, ``ms_low``, ``ms_high``, ``ms_status`` (unrounded)."""
        return {"ms": self.ms, "ms_low": self.low_ms, "ms_high": self.high_ms,
                "ms_status": self.status}


def latency_cost(cfg: Config, setup) -> LatencyCost:
    """Measured where the store has ``cfg`` measured with ``setup`` on this host (the latest
    median), else predicted by this host's latency model for ``setup``. Raises the model's
    NotCalibrated (a one-line ValueError naming the calibrate command) when a prediction is
    needed and ``setup`` has no model here."""
    from .latency.predictor.model import predict
    from .latency.predictor.store import measured

    m = measured(cfg, setup)
    if m:
        ms = float(m["median_ms"])
        lo, hi = m.get("p10_ms"), m.get("p90_ms")
        return LatencyCost(ms, ms if lo is None else float(lo), ms if hi is None else float(hi),
                           MEASURED)
    p = predict(cfg, setup)
    return LatencyCost(float(p.predicted_ms), float(p.low_ms), float(p.high_ms), PREDICTED)


def latency_costs(setup):
    """:func:`latency_cost` for ``setup``, remembered per configuration (one front's worth)."""
    seen: dict[Config, LatencyCost] = {}

    def at(cfg: Config) -> LatencyCost:
        if cfg not in seen:
            seen[cfg] = latency_cost(cfg, setup)
        return seen[cfg]
    return at


# ----------------------------------------------------------------------------- place on the front

@dataclass(frozen=True)
class Place:
    """Where a configuration stands on a Pareto chart: its ``cost`` and ``top1`` (None when
    it is not drawn), whether it is ``on_front``, the front's row that ``dominated_by`` it
    (costs no more, higher top-1; None when none does) and, when it is not drawn, ``why``."""

    cost: float | None
    top1: float | None
    on_front: bool
    dominated_by: Mapping | None
    why: str


NO_ESTIMATE = "The sidebar's configuration has no estimate, so it is not on the chart."
EXTRAPOLATED_HIDDEN = ("The sidebar's configuration is extrapolated: switch on extrapolated "
                       "estimates to see it.")


@lru_cache(maxsize=8192)
def totals(arch: str, alpha: float, resolution: int, groups: int | None) -> tuple[int, int]:
    """(MACs, params) of one configuration, cached: the cost axes of the front."""
    from .counting import count

    p = count(make_config(arch, alpha, resolution=resolution, groups=groups))
    return p.macs, p.params


def _same(row: Mapping, cfg: Config) -> bool:
    g = row.get("groups")
    g = None if g is None or g != g else int(g)  # None, NaN or a pandas NA
    return (row["arch"] == cfg.arch and abs(row["alpha"] - cfg.alpha) < 1e-9
            and int(row["resolution"]) == cfg.resolution and (cfg.groups is None or g == cfg.groups))


def _cost_of(cfg: Config, cost: str, rows: Sequence[Mapping]) -> float | None:
    if cost in ("macs", "params"):
        macs, params = totals(cfg.arch, cfg.alpha, cfg.resolution, cfg.groups)
        return {"macs": macs, "params": params}[cost]
    mine = next((r for r in rows if _same(r, cfg)), None)  # latency: the row's (same rule)
    return None if mine is None else float(mine[cost])


def place_on_front(cfg: Config, rows: Sequence[Mapping], front: Sequence[Mapping], cost: str,
                   extrapolate: bool, precision: str = "fp32") -> Place:
    """``cfg``'s place among ``rows`` (the chart's candidates, with a ``cost`` column) and on
    their ``front``: what the Pareto view rings and says; the top-1 at ``precision``."""
    from .accuracy import EXTRAPOLATED
    from .accuracy_int8 import estimate_for

    e = estimate_for(cfg, precision)
    if e.value is None:
        return Place(None, None, False, None, NO_ESTIMATE)
    if e.status == EXTRAPOLATED and not extrapolate:
        return Place(None, None, False, None, EXTRAPOLATED_HIDDEN)
    value = _cost_of(cfg, cost, rows)
    if value is None:
        return Place(None, None, False, None, "")
    on = any(_same(r, cfg) for r in front)
    better = [r for r in front if r[cost] <= value and r["top1"] > e.value + 1e-9]
    best = max(better, key=lambda r: (r["top1"], -r[cost])) if better and not on else None
    return Place(value, e.value, on, best, "")
