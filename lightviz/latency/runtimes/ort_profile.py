"""Where int8 gains and loses, node by node: ONNX Runtime's own profiler on the fp32 and the int8
graph of one network.

ONNX Runtime writes a Chrome-trace JSON when ``SessionOptions.enable_profiling`` is on
(https://onnxruntime.ai/docs/performance/tune-performance/profiling-tools.html): one event per
node execution with ``cat`` ``"Node"``, ``name`` ``<node name>_kernel_time``, ``dur`` in
microseconds and ``args.op_name`` the kernel's op type (after ONNX Runtime's fusions: an int8
conv is one ``QLinearConv``; a QuantizeLinear/DequantizeLinear pair left around an op that has no
int8 kernel, an SE block's ``Mul`` or GhostNet's ``HardSigmoid``, stays as two nodes of its own).

:func:`parse_trace` reads such a trace (each node's median over the profiled runs, the first,
cold one dropped), :func:`op_type_totals` and :func:`block_totals` sum it per op type and per
block (the node name's module path), :func:`compare` lines fp32 and int8 up, and
:func:`profile_precisions` makes both graphs of a configuration and profiles them. Streamlit-free
and torch-free but for the export: ``lightviz bench --runtime onnxruntime --dtype int8 --layers``
prints it and the Latency page draws it.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import tempfile
from typing import NamedTuple

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
GRAPH = "(graph)"  # nodes with no module path: the quantizer's input/output nodes, layout transposes
PROFILE_RUNS = 20


class NodeTime(NamedTuple):
    """One node of the executed graph: its name, op type (the kernel run), median milliseconds
    per run and how many runs were profiled."""

    name: str
    op_type: str
    ms: float
    runs: int


def parse_trace(events) -> list[NodeTime]:
    """The nodes of an ONNX Runtime profile (the parsed JSON list of events), in execution
    order, each with the median of its durations over the runs after the first (the only one
    when a single run was profiled). ValueError (one line) when the trace has no node event."""
    durations: dict[str, list[float]] = {}
    ops: dict[str, str] = {}
    for e in events if isinstance(events, list) else []:
        if not isinstance(e, dict) or e.get("cat") != "Node" or "dur" not in e:
            continue
        name = str(e.get("name", ""))
        if not name.endswith("_kernel_time"):
            continue
        node = name[: -len("_kernel_time")]
        durations.setdefault(node, []).append(float(e["dur"]) / 1e3)
        ops[node] = str((e.get("args") or {}).get("op_name", "?"))
    if not durations:
        raise ValueError("the ONNX Runtime profile has no node events (cat 'Node', name "
                         "'<node>_kernel_time'): not a profile of a session run")
    return [NodeTime(n, ops[n], statistics.median(d[1:] or d), max(len(d) - 1, 1))
            for n, d in durations.items()]


def read_trace(path: str) -> list[NodeTime]:
    with open(path) as fh:
        return parse_trace(json.load(fh))


_DOTTED = re.compile(r"^([A-Za-z_]\w*)(\.\d+)?\.\S*(weight|bias)_(Quantize|Dequantize)Linear")


def block_of(node: str) -> str:
    """The block a node belongs to, from its module path: ``/stage1/stage1.0/conv_dw/conv/Conv``
    -> ``stage1.0``; the first component without a numbered child (``/stem/conv/Conv`` ->
    ``stem``). A weight's or bias's own DequantizeLinear is named by its parameter
    (``stage4.0.ghost1.primary_conv.conv.weight_DequantizeLinear`` -> ``stage4.0``: left unfused
    in front of a float op, it runs at every call). :data:`GRAPH` for a node with no path."""
    m = _DOTTED.match(node)
    if m:
        return m.group(1) + (m.group(2) or "")
    parts = [p for p in node.split("/") if p]
    if len(parts) < 2:
        return GRAPH
    numbered = next((p for p in parts[:-1] if "." in p and p.rsplit(".", 1)[1].isdigit()), None)
    return numbered or parts[0]


def op_type_totals(nodes: list[NodeTime]) -> dict[str, float]:
    """Milliseconds per run by op type, largest first."""
    out: dict[str, float] = {}
    for n in nodes:
        out[n.op_type] = out.get(n.op_type, 0.0) + n.ms
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def block_totals(nodes: list[NodeTime]) -> dict[str, float]:
    """Milliseconds per run by block (:func:`block_of`), in execution order."""
    out: dict[str, float] = {}
    for n in nodes:
        b = block_of(n.name)
        out[b] = out.get(b, 0.0) + n.ms
    return out


def compare(fp32: dict[str, float], int8: dict[str, float]) -> list[dict]:
    """Rows ``{key, fp32_ms, int8_ms, change_ms}`` over the keys of both (op types or blocks; a
    key absent from one precision counts 0 there), the keys of ``fp32`` first in their order."""
    keys = list(fp32) + [k for k in int8 if k not in fp32]
    return [{"key": k, "fp32_ms": fp32.get(k, 0.0), "int8_ms": int8.get(k, 0.0),
             "change_ms": int8.get(k, 0.0) - fp32.get(k, 0.0)} for k in keys]


def qdq_share(nodes: list[NodeTime]) -> float:
    """The share of the graph's time spent in QuantizeLinear/DequantizeLinear nodes."""
    total = sum(n.ms for n in nodes)
    return sum(n.ms for n in nodes if n.op_type in QDQ_OPS) / total if total > 0 else 0.0


def profile_file(path: str, shape: tuple[int, ...], threads: int = 1, runs: int = PROFILE_RUNS,
                 seed: int = 0) -> list[NodeTime]:
    """Profile the ONNX file at ``path`` in ONNX Runtime (CPU provider, the session options of
    :mod:`lightviz.latency.runtimes.ort`) over ``runs`` + 1 runs on a random input."""
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = int(threads), 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.enable_profiling = True
    with tempfile.TemporaryDirectory(prefix="lightviz-prof-") as tmp:
        opts.profile_file_prefix = os.path.join(tmp, "ort")
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0]
        dtype = np.float16 if "float16" in inp.type else np.float32
        feed = {inp.name: np.random.default_rng(seed).standard_normal(shape).astype(dtype)}
        for _ in range(int(runs) + 1):
            sess.run(None, feed)
        return read_trace(sess.end_profiling())


def profile_precisions(cfg, threads: int = 1, runs: int = PROFILE_RUNS) -> dict:
    """Both graphs of ``cfg`` (``lightviz export`` at seed 0, fp32 and int8 with its default
    calibration) profiled: ``{"fp32": [NodeTime], "int8": [NodeTime], "config": label,
    "threads", "runs"}``."""
    from ...exporter import export

    out: dict = {"config": cfg.label, "threads": int(threads), "runs": int(runs)}
    with tempfile.TemporaryDirectory(prefix="lightviz-prof-") as tmp:
        for dtype in ("fp32", "int8"):
            info = export(cfg, os.path.join(tmp, f"{dtype}.onnx"), "onnx", dtype=dtype)
            out[dtype] = profile_file(info.path, info.input_shape, threads, runs)
    return out


def summary(profiles: dict) -> dict:
    """What the page and the CLI show of :func:`profile_precisions`: totals, the QDQ share, and
    the comparisons by op type and by block (rows of :func:`compare`)."""
    f, q = profiles["fp32"], profiles["int8"]
    return {"config": profiles.get("config"), "threads": profiles.get("threads"),
            "runs": profiles.get("runs"),
            "fp32_ms": sum(n.ms for n in f), "int8_ms": sum(n.ms for n in q),
            "qdq_share": qdq_share(q),
            "op_types": compare(op_type_totals(f), op_type_totals(q)),
            "blocks": compare(block_totals(f), block_totals(q))}


def render(s: dict, top: int = 12) -> str:
    """:func:`summary` as text: the op types, then the blocks where int8 loses most."""
    lines = [f"ONNX Runtime profiler, {s['config']}, {s['threads']} thread(s), median of {s['runs']} "
             f"runs per node: fp32 {s['fp32_ms']:.3f} ms, int8 {s['int8_ms']:.3f} ms of node time; "
             f"quantize/dequantize {s['qdq_share']:.1%} of the int8 graph",
             "", f"{'op type':<28}{'fp32 ms':>9}{'int8 ms':>9}{'change':>9}"]
    for r in s["op_types"]:
        lines.append(f"{r['key']:<28}{r['fp32_ms']:9.3f}{r['int8_ms']:9.3f}{r['change_ms']:+9.3f}")
    worst = sorted(s["blocks"], key=lambda r: -r["change_ms"])[:top]
    lines += ["", f"{'block (int8 slowest first)':<28}{'fp32 ms':>9}{'int8 ms':>9}{'change':>9}"]
    for r in worst:
        lines.append(f"{r['key']:<28}{r['fp32_ms']:9.3f}{r['int8_ms']:9.3f}{r['change_ms']:+9.3f}")
    lines.append("note: node times from ONNX Runtime's profiler (the sum leaves out the session's "
                 "own overhead); int8 is the graph lightviz export --dtype int8 writes")
    return "\n".join(lines)
