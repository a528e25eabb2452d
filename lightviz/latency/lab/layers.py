"""Per-block and per-op latency beside the MACs: where the time goes, and why it is not where
the MACs are.

**How the parts are timed.** The whole network runs as usual, with probes around each part,
and every pass is repeated within a time budget (median per part):

* *blocks* (``stem``, ``stage2.0``, ..., ``head``: the profile's ``block`` column, which is the
  module's qualified name): forward pre- and post-hooks on the block modules only, so the
  probes cost one pair per block;
* *ops* (every row of the profile): hooks on every leaf module (conv, BN, activation, pool,
  linear) and wrappers around the block's functional operations (residual add, concat, split,
  shuffle, slice, SE scaling), whose paths are the profile's paths.

On the CPU a probe reads ``time.perf_counter``; on CUDA it records a CUDA event on the stream
(no synchronisation inside the pass: the GPU timeline is measured where it runs); on MPS it
synchronises and reads the clock, which slows the pass down. Parts are timed in their real
context (caches hold what the previous layer left), so they add up to nearly the whole; the
**sum of the parts is compared with the whole** (timed uninstrumented just before) and the gap
shown: it is the Python between the parts plus the probes themselves. For a CUDA graph each part
is timed on the device alone, launched behind a GPU spin (:class:`_Probe`'s ``device_time``),
beside the graph's replay: the gap is then the replay's launch and the kernels outside every
part.

**Arithmetic intensity** = MACs per byte moved, from the profile's rows: each op reads its
inputs and weights and writes its output once (no fusion, no cache reuse), in the measured
dtype and batch; views (split, slice, flatten) move nothing. **Achieved MACs/s** = MACs x batch
/ median time. The **roofline** puts each conv on intensity (x) against achieved MACs/s (y),
under the roof min(peak MACs/s, bandwidth x intensity) measured on this device in the same
run (a large matmul and a large copy): depthwise convs sit at low intensity, far below the
1x1 convs, though they have few MACs.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ...builder import FlowModule
from ...config import Config
from ...counting import VALUE_BYTES, Profile, count
from .timing import Timer, no_stop

FUNCTIONAL_OPS = ("add", "mul", "cat", "split", "shuffle", "narrow")
BYTES = {torch.float32: 4, torch.float16: 2, torch.bfloat16: 2}
MIN_PASSES = 3
MAX_PASSES = 5000


def block_paths(cfg: Config) -> list[str]:
    """The blocks of a configuration in execution order (module names)."""
    return list(count(cfg).blocks)


class _Probe:
    """Start/stop timestamps per key, per pass, on the CPU clock or as CUDA events.

    With ``device_time`` on CUDA, each part's start is preceded by a GPU spin
    (:func:`~lightviz.latency.lab.cudagraph.gpu_busy`) longer than the CPU takes from one part's
    start to the next's (twice the 90th percentile of the last pass's steps, and 20 us), so by
    the time the GPU reaches a part its kernels and its closing event are already queued: they
    run back to back, as a CUDA graph runs them, and the events time the kernels, not the
    launch gap before them (the spins fall between parts, in none). The GPU falls behind by
    about a step a part, so every :data:`SYNC_EVERY` parts the probe waits for it: the queue
    never nears CUDA's limit of pending launches (past it a launch blocks, and the blocked time
    would be taken for a step and double the spin)."""

    SPIN_MS = (0.02, 5.0)  # the shortest and the longest spin before a part
    SYNC_EVERY = 16

    def __init__(self, timer: Timer, device_time: bool = False):
        self.kind = timer.kind
        self.timer = timer
        self.samples: dict[str, list[float]] = defaultdict(list)
        self._open: dict[str, object] = {}
        self._pass: dict[str, float] = defaultdict(float)
        self._events: list[tuple] = []
        self._spin = device_time and self.kind == "cuda"
        self._spin_ms, self._spun_ms = 0.5, 0.0  # until the first pass has measured the steps
        self._last: float | None = None
        self._steps: list[float] = []
        self._parts = 0

    def _lead(self) -> None:
        from .cudagraph import gpu_busy

        self._parts += 1
        if self._parts % self.SYNC_EVERY == 0:  # the queue drained; this step is no launch's
            self.timer.sync()
            self._last = None
        now = time.perf_counter()
        if self._last is not None:
            self._steps.append((now - self._last) * 1e3)
        self._last = now
        gpu_busy(self.timer.device, self._spin_ms)
        self._spun_ms += self._spin_ms

    def start(self, key: str) -> None:
        if self._spin:
            self._lead()
        if self.kind == "cuda":
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            self._open[key] = ev
        else:
            if self.kind == "mps":
                torch.mps.synchronize()
            self._open[key] = time.perf_counter()

    def stop(self, key: str) -> None:
        begin = self._open.pop(key, None)
        if begin is None:
            return
        if self.kind == "cuda":
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            self._events.append((key, begin, ev))
        else:
            if self.kind == "mps":
                torch.mps.synchronize()
            self._pass[key] += (time.perf_counter() - begin) * 1e3

    def end_pass(self, keep: bool = True) -> float:
        """Close a pass (its samples kept or not); the milliseconds of GPU spin it enqueued."""
        if self.kind == "cuda":
            self.timer.sync()
            for key, a, b in self._events:
                self._pass[key] += a.elapsed_time(b)
            self._events.clear()
        if keep:
            for key, ms in self._pass.items():
                self.samples[key].append(ms)
        self._pass.clear()
        self._open.clear()
        spun, self._spun_ms, self._last, self._parts = self._spun_ms, 0.0, None, 0
        if self._steps:
            low, high = self.SPIN_MS
            self._spin_ms = min(max(2.0 * float(np.percentile(self._steps, 90)) + low, low), high)
            self._steps.clear()
        return spun


@contextmanager
def _instrumented(model: torch.nn.Module, probe: _Probe, level: str, blocks: list[str] | None):
    """Probes around the blocks (``level="blocks"``) or around every op (``"ops"``)."""
    handles, patched = [], []

    def hook(module, key):
        handles.append(module.register_forward_pre_hook(lambda m, a: probe.start(key)))
        handles.append(module.register_forward_hook(lambda m, a, o: probe.stop(key)))

    if level == "blocks":
        for path in blocks or []:
            hook(model.get_submodule(path), path)
    else:
        for name, module in model.named_modules():
            if name and not any(True for _ in module.children()):
                hook(module, name)
            if isinstance(module, FlowModule):
                prefix = f"{name}." if name else ""
                for op in FUNCTIONAL_OPS:
                    original = getattr(module, op)

                    def timed(op_name, *args, _orig=original, _prefix=prefix):
                        key = _prefix + op_name
                        probe.start(key)
                        out = _orig(op_name, *args)
                        probe.stop(key)
                        return out

                    module.__dict__[op] = timed
                    patched.append((module, op))
    try:
        yield
    finally:
        for h in handles:
            h.remove()
        for module, op in patched:
            module.__dict__.pop(op, None)


@dataclass(frozen=True)
class PartTimes:
    """Per-part samples (ms) from ``passes`` instrumented passes."""

    level: str
    samples: dict[str, list[float]]
    passes: int
    pass_ms: float  # median wall time of one instrumented pass (with device time: less its spins, roughly)

    def median(self, key: str) -> float:
        s = self.samples.get(key)
        return float(np.median(s)) if s else float("nan")

    def percentile(self, key: str, q: float) -> float:
        s = self.samples.get(key)
        return float(np.percentile(s, q)) if s else float("nan")

    def undisturbed(self) -> dict[str, float]:
        """Each part's ms: another process only ever adds time, so a disturbed part's median is
        pulled toward its fast passes (the rule the store applies to whole networks)."""
        return {key: min(self.median(key), 1.05 * self.percentile(key, 10)) for key in self.samples}


def time_instrumented(model, x, timer: Timer, level: str, blocks: list[str] | None,
                      budget_s: float, stop: Callable[[], None] = no_stop,
                      device_time: bool = False) -> PartTimes:
    """Run ``model(x)`` with probes at ``level`` ("blocks" or "ops") for ``budget_s`` seconds
    (at least 3 passes, after one discarded pass); call under ``torch.inference_mode()``.
    ``stop()`` runs before each pass (it raises to stop: a closed page). ``device_time`` (CUDA;
    what a CUDA graph runs): each part's kernels on the device alone (see :class:`_Probe`); the
    pass's wall time leaves the spins out."""
    probe = _Probe(timer, device_time)
    walls = []
    with _instrumented(model, probe, level, blocks):
        stop()
        model(x)
        probe.end_pass(keep=False)
        t_start = time.perf_counter()
        n = 0
        while n < MAX_PASSES and (n < MIN_PASSES or time.perf_counter() - t_start < budget_s):
            stop()
            t0 = time.perf_counter()
            model(x)
            spun = probe.end_pass()
            walls.append((time.perf_counter() - t0) * 1e3 - spun)
            n += 1
    return PartTimes(level, dict(probe.samples), n, float(np.median(walls)))


def measure_roof(device: str, dtype: torch.dtype, timer: Timer, budget_s: float = 0.4,
                 stop: Callable[[], None] = no_stop) -> dict:
    """This device's practical roof in the measured dtype: peak MACs/s of a large matmul and
    bandwidth of a large copy (each the best of several runs within the budget)."""
    kind = device.split(":")[0]
    n = 1024 if kind == "cpu" else 4096
    size = (64 if kind == "cpu" else 256) * 2**20
    out = {"matmul_n": n, "copy_bytes": size, "peak_macs_per_s": None, "bandwidth_bytes_per_s": None}
    try:
        out["peak_macs_per_s"] = n**3 / (_best_matmul(device, dtype, n, timer, budget_s / 2, stop) * 1e-3)
    except RuntimeError as exc:
        out["matmul_error"] = str(exc).splitlines()[0]
    try:
        out["bandwidth_bytes_per_s"] = 2 * size / (_best_copy(device, dtype, size, timer, budget_s / 2, stop) * 1e-3)
    except RuntimeError as exc:
        out["copy_error"] = str(exc).splitlines()[0]
    if out["peak_macs_per_s"] and out["bandwidth_bytes_per_s"]:
        out["ridge_macs_per_byte"] = out["peak_macs_per_s"] / out["bandwidth_bytes_per_s"]
    return out


def _best_matmul(device, dtype, n, timer, budget_s, stop) -> float:
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    return _best(timer, lambda: torch.mm(a, b), budget_s, stop)


def _best_copy(device, dtype, size, timer, budget_s, stop) -> float:
    src = torch.empty(size // BYTES[dtype], device=device, dtype=dtype).fill_(1)
    dst = torch.empty_like(src)
    return _best(timer, lambda: dst.copy_(src), budget_s, stop)


def _best(timer: Timer, fn, budget_s: float, stop: Callable[[], None] = no_stop) -> float:
    fn()
    timer.sync()
    best, t0, n = float("inf"), time.perf_counter(), 0
    while n < 3 or (time.perf_counter() - t0 < budget_s and n < 200):
        stop()
        best = min(best, timer.time(fn))
        n += 1
    return best


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def moved_bytes(profile: Profile, batch: int, value_bytes: int) -> np.ndarray:
    """Bytes each op moves (:meth:`lightviz.counting.Row.moved_bytes`): inputs + output
    (x batch) + parameters, in the measured dtype; 0 for views."""
    return np.asarray([r.moved_bytes(batch, value_bytes) for r in profile.rows], dtype=np.float64)


FOLDED_BN = "batch norm (folded)"


def op_table(profile: Profile, ops: PartTimes, batch: int, value_bytes: int,
             folded_bn: bool = False) -> pd.DataFrame:
    """One row per op: its MACs (x batch), bytes moved, intensity, median time, achieved
    MACs/s, and its shares of the network's time and MACs. With ``folded_bn`` (the model's
    batch norms were folded into the convs) the BN rows are kind ``"batch norm (folded)"``,
    move no bytes and time the ``nn.Identity`` left in their place."""
    layers = profile.layers
    df = layers[["path", "stage", "block", "block_type", "kind", "op", "out_shape"]].copy()
    df["macs"] = layers["macs"].to_numpy(dtype=np.float64) * batch
    df["bytes"] = moved_bytes(profile, batch, value_bytes)
    if folded_bn:
        bn = (df["kind"] == "batch norm").to_numpy()
        df.loc[bn, "kind"] = FOLDED_BN
        df.loc[bn, "bytes"] = 0.0
    df["time_ms"] = [ops.median(p) for p in df["path"]]
    df["p10_ms"] = [ops.percentile(p, 10) for p in df["path"]]
    df["p90_ms"] = [ops.percentile(p, 90) for p in df["path"]]
    return _derived(df)


def block_table(profile: Profile, ops_df: pd.DataFrame, blocks: PartTimes) -> pd.DataFrame:
    """One row per block: MACs and bytes summed over its ops, its own median time, and the
    kinds of conv that carry its MACs."""
    g = ops_df.groupby("block", sort=False)
    df = g.agg(stage=("stage", "first"), block_type=("block_type", "first"),
               macs=("macs", "sum"), bytes=("bytes", "sum"), ops=("path", "count")).reset_index()
    df["time_ms"] = [blocks.median(b) for b in df["block"]]
    df["p10_ms"] = [blocks.percentile(b, 10) for b in df["block"]]
    df["p90_ms"] = [blocks.percentile(b, 90) for b in df["block"]]
    kinds = []
    for _block, part in g:
        macs = part.groupby("kind")["macs"].sum()
        macs = macs[macs > 0].sort_values(ascending=False)
        total = macs.sum()
        kinds.append(", ".join(f"{k} {v / total:.0%}" for k, v in macs.items()) if total else "")
    df["mac_kinds"] = kinds
    return _derived(df)


def _derived(df: pd.DataFrame) -> pd.DataFrame:
    t = df["time_ms"].to_numpy(dtype=np.float64)
    macs = df["macs"].to_numpy(dtype=np.float64)
    by = df["bytes"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["intensity"] = np.where((macs > 0) & (by > 0), macs / by, np.nan)
        df["gmacs_per_s"] = np.where((macs > 0) & (t > 0), macs / (t * 1e-3) / 1e9, np.nan)
        df["time_share"] = t / np.nansum(t)
        df["mac_share"] = macs / macs.sum() if macs.sum() else np.nan
    return df


@dataclass
class LayerReport:
    """Per-op and per-block latency beside MACs, the whole, the gap, and the roof."""

    ops: pd.DataFrame
    blocks: pd.DataFrame
    whole: object  # the Result of the uninstrumented whole network
    blocks_sum_ms: float
    ops_sum_ms: float
    block_passes: int
    op_passes: int
    roof: dict
    notes: list[str] = field(default_factory=list)

    @property
    def whole_ms(self) -> float:
        return self.whole.median_ms

    def gap(self, level: str = "blocks") -> float:
        """(sum of parts - whole) / whole."""
        s = self.blocks_sum_ms if level == "blocks" else self.ops_sum_ms
        return (s - self.whole_ms) / self.whole_ms

    def to_dict(self) -> dict:
        def records(df):
            return df.astype(object).where(df.notna(), None).to_dict(orient="records")

        return {
            "whole": self.whole.to_dict(),
            "blocks_sum_ms": self.blocks_sum_ms, "blocks_gap": self.gap("blocks"),
            "ops_sum_ms": self.ops_sum_ms, "ops_gap": self.gap("ops"),
            "block_passes": self.block_passes, "op_passes": self.op_passes,
            "roof": self.roof, "notes": self.notes,
            "blocks": records(self.blocks), "ops": records(self.ops),
            "passport": self.whole.passport,
        }


def build_report(profile: Profile, whole, blocks: PartTimes, ops: PartTimes, roof: dict,
                 notes: list[str]) -> LayerReport:
    setup = whole.setup
    value_bytes = VALUE_BYTES[setup.dtype]
    folded = bool(getattr(setup, "fold_bn", False))
    ops_df = op_table(profile, ops, setup.batch, value_bytes, folded)
    blocks_df = block_table(profile, ops_df, blocks)
    notes = list(notes)
    if folded:
        notes.append(f"batch norms were folded into the convs before timing: the "
                     f"\"{FOLDED_BN}\" rows time the identity left in their place (their cost "
                     f"is inside the conv rows)")
    missing = [p for p, t in zip(ops_df["path"], ops_df["time_ms"]) if not np.isfinite(t)]
    if missing:
        notes.append(f"{len(missing)} ops were not seen by the probes: {', '.join(missing[:5])}")
    if setup.device.startswith("mps"):
        notes.append("on MPS each probe synchronises the GPU, which inflates the parts")
    return LayerReport(ops_df, blocks_df, whole, float(np.nansum(blocks_df["time_ms"])),
                       float(np.nansum(ops_df["time_ms"])), blocks.passes, ops.passes, roof, notes)


def report_csv(report: LayerReport, level: str = "ops") -> str:
    """The per-op (or per-block) table as CSV, preceded by ``#`` lines that carry the result
    and its passport (``pandas.read_csv(..., comment="#")`` reads the table back)."""
    import json

    w = report.whole
    head = {"label": w.config.label, "setup": w.to_dict()["setup"], "whole_median_ms": w.median_ms,
            "blocks_sum_ms": report.blocks_sum_ms, "ops_sum_ms": report.ops_sum_ms}
    lines = [f"# lightviz per-{level[:-1]} latency: {json.dumps(head)}",
             f"# passport: {json.dumps(w.passport, default=str)}"]
    df = report.ops if level == "ops" else report.blocks
    return "\n".join(lines) + "\n" + df.to_csv(index=False)
