"""ResNet (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016).

Layout and counts follow torchvision: the bottleneck is "v1.5" (stride on the 3x3 conv), which
makes ResNet-50 4.09 GMACs at 224 x 224 against the paper's 3.8 G (stride on the first 1x1);
parameters are the same for both. torchvision has no width multiplier: ``alpha`` scales the stem
and every stage width with ``make_divisible(., 8)``, the convention of slimmable networks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..spec import Act, Children, ConvBNAct, Flow, Node, Pool, Sequence, Unit, X
from ..styles import colour
from .arch import Arch, BlockFacts, CalculatorUnit
from .common import Network, Stage, make_divisible, pooled_classifier
from .table import MAX_BLOCKS, STAGE_COLUMN, Column, Problem, Rows, Table, cell, current, whole_lists

# depth -> (block, blocks per stage): the paper's Table 1.
DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
}
STEM_WIDTH = 64
STAGE_WIDTHS = (64, 128, 256, 512)  # conv2_x .. conv5_x; a bottleneck outputs 4x this
EXPANSION = {"basic": 1, "bottleneck": 4}


def _projects(block) -> bool:
    return block.stride != 1 or block.in_ch != block.out_ch


def _downsample(block):
    """The projection shortcut (option B): 1x1 conv + BN, only where the shape changes."""
    if _projects(block):
        return (("downsample", ConvBNAct(block.in_ch, block.out_ch, 1, block.stride, act=None)),)
    return ()


@dataclass(frozen=True)
class BasicBlock(Unit):
    """Two 3x3 convs and an identity (or projection) shortcut, ReLU after the add (Fig. 2)."""

    in_ch: int
    out_ch: int
    stride: int = 1

    def children(self) -> Children:
        return (
            ("conv1", ConvBNAct(self.in_ch, self.out_ch, 3, self.stride)),
            ("conv2", ConvBNAct(self.out_ch, self.out_ch, 3, act=None)),
        ) + _downsample(self) + (("act", Act("relu")),)

    def flow(self, f: Flow[X], x: X) -> X:
        shortcut = f.call("downsample", x) if _projects(self) else x
        out = f.call("conv2", f.call("conv1", x))
        return f.call("act", f.add("add", out, shortcut))


@dataclass(frozen=True)
class Bottleneck(Unit):
    """1x1 reduce, 3x3 (with the stride, torchvision's v1.5), 1x1 expand by 4 (Fig. 5 right)."""

    in_ch: int
    width: int
    stride: int = 1

    @property
    def out_ch(self) -> int:
        return self.width * EXPANSION["bottleneck"]

    def children(self) -> Children:
        return (
            ("conv1", ConvBNAct(self.in_ch, self.width, 1)),
            ("conv2", ConvBNAct(self.width, self.width, 3, self.stride)),
            ("conv3", ConvBNAct(self.width, self.out_ch, 1, act=None)),
        ) + _downsample(self) + (("act", Act("relu")),)

    def flow(self, f: Flow[X], x: X) -> X:
        shortcut = f.call("downsample", x) if _projects(self) else x
        out = f.call("conv3", f.call("conv2", f.call("conv1", x)))
        return f.call("act", f.add("add", out, shortcut))


def spec(cfg: Config) -> Network:
    depth = int(cfg.arch[len("resnet"):])
    block = DEPTHS[depth][0]
    table = current(cfg)
    repeats, stage_widths = table["layers"], table["widths"]
    stem = make_divisible(STEM_WIDTH * cfg.alpha, 8)
    items = [("stem", Sequence((
        ("conv", ConvBNAct(3, stem, 7, 2)),
        ("pool", Pool("max", 3, 2, 1)),
    )))]
    in_ch = stem
    for i, (width, n) in enumerate(zip(stage_widths, repeats)):
        # at alpha 1 a width is used as given (torchvision's ResNet(block, layers) has no
        # rounding); any other alpha rounds with make_divisible(., 8), as slimmable networks do
        width = width if cfg.alpha == 1.0 else make_divisible(width * cfg.alpha, 8)
        blocks = []
        for j in range(n):
            stride = 2 if i > 0 and j == 0 else 1
            b = BasicBlock(in_ch, width, stride) if block == "basic" else Bottleneck(in_ch, width, stride)
            blocks.append(b)
            in_ch = b.out_ch
        items.append((f"conv{i + 2}_x", Stage.of(blocks)))
    items.append(("head", Sequence(pooled_classifier(in_ch, cfg.classes))))
    return Network(tuple(items), cfg)


def describe(b: Node, facts: BlockFacts) -> str | None:
    """The diagram note of one ResNet block (see :class:`~lightviz.zoo.arch.BlockFacts`)."""
    macs, s = facts.fmt(facts.macs), getattr(b, "stride", 1)
    if isinstance(b, BasicBlock):
        short = ("an identity shortcut (stride 1, widths match)" if s == 1 and b.in_ch == b.out_ch
                 else f"a 1x1 projection shortcut with stride {s} (the shape changes: "
                      f"{b.in_ch} -> {b.out_ch} channels)")
        return (f"**ResNet basic block**: two 3x3 convolutions, {b.in_ch} -> {b.out_ch} -> "
                f"{b.out_ch} channels, with {short}; ReLU after the add. The 3x3 convs carry "
                f"almost all of its {macs} MACs: a 3x3 conv costs 9 x M x N per pixel.")
    if isinstance(b, Bottleneck):
        short = ("identity shortcut" if s == 1 and b.in_ch == b.out_ch
                 else f"1x1 projection shortcut (stride {s})")
        return (f"**ResNet bottleneck**: a 1x1 conv reduces {b.in_ch} -> {b.width} channels, the "
                f"3x3 works on the narrow {b.width} (with the stride: torchvision's v1.5), a 1x1 "
                f"expands to {b.out_ch} = 4 x {b.width}; {short}. Narrowing before the expensive "
                f"3x3 is the first answer to \"make convolutions cheap\". {macs} MACs.")
    return None


STAGES = ("conv2_x", "conv3_x", "conv4_x", "conv5_x")


def _default(cfg: Config) -> dict[str, Any]:
    return {"layers": list(DEPTHS[int(cfg.arch[len("resnet"):])][1]), "widths": list(STAGE_WIDTHS)}


def _check(table: dict[str, Any], cfg: Config) -> list[Problem]:
    """Blocks per stage (torchvision's ``layers``: at least 1 each, 64 in all) and base widths."""
    r = Rows()
    layers, widths = r.numbers(table["layers"], "layers", 4), r.numbers(table["widths"], "widths", 4)
    total = 0
    for i, name in enumerate(STAGES):
        if layers is not None:
            total += r.number(layers[i], f"layers stage {i + 1} ({name})", "", 1, MAX_BLOCKS, i,
                              col="layers") or 0
        if widths is not None:
            r.width(widths[i], f"widths stage {i + 1} ({name})", "", i, col="widths")
    r.total_blocks(total)
    return r.problems


TABLE = Table(
    default=_default, check=_check,
    normalize=whole_lists("layers", "widths"),
    columns=(STAGE_COLUMN,
             Column("layers", "int", "blocks in the stage (torchvision's layers)"),
             Column("widths", "int", "base width of the stage (a bottleneck outputs 4x)")),
    rows=lambda d: ([{"stage": s, "layers": n, "widths": w}
                     for s, n, w in zip(STAGES, d["layers"], d["widths"])], {}),
    from_rows=lambda rows, sc: ({"layers": [cell(r.get("layers")) for r in rows],
                                 "widths": [cell(r.get("widths")) for r in rows]}, []),
    dynamic=False,
    help="Table 1 of the paper: blocks per stage (torchvision's layers) and the stage widths; "
         "the 7x7 stem (64) and the strides are fixed.",
)

PAPER = "He et al., Deep Residual Learning, CVPR 2016"
UNITS = (
    CalculatorUnit("BasicBlock", "two 3x3 convs C -> C, identity shortcut",
                   lambda c, t, g: BasicBlock(c, c, 1)),
    CalculatorUnit("Bottleneck", "1x1 C -> C/4, 3x3 C/4, 1x1 C/4 -> C, identity shortcut",
                   lambda c, t, g: Bottleneck(c, c // 4, 1),
                   lambda c, t, g: None if c % 4 == 0 else f"needs C divisible by 4 (C = {c})"),
)
ARCHS = tuple(
    Arch(name=f"resnet{depth}", family="ResNet", paper=PAPER, spec=spec, label=f"ResNet-{depth}",
         colour=colour(f"resnet{depth}"), describe=describe, units=UNITS, table=TABLE)
    for depth in (18, 34, 50)  # colours and markers: lightviz.styles
)
