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
from typing import Any

from ..config import Config
from ..spec import (
    Act,
    Children,
    Conv2d,
    ConvBNAct,
    Flatten,
    Flow,
    GhostModule,
    Linear,
    Node,
    Pool,
    Sequence,
    SqueezeExcite,
    Unit,
    X,
)
from ..styles import colour
from .arch import Arch, BlockFacts, CalculatorUnit
from .common import Network, Stage, make_divisible
from .table import MAX_BLOCKS, Column, Problem, Rows, Table, cell, current, whole

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

    def children(self) -> Children:
        layers: list[tuple[str, Node]] = [("ghost1", GhostModule(self.in_ch, self.mid_ch, relu=True))]
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

    def flow(self, f: Flow[X], x: X) -> X:
        h = f.call("ghost1", x)
        if self.stride > 1:
            h = f.call("conv_dw", h)
        if self.se_ratio:
            h = f.call("se", h)
        h = f.call("ghost2", h)
        shortcut = x if self.identity_shortcut else f.call("shortcut", x)
        return f.add("add", h, shortcut)


def spec(cfg: Config) -> Network:
    width = lambda c: make_divisible(c * cfg.alpha, 4)  # noqa: E731
    in_ch = width(STEM_WIDTH)
    items = [("stem", Sequence((("conv", ConvBNAct(3, in_ch, 3, 2)),)))]
    stages = current(cfg)["layers"]
    for i, rows in enumerate(stages):
        blocks = []
        for k, t, c, se, s in rows:
            blocks.append(GhostBottleneck(in_ch, width(t), width(c), k, s, se))
            in_ch = width(c)
        items.append((f"stage{i + 1}", Stage.of(blocks)))
    last = width(stages[-1][-1][1])  # timm: the last row's expansion width
    items.append(("head", Sequence((
        ("conv", ConvBNAct(in_ch, last, 1)),
        ("pool", Pool("global")),
        ("conv_head", Conv2d(last, HEAD_WIDTH, bias=True)),
        ("act", Act("relu")),
        ("flatten", Flatten()),
        ("classifier", Linear(HEAD_WIDTH, cfg.classes)),
    ))))
    return Network(tuple(items), cfg)


def describe(b: Node, facts: BlockFacts) -> str | None:
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


KERNELS = (1, 3, 5, 7, 9)
FIELDS = ("k", "exp", "c", "se", "s")


def _default(cfg: Config) -> dict[str, Any]:
    return {"layers": [[list(row) for row in stage] for stage in SETTINGS]}


def _check(table: dict[str, Any], cfg: Config) -> list[Problem]:
    """timm's ``cfgs``: stages of rows [k, exp, c, se, s]; odd kernels 1 to 9, widths, SE
    ratio 0 to 1, stride 1 or 2; at most 64 rows and a total stride of at most 32."""
    r = Rows()
    stages = table["layers"]
    if not isinstance(stages, list) or not 1 <= len(stages) <= MAX_BLOCKS:
        r.add(None, "layers", "layers must be a list of 1 to 64 stages, each a list of rows "
                              "[k, exp, c, se, s]")
        return r.problems
    flat, stride = 0, 2
    for i, stage in enumerate(stages):
        if not isinstance(stage, list) or not stage:
            r.add(flat, "stage", f"layers stage {i + 1} must be a non-empty list of rows")
            return r.problems
        for j, row in enumerate(stage):
            where = f"layers stage {i + 1} row {j + 1}"
            if not isinstance(row, list) or len(row) != 5:
                r.add(flat, "k", f"{where} must be a list of 5 values [k, exp, c, se, s]")
                return r.problems
            k, exp, c, se, s = row
            r.number(k, where, "k", 1, 9, flat, choices=KERNELS)
            r.width(exp, where, "exp", flat)
            r.width(c, where, "c", flat)
            r.number(se, where, "se", 0, 1, flat, integer=False)
            stride *= r.stride(s, where, "s", flat) or 1
            flat += 1
            if flat > MAX_BLOCKS:
                r.total_blocks(sum(len(x) if isinstance(x, list) else 1 for x in stages))
                return r.problems
    r.total_stride(stride, 2)
    return r.problems


def _from_rows(rows: list[dict[str, Any]], scalars: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Editor rows (with a stage number) grouped into timm's stages, in stage order."""
    stages: dict[int, list[list[Any]]] = {}
    problems: list[Problem] = []
    for i, row in enumerate(rows):
        st = cell(row.get("stage"))
        if isinstance(st, bool) or not isinstance(st, (int, float)) or st != st or st != int(st) \
                or not 1 <= st <= MAX_BLOCKS:
            problems.append(Problem(i, "stage", f"settings: row {i + 1} stage must be a whole "
                                                f"number 1 to {MAX_BLOCKS}, got {st!r}"))
            continue
        stages.setdefault(int(st), []).append([cell(row.get(k)) for k in FIELDS])
    return {"layers": [stages[k] for k in sorted(stages)]}, problems


TABLE = Table(
    default=_default, check=_check,
    normalize=lambda d: {"layers": [[[int(k), int(e), int(c), whole(float(se)), int(s)]
                                     for k, e, c, se, s in stage] for stage in d["layers"]]},
    columns=(Column("stage", "int", "stage number: rows with one number form a stage"),
             Column("k", "int", "k, depthwise kernel (odd, 1 to 9)", 3, "kernel"),
             Column("exp", "int", "exp, expansion (hidden) width", title="hidden width"),
             Column("c", "int", "c, output channels", title="channels"),
             Column("se", "float", "se, squeeze-excite ratio, 0 (none) to 1", 0, "squeeze-excite"),
             Column("s", "int", "s, stride: 1 or 2", 1, "stride")),
    rows=lambda d: ([dict(zip(("stage",) + FIELDS, [i + 1, *row]))
                     for i, stage in enumerate(d["layers"]) for row in stage], {}),
    from_rows=_from_rows,
    fields={"layers": FIELDS},
    help="Table 1 of the paper as timm's cfgs: rows [k, exp, c, se, s] grouped into stages; "
         "widths scale by \u03b1 and round to 4.",
)

ARCHS = (
    Arch(name="ghostnet", family="GhostNet", paper="Han et al., GhostNet, CVPR 2020", spec=spec,
         colour=colour("ghostnet"), describe=describe, table=TABLE,
         units=(CalculatorUnit(
             "GhostBottleneck",
             "ghost module C -> {hidden}, ghost module {hidden} -> C (linear), shortcut (t = {t:g})",
             lambda c, t, g: GhostBottleneck(c, int(round(c * t)), c, 3, 1, 0.0)),)),
)
