"""Out of memory during a measurement: recognised, freed, and reported in one line that keeps
the end of PyTorch's message (where its CPU allocator says how much it tried to allocate and
the system's error; its CUDA advice boilerplate is dropped)."""

from __future__ import annotations

import gc
import re

OOM_TEXT_LIMIT = 300
_ADVICE = (re.compile(r"\s*See documentation for Memory Management.*$"),
           re.compile(r"\s*If reserved but unallocated memory is large.*$"))


def is_oom(exc: BaseException) -> bool:
    import torch

    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom is not None and isinstance(exc, oom):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def oom_reason(exc: BaseException, limit: int = OOM_TEXT_LIMIT) -> str:
    """PyTorch's out-of-memory text as one line of at most ``limit`` characters, keeping its end
    ("... you tried to allocate 5368709120 bytes. Error code 12 (Cannot allocate memory)")."""
    text = " ".join(str(exc).split())
    for advice in _ADVICE:
        text = advice.sub("", text)
    if not text:
        return type(exc).__name__
    return text if len(text) <= limit else "\u2026" + text[-(limit - 1):]


def free_memory(device: str) -> None:
    """Collect garbage and give the allocator's cached blocks back (CUDA, MPS)."""
    import torch

    from ..setup import mps_available

    gc.collect()
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device == "mps" and mps_available():
        torch.mps.empty_cache()
