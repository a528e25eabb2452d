"""GhostNet (Han et al., "GhostNet: More Features from Cheap Operations", CVPR 2020).

A ghost module makes half its output maps with an ordinary 1x1 conv and the other half from
those with a cheap 3x3 depthwise conv. The ghost bottleneck (Fig. 3) stacks two ghost modules
(the second without activation) with a stride-2 depthwise conv between them where the
resolution drops, an optional squeeze-excite, and a shortcut (identity, or depthwise + 1x1
where the shape changes). Widths follow timm's ``ghostnet_100``: ``make_divisible(c * alpha, 4)``
(divisor 4, not 8); SE reduces to ``make_divisible(mid / 4, 4)`` with a hard-sigmoid gate; the
1280-wide head conv has a bias and is not width-scaled.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec import Act, Conv2d, ConvBNAct, Flatten, GhostModule, Linear, Pool, Sequence, SqueezeExcite, Unit
from .arch import Arch, CalculatorUnit
from .common import Network, Stage, make_divisible

STEM_WIDTH = 16
HEAD_WIDTH = 1280
# (k, t, c, SE, s): kernel, expansion (hidden) width, output width, SE ratio, stride: Table 1,
# grouped into stages by output resolution (112, 56, 28, 14, 7 at 224 x 224).
SETTINGS = (
    ((3, 16, 16, 0, 1),),
    ((3, 48, 24, 0, 2), (3, 72, 24, 0, 1)),
    ((5, 72, 40, 0.25, 2), (5, 120, 40, 0.25, 1)),
    ((3, 240, 80, 0, 2), (3, 200, 80, 0, 1), (3, 184, 80, 0, 1), (3, 184, 80, 0, 1),
     (3, 480, 112, 0.25, 1), (3, 672, 112, 0.25, 1)),
    ((5, 672, 160, 0.25, 2), (5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1), (5, 960, 160, 0, 1),
     (5, 960, 160, 0.25, 1)),
)


@dataclass(frozen=True)
class GhostBottleneck(Unit):
    """Ghost module (ReLU) -> [depthwise, stride 2] -> [SE] -> ghost module (linear) + shortcut."""

    in_ch: int
    mid_ch: int
    out_ch: int
    kernel: int = 3
    stride: int = 1
    se_ratio: float = 0.0

    @property
    def identity_shortcut(self) -> bool:
        return self.in_ch == self.out_ch and self.stride == 1

    def children(self):
        layers = [("ghost1", GhostModule(self.in_ch, self.mid_ch, relu=True))]
        if self.stride > 1:
            layers.append(("conv_dw", ConvBNAct(self.mid_ch, self.mid_ch, self.kernel, self.stride,
                                                groups=self.mid_ch, act=None)))
        if self.se_ratio:
            reduced = make_divisible(self.mid_ch * self.se_ratio, 4)
            layers.append(("se", SqueezeExcite(self.mid_ch, reduced)))
        layers.append(("ghost2", GhostModule(self.mid_ch, self.out_ch, relu=False)))
        if not self.identity_shortcut:
            layers.append(("shortcut", Sequence((
                ("conv_dw", ConvBNAct(self.in_ch, self.in_ch, self.kernel, self.stride,
                                      groups=self.in_ch, act=None)),
                ("conv_pw", ConvBNAct(self.in_ch, self.out_ch, 1, act=None)),
            ))))
        return tuple(layers)

    def flow(self, f, x):
        h = f.call("ghost1", x)
        if self.stride > 1:
            h = f.call("conv_dw", h)
        if self.se_ratio:
            h = f.call("se", h)
        h = f.call("ghost2", h)
        shortcut = x if self.identity_shortcut else f.call("shortcut", x)
        return f.add("add", h, shortcut)


def spec(cfg) -> Network:
    width = lambda c: make_divisible(c * cfg.alpha, 4)  # noqa: E731
    in_ch = width(STEM_WIDTH)
    items = [("stem", Sequence((("conv", ConvBNAct(3, in_ch, 3, 2)),)))]
    for i, rows in enumerate(SETTINGS):
        blocks = []
        for k, t, c, se, s in rows:
            blocks.append(GhostBottleneck(in_ch, width(t), width(c), k, s, se))
            in_ch = width(c)
        items.append((f"stage{i + 1}", Stage.of(blocks)))
    last = width(SETTINGS[-1][-1][1])
    items.append(("head", Sequence((
        ("conv", ConvBNAct(in_ch, last, 1)),
        ("pool", Pool("global")),
        ("conv_head", Conv2d(last, HEAD_WIDTH, bias=True)),
        ("act", Act("relu")),
        ("flatten", Flatten()),
        ("classifier", Linear(HEAD_WIDTH, cfg.classes)),
    ))))
    return Network(tuple(items), cfg)


def describe(b, facts) -> "str | None":
    """The diagram note of a ghost bottleneck: the two ghost modules, SE, the shortcut."""
    if not isinstance(b, GhostBottleneck):
        return None
    s = b.stride
    g1 = GhostModule(b.in_ch, b.mid_ch)
    parts = [f"ghost module 1 expands {b.in_ch} -> {b.mid_ch} channels: a primary 1x1 conv "
             f"makes {g1.primary_ch}, a cheap 3x3 depthwise conv makes {g1.cheap_ch} 'ghosts' "
             f"from them, and the two are concatenated"]
    if s > 1:
        parts.append(f"a {b.kernel}x{b.kernel} depthwise conv with stride {s} halves the map")
    if b.se_ratio:
        parts.append("a squeeze-excite reweights the channels (global pool, 1x1 reduce, ReLU, "
                     "1x1 expand, hard sigmoid)")
    parts.append(f"ghost module 2 (no ReLU) projects to {b.out_ch}")
    short = ("the input is added back (identity)" if b.identity_shortcut else
             f"the shortcut is a {b.kernel}x{b.kernel} depthwise (stride {s}) + 1x1 conv, since "
             f"the shape changes")
    return ("**Ghost bottleneck** (GhostNet): " + "; ".join(parts) + f"; {short}. Half of each "
            f"ghost module's maps cost a depthwise conv instead of a full one. "
            f"{facts.fmt(facts.macs)} MACs.")


ARCHS = (
    Arch(name="ghostnet", family="GhostNet", paper="Han et al., GhostNet, CVPR 2020", spec=spec,
         colour="#B279A2", describe=describe,
         units=(CalculatorUnit(
             "GhostBottleneck",
             "ghost module C -> {hidden}, ghost module {hidden} -> C (linear), shortcut (t = {t:g})",
             lambda c, t, g: GhostBottleneck(c, int(round(c * t)), c, 3, 1, 0.0)),)),
)
