"""MobileNet v1 (Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile
Vision Applications", 2017).

Every layer after the stem is a depthwise separable convolution: a 3x3 depthwise conv that
filters each channel, then a 1x1 pointwise conv that mixes them (Fig. 3). Widths follow timm's
``mobilenetv1_100``: every width, stem and last layer included, is
``make_divisible(c * alpha, 8)``; ReLU6 as in timm and the TF release.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..spec import Children, ConvBNAct, Flow, Node, Sequence, Unit, X
from ..styles import colour
from .arch import Arch, BlockFacts, CalculatorUnit
from .common import Network, Stage, make_divisible, pooled_classifier
from .table import Column, Problem, Rows, Table, cell, current

STEM_WIDTH = 32
# (c, n, s): output channels, repeats, stride of the first: the rows of the paper's Table 1.
SETTINGS = (
    (64, 1, 1),
    (128, 2, 2),
    (256, 2, 2),
    (512, 6, 2),
    (1024, 2, 2),
)


@dataclass(frozen=True)
class DepthwiseSeparable(Unit):
    """3x3 depthwise conv + BN + ReLU6, then 1x1 pointwise conv + BN + ReLU6 (Fig. 3 right)."""

    in_ch: int
    out_ch: int
    stride: int = 1

    def children(self) -> Children:
        return (
            ("conv_dw", ConvBNAct(self.in_ch, self.in_ch, 3, self.stride, groups=self.in_ch, act="relu6")),
            ("conv_pw", ConvBNAct(self.in_ch, self.out_ch, 1, act="relu6")),
        )

    def flow(self, f: Flow[X], x: X) -> X:
        return f.call("conv_pw", f.call("conv_dw", x))


def spec(cfg: Config) -> Network:
    width = lambda c: make_divisible(c * cfg.alpha, 8)  # noqa: E731
    table = current(cfg)
    in_ch = width(table["stem"])
    items = [("stem", Sequence((("conv", ConvBNAct(3, in_ch, 3, 2, act="relu6")),)))]
    # a stage starts at the first row and at every stride-2 row (Table 1's groups)
    stages: list[list[DepthwiseSeparable]] = []
    for c, s in table["layers"]:
        if not stages or s == 2:
            stages.append([])
        stages[-1].append(DepthwiseSeparable(in_ch, width(c), s))
        in_ch = width(c)
    for i, blocks in enumerate(stages):
        items.append((f"stage{i + 1}", Stage.of(blocks)))
    items.append(("head", Sequence(pooled_classifier(in_ch, cfg.classes, "classifier"))))
    return Network(tuple(items), cfg)


def describe(b: Node, facts: BlockFacts) -> str | None:
    """The diagram note of a depthwise separable block, with the paper's cost ratio."""
    if not isinstance(b, DepthwiseSeparable):
        return None
    hw, macs, fmt = facts.out_hw, facts.macs, facts.fmt
    std = 9 * b.in_ch * b.out_ch * hw * hw
    return (f"**Depthwise separable convolution** (MobileNet v1): a 3x3 depthwise conv filters "
            f"each of the {b.in_ch} channels on its own (stride {b.stride}), then a 1x1 pointwise "
            f"conv mixes them into {b.out_ch}. A standard 3x3 conv with the same shapes would cost "
            f"{fmt(std)} MACs; this block costs {fmt(macs)} "
            f"({macs / std:.3f} = 1/N + 1/9 = 1/{b.out_ch} + 1/9 of it, BN and ReLU6 aside).")


def _default(cfg: Config) -> dict[str, Any]:
    """Table 1 as one row per depthwise separable block: [output channels, depthwise stride]."""
    return {"stem": STEM_WIDTH,
            "layers": [[c, s if j == 0 else 1] for c, n, s in SETTINGS for j in range(n)]}


def _check(table: dict[str, Any], cfg: Config) -> list[Problem]:
    r = Rows()
    r.width(table["stem"], "", "stem")
    rows = r.rows(table["layers"], "layers", 2)
    if rows is None:
        return r.problems
    stride = 2
    for i, (c, s) in enumerate(rows):
        r.width(c, f"layers row {i + 1}", "c", i)
        stride *= r.stride(s, f"layers row {i + 1}", "s", i) or 1
    r.total_stride(stride, 2)
    return r.problems


TABLE = Table(
    default=_default, check=_check,
    normalize=lambda d: {"stem": int(d["stem"]), "layers": [[int(c), int(s)] for c, s in d["layers"]]},
    columns=(Column("c", "int", "c, output channels of the block (scaled by \u03b1, rounded to 8)",
                    title="channels"),
             Column("s", "int", "s, stride of the 3x3 depthwise conv: 1 or 2", 1, "stride")),
    rows=lambda d: ([{"c": c, "s": s} for c, s in d["layers"]], {"stem": d["stem"]}),
    from_rows=lambda rows, sc: ({"stem": cell(sc.get("stem")),
                                 "layers": [[cell(r.get("c")), cell(r.get("s"))] for r in rows]}, []),
    scalars=("stem",),
    fields={"layers": ("c", "s")},
    help="Table 1 of the paper, one row per depthwise separable block after the 3x3 stem conv "
         "(stride 2); a new stage starts at every stride-2 row.",
)

ARCHS = (
    Arch(name="mobilenet_v1", family="MobileNet v1", paper="Howard et al., MobileNets, 2017",
         spec=spec, colour=colour("mobilenet_v1"), describe=describe, table=TABLE,
         units=(CalculatorUnit("DepthwiseSeparable", "3x3 depthwise, 1x1 pointwise C -> C",
                               lambda c, t, g: DepthwiseSeparable(c, c, 1)),)),
)
