"""Latency features of a configuration, read from its profile rows (no network is built).

The model (:mod:`lightviz.latency.predictor.model`) is linear in these features, so a prediction splits
into per-op, per-block contributions. The terms follow what makes eager inference slow at
batch 1 (nn-Meter, Zhang et al., MobiSys 2021, fits per kernel for the same reason; the
prototype behind FACTS.md's "Latency prediction" notes chose these):

* **shared physical terms**, summed over every op: one launch per op (the fixed per-call cost
  of the framework and the kernel, ~18 us on this machine's CPU), the dense-conv and classifier
  MACs with channels padded to multiples of 8 (vectorised kernels work on 8-lane blocks),
  activation bytes read and written, and weight bytes;
* **per-class corrections** (ridge-shrunk toward zero in the fit): for each class of op
  (1x1 conv, k x k conv, depthwise, grouped, linear, batch norm, activation, add, SE multiply,
  concat, shuffle, pooling, views) its own count, MACs and bytes, because PyTorch dispatches them
  to different kernels (oneDNN, im2col + GEMM, native depthwise loops) with their own costs.

Bytes are counted in the setup's dtype and batch. With batch norms folded (the deployed
network, the protocol's default) a BN row is the ``nn.Identity`` left in its place: a call that
moves nothing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

import numpy as np

from ...config import Config
from ...counting import ROW_FIELDS, count

VERSION = 1
VALUE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}
VIEWS = ("split", "narrow", "flatten")
ACTS = ("relu", "relu6", "hardsigmoid", "hardswish", "sigmoid", "silu", "gelu")

# (class, which of count / macs / bytes it gets a correction for)
CLASSES = (
    ("conv1x1", "cmb"), ("convkxk", "cmb"), ("dwconv", "cmb"), ("gconv", "cmb"),
    ("linear", "cm"), ("bn", "cb"), ("act", "cb"), ("add", "cb"), ("mul", "cb"),
    ("cat", "cb"), ("shuffle", "cb"), ("pool", "cb"), ("view", "c"),
)
SHARED = ("launches", "dense_macs", "moved_bytes", "weight_bytes")
NAMES: tuple[str, ...] = SHARED + tuple(
    f"{cls}_{ {'c': 'count', 'm': 'macs', 'b': 'bytes'}[t]}" for cls, ts in CLASSES for t in ts)
N_SHARED = len(SHARED)
_INDEX = {name: i for i, name in enumerate(NAMES)}
_F = {name: i for i, name in enumerate(ROW_FIELDS)}


def _pad8(n: int) -> int:
    return -(-int(n) // 8) * 8


def op_class(row) -> str:
    op = row[_F["op"]]
    if op == "conv2d":
        groups = row[_F["groups"]] or 1
        in_c = row[_F["in_shapes"]][0][0]
        if groups == 1:
            return "conv1x1" if row[_F["kernel"]] == 1 else "convkxk"
        return "dwconv" if groups == in_c else "gconv"
    if op == "linear":
        return "linear"
    if op == "batch_norm":
        return "bn"
    if op in ACTS:
        return "act"
    if op in ("add", "mul", "cat"):
        return op
    if op == "channel_shuffle":
        return "shuffle"
    if op in VIEWS:
        return "view"
    if op.endswith("pool"):
        return "pool"
    return "act"  # an elementwise op this version does not know: costed like an activation


def op_features(row, batch: int, value_bytes: int, fold_bn: bool) -> np.ndarray:
    """The feature vector of one profile row."""
    f = np.zeros(len(NAMES))
    cls = op_class(row)
    f[_INDEX["launches"]] = 1.0
    f[_INDEX[f"{cls}_count"]] = 1.0
    if cls == "view" or (cls == "bn" and fold_bn):
        return f
    ins = sum(c * h * w for c, h, w in row[_F["in_shapes"]])
    out = row[_F["out_c"]] * row[_F["out_h"]] * row[_F["out_w"]]
    nbytes = float((ins + out) * batch * value_bytes)
    f[_INDEX["moved_bytes"]] = nbytes
    if f"{cls}_bytes" in _INDEX:
        f[_INDEX[f"{cls}_bytes"]] = nbytes
    f[_INDEX["weight_bytes"]] = float(row[_F["params"]] * value_bytes)
    macs = float(row[_F["macs"]] * batch)
    if cls in ("conv1x1", "convkxk", "linear"):
        if cls == "linear":
            padded = _pad8(row[_F["in_shapes"]][0][0] * row[_F["in_shapes"]][0][1]
                           * row[_F["in_shapes"]][0][2]) * _pad8(row[_F["out_c"]]) * batch
        else:
            k = row[_F["kernel"]]
            in_c = row[_F["in_shapes"]][0][0]
            padded = (row[_F["out_h"]] * row[_F["out_w"]] * _pad8(row[_F["out_c"]])
                      * _pad8(in_c) * k * k * batch)
        f[_INDEX["dense_macs"]] = float(padded)
        f[_INDEX[f"{cls}_macs"]] = float(padded)
    elif cls in ("dwconv", "gconv"):
        f[_INDEX[f"{cls}_macs"]] = macs
    return f


@lru_cache(maxsize=1024)
def features(cfg: Config, batch: int = 1, dtype: str = "fp32",
             fold_bn: bool = True) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """(totals over the network, block names in order, per-block sums) of the features."""
    rows = count(cfg).rows
    vb = VALUE_BYTES.get(dtype, 4)
    per_op = np.stack([op_features(r, batch, vb, fold_bn) for r in rows])
    blocks: list[str] = []
    index = {}
    which = np.empty(len(rows), dtype=np.int64)
    for i, r in enumerate(rows):
        b = cast(str, r[_F["block"]])  # a Row's block column
        if b not in index:
            index[b] = len(blocks)
            blocks.append(b)
        which[i] = index[b]
    per_block = np.zeros((len(blocks), len(NAMES)))
    np.add.at(per_block, which, per_op)
    totals = per_op.sum(axis=0)
    totals.setflags(write=False)
    per_block.setflags(write=False)
    return totals, tuple(blocks), per_block
