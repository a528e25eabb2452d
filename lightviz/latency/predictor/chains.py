"""Kernel chains: kernels timed over a designed spread of shapes that belongs to no family.

A calibration that learns its kernels only from the zoo's networks knows a kind of kernel only
where some family uses it: left out, ResNet takes every wide dense 3x3 conv with it and
ShuffleNet v1 every grouped conv, and a table or a family that uses them otherwise is
extrapolated. nn-Meter (Zhang et al., MobiSys 2021) times each kernel kind on shapes sampled to
cover what networks use; here a *chain* is a short random network of such kernels (a stem from
the image, then 1x1, k x k, depthwise and grouped convs, pooling, residual adds, concatenations,
channel shuffles and squeeze-excite, in random order, widths and strides), timed op by op in
place like the networks (an op's input just written by the op before it, as in every network:
alone an op runs up to 2.7x faster), so the kernels of a chain and of a network are the same
measurement. Every shape is drawn from the ranges the Design page accepts: channels log-uniform
in 8-4096, kernels 1-7, strides 1-2, groups up to 8, inputs 32-512 px. Four sorts: most start
from the image; *deep* ones start where networks end (2-16 px, 64-2048 channels, dense k x k
convs more often: ResNet's last stages, whose 3x3 convs run at a fifth of the MAC rate of the
same convs on large maps); *small* ones are what a network of a millisecond runs (every kind at
its narrowest, where a call's fixed cost is most of it); *thin* ones are a narrow network's
first stages (a few channels on large maps). Apart from the deep ones, some are also *grouped*:
a grouped conv, shuffled half the time, for 40% of their layers (ShuffleNet v1 is the only
family with grouped convs, and left out of a calibration it takes most of them with it). Half
end in a classifier.

A chain is built with the spec's own units (:mod:`lightviz.spec`) and counted by
:func:`lightviz.counting.trace`, so its rows, kernels and module paths are the networks'.
Torch-free; timed by :meth:`lightviz.latency.lab.protocol.Bench.spec_op_times`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...config import Config
from ...counting import Row, trace
from ...spec import ConvBNAct, Flatten, Flow, Linear, Pool, Sequence, SqueezeExcite, Unit
from .kernels import Kernel, row_kernels

MAX_LAYERS = 12
MAX_VALUES = 4 * 2**20  # one activation's values at most (16 MB in fp32)
DEEP = 0.3  # the share of chains that start on the last stages' shapes ...
SMALL = 0.2  # ... of chains as small as a network of a millisecond ...
THIN = 0.15  # ... and of thin chains: few channels on large maps (a narrow network's first stages)
GROUPED = 0.35  # the share of the other chains (not deep) that are grouped too ...
GROUPED_LAYER = 0.4  # ... drawing a grouped conv for this share of their layers
ACTS = ("relu", "relu6", None, "relu", "hardsigmoid")


@dataclass(frozen=True)
class Residual(Unit):
    """A stride-1 conv whose output is added to its input (ResNet's and MobileNet v2's add)."""

    body: ConvBNAct

    def children(self):
        return (("body", self.body),)

    def flow(self, f: Flow, x):
        return f.add("add", f.call("body", x), x)


@dataclass(frozen=True)
class Concat(Unit):
    """The input and a conv of it side by side (GhostNet's and ShuffleNet's concatenation)."""

    body: ConvBNAct

    def children(self):
        return (("body", self.body),)

    def flow(self, f: Flow, x):
        return f.cat("concat", [x, f.call("body", x)])


@dataclass(frozen=True)
class Shuffled(Unit):
    """A grouped conv and a channel shuffle of its output (ShuffleNet v1's)."""

    body: ConvBNAct
    groups: int

    def children(self):
        return (("body", self.body),)

    def flow(self, f: Flow, x):
        return f.shuffle("shuffle", f.call("body", x), self.groups)


@dataclass(frozen=True)
class Chain:
    """One chain: its spec (a :class:`~lightviz.spec.Sequence` of layers) and input side."""

    spec: Sequence
    resolution: int
    index: int

    @property
    def label(self) -> str:
        return f"kernel chain {self.index} @ {self.resolution}"

    def rows(self) -> list[Row]:
        return trace(self.spec, _stand_in(self.resolution))

    def macs(self) -> int:
        return sum(r.macs for r in self.rows())

    def kernels(self, fold_bn: bool = True) -> list[tuple[str, Kernel]]:
        """(row path, kernel) of each op that runs as a call."""
        return row_kernels(self.rows(), fold_bn)


def _stand_in(side: int) -> Config:
    """A Config for the tracer, which reads only its input side (and its label, in errors)."""
    return Config("mobilenet_v1", 1.0, side, None, 1000)


def _width(rng: random.Random, around: int, divisor: int = 1, narrow: int = 0) -> int:
    """A layer's output channels near ``around`` (a small or thin chain's: within an octave, at
    most ``narrow``), otherwise anywhere in 8-4096 three times in ten."""
    if narrow:
        c = min(float(narrow), around * 2 ** rng.uniform(-1.0, 1.0))
    else:
        c = around * 2 ** rng.uniform(-1.5, 1.5) if rng.random() < 0.7 else 2 ** rng.uniform(3, 12)
    c = max(8, min(4096, int(round(c / 8)) * 8))
    return max(divisor, c // divisor * divisor) if divisor > 1 else c


def _layer(rng: random.Random, c: int, hw: int, deep: bool = False, narrow: int = 0, grouped: bool = False):
    """One random layer on ``c`` x ``hw`` x ``hw`` (its output's shape is the tracer's to say);
    in a deep chain, a dense k x k conv more often (as in ResNet's last stages); in a small or
    thin one (``narrow``: its widest), narrow widths and a stride of 2 more often, so that a
    dozen layers fit its budget; in a grouped one, a grouped conv :data:`GROUPED_LAYER` of the
    time besides its share of the rest."""
    stride = 2 if hw > 4 and rng.random() < (0.4 if narrow else 0.25) else 1
    act = rng.choice(ACTS[:4])
    pick = rng.random()
    if deep and pick < 0.3:
        pick = 0.5 + 0.14 * rng.random()
    if grouped and rng.random() < GROUPED_LAYER:
        pick = 0.64 + 0.12 * rng.random()
    if pick < 0.26:  # pointwise
        out = _width(rng, c, narrow=narrow)
        return ConvBNAct(c, out, 1, stride if rng.random() < 0.2 else 1, act=act)
    if pick < 0.50:  # depthwise
        k = rng.choice((3, 3, 5, 7))
        return ConvBNAct(c, c, k, stride, groups=c, act=act)
    if pick < 0.64:  # dense k x k
        k = rng.choice((3, 3, 3, 5, 7))
        out = _width(rng, min(c, 1024), narrow=narrow)
        return ConvBNAct(c, out, k, stride, act=act)
    if pick < 0.76:  # grouped (1x1, sometimes 3x3), shuffled after half the time
        g = rng.choice(tuple(d for d in (2, 3, 4, 8) if c % d == 0) or (1,))
        out = _width(rng, c, 8 * g, narrow)
        k = 1 if rng.random() < 0.8 else 3
        conv = ConvBNAct(c, out, k, stride if k == 3 else 1, groups=g, act=act)
        return Shuffled(conv, g) if g > 1 and rng.random() < 0.5 else conv
    if pick < 0.84:  # residual add around a 1x1 or depthwise conv
        body = (ConvBNAct(c, c, 1, act=act) if rng.random() < 0.5
                else ConvBNAct(c, c, 3, groups=c, act=act))
        return Residual(body)
    if pick < 0.91 and 2 * c <= 4096:  # concatenation with a cheap conv of the input
        body = ConvBNAct(c, c, 3, groups=c, act=act) if rng.random() < 0.6 else ConvBNAct(c, c, 1, act=act)
        return Concat(body)
    if pick < 0.91:  # (too wide to concatenate) a residual add
        return Residual(ConvBNAct(c, c, 1, act=act))
    if pick < 0.96:  # squeeze-excite
        return SqueezeExcite(c, max(8, c // 4))
    return Pool(rng.choice(("max", "avg")), 3, 2, 1)


def _deep_start(rng: random.Random, c: int, hw: int) -> tuple[list, int, int]:
    """Layers that take a stem's output (``c`` x ``hw`` x ``hw``) to the last stages' shapes:
    an average pool down to about 2-16 px, then a 1x1 conv to 64-2048 channels (ResNet's wide dense
    3x3 convs on a few pixels run at a fifth of the MAC rate they reach on large maps; no
    network but ResNet has them, so without deep chains a calibration that leaves ResNet out
    never timed one)."""
    target = max(2, int(round(2 ** rng.uniform(1, 4))))
    s = max(1, hw // target)
    items: list[tuple[str, Any]] = [("reduce", Pool("avg", s, s, 0))] if s > 1 else []
    wide = _width(rng, int(2 ** rng.uniform(6, 11)))
    items.append(("widen", ConvBNAct(c, wide, 1, act=rng.choice(ACTS[:2]))))
    return items, wide, hw // s


def random_chain(rng: random.Random, index: int = 0, max_macs: float | None = None, side: int | None = None,
                 deep: bool | None = None, small: bool | None = None, thin: bool | None = None,
                 grouped: bool | None = None) -> Chain:
    """A chain of up to :data:`MAX_LAYERS` random layers after a stem, of at most ``max_macs``
    multiply-accumulates (default log-uniform in 10 M to 1.2 G: tens of ms on one core at most),
    on an input of ``side`` pixels (default uniform in its square root over 32-512), ending in a
    classifier (global pool, linear layer to 10-2000 outputs) half the time. A *deep* chain
    (:data:`DEEP` of them by default) starts where networks end: on 2-16 px and 64-2048 channels
    (:func:`_deep_start`; 30-300 M MACs). A *small* one (:data:`SMALL` of them) is what a
    network of a millisecond runs: 1-10 M MACs on 32-160 px, its stem 8-32 channels wide and its
    layers within an octave of the last (at most 256) with a stride of 2 more often (19.7 kernels
    a small chain instead of 13.4 with the wide draws, 2.5x the grouped convs under 80
    channels), so every kind's cost per call is timed at its narrowest (a TinyNet of 1 ms ran
    its grouped convs, shuffles and classifier 1.5-2.4x faster than a calibration without them
    predicted). A *thin* one (:data:`THIN`) is a narrow network's first stages: 10-60 M MACs on
    96-384 px, its stem 8-24 channels wide and its layers within an octave of the last (at most
    64), so grouped convs, shuffles and depthwise convs of a few channels are timed on maps of
    50-190 px (a TinyNet's, 8-32 channels on 89-177 px, ran 1.5-3x faster than a calibration
    without them predicted). A *grouped* one (:data:`GROUPED` of those not deep) draws a grouped
    conv for :data:`GROUPED_LAYER` of its layers: left out of the seed-21 campaign, ShuffleNet v1
    was 19.9% off, its grouped convs 35% over, with 62 grouped convs timed in that calibration's
    chains; sixteen such chains more (57 grouped convs) put it at 5.7%, and the family-out set
    at 7.2% instead of 9.9%, the rest within 0.1 points but the plugin family (7.9 -> 6.6%)."""
    pick = rng.random()
    deep = pick < DEEP if deep is None else deep
    small = (not deep and pick < DEEP + SMALL) if small is None else small
    thin = (not deep and not small and pick < DEEP + SMALL + THIN) if thin is None else thin
    grouped = (not deep and rng.random() < GROUPED) if grouped is None else grouped
    narrow = 64 if thin else 256 if small else 0
    low, top = (96, 384) if thin else (32, 160) if small else (32, 512)
    side = side or int(round(rng.uniform(math.sqrt(low), math.sqrt(top)) ** 2))
    lo, hi = (3e7, 3e8) if deep else (1e7, 6e7) if thin else (1e6, 1e7) if small else (1e7, 1.2e9)
    max_macs = max_macs or 10 ** rng.uniform(math.log10(lo), math.log10(hi))
    k = rng.choice((3, 3, 3, 5, 7))
    hw = (side + 2 * (k // 2) - k) // 2 + 1
    stem = _width(rng, 12, narrow=24) if thin else _width(rng, 16 if small else 24)
    c = max(8, min(stem, 96, MAX_VALUES // (hw * hw) // 8 * 8))
    items: list[tuple[str, Any]] = [("stem", ConvBNAct(3, c, k, 2, act=rng.choice(ACTS[:2])))]
    if deep:
        start, c, hw = _deep_start(rng, c, hw)
        items += start
    tries = 0
    while len(items) <= MAX_LAYERS and tries < 40:
        tries += 1
        unit = _layer(rng, c, hw, deep, narrow, grouped)
        if isinstance(unit, (SqueezeExcite, Pool)) and any(type(u) is type(unit) for _, u in items):
            continue  # one of each: they fit any budget and would fill a tight chain
        trial = Sequence(tuple(items) + ((f"l{len(items)}", unit),))
        try:
            rows = trace(trial, _stand_in(side))
        except ValueError:  # the map collapsed
            continue
        total, last = sum(r.macs for r in rows), rows[-1]
        if total > max_macs or max(r.out_c * r.out_h * r.out_w for r in rows) > MAX_VALUES:
            continue
        items.append((f"l{len(items)}", unit))
        c, hw = last.out_c, last.out_h
    if rng.random() < 0.5:  # a classifier, so no family's head is the only linear layer timed
        classes = int(round(2 ** rng.uniform(math.log2(10), math.log2(2000))))
        head: list[tuple[str, Any]] = [("pool", Pool("global")), ("flatten", Flatten()), ("fc", Linear(c, classes))]
        if sum(r.macs for r in trace(Sequence(tuple(items + head)), _stand_in(side))) <= max_macs:
            items += head
    return Chain(Sequence(tuple(items)), side, index)


def chains(seed: int = 0) -> Iterator[Chain]:
    """The calibration's chains, in the order they are timed (endless; seeded)."""
    rng = random.Random(f"chains-{seed}")
    i = 0
    while True:
        yield random_chain(rng, i)
        i += 1
