"""Kernels: what the runtime runs as one call, read from a configuration's profile rows.

A network's latency is close to the sum of its kernels' latencies when each kernel is timed the
way the runtime runs it (nn-Meter, Zhang et al., MobiSys 2021: kernels are the fusion units,
conv+bn+act, depthwise, grouped conv, add, concat, shuffle, pooling, fc, SE). Eager PyTorch
fuses nothing but what the protocol folds before timing: a batch norm folded into the conv
before it leaves an ``nn.Identity`` call behind (kind ``call``). So here a kernel is one profile
row with what its call costs depends on: the kind (the conv classes of
:attr:`lightviz.counting.Row.conv_kind`, each activation, the flow ops, pooling), the input and
output shapes, kernel size, stride, groups, bias.

Each kernel has a *descriptor*, the few numbers the per-kind model interpolates over (log2 of
channels and output pixels, kernel, stride, log2 groups, and which of eager PyTorch's CPU paths
runs it: :func:`conv_path`), and the *physical terms* its base model
is linear in (a call, MACs, values read and written, weights, and the calls a grouped conv makes
one group at a time on a native path); see
:mod:`lightviz.latency.predictor.kernel_model`. Torch-free: the Explore page predicts on every
slider move.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from ...config import Config
from ...counting import Row, count

# The kinds a kernel model knows, in a fixed order (the calibration times each of them).
CONV_KINDS = {"pointwise conv": "conv1x1", "standard conv": "convkxk",
              "depthwise conv": "dwconv", "grouped conv": "gconv"}
CONVS = tuple(CONV_KINDS.values())  # the conv kinds: MACs and weights of their own, a conv path
KINDS = ("conv1x1", "convkxk", "dwconv", "gconv", "linear", "bn", "relu", "relu6",
         "hardsigmoid", "add", "mul", "cat", "shuffle", "pool", "avgpool", "gap", "call")
# Activations a plugin may use that no kernel was timed for: costed as the closest known one.
ACT_ALIAS = {"relu": "relu", "relu6": "relu6", "hardsigmoid": "hardsigmoid", "sigmoid": "hardsigmoid",
             "hardswish": "hardsigmoid", "silu": "hardsigmoid", "gelu": "hardsigmoid"}
DESCRIPTOR = ("log2 in channels", "log2 out channels", "log2 out pixels", "kernel", "stride",
              "log2 groups", "path")
# Eager PyTorch on a CPU runs a float conv on oneDNN only where ATen's ConvParams::use_mkldnn
# says so; elsewhere on its native im2col + GEMM ("for some case, native is faster").
NATIVE_MAX_VALUES = 20480  # a batch-1 input of at most this many values, 1x1 to 3x3, groups 1
FEW_COLUMNS = 16  # output pixels under which the native GEMM runs at a fraction of its rate
TERMS = ("call", "MACs", "values in", "values out", "weights", "group calls")
# oneDNN lays a float conv's activations out in blocks of channels, as wide as the CPU's vectors
# (nChw16c with AVX-512, nChw8c with AVX2), and computes whole blocks (see block_waste).
CHANNEL_BLOCKS = {"AVX512": 16, "AVX2": 8}
MIN_BLOCKED_IN = 8  # a conv reading fewer channels (a stem's 3) runs oneDNN's first-layer kernel


class Kernel(NamedTuple):
    """One call the runtime makes: its kind and every shape its cost depends on."""

    kind: str
    op: str
    c_in: int
    h: int
    w: int
    c_out: int
    out_h: int
    out_w: int
    k: int = 1
    stride: int = 1
    groups: int = 1
    bias: bool = False
    pad: int = 0
    parts: tuple[int, ...] = ()  # cat: each input's channels
    known: bool = True  # False: costed as the closest known op (a plugin's activation)

    @property
    def macs(self) -> int:
        if self.kind in CONVS:
            return self.c_out * self.out_h * self.out_w * (self.c_in // self.groups) * self.k * self.k
        if self.kind == "linear":
            return self.c_in * self.h * self.w * self.c_out
        return 0

    @property
    def weights(self) -> int:
        if self.kind in CONVS:
            return self.c_out * (self.c_in // self.groups) * self.k * self.k + self.c_out * self.bias
        if self.kind == "linear":
            return self.c_in * self.h * self.w * self.c_out + self.c_out * self.bias
        return 0

    @property
    def values_in(self) -> int:
        if self.kind == "cat":
            return sum(self.parts) * self.h * self.w
        two = 2 if self.kind in ("add",) else 1
        extra = self.c_in if self.kind == "mul" else 0  # SE: the per-channel scale
        return two * self.c_in * self.h * self.w + extra

    @property
    def values_out(self) -> int:
        return 0 if self.kind == "call" else self.c_out * self.out_h * self.out_w

    def terms(self, batch: int = 1, path: int = 0, block: int | None = None) -> np.ndarray:
        """The physical terms of :data:`TERMS` (one call; per-image terms times ``batch``; the
        group calls of a grouped conv on ``path``, see :func:`group_calls`; on oneDNN, path 0,
        the MACs of whole blocks of ``block`` channels, see :func:`block_waste`)."""
        macs = self.macs * (block_waste(self, block) if block and path == 0 else 1.0)
        return np.array([1.0, macs * batch / 1e6, self.values_in * batch / 1e6,
                         self.values_out * batch / 1e6, self.weights / 1e6, group_calls(self, path)])

    def descriptor(self, path: int | None = None) -> np.ndarray:
        """Where the kernel sits among its kind's timed shapes (:data:`DESCRIPTOR`; the path,
        :func:`conv_path`, where given: a model before version 5 has none)."""
        c_in = sum(self.parts) if self.parts else self.c_in
        z = [math.log2(max(c_in, 1)), math.log2(max(self.c_out, 1)),
             math.log2(max(self.out_h * self.out_w, 1)), float(self.k),
             float(self.stride), math.log2(max(self.groups, 1))]
        return np.array(z if path is None else z + [float(path)])


def conv_path(k: Kernel, batch: int = 1, threads: int = 1) -> int:
    """Which of eager PyTorch's CPU paths runs a conv kernel: 0 oneDNN (every other kind too),
    1 the native im2col + GEMM, 2 the native GEMM on under :data:`FEW_COLUMNS` output pixels.

    ATen's ``ConvParams::use_mkldnn`` sends a float conv to oneDNN only if it is strided, or
    not 1x1, or batched by 16, or run on more than one thread, *and* it is grouped, or larger
    than 3x3, or batched, or its input holds more than :data:`NATIVE_MAX_VALUES` values. The
    paths run the same shape at very different rates, and the rate jumps where a kernel crosses
    from one to the other: on this project's machine (one thread) a 3x3 conv of 256 channels
    ran at 5.3 GMAC/s on a 3 x 3 map and 28.6 on a 4 x 4 one (both native), of 2048 -> 512
    channels at 19.7 on the native path and 4.8 on oneDNN (4 x 4). Smoothed over shapes
    together, the 3 x 3 maps' slowness put a ResNet table's 952-channel 3x3 convs on 4 x 4 px
    38-91% over (6.1 ms measured each). Kernels of different paths are never neighbours, and a
    path timed enough has a base of its own (:func:`~.kernel_fit._path_rows`)."""
    if k.kind not in CONVS:
        return 0
    either = k.stride > 1 or batch >= 16 or k.k != 1 or threads > 1
    onednn = k.groups > 1 or k.k > 3 or batch > 1 or batch * k.c_in * k.h * k.w > NATIVE_MAX_VALUES
    if either and onednn:
        return 0
    return 2 if k.out_h * k.out_w < FEW_COLUMNS else 1


def block_waste(k: Kernel, block: int) -> float:
    """How much more work a conv does on oneDNN than its MACs say: oneDNN computes whole blocks
    of ``block`` channels (:data:`CHANNEL_BLOCKS`), in and out (of each group), so a conv of 24
    channels does the work of one of 32. On this project's machine (AVX-512, one thread) the
    3x3 convs of calibration networks on 29-58 px ran at 40-49 G MAC/s with 32 or 48 channels,
    30-36 with 40 and 23 with 24, and a kind's smooth correction over log channels took the
    difference for noise: a ResNet-18 at 0.279x (24 and 40 channels) came out 22% under.
    Costed on whole blocks, the fifteen kept one-thread campaigns of seeds 10-23, refitted
    offline, predict (a) better in fourteen. A depthwise conv blocks its channels once; a conv
    reading fewer than :data:`MIN_BLOCKED_IN` channels (a stem's 3) is not blocked.

    Simpler than oneDNN (its verbose log, AVX-512, one thread): a grouped conv is never padded
    (it takes blocks of 16, 8 or 4 that divide its channels per group, else ``gemm:jit``), and a
    dense conv of under 16 channels in reads them plain. Costed that way, the twenty-one kept
    campaigns of seeds 10-25 predicted as well, within 0.2 point at one thread (its grouped 1x1
    convs run on ATen's path) and mixed at two (-1.6 to +3.3 points), so the rule stays one."""
    if k.kind not in CONVS:
        return 1.0

    def whole(c: int) -> float:
        return math.ceil(c / block) * block / c if c > 0 else 1.0

    if k.kind == "dwconv":
        return whole(k.c_out)
    per_in, per_out = k.c_in // k.groups, k.c_out // k.groups
    return whole(per_out) * (whole(per_in) if per_in >= MIN_BLOCKED_IN else 1.0)


def host_channel_block() -> int | None:
    """The channel block of this CPU's float convs on oneDNN (torch's CPU capability: 16 with
    AVX-512, 8 with AVX2), or None (another CPU, or no torch here: no blocks assumed)."""
    try:
        import torch

        return CHANNEL_BLOCKS.get(torch.backends.cpu.get_cpu_capability())
    except Exception:  # noqa: BLE001 - an old torch without it, or none: no blocks
        return None


def group_calls(k: Kernel, path: int) -> float:
    """The convolutions a grouped conv makes one group at a time: ATen's ``_convolution`` runs
    a backend without groups of its own (the native paths, ``path`` 1 or 2 of :func:`conv_path`)
    once per group and concatenates the outputs; oneDNN (path 0) takes the groups in one call.
    Each call costs on its own: on this project's machine (one thread) a 1x1 conv of 16 channels
    on 8 x 8 px took 14 us in one group and 41 us in eight, a 1x1 depthwise conv of 512 channels
    on 7 x 7 px (a GhostNet table's cheap operation edited to k = 1) 2.1 ms, against 0.1 ms for
    the 3x3 one that oneDNN runs. Costed as one call, three of the four 1x1 convs in two groups
    of a TinyNet of 0.9 ms were predicted 58-66% over (7-26% in one of 5.7 ms)."""
    return float(k.groups) if path and k.groups > 1 else 0.0


def _pool_padding(k: int, s: int, h: int, out_h: int) -> int:
    """The padding that gives ``out_h`` from ``h`` (floor mode): the profile keeps shapes."""
    return max(0, math.ceil(((out_h - 1) * s + k - h) / 2))


def kernel_of(row: Row, fold_bn: bool = True) -> Kernel | None:
    """The kernel a profile row runs as, or None for a view (split, slice, flatten: no call
    of its own that moves data; their Python cost is in the network term)."""
    op = row.op
    c, h, w = row.in_shapes[0]
    base: dict[str, Any] = dict(op=op, c_in=c, h=h, w=w, c_out=row.out_c, out_h=row.out_h, out_w=row.out_w)
    if op == "conv2d":
        g = row.groups or 1
        k = row.kernel or 1
        weights = row.out_c * (c // g) * k * k
        bias = fold_bn or row.params > weights
        return Kernel(CONV_KINDS[row.conv_kind or "standard conv"], k=k, stride=row.stride or 1,
                      groups=g, bias=bias, pad=k // 2, **base)
    if op == "linear":
        return Kernel("linear", bias=row.params > c * h * w * row.out_c, **base)
    if op == "batch_norm":
        return Kernel("call" if fold_bn else "bn", **base)
    if op in ACT_ALIAS:
        return Kernel(ACT_ALIAS[op], known=op in KINDS, **base)
    if op in ("add", "mul"):
        return Kernel(op, **base)
    if op == "cat":
        return Kernel("cat", parts=tuple(s[0] for s in row.in_shapes), **base)
    if op == "channel_shuffle":
        return Kernel("shuffle", groups=row.groups or 1, **base)
    if op in ("max_pool", "avg_pool"):
        k, s = row.kernel or 1, row.stride or 1
        # max and average pooling are kinds of their own: a 3x3 max pool runs 2.4-3.2x slower
        # than the same average pool on this project's CPU (1 thread, 7-112 px)
        return Kernel("pool" if op == "max_pool" else "avgpool", k=k, stride=s,
                      pad=_pool_padding(k, s, h, row.out_h), **base)
    if op == "global_avg_pool":
        return Kernel("gap", **base)
    if op in ("split", "narrow", "flatten"):
        return None
    return Kernel("relu", known=False, **base)  # an op this version does not know


@lru_cache(maxsize=512)
def network_kernels(cfg: Config, fold_bn: bool = True) -> tuple[tuple[Kernel, ...], tuple[str, ...],
                                                                  tuple[str, ...], int]:
    """(the kernels in order, each one's block, the blocks in order, the module calls the
    network makes besides its kernels: its units' forwards and the views)."""
    profile = count(cfg)
    kernels, blocks = [], []
    for row in profile.rows:
        k = kernel_of(row, fold_bn)
        if k is not None:
            kernels.append(k)
            blocks.append(row.block)
    return tuple(kernels), tuple(blocks), profile.blocks, overhead_calls(profile.rows)


def overhead_calls(rows: Sequence[Row]) -> int:
    """The calls a network makes around its kernels: one forward per unit (every path prefix
    of a row is a module whose ``forward`` runs the flow) and one per view."""
    units: set[str] = set()
    for row in rows:
        path = row.path
        cut = path.rfind(".")
        while cut > 0 and path[:cut] not in units:  # a unit seen has its own units seen too
            units.add(path[:cut])
            cut = path.rfind(".", 0, cut)
    views = sum(1 for row in rows if row.op in ("split", "narrow", "flatten"))
    return len(units) + views


def distinct(kernels: Iterable[Kernel]) -> list[Kernel]:
    """The kernels without repeats, in first-seen order."""
    return list(dict.fromkeys(kernels))


def row_kernels(rows: Iterable[Row], fold_bn: bool = True) -> list[tuple[str, Kernel]]:
    """(row path, kernel) of each row that runs as a call (a network's, or a kernel chain's)."""
    return [(row.path, k) for row in rows if (k := kernel_of(row, fold_bn)) is not None]


def with_times(path_kernels: Iterable[tuple[str, Kernel]], op_ms: dict[str, float]) -> list[tuple[Kernel, float]]:
    """Each kernel with its in-place time (``op path -> ms``, as the lab's per-op pass keys
    them: the row paths); a kernel without a finite, positive time is left out."""
    out = []
    for path, k in path_kernels:
        ms = op_ms.get(path)
        if ms is not None and math.isfinite(ms) and ms > 0:
            out.append((k, float(ms)))
    return out


def timed_kernels(cfg: Config, op_ms: dict[str, float], fold_bn: bool = True) -> list[tuple[Kernel, float]]:
    """The kernels of ``cfg`` with their in-place times (see :func:`with_times`)."""
    return with_times(row_kernels(count(cfg).rows, fold_bn), op_ms)
