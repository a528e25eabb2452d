"""NVIDIA Jetson: identity, L4T/JetPack release, power mode, ``jetson_clocks`` state and
temperatures, read from sysfs and /etc through a configurable :class:`~lightviz.latency.host.sysfs.Root`
(no jtop: it is AGPL-3.0, and these are a handful of text files). The power rails are read in
:mod:`lightviz.latency.host.rails`, energy per image in :mod:`lightviz.latency.host.energy`.

Formats:

* ``/sys/devices/virtual/thermal/thermal_zoneN/{type,temp}``: temperature in milli-degrees C;
  zones of powered-down engines fail with EAGAIN.
* ``/proc/device-tree/model`` (NUL-terminated), ``/etc/nv_tegra_release``
  (``# R36 (release), REVISION: 4.3, ...``), ``/var/lib/nvpmodel/status`` (``pmode:0002``)
  with the names in ``/etc/nvpmodel.conf`` (``< POWER_MODEL ID=2 NAME=MAXN_SUPER >``).
* ``/sys/devices/system/cpu/cpuN/{online,cpufreq/scaling_min_freq,scaling_max_freq,
  cpuinfo_max_freq}`` (kHz) and the GPU's devfreq ``min_freq``/``max_freq`` (Hz):
  ``17000000.gpu`` (JetPack 6), ``17000000.ga10b`` (Orin, JetPack 5), ``17000000.gv11b`` (Xavier).

``jetson_clocks`` (NVIDIA's script) copies each online CPU's ``scaling_max_freq`` (the current
power mode's cap, not the silicon's ``cpuinfo_max_freq``) into ``scaling_min_freq`` and sets the
GPU's devfreq ``min_freq`` to its ``max_freq``; :func:`clocks_state` judges it the same way.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from .rails import find_rails, iio_sensors, total_plan
from .sysfs import Root, read_file, read_int

THERMAL_GLOBS = ("/sys/devices/virtual/thermal/thermal_zone*", "/sys/class/thermal/thermal_zone*")
GPU_DEVFREQ = ("gpu", "ga10b", "gv11b", "gp10b", "gm20b")
# L4T release -> JetPack. Sources: NVIDIA's JetPack and Jetson Linux archives
# (docs.nvidia.com/jetson/archives; developer.nvidia.com/embedded/jetpack-sdk-51, -511;
# linux-tegra-r3272), OE4T meta-tegra's release notes (R35.6.1 = JetPack 5.1.5, R32.7.3 = 4.6.3),
# jetson-stats' table (jtop/core/jetson_variables.py: 35.6.2 -> 5.1.5, 36.4.7 -> 6.2.1), and
# owners' reports of JetPack 6.2.2 as Jetson Linux 36.5.0. Other releases print their family.
JETPACK = {
    "32.7.1": "4.6.1", "32.7.2": "4.6.2", "32.7.3": "4.6.3",
    "35.1.0": "5.0.2", "35.2.1": "5.1", "35.3.1": "5.1.1", "35.4.1": "5.1.2", "35.5.0": "5.1.3",
    "35.6.0": "5.1.4", "35.6.1": "5.1.5", "35.6.2": "5.1.5",
    "36.2.0": "6.0 DP", "36.3.0": "6.0", "36.4.0": "6.1", "36.4.3": "6.2", "36.4.4": "6.2.1",
    "36.4.7": "6.2.1", "36.5.0": "6.2.2",
}
JETPACK_FAMILY = {32: "4", 34: "5.0 DP", 35: "5", 36: "6", 38: "7", 39: "7"}



def thermal_zones(root=None) -> dict[str, float | None]:
    """Degrees C per thermal zone type (None for a zone that cannot be read, e.g. a powered-down
    engine). Duplicate types get a ``#N`` suffix."""
    temps: dict[str, float | None] = {}
    for _, zone in Root(root).glob_unique(THERMAL_GLOBS):
        name = read_file(os.path.join(zone, "type")) or os.path.basename(zone)
        milli = read_int(os.path.join(zone, "temp"))
        # -40 C and below is how some drivers say "no reading" (e.g. -256000).
        value = None if milli is None or milli <= -40000 else milli / 1000.0
        key, n = name, 2
        while key in temps:
            key, n = f"{name}#{n}", n + 1
        temps[key] = value
    return temps


def is_jetson(root=None) -> bool:
    root = Root(root)
    model = root.read("/proc/device-tree/model") or ""
    return "jetson" in model.lower() or root.exists("/etc/nv_tegra_release")


def l4t_version(root=None) -> str | None:
    """``"36.4.3"`` from ``/etc/nv_tegra_release``, or None when missing or unrecognised."""
    text = Root(root).read("/etc/nv_tegra_release") or ""
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    return f"{m.group(1)}.{m.group(2).rstrip('.')}" if m else None


def jetpack_for(version: str) -> str | None:
    """The JetPack that ships L4T ``version`` ("36.4.7" -> "6.2.1"), or its family
    ("36.9.0" -> "6.x") for a point release missing from the table."""
    if version in JETPACK:
        return JETPACK[version]
    if version.count(".") == 1 and f"{version}.0" in JETPACK:  # "35.1" as written by some releases
        return JETPACK[f"{version}.0"]
    family = JETPACK_FAMILY.get(int(version.split(".")[0]))
    return f"{family}.x" if family and "." not in family else family


def l4t_release(root=None) -> str | None:
    """``R36.4.3 (JetPack 6.2)`` from ``/etc/nv_tegra_release``."""
    text = Root(root).read("/etc/nv_tegra_release")
    if not text:
        return None
    version = l4t_version(root)
    if version is None:
        return f"unrecognised ({text.splitlines()[0][:60]})"
    jp = jetpack_for(version)
    return f"R{version}" + (f" (JetPack {jp})" if jp else "")


def unsupported_reason(root=None) -> str | None:
    """One line when this board cannot run lightviz or its sensors are not supported: L4T R32
    (JetPack 4: Jetson Nano, TX1, TX2) ships Python 3.6 and the older ``ina3221x`` iio sensor
    driver; lightviz needs Python 3.10 and reads the hwmon driver of L4T R35 and later."""
    root = Root(root)
    version = l4t_version(root)
    major = int(version.split(".")[0]) if version else None
    iio = iio_sensors(root)
    if (major is not None and major < 34) or (iio and not find_rails(root).rails):
        model = root.read("/proc/device-tree/model") or "this board"
        release = f"L4T {l4t_release(root)}" if version else "an L4T with the ina3221x iio driver"
        sensors = f"; its power sensors ({', '.join(iio)}) use the ina3221x iio driver, which lightviz does not read" \
            if iio else ""
        return (f"{model} runs {release}: lightviz needs JetPack 5 or later (L4T R35+, hwmon power "
                f"sensors) and Python 3.10; L4T R32 ships Python 3.6{sensors}")
    return None


def nvpmodel_mode(root=None) -> str | None:
    """The active power mode, ``"MAXN_SUPER (mode 2)"``: from the status file nvpmodel writes
    and the names in its configuration; ``nvpmodel -q`` only on the real root as a fallback."""
    root = Root(root)
    status = root.read("/var/lib/nvpmodel/status") or ""
    m = re.search(r"pmode:\s*0*(\d+)", status)
    if m:
        mode = int(m.group(1))
        conf = root.read("/etc/nvpmodel.conf", 1 << 20) or ""
        names = dict((int(i), n) for i, n in re.findall(r"<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=([\w.-]+)", conf))
        return f"{names[mode]} (mode {mode})" if mode in names else f"mode {mode}"
    if root.is_real and shutil.which("nvpmodel"):
        try:
            out = subprocess.run(["nvpmodel", "-q"], capture_output=True, text=True, timeout=3).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        m = re.search(r"NV Power Mode:\s*(\S+)\s*\n\s*(\d+)", out)
        if m:
            return f"{m.group(1)} (mode {m.group(2)})"
    return None


def _mhz(khz: int) -> str:
    return f"{khz / 1e3:.1f}".rstrip("0").rstrip(".")


def _cpu_range(names: list[str]) -> str:
    nums = sorted(int(n[3:]) for n in names)
    runs, start = [], nums[0]
    for a, b in zip(nums, nums[1:] + [None]):
        if b != a + 1:
            runs.append(f"cpu{start}" if start == a else f"cpu{start}-{a}")
            start = b
    return ", ".join(runs)


def _cpu_clocks(root: Root) -> tuple[dict[str, tuple], list[str]]:
    """Each online CPU's (scaling_min_freq, scaling_max_freq, cpuinfo_max_freq) in kHz, and the offline CPUs."""
    cpus, offline = {}, []
    for d in root.glob("/sys/devices/system/cpu/cpu[0-9]*"):
        name = os.path.basename(d)
        if not re.fullmatch(r"cpu\d+", name):
            continue
        if read_int(os.path.join(d, "online")) == 0:  # cpu0 has no "online" file: always online
            offline.append(name)
            continue
        f = os.path.join(d, "cpufreq")
        lo, hi = read_int(os.path.join(f, "scaling_min_freq")), read_int(os.path.join(f, "scaling_max_freq"))
        if lo is not None and hi is not None:
            cpus[name] = (lo, hi, read_int(os.path.join(f, "cpuinfo_max_freq")))
    return cpus, offline


def _gpu_clocks(root: Root) -> dict | None:
    """The first readable GPU devfreq's min and max frequency (Hz), or None."""
    for d in root.glob("/sys/class/devfreq/*"):
        if any(k in os.path.basename(d) for k in GPU_DEVFREQ):
            lo, hi = read_int(os.path.join(d, "min_freq")), read_int(os.path.join(d, "max_freq"))
            if lo is not None and hi is not None:
                return {"device": os.path.basename(d), "min_hz": lo, "max_hz": hi, "locked": lo >= hi}
    return None


def _cpu_detail(cpus: dict[str, tuple], unlocked: list[str], offline: list[str]) -> list[str]:
    """The CPUs' part of the detail line: their minimum against the power mode's cap, and the offline ones."""
    detail = []
    caps = sorted({hi for _, hi, _ in cpus.values()})
    hw = sorted({h for _, _, h in cpus.values() if h})
    cap = "/".join(_mhz(c) for c in caps)
    silicon = f" (silicon max {'/'.join(_mhz(h) for h in hw)} MHz)" if hw and hw != caps else ""
    if unlocked:
        lows = "/".join(_mhz(x) for x in sorted({cpus[n][0] for n in unlocked}))
        detail.append(f"CPU {_cpu_range(unlocked)} min {lows} MHz below the power mode's cap "
                      f"{cap} MHz{silicon}")
    else:
        detail.append(f"CPU {_cpu_range(list(cpus))} min = max = {cap} MHz, the power mode's cap{silicon}")
    if offline:
        detail.append(f"{_cpu_range(offline)} offline (skipped)")
    return detail


def _gpu_detail(gpu: dict | None) -> str:
    """The GPU's part of the detail line."""
    if gpu is None:
        return "GPU devfreq not readable (judged on the CPUs)"
    rel = "=" if gpu["locked"] else "below"
    return f"GPU min {gpu['min_hz'] / 1e6:g} MHz {rel} max {gpu['max_hz'] / 1e6:g} MHz"


def _cpu_figures(cpus: dict[str, tuple], offline: list[str], unlocked: list[str]) -> dict | None:
    """The CPUs' numbers for the passport (kHz), or None when no CPU was readable."""
    return None if not cpus else {
        "online": len(cpus), "offline": offline, "unlocked": unlocked,
        "min_khz": min(lo for lo, _, _ in cpus.values()), "max_khz": max(hi for _, hi, _ in cpus.values()),
        "hw_max_khz": max((h for _, _, h in cpus.values() if h), default=None)}


def _clocks_short(cpu: dict | None, gpu: dict | None, offline: list[str]) -> str:
    """The clocks in a few words: 'CPU min 729.6/max 1510.4 MHz, GPU min .../max ... MHz'."""
    short = []
    if cpu:
        short.append(f"CPU min {_mhz(cpu['min_khz'])}/max {_mhz(cpu['max_khz'])} MHz"
                     + (f", {cpu['online']} online" if offline else ""))
    if gpu:
        short.append(f"GPU min {gpu['min_hz'] / 1e6:g}/max {gpu['max_hz'] / 1e6:g} MHz")
    return ", ".join(short)


def clocks_state(root=None) -> dict:
    """Whether ``jetson_clocks`` has locked the clocks, judged as NVIDIA's script sets them:
    every online CPU's ``scaling_min_freq`` equals its ``scaling_max_freq`` (the power mode's
    cap), offline CPUs skipped, and the GPU's devfreq ``min_freq`` equals its ``max_freq`` where
    readable. ``state`` is "on", "off" or "unknown"; ``detail`` gives the figures it was judged
    on, ``cpu`` and ``gpu`` the numbers (kHz for CPUs, Hz for the GPU)."""
    root = Root(root)
    cpus, offline = _cpu_clocks(root)
    gpu = _gpu_clocks(root)
    if not cpus and gpu is None:
        return {"state": "unknown", "detail": "no cpufreq or GPU devfreq readable in sysfs", "short": "",
                "cpu": None, "gpu": None}
    unlocked = [n for n, (lo, hi, _) in cpus.items() if lo < hi]
    detail = (_cpu_detail(cpus, unlocked, offline) if cpus else []) + [_gpu_detail(gpu)]
    locked = not unlocked and (gpu is None or gpu["locked"])
    cpu = _cpu_figures(cpus, offline, unlocked)
    return {"state": "on" if locked else "off", "detail": "; ".join(detail),
            "short": _clocks_short(cpu, gpu, offline), "cpu": cpu, "gpu": gpu}


def jetson_info(root=None) -> dict | None:
    """The Jetson part of a passport, or None on another machine: the model, release, power
    mode, the clocks' state with its figures, and which rails the power total covers."""
    root = Root(root)
    if not is_jetson(root):
        return None
    scan = find_rails(root)
    labels = [r.label for r in scan.rails]
    plan = total_plan(labels)
    unsupported = unsupported_reason(root)
    return {
        "model": root.read("/proc/device-tree/model"),
        "l4t": l4t_release(root),
        "nvpmodel": nvpmodel_mode(root),
        "jetson_clocks": clocks_state(root),
        "power_rails": labels,
        "power_total_rails": list(plan.summed),
        "power_total": plan.covers,
        "unsupported": unsupported,
        "notes": scan.notes,
    }


# ---------------------------------------------------------------------------------------------
# The board's GPU: what TensorRT can run on it (the natural setups, the int8 refusal)
# ---------------------------------------------------------------------------------------------

# SoC -> (family, GPU, TensorRT int8). Compute capabilities: NVIDIA's CUDA GPU table (Jetson
# Nano 5.3, TX2 6.2, AGX Xavier / Xavier NX 7.2, AGX Orin / Orin NX / Orin Nano 8.7).
SOCS = {
    "tegra210": ("Nano", "Maxwell, compute 5.3", False),
    "tegra186": ("TX2", "Pascal, compute 6.2", False),
    "tegra194": ("Xavier", "Volta, compute 7.2", True),
    "tegra234": ("Orin", "Ampere, compute 8.7", True),
    "tegra264": ("Thor", "Blackwell", True),
}
# Model-name words -> SoC, where the device tree has no compatible list ("Orin Nano" is an Orin).
MODEL_WORDS = (("thor", "tegra264"), ("orin", "tegra234"), ("xavier", "tegra194"),
               ("tx2", "tegra186"), ("nano", "tegra210"), ("tx1", "tegra210"))

@dataclass(frozen=True)
class Board:
    """A Jetson board as sysfs names it: ``model`` (the device tree's), ``soc``
    (``tegra234``), ``family`` (Orin), ``gpu`` and whether TensorRT has an int8 path on it."""

    model: str
    soc: str
    family: str
    gpu: str
    int8: bool


def board_for(model: str, compatible: str = "") -> Board | None:
    """The board of a device-tree ``model`` and ``compatible`` list (NUL- or space-separated),
    None when neither names a known Jetson SoC."""
    socs = [c.split(",", 1)[-1] for c in compatible.replace("\0", " ").split()]
    soc = next((s for s in socs if s in SOCS), None)
    if soc is None:
        soc = next((s for word, s in MODEL_WORDS if word in model.lower()), None)
    if soc is None:
        return None
    family, gpu, int8 = SOCS[soc]
    return Board(model.strip() or f"Jetson {family}", soc, family, gpu, int8)


def jetson_board(root=None) -> Board | None:
    """This machine's Jetson board (or the recorded tree at ``root``), None elsewhere."""
    root = Root(root)
    if not is_jetson(root):
        return None
    return board_for(root.read("/proc/device-tree/model") or "",
                     root.read("/proc/device-tree/compatible") or "")
