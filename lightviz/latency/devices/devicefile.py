"""Device files: a calibrated latency model that travels, as one JSON file of data.

``lightviz devices export`` writes this host's latency model for one setup (the kernel model,
:mod:`lightviz.latency.predictor.kernel_model`, or the whole-network model that int8 and the
runtimes other than eager PyTorch calibrate) with its passport (the host's identity without
its machine id), setup, fit, held-out errors and calibration date; ``lightviz devices import``
reads one back as a *named device* (:mod:`.imported`). A file from elsewhere is data, and is read
as hostile until checked: at most :data:`MAX_BYTES`, UTF-8 JSON with no NaN or Infinity, no
repeated keys, nested at most :data:`MAX_DEPTH` deep; the schema and the model's versions known;
every field known, every number finite and in its range (coefficients non-negative, a scale
positive, fractions within 0 to 1), every kernel kind one this lightviz knows; names without path
separators or control characters. The first thing wrong is named in one line
(:class:`DeviceFileError`, a ValueError) and nothing is stored.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from ...config import RESOLUTION_MAX
from ..predictor import features as F
from ..predictor import kernel_model as KM
from ..predictor.kernels import CHANNEL_BLOCKS, KINDS
from ..predictor.kernels import TERMS as KERNEL_TERMS
from ..runtimes import RUNTIMES
from ..setup import BATCH_MAX, DTYPE_NAMES, MODES, Setup, device_name

KIND = "lightviz device"
SCHEMA = 1
MAX_BYTES = 4 << 20  # a full calibration's kernels are a few hundred kB
MAX_DEPTH = 8
MAX_TEXT = 400
MAX_KERNELS = 200_000
NAME_MAX = 64
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+()@-]*")
EARLIEST = 1.5e9  # 2017: before lightviz, no calibration is dated earlier
TERMS, DESCRIPTOR = 5, 6  # a kernel's physical terms before version 6, its descriptor before 5 (predictor.kernels)
# A descriptor's kernel and stride can span a map (a deep chain's average pool down to a few
# pixels: 83 x 83 on 166 px); its logs stay far below.
DESCRIPTOR_MAX = float(RESOLUTION_MAX)
KERNEL_VERSIONS = tuple(range(1, KM.VERSION + 1))  # every version this one still reads

# The passport fields a device file may carry (the store's identity, machine id left out).
PASSPORT = ("key", "hostname", "machine", "cpu", "torch", "device_kind", "gpu_name", "gpu_driver",
            "macos")
MODEL_FIELDS = ("model_kind", "method", "feature_version", "kernel", "interval", "measurements",
                "heldout_rmspe", "heldout_within_10", "heldout_within_20", "heldout_by_arch",
                "heldout_arch_out_rmspe", "heldout_edited_rmspe", "calibration", "families")
# The whole-network model (int8, ONNX Runtime, TensorRT, torch.compile: calibrated on whole
# networks, :mod:`lightviz.latency.predictor.model`): its coefficients and local correction.
WHOLE = "whole-network"
WHOLE_FIELDS = ("method", "feature_version", "features", "coef", "ridge", "local", "interval",
                "measurements", "heldout_rmspe", "heldout_within_10", "heldout_within_20",
                "heldout_by_arch", "heldout_arch_out_rmspe", "heldout_without_local_rmspe",
                "local_correction", "calibration")
MAX_POINTS = 10_000  # the local correction's calibration points


class DeviceFileError(ValueError):
    """A device file refused: the message names what was wrong, in one line."""


def _fail(where: str, what: str) -> DeviceFileError:
    return DeviceFileError(f"{where}: {what}" if where else what)


# ----------------------------------------------------------------------------- checkers

def _number(v: Any, where: str, lo: float, hi: float, integer: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _fail(where, f"expected a number, got {type(v).__name__}")
    if not math.isfinite(v):
        raise _fail(where, "not a finite number")
    if integer and v != int(v):
        raise _fail(where, f"expected a whole number, got {v!r}")
    if not lo <= v <= hi:
        raise _fail(where, f"{v!r} is out of range (allowed {lo:g} to {hi:g})")
    return v


def _numbers(v: Any, where: str, lo: float, hi: float, length: int | None = None,
             most: int = MAX_KERNELS) -> list:
    if not isinstance(v, list):
        raise _fail(where, f"expected a list of numbers, got {type(v).__name__}")
    if (length is not None and len(v) != length) or len(v) > most:
        raise _fail(where, f"expected {length if length is not None else f'at most {most}'} "
                           f"numbers, got {len(v)}")
    for i, x in enumerate(v):
        _number(x, f"{where}[{i}]", lo, hi)
    return v


def _text(v: Any, where: str, most: int = MAX_TEXT) -> str:
    if not isinstance(v, str):
        raise _fail(where, f"expected text, got {type(v).__name__}")
    if len(v) > most:
        raise _fail(where, f"text of {len(v)} characters (at most {most})")
    if not v.isprintable():
        raise _fail(where, "contains control characters")
    return v


def _maybe(check: Callable, v: Any, *args) -> Any:
    return None if v is None else check(v, *args)


def _fields(d: Any, where: str, allowed, required=()) -> dict:
    if not isinstance(d, dict):
        raise _fail(where, f"expected an object, got {type(d).__name__}")
    unknown = [k for k in d if k not in allowed]
    if unknown:
        raise _fail(where, f"unknown field {str(unknown[0])[:40]!r} (known: {', '.join(allowed)})")
    missing = [k for k in required if k not in d]
    if missing:
        raise _fail(where, f"missing field {missing[0]!r}")
    return d


def check_name(name: Any, what: str = "device name") -> str:
    """A device's name: 1 to :data:`NAME_MAX` characters, a letter or digit first, then letters,
    digits, spaces and ``. _ + ( ) @ -`` (no path separator, no control character)."""
    if not isinstance(name, str) or not name.strip():
        raise DeviceFileError(f"{what}: expected a non-empty name")
    name = name.strip()
    if len(name) > NAME_MAX:
        raise DeviceFileError(f"{what}: {len(name)} characters (at most {NAME_MAX})")
    if "/" in name or "\\" in name or ".." in name:
        raise DeviceFileError(f"{what} {name[:NAME_MAX]!r} holds a path (no / \\ or ..)")
    if not NAME_RE.fullmatch(name):
        raise DeviceFileError(f"{what} {name!r}: allowed are letters, digits, spaces and . _ + ( ) @ -, "
                              "starting with a letter or digit")
    return name


def check_setup(d: Any, where: str = "setup") -> Setup:
    """The :class:`Setup` a file describes, every field checked (not against this host: the
    device it names is another machine's)."""
    names = ("device", "dtype", "batch", "threads", "channels_last", "mode", "budget_s", "fold_bn",
             "runtime")
    _fields(d, where, names, ("device", "dtype", "batch", "mode", "fold_bn", "runtime"))
    try:
        device = device_name(_text(d["device"], f"{where}.device", 20))
    except ValueError as exc:
        raise _fail(f"{where}.device", str(exc)) from None
    if d["dtype"] not in DTYPE_NAMES:
        raise _fail(f"{where}.dtype", f"{str(d['dtype'])[:20]!r} (known: {', '.join(DTYPE_NAMES)})")
    if d["mode"] not in MODES:
        raise _fail(f"{where}.mode", f"{str(d['mode'])[:20]!r} (known: {', '.join(MODES)})")
    if d["runtime"] not in RUNTIMES:
        raise _fail(f"{where}.runtime", f"{str(d['runtime'])[:20]!r} (known: {', '.join(RUNTIMES)})")
    for flag in ("channels_last", "fold_bn"):
        if not isinstance(d.get(flag, False), bool):
            raise _fail(f"{where}.{flag}", "expected true or false")
    threads = _maybe(_number, d.get("threads"), f"{where}.threads", 1, 4096, True)
    batch = _number(d["batch"], f"{where}.batch", 1, BATCH_MAX, True)
    budget = _number(d.get("budget_s", 2.0), f"{where}.budget_s", 0.0, 3600.0)
    return Setup(device, d["dtype"], int(batch), None if threads is None else int(threads),
                 d.get("channels_last", False), d["mode"], float(budget), d["fold_bn"], d["runtime"])


def _kind(d: Any, where: str, width: int = DESCRIPTOR, terms: int = len(KERNEL_TERMS), paths: bool = False) -> None:
    _fields(d, where, ("coef", "pool", "offset", "slope", "read_context", "pool_read_context", "z", "r", "lo", "hi",
                       "n") + (("paths",) if paths else ()), ("coef", "z", "r", "lo", "hi"))
    _numbers(d["coef"], f"{where}.coef", 0.0, 1e6, terms)
    _maybe(_numbers, d.get("pool"), f"{where}.pool", 0.0, 1e6, terms)
    for name in ("read_context", "pool_read_context"):  # version 4: reading costs more in a longer network
        _maybe(_number, d.get(name), f"{where}.{name}", 0.0, 1e6)
    _maybe(_number, d.get("offset"), f"{where}.offset", -50.0, 50.0)
    _maybe(_number, d.get("slope"), f"{where}.slope", -5.0, 5.0)
    z = d["z"]
    if not isinstance(z, list) or not 1 <= len(z) <= MAX_KERNELS:
        raise _fail(f"{where}.z", f"expected 1 to {MAX_KERNELS} descriptor rows")
    for i, row in enumerate(z):
        _numbers(row, f"{where}.z[{i}]", -1.0, DESCRIPTOR_MAX, width)
    _numbers(d["r"], f"{where}.r", -50.0, 50.0, len(z))
    lo = _numbers(d["lo"], f"{where}.lo", -1.0, DESCRIPTOR_MAX, width)
    hi = _numbers(d["hi"], f"{where}.hi", -1.0, DESCRIPTOR_MAX, width)
    if any(a > b for a, b in zip(lo, hi)):
        raise _fail(f"{where}.lo", "above hi")
    _maybe(_number, d.get("n"), f"{where}.n", len(z), len(z), True)
    if "paths" in d:
        _on_paths(d["paths"], z, f"{where}.paths", terms)


def _on_paths(d: Any, z: list, where: str, terms: int) -> None:
    """A version-7 conv kind's models per conv path: each a base, slope and one residual for
    each of the kind's descriptors on that path (its last column)."""
    if not isinstance(d, dict):
        raise _fail(where, "expected an object of conv paths")
    for p, sub in d.items():
        if p not in ("0", "1", "2"):
            raise _fail(where, f"unknown conv path {str(p)[:20]!r} (known: 0, 1, 2)")
        at = f"{where}.{p}"
        _fields(sub, at, ("coef", "read_context", "slope", "r", "offset"), ("coef", "read_context", "slope", "r"))
        _numbers(sub["coef"], f"{at}.coef", 0.0, 1e6, terms)
        _number(sub["read_context"], f"{at}.read_context", 0.0, 1e6)
        _number(sub["slope"], f"{at}.slope", -5.0, 5.0)
        _maybe(_number, sub.get("offset"), f"{at}.offset", -50.0, 50.0)
        on = sum(1 for row in z if round(row[-1]) == int(p))
        if on == 0:
            raise _fail(f"{at}", "no descriptor of the kind is on this path")
        _numbers(sub["r"], f"{at}.r", -50.0, 50.0, on)


def _kernel(d: Any, where: str) -> None:
    _fields(d, where, ("method", "kernel_version", "kinds", "network", "timed_kernels", "chains", "kinds_timed",
                       "kinds_never_timed", "fastest_network_ms", "threads", "channel_block"),
            ("kernel_version", "kinds", "network"))
    _maybe(_number, d.get("fastest_network_ms"), f"{where}.fastest_network_ms", 0.0, 1e7)
    if d["kernel_version"] not in KERNEL_VERSIONS or isinstance(d["kernel_version"], bool):
        raise _fail(f"{where}.kernel_version",
                    f"{d['kernel_version']!r}: this lightviz reads {', '.join(map(str, KERNEL_VERSIONS))}")
    paths = "threads" in d  # version 5 on a CPU in fp32: each descriptor ends in the kernel's conv path
    if paths and (d["kernel_version"] < 5 or d["threads"] is None):
        raise _fail(f"{where}.threads", "expected the threads a version-5 model's conv paths were timed on "
                                        "(none before version 5)")
    if paths:
        _number(d["threads"], f"{where}.threads", 1, 4096, True)
    block = d.get("channel_block")
    if "channel_block" in d and (not paths or d["kernel_version"] < 8 or isinstance(block, bool)
                                 or block not in CHANNEL_BLOCKS.values()):
        raise _fail(f"{where}.channel_block", f"{block!r}: expected the channels oneDNN blocks a "
                                              f"version-8 CPU model's convs in "
                                              f"({' or '.join(map(str, sorted(set(CHANNEL_BLOCKS.values()))))})")
    kinds = d["kinds"]
    if not isinstance(kinds, dict) or not kinds:
        raise _fail(f"{where}.kinds", "expected an object of kernel kinds")
    for kind, km in kinds.items():
        if kind not in KINDS:
            raise _fail(f"{where}.kinds", f"unknown kernel kind {kind[:40]!r} (known: {', '.join(KINDS)})")
        # version 6: a term more, the group calls (predictor.kernels.group_calls)
        _kind(km, f"{where}.kinds.{kind}", DESCRIPTOR + paths, TERMS + (d["kernel_version"] >= 6),
              paths and d["kernel_version"] >= 7)
    net = _fields(d["network"], f"{where}.network", ("fixed", "scale", "per_call"), ("fixed", "scale", "per_call"))
    _number(net["fixed"], f"{where}.network.fixed", 0.0, 1e6)
    _number(net["scale"], f"{where}.network.scale", 1e-6, 1e3)
    _number(net["per_call"], f"{where}.network.per_call", 0.0, 1e3)
    _maybe(_number, d.get("timed_kernels"), f"{where}.timed_kernels", 0, MAX_KERNELS * len(KINDS), True)
    _maybe(_number, d.get("chains"), f"{where}.chains", 0, MAX_KERNELS, True)
    _maybe(_text, d.get("method"), f"{where}.method")
    for key in ("kinds_timed", "kinds_never_timed"):
        v = d.get(key, [])
        if not isinstance(v, list) or any(k not in KINDS for k in v):
            raise _fail(f"{where}.{key}", f"expected a list of known kernel kinds ({', '.join(KINDS)})")


def _interval(d: Any, where: str) -> None:
    _fields(d, where, ("coverage", "log_low", "log_high", "widen", "from", "family_out",
                       "undisturbed_log_high", "host_states"), ("coverage", "log_low", "log_high"))
    if "family_out" in d:
        out = _fields(d["family_out"], f"{where}.family_out", ("log_low", "log_high"), ("log_low", "log_high"))
        if _number(out["log_high"], f"{where}.family_out.log_high", -5.0, 5.0) < _number(
                out["log_low"], f"{where}.family_out.log_low", -5.0, 5.0):
            raise _fail(f"{where}.family_out.log_high", "below log_low")
    _number(d["coverage"], f"{where}.coverage", 0.5, 0.999)
    lo = _number(d["log_low"], f"{where}.log_low", -5.0, 5.0)
    if _number(d["log_high"], f"{where}.log_high", -5.0, 5.0) < lo:
        raise _fail(f"{where}.log_high", "below log_low")
    _maybe(_number, d.get("widen"), f"{where}.widen", 0.0, 5.0)
    if "undisturbed_log_high" in d and _number(d["undisturbed_log_high"], f"{where}.undisturbed_log_high",
                                               -5.0, 5.0) > d["log_high"]:
        raise _fail(f"{where}.undisturbed_log_high", "above log_high (the high bound in every host state)")
    if "host_states" in d:
        _number(d["host_states"], f"{where}.host_states", 0, 10_000, True)
    _maybe(_text, d.get("from"), f"{where}.from")


def _calibration(d: Any, where: str) -> None:
    _fields(d, where, ("points", "skipped", "measuring_s", "budget_s", "point_budget_s", "interrupted",
                       "seed", "edited_tables", "chains", "drift"))
    for k, v in d.items():
        if k == "drift":
            _drift(v, f"{where}.drift")
        elif k == "interrupted":
            if not isinstance(v, bool):
                raise _fail(f"{where}.{k}", "expected true or false")
        else:
            _number(v, f"{where}.{k}", 0.0, 1e9)


PROBE_GROUPS = ("dense", "depthwise", "elementwise", "calls")  # the host probe's (predictor.probe.GROUPS)


def _drift(d: Any, where: str) -> None:
    """The host's drift a calibration measured and took out (:mod:`lightviz.latency.predictor.drift`)."""
    _fields(d, where, ("probes", "reference_ms", "probe_ms", "probe_at_s", "probe_groups_ms", "scaled", "of",
                       "max_factor", "factors", "chain_factors", "network_at_s", "chain_at_s"))
    for key, lo, hi in (("probes", 0, 1e6), ("reference_ms", 0.0, 1e6), ("scaled", 0, 1e6), ("of", 0, 1e6),
                        ("max_factor", 1.0, 10.0)):
        _maybe(_number, d.get(key), f"{where}.{key}", lo, hi)
    for key, lo, hi in (("probe_ms", 0.0, 1e6), ("probe_at_s", 0.0, 1e6), ("factors", 1.0, 10.0),
                        ("chain_factors", 1.0, 10.0), ("network_at_s", 0.0, 1e6), ("chain_at_s", 0.0, 1e6)):
        if key in d:
            _numbers(d[key], f"{where}.{key}", lo, hi, most=MAX_POINTS)
    groups = _fields(d.get("probe_groups_ms", {}), f"{where}.probe_groups_ms", PROBE_GROUPS)
    for key, ms in groups.items():
        _numbers(ms, f"{where}.probe_groups_ms.{key}", 0.0, 1e6, most=MAX_POINTS)


def _local(d: Any, where: str) -> None:
    """The whole-network model's local correction (:class:`lightviz.latency.predictor.local.Local`)."""
    _fields(d, where, ("bandwidth", "prior", "group_weight", "clip", "points", "log_residual"),
            ("bandwidth", "prior", "points", "log_residual"))
    _number(d["bandwidth"], f"{where}.bandwidth", 1e-6, 100.0)
    _number(d["prior"], f"{where}.prior", 0.0, 1e6)
    _maybe(_number, d.get("group_weight"), f"{where}.group_weight", 0.0, 1.0)
    _maybe(_number, d.get("clip"), f"{where}.clip", 0.0, 10.0)
    pts = _fields(d["points"], f"{where}.points", ("arch", "groups", "ln_alpha", "ln_res", "paper"),
                  ("arch", "groups", "ln_alpha", "ln_res", "paper"))
    n = len(_numbers(d["log_residual"], f"{where}.log_residual", -10.0, 10.0, most=MAX_POINTS))
    for key, lo, hi in (("groups", 0, 64), ("ln_alpha", -5.0, 5.0), ("ln_res", 0.0, 10.0)):
        _numbers(pts[key], f"{where}.points.{key}", lo, hi, n)
    for key, ok in (("arch", lambda v: isinstance(v, str) and 0 < len(v) <= 64),
                    ("paper", lambda v: isinstance(v, bool))):
        if not isinstance(pts[key], list) or len(pts[key]) != n or not all(map(ok, pts[key])):
            raise _fail(f"{where}.points.{key}", f"expected {n} {'names' if key == 'arch' else 'true/false'}")


def check_whole_model(d: Any, where: str = "model") -> None:
    """A whole-network model as the store keeps it (the fields that travel, each checked)."""
    _fields(d, where, ("model_kind", *WHOLE_FIELDS),
            ("feature_version", "features", "coef", "interval", "measurements", "heldout_rmspe"))
    if d["feature_version"] != F.VERSION:
        raise _fail(f"{where}.feature_version", f"{d['feature_version']!r}: this lightviz reads {F.VERSION}")
    if d["features"] != ["intercept", *F.NAMES]:
        raise _fail(f"{where}.features", f"expected intercept, {', '.join(F.NAMES)}")
    _numbers(d["coef"], f"{where}.coef", -1e6, 1e6, len(F.NAMES) + 1)
    _maybe(_number, d.get("ridge"), f"{where}.ridge", 0.0, 1e9)
    _maybe(_local, d.get("local"), f"{where}.local")
    lc = d.get("local_correction")
    if lc is not None:
        _fields(lc, f"{where}.local_correction", ("bandwidth", "prior"))
        for k, v in lc.items():
            _number(v, f"{where}.local_correction.{k}", 0.0, 1e6)
    _fit_figures(d, where, ("heldout_arch_out_rmspe", "heldout_without_local_rmspe"))


def _fit_figures(d: dict, where: str, other_rmspe: tuple[str, ...]) -> None:
    """What both models say of their fit: interval, measurements, held-out errors (the RMSPE
    required; ``other_rmspe`` and the within-10/20 shares when given), method, calibration."""
    _interval(d["interval"], f"{where}.interval")
    _number(d["measurements"], f"{where}.measurements", 1, 1e6, True)
    _number(d["heldout_rmspe"], f"{where}.heldout_rmspe", 0.0, 100.0)
    for key in other_rmspe:
        _maybe(_number, d.get(key), f"{where}.{key}", 0.0, 100.0)
    for key in ("heldout_within_10", "heldout_within_20"):
        _maybe(_number, d.get(key), f"{where}.{key}", 0.0, 1.0)
    _by_arch(d.get("heldout_by_arch"), where)
    _maybe(_text, d.get("method"), f"{where}.method")
    _maybe(_calibration, d.get("calibration"), f"{where}.calibration")


def _by_arch(by: Any, where: str) -> None:
    by = by or {}
    if not isinstance(by, dict) or len(by) > 256:
        raise _fail(f"{where}.heldout_by_arch", "expected an object of at most 256 architectures")
    for arch, e in by.items():
        _text(arch, f"{where}.heldout_by_arch", 64)
        _number(e, f"{where}.heldout_by_arch.{arch}", 0.0, 100.0)


def check_model(d: Any, where: str = "model") -> None:
    """A latency model as the store keeps it (the fields that travel, each checked): the kernel
    model, or the whole-network model that int8 and the other runtimes calibrate."""
    if isinstance(d, dict) and d.get("model_kind", WHOLE) == WHOLE:
        check_whole_model(d, where)
        return
    _fields(d, where, MODEL_FIELDS, ("model_kind", "feature_version", "kernel", "interval", "measurements",
                                     "heldout_rmspe"))
    if d["model_kind"] != "kernel":
        raise _fail(f"{where}.model_kind", f"{str(d['model_kind'])[:40]!r}: a device file holds the "
                                           f"kernel or the {WHOLE} model")
    if d["feature_version"] != F.VERSION:
        raise _fail(f"{where}.feature_version", f"{d['feature_version']!r}: this lightviz reads {F.VERSION}")
    _kernel(d["kernel"], f"{where}.kernel")
    _fit_figures(d, where, ("heldout_arch_out_rmspe", "heldout_edited_rmspe"))
    families = d.get("families", [])
    if not isinstance(families, list) or len(families) > 256:
        raise _fail(f"{where}.families", "expected a list of at most 256 family names")
    for name in families:
        _text(name, f"{where}.families", 64)


def check(doc: Any) -> dict:
    """``doc`` (a parsed device file) checked from top to bottom; returns it, or raises
    :class:`DeviceFileError` naming the first thing wrong."""
    if not isinstance(doc, dict):
        raise DeviceFileError(f"not a lightviz device file: the JSON is {type(doc).__name__}, not an object")
    if doc.get("kind") != KIND:
        raise DeviceFileError(f"not a lightviz device file (kind {str(doc.get('kind'))[:40]!r}, "
                              f"expected {KIND!r})")
    if doc.get("schema") != SCHEMA:
        raise DeviceFileError(f"device file schema {str(doc.get('schema'))[:20]!r}: this lightviz reads "
                              f"schema {SCHEMA}")
    _fields(doc, "", ("kind", "schema", "name", "lightviz", "exported_at", "imported_at", "passport",
                      "setup", "calibrated_at", "model"),
            ("name", "passport", "setup", "calibrated_at", "model"))
    check_name(doc["name"], "name")
    _maybe(_text, doc.get("lightviz"), "lightviz", 40)
    now = time.time() + 86400.0
    for key in ("exported_at", "imported_at"):
        _maybe(_number, doc.get(key), key, EARLIEST, now)
    _number(doc["calibrated_at"], "calibrated_at", EARLIEST, now)
    passport = _fields(doc["passport"], "passport", PASSPORT)
    for k, v in passport.items():
        _maybe(_text, v, f"passport.{k}", 200)
    check_setup(doc["setup"])
    check_model(doc["model"])
    return doc


# ----------------------------------------------------------------------------- reading and writing

def _no_repeats(pairs) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise DeviceFileError(f"field {k[:40]!r} is given twice")
        out[k] = v
    return out


def _no_constant(name: str):
    raise DeviceFileError(f"{name} is not a number a device file may hold (finite numbers only)")


def _depth(v: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        raise DeviceFileError(f"nested more than {MAX_DEPTH} levels deep")
    items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
    for x in items:
        if isinstance(x, (dict, list)):
            _depth(x, level + 1)
    return level


def parse(data: bytes) -> dict:
    """A device file's bytes parsed and checked (:func:`check`)."""
    if len(data) > MAX_BYTES:
        raise DeviceFileError(f"{len(data):,} bytes: a device file is at most {MAX_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DeviceFileError("not UTF-8 text: a device file is JSON") from None
    if text.count("[") + text.count("{") > 10 * MAX_KERNELS:
        raise DeviceFileError("too many lists and objects for a device file")
    try:
        doc = json.loads(text, object_pairs_hook=_no_repeats, parse_constant=_no_constant)
    except RecursionError:
        raise DeviceFileError(f"nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        raise DeviceFileError(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): "
                              "truncated or not a device file") from None
    _depth(doc)
    return check(doc)


def read(path: str) -> dict:
    """The device file at ``path``, read (at most :data:`MAX_BYTES` + 1 bytes) and checked."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise DeviceFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse(data)


def dumps(doc: Mapping) -> str:
    """The JSON text of a device file (floats written so that they read back exactly)."""
    return json.dumps(doc, indent=1, allow_nan=False)


def document(name: str, model: Mapping, setup: Setup, passport: Mapping,
             exported_at: float | None = None) -> dict:
    """A device file's content for a stored ``model`` of ``setup`` (the fields that travel;
    the probe state and the calibration's configurations stay home), checked."""
    from dataclasses import asdict

    from ...version import __version__

    doc = {"kind": KIND, "schema": SCHEMA, "name": name, "lightviz": __version__,
           "exported_at": time.time() if exported_at is None else exported_at,
           "passport": {k: passport.get(k) for k in PASSPORT if k in passport},
           "setup": asdict(setup), "calibrated_at": model.get("calibrated_at"),
           "model": {k: model[k] for k in (MODEL_FIELDS if model.get("model_kind") == "kernel"
                                           else ("model_kind", *WHOLE_FIELDS))
                     if model.get(k) is not None}}
    return check(json.loads(dumps(doc)))
