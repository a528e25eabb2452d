"""The kernel latency model: a network's latency as the sum of its kernels' latencies, each
predicted from kernels timed in calibration networks, plus what the sum leaves out.

**Kernels** (:mod:`lightviz.latency.predictor.kernels`) are timed in place: a calibration
measures networks (the papers' tables at scattered widths and inputs, and edited tables) and
times each of their ops where the network runs it (:meth:`lightviz.latency.lab.protocol.Bench.op_times`).
On this CPU an op alone is up to 2.7x faster than in its network (MobileNet v2's depthwise
convs: the input just written by the expansion, the allocator's state), so in-place times are
what a sum must add up.

**Per kind** (nn-Meter fits one regressor per kernel kind; Zhang et al., MobiSys 2021) a base
linear in physical terms (a call, MACs, values read and written, weights, the calls a grouped
conv makes one group at a time on eager PyTorch's native paths, see
:func:`~lightviz.latency.predictor.kernels.group_calls`, and the values read once more per
octave of the network's own time: see :func:`read_octaves`; non-negative,
relative least squares) times a correction: the log residuals of the kind's timed kernels
smoothed over their descriptors (log channels, log output pixels, kernel, stride, log groups;
the nearest :data:`NEIGHBOURS`, Gaussian weights, shrunk toward none; a conv on another of
eager PyTorch's paths, :func:`~lightviz.latency.predictor.kernels.conv_path`, is never a
neighbour). A conv kind timed on several paths, :data:`~.kernel_fit.PATH_MIN` kernels or more
on a path, has a base, a slope and a correction of its own there (:func:`~.kernel_fit._path_rows`):
the paths are different code, each kernel in nn-Meter's sense. Fitted by :mod:`.kernel_fit`.
A kernel whose descriptor lies outside the timed range of its kind, or farther than
:data:`REACH` from every kernel of its kind that was timed, or whose kind was never timed, is
*extrapolated*; outside the range it is costed by its group's pooled base (every conv kind, or
every elementwise kind, fitted together on a far wider range of shapes) times the kind's median
ratio to it, and it widens the interval.

**The network** is ``scale x sum of kernels + per_call x module calls`` (the units' forwards
and the views, see :func:`~lightviz.latency.predictor.kernels.overhead_calls`), fitted on
whole-network medians (relative least squares, non-negative; models before version 3 may carry
a fixed cost too, still added).

**Honesty**: the held-out errors and the interval, :mod:`lightviz.latency.predictor.heldout`.
Stored as plain JSON data: the kernels' descriptors, residuals and coefficients.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from ...config import Config
from .kernels import TERMS, Kernel, conv_path, network_kernels

VERSION = 8  # 2: each kind's context slope (see context_x); 3: average pooling a kind of its own;
# 4: reading costs more in a longer network (read_octaves); 5: the conv path in the descriptor;
# 6: the group calls term (kernels.group_calls; a model before it has none: read as 0);
# 7: a conv kind's base, slope and residuals per conv path (KindModel.paths; none before: one base)
# 8: a conv's MACs on oneDNN in whole channel blocks (kernels.block_waste; none before: as counted)
# Kinds an older model timed under another kind's name (read as that kind, as it was fitted).
LEGACY = {"avgpool": ("pool", 3)}
NEIGHBOURS = 6
BANDWIDTH = 0.8  # descriptor units (log2 channels or pixels; kernel / 2, stride, log2 groups)
# the path (kernels.conv_path) x 4: kernels on two paths are never neighbours (beyond REACH)
SCALES = np.array([1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 0.25])
MARGIN = np.array([0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0])  # how far past the timed range is still inside
REACH = 1.5  # how far (scaled descriptor units) from its nearest timed kernel a kernel is still near
# The context: log2 of the network's own milliseconds, clipped to 1-16 ms and centred on 8 ms.
# The same kernel runs faster in a network that comes round again within a few milliseconds
# (its data still in the caches) than in one that runs for tens of ms between two of its calls
# (on this project's machine, in-place times in networks under 4 ms ran 10-20% below the model
# without a context; TinyNet's first stages, timed again with a 52 ms tail of 37 MB of weights
# after them, ran 1.35-1.55x slower). Past 16 ms the slope is not carried on: fitted without
# ResNet, the only family that runs for hundreds of ms at most sizes, it overstated ResNet.
CONTEXT_RANGE = (0.0, 4.0)
CONTEXT_REF = 3.0
SHRINK = 0.5  # weight of "no correction" among the neighbours'
EXTRAPOLATED = 0.10  # a prediction whose kernels are this much extrapolated says so
FALLBACK = {"convkxk": "conv1x1", "gconv": "conv1x1", "dwconv": "convkxk", "conv1x1": "convkxk",
            "linear": "conv1x1", "bn": "mul", "relu6": "relu", "relu": "relu6",
            "hardsigmoid": "relu6", "add": "mul", "mul": "add", "cat": "add", "shuffle": "cat",
            "pool": "gap", "avgpool": "pool", "gap": "avgpool", "call": "relu"}


# Kinds that share physics: a kernel outside its own kind's timed range is costed by its group's
# pooled base (fitted on every kind of the group, so on a much wider range of shapes) times the
# kind's typical ratio to it.
GROUPS = {"conv": ("conv1x1", "convkxk", "dwconv", "gconv", "linear"),
          "elementwise": ("bn", "relu", "relu6", "hardsigmoid", "add", "mul", "cat", "shuffle", "pool",
                          "avgpool", "gap", "call")}
GROUP_OF = {kind: group for group, kinds in GROUPS.items() for kind in kinds}


class KindModel:
    """One kind's base coefficients and timed kernels (descriptors, log residuals), and its
    group's pooled base with the kind's offset from it (for shapes outside its range)."""

    def __init__(self, data: Mapping):
        self.coef = _terms_wide(data["coef"])
        self.pool = _terms_wide(data.get("pool", data["coef"]))
        self.offset = float(data.get("offset", 0.0))
        self.slope = float(data.get("slope", 0.0))  # none in a version-1 model
        self.read = float(data.get("read_context", 0.0))  # none before version 4
        self.pool_read = float(data.get("pool_read_context", 0.0))
        width = len(data["lo"])  # 6 before version 5 (no path)
        self.scales = SCALES[:width]
        self.z = np.asarray(data["z"], float).reshape(-1, width)
        self.r = np.asarray(data["r"], float)
        self.lo = np.asarray(data["lo"], float) - MARGIN[:width]
        self.hi = np.asarray(data["hi"], float) + MARGIN[:width]
        ks = np.round(self.z[:, 3]).astype(int)
        self.k_timed = np.zeros(ks.max(initial=0) + 1, bool)  # kernel size -> timed (a lookup)
        self.k_timed[ks] = True
        self.zs = self.z / self.scales
        self.zs2 = (self.zs * self.zs).sum(axis=1)
        self.paths = {int(p): self._on_path(int(p), sub, data) for p, sub in data.get("paths", {}).items()}

    def _on_path(self, p: int, sub: Mapping, data: Mapping) -> KindModel:
        """The kind's model on conv path ``p``: its own base, slope and residuals over the kind's
        kernels timed on that path (their descriptors are the kind's), the kind's pooled base."""
        z = self.z[np.round(self.z[:, -1]) == p]
        return KindModel({**sub, "pool": data.get("pool", data["coef"]),
                          "pool_read_context": data.get("pool_read_context", 0.0),
                          "z": z, "lo": z.min(axis=0), "hi": z.max(axis=0)})

    def distances2(self, z: np.ndarray) -> np.ndarray:
        """Squared scaled distances from each descriptor row of ``z`` to each timed kernel."""
        a = z / self.scales
        return np.maximum((a * a).sum(axis=1)[:, None] + self.zs2[None, :] - 2.0 * a @ self.zs.T, 0.0)

    def correction(self, z: np.ndarray, d2: np.ndarray | None = None) -> np.ndarray:
        """The smoothed log residual at each descriptor row of ``z``."""
        d2 = self.distances2(z) if d2 is None else d2
        k = min(NEIGHBOURS, d2.shape[1])
        near = np.argpartition(d2, k - 1, axis=1)[:, :k]
        dn = np.take_along_axis(d2, near, axis=1)
        w = np.exp(-dn / (2 * BANDWIDTH ** 2))
        return (w * self.r[near]).sum(axis=1) / (w.sum(axis=1) + SHRINK)

    def inside(self, z: np.ndarray) -> np.ndarray:
        within = ((z >= self.lo) & (z <= self.hi)).all(axis=1)
        k = np.round(z[:, 3]).astype(int)
        return within & self.k_timed[np.clip(k, 0, len(self.k_timed) - 1)] & (k < len(self.k_timed))

    def predict(self, T: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(ms in the shortest context, ms more per octave of context, timed near, context slope)
        of kernels with terms ``T`` and descriptors ``z``, each by its conv path's model where
        the kind has one (see :meth:`_predict`), else by the kind's."""
        slope = np.full(len(z), self.slope)
        if not self.paths:
            return (*self._predict(T, z), slope)
        ms, per, near = np.zeros(len(z)), np.zeros(len(z)), np.zeros(len(z), bool)
        on = np.round(z[:, -1]).astype(int)
        rest = np.ones(len(z), bool)
        for p, model in self.paths.items():
            rows = on == p
            if rows.any():
                ms[rows], per[rows], near[rows] = model._predict(T[rows], z[rows])
                slope[rows], rest[rows] = model.slope, False
        if rest.any():
            ms[rest], per[rest], near[rest] = self._predict(T[rest], z[rest])
        return ms, per, near, slope

    def _predict(self, T: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ms in the shortest context, ms more per octave of context, timed near) of kernels
        with terms ``T`` and descriptors ``z``, before the kind's slope: inside the timed range,
        the kind's base and correction; outside, the group's pooled base and the kind's offset
        (see :meth:`KernelModel.kernel_ms` for a context's ms). *Timed near*: inside the range and within
        :data:`REACH` of a timed kernel (a shape inside the range on each axis can still be far
        from every timed one on all of them together: a 1x1 conv of 560 channels on 165 x 165 px,
        wide and large as no calibration kernel was at once, ran 27% slower than its kind's base
        said)."""
        inside = self.inside(z)
        d2 = self.distances2(z)
        own, pooled = np.exp(self.correction(z, d2)), math.exp(self.offset)
        ms = np.where(inside, np.maximum(T @ self.coef, 1e-6) * own, np.maximum(T @ self.pool, 1e-6) * pooled)
        per = T[:, READ] * np.where(inside, self.read * own, self.pool_read * pooled)
        return ms, per, inside & (d2.min(axis=1) <= REACH ** 2)


def path(k: Kernel, batch: int, threads: int | None) -> int | None:
    """A kernel's conv path (:func:`~lightviz.latency.predictor.kernels.conv_path`) in a model
    of ``threads``; None where no paths are known (off a CPU in fp32, a model before version 5)."""
    return None if threads is None else conv_path(k, batch, threads)


def describe(k: Kernel, batch: int, threads: int | None) -> np.ndarray:
    """A kernel's descriptor in a model of ``threads`` (its conv path appended; None: a model
    before version 5, without it)."""
    return k.descriptor(path(k, batch, threads))


def terms(k: Kernel, batch: int, threads: int | None, block: int | None = None) -> np.ndarray:
    """A kernel's physical terms in a model of ``threads`` (no paths known: no group calls)
    and channel ``block`` (None: the MACs as counted)."""
    return k.terms(batch, path(k, batch, threads) or 0, block)


def _terms_wide(coef) -> np.ndarray:
    """Coefficients over every term of :data:`~lightviz.latency.predictor.kernels.TERMS`: a
    model before version 6 has no group calls (0: it predicts as it was fitted)."""
    c = np.asarray(coef, float)
    return np.concatenate([c, np.zeros(len(TERMS) - len(c))]) if len(c) < len(TERMS) else c


def paths_threads(device: str, dtype: str, channels_last: bool, threads: int) -> int | None:
    """The threads a model's conv paths depend on, or None where ATen's rule for them does not
    apply (a GPU, a precision other than fp32, channels-last memory: no path in the descriptor)."""
    return threads if device == "cpu" and dtype == "fp32" and not channels_last else None


def context_x(ctx):
    """The context coordinate the slopes multiply: log2 network ms clipped and centred."""
    return np.clip(ctx, *CONTEXT_RANGE) - CONTEXT_REF


READ = 2  # the term of the values read (kernels.TERMS)


def read_octaves(ctx):
    """Octaves of the network's own time past 1 ms (0 to 4 for networks of 1 to 16 ms): the
    base's last column, the values read times this, costs each kind its ``read_context``. The
    data a kernel reads is still in the caches when the network comes round again soon: the
    same 3x3 stem (3 -> 16 channels) ran through about twice the pixels per second inside a
    network of 1.7 ms (132 px in 0.13 ms) as inside one of 11 ms (171 px in 0.27 ms). Without
    it, the test family's plugin networks of about 1 ms were predicted 10-30% over; a call's
    fixed cost growing the same way was tried too, and left a family never timed (ShuffleNet
    v1's grouped convs) further off."""
    return np.clip(np.asarray(ctx, float), *CONTEXT_RANGE) - CONTEXT_RANGE[0]


def base_columns(kernels: Sequence[Kernel], contexts: Sequence[float], batch: int,
                 threads: int | None = None, block: int | None = None) -> np.ndarray:
    """The base's columns for timed kernels in their networks' contexts: the kernels' terms
    (:func:`terms`), then the values read times :func:`read_octaves`."""
    T = np.stack([terms(k, batch, threads, block) for k in kernels])
    return np.column_stack([T, T[:, READ] * read_octaves(contexts)])


class NetworkPrediction(NamedTuple):
    """A network as :meth:`KernelModel.predict` gives it."""

    ms: float  # the whole network, the network term included
    kernel_ms: np.ndarray  # each kernel in the network's context
    kernel_blocks: tuple[str, ...]  # each kernel's block
    blocks: tuple[str, ...]  # the blocks in order
    share: float  # how much of it is extrapolated (0-1)
    kinds: tuple[str, ...]  # each kernel's kind
    below_fastest: float  # octaves below the calibration's fastest network (0-1), before kind_scale
    fixed_ms: float  # the network term's part outside the kernels (fixed + per call x calls)


class KernelModel:
    """Kinds' models plus the network term; predicts a configuration's latency."""

    def __init__(self, data: Mapping, batch: int = 1, fold_bn: bool = True):
        self.kinds = {kind: KindModel(d) for kind, d in data["kinds"].items()}
        self.network = dict(data["network"])
        self.batch, self.fold_bn = batch, fold_bn
        self.version = int(data.get("kernel_version", 1))
        # the threads the conv paths were timed on (none before version 5, nor off a CPU in fp32:
        # its kinds' descriptors have no path then)
        self.threads = data.get("threads")
        self.block = data.get("channel_block")  # none before version 8, nor without paths
        self.fastest = data.get("fastest_network_ms")  # none in a model before it was kept

    def _kind_for(self, kind: str) -> tuple[KindModel | None, bool]:
        legacy, since = LEGACY.get(kind, (None, 0))
        if legacy is not None and self.version < since and kind not in self.kinds:
            kind = legacy  # what this model's calibration timed such a kernel as
        if kind in self.kinds:
            return self.kinds[kind], True
        return self._fallback(kind)

    def _fallback(self, kind: str) -> tuple[KindModel | None, bool]:
        """A kind this model never timed: its nearest timed stand-in (not its own)."""
        seen = {kind}
        while kind in FALLBACK and kind not in self.kinds:
            kind = FALLBACK[kind]
            if kind in seen:
                break
            seen.add(kind)
        return self.kinds.get(kind) or next(iter(self.kinds.values()), None), False

    def kernel_ms(self, kernels: Sequence[Kernel], ctx: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ms, extrapolated) of each kernel in a network of ``ctx`` (log2 of its ms; None: the
        reference context)."""
        parts = self._parts(kernels)
        return self._at(parts, CONTEXT_REF if ctx is None else ctx), parts[3]

    def _parts(self, kernels: Sequence[Kernel]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each kernel's ms in the shortest context, ms more per octave of context, its kind's
        slope, and whether it is extrapolated; each distinct kernel predicted once."""
        unique = list(dict.fromkeys(kernels))
        where = {k: i for i, k in enumerate(unique)}
        ms, per, slopes, extra = self._unique_ms(unique)
        back = np.fromiter((where[k] for k in kernels), dtype=np.int64, count=len(kernels))
        return ms[back], per[back], slopes[back], extra[back]

    @staticmethod
    def _at(parts: tuple[np.ndarray, ...], ctx: float) -> np.ndarray:
        """Each kernel's ms (of :meth:`_parts`) in a network of ``ctx``: its base at that
        context's :func:`read_octaves`, times exp(its kind's slope x :func:`context_x`)."""
        ms, per, slopes, _ = parts
        return (ms + per * float(read_octaves(ctx))) * np.exp(float(context_x(ctx)) * slopes)

    def _unique_ms(self, kernels: Sequence[Kernel]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each kernel's ms in the shortest context, ms more per octave, context slope (its
        kind's, or its path's; none for a kind timed under another name), extrapolated."""
        ms, per, extra = np.zeros(len(kernels)), np.zeros(len(kernels)), np.zeros(len(kernels), bool)
        slopes = np.zeros(len(kernels))
        by_kind: dict[str, list[int]] = {}
        for i, k in enumerate(kernels):
            by_kind.setdefault(k.kind, []).append(i)
        for kind, idx in by_kind.items():
            model, own = self._kind_for(kind)
            if model is None:
                extra[idx] = True
                continue
            paths = [path(kernels[i], self.batch, self.threads) for i in idx]  # once: both need it
            T = np.stack([kernels[i].terms(self.batch, p or 0, self.block) for i, p in zip(idx, paths)])
            z = np.stack([kernels[i].descriptor(p) for i, p in zip(idx, paths)])
            pred, more, inside, slope = model.predict(T, z)
            if not own:  # a kind never timed: its stand-in's group base, as for shapes outside
                pred, more = np.maximum(T @ model.pool, 1e-6), T[:, READ] * model.pool_read
            known = np.array([kernels[i].known for i in idx])
            ms[idx], per[idx] = pred, more
            if kind in self.kinds:
                slopes[idx] = slope
            extra[idx] = ~(inside & own & known)
        return ms, per, slopes, extra

    def context(self, reference_ms: np.ndarray, calls: int) -> float:
        """A network's context (log2 of its ms) from its kernels in the reference context."""
        return math.log2(max(self.total(float(reference_ms.sum()), calls), 1e-3))

    def total(self, kernel_sum: float, calls: int, call_scale: float = 1.0) -> float:
        n = self.network
        return n["fixed"] + n["scale"] * kernel_sum + n["per_call"] * calls * call_scale

    def below_fastest(self, ms: float) -> float:
        """How far (in octaves, at most 1) a network of ``ms`` runs below the fastest network
        the calibration measured: its context lies outside what the network term and the
        context terms were fitted on, so it counts as extrapolated by that share. Before a
        calibration measured short networks, the plugin family's networks of 1 ms, under the
        2 ms of every calibration network, were 23-34% over in one calibration and within 10% in
        another; a calibration's fastest network is now 0.2-0.5 ms."""
        if not self.fastest or ms <= 0:
            return 0.0
        return min(1.0, max(0.0, math.log2(float(self.fastest) / ms)))

    def predict(self, cfg: Config, kind_scale: Mapping[str, float] | None = None) -> NetworkPrediction:
        """The network, each kernel in its context (the network's own predicted time); the
        extrapolated share is of the kernels' time, or of their number if that is more, or the
        octaves below the fastest calibrated network if that is more. ``kind_scale`` multiplies
        each kind's kernels (the host probe's ratios; ``"call"`` also the cost per module call)."""
        kernels, blocks, order, calls = network_kernels(cfg, self.fold_bn)
        parts = self._parts(kernels)
        extra = parts[3]
        ms = self._at(parts, self.context(self._at(parts, CONTEXT_REF), calls))
        total_k = float(ms.sum())
        # outside what was timed: by time, or by count where an untimed kind's stand-in is cheap
        below = self.below_fastest(self.total(total_k, calls))
        share = max(float(ms[extra].sum() / total_k) if total_k > 0 else 1.0, float(extra.mean()), below)
        kinds = tuple(k.kind for k in kernels)
        call_scale = 1.0
        if kind_scale:
            ms = ms * np.fromiter((kind_scale.get(k, 1.0) for k in kinds), float, len(kinds))
            call_scale = kind_scale.get("call", 1.0)
        return NetworkPrediction(self.total(float(ms.sum()), calls, call_scale), ms, blocks, order, share,
                                 kinds, below, self.total(0.0, calls, call_scale))
