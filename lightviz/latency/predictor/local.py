"""The latency model's local correction: what the shared per-op terms leave, smoothed over each
architecture's own calibration points.

The linear model (:mod:`lightviz.latency.predictor.model`) shares its per-op rates across the zoo, so each
family keeps a pattern of its own that op counts, MACs and bytes do not explain: on this
project's 2-core CPU, ResNet-34's 3x3 convs at small widths and large inputs ran about 20%
faster than the shared rates say, and GhostNet at wide widths and small inputs about 25%
faster (PyTorch's CPU convolutions take different kernels by shape: FACTS.md). The correction
smooths the physical model's residuals (a kernel regression, like kriging them): for a
configuration of a calibrated architecture, the Nadaraya-Watson average of the log
residuals ln(measured / fitted) of the same architecture's calibration points, Gaussian in
(ln alpha, ln resolution), points with another group count weighing ``GROUP_WEIGHT``, shrunk
toward zero by a prior weight ``k0`` (one isolated neighbour corrects little), each residual
clipped to +-``CLIP`` (a measurement another process slowed down moves its neighbours little)::

    c(x) = sum_i w_i r_i / (k0 + sum_i w_i),   w_i = exp(-|x - x_i|^2 / (2 h^2))

The prediction is the linear model's times exp(c(x)). The bandwidth ``h`` and prior ``k0`` are
chosen among :data:`GRID` by leave-one-out smoothing of the residuals the correction is built
from, and it stays off unless that lowers their RMS by 1%. In the model's 5-fold
cross-validation each fold chooses on its own training points (nested), so the held-out error
and the interval the model reports include the correction honestly. Edited tables
(``Config.settings``) and architectures never calibrated get none: their shapes at this alpha
and resolution are not the ones the residuals were measured on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ...config import Config

GRID = ((0.15, 0.5), (0.15, 1.0), (0.25, 0.5), (0.25, 1.0), (0.25, 3.0), (0.4, 1.0), (0.4, 3.0))
GROUP_WEIGHT = 0.2
CLIP = 0.3  # log residuals beyond x0.74 / x1.35 count as that much


def points(cfgs: Sequence[Config]) -> dict:
    """The smoothing coordinates of configurations (columns, JSON-ready): architecture, group
    count (0 for none), ln alpha, ln resolution, and whether the table is the paper's."""
    return {"arch": [c.arch for c in cfgs], "groups": [int(c.groups or 0) for c in cfgs],
            "ln_alpha": [math.log(c.alpha) for c in cfgs],
            "ln_res": [math.log(c.resolution) for c in cfgs],
            "paper": [c.settings is None for c in cfgs]}


def _kernel_parts(train: dict, test: dict, gw: float = GROUP_WEIGHT) -> tuple[np.ndarray, np.ndarray]:
    """Squared distances (test x train) and the weight factor that does not depend on the
    bandwidth: zero across architectures or for edited tables, ``gw`` across group counts."""
    xa, xr = np.asarray(test["ln_alpha"]), np.asarray(test["ln_res"])
    ya, yr = np.asarray(train["ln_alpha"]), np.asarray(train["ln_res"])
    d2 = (xa[:, None] - ya[None, :]) ** 2 + (xr[:, None] - yr[None, :]) ** 2
    same = np.asarray(test["arch"], dtype=object)[:, None] == np.asarray(train["arch"], dtype=object)[None, :]
    paper = np.asarray(test["paper"])[:, None] & np.asarray(train["paper"])[None, :]
    groups = np.where(np.asarray(test["groups"])[:, None] == np.asarray(train["groups"])[None, :],
                      1.0, gw)
    return d2, same * paper * groups


def smooth(train: dict, resid: np.ndarray, test: dict, h: float, k0: float,
           gw: float = GROUP_WEIGHT, clip: float = CLIP) -> np.ndarray:
    """c(x) of each test point from the training points' log residuals (clipped to
    +-``clip``: one disturbed measurement moves its neighbours little)."""
    if not len(test["arch"]) or not len(train["arch"]):
        return np.zeros(len(test["arch"]))
    d2, factor = _kernel_parts(train, test, gw)
    w = np.exp(-0.5 * d2 / (h * h)) * factor
    return (w @ np.clip(np.asarray(resid, float), -clip, clip)) / (k0 + w.sum(axis=1))


def select(pts: dict, resid: np.ndarray) -> tuple[float, float] | None:
    """The grid entry (h, k0) whose leave-one-out smoothing predicts these points' log
    residuals best, or None when even that does not lower their RMS by 1%: only what the
    points it is fitted on say, so that a cross-validation fold can choose it on its own
    training points (nested) and the held-out error stays honest."""
    if len(resid) < 2:
        return None
    r = np.clip(np.asarray(resid, float), -CLIP, CLIP)
    d2, factor = _kernel_parts(pts, pts)
    np.fill_diagonal(factor, 0.0)
    best, best_ms = None, np.inf
    for h, k0 in GRID:
        w = np.exp(-0.5 * d2 / (h * h)) * factor
        ms = float(np.mean((r - (w @ r) / (k0 + w.sum(axis=1))) ** 2))
        if ms < best_ms:
            best, best_ms = (h, k0), ms
    return best if best_ms < 0.98 * float(np.mean(r ** 2)) else None


def take(p: dict, idx) -> dict:
    """The points at ``idx``."""
    return {k: [v[i] for i in idx] for k, v in p.items()}


class Local:
    """A fitted correction: the calibration points' coordinates and log residuals, by
    architecture, with the chosen bandwidth and prior."""

    def __init__(self, spec: dict):
        self.h, self.k0 = float(spec["bandwidth"]), float(spec["prior"])
        # the kernel the model was fitted with, should a later version change the defaults
        self.gw, self.clip = float(spec.get("group_weight", GROUP_WEIGHT)), float(spec.get("clip", CLIP))
        pts, resid = spec["points"], np.asarray(spec["log_residual"], float)
        self._by_arch: dict[str, tuple[dict, np.ndarray]] = {}
        for arch in set(pts["arch"]):
            idx = [i for i, a in enumerate(pts["arch"]) if a == arch and pts["paper"][i]]
            if idx:
                self._by_arch[arch] = (take(pts, idx), resid[idx])

    @staticmethod
    def spec(cfgs: Sequence[Config], log_residual: np.ndarray, h: float, k0: float) -> dict:
        return {"bandwidth": h, "prior": k0, "group_weight": GROUP_WEIGHT, "clip": CLIP,
                "points": points(cfgs), "log_residual": [float(r) for r in log_residual]}

    def log_factor(self, cfg: Config) -> float:
        hit = self._by_arch.get(cfg.arch)
        if hit is None or cfg.settings is not None:
            return 0.0
        return float(smooth(hit[0], hit[1], points([cfg]), self.h, self.k0, self.gw, self.clip)[0])
