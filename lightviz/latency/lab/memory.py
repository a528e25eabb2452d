"""Will it fit? An estimate of a measurement's memory before anything is allocated.

``weights`` = params x bytes per value; ``activations`` = the profile's peak of live tensors
(batch 1, fp32, no in-place reuse: an upper bound) scaled to the dtype and multiplied by the
batch, plus the input batch; ``workspace`` = room for convolution algorithms and the allocator
(on a GPU a quarter of the activations, at least 256 MiB; on the CPU 64 MiB). A configuration
whose estimate exceeds 90% of the memory free on its device is refused, with the figures and
the largest batch that would fit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ...config import Config
from ...counting import VALUE_BYTES, count
from ...units import fmt_bytes  # one rule for sizes: binary units, 3 significant digits
from ..host.sysfs import Root, read_file

MiB = 2**20
GiB = 2**30
HEADROOM = 0.9


class MemoryRefused(ValueError):
    """The configuration would not fit in the free memory of its device."""


@dataclass(frozen=True)
class Estimate:
    weights: int
    activations_per_image: int
    batch: int
    workspace: int

    @property
    def activations(self) -> int:
        return self.activations_per_image * self.batch

    @property
    def total(self) -> int:
        return self.weights + self.activations + self.workspace

    def describe(self) -> str:
        return (f"weights {fmt_bytes(self.weights)} + activations {fmt_bytes(self.activations)} "
                f"({fmt_bytes(self.activations_per_image)} per image x {self.batch}) + workspace "
                f"{fmt_bytes(self.workspace)}")


def _workspace(device: str, activations: int) -> int:
    if device.startswith("cpu"):
        return 64 * MiB
    return max(256 * MiB, activations // 4)


def estimate(cfg: Config, batch: int, dtype: str = "fp32", device: str = "cpu") -> Estimate:
    prof = count(cfg)
    size = VALUE_BYTES[dtype]
    per_image = (prof.peak_activation_bytes * size) // 4
    act = per_image * batch
    return Estimate(prof.params * size, per_image, batch, _workspace(device, act))


def _cgroup_free(root: Root) -> int | None:
    """Bytes left under a cgroup v2 (or v1) memory limit, None when unlimited or unknown."""
    for limit_path, usage_path in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit, usage = root.read(limit_path), root.read(usage_path)
        if limit and usage and limit.isdigit() and usage.isdigit():
            lim = int(limit)
            if lim >= 1 << 60:  # v1's "no limit"
                return None
            return max(0, lim - int(usage))
    return None


def available(device: str, root=None) -> tuple[int | None, str]:
    """Free bytes for a measurement on ``device`` and where the figure comes from
    (``(None, why)`` when unknown: nothing is refused then)."""
    root = Root(root)
    kind = device.split(":")[0]
    if kind == "cuda":
        import torch

        index = torch.device(device).index or 0
        free, _total = torch.cuda.mem_get_info(index)
        return free, f"free memory on {device} (torch.cuda.mem_get_info)"
    if kind == "mps":
        import torch

        try:
            limit = torch.mps.recommended_max_memory()
            return max(0, limit - torch.mps.driver_allocated_memory()), "MPS recommended working set"
        except (AttributeError, RuntimeError):
            return None, "MPS does not report its free memory"
    meminfo = read_file(root.join("/proc/meminfo")) or ""
    free = None
    for line in meminfo.splitlines():
        if line.startswith("MemAvailable:"):
            try:
                free = int(line.split()[1]) * 1024
            except (IndexError, ValueError):
                free = None
    source = "MemAvailable in /proc/meminfo"
    cg = _cgroup_free(root)
    if cg is not None and (free is None or cg < free):
        free, source = cg, "the container's memory limit (cgroup)"
    if free is None and hasattr(os, "sysconf"):
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            source = "available physical pages"
        except (ValueError, OSError):
            free = None
    if free is None:
        return None, "the free memory of this host is unknown"
    return free, source


def check_fits(cfg: Config, batch: int, dtype: str = "fp32", device: str = "cpu", root=None) -> Estimate:
    """The estimate, or :class:`MemoryRefused` saying why the configuration would not fit."""
    est = estimate(cfg, batch, dtype, device)
    free, source = available(device, root)
    if free is None:
        return est
    room = free * HEADROOM
    if est.total > room:
        per_image = est.activations_per_image * (1 + (0 if device.startswith("cpu") else 0.25))
        fit = int((room - est.weights - _workspace(device, 0)) // max(per_image, 1))
        hint = f"; batch {fit} or less would fit" if fit >= 1 else "; not even batch 1 fits"
        raise MemoryRefused(
            f"refused: {cfg.label} at batch {batch} in {dtype} needs about {fmt_bytes(est.total)} "
            f"({est.describe()}) but {device} has {fmt_bytes(free)} free ({source}), and a "
            f"measurement may use at most {HEADROOM:.0%} of it{hint}")
    return est
