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

from ..spec import ConvBNAct, Pool, Sequence, Unit
from .arch import Arch, CalculatorUnit
from .common import Network, Stage, pooled_classifier

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

    def children(self):
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

    def flow(self, f, x):
        if self.stride == 1:
            x1, x2 = f.split("split", x, [self.in_ch - self.branch_ch, self.branch_ch])
            out = f.cat("concat", [x1, f.call("branch2", x2)])
        else:
            out = f.cat("concat", [f.call("branch1", x), f.call("branch2", x)])
        return f.shuffle("shuffle", out, 2)


def spec(cfg) -> Network:
    *stage_widths, last = widths(cfg.alpha)
    items = [("stem", Sequence((
        ("conv", ConvBNAct(3, STEM_WIDTH, 3, 2)),
        ("pool", Pool("max", 3, 2, 1)),
    )))]
    in_ch = STEM_WIDTH
    for i, (out_ch, n) in enumerate(zip(stage_widths, REPEATS)):
        blocks = []
        for j in range(n):
            blocks.append(ShuffleV2Unit(in_ch, out_ch, 2 if j == 0 else 1))
            in_ch = out_ch
        items.append((f"stage{i + 2}", Stage.of(blocks)))
    items.append(("head", Sequence((("conv", ConvBNAct(in_ch, last, 1)),)
                                   + pooled_classifier(last, cfg.classes))))
    return Network(tuple(items), cfg)


def describe(b, facts) -> "str | None":
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


ARCHS = (
    Arch(name="shufflenet_v2", family="ShuffleNet v2", paper="Ma et al., ShuffleNet V2, ECCV 2018",
         # brown, not a second green: v1 (#54A24B) and v2 side by side in Compare must read apart
         # (4.1:1 on white, 4.6:1 on the dark theme)
         spec=spec, colour="#9D755D", describe=describe,
         units=(CalculatorUnit(
             "ShuffleV2Unit",
             "split C/2 | C/2, 1x1, 3x3 depthwise, 1x1 on one half, concat, shuffle",
             lambda c, t, g: ShuffleV2Unit(c, c, 1),
             lambda c, t, g: None if c % 2 == 0 else f"needs an even C (C = {c})"),)),
)
