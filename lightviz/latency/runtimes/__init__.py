"""The runtimes a network is timed on, one small adapter each behind one interface
(:class:`~lightviz.latency.runtimes.base.Runtime`: prepare, run once, synchronise, version), so
the protocol, the lock, the statistics and the passport stay written once
(:mod:`lightviz.latency.lab.protocol`).

* ``torch``: eager PyTorch, or a CUDA graph (``--mode cudagraph``): what the lab always timed.
* ``torch-compile``: ``torch.compile`` with inductor; on a CPU inductor writes C++ and needs a
  compiler (``g++``/``clang++`` or ``$CXX``); on a GPU it needs Triton.
* ``onnxruntime``: the exported ONNX file (opset 17, :mod:`lightviz.exporter`) in an ONNX Runtime
  session: CPU, or CUDA through its CUDA execution provider where installed (``onnxruntime-gpu``).
* ``tensorrt``: NVIDIA's ``trtexec`` (on PATH, or JetPack's /usr/src/tensorrt/bin/trtexec) builds an
  engine from the same ONNX file and times it; lightviz reads its per-iteration GPU compute times
  (``--exportTimes``) and its reported median and percentiles.

This module is torch-free: it only says which runtimes exist here and why one is refused
(:func:`unavailable`: one line naming how to install it), and loads an adapter on demand
(:func:`adapter`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil

RUNTIMES = ("torch", "torch-compile", "onnxruntime", "tensorrt")
DEFAULT = "torch"
TRTEXEC_JETPACK = "/usr/src/tensorrt/bin/trtexec"
COMPILERS = ("g++", "c++", "clang++")

INSTALL = {
    "onnxruntime": "pip install 'lightviz[onnx]' (or: pip install onnx onnxruntime; "
                   "onnxruntime-gpu for CUDA)",
    "tensorrt": "install TensorRT (JetPack ships it: /usr/src/tensorrt/bin/trtexec; elsewhere "
                "NVIDIA's TensorRT packages) so that trtexec is on PATH",
    "torch-compile": "install a C++ compiler (apt-get install g++, or set CXX), which inductor "
                     "needs to compile CPU kernels",
}

_MODULES = {"torch": ".torch_eager", "torch-compile": ".torch_compile",
            "onnxruntime": ".ort", "tensorrt": ".tensorrt"}


# GPUs with no int8 path in TensorRT (TensorRT support matrix, "Hardware and Precision": compute
# 5.x has fp16 but no int8, 6.0 no int8; int8 from 6.1 on, int8 tensor cores from 7.2/7.5):
# on a Jetson the board's table decides (host/jetson.py SOCS: Nano, TX1 and TX2 fp16 only).
INT8_MIN_CAPABILITY = (6, 1)


class RuntimeUnavailable(ValueError):
    """The runtime asked for is not installed or cannot run here (one line: how to get it)."""


def parse_runtime(value) -> str:
    """A runtime name checked against :data:`RUNTIMES` (``torch_compile`` and ``ort`` accepted)."""
    text = str(value if value is not None else DEFAULT).strip().lower().replace("_", "-")
    text = {"ort": "onnxruntime", "trt": "tensorrt", "eager": "torch", "compile": "torch-compile"}.get(text, text)
    if text not in RUNTIMES:
        raise ValueError(f"unknown runtime {value!r}: choose one of {', '.join(RUNTIMES)}")
    return text


def find_trtexec() -> str | None:
    """``trtexec`` on PATH (or ``$LIGHTVIZ_TRTEXEC``), else JetPack's, else None."""
    env = os.environ.get("LIGHTVIZ_TRTEXEC", "").strip()
    if env:
        return env if os.access(env, os.X_OK) else None
    found = shutil.which("trtexec")
    if found:
        return found
    return TRTEXEC_JETPACK if os.access(TRTEXEC_JETPACK, os.X_OK) else None


def find_compiler() -> str | None:
    """The C++ compiler inductor would use: ``$CXX``, else the first of g++, c++, clang++."""
    cxx = os.environ.get("CXX", "").strip()
    if cxx:
        return shutil.which(cxx.split()[0])
    return next((p for p in map(shutil.which, COMPILERS) if p), None)


def unavailable(name: str, device: str = "cpu") -> str | None:
    """None when runtime ``name`` can run on ``device`` here, else one line saying why not and
    how to install what is missing."""
    kind = device.split(":")[0]
    if name == "torch":
        return None
    if name == "torch-compile":
        if kind == "mps":
            return "runtime torch-compile is not offered on mps (inductor targets CPUs and CUDA GPUs)"
        if kind == "cpu" and find_compiler() is None:
            return (f"runtime torch-compile refused: no C++ compiler found (inductor compiles CPU "
                    f"kernels with g++ or clang++): {INSTALL['torch-compile']}")
        if kind == "cuda" and importlib.util.find_spec("triton") is None:
            return ("runtime torch-compile refused on cuda: inductor needs Triton, which is not "
                    "installed: pip install triton (PyTorch's CUDA wheels include it)")
        return None
    if name == "onnxruntime":
        missing = [p for p in ("onnx", "onnxruntime") if importlib.util.find_spec(p) is None]
        if missing:
            return (f"runtime onnxruntime is not installed here (missing {' and '.join(missing)}): "
                    f"{INSTALL['onnxruntime']}")
        if kind == "mps":
            return "runtime onnxruntime is offered on cpu and cuda, not mps"
        return None
    if name == "tensorrt":
        if kind != "cuda":
            return f"runtime tensorrt runs on an NVIDIA GPU: use --device cuda, not {device}"
        if find_trtexec() is None:
            return (f"runtime tensorrt needs trtexec, which is neither on PATH nor at "
                    f"{TRTEXEC_JETPACK}: {INSTALL['tensorrt']}")
        if importlib.util.find_spec("onnx") is None:
            return f"runtime tensorrt builds its engine from an ONNX export, which needs onnx: {INSTALL['onnxruntime']}"
        return None
    raise ValueError(f"unknown runtime {name!r}: choose one of {', '.join(RUNTIMES)}")


def int8_refusal(runtime: str, device: str = "cpu", capability=None, root=None) -> str | None:
    """None when ``runtime`` may run an int8 graph on ``device`` here, else one line why not:
    TensorRT on a board or GPU with no int8 path (the Jetson Nano, TX1 and TX2: fp16 only;
    :data:`lightviz.latency.host.jetson.SOCS`). The board is read from the device tree
    (through ``$LIGHTVIZ_SYSFS_ROOT`` in tests); ``capability`` ``(major, minor)`` when the
    caller knows it."""
    if runtime != "tensorrt":
        return None
    from ..host.jetson import jetson_board

    board = jetson_board(root)  # one table of Jetson GPUs for this refusal and the natural setups
    if board is not None and not board.int8:
        return (f"int8 is not offered on the {board.model}: its GPU ({board.gpu}) has no int8 "
                f"path in TensorRT, only fp16: use --dtype fp16")
    if capability is not None and tuple(capability) < INT8_MIN_CAPABILITY:
        major, minor = capability
        return (f"int8 is not offered on this GPU (compute {major}.{minor}): TensorRT's int8 needs "
                f"compute {INT8_MIN_CAPABILITY[0]}.{INT8_MIN_CAPABILITY[1]} or newer: use --dtype fp16")
    return None


def require(name: str, device: str = "cpu") -> None:
    """Raise :class:`RuntimeUnavailable` (one line) when ``name`` cannot run on ``device``."""
    why = unavailable(name, device)
    if why:
        raise RuntimeUnavailable(why)


def available(device: str = "cpu"):
    """The runtimes that can run on ``device`` here, in :data:`RUNTIMES` order."""
    return [r for r in RUNTIMES if unavailable(r, device) is None]


def adapter(name: str, device: str = "cpu"):
    """A fresh adapter for runtime ``name`` (imports it; :class:`RuntimeUnavailable` first when
    it cannot run on ``device``)."""
    name = parse_runtime(name)
    require(name, device)
    return importlib.import_module(_MODULES[name], __name__).ADAPTER()


__all__ = ["DEFAULT", "INSTALL", "RUNTIMES", "RuntimeUnavailable", "adapter", "available",
           "find_compiler", "find_trtexec", "int8_refusal", "parse_runtime", "require", "unavailable"]
