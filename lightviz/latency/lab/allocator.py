"""Steady-state memory while measuring: freed memory stays in the process, so no forward pass
faults its activations in anew.

glibc's ``malloc`` serves blocks above a threshold (128 KiB at first) with fresh pages from the
kernel and unmaps them on ``free``, and it moves that threshold with what was freed before; so
from one process, network or op to the next, an activation is either recycled from the heap or
faulted in page by page, on every forward pass. On this project's machine (1 thread, fp32, one
run each): MobileNet v2 1x @ 224 made 2,320 page faults per forward pass and took 20.2 ms,
1.318x @ 304 made 6,466 and took 54.7 ms; with freed memory kept, none, 14.0 ms and 39.2 ms,
while ShuffleNet v2 1.47x @ 72 px made none either way (7.9-8.0 ms). Where an op's output
landed decided its time: the same 3x3 stem conv ran 1.4-1.6x slower inside the zoo's networks
than inside the tests' TinyNet, which no model of kernels can know. (PyTorch's own huge-page
allocation, ``THP_MEM_ALLOC_ENABLE=1``, made it worse: 1,300 faults per pass where there had
been none, TinyNet 14.9 ms instead of 7.4.)

Deployed networks run in that steady state: ONNX Runtime and TensorRT keep arenas, and PyTorch's
CPU tuning guide recommends jemalloc or tcmalloc, which keep freed memory. So while the lab
measures, glibc keeps freed memory too (``mallopt``: ``M_MMAP_THRESHOLD`` and
``M_TRIM_THRESHOLD`` raised to 1 GiB); afterwards the defaults are set back and ``malloc_trim``
returns what is free to the system. Where the C library is not glibc (macOS, musl) nothing
changes, and the passport says which held (:func:`state`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEEP = 1 << 30
DEFAULT = 128 * 1024  # glibc's initial thresholds
_lock = threading.Lock()
_depth = 0
_libc = None


def _glibc():
    """glibc's handle (with ``mallopt`` and ``malloc_trim``), or None elsewhere."""
    global _libc
    if _libc is None:
        _libc = False
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim") and hasattr(lib, "gnu_get_libc_version"):
                _libc = lib
        except OSError:
            pass
    return _libc or None


@contextmanager
def steady_memory() -> Iterator[bool]:
    """Keep freed memory in the process for the block (nested blocks share one setting); yields
    whether it could (glibc only)."""
    global _depth
    lib = _glibc()
    if lib is None:
        yield False
        return
    with _lock:
        if _depth == 0:
            lib.mallopt(M_MMAP_THRESHOLD, KEEP)
            lib.mallopt(M_TRIM_THRESHOLD, KEEP)
        _depth += 1
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                lib.mallopt(M_MMAP_THRESHOLD, DEFAULT)
                lib.mallopt(M_TRIM_THRESHOLD, DEFAULT)
                lib.malloc_trim(0)


def state() -> str:
    """For the passport: how freed memory was kept while measuring."""
    return ("glibc, freed memory kept while measuring" if _glibc() is not None
            else "the C library's own (not glibc: freed memory may be returned while measuring)")
