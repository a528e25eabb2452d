"""ShuffleNet V2 (Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture
Design", ECCV 2018).

The unit (Fig. 3c, d): at stride 1 a channel split sends half the channels through
1x1 conv -> 3x3 depthwise -> 1x1 conv and keeps the other half as is; at stride 2 both halves see
the whole input, one through a depthwise + 1x1 branch. The halves are concatenated and shuffled
with 2 groups. Layout follows torchvision.

Widths are a table, not a formula (torchvision, from the paper's Table 5): at the listed alpha
the table is used as is. Between two listed alpha each width is interpolated linearly and
rounded to a multiple of 4 (so channel split stays even); below 0.5 the 0.5x stage widths are
scaled by ``alpha / 0.5`` and rounded the same way (never below 8) while the last conv stays 1024.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..spec import Children, ConvBNAct, Flow, Node, Pool, Sequence, Unit, X
from ..styles import colour
from .arch import Arch, BlockFacts, CalculatorUnit
from .common import Network, Stage, pooled_classifier
from .table import MAX_BLOCKS, STAGE_COLUMN, Column, Problem, Rows, Table, cell, current, whole_lists

STEM_WIDTH = 24
REPEATS = (4, 8, 4)  # stage2, stage3, stage4
# alpha -> (stage2, stage3, stage4, conv5) output channels: torchvision / Table 5.
WIDTHS = {
    0.5: (48, 96, 192, 1024),
    1.0: (116, 232, 464, 1024),
    1.5: (176, 352, 704, 1024),
    2.0: (244, 488, 976, 2048),
}


def _round4(value: float) -> int:
    return max(8, int(round(value / 4)) * 4)


def widths(alpha: float):
    """Stage and last-conv widths at ``alpha`` by the table and the rule in the module doc."""
    if alpha in WIDTHS:
        return WIDTHS[alpha]
    keys = sorted(WIDTHS)
    if alpha < keys[0]:
        *stages, last = WIDTHS[keys[0]]
        return tuple(_round4(w * alpha / keys[0]) for w in stages) + (last,)
    lo = max(k for k in keys if k < alpha)
    hi = min(k for k in keys if k > alpha)
    t = (alpha - lo) / (hi - lo)
    return tuple(_round4(a + t * (b - a)) for a, b in zip(WIDTHS[lo], WIDTHS[hi]))


@dataclass(frozen=True)
class ShuffleV2Unit(Unit):
    """Channel split (stride 1) or two branches (stride 2), concat, shuffle with 2 groups."""

    in_ch: int
    out_ch: int
    stride: int

    @property
    def branch_ch(self) -> int:
        return self.out_ch // 2

    def children(self) -> Children:
        b = self.branch_ch
        layers = []
        if self.stride == 2:
            layers.append(("branch1", Sequence((
                ("conv_dw", ConvBNAct(self.in_ch, self.in_ch, 3, 2, groups=self.in_ch, act=None)),
                ("conv_pw", ConvBNAct(self.in_ch, b, 1)),
            ))))
        b_in = self.in_ch if self.stride == 2 else b
        layers.append(("branch2", Sequence((
            ("conv_pw1", ConvBNAct(b_in, b, 1)),
            ("conv_dw", ConvBNAct(b, b, 3, self.stride, groups=b, act=None)),
            ("conv_pw2", ConvBNAct(b, b, 1)),
        ))))
        return tuple(layers)

    def flow(self, f: Flow[X], x: X) -> X:
        if self.stride == 1:
            x1, x2 = f.split("split", x, [self.in_ch - self.branch_ch, self.branch_ch])
            out = f.cat("concat", [x1, f.call("branch2", x2)])
        else:
            out = f.cat("concat", [f.call("branch1", x), f.call("branch2", x)])
        return f.shuffle("shuffle", out, 2)


def custom_widths(table_widths, alpha: float):
    """An edited table's widths at ``alpha``: each stage width scaled as the paper's table
    scales at that position (``widths(alpha)[i] / widths(1)[i]``) and rounded to an even
    number (the channel split); conv5 scaled the same way; the stem as given. At 1x, and for
    the paper's widths at a listed alpha, this is the table itself."""
    stem, *stages, last = table_widths
    if alpha == 1.0:
        return stem, list(stages), last
    ratio = [a / b for a, b in zip(widths(alpha), WIDTHS[1.0])]
    return (stem, [max(2, 2 * round(w * k / 2)) for w, k in zip(stages, ratio)],
            max(1, round(last * ratio[3])))


def spec(cfg: Config) -> Network:
    if cfg.settings is None:
        stem, (*stage_widths, last), repeats = STEM_WIDTH, widths(cfg.alpha), REPEATS
    else:
        table = current(cfg)
        stem, stage_widths, last = custom_widths(table["widths"], cfg.alpha)
        repeats = table["repeats"]
    items = [("stem", Sequence((
        ("conv", ConvBNAct(3, stem, 3, 2)),
        ("pool", Pool("max", 3, 2, 1)),
    )))]
    in_ch = stem
    for i, (out_ch, n) in enumerate(zip(stage_widths, repeats)):
        blocks = []
        for j in range(n):
            blocks.append(ShuffleV2Unit(in_ch, out_ch, 2 if j == 0 else 1))
            in_ch = out_ch
        items.append((f"stage{i + 2}", Stage.of(blocks)))
    items.append(("head", Sequence((("conv", ConvBNAct(in_ch, last, 1)),)
                                   + pooled_classifier(last, cfg.classes))))
    return Network(tuple(items), cfg)


def describe(b: Node, facts: BlockFacts) -> str | None:
    """The diagram note of a ShuffleNet v2 unit: split (or two branches), concat, shuffle."""
    if not isinstance(b, ShuffleV2Unit):
        return None
    if b.stride == 1:
        body = (f"a **channel split** keeps {b.in_ch - b.branch_ch} channels as they are and "
                f"sends {b.branch_ch} through 1x1 -> 3x3 depthwise -> 1x1 (equal widths in "
                f"and out, no grouped convs: the paper's guidelines for speed, not just MACs)")
    else:
        body = (f"at stride 2 there is no split: both branches read all {b.in_ch} channels "
                f"(3x3 depthwise + 1x1, and 1x1 + 3x3 depthwise + 1x1), so the width doubles "
                f"to {b.out_ch}")
    return (f"**ShuffleNet v2 unit**: {body}; the halves are **concatenated** (no add) and a "
            f"**channel shuffle** with 2 groups mixes them for the next unit. "
            f"{facts.fmt(facts.macs)} MACs.")


PARTS = ("stem", "stage2", "stage3", "stage4", "conv5")


def _default(cfg: Config) -> dict[str, Any]:
    return {"repeats": list(REPEATS), "widths": [STEM_WIDTH, *WIDTHS[1.0]]}


def _check(table: dict[str, Any], cfg: Config) -> list[Problem]:
    """Units per stage (at least 1, 64 in all) and torchvision's ``stages_out_channels``
    (stem, stages 2-4, conv5): widths 1 to 4096, the stages' even (channel split)."""
    r = Rows()
    repeats, ws = r.numbers(table["repeats"], "repeats", 3), r.numbers(table["widths"], "widths", 5)
    total = 0
    for i in range(3):
        if repeats is not None:
            total += r.number(repeats[i], f"repeats {PARTS[i + 1]}", "", 1, MAX_BLOCKS, i,
                              col="repeats") or 0
    for i, part in enumerate(PARTS if ws is not None else ()):
        assert ws is not None  # (for the type checker: the loop runs only over a list)
        row, col = (None, part) if i in (0, 4) else (i - 1, "widths")
        w = r.width(ws[i], f"widths {part}", "", row, col=col)
        if w is not None and 0 < i < 4 and w % 2:
            r.add(row, col, f"widths {part} {w} must be even (the unit splits its channels "
                            f"in two halves)")
    r.total_blocks(total)
    return r.problems


TABLE = Table(
    default=_default, check=_check,
    normalize=whole_lists("repeats", "widths"),
    columns=(STAGE_COLUMN,
             Column("repeats", "int", "units in the stage (the first has stride 2)"),
             Column("widths", "int", "output channels at 1x (even)")),
    rows=lambda d: ([{"stage": s, "repeats": n, "widths": w}
                     for s, n, w in zip(PARTS[1:4], d["repeats"], d["widths"][1:4])],
                    {"stem": d["widths"][0], "conv5": d["widths"][4]}),
    from_rows=lambda rows, sc: ({"repeats": [cell(r.get("repeats")) for r in rows],
                                 "widths": [cell(sc.get("stem"))]
                                 + [cell(r.get("widths")) for r in rows]
                                 + [cell(sc.get("conv5"))]}, []),
    scalars=("stem", "conv5"),
    dynamic=False,
    help="torchvision's stages_repeats and stages_out_channels (the paper's Table 5 at 1x); "
         "other widths of alpha scale each stage as the paper's table does.",
)

ARCHS = (
    Arch(name="shufflenet_v2", family="ShuffleNet v2", paper="Ma et al., ShuffleNet V2, ECCV 2018",
         # brown, not a second green: v1 (#54A24B) and v2 side by side in Compare must read apart
         # (4.1:1 on white, 4.6:1 on the dark theme)
         spec=spec, colour=colour("shufflenet_v2"), describe=describe, table=TABLE,
         units=(CalculatorUnit(
             "ShuffleV2Unit",
             "split C/2 | C/2, 1x1, 3x3 depthwise, 1x1 on one half, concat, shuffle",
             lambda c, t, g: ShuffleV2Unit(c, c, 1),
             lambda c, t, g: None if c % 2 == 0 else f"needs an even C (C = {c})"),)),
)
