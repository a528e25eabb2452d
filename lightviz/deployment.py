"""Deployment memory: the SRAM a network's activations need and the flash its weights need when
it runs on a microcontroller, from a :class:`~lightviz.counting.Profile`'s rows (no network is
built or run).

The rule is MCUNet's (Lin et al., "MCUNet: Tiny Deep Learning on IoT Devices", NeurIPS 2020;
mit-han-lab/mcunet, ``mcunet/utils/pytorch_utils.py`` ``count_peak_activation_size``), made to
work on any graph of rows:

* **fused ops**: a conv (or the classifier) runs with its batch norm and activation as one op
  (the BN folded into the weights, the activation into the requantization);
* **each op holds its input and its output**, and **every tensor still to be read later stays
  live**: a block's residual input is kept while its depthwise conv runs (MCUNet's
  ``count_conv_mem(depth_conv) + residual_size``);
* **a residual add is fused into the conv that feeds it**: the projection writes
  ``conv(x) + residual`` into the residual's own buffer, element by element, so at the
  projection the residual and the output are one buffer (MCUNet counts the projection's input
  and output only: ``count_conv_mem(point_linear)``);
* **weights stay in flash** and are read from there; they take no SRAM;
* **in-place depthwise** (TinyEngine, MCUNetV2 Sec. 3): a depthwise conv whose input is read by
  nothing later writes each output channel into a one-channel buffer and copies it back over
  the input, so it needs the input plus one output channel (N + 1 channels, not 2N). It is the
  ``in_place`` option; without it a depthwise conv holds input and output like any op.

How the ops that are not convs are held (what must be live at once, in MCUNet's spirit):

* ``split``, ``narrow`` (slice) and ``flatten`` are views: no buffer of their own; the tensor
  they view stays live, whole, until the last reader of any view of it (ShuffleNet v2's
  untouched half keeps its whole input live until the concat's reader: an upper bound by half
  that input while the other branch runs);
* ``concat`` is a placement: each branch writes its output straight into its slice of the
  concat's buffer (what a code-generating engine such as TinyEngine can do; TFLite Micro's
  concat kernel copies instead, which would add the output once more), so the branches' tensors
  stay live until the concat's last reader has run and the concat itself costs nothing;
* ``channel shuffle`` copies: it holds its input and its output (a runtime that folded the
  shuffle into the next conv's addressing would need less);
* pooling (max, average, global) and the classifier hold input and output;
* elementwise ops that stand alone (a batch norm or activation not after a conv, an add not
  fused into a conv, the squeeze-excite scaling ``x * gate``) write over an input they are the
  last reader of, so they add nothing when the sizes match; the squeeze-excite input stays live
  through the SE's pool and 1x1 convs because the scaling reads it.

The **flash** figure counts what a deployed int8 network stores for its layers (TFLite's and
TinyEngine's quantization scheme): conv and linear weights at the precision's width, one bias
per output channel of each conv and linear (BN folded into it), 32-bit at int8 (the int8
scheme keeps biases in int32) and at the precision's width otherwise; BN's gamma and beta are
not stored separately. Per-channel scales, the model's graph and the runtime's code are not
counted (MCUNet's 862 kB for MobileNet v2 0.35 @ 144 includes them). ``weight_bytes`` is
the plainer figure, params x bytes per value.

Check (int8): MobileNet v2 1.0 @ 224 peaks at 1,505,280 B without in-place (block 2's
depthwise: 112*112*96 + 56*56*96) and 1,404,928 B with it (block 2's expansion: 112*112*(16 +
96), MCUNetV2 Fig. 1); 0.35 @ 144 at 311,040 and 290,304 B.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .config import PRECISION_BYTES, parse_precision
from .counting import BYTES_PER_VALUE, VIEW_OPS, Profile, Row, peak_activation_bytes

FUSABLE = ("batch_norm", "relu", "relu6", "hardsigmoid")  # folded into the conv before them
ELEMENTWISE = FUSABLE + ("add", "mul")
IMAGE = -1
PLACEMENTS = VIEW_OPS + ("cat",)  # rows that make no buffer of their own


@dataclass(frozen=True)
class MemoryOp:
    """One op as deployed: the rows fused into it, what it is called and the bytes live while
    it runs (``live_bytes``: every tensor held at that moment, its input and output included)."""

    rows: tuple[int, ...]  # the profile rows fused into this op, the first one names it
    path: str  # the first row's path without the leaf: "stage2.0.conv_dw"
    block: str  # the profile's block: "stage2.0"
    label: str  # "block 2 (stage2.0.conv_dw): 3x3 depthwise conv"
    input_bytes: int
    output_bytes: int
    live_bytes: int
    in_place: bool  # whether this op wrote over its input (in-place depthwise or elementwise)


@dataclass(frozen=True)
class DeploymentMemory:
    """Deployment memory of one configuration at one precision, one mode (``in_place``)."""

    precision: str
    bytes_per_value: int
    in_place: bool
    peak_bytes: int  # SRAM for activations, MCUNet's rule
    peak_op: str  # the label of the op that sets the peak ("block 2 (...): 3x3 depthwise conv")
    peak_block: str  # its block as the profile names it ("stage2.0")
    ops: tuple[MemoryOp, ...]  # every op that holds memory, in execution order (views left out)
    flash_bytes: int  # weights as stored (see the module doc)
    weight_bytes: int  # params x bytes per value
    every_op_peak_bytes: int  # counting's peak (every op writes a new tensor) at this precision

    def to_dict(self) -> dict:
        """The totals (no per-op series), JSON-ready."""
        return {"precision": self.precision, "in_place": self.in_place,
                "peak_bytes": self.peak_bytes, "peak_op": self.peak_op,
                "peak_block": self.peak_block, "flash_bytes": self.flash_bytes,
                "weight_bytes": self.weight_bytes,
                "every_op_peak_bytes": self.every_op_peak_bytes}


def bytes_per_value(precision: str) -> int:
    return PRECISION_BYTES[parse_precision(precision)]


def _numel(chw) -> int:
    return chw[0] * chw[1] * chw[2]


def _out_numel(r: Row) -> int:
    return r.out_c * r.out_h * r.out_w


def fuse(rows: Sequence[Row]) -> list[tuple[int, ...]]:
    """The rows grouped into deployed ops: a conv or linear row takes the batch norm and
    activation rows that follow it and read only it, and a residual add right after them that
    reads its output (and an activation after the add); every other row is its own op."""
    readers: dict[int, list[int]] = {}
    for r in rows:
        for src in r.inputs:
            readers.setdefault(src, []).append(r.index)
    groups: list[tuple[int, ...]] = []
    i, n = 0, len(rows)
    while i < n:
        group = [i]
        if rows[i].op in ("conv2d", "linear"):
            added = False
            while i + 1 < n:
                nxt, last = rows[i + 1], group[-1]
                if readers.get(last) != [nxt.index] or last not in nxt.inputs:
                    break
                if nxt.op in FUSABLE and nxt.inputs == (last,):
                    pass
                elif nxt.op == "add" and not added and len(nxt.inputs) == 2 and \
                        nxt.inputs[0] != nxt.inputs[1]:
                    added = True
                else:
                    break
                group.append(nxt.index)
                i += 1
        groups.append(tuple(group))
        i += 1
    return groups


def _title(r: Row) -> str:
    if r.op == "conv2d":
        k = f"{r.kernel}x{r.kernel}"
        kind = "conv" if r.conv_kind == "standard conv" else r.conv_kind
        return f"{k} {kind}" + (" (SE)" if r.kind == "squeeze-excite" else "")
    names = {"linear": "fully connected", "add": "add", "mul": "scale channels (SE)",
             "cat": "concat", "channel_shuffle": "channel shuffle",
             "global_avg_pool": "global avg pool", "max_pool": "max pool", "avg_pool": "avg pool",
             "batch_norm": "batch norm"}
    return names.get(r.op, r.op)


def block_numbers(profile: Profile) -> dict[str, int]:
    """The blocks between stem and head numbered from 1 in execution order (MobileNet v2's
    ``stage2.0`` is block 2, as MCUNet counts them)."""
    inner = [b for b in profile.blocks if b not in ("stem", "head")]
    return {b: i + 1 for i, b in enumerate(inner)}


def _label(r: Row, numbers: dict[str, int]) -> str:
    path = r.path.rsplit(".", 1)[0] if r.op == "conv2d" and "." in r.path else r.path
    where = f"block {numbers[r.block]} ({path})" if r.block in numbers else path
    return f"{where}: {_title(r)}"


def memory_ops(profile: Profile, precision: str = "int8", in_place: bool = False) -> list[MemoryOp]:
    """Every deployed op with the bytes live while it runs (see the module doc)."""
    b = bytes_per_value(precision)
    rows = profile.rows
    groups = [g for g in fuse(rows) if rows[g[0]].op not in PLACEMENTS]
    # the tensors (buffers) each row's output is made of: a view's are its input's, a concat's
    # its inputs' (each branch writes into its slice), any other row's its own
    parts: dict[int, tuple[int, ...]] = {IMAGE: (IMAGE,)}
    for r in rows:
        if r.op in VIEW_OPS:
            parts[r.index] = parts[r.inputs[0]]
        elif r.op == "cat":
            parts[r.index] = tuple(t for s in r.inputs for t in parts[s])
        else:
            parts[r.index] = (r.index,)
    size = {IMAGE: 3 * profile.resolution ** 2 * b}
    size.update({r.index: _out_numel(r) * b for r in rows if r.op not in PLACEMENTS})
    inputs_of: list[tuple[int, ...]] = []
    for g in groups:
        members = set(g)
        read = [t for idx in g for s in rows[idx].inputs if s not in members for t in parts[s]]
        inputs_of.append(tuple(dict.fromkeys(read)))
    last_read: dict[int, int] = {}
    for gi, ins in enumerate(inputs_of):
        for t in ins:
            last_read[t] = gi
    born = {IMAGE: -1, **{g[-1]: gi for gi, g in enumerate(groups)}}
    numbers = block_numbers(profile)
    out: list[MemoryOp] = []
    for gi, g in enumerate(groups):
        first, last = rows[g[0]], rows[g[-1]]
        srcs = inputs_of[gi]
        held = sum(size[t] for t, at in born.items() if at < gi and last_read.get(t, -2) >= gi)
        out_bytes = size[last.index]

        def over(row_inputs, at=gi, need=out_bytes) -> bool:
            """Whether the output can go over one of these inputs (read last here, as big)."""
            return any(all(last_read[t] == at for t in parts[s])
                       and sum(size[t] for t in parts[s]) >= need for s in row_inputs)

        extra, wrote_over = out_bytes, False
        adds = [rows[i] for i in g[1:] if rows[i].op == "add"]
        if adds:  # a fused residual add: the output goes into the residual's buffer
            wrote_over = over([s for s in adds[0].inputs if s not in g])
        elif first.op in ELEMENTWISE:  # a standalone elementwise op writes over its input
            wrote_over = over(first.inputs)
        elif in_place and first.conv_kind == "depthwise conv" and \
                all(last_read[t] == gi for t in parts[first.inputs[0]]):
            extra, wrote_over = last.out_h * last.out_w * b, True  # N + 1: one output channel
        if wrote_over and extra == out_bytes:
            extra = 0
        path = first.path.rsplit(".", 1)[0] if first.op == "conv2d" and "." in first.path \
            else first.path
        out.append(MemoryOp(g, path, first.block, _label(first, numbers),
                            sum(size[t] for t in srcs), out_bytes, held + extra, wrote_over))
    return out


def flash_bytes(rows: Sequence[Row], precision: str = "int8") -> int:
    """Weights as a deployed network stores them (see the module doc): conv and linear weights
    at the precision's width, one bias per output channel (int32 at int8), BN folded."""
    p = parse_precision(precision)
    b = PRECISION_BYTES[p]
    bias_b = 4 if p == "int8" else b
    weights = biases = 0
    for r in rows:
        if r.op == "conv2d":
            w = r.out_c * (r.in_shapes[0][0] // (r.groups or 1)) * (r.kernel or 1) ** 2
        elif r.op == "linear":
            w = r.out_c * _numel(r.in_shapes[0])
        elif r.op == "batch_norm" and r.inputs[0] >= 0 and rows[r.inputs[0]].op == "conv2d":
            continue  # folded into its conv's weights and bias
        else:
            biases += r.params  # a BN that follows no conv keeps its scale and shift
            continue
        weights += w
        biases += r.out_c
    return weights * b + biases * bias_b


def deployment_memory(profile: Profile, precision: str = "int8",
                      in_place: bool = False) -> DeploymentMemory:
    """The deployment memory of ``profile`` at ``precision`` (see the module doc)."""
    p = parse_precision(precision)
    b = PRECISION_BYTES[p]
    ops = tuple(memory_ops(profile, p, in_place))
    peak = max(ops, key=lambda o: o.live_bytes)  # the first op to reach the peak
    every = peak_activation_bytes(profile.rows, profile.resolution) // BYTES_PER_VALUE * b
    return DeploymentMemory(p, b, in_place, peak.live_bytes, peak.label, peak.block, ops,
                            flash_bytes(profile.rows, p), profile.params * b, every)


FIELDS = {
    "dtype": "the precision of the byte figures below (params and MACs do not change)",
    "weight_bytes": "params x bytes per value",
    "flash_bytes": "weights as stored on a device: conv/linear weights at the precision, one "
                   "bias per output channel (int32 at int8), BN folded; no scales, graph or code",
    "every_op_peak_bytes": "largest total of live tensors when every op writes a new tensor "
                             "(counting's peak) at the precision",
    "deployment_peak_bytes": "SRAM for activations, MCUNet's rule: conv+BN+act fused, an op "
                             "holds its input and output, residuals kept, weights in flash",
    "deployment_peak_op": "the op that sets deployment_peak_bytes",
    "deployment_peak_bytes_inplace": "the same with TinyEngine's in-place depthwise "
                                     "(N + 1 channels instead of 2N)",
    "deployment_peak_op_inplace": "the op that sets deployment_peak_bytes_inplace",
}


def memory_fields(profile: Profile, precision: str = "fp32") -> dict:
    """The byte figures of ``profile`` at ``precision`` as ``lightviz profile`` writes them
    (names and meanings: :data:`FIELDS`)."""
    plain = deployment_memory(profile, precision, in_place=False)
    inplace = deployment_memory(profile, precision, in_place=True)
    return {"dtype": plain.precision, "weight_bytes": plain.weight_bytes,
            "flash_bytes": plain.flash_bytes, "every_op_peak_bytes": plain.every_op_peak_bytes,
            "deployment_peak_bytes": plain.peak_bytes, "deployment_peak_op": plain.peak_op,
            "deployment_peak_bytes_inplace": inplace.peak_bytes,
            "deployment_peak_op_inplace": inplace.peak_op}
