"""The passport: what a latency figure was measured on, attached to every result and export.

A latency without its machine is not a number an engineer can use: the same network moves by
10x between thread counts, power modes and clock settings. The passport records the CPU, the
cores and threads, torch and its backends, the accelerator and its driver, the load on the
host, and on a Jetson its model, L4T release, nvpmodel mode, ``jetson_clocks`` state (with the
frequencies it was judged on), which power rails make the total, and temperatures. Files are
read through a configurable root (see :mod:`lightviz.latency.host.sysfs`).
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time

import torch

from . import jetson
from .cpu import usable_cores
from .sysfs import Root

# ARM "CPU part" numbers in /proc/cpuinfo (aarch64 has no "model name").
ARM_PARTS = {
    (0x41, 0xD03): "Cortex-A53", (0x41, 0xD04): "Cortex-A35", (0x41, 0xD05): "Cortex-A55",
    (0x41, 0xD07): "Cortex-A57", (0x41, 0xD08): "Cortex-A72", (0x41, 0xD09): "Cortex-A73",
    (0x41, 0xD0A): "Cortex-A75", (0x41, 0xD0B): "Cortex-A76", (0x41, 0xD0C): "Neoverse-N1",
    (0x41, 0xD0D): "Cortex-A77", (0x41, 0xD40): "Neoverse-V1", (0x41, 0xD41): "Cortex-A78",
    (0x41, 0xD42): "Cortex-A78AE", (0x41, 0xD49): "Neoverse-N2", (0x41, 0xD4F): "Neoverse-V2",
    (0x4E, 0x004): "NVIDIA Carmel", (0x61, 0x022): "Apple M1", (0x61, 0x032): "Apple M2",
}


def cpu_model(root=None) -> str:
    """The CPU's name from /proc/cpuinfo (x86 "model name", ARM implementer/part), else what
    the platform module knows."""
    info = Root(root).read("/proc/cpuinfo", 1 << 20) or ""
    m = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
    if m:
        return m.group(1).strip()
    impl = re.findall(r"^CPU implementer\s*:\s*(0x[0-9a-fA-F]+)", info, re.M)
    part = re.findall(r"^CPU part\s*:\s*(0x[0-9a-fA-F]+)", info, re.M)
    if impl and part:
        names = []
        for i, p in zip(impl, part):
            name = ARM_PARTS.get((int(i, 16), int(p, 16)), f"ARM implementer {i} part {p}")
            if name not in names:
                names.append(name)
        return " + ".join(names)
    return platform.processor() or platform.machine() or "unknown CPU"


def device_info(device: str, root=None) -> dict:
    """Name, driver and memory of ``device`` ("cpu", "cuda[:N]", "mps")."""
    root = Root(root)
    kind = device.split(":")[0]
    if kind == "cuda" and torch.cuda.is_available():
        index = torch.device(device).index or 0
        props = torch.cuda.get_device_properties(index)
        driver = None
        text = root.read("/proc/driver/nvidia/version")
        if text:
            m = re.search(r"Kernel Module(?: for \w+)?\s+([\d.]+)", text)
            driver = m.group(1) if m else text.splitlines()[0][:80]
        elif jetson.is_jetson(root):
            driver = f"nvgpu (L4T {jetson.l4t_release(root) or 'unknown'})"
        return {
            "kind": "cuda", "name": props.name, "index": index,
            "compute_capability": f"{props.major}.{props.minor}",
            "multiprocessors": props.multi_processor_count,
            "memory_gib": round(props.total_memory / 2**30, 2),
            "driver": driver, "cuda_runtime": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
            "tf32_convolutions": bool(torch.backends.cudnn.allow_tf32),
            "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        }
    if kind == "mps":
        return {"kind": "mps", "name": f"Apple GPU (MPS) on {platform.machine()}",
                "driver": f"macOS {platform.mac_ver()[0] or '?'}"}
    return {"kind": "cpu", "name": cpu_model(root), "driver": None,
            "mkldnn": torch.backends.mkldnn.is_available(),
            "isa": _cpu_capability()}


def _cpu_capability() -> str | None:
    try:
        return torch.backends.cpu.get_cpu_capability()
    except Exception:  # older torch
        return None


def host_load(root=None) -> float | None:
    text = Root(root).read("/proc/loadavg")
    try:
        return float(text.split()[0]) if text else None
    except ValueError:
        return None


def passport(device: str = "cpu", threads: int | None = None, root=None) -> dict:
    """Everything a latency figure depends on, as a JSON-ready dict."""
    root = Root(root)
    from ...version import __version__

    try:
        import numpy
        numpy_version = numpy.__version__
    except ImportError:  # pragma: no cover
        numpy_version = None
    cpu0 = "/sys/devices/system/cpu/cpu0/cpufreq/"
    temps = jetson.thermal_zones(root)
    return {
        "created_at": time.time(),
        "lightviz": __version__,
        "host": {
            "os": f"{platform.system()} {platform.release()}",
            "machine": platform.machine(),
            "python": sys.version.split()[0],
        },
        "cpu": {
            "model": cpu_model(root),
            "cores": os.cpu_count(),
            "usable_cores": usable_cores(),
            "governor": root.read(cpu0 + "scaling_governor"),
            "load_1min": host_load(root),
        },
        "threads": threads if threads is not None else torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "torch": torch.__version__,
        "numpy": numpy_version,
        "device": device_info(device, root),
        "jetson": jetson.jetson_info(root),
        "temperatures_c": temps or None,
    }


def summary(p: dict) -> str:
    """One line for a terminal or a caption."""
    dev = p.get("device") or {}
    parts = [dev.get("name") or "?"]
    if dev.get("kind") == "cuda":
        parts.append(f"driver {dev.get('driver') or '?'}, CUDA {dev.get('cuda_runtime')}")
    n = p.get('threads')
    parts.append(f"{n} thread{'' if n == 1 else 's'} of {p['cpu'].get('usable_cores')} cores")
    parts.append(f"torch {p.get('torch')}")
    j = p.get("jetson")
    if j:
        clocks = j["jetson_clocks"]
        figures = f" ({clocks['short']})" if clocks.get("short") else ""
        parts.append(f"{j.get('model')}, {j.get('l4t')}, power mode {j.get('nvpmodel') or '?'}, "
                     f"jetson_clocks {clocks['state']}{figures}")
    load = p["cpu"].get("load_1min")
    if load is not None:
        parts.append(f"load {load:.1f}")
    return "; ".join(parts)
