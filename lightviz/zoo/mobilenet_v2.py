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

from ..spec import ConvBNAct, Sequence, Unit
from .arch import Arch, CalculatorUnit
from .common import Network, Stage, make_divisible, pooled_classifier

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
    expand_ratio: int

    @property
    def hidden(self) -> int:
        return int(round(self.in_ch * self.expand_ratio))

    @property
    def use_shortcut(self) -> bool:
        return self.stride == 1 and self.in_ch == self.out_ch

    def children(self):
        layers = []
        if self.expand_ratio != 1:
            layers.append(("conv_pw", ConvBNAct(self.in_ch, self.hidden, 1, act="relu6")))
        layers.append(("conv_dw", ConvBNAct(self.hidden, self.hidden, 3, self.stride,
                                            groups=self.hidden, act="relu6")))
        layers.append(("conv_pwl", ConvBNAct(self.hidden, self.out_ch, 1, act=None)))
        return tuple(layers)

    def flow(self, f, x):
        h = f.call("conv_pw", x) if self.expand_ratio != 1 else x
        h = f.call("conv_pwl", f.call("conv_dw", h))
        return f.add("add", h, x) if self.use_shortcut else h


def spec(cfg) -> Network:
    in_ch = make_divisible(STEM_WIDTH * cfg.alpha, 8)
    items = [("stem", Sequence((("conv", ConvBNAct(3, in_ch, 3, 2, act="relu6")),)))]
    for i, (t, c, n, s) in enumerate(SETTINGS):
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


def describe(b, facts) -> "str | None":
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


ARCHS = (
    Arch(name="mobilenet_v2", family="MobileNet v2", paper="Sandler et al., MobileNetV2, CVPR 2018",
         spec=spec, colour="#E45756", describe=describe,
         units=(CalculatorUnit(
             "InvertedResidual",
             "1x1 C -> {hidden}, 3x3 depthwise, linear 1x1 {hidden} -> C, shortcut (t = {t:g})",
             lambda c, t, g: InvertedResidual(c, c, 1, t)),)),
)
