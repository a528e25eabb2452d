"""The per-host latency model: predicted latency of any configuration in a few milliseconds,
from measurements made on this host with the latency lab's protocol.

**Model.** Latency is linear in the features of :mod:`lightviz.latency.predictor.features` (a fixed cost
per call, a fixed cost per op launch, padded dense MACs, bytes moved, weight bytes, and per
class of op its own count / MACs / bytes corrections). The fit minimises the *relative* error
(each measurement weighs 1/latency, so a 1 ms network counts as much as a 100 ms one), with the
per-class corrections ridge-shrunk toward zero, and Huber weights (iteratively reweighted,
at 10% relative error) so that a measurement another process slowed down pulls less; the
ridge strength is chosen by 5-fold cross-validation. The prediction is the sum of per-op
contributions, so it comes with a per-block breakdown. (FACTS.md, "Latency prediction": on this
machine's prototype, these terms gave 8.8% in 5-fold CV against 44% for a global ln(ms) ~
ln(MACs) fit.)

**Local correction.** What the shared terms leave, each architecture keeps a pattern of its own
(kernel choices by shape); :mod:`lightviz.latency.predictor.local` smooths the fit's log residuals over
the architecture's calibration points in (ln alpha, ln resolution), chosen (or left off) by
the same cross-validation.

**Interval.** The model's own held-out error: each calibration measurement is predicted by a
fit (and a correction) that did not see it (5-fold), and the interval spans the 5th to 95th percentile of
ln(measured / predicted) (split-conformal ranks, so it is honest for a small sample): about 9
in 10 new configurations of the zoo fall inside it, on this host, as long as the host is as
quiet as it was during calibration.

**Learning.** Every measurement (``lightviz bench``, the Latency page, a calibration) goes to
the store (:mod:`lightviz.latency.predictor.store`); once a setup has a model, each new measurement
refits it (a least-squares solve on at most a few hundred rows: milliseconds).

Importing this module does not import torch: the Explore page calls :func:`predict` on every
slider move.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from ...config import Config
from ...counting import count
from ...units import fmt_ms
from ...zoo import REGISTRY
from ..host.cpu import usable_cores
from ..setup import Setup
from . import features as F
from . import heldout as H
from . import kernel_fit as KF
from . import kernel_model as KM
from . import local as L
from . import probe as P
from . import store
from .kernels import row_kernels
from .stats import COVERAGE, conformal_bounds, rmspe

METHOD = "linear in per-op features (launches, padded dense MACs, bytes, weights + per-class " \
         "corrections), relative least squares, Huber-weighted, with ridge, times a " \
         "per-architecture smoothing of its residuals; 5-fold CV"
MIN_MEASUREMENTS = 12
LAMBDAS = (1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
FOLDS = 5
HUBER = 0.10
IRLS_STEPS = 4
FIXED = "(fixed per call)"


class NotCalibrated(ValueError):
    """No latency model for this setup on this host; the message names the command to run."""


@dataclass(frozen=True)
class Prediction:
    """Predicted latency of one configuration on this host, with its interval."""

    predicted_ms: float
    low_ms: float
    high_ms: float
    breakdown: tuple  # ((block path, ms), ...), the fixed per-call cost first
    model: dict  # method, calibrated_at, measurements, heldout_rmspe, ...
    setup: Setup
    status: str = "predicted"  # "extrapolated": part of it lies outside what was timed
    extrapolated_share: float = 0.0  # of the kernels' time (the kernel model)

    def to_dict(self) -> dict:
        return {"predicted_ms": self.predicted_ms, "low_ms": self.low_ms,
                "high_ms": self.high_ms, "status": self.status,
                "extrapolated_share": self.extrapolated_share,
                "breakdown": [list(b) for b in self.breakdown],
                "model": self.model, "setup": asdict(self.setup)}


# ---------------------------------------------------------------------------------------------
# Setup resolution and the message when there is no model
# ---------------------------------------------------------------------------------------------


def resolve(setup: Setup) -> Setup:
    """The setup a model is stored under: threads resolved (None = every usable core, what
    ``calibrate`` pins), the budget left out of the key."""
    if not setup.threads:
        setup = replace(setup, threads=usable_cores())
    return setup


def calibrate_command(setup: Setup) -> str:
    s = resolve(setup)
    parts = ["lightviz calibrate", f"--device {s.device}", f"--dtype {s.dtype}",
             f"--threads {s.threads}", f"--batch {s.batch}"]
    if s.mode != "eager":
        parts.append(f"--mode {s.mode}")
    if s.channels_last:
        parts.append("--channels-last")
    if not s.fold_bn:
        parts.append("--no-fold-bn")
    if getattr(s, "runtime", "torch") != "torch":
        parts.append(f"--runtime {s.runtime}")
    return " ".join(parts)


def not_calibrated(setup: Setup) -> NotCalibrated:
    s = resolve(setup)
    return NotCalibrated(f"no latency model for {s.label} on this host yet: run "
                         f"`{calibrate_command(s)}` (about 2.5 minutes)")


# ---------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------


def design_matrix(cfgs: Sequence[Config], setup: Setup) -> np.ndarray:
    """One row per configuration: [1, features...]."""
    rows = [F.features(c, setup.batch, setup.dtype, setup.fold_bn)[0] for c in cfgs]
    return np.hstack([np.ones((len(rows), 1)), np.vstack(rows)])


def _solve_weighted(X: np.ndarray, y: np.ndarray, lam: float, w: np.ndarray) -> np.ndarray:
    Z = X / y[:, None] * np.sqrt(w)[:, None]
    scale = np.sqrt((Z ** 2).mean(axis=0))
    used = scale > 0
    Zs = Z[:, used] / scale[used]
    penalty = np.where(np.arange(X.shape[1]) <= F.N_SHARED, 1e-6, lam)[used]
    A = np.vstack([Zs, np.diag(np.sqrt(penalty * len(y)))])
    b = np.concatenate([np.sqrt(w), np.zeros(int(used.sum()))])
    sol, *_ = np.linalg.lstsq(A, b, rcond=None)
    coef = np.zeros(X.shape[1])
    coef[used] = sol / scale[used]
    return coef


def _solve(X: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Relative least squares: min sum w_i ((y_i - X_i b) / y_i)^2 + lam * |corrections|^2 on
    columns normalised to unit RMS (shared terms and the intercept barely regularised), with
    Huber weights w (``HUBER`` relative error; iteratively reweighted): a measurement that
    another process slowed down is far off the rest and weighs less."""
    w = np.ones(len(y))
    for _ in range(IRLS_STEPS):
        coef = _solve_weighted(X, y, lam, w)
        r = np.abs((X @ coef - y) / y)
        w = np.where(r <= HUBER, 1.0, HUBER / np.maximum(r, 1e-12))
    return _solve_weighted(X, y, lam, w)


def floored(pred: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Predictions ``pred`` of the rows of ``X``, never below a tenth of their fixed costs."""
    # a linear model far outside its data could go to zero or below: never below a tenth of
    # the fixed costs alone (one launch at 2 us)
    return np.maximum(pred, 2e-3 * X[:, 1 + F.NAMES.index("launches")])


def _folds(n: int, k: int, seed: int = 0) -> list[np.ndarray]:
    idx = np.random.default_rng(seed).permutation(n)
    return [idx[i::k] for i in range(k)]


def _fold_fits(X, y, lam, folds: list[np.ndarray]) -> tuple[np.ndarray, list]:
    """Held-out predictions of the linear model, and per fold its training indices with their
    log residuals under the fold's fit (what the local correction smooths)."""
    out, fits = np.empty_like(y), []
    for test in folds:
        train = np.setdiff1d(np.arange(len(y)), test)
        coef = _solve(X[train], y[train], lam)
        out[test] = floored(X[test] @ coef, X[test])
        fits.append((train, np.log(y[train] / floored(X[train] @ coef, X[train]))))
    return out, fits


def _cv_predictions(X, y, lam, groups: list[np.ndarray] | None = None) -> np.ndarray:
    return _fold_fits(X, y, lam, groups or _folds(len(y), min(FOLDS, len(y))))[0]


def fit(cfgs: Sequence[Config], medians: Sequence[float], setup: Setup) -> dict:
    """Fit the model on measured configurations; returns the JSON-ready model (coefficients,
    chosen ridge, held-out errors, interval bounds)."""
    if len(cfgs) < MIN_MEASUREMENTS:
        raise ValueError(f"{len(cfgs)} measured configurations are too few to fit a latency "
                         f"model: at least {MIN_MEASUREMENTS} are needed")
    X = design_matrix(cfgs, setup)
    y = np.asarray(medians, float)
    folds = _folds(len(y), min(FOLDS, len(y)))
    runs = {lam: _fold_fits(X, y, lam, folds) for lam in LAMBDAS}
    scores = {lam: rmspe(run[0], y) for lam, run in runs.items()}
    lam = min(scores, key=scores.__getitem__)
    base_cv, fold_fits = runs[lam]
    pts = L.points(cfgs)
    cv = base_cv.copy()
    for test, (train, resid) in zip(folds, fold_fits):  # nested: each fold chooses on its own
        inner = L.take(pts, train)
        chosen = L.select(inner, resid)
        if chosen is not None:
            cv[test] *= np.exp(L.smooth(inner, resid, L.take(pts, test), *chosen))
    log_ratio = np.log(y / cv)
    lo, hi = conformal_bounds(log_ratio)
    archs = sorted({c.arch for c in cfgs})
    by_arch_out = None
    if len(archs) >= 3:  # leave one architecture out: how it does on a family it never saw
        groups = [np.array([i for i, c in enumerate(cfgs) if c.arch == a]) for a in archs]
        by_arch_out = rmspe(_cv_predictions(X, y, lam, groups), y)
    per_arch = {a: rmspe(cv[[i for i, c in enumerate(cfgs) if c.arch == a]],
                         y[[i for i, c in enumerate(cfgs) if c.arch == a]]) for a in archs}
    coef = _solve(X, y, lam)
    fitted = floored(X @ coef, X)
    resid = np.log(y / fitted)
    chosen = L.select(pts, resid)
    local = None
    if chosen is not None:
        local = L.Local.spec(cfgs, resid, *chosen)
        fitted = fitted * np.exp(L.smooth(pts, resid, pts, *chosen))
    rel = np.abs(cv - y) / y
    return {
        "method": METHOD, "feature_version": F.VERSION, "features": ["intercept", *F.NAMES],
        "coef": coef.tolist(), "ridge": lam, "measurements": len(y),
        "heldout_rmspe": rmspe(cv, y), "heldout_within_10": float(np.mean(rel <= 0.10)),
        "heldout_within_20": float(np.mean(rel <= 0.20)), "heldout_by_arch": per_arch,
        "heldout_arch_out_rmspe": by_arch_out,
        "interval": {"coverage": COVERAGE, "log_low": lo, "log_high": hi,
                     "from": f"5-fold held-out errors of {len(y)} measurements (split-conformal)"},
        "configs": [store.config_dict(c) for c in cfgs],
        "fit_rmspe": rmspe(fitted, y), "local": local,
        "local_correction": None if local is None else {"bandwidth": local["bandwidth"],
                                                        "prior": local["prior"]},
        "heldout_without_local_rmspe": rmspe(base_cv, y),
    }


def target_ms(rec: dict) -> float:
    """What a stored measurement teaches: its median, or, when the runs were disturbed (the
    median more than 5% above p10), 1.05 x p10. Another process on a shared host only ever
    adds time, and it inflates the median of a 1-thread run by up to 2x on a busy 2-core
    machine while the fast runs stay near the quiet host's median; on a quiet host the two
    agree and this is the median."""
    med, p10 = rec["median_ms"], rec.get("p10_ms")
    return float(min(med, 1.05 * p10)) if p10 else float(med)


def training_set(setup: Setup) -> tuple[list[Config], list[float]]:
    """Every stored measurement of ``setup``, one point per configuration (the median of its
    measurements' targets, :func:`target_ms`)."""
    by_cfg: dict[Config, list[float]] = {}
    for rec in store.measurements(resolve(setup)):
        by_cfg.setdefault(store.config_from_dict(rec["config"]), []).append(target_ms(rec))
    cfgs = list(by_cfg)
    return cfgs, [float(np.median(by_cfg[c])) for c in cfgs]


def refit(setup: Setup, calibrated_at: float | None = None, extra: dict | None = None,
          whole_network: bool = False) -> dict:
    """Fit on everything stored for ``setup`` and save the model; returns it. A kernel model
    keeps its kernels and refits its network term on every stored network (unless
    ``whole_network``: the linear model is fitted in its place)."""
    s = resolve(setup)
    cfgs, medians = training_set(s)
    old = store.load_model(s) or {}
    if old.get("model_kind") == KERNEL and not whole_network:
        return _save(s, _refit_network(s, old, cfgs, medians), old, calibrated_at, extra)
    return _save(s, fit(cfgs, medians, s), old, calibrated_at, extra)


def _save(s: Setup, model: dict, old: dict, calibrated_at: float | None, extra: dict | None) -> dict:
    """``model`` stamped (calibration and refit times, this host's identity) and saved."""
    model["calibrated_at"] = calibrated_at or old.get("calibrated_at") or time.time()
    model["refit_at"] = time.time()
    model["passport"] = store.host_identity(s.device)
    model.update(old.get("calibration") and {"calibration": old["calibration"]} or {})
    model.update(extra or {})
    store.save_model(s, model)
    _coef_cache.clear()
    return model


# ---------------------------------------------------------------------------------------------
# The kernel model (lightviz.latency.predictor.kernel_model)
# ---------------------------------------------------------------------------------------------

KERNEL = "kernel"
KERNEL_METHOD = ("sum of per-kernel predictions (kernels timed in place in calibration networks; per "
                 "kind a non-negative base in calls, MACs, values and weights times a nearest-neighbour "
                 "correction over shapes) plus module calls and a fixed cost; held out by network "
                 "and by family")
PREVIOUS = ("made with the previous, whole-network model: `lightviz calibrate` again for the kernel "
            "model, which holds for edited tables and other families")
WHOLE_ONLY = ("made with the whole-network model: this runtime or precision runs the network as one "
              "graph of its own kernels (int8, ONNX Runtime, TensorRT, torch.compile), calibrated on "
              "whole networks, not op by op")


def save_kernel_model(setup: Setup, networks, calibrated_at: float | None = None,
                      extra: dict | None = None, chains=(), host=(), block: int | None = None) -> dict:
    """Fit the kernel model on calibration ``networks`` ``(config, whole ms, [(kernel, ms)])``
    and kernel ``chains`` ``[(kernel, ms)]``, with its held-out errors (in the ``host`` states
    the campaign met, its oneDNN convs in whole blocks of ``block`` channels), and save it; returns it."""
    s = resolve(setup)
    return _save(s, kernel_model(networks, s, chains, host, block), store.load_model(s) or {}, calibrated_at, extra)


def kernel_model(networks, setup: Setup, chains=(), host=(), block: int | None = None) -> dict:
    """The kernel model of ``networks`` (and kernel ``chains``) with its held-out errors
    (JSON-ready, not saved); its interval holds them in each of the ``host`` states
    (:func:`lightviz.latency.predictor.heldout.evaluate`). ``block``: the channels the
    measuring CPU's oneDNN convs compute in whole blocks of
    (:func:`~lightviz.latency.predictor.kernels.host_channel_block`; None for a fake timer),
    used where the model has conv paths."""
    if len(networks) < MIN_MEASUREMENTS:
        raise ValueError(f"{len(networks)} measured networks are too few to fit a latency model: "
                         f"at least {MIN_MEASUREMENTS} are needed")
    setup = resolve(setup)
    threads = KM.paths_threads(setup.device, setup.dtype, setup.channels_last, setup.threads or 1)
    block = block if threads is not None else None
    return {"model_kind": KERNEL, "method": KERNEL_METHOD, "feature_version": F.VERSION,
            "kernel": KF.fit(networks, setup.batch, setup.fold_bn, chains, threads, block),
            **H.evaluate(networks, setup.batch, setup.fold_bn, chains=chains, host=host, threads=threads,
                         block=block),
            "configs": [store.config_dict(c) for c, _, _ in networks]}


def _refit_network(s: Setup, old: dict, cfgs: Sequence[Config], medians: Sequence[float]) -> dict:
    """``old`` with its network term fitted on every stored network of the setup."""
    km = KM.KernelModel(old["kernel"], s.batch, s.fold_bn)
    model = dict(old)
    model["kernel"] = dict(old["kernel"], network=KF.network_term(km, list(zip(cfgs, medians))))
    model["measurements_in_network_term"] = len(cfgs)
    return model


def _kernel_model(model: dict, s: Setup) -> KM.KernelModel:
    """The loaded kernel model of a stored ``model``, kept while the model is (bounded, as the
    linear model's coefficients are)."""
    hit = _coef_cache.get(id(model))
    if hit is None or hit[0] is not model:  # the entry keeps its model alive: ids stay unique
        if len(_coef_cache) >= 64:
            _coef_cache.clear()
        hit = _coef_cache[id(model)] = (model, KM.KernelModel(model["kernel"], s.batch, s.fold_bn))
    return hit[1]


def predict_kernel(cfg: Config, s: Setup, model: dict, scale_to_host: bool = False) -> Prediction:
    """What :func:`predict` gives with the kernel ``model`` (a model not saved: benchmarks). The
    host's latest probe (:mod:`.probe`) gives each group of kinds its speed now against the
    calibration's: reported beside the prediction (their mean, weighted by the prediction's time
    in each group), and scaling each kernel by its group's ratio only when ``scale_to_host``."""
    km = _kernel_model(model, s)
    ratios, state = P.factor(model, s)
    kind_scale = {kind: ratios[g] for kind, g in P.GROUP_OF.items() if g in ratios}
    ms, kernel_ms, kernel_blocks, blocks, share, kinds, below, fixed = km.predict(
        cfg, kind_scale if scale_to_host else None)
    per_block = dict.fromkeys(blocks, 0.0)
    for block, k_ms in zip(kernel_blocks, kernel_ms):
        per_block[block] += km.network["scale"] * float(k_ms)
    iv = model.get("interval") or {}
    widen = iv.get("widen", H.WIDEN) * share
    family = REGISTRY[cfg.arch].family
    unseen = "families" in model and family not in model["families"] and "family_out" in iv
    bounds = iv["family_out"] if unseen else iv
    low = ms * math.exp(bounds.get("log_low", 0.0) - widen)
    high = ms * math.exp(bounds.get("log_high", 0.0) + widen)
    status = "extrapolated" if share > KM.EXTRAPOLATED else "predicted"
    info = model_info(model)
    if unseen:  # said: the interval is the one that held the families left out in turn
        info.update(unseen_family=family)
    if share > KM.EXTRAPOLATED and below >= share:  # said: why it is extrapolated (as calibrated, unscaled)
        info.update(faster_than_calibrated_ms=km.fastest)
    probed = ((model.get("calibration") or {}).get("drift") or {}).get("probes")
    info["host_state"] = ("now" if scale_to_host and state is not None  # which host it is for, said
                          else "undisturbed" if probed else "as calibrated")
    if state is not None:  # the host's speed now against its calibration's, said (and applied if asked)
        ratio = P.mean_ratio(ratios, P.by_group(zip(kinds, kernel_ms)))
        info.update(host_ratio=ratio, host_ratios=ratios, host_state_at=state["at"],
                    host_factor=ratio if scale_to_host else None)
    return Prediction(ms, low, high, ((FIXED, fixed),) + tuple(per_block.items()), info, s, status, share)


def predict_ops(cfg: Config, setup: Setup) -> dict[str, float] | None:
    """Each op's predicted milliseconds (its kernel's in the network's context, times the
    network term's scale) by row path, to set beside a per-layer measurement: they add up to
    the prediction's blocks (what the fixed part leaves). None without a kernel model for the
    setup."""
    s = resolve(setup)
    model = store.load_model(s)
    if model is None or model.get("model_kind") != KERNEL:
        return None
    km = _kernel_model(model, s)
    paths = [path for path, _ in row_kernels(count(cfg).rows, s.fold_bn)]
    # each kernel in the network's own context, as the prediction's blocks add it up
    kernel_ms = km.predict(cfg).kernel_ms
    return {path: float(v) * km.network["scale"] for path, v in zip(paths, kernel_ms)}


# ---------------------------------------------------------------------------------------------
# Learning from a new measurement
# ---------------------------------------------------------------------------------------------

def learn(result, source: str = "") -> None:
    """What ``lightviz bench`` and the Latency page do with a result (the lab's ``on_result``):
    store the measurement and, when its setup has a model, refit it. Never raises (a failed
    refit is logged)."""
    path = store.add_result(result, source)
    if path is None:
        return
    try:
        if store.load_model(resolve(result.setup)) is not None:
            refit(result.setup)
    except Exception as exc:  # noqa: BLE001
        store.log.warning("lightviz: could not refit the latency model: %s", exc)


# ---------------------------------------------------------------------------------------------
# Predicting
# ---------------------------------------------------------------------------------------------

_coef_cache: dict[int, tuple] = {}


def model_info(model: dict, setup: Setup | None = None) -> dict:
    """What a prediction says about its model (JSON-ready); ``setup``: the one it predicts for
    (else the model's own, as stored)."""
    keys = ("method", "calibrated_at", "refit_at", "measurements", "heldout_rmspe",
            "heldout_without_local_rmspe", "local_correction", "heldout_edited_rmspe",
            "heldout_within_10", "heldout_within_20", "heldout_arch_out_rmspe", "interval")
    info = {k: model.get(k) for k in keys}
    info["model_kind"] = model.get("model_kind", "whole-network")
    if model.get("model_kind") != KERNEL:
        runtime, dtype = ((setup.runtime, setup.dtype) if setup is not None else
                          ((model.get("setup") or {}).get("runtime", "torch"),
                           (model.get("setup") or {}).get("dtype")))
        whole = runtime != "torch" or dtype == "int8"
        info["note"] = WHOLE_ONLY if whole else PREVIOUS
    return info


def extrapolated_text(p: Prediction) -> str:
    """What an extrapolated prediction says of its interval ("" for one that is not): one
    sentence for the CLI and the pages."""
    if p.status != "extrapolated":
        return ""
    fastest = p.model.get("faster_than_calibrated_ms")
    if fastest:
        return (f"extrapolated: it runs faster than every network its calibration measured (the "
                f"fastest {fmt_ms(fastest, ' ms')}), so the interval is wider")
    return (f"extrapolated: {p.extrapolated_share:.0%} of its kernels lie outside or far from the "
            "shapes timed, so the interval is wider")


def unseen_family_text(info: dict) -> str:
    """What a prediction for a family its model never calibrated says of its interval ("" for
    a calibrated one): one sentence for the CLI and the pages."""
    family = info.get("unseen_family")
    return (f"{family} was never calibrated here: the interval is the one that held the families "
            "left out in turn") if family else ""


def host_states_text(info: dict) -> str:
    """What an interval that holds the calibration's slower host states says of them ("" for
    one that does not): one sentence for the CLI and the pages."""
    iv = info.get("interval") or {}
    undisturbed = iv.get("undisturbed_log_high")
    if not iv.get("host_states") or undisturbed is None or iv["log_high"] <= undisturbed:
        return ""
    return f"its high end also holds the host in the slower states its calibration's {iv['host_states']} probes met"


def predict(cfg: Config, setup: Setup) -> Prediction:
    """Predicted latency of ``cfg`` with ``setup`` on this host, with its interval and a
    per-block breakdown; :class:`NotCalibrated` when this host has no model for the setup."""
    s = resolve(setup)
    model = store.load_model(s)
    if model is None or model.get("feature_version") != F.VERSION:
        raise not_calibrated(s)
    if model.get("model_kind") == KERNEL:
        return predict_kernel(cfg, s, model)
    return predict_whole(cfg, s, model)


def predict_whole(cfg: Config, s: Setup, model: dict) -> Prediction:
    """The whole-network model's prediction of ``cfg`` for ``s`` (this host's stored model, or
    one imported from a device file: the same arithmetic, so the same figure)."""
    hit = _coef_cache.get(id(model))
    if hit is None or hit[0] is not model:  # the entry keeps its model alive: ids stay unique
        local = L.Local(model["local"]) if model.get("local") else None
        hit = _coef_cache[id(model)] = (model, np.asarray(model["coef"], float), local)
        if len(_coef_cache) > 64:
            _coef_cache.clear()
            _coef_cache[id(model)] = hit
    coef, local = hit[1], hit[2]
    totals, blocks, per_block = F.features(cfg, s.batch, s.dtype, s.fold_bn)
    raw = float(coef[0] + totals @ coef[1:])
    floor = 2e-3 * totals[F.NAMES.index("launches")]
    pred = max(raw, floor)
    parts = per_block @ coef[1:]
    if raw > 0 and pred != raw:  # the floor: the blocks share it
        parts = parts * (pred - coef[0]) / max(raw - coef[0], 1e-12)
    factor = math.exp(local.log_factor(cfg)) if local is not None else 1.0
    pred, fixed, parts = pred * factor, float(coef[0]) * factor, parts * factor
    iv = model.get("interval") or {}
    low = pred * math.exp(iv.get("log_low", 0.0))
    high = pred * math.exp(iv.get("log_high", 0.0))
    breakdown = ((FIXED, fixed),) + tuple(zip(blocks, map(float, parts)))
    return Prediction(pred, low, high, breakdown, model_info(model, s), s)


def calibrated_setups(device: str = "cpu") -> list[Setup]:
    """The setups this host has a model for, newest calibration first."""
    return [store.setup_from_dict(m["setup"]) for m in store.models(device)]
