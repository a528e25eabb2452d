"""Per-operation counts from the spec alone: shapes propagate from the input resolution through
the same flow that ``forward`` runs, and every operation gets one row. No tensor is made, so a
profile costs the same at 96 x 96 and at 448 x 448.

Conventions (also in every JSON export, under ``conventions``):

* **params** are those of ``nn.Module.parameters()``: weights, biases and BN gamma/beta, not BN's
  running statistics (buffers).
* **MACs** are multiply-accumulates of convolutions and the classifier, the unit of the papers
  ("Mult-Adds", "MAdds", "FLOPs" in ResNet, ShuffleNet and GhostNet). Conv:
  ``out_c * out_h * out_w * (in_c / groups) * k * k``; linear: ``in * out``. Biases, BN,
  activations, adds and pooling cost no MACs.
* **FLOPs** = 2 x MACs (what ``torch.utils.flop_counter.FlopCounterMode`` reports), plus, on
  request (``elementwise=True``), the elementwise work per output element: conv/linear bias 1,
  batch norm 2 (folded scale and shift), ReLU 1, ReLU6 2, hard sigmoid 4 (add, two clamps,
  divide), residual add 1, squeeze-excite scaling 1, k x k max pool k*k - 1, k x k average pool
  k*k, global average pool h*w per channel; concat, split, slice, shuffle and flatten move data
  and cost 0.
* **out_bytes** is the size of an op's output at batch 1 in fp32 (4 bytes per value).
* **bytes moved** (:meth:`Row.moved_bytes`; read by the latency features and the roofline, not
  exported): an op reads its inputs and weights and writes its output once (no fusion, no
  cache reuse); views (split, slice, flatten) move nothing.
* **peak activation memory** is the largest total of tensors alive at once at batch 1 in fp32
  when every op writes a new tensor that lives until its last reader has run (in-place
  activations and views would lower it; weights are not included).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from . import spec as S
from .config import PRECISION_BYTES, Config
from .zoo import resolve
from .zoo.common import Stage
from .zoo.table import current, table_of

if TYPE_CHECKING:  # pandas is imported where the table is built (rows_to_frame)
    import pandas as pd

CONVENTIONS = {
    "params": "nn.Module.parameters(): weights, biases, BN gamma and beta (not BN running stats)",
    "macs": "multiply-accumulates of convolutions and the classifier, as the papers count them",
    "flops": "2 x MACs, plus the elementwise work (BN, activations, adds, pooling, SE scaling) "
             "when elementwise=True",
    "out_bytes": "output tensor size at batch 1, fp32",
    "peak_activation_bytes": "largest total of live activation tensors at batch 1, fp32, no in-place reuse",
}

KINDS = (
    "standard conv",
    "depthwise conv",
    "pointwise conv",
    "grouped conv",
    "linear",
    "batch norm",
    "activation",
    "residual add",
    "concat",
    "channel split",
    "slice",
    "channel shuffle",
    "pooling",
    "squeeze-excite",
    "flatten",
)

BYTES_PER_VALUE = 4
VALUE_BYTES = {**PRECISION_BYTES, "bf16": 2}  # bytes per value of each dtype (bf16: measured only)
VIEW_OPS = ("split", "narrow", "flatten")  # the `op` values that move no data (views)
ACT_FLOPS = {"relu": 1, "relu6": 2, "hardsigmoid": 4}
COLUMNS = (
    "path", "stage", "block", "block_type", "op_name", "kind", "op", "kernel", "stride", "groups",
    "in_shape", "out_shape", "out_c", "out_h", "out_w", "params", "macs", "flops",
    "elementwise_flops", "out_bytes", "inputs",
)
class Shape(NamedTuple):
    """A symbolic tensor: the row that made it (-1 = the input image) and its C x H x W."""

    src: int
    c: int
    h: int
    w: int


class Row(NamedTuple):
    """One operation of a profile, in execution order: what counting produces, what
    :attr:`Profile.layers` is built from and what the diagrams read.

    Shapes stay numbers (``in_shapes`` one ``(C, H, W)`` per input, the output as ``out_c``,
    ``out_h``, ``out_w``); :attr:`in_shape` and :attr:`out_shape` give them as the table's text.
    ``inputs`` are the indices of the rows read (-1 = the input image); ``index`` is this row's
    own. Read the fields by name (``row.macs``); ``Row._fields`` lists them in order."""

    path: str
    stage: str
    block: str
    block_type: str
    op_name: str
    kind: str
    op: str
    kernel: int | None
    stride: int | None
    groups: int | None
    in_shapes: tuple[tuple[int, int, int], ...]
    out_c: int
    out_h: int
    out_w: int
    params: int
    macs: int
    elementwise_flops: int
    out_bytes: int
    inputs: tuple[int, ...]
    index: int  # type: ignore[assignment]  # the row's own index: shadows tuple.index on purpose

    @property
    def in_shape(self) -> str:
        """``"32x112x112"``, or ``"58x28x28 + 58x28x28"`` for an op with several inputs."""
        return " + ".join(map(shape_text, self.in_shapes))

    @property
    def out_shape(self) -> str:
        return f"{self.out_c}x{self.out_h}x{self.out_w}"

    @property
    def conv_kind(self) -> str | None:
        """The class of a conv row by its shape (:func:`conv_kind`), also for the convs whose
        ``kind`` says the unit they serve ("squeeze-excite"); None for other ops."""
        if self.op != "conv2d":
            return None
        return conv_kind(self.in_shapes[0][0], self.groups or 1, self.kernel or 1)  # a conv row has its kernel

    def moved_bytes(self, batch: int = 1, value_bytes: int = BYTES_PER_VALUE,
                    weights: bool = True) -> int:
        """Bytes the op moves (see the module doc): ``batch`` x (input + output values), plus
        its parameters once when ``weights``, each ``value_bytes`` wide; 0 for a view."""
        if self.op in VIEW_OPS:
            return 0
        values = sum(c * h * w for c, h, w in self.in_shapes) + self.out_c * self.out_h * self.out_w
        return (values * batch + (self.params if weights else 0)) * value_bytes


def shape_text(chw) -> str:
    """``(C, H, W)`` as the tables write it: ``"32x112x112"``."""
    return f"{chw[0]}x{chw[1]}x{chw[2]}"


def conv_kind(in_ch: int, groups: int, kernel: int) -> str:
    """Classify a convolution the way the papers talk about it: "depthwise conv" (one group per
    input channel, MobileNet), "grouped conv" (ShuffleNet's 1x1), "pointwise conv" (dense 1x1)
    or "standard conv" (dense k x k). The one rule behind the profile's ``kind``, the latency
    features' conv classes and the diagrams' names."""
    if groups > 1 and groups == in_ch:
        return "depthwise conv"
    if groups > 1:
        return "grouped conv"
    if kernel == 1:
        return "pointwise conv"
    return "standard conv"


def _fmt(s: Shape) -> str:
    return shape_text(s[1:])


class _Recorder:
    """Collects rows while a flow runs on shapes."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.rows: list[Row] = []
        self.stage = self.block = self.block_type = ""

    def _emit(self, path, kind, op, inputs, out, kernel=None, stride=None, groups=None,
              params=0, macs=0, elementwise=0) -> Shape:
        idx = len(self.rows)
        op_name = path[len(self.block) + 1:] if path.startswith(self.block + ".") else path
        self.rows.append(Row(
            path, self.stage, self.block, self.block_type, op_name, kind, op, kernel, stride, groups,
            tuple(i[1:] for i in inputs), out.c, out.h, out.w, params, macs, elementwise,
            out.c * out.h * out.w * BYTES_PER_VALUE, tuple(i.src for i in inputs), idx,
        ))
        return Shape(idx, out.c, out.h, out.w)

    def _spatial(self, path, x: Shape, kernel, stride, padding):
        h = (x.h + 2 * padding - kernel) // stride + 1
        w = (x.w + 2 * padding - kernel) // stride + 1
        if h < 1 or w < 1:
            raise ValueError(
                f"{self.cfg.label}: the feature map collapses to zero at {path} "
                f"(input {x.h}x{x.w}, kernel {kernel}, stride {stride}); use a larger resolution"
            )
        return h, w

    def leaf(self, path: str, node, x: Shape, kind_override=None) -> Shape:
        if isinstance(node, S.Conv2d):
            if x.c != node.in_ch or node.in_ch % node.groups or node.out_ch % node.groups:
                raise ValueError(f"{path}: conv {node} does not fit its input of {x.c} channels")
            h, w = self._spatial(path, x, node.kernel, node.stride, node.padding)
            kind = kind_override or conv_kind(node.in_ch, node.groups, node.kernel)
            return self._emit(path, kind, "conv2d", [x], Shape(-1, node.out_ch, h, w),
                              node.kernel, node.stride, node.groups, S.leaf_params(node),
                              node.out_ch * h * w * node.fan_in,
                              node.out_ch * h * w if node.bias else 0)
        numel = x.c * x.h * x.w
        if isinstance(node, S.BatchNorm):
            return self._emit(path, kind_override or "batch norm", "batch_norm", [x], x,
                              params=S.leaf_params(node), elementwise=2 * numel)
        if isinstance(node, S.Act):
            return self._emit(path, kind_override or "activation", node.fn, [x], x,
                              elementwise=ACT_FLOPS[node.fn] * numel)
        if isinstance(node, S.Pool):
            if node.mode == "global":
                out = Shape(-1, x.c, 1, 1)
                return self._emit(path, kind_override or "pooling", "global_avg_pool", [x], out,
                                  x.h, None, None, elementwise=numel)
            h, w = self._spatial(path, x, node.kernel, node.stride, node.padding)
            out = Shape(-1, x.c, h, w)
            per_out = node.kernel * node.kernel - (1 if node.mode == "max" else 0)
            return self._emit(path, kind_override or "pooling", f"{node.mode}_pool", [x], out,
                              node.kernel, node.stride, None, elementwise=per_out * x.c * h * w)
        if isinstance(node, S.Flatten):
            return self._emit(path, "flatten", "flatten", [x], Shape(-1, numel, 1, 1))
        if isinstance(node, S.Linear):
            if numel != node.in_features:
                raise ValueError(f"{path}: linear {node} does not fit its input of {numel} features")
            out = Shape(-1, node.out_features, 1, 1)
            return self._emit(path, "linear", "linear", [x], out, params=S.leaf_params(node),
                              macs=node.in_features * node.out_features,
                              elementwise=node.out_features if node.bias else 0)
        raise TypeError(f"{path}: cannot count {node!r}")


class _Scope:
    """The flow operations on shapes, for one unit at one path."""

    __slots__ = ("rec", "unit", "prefix", "kind", "depth", "children")

    def __init__(self, rec: _Recorder, unit: S.Unit, prefix: str, kind: str | None, depth: int):
        self.rec, self.unit, self.prefix, self.kind, self.depth = rec, unit, prefix, kind, depth
        self.children = dict(unit.children())

    def call(self, name: str, x: Shape) -> Shape:
        child = self.children[name]
        path = self.prefix + name
        rec = self.rec
        if self.depth == 0:
            rec.stage = name
            if not isinstance(child, Stage):
                rec.block, rec.block_type = name, name
        elif self.depth == 1 and isinstance(self.unit, Stage):
            rec.block, rec.block_type = path, type(child).__name__
        if isinstance(child, S.Unit):
            kind = "squeeze-excite" if isinstance(child, S.SqueezeExcite) else self.kind
            return child.flow(_Scope(rec, child, path + ".", kind, self.depth + 1), x)
        return rec.leaf(path, child, x, self.kind)

    def _op(self, name: str, kind: str, op: str, inputs: list[Shape], out: Shape, elementwise: int = 0,
            groups: int | None = None) -> Shape:
        return self.rec._emit(self.prefix + name, self.kind or kind, op, inputs, out,
                              groups=groups, elementwise=elementwise)

    def add(self, name: str, a: Shape, b: Shape) -> Shape:
        _same(self.prefix + name, a, b)
        return self._op(name, "residual add", "add", [a, b], a, a.c * a.h * a.w)

    def mul(self, name: str, a: Shape, b: Shape) -> Shape:
        return self._op(name, "squeeze-excite", "mul", [a, b], a, a.c * a.h * a.w)

    def cat(self, name: str, xs: list[Shape]) -> Shape:
        out = Shape(-1, sum(x.c for x in xs), xs[0].h, xs[0].w)
        for x in xs[1:]:
            if (x.h, x.w) != (out.h, out.w):
                raise ValueError(f"{self.prefix + name}: cannot concatenate {_fmt(xs[0])} and {_fmt(x)}")
        return self._op(name, "concat", "cat", xs, out)

    def split(self, name: str, x: Shape, sizes: Sequence[int]) -> list[Shape]:
        if sum(sizes) != x.c:
            raise ValueError(f"{self.prefix + name}: cannot split {x.c} channels into {sizes}")
        whole = self._op(name, "channel split", "split", [x], x)
        return [Shape(whole.src, c, x.h, x.w) for c in sizes]

    def shuffle(self, name: str, x: Shape, groups: int) -> Shape:
        if x.c % groups:
            raise ValueError(f"{self.prefix + name}: {x.c} channels do not shuffle in {groups} groups")
        return self._op(name, "channel shuffle", "channel_shuffle", [x], x, groups=groups)

    def narrow(self, name: str, x: Shape, channels: int) -> Shape:
        return self._op(name, "slice", "narrow", [x], Shape(-1, channels, x.h, x.w))


def _same(path, a: Shape, b: Shape):
    if a[1:] != b[1:]:
        raise ValueError(f"{path}: cannot add {_fmt(a)} and {_fmt(b)}")


def trace(network: S.Unit, cfg: Config) -> list[Row]:
    """Run ``network``'s flow on shapes; return its rows in execution order."""
    rec = _Recorder(cfg)
    image = Shape(-1, 3, cfg.resolution, cfg.resolution)
    network.flow(_Scope(rec, network, "", None, 0), image)
    return rec.rows


def peak_activation_bytes(rows: Sequence[Row], resolution: int) -> int:
    """Largest total of live tensors (see the module doc), the input image included."""
    n = len(rows)
    last_use = list(range(n))
    image_last = 0
    for i, row in enumerate(rows):
        for src in row.inputs:
            if src < 0:
                image_last = i
            else:
                last_use[src] = i
    frees: list[list[int]] = [[] for _ in range(n)]
    for j, last in enumerate(last_use):
        frees[last].append(j)
    live = 3 * resolution * resolution * BYTES_PER_VALUE
    peak = live
    for i, row in enumerate(rows):
        live += row.out_bytes
        peak = max(peak, live)
        if i == image_last:
            live -= 3 * resolution * resolution * BYTES_PER_VALUE
        for j in frees[i]:
            if j != n - 1:
                live -= rows[j].out_bytes
    return peak


def _nullable_int(values) -> pd.arrays.IntegerArray:
    import numpy as np
    import pandas as pd

    mask = np.fromiter((v is None for v in values), bool, len(values))
    data = np.fromiter((0 if v is None else v for v in values), np.int64, len(values))
    return pd.arrays.IntegerArray(data, mask)


def rows_to_frame(rows: Sequence[Row], elementwise: bool) -> pd.DataFrame:
    """The per-op table (columns: COLUMNS) of traced rows. pandas and numpy are imported here,
    not with the module: the totals, the CLI's list and the app's first page need neither."""
    import numpy as np
    import pandas as pd

    cols: dict[str, Any] = dict(zip(Row._fields, zip(*rows)))
    for name in ("out_c", "out_h", "out_w", "params", "macs", "elementwise_flops", "out_bytes"):
        cols[name] = np.array(cols[name], dtype=np.int64)
    for name in ("kernel", "stride", "groups"):
        cols[name] = _nullable_int(cols[name])
    del cols["in_shapes"]
    cols["in_shape"] = [r.in_shape for r in rows]
    cols["out_shape"] = [r.out_shape for r in rows]
    cols["flops"] = 2 * cols["macs"] + (cols["elementwise_flops"] if elementwise else 0)
    cols["inputs"] = [list(i) for i in cols["inputs"]]
    return pd.DataFrame({name: cols[name] for name in COLUMNS}, copy=False)


@dataclass(frozen=True)
class Profile:
    """The counts of one configuration: totals, and one :class:`Row` per operation (``rows``,
    in execution order; ``layers`` is the same as a DataFrame, built on first use, so sweeps
    that need only totals stay cheap)."""

    config: Config
    rows: tuple[Row, ...] = field(repr=False, compare=False)
    elementwise: bool = False

    @cached_property
    def params(self) -> int:
        return sum(r.params for r in self.rows)

    @cached_property
    def macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @cached_property
    def elementwise_flops(self) -> int:
        return sum(r.elementwise_flops for r in self.rows)

    @property
    def flops(self) -> int:
        return 2 * self.macs + (self.elementwise_flops if self.elementwise else 0)

    @cached_property
    def blocks(self) -> tuple[str, ...]:
        """The blocks in execution order (the rows' ``block``: ``stem``, ``stage1.0``, ...,
        ``head``), each once."""
        return tuple(dict.fromkeys(r.block for r in self.rows))

    @cached_property
    def peak_activation_bytes(self) -> int:
        return peak_activation_bytes(self.rows, self.config.resolution)

    @cached_property
    def layers(self) -> pd.DataFrame:
        return rows_to_frame(self.rows, self.elementwise)

    @property
    def arch(self) -> str:
        return self.config.arch

    @property
    def alpha(self) -> float:
        return self.config.alpha

    @property
    def resolution(self) -> int:
        return self.config.resolution

    @property
    def rho(self) -> float:
        return self.config.rho

    def totals(self) -> dict:
        c = self.config
        return {
            "arch": c.arch, "alpha": c.alpha, "rho": c.rho, "resolution": c.resolution,
            "groups": c.groups, "classes": c.classes, "params": self.params, "macs": self.macs,
            "flops": self.flops, "elementwise": self.elementwise,
            "elementwise_flops": self.elementwise_flops,
            "peak_activation_bytes": self.peak_activation_bytes,
        }

    def to_dict(self) -> dict:
        """Totals, conventions and every row, ready for ``json.dumps`` (no NaN)."""
        layers = self.layers.astype(object).where(self.layers.notna(), None)
        # the table the network was built from (the paper's, or the edited one: "custom"),
        # ready to edit and pass back with --settings; None for a family without a table
        settings = current(self.config) if table_of(self.config) is not None else None
        return {**self.totals(), "custom": self.config.settings is not None,
                "settings": settings, "conventions": CONVENTIONS,
                "layers": layers.to_dict(orient="records")}

    def to_json(self, indent=None) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def count(cfg: Config, elementwise: bool = False) -> Profile:
    """Profile a checked :class:`Config` (see the module doc for the conventions)."""
    return Profile(cfg, tuple(trace(resolve(cfg), cfg)), elementwise)
