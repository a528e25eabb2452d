"""What a kernel calibration measures: networks whose ops cover the shapes people run.

The papers' tables at scattered widths and inputs (:func:`lightviz.latency.predictor.calibrate.design`)
cover the zoo; edited tables (the Design page's) reach shapes no paper has: other widths and
depths, strides moved, other expansions, kernels and SE ratios. :func:`random_settings` draws one
for any family with an editable table by perturbing the paper's table value by value (widths by a
factor 2^U(-1, 1), small integers by one step, odd ones by two so kernels stay odd, SE ratios
among 0 and 0.25; a row more or fewer) and keeps the first draw that
:func:`lightviz.configure.make_config` accepts, so every drawn table is one the Design page would
accept. The same draws make the benchmark's held-out tables (another seed).

*Short networks* (:func:`short_settings`): a family's table cut to a few blocks at a low width
and input, networks of 0.2-3 ms, which no paper's table runs as on one core; without them the
network term was fitted only on networks of 2 ms and more.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from ...config import Config
from ...configure import make_config
from ...counting import count
from ...zoo import REGISTRY
from ...zoo.table import current

TRIES = 60
SHORT_EVERY = 3  # a short network after every third of the zoo's points
SHORT_KEEP = 0.35  # the share of a listed table's rows a short network keeps
SHORT_ALPHA = (0.25, 1.0)
SHORT_SIDE = (32, 160)
SHORT_MACS = (0.5e6, 20e6)  # a short network's MACs at most: log-uniform between these


def _perturb(value, rng: random.Random, p: float):
    """The table with some of its numbers moved (see the module doc)."""
    if isinstance(value, list):
        out = [_perturb(v, rng, p) for v in value]
        if out and isinstance(out[0], list) and rng.random() < p / 2:  # a row more or fewer
            if len(out) > 1 and rng.random() < 0.5:
                out.pop(rng.randrange(len(out)))
            else:
                i = rng.randrange(len(out))
                out.insert(i, list(out[i]))
        return out
    if isinstance(value, bool) or rng.random() >= p:
        return value
    if isinstance(value, float):
        return rng.choice((0.0, 0.25))
    if isinstance(value, int):
        if value >= 12:  # a width
            return max(8, int(round(value * 2 ** rng.uniform(-1, 1) / 8)) * 8)
        step = 2 if value in (3, 5, 7, 9) else 1  # odd sizes stay odd (kernels)
        return max(1, value + rng.choice((-step, step)))
    return value


def random_settings(arch: str, rng: random.Random, alpha: float = 1.0, resolution: int = 224,
                    groups: int | None = None, p: float = 0.35) -> Config | None:
    """A configuration of ``arch`` with a randomly edited table that the Design page accepts,
    or None when the family has no table (or no accepted draw in :data:`TRIES`)."""
    base = make_config(arch, alpha, resolution=resolution, groups=groups)
    if REGISTRY[arch].table is None:
        return None
    paper = current(base)
    for _ in range(TRIES):
        settings = {key: _perturb(value, rng, p) for key, value in paper.items()}
        try:
            cfg = make_config(arch, alpha, resolution=resolution, groups=groups, settings=settings)
        except ValueError:
            continue
        if cfg.settings is not None:
            return cfg
    return None


def _log_uniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return lo * (hi / lo) ** rng.random()


def _shrink(value, rng: random.Random):
    """A table cut down to a few blocks (see :func:`short_settings`)."""
    if not isinstance(value, list) or not value:
        return value
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [1] * len(value) if max(value) <= 16 else value  # repeats: one block each; widths stay
    if all(isinstance(v, list) and v and isinstance(v[0], list) for v in value):
        return [[rng.choice(stage)] for stage in value]  # stages of rows: one row each
    if all(isinstance(v, list) for v in value):  # rows: about a third of them, in order
        kept = [row for row in value if rng.random() < SHORT_KEEP]
        return kept or [rng.choice(value)]
    return value


def short_settings(arch: str, rng: random.Random, groups: int | None = None) -> Config | None:
    """A configuration of ``arch`` as short as a network of a millisecond or less: its table
    cut to a few blocks (one per stage where the table counts repeats or groups rows in stages,
    about a third of the rows where it lists them), alpha log-uniform in
    :data:`SHORT_ALPHA`, the input side uniform in its square root over :data:`SHORT_SIDE`, and
    at most a number of MACs drawn log-uniform in :data:`SHORT_MACS` (a ResNet or a GhostNet
    cut to a block a stage is still tens of ms at alpha 1 and 160 px; where no draw fits, the
    one of fewest MACs).
    The papers' tables at alpha 0.25 and 32 px still run for 2 ms or more on one core (dozens
    of calls); networks of 0.5-2 ms (a plugin's toy family, a student's cut-down table) were
    otherwise predicted from a network term fitted only on longer ones. None where the family
    has no table (or no accepted draw in :data:`TRIES`)."""
    if REGISTRY[arch].table is None:
        return None
    paper = current(make_config(arch, groups=groups))  # the paper's table: no width or input in it
    lo, hi = (math.sqrt(s) for s in SHORT_SIDE)
    max_macs = _log_uniform(rng, SHORT_MACS)
    best: tuple[float, Config] | None = None
    for _ in range(TRIES):
        alpha = round(_log_uniform(rng, SHORT_ALPHA), 3)
        side = int(round(rng.uniform(lo, hi) ** 2))
        settings = {key: _shrink(value, rng) for key, value in paper.items()}
        for _ in range(2):  # over the MACs: once more at the side that would fit them
            try:
                cfg = make_config(arch, alpha, resolution=side, groups=groups, settings=settings)
            except ValueError:
                break
            if cfg.settings is None:
                break
            macs = count(cfg).macs
            if best is None or macs < best[0]:
                best = (macs, cfg)
            if macs <= max_macs:
                return cfg
            side = max(SHORT_SIDE[0], int(side * math.sqrt(max_macs / macs)))
    return None if best is None else best[1]  # the family's smallest cut draws: the closest


def kernel_design(zoo: list[Config], seed: int = 0, every: int = 3, short_every: int = SHORT_EVERY
                  ) -> Iterator[Config]:
    """The zoo's design with an edited table of the same architecture, width and input after
    every ``every``-th point, and a short network (:func:`short_settings`) of the same
    architecture after every ``short_every``-th (0: none): the calibration's networks, in the
    order they are measured."""
    rng = random.Random(seed)
    short_rng = random.Random(f"short-{seed}")
    for i, cfg in enumerate(zoo):
        yield cfg
        if i % every == every - 1:
            edited = random_settings(cfg.arch, rng, cfg.alpha, cfg.resolution, cfg.groups)
            if edited is not None:
                yield edited
        if short_every and i % short_every == short_every - 1:
            short = short_settings(cfg.arch, short_rng, cfg.groups)
            if short is not None:
                yield short
