"""MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
CVPR 2018).

The block is an inverted residual: a 1x1 expansion by t, a 3x3 depthwise conv (ReLU6 on both
wide layers), and a linear 1x1 projection back to a narrow bottleneck; the shortcut joins the
narrow ends when the stride is 1 and the widths match. Widths follow torchvision: every layer
``make_divisible(c * alpha, 8)``, hidden width ``round(in * t)`` (not rounded to 8), and the last
conv ``make_divisible(1280 * max(1, alpha), 8)``, so it never narrows below 1280.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..spec import Children, ConvBNAct, Flow, Node, Sequence, Unit, X
from ..styles import colour
from .arch import Arch, BlockFacts, CalculatorUnit
from .common import Network, Stage, make_divisible, pooled_classifier
from .table import EXPANSION_MAX, MAX_BLOCKS, Column, Problem, Rows, Table, cell, current, whole

STEM_WIDTH = 32
LAST_WIDTH = 1280
# (t, c, n, s): expansion, output channels, repeats, stride of the first: the paper's Table 2.
SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


@dataclass(frozen=True)
class InvertedResidual(Unit):
    """1x1 expand (absent when t = 1), 3x3 depthwise, linear 1x1 project, shortcut (Fig. 3b)."""

    in_ch: int
    out_ch: int
    stride: int
    expand_ratio: float  # t: Table 2's are whole, an edited table's may not be

    @property
    def hidden(self) -> int:
        return int(round(self.in_ch * self.expand_ratio))

    @property
    def use_shortcut(self) -> bool:
        return self.stride == 1 and self.in_ch == self.out_ch

    def children(self) -> Children:
        layers = []
        if self.expand_ratio != 1:
            layers.append(("conv_pw", ConvBNAct(self.in_ch, self.hidden, 1, act="relu6")))
        layers.append(("conv_dw", ConvBNAct(self.hidden, self.hidden, 3, self.stride,
                                            groups=self.hidden, act="relu6")))
        layers.append(("conv_pwl", ConvBNAct(self.hidden, self.out_ch, 1, act=None)))
        return tuple(layers)

    def flow(self, f: Flow[X], x: X) -> X:
        h = f.call("conv_pw", x) if self.expand_ratio != 1 else x
        h = f.call("conv_pwl", f.call("conv_dw", h))
        return f.add("add", h, x) if self.use_shortcut else h


def spec(cfg: Config) -> Network:
    in_ch = make_divisible(STEM_WIDTH * cfg.alpha, 8)
    items = [("stem", Sequence((("conv", ConvBNAct(3, in_ch, 3, 2, act="relu6")),)))]
    for i, (t, c, n, s) in enumerate(current(cfg)["layers"]):
        out_ch = make_divisible(c * cfg.alpha, 8)
        blocks = []
        for j in range(n):
            blocks.append(InvertedResidual(in_ch, out_ch, s if j == 0 else 1, t))
            in_ch = out_ch
        items.append((f"stage{i + 1}", Stage.of(blocks)))
    last = make_divisible(LAST_WIDTH * max(1.0, cfg.alpha), 8)
    items.append(("head", Sequence((("conv", ConvBNAct(in_ch, last, 1, act="relu6")),)
                                   + pooled_classifier(last, cfg.classes, "classifier"))))
    return Network(tuple(items), cfg)


def describe(b: Node, facts: BlockFacts) -> str | None:
    """The diagram note of an inverted residual: expansion, linear bottleneck, shortcut."""
    if not isinstance(b, InvertedResidual):
        return None
    t, s = b.expand_ratio, b.stride
    exp = (f"a 1x1 conv expands {b.in_ch} -> {b.hidden} channels (t = {t:g}) with ReLU6, "
           if t != 1 else "no expansion (t = 1: the first block), ")
    why = f"stride {s}" if s != 1 else f"widths differ: {b.in_ch} -> {b.out_ch}"
    short = (f"the shortcut adds the input back (stride 1 and {b.in_ch} = {b.out_ch})"
             if b.use_shortcut else f"no shortcut ({why})")
    return (f"**Inverted residual with linear bottleneck** (MobileNetV2): {exp}a 3x3 depthwise "
            f"conv (stride {s}) with ReLU6 works on the wide tensor, and a **linear** 1x1 conv "
            f"projects back to {b.out_ch} channels: no activation on the narrow bottleneck, "
            f"where a ReLU would destroy information. {short[0].upper() + short[1:]}. "
            f"{facts.fmt(facts.macs)} MACs.")


def _default(cfg: Config) -> dict[str, Any]:
    return {"layers": [list(row) for row in SETTINGS]}


def _check(table: dict[str, Any], cfg: Config) -> list[Problem]:
    """Table 2's rules: t >= 1, widths, n >= 1, stride 1 or 2 (the first block of a row),
    at most 64 blocks and a total stride (stem 2 x the rows' strides) of at most 32."""
    r = Rows()
    rows = r.rows(table["layers"], "layers", 4)
    if rows is None:
        return r.problems
    blocks, stride = 0, 2
    for i, (t, c, n, s) in enumerate(rows):
        where = f"layers row {i + 1}"
        r.number(t, where, "t", 1, EXPANSION_MAX, i, integer=False)
        r.width(c, where, "c", i)
        n = r.number(n, where, "n", 1, MAX_BLOCKS, i)
        s = r.stride(s, where, "s", i)
        blocks += n or 0
        stride *= s or 1
    r.total_blocks(blocks)
    r.total_stride(stride, 2)
    return r.problems


TABLE = Table(
    default=_default, check=_check,
    normalize=lambda d: {"layers": [[whole(t), int(c), int(n), int(s)] for t, c, n, s in d["layers"]]},
    columns=(Column("t", "float", "t, expansion factor: hidden width = t x input channels (1 = no 1x1 "
                    "expansion conv)", 6, "expansion"),
             Column("c", "int", "c, output channels (scaled by \u03b1, rounded to 8)",
                    title="channels"),
             Column("n", "int", "n, repeats: blocks in the row", 1, "repeats"),
             Column("s", "int", "s, stride of the row's first block: 1 or 2", 1, "stride")),
    rows=lambda d: ([dict(zip("tcns", row)) for row in d["layers"]], {}),
    from_rows=lambda rows, scalars: ({"layers": [[cell(r.get(k)) for k in "tcns"] for r in rows]}, []),
    fields={"layers": ("t", "c", "n", "s")},
    help="Table 2 of the paper (torchvision's inverted_residual_setting): one row per run of "
         "inverted residuals; stem 32 and last conv 1280 as in the canonical network.",
)

ARCHS = (
    Arch(name="mobilenet_v2", family="MobileNet v2", paper="Sandler et al., MobileNetV2, CVPR 2018",
         spec=spec, colour=colour("mobilenet_v2"), describe=describe, table=TABLE,
         units=(CalculatorUnit(
             "InvertedResidual",
             "1x1 C -> {hidden}, 3x3 depthwise, linear 1x1 {hidden} -> C, shortcut (t = {t:g})",
             lambda c, t, g: InvertedResidual(c, c, 1, t)),)),
)
