"""What to measure on, checked before anything runs: device, dtype, batch, threads, mode, budget.

Torch-free at import (torch is imported only to ask about a GPU or a reduced precision), so the
commands and pages that only read a setup (``lightviz predict``, the Explore page's predicted
latency) start without loading torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

from ..config import PRECISION_ALIASES, in_range, number
from .host.cpu import usable_cores

DTYPE_NAMES = ("fp32", "fp16", "bf16", "int8")
DTYPE_ALIASES = {**PRECISION_ALIASES, "bfloat16": "bf16"}  # bf16: a measured dtype, not deployed
QUANTIZED_RUNTIMES = ("onnxruntime", "tensorrt")  # the runtimes that run an int8 graph
MODES = ("eager", "cudagraph")
BATCH_MIN, BATCH_MAX = 1, 1024
BUDGET_DEFAULT_S = 2.0
BUDGET_MIN_S, BUDGET_MAX_S = 0.05, 600.0
WARMUP_FRACTION = 0.2
WARMUP_MIN = 2
MIN_RUNS = 5
MAX_RUNS = 100_000
SPREAD_LIMIT = 0.10


class MeasurementError(RuntimeError):
    """A measurement could not be completed (the message says why)."""


class OutOfMemory(MeasurementError):
    """The device ran out of memory; what the measurement held was freed."""


class Stopped(MeasurementError):
    """The caller withdrew part-way (the page that asked was closed): nothing was recorded."""


# ---------------------------------------------------------------------------------------------
# What to measure on
# ---------------------------------------------------------------------------------------------


def available_devices() -> list[str]:
    """The devices this host can measure on: ``cpu``, ``cuda`` (``cuda:N`` beyond the first
    GPU), ``mps``."""
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        devices += ["cuda"] + [f"cuda:{i}" for i in range(1, n)]
    if mps_available():
        devices.append("mps")
    return devices


def mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def device_name(value) -> str:
    """A device string in lightviz's spelling (``cpu``, ``cuda``, ``cuda:N``, ``mps``), checked for
    its form only, not against this host (torch-free)."""
    text = str(value).strip().lower() if value is not None else ""
    kind, _, index = text.partition(":")
    if kind not in ("cpu", "cuda", "mps") or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(f"unknown device {value!r}: choose one of cpu, cuda, cuda:N, mps")
    return "cuda" if kind == "cuda" and index in ("", "0") else text


def parse_device(value) -> str:
    """A device string checked against this host (ValueError naming what is available)."""
    text = str(value).strip().lower() if value is not None else ""
    if text == "cpu":  # always there: no need to import torch to say so
        return "cpu"
    import torch

    avail = ", ".join(available_devices())
    kind, _, index = text.partition(":")
    if kind not in ("cpu", "cuda", "mps") or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(f"unknown device {value!r}: choose one of cpu, cuda, cuda:N, mps "
                         f"(available here: {avail})")
    if kind == "cuda":
        if not torch.cuda.is_available():
            why = ("was built without CUDA" if torch.version.cuda is None
                   else f"is built for CUDA {torch.version.cuda} but sees no GPU")
            raise ValueError(f"device {text} is not available here: torch {torch.__version__} {why} "
                             f"(available: {avail})")
        if index and int(index) >= torch.cuda.device_count():
            raise ValueError(f"device {text} is not available here: {torch.cuda.device_count()} "
                             f"CUDA device(s) (available: {avail})")
        return "cuda" if index in ("", "0") else text
    if kind == "mps" and not mps_available():
        raise ValueError(f"device mps is not available here: Apple's Metal backend needs macOS "
                         f"on Apple silicon (available: {avail})")
    return kind


def cpu_native(dtype: str) -> bool:
    """Whether oneDNN has native kernels for this reduced precision on this CPU (AVX512-BF16 /
    AMX for bf16, AVX512-FP16 / AMX-FP16 for fp16)."""
    import torch

    check = {"bf16": "_is_mkldnn_bf16_supported", "fp16": "_is_mkldnn_fp16_supported"}[dtype]
    try:
        return bool(getattr(torch.ops.mkldnn, check)())
    except (AttributeError, RuntimeError):
        return False


def dtype_support(device: str) -> dict[str, str | None]:
    """For each dtype, None when ``device`` supports it, else the reason it is refused.

    On the CPU, fp16 and bf16 are offered only where oneDNN has native kernels for them: on
    other CPUs PyTorch falls back to slow reference kernels (or converts to fp32 and back), a
    latency that says nothing about deploying a half-precision network; such a request is
    refused rather than measured."""
    import torch

    kind = device.split(":")[0]
    out: dict[str, str | None] = {"fp32": None}
    if kind == "cpu":
        for dt, isa in (("bf16", "AVX512-BF16 or AMX"), ("fp16", "AVX512-FP16 or AMX-FP16")):
            out[dt] = None if cpu_native(dt) else (
                f"{dt} on this CPU has no native kernels (needs {isa} on x86, or an ARM core "
                f"with {dt} arithmetic that oneDNN supports): PyTorch would run slow reference "
                f"code whose latency says nothing about a {dt} deployment; use fp32 on the CPU, "
                f"or {dt} on a GPU")
    elif kind == "cuda":
        out["fp16"] = None
        index = torch.device(device).index or 0
        major, minor = torch.cuda.get_device_capability(index)
        out["bf16"] = None if major >= 8 else (
            f"bf16 needs a GPU of compute capability 8.0 or newer (Ampere); this one is "
            f"{major}.{minor}: use fp16")
    elif kind == "mps":
        out["fp16"] = None
        try:
            torch.nn.functional.conv2d(torch.ones(1, 1, 3, 3, device="mps", dtype=torch.bfloat16),
                                       torch.ones(1, 1, 1, 1, device="mps", dtype=torch.bfloat16))
            out["bf16"] = None
        except (RuntimeError, TypeError) as exc:
            out["bf16"] = f"bf16 is not supported by MPS here ({str(exc).splitlines()[0]}); use fp16"
    return out


def _capability(device: str):
    """``(major, minor)`` of a CUDA device, None for the others."""
    if not device.startswith("cuda"):
        return None
    import torch

    return tuple(torch.cuda.get_device_capability(torch.device(device).index or 0))


@dataclass(frozen=True)
class Setup:
    """How to measure: device, dtype, batch, CPU threads (None = torch's current count),
    channels-last, mode (eager or cudagraph), the time budget of warm-up + timed runs,
    whether batch norms are folded into the convs as deployed (``fold_bn``, the default), and
    the runtime that runs the network (``torch``, ``torch-compile``, ``onnxruntime``,
    ``tensorrt``: :mod:`lightviz.latency.runtimes`)."""

    device: str = "cpu"
    dtype: str = "fp32"
    batch: int = 1
    threads: int | None = None
    channels_last: bool = False
    mode: str = "eager"
    budget_s: float = BUDGET_DEFAULT_S
    fold_bn: bool = True
    runtime: str = "torch"

    @property
    def label(self) -> str:
        cl = ", channels-last" if self.channels_last else ""
        th = f", {self.threads} thread{'s' if self.threads != 1 else ''}" if self.threads else ""
        bn = "BN folded" if self.fold_bn else "BN unfused"
        rt = f", {self.runtime}" if self.runtime != "torch" else ""
        return f"{self.device} {self.dtype} batch {self.batch}{th}{cl} {self.mode}, {bn}{rt}"


def make_setup(device="cpu", dtype="fp32", batch=1, threads=None, channels_last=False,
               mode="eager", budget_s=BUDGET_DEFAULT_S, fold_bn=True, runtime="torch",
               require_runtime=True, probe=True) -> Setup:
    """Check raw values (strings from a command line are fine) and return a :class:`Setup`;
    ``ValueError`` with one line naming the value and what is allowed. With
    ``require_runtime`` (the default) a runtime that cannot run here is refused in one line
    naming how to install it (:class:`~lightviz.latency.runtimes.RuntimeUnavailable`); a caller
    that only reads a setup (a prediction) passes False. ``probe=False`` checks every value
    but does not ask torch about this host's devices and dtypes (the torch-free pages that
    predict for the setup the Latency page chose, which probed them)."""
    from . import runtimes

    device = parse_device(device) if probe else device_name(device)
    key = str(dtype).strip().lower()
    key = DTYPE_ALIASES.get(key, key)
    if key not in DTYPE_NAMES:
        raise ValueError(f"unknown dtype {dtype!r}: choose one of {', '.join(DTYPE_NAMES)}")
    refused = None if key == "fp32" or not probe else dtype_support(device).get(key)
    if refused:
        raise ValueError(f"dtype {key} refused on {device}: {refused}")
    batch = number("batch", batch, integer=True)
    in_range("batch", batch, BATCH_MIN, BATCH_MAX)
    if threads is not None and str(threads).strip() != "":
        threads = number("threads", threads, integer=True)
        in_range("threads", threads, 1, usable_cores(), " (the cores this process may use)")
        threads = int(threads)
    else:
        threads = None
    mode = str(mode).strip().lower()
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    if mode == "cudagraph" and not device.startswith("cuda"):
        raise ValueError(f"mode cudagraph needs a CUDA device, not {device}: use --mode eager")
    budget_s = number("budget", budget_s)
    in_range("budget", budget_s, BUDGET_MIN_S, BUDGET_MAX_S, " seconds")
    runtime = runtimes.parse_runtime(runtime)
    if runtime != "torch" and mode != "eager":
        raise ValueError(f"mode {mode} is PyTorch's own: runtime {runtime} runs its own graph, "
                         "use --mode eager (or --runtime torch)")
    if runtime in ("onnxruntime", "tensorrt") and channels_last:
        raise ValueError(f"channels-last is a PyTorch memory format: {runtime} chooses its own "
                         "layout, drop --channels-last")
    if key == "int8" and runtime not in QUANTIZED_RUNTIMES:
        raise ValueError(f"dtype int8 is a quantized graph that runtime {runtime} does not run "
                         f"here: use --runtime onnxruntime (static QDQ, per-channel weights) or "
                         f"--runtime tensorrt")
    if key == "int8":
        why = runtimes.int8_refusal(runtime, device, _capability(device) if probe else None)
        if why:
            raise ValueError(why)
    if runtime == "onnxruntime" and key not in ("fp32", "int8") and not device.startswith("cuda"):
        raise ValueError(f"runtime onnxruntime on {device} is timed in fp32 or int8 only (its "
                         "CPU provider runs fp16/bf16 graphs through casts): use --dtype fp32 "
                         "or int8")
    if require_runtime and probe:
        runtimes.require(runtime, device)
    return Setup(device, key, int(batch), threads, bool(channels_last), mode, float(budget_s),
                 bool(fold_bn), runtime)


# ---------------------------------------------------------------------------------------------
# The one constructor from options or widget values
# ---------------------------------------------------------------------------------------------

# A setup's fields as the commands' options (``--channels-last``: dest ``channels_last``) and the
# Latency page's widgets (key ``latency_<field>``) name them.
SETUP_FIELDS = ("device", "dtype", "batch", "threads", "channels_last", "mode", "fold_bn", "runtime")
DEFAULTS = {f.name: f.default for f in fields(Setup)}


def setup_from(values, budget_s=None, *, require_runtime=True, probe=True) -> Setup:
    """A checked :class:`Setup` from named values: the latency commands' parsed options (an
    ``argparse.Namespace``) or the Latency page's widget values (a mapping), missing ones at
    their defaults; ``budget_s`` replaces a ``budget`` value. Every door builds its setup here
    (:func:`make_setup`'s checks, ``ValueError`` in one line)."""
    get = values.get if isinstance(values, Mapping) else (lambda k, d=None: getattr(values, k, d))
    args = {f: get(f, DEFAULTS[f]) for f in SETUP_FIELDS}
    budget = budget_s if budget_s is not None else get("budget", BUDGET_DEFAULT_S)
    return make_setup(budget_s=budget, require_runtime=require_runtime, probe=probe, **args)


def add_setup_arguments(p, threads_help: str) -> None:
    """The options of a :class:`Setup` that every latency command shares (bench, calibrate,
    predict, pareto): the names match the Latency page's settings (:data:`SETUP_FIELDS`)."""
    from .runtimes import RUNTIMES

    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default cpu)")
    p.add_argument("--dtype", default="fp32",
                   help="fp32, fp16 or bf16 where the device supports it, int8 with --runtime "
                        "onnxruntime or tensorrt (default fp32)")
    p.add_argument("--batch", default="1", help="images per call, 1 to 1024 (default 1)")
    p.add_argument("--threads", default=None, help=threads_help)
    p.add_argument("--mode", default="eager",
                   help=f"{' or '.join(MODES)} (cudagraph needs CUDA; default eager)")
    p.add_argument("--channels-last", action="store_true",
                   help="NHWC memory format for the model and input")
    p.add_argument("--no-fold-bn", dest="fold_bn", action="store_false",
                   help="time batch norms as separate layers; by default each is folded into the "
                        "conv before it, as deployed (eager BN layers overstate their cost). "
                        "MACs and params are the unfolded network's either way")
    p.add_argument("--runtime", default="torch",
                   help=f"what runs the network: {', '.join(RUNTIMES)} (default torch: eager, or "
                        "a CUDA graph with --mode cudagraph); each runtime has its own latency model")


def positive_seconds(name: str, text) -> float:
    """``text`` as a positive number of seconds (a command's option); ValueError naming it."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {text!r}")
    return value


def non_negative_seconds(name: str, text) -> float:
    """``text`` as a number of seconds, 0 or more (a command's option); ValueError naming it."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be 0 or a positive number of seconds, got {text!r}")
    return value
