"""Fitting the kernel model (:mod:`.kernel_model`): each kind's base, context slope and
residuals from kernels timed in place, per conv path where a kind ran on several, the groups'
pooled bases, then the network term on whole networks. Non-negative relative least squares
throughout (a kernel's time is a sum of physical costs; an error of 10% weighs the same on a
kernel of 10 us as on one of 10 ms). What the model does with the result, and why each term
is there: :mod:`.kernel_model`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ...config import Config
from .kernel_model import GROUPS, VERSION, KernelModel, base_columns, context_x, describe
from .kernels import KINDS, Kernel, network_kernels

SLOPE_RIDGE = 20.0  # shrinks a kind's slope toward none (in kernels' worth of evidence)
PATH_MIN = 30  # a conv path gets a base of its own where this many of the kind's kernels ran on it


def _nonneg_relative(T: np.ndarray, y: np.ndarray, ridge: float = 1e-6) -> np.ndarray:
    """min sum ((T c - y) / y)^2 over c >= 0 (active set: the most negative term dropped until
    none is), on columns normalised to unit RMS, with a touch of ridge for stability."""
    A = T / y[:, None]
    scale = np.sqrt((A ** 2).mean(axis=0))
    free = np.flatnonzero(scale > 0)
    coef = np.zeros(T.shape[1])
    while free.size:
        Z = A[:, free] / scale[free]
        M = np.vstack([Z, math.sqrt(ridge * len(y)) * np.eye(free.size)])
        b = np.concatenate([np.ones(len(y)), np.zeros(free.size)])
        sol = np.linalg.lstsq(M, b, rcond=None)[0] / scale[free]
        if (sol >= 0).all():
            coef[free] = sol
            break
        free = np.delete(free, int(np.argmin(sol)))
    return coef


def fit_kind(kernels: Sequence[Kernel], contexts: Sequence[float], ms: Sequence[float], batch: int,
             threads: int | None = None, block: int | None = None) -> dict:
    """One kind's model (a :class:`~.kernel_model.KindModel`'s data) from its timed kernels: the
    base (its reading growing with the context), then the context's slope on the log residuals
    (ridge toward none), then the residuals left for the correction to smooth."""
    T = base_columns(kernels, contexts, batch, threads, block)
    y = np.asarray(ms, float)
    coef = _nonneg_relative(T, y)
    r = np.log(y / np.maximum(T @ coef, 1e-6))
    x = context_x(np.asarray(contexts, float))
    xc, rc = x - x.mean(), r - r.mean()
    slope = float((xc * rc).sum() / ((xc * xc).sum() + SLOPE_RIDGE))
    z = np.stack([describe(k, batch, threads) for k in kernels])
    return {"coef": coef[:-1].tolist(), "read_context": float(coef[-1]), "slope": round(slope, 6),
            "z": z.round(4).tolist(), "r": (r - slope * x).round(5).tolist(),
            "lo": z.min(axis=0).tolist(), "hi": z.max(axis=0).tolist(), "n": len(y)}


Timed = tuple[Kernel, float, float]  # a timed kernel: (kernel, its network's context, ms)


def fit_kinds(samples: Mapping[tuple[Kernel, float], float], batch: int,
              threads: int | None = None, block: int | None = None) -> dict[str, dict]:
    """Per kind, its model from timed kernels (``(kernel, its network's context) -> ms``), on
    each conv path timed enough too (:func:`_path_rows`), with its group's pooled base and the
    kind's (and each path's) median log ratio to it."""
    by_kind: dict[str, list[Timed]] = {}
    for (k, ctx), ms in samples.items():
        if ms > 0 and math.isfinite(ms):
            by_kind.setdefault(k.kind, []).append((k, ctx, ms))
    out = {kind: _fit(kms, batch, threads, block) for kind, kms in by_kind.items() if len(kms) >= 3}
    on_paths = {kind: _path_rows(by_kind[kind], out[kind], threads) for kind in out}
    for kind, paths in on_paths.items():
        if paths:
            out[kind]["paths"] = {str(p): _stored_on_path(_fit(kms, batch, threads, block))
                                  for p, kms in paths.items()}
    for kinds in GROUPS.values():
        members = [kcm for kind in kinds if kind in out for kcm in by_kind[kind]]
        if not members:
            continue
        pool = _nonneg_relative(_columns(members, batch, threads, block), np.array([m for _, _, m in members]))
        for kind in kinds:
            if kind in out:
                out[kind].update(pool=pool[:-1].tolist(), pool_read_context=float(pool[-1]),
                                 offset=_offset(by_kind[kind], pool, batch, threads, block))
                for p, kms in on_paths[kind].items():
                    out[kind]["paths"][str(p)]["offset"] = _offset(kms, pool, batch, threads, block)
    return out


def _fit(kms: Sequence[Timed], batch: int, threads: int | None, block: int | None) -> dict:
    return fit_kind([k for k, _, _ in kms], [c for _, c, _ in kms], [m for _, _, m in kms], batch, threads, block)


def _columns(kms: Sequence[Timed], batch: int, threads: int | None, block: int | None) -> np.ndarray:
    return base_columns([k for k, _, _ in kms], [c for _, c, _ in kms], batch, threads, block)


def _offset(kms: Sequence[Timed], pool: np.ndarray, batch: int, threads: int | None, block: int | None) -> float:
    """The median log ratio of timed kernels to their group's pooled base."""
    y = np.array([m for _, _, m in kms])
    return float(np.median(np.log(y / np.maximum(_columns(kms, batch, threads, block) @ pool, 1e-6))))


def _path_rows(kms: Sequence[Timed], fitted: Mapping, threads: int | None) -> dict[int, list[Timed]]:
    """A kind's timed ``(kernel, context, ms)`` on each conv path with :data:`PATH_MIN` or
    more of them, where they ran on more than one path (none without paths: see
    :func:`~.kernel_model.paths_threads`), read off the last column of the kind's ``fitted``
    descriptors as :class:`~.kernel_model.KindModel` reads them back. The paths are different
    code, oneDNN against ATen's im2col + GEMM, with their own costs per MAC, per value read and
    per weight, and one base over them all bends toward whichever path is timed most. With ResNet left out of one
    campaign (seed 20), the 214 dense k x k kernels left (146 on oneDNN) fitted one base of
    0.73 ms per M weights (0.21 with ResNet in), which put ResNet's convs 18% over and the
    family 18.9%; oneDNN's own base reads 0.59 (0.52 with ResNet in), and ResNet left out is
    12.2%."""
    if threads is None:
        return {}
    by: dict[int, list[Timed]] = {}
    for kcm, row in zip(kms, fitted["z"]):
        by.setdefault(round(row[-1]), []).append(kcm)
    return {p: rows for p, rows in sorted(by.items()) if len(rows) >= PATH_MIN} if len(by) > 1 else {}


def _stored_on_path(fitted: Mapping) -> dict:
    """What a path's model stores of :func:`fit_kind`: its base, slope and residuals (its
    descriptors are the kind's own on that path)."""
    return {key: fitted[key] for key in ("coef", "read_context", "slope", "r")}


def fit_network(kernel_sums: Sequence[float], calls: Sequence[int], measured: Sequence[float]) -> dict:
    """``scale x kernels + per_call x calls`` fitted on whole networks. No fixed cost per
    network: before a calibration measured short networks (:func:`~.design.short_settings`)
    every one ran for 2 ms or more, a constant was not told apart from the scale, and on a
    noisy host one calibration fitted 0.59 ms, which put a plugin network of 1 ms 60% over; with
    them, networks of 0.2-1 ms run 1-3% over their ops' in-place sum (4-16 ms ones 6-9%): no
    fixed cost to find. ``fixed`` stays in the record (0), as older models carry it."""
    T = np.column_stack([kernel_sums, calls]).astype(float)
    c = _nonneg_relative(T, np.asarray(measured, float))
    if c[0] <= 0:  # the kernels must count: fall back to their sum as it is
        c = np.array([1.0, 0.0])
    return {"fixed": 0.0, "scale": float(c[0]), "per_call": float(c[1])}


def network_term(model: KernelModel, networks: Sequence[tuple[Config, float]]) -> dict:
    """The network term for ``model``'s kernels, fitted on whole networks ``(config, ms)``."""
    sums, calls = [], []
    for cfg, ms in networks:
        kernels, _, _, n_calls = network_kernels(cfg, model.fold_bn)
        sums.append(float(model.kernel_ms(kernels, math.log2(max(ms, 1e-3)))[0].sum()))
        calls.append(n_calls)
    return fit_network(sums, calls, [ms for _, ms in networks])


def aggregate(networks: Iterable[tuple[float, Sequence[tuple[Kernel, float]]]]) -> dict[tuple[Kernel, float], float]:
    """One time per kernel and context: the median of its in-place times in one network (its
    repeated blocks) or in networks of the same context. ``networks``: (the network's ms, its
    ``[(kernel, in-place ms)]``)."""
    by: dict[tuple[Kernel, float], list[float]] = {}
    for ms, ops in networks:
        ctx = round(math.log2(max(ms, 1e-3)), 3)
        for k, t in ops:
            by.setdefault((k, ctx), []).append(t)
    return {key: float(np.median(v)) for key, v in by.items()}


def fit(networks: Sequence[tuple[Config, float, Sequence[tuple[Kernel, float]]]], batch: int,
        fold_bn: bool, chains: Sequence[Sequence[tuple[Kernel, float]]] = (), threads: int | None = 1,
        block: int | None = None) -> dict:
    """The model from calibration networks ``(config, whole ms, [(kernel, in-place ms)])`` and
    kernel chains ``[(kernel, in-place ms)]`` (:mod:`.chains`: their kernels teach the kinds,
    never the network term), timed on ``threads`` (which conv path runs a kernel depends on
    them; None: no conv paths, off a CPU in fp32, see :func:`~.kernel_model.paths_threads`), its
    oneDNN convs costed in whole blocks of ``block`` channels (:func:`~.kernels.block_waste`); a
    chain's context is the sum of its ops."""
    kinds = fit_kinds(aggregate([(ms, ops) for _, ms, ops in networks]
                                + [(sum(t for _, t in ops), ops) for ops in chains]), batch, threads, block)
    model = KernelModel({"kinds": kinds, "network": {"fixed": 0.0, "scale": 1.0, "per_call": 0.0},
                         "threads": threads, "channel_block": block, "kernel_version": VERSION}, batch, fold_bn)
    network = network_term(model, [(cfg, ms) for cfg, ms, _ in networks])
    return {"method": "kernel", "kernel_version": VERSION, **({"threads": threads} if threads else {}),
            **({"channel_block": block} if block else {}),
            "kinds": kinds, "network": network,
            "fastest_network_ms": round(min((ms for _, ms, _ in networks), default=0.0), 4) or None,
            "timed_kernels": sum(d["n"] for d in kinds.values()), "chains": len(chains),
            "kinds_timed": sorted(kinds), "kinds_never_timed": [k for k in KINDS if k not in kinds]}
