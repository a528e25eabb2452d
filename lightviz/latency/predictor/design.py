"""What a kernel calibration measures: networks whose ops cover the shapes people run.

The papers' tables at scattered widths and inputs (:func:`lightviz.latency.predictor.calibrate.design`)
cover the zoo; edited tables (the Design page's) reach shapes no paper has: other widths and
depths, strides moved, other expansions, kernels and SE ratios. :func:`random_settings` draws one
for any family with an editable table by perturbing the paper's table value by value (widths by a
factor 2^U(-1, 1), small integers by one step, odd ones by two so kernels stay odd, SE ratios
among 0 and 0.25; a row more or fewer) and keeps the first draw that
:func:`lightviz.configure.make_config` accepts, so every drawn table is one the Design page would
accept. The same draws make the benchmark's held-out tables (another seed).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from ...config import Config
from ...configure import make_config
from ...zoo import REGISTRY
from ...zoo.table import current

TRIES = 60


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


def kernel_design(zoo: list[Config], seed: int = 0, every: int = 3) -> Iterator[Config]:
    """The zoo's design with an edited table of the same architecture, width and input after
    every ``every``-th point: the calibration's networks, in the order they are measured."""
    rng = random.Random(seed)
    for i, cfg in enumerate(zoo):
        yield cfg
        if i % every == every - 1:
            edited = random_settings(cfg.arch, rng, cfg.alpha, cfg.resolution, cfg.groups)
            if edited is not None:
                yield edited
