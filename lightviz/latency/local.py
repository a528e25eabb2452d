"""The latency model's local correction: what the shared per-op terms leave, smoothed over each
architecture's own calibration points.

The linear model (:mod:`lightviz.latency.model`) shares its per-op rates across the zoo, so each
family keeps a pattern of its own that op counts, MACs and bytes do not explain: on this
project's 2-core CPU, ResNet-34's 3x3 convs at small widths and large inputs ran about 20%
faster than the shared rates say, GhostNet at wide widths and small inputs about 30% slower
(the dispatcher picks other kernels for those shapes). The correction is residual smoothing
("kriging" the physical model's residuals, as in the hybrid models of performance engineering):
for a configuration of a calibrated architecture, the Nadaraya-Watson average of the log
residuals ln(measured / fitted) of the same architecture's calibration points, Gaussian in
(ln alpha, ln resolution), points with another group count weighing ``GROUP_WEIGHT``, shrunk
toward zero by a prior weight ``k0`` (one isolated neighbour corrects little)::

    c(x) = sum_i w_i r_i / (k0 + sum_i w_i),   w_i = exp(-|x - x_i|^2 / (2 h^2))

The prediction is the linear model's times exp(c(x)). The bandwidth ``h`` and prior ``k0`` are
chosen by the model's 5-fold cross-validation among :data:`GRID` ("off" included), so the
held-out error and the interval the model reports include the correction. Edited tables
(``Config.settings``) and architectures never calibrated get none: their shapes at this alpha
and resolution are not the ones the residuals were measured on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..config import Config

GRID = ((0.15, 0.5), (0.15, 1.0), (0.25, 0.5), (0.25, 1.0), (0.25, 3.0), (0.4, 1.0), (0.4, 3.0))
GROUP_WEIGHT = 0.2


def points(cfgs: Sequence[Config]) -> dict:
    """The smoothing coordinates of configurations (columns, JSON-ready): architecture, group
    count (0 for none), ln alpha, ln resolution, and whether the table is the paper's."""
    return {"arch": [c.arch for c in cfgs], "groups": [int(c.groups or 0) for c in cfgs],
            "ln_alpha": [math.log(c.alpha) for c in cfgs],
            "ln_res": [math.log(c.resolution) for c in cfgs],
            "paper": [c.settings is None for c in cfgs]}


def _take(p: dict, idx) -> dict:
    return {k: [v[i] for i in idx] for k, v in p.items()}


def weights(train: dict, test: dict, h: float) -> np.ndarray:
    """Kernel weights, test x train: zero across architectures or for edited tables."""
    xa, xr = np.asarray(test["ln_alpha"]), np.asarray(test["ln_res"])
    ya, yr = np.asarray(train["ln_alpha"]), np.asarray(train["ln_res"])
    d2 = ((xa[:, None] - ya[None, :]) ** 2 + (xr[:, None] - yr[None, :]) ** 2) / (h * h)
    w = np.exp(-0.5 * d2)
    same = np.asarray(test["arch"], dtype=object)[:, None] == np.asarray(train["arch"], dtype=object)[None, :]
    paper = np.asarray(test["paper"])[:, None] & np.asarray(train["paper"])[None, :]
    groups = np.where(np.asarray(test["groups"])[:, None] == np.asarray(train["groups"])[None, :],
                      1.0, GROUP_WEIGHT)
    return w * same * paper * groups


def smooth(train: dict, resid: np.ndarray, test: dict, h: float, k0: float) -> np.ndarray:
    """c(x) of each test point from the training points' log residuals."""
    if not len(test["arch"]) or not len(train["arch"]):
        return np.zeros(len(test["arch"]))
    w = weights(train, test, h)
    return (w @ np.asarray(resid, float)) / (k0 + w.sum(axis=1))


def choose(pts: dict, folds: list[np.ndarray], fold_fits: list[tuple[np.ndarray, np.ndarray]],
           base_cv: np.ndarray, y: np.ndarray, score) -> tuple[tuple[float, float] | None, np.ndarray]:
    """The grid entry (h, k0), or None for no correction, whose cross-validated predictions
    score best (a correction must lower the score by at least 1%); returns it with those
    predictions. ``fold_fits[j]`` holds fold j's training indices and their log residuals under
    the fold's fit; ``base_cv`` the uncorrected held-out predictions."""
    best, best_pred, best_score = None, base_cv, score(base_cv, y)
    for h, k0 in GRID:
        pred = base_cv.copy()
        for test, (train, resid) in zip(folds, fold_fits):
            pred[test] = base_cv[test] * np.exp(smooth(_take(pts, train), resid, _take(pts, test), h, k0))
        s = score(pred, y)
        if s < 0.99 * best_score:  # a gain within the noise of the score is not worth it
            best, best_pred, best_score = (h, k0), pred, s
    return best, best_pred


class Local:
    """A fitted correction: the calibration points' coordinates and log residuals, by
    architecture, with the chosen bandwidth and prior."""

    def __init__(self, spec: dict):
        self.h, self.k0 = float(spec["bandwidth"]), float(spec["prior"])
        pts, resid = spec["points"], np.asarray(spec["log_residual"], float)
        self._by_arch: dict[str, tuple[dict, np.ndarray]] = {}
        for arch in set(pts["arch"]):
            idx = [i for i, a in enumerate(pts["arch"]) if a == arch and pts["paper"][i]]
            if idx:
                self._by_arch[arch] = (_take(pts, idx), resid[idx])

    @staticmethod
    def spec(cfgs: Sequence[Config], log_residual: np.ndarray, h: float, k0: float) -> dict:
        return {"bandwidth": h, "prior": k0, "group_weight": GROUP_WEIGHT,
                "points": points(cfgs), "log_residual": [float(r) for r in log_residual]}

    def log_factor(self, cfg: Config) -> float:
        hit = self._by_arch.get(cfg.arch)
        if hit is None or cfg.settings is not None:
            return 0.0
        return float(smooth(hit[0], hit[1], points([cfg]), self.h, self.k0)[0])
