"""ShuffleNet v1 (Zhang et al., "ShuffleNet: An Extremely Efficient Convolutional Neural Network
for Mobile Devices", CVPR 2018).

The unit (Fig. 2b, c): a grouped 1x1 conv, a channel shuffle so the next grouped conv sees every
group, a 3x3 depthwise conv, a second grouped 1x1 conv; an identity add at stride 1, and at
stride 2 a 3x3 average-pooled shortcut concatenated to the main branch, which therefore outputs
``out - in`` channels. The bottleneck is ``out / 4``; stage 2's first 1x1 conv is not grouped
(its input has only 24 channels). Widths are the paper's Table 1; ``alpha`` ("ShuffleNet s x",
"scaling the number of filters by s") scales them with ``make_divisible(., 4 g)`` so every
grouped width divides by g, and scales the 24-wide stem with ``make_divisible(., lcm(4, g))``
(megvii's released 0.5x models: 12 channels for g=3, 16 for g=8; that makes 0.5x g=3 37.6M MACs
against the paper's 38M, where an unscaled stem gives 42.7M). megvii keeps 24 at 1.5x; here the
stem scales to 36 there, by the same rule as every other width.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from typing import Any, cast

from ..config import Config
from ..spec import Act, Children, ConvBNAct, Flow, Node, Pool, Sequence, Unit, X
from ..styles import colour
from .arch import Arch, BlockFacts, CalculatorUnit, Variant
from .common import Network, Stage, make_divisible, pooled_classifier
from .table import MAX_BLOCKS, STAGE_COLUMN, Column, Problem, Rows, Table, cell, current, whole_lists

STEM_WIDTH = 24
REPEATS = (4, 8, 4)  # stage2, stage3, stage4: Table 1
# groups -> output channels of stage2..stage4 at 1x: Table 1.
STAGE_WIDTHS = {
    1: (144, 288, 576),
    2: (200, 400, 800),
    3: (240, 480, 960),
    4: (272, 544, 1088),
    8: (384, 768, 1536),
}
GROUPS = tuple(STAGE_WIDTHS)  # the group counts of Table 1: the ``groups`` variant's values
DEFAULT_GROUPS = 3  # the paper's headline model


@dataclass(frozen=True)
class ShuffleUnit(Unit):
    """GConv 1x1 -> shuffle -> DWConv 3x3 -> GConv 1x1, then add (stride 1) or concat with an
    average-pooled shortcut (stride 2), then ReLU."""

    in_ch: int
    out_ch: int
    stride: int
    groups: int
    first_grouped: bool = True

    @property
    def bottleneck(self) -> int:
        return self.out_ch // 4

    @property
    def main_out(self) -> int:
        return self.out_ch - self.in_ch if self.stride == 2 else self.out_ch

    def children(self) -> Children:
        g1 = self.groups if self.first_grouped else 1
        mid = self.bottleneck
        layers: list[tuple[str, Node]] = [
            ("gconv1", ConvBNAct(self.in_ch, mid, 1, groups=g1)),
            ("conv_dw", ConvBNAct(mid, mid, 3, self.stride, groups=mid, act=None)),
            ("gconv2", ConvBNAct(mid, self.main_out, 1, groups=self.groups, act=None)),
        ]
        if self.stride == 2:
            layers.append(("shortcut", Pool("avg", 3, 2, 1)))
        layers.append(("act", Act("relu")))
        return tuple(layers)

    def flow(self, f: Flow[X], x: X) -> X:
        h = f.call("gconv1", x)
        if self.groups > 1:
            h = f.shuffle("shuffle", h, self.groups)
        h = f.call("gconv2", f.call("conv_dw", h))
        if self.stride == 2:
            out = f.cat("concat", [f.call("shortcut", x), h])
        else:
            out = f.add("add", h, x)
        return f.call("act", out)


def _stem(cfg: Config) -> int:
    g = cast(int, cfg.groups)  # never None here: the groups variant is declared below
    return make_divisible(STEM_WIDTH * cfg.alpha, 4 * g // gcd(4, g))


def spec(cfg: Config) -> Network:
    g = cast(int, cfg.groups)
    table = current(cfg)
    stem = _stem(cfg)
    items = [("stem", Sequence((
        ("conv", ConvBNAct(3, stem, 3, 2)),
        ("pool", Pool("max", 3, 2, 1)),
    )))]
    in_ch = stem
    for i, (width, n) in enumerate(zip(table["widths"], table["repeats"])):
        out_ch = make_divisible(width * cfg.alpha, 4 * g)
        blocks = []
        for j in range(n):
            blocks.append(ShuffleUnit(in_ch, out_ch, 2 if j == 0 else 1, g,
                                      first_grouped=not (i == 0 and j == 0)))
            in_ch = out_ch
        items.append((f"stage{i + 2}", Stage.of(blocks)))
    items.append(("head", Sequence(pooled_classifier(in_ch, cfg.classes))))
    return Network(tuple(items), cfg)


def describe(b: Node, facts: BlockFacts) -> str | None:
    """The diagram note of a ShuffleNet unit: grouped 1x1 convs, the shuffle, the shortcut."""
    if not isinstance(b, ShuffleUnit):
        return None
    g, s = b.groups, b.stride
    first = ("grouped" if b.first_grouped else
             "**not** grouped (its input has only a few channels, as in the paper)")
    if s == 2:
        tail = (f"At stride 2 the shortcut is a 3x3 average pool, **concatenated** to the main "
                f"branch, which therefore makes only {b.main_out} = {b.out_ch} - {b.in_ch} channels.")
    else:
        tail = "At stride 1 the input is added back (identity shortcut)."
    return (f"**ShuffleNet unit** (g = {g}): the first 1x1 conv ({b.in_ch} -> {b.bottleneck}) "
            f"is {first}; a **channel shuffle** then interleaves the {g} groups so that the next "
            f"grouped conv sees channels from every group; a 3x3 depthwise conv (stride {s}, no "
            f"ReLU) and a grouped 1x1 conv (g = {g}) follow. Grouping divides the 1x1 convs' "
            f"cost by g. {tail} {facts.fmt(facts.macs)} MACs.")


def _fits(c, t, g):
    if c % 4 == 0 and (c // 4) % g == 0:
        return None
    return f"needs C/4 divisible by g = {g} (C = {c}: try a multiple of {4 * g})"


STAGES = ("stage2", "stage3", "stage4")


def _default(cfg: Config) -> dict[str, Any]:
    return {"repeats": list(REPEATS), "widths": list(STAGE_WIDTHS[cast(int, cfg.groups)])}


def _check(table: dict[str, Any], cfg: Config) -> list[Problem]:
    """Units per stage (at least 1: the stride-2 unit; 64 in all) and stage widths that the
    unit can use: a multiple of 4 g (the bottleneck out/4 is split into g groups), and wider
    than the stage before, also once alpha has rounded them (a stride-2 unit concatenates its
    input, so its main branch makes out - in channels)."""
    r, g = Rows(), cast(int, cfg.groups)
    repeats, widths = r.numbers(table["repeats"], "repeats", 3), r.numbers(table["widths"], "widths", 3)
    prev: int | None
    total, prev, prev_name = 0, _stem(cfg), "the stem"
    for i, name in enumerate(STAGES):
        if repeats is not None:
            total += r.number(repeats[i], f"repeats {name}", "", 1, MAX_BLOCKS, i, col="repeats") or 0
        if widths is None:
            continue
        w = r.width(widths[i], f"widths {name}", "", i, col="widths")
        if w is None:
            prev = None
            continue
        if w % (4 * g):
            r.add(i, "widths", f"widths {name} {w} must be a multiple of 4 g = {4 * g} (the "
                               f"bottleneck {w}/4 is split into g = {g} groups)")
            prev = None
            continue
        out = make_divisible(w * cfg.alpha, 4 * g)
        if prev is not None and out <= prev:
            at = "" if cfg.alpha == 1.0 else f" (at alpha {cfg.alpha:g}: {out})"
            r.add(i, "widths", f"widths {name} {w}{at} must be wider than {prev_name} ({prev}): "
                               f"its stride-2 unit concatenates the input, so the main branch "
                               f"makes out - in channels")
        prev, prev_name = out, name
    r.total_blocks(total)
    return r.problems


TABLE = Table(
    default=_default, check=_check,
    normalize=whole_lists("repeats", "widths"),
    columns=(STAGE_COLUMN,
             Column("repeats", "int", "units in the stage (the first has stride 2)"),
             Column("widths", "int", "output channels at 1x, a multiple of 4 g")),
    rows=lambda d: ([{"stage": s, "repeats": n, "widths": w}
                     for s, n, w in zip(STAGES, d["repeats"], d["widths"])], {}),
    from_rows=lambda rows, sc: ({"repeats": [cell(r.get("repeats")) for r in rows],
                                 "widths": [cell(r.get("widths")) for r in rows]}, []),
    dynamic=False,
    help="Table 1 of the paper for the chosen g: units per stage and output channels; the "
         "24-wide stem and the strides are fixed.",
)

ARCHS = (
    Arch(name="shufflenet_v1", family="ShuffleNet v1", paper="Zhang et al., ShuffleNet, CVPR 2018",
         spec=spec, colour=colour("shufflenet_v1"), describe=describe, table=TABLE,
         variants=(Variant(
             "groups", GROUPS, DEFAULT_GROUPS, label="Groups g (ShuffleNet v1 variant)",
             help="Group count of the 1x1 convolutions. The paper's Table 1 widens the stages "
                  "for larger g so that the cost stays near 140 M MACs."),),
         units=(CalculatorUnit(
             "ShuffleUnit",
             "grouped 1x1 C -> C/4, shuffle, 3x3 depthwise, grouped 1x1 -> C, add (g = {g})",
             lambda c, t, g: ShuffleUnit(c, c, 1, g), _fits),)),
)
