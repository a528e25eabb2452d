"""NVIDIA Jetson: identity, power mode, clocks, temperatures and INA3221 power rails, read from
sysfs and /etc through a configurable :class:`~lightviz.latency.sysfs.Root` (no jtop: it is
AGPL-3.0, and these are a handful of text files).

Formats (mainline ``ina3221`` hwmon driver, as on JetPack 5 and 6):

* ``/sys/bus/i2c/drivers/ina3221/<bus-addr>/hwmon/hwmonN/`` (also reachable as
  ``/sys/class/hwmon/hwmonN`` with ``name`` = ``ina3221``): ``in[123]_label`` the rail name,
  ``in[123]_input`` bus voltage in mV, ``curr[123]_input`` current in mA. A disabled channel
  has no label (or ``NC``) and its inputs fail to read. Power = mV x mA / 1000 mW.
* ``/sys/devices/virtual/thermal/thermal_zoneN/{type,temp}``: temperature in milli-degrees C;
  zones of powered-down engines fail with EAGAIN.
* ``/proc/device-tree/model`` (NUL-terminated), ``/etc/nv_tegra_release``
  (``# R36 (release), REVISION: 4.0, ...``), ``/var/lib/nvpmodel/status`` (``pmode:0002``)
  with the names in ``/etc/nvpmodel.conf`` (``< POWER_MODEL ID=2 NAME=MAXN_SUPER >``).

Which rails exist depends on the module: an Orin Nano has one INA3221 (VDD_IN, the module's
input, plus VDD_CPU_GPU_CV and VDD_SOC inside it); an AGX Orin has two (VDD_GPU_SOC,
VDD_CPU_CV, VIN_SYS_5V0 and VDDQ_VDD2_1V8AO) and no input rail, so its total is the sum of its
rails and leaves the carrier board out. :func:`rails_total` says which case applies.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .sysfs import Root, read_file, read_int

INA_GLOBS = (
    "/sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*",
    "/sys/bus/i2c/drivers/ina3221x/*/hwmon/hwmon*",
    "/sys/class/hwmon/hwmon*",
)
THERMAL_GLOBS = ("/sys/devices/virtual/thermal/thermal_zone*", "/sys/class/thermal/thermal_zone*")
# Rails that carry the whole module's input power: when present, the others are parts of it.
INPUT_RAILS = ("VDD_IN", "POM_5V_IN", "5V_IN")
UNCONNECTED = ("", "NC", "N/A")
MIN_RISE = 0.02  # a rise under 2% of the idle power is within the sensors' noise
# L4T release -> JetPack (NVIDIA's release notes); other releases are shown as L4T only.
JETPACK = {
    "35.3.1": "5.1.1", "35.4.1": "5.1.2", "35.5.0": "5.1.3", "35.6.0": "5.1.4",
    "36.2.0": "6.0 DP", "36.3.0": "6.0", "36.4.0": "6.1", "36.4.3": "6.2", "36.4.4": "6.2.1",
}


@dataclass(frozen=True)
class Rail:
    """One INA3221 channel: its label and the files that give its voltage and current."""

    label: str
    device: str  # the I2C device (``1-0040``) or hwmon name
    channel: int
    voltage_path: str
    current_path: str


@dataclass
class RailScan:
    """The rails found under a root, and what was skipped and why."""

    rails: List[Rail] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def find_rails(root=None) -> RailScan:
    """Every connected INA3221 channel under ``root``; disabled or unlabelled channels are
    skipped, and a channel whose files are missing is skipped with a note."""
    scan = RailScan()
    for pattern, hw in Root(root).glob_unique(INA_GLOBS):
        if pattern.startswith("/sys/class/") and read_file(os.path.join(hw, "name")) not in ("ina3221", "ina3221x"):
            continue  # another hwmon driver
        device = _device_name(hw)
        for ch in (1, 2, 3):
            label = (read_file(os.path.join(hw, f"in{ch}_label"))
                     or read_file(os.path.join(hw, f"curr{ch}_label")) or "")
            if label.upper() in UNCONNECTED:
                continue
            volt = os.path.join(hw, f"in{ch}_input")
            curr = os.path.join(hw, f"curr{ch}_input")
            missing = [os.path.basename(p) for p in (volt, curr) if not os.path.exists(p)]
            if missing:
                scan.notes.append(f"{label} ({device} channel {ch}): {' and '.join(missing)} missing, rail skipped")
                continue
            scan.rails.append(Rail(label, device, ch, volt, curr))
    return scan


def _device_name(hwmon_dir: str) -> str:
    parent = os.path.basename(os.path.dirname(os.path.dirname(hwmon_dir)))
    return parent if re.match(r"^\d+-[0-9a-fA-F]{4}$", parent) else os.path.basename(hwmon_dir)


def read_rail(rail: Rail) -> Tuple[Optional[float], str]:
    """``(milliwatts, "")``, or ``(None, why)`` when a value is missing or malformed."""
    mv = read_int(rail.voltage_path)
    ma = read_int(rail.current_path)
    if mv is None or ma is None:
        bad = [n for n, v in ((os.path.basename(rail.voltage_path), mv),
                              (os.path.basename(rail.current_path), ma)) if v is None]
        return None, f"{rail.label}: {' and '.join(bad)} unreadable or not a number"
    return mv * ma / 1000.0, ""


def read_power(rails: List[Rail]) -> Dict[str, Optional[float]]:
    """Milliwatts per rail label now (None where the reading failed)."""
    return {r.label: read_rail(r)[0] for r in rails}


def rails_total(labels) -> Tuple[Optional[str], str]:
    """Which reading is the total and what it covers: ``(input rail label, description)``;
    the label is None when the total is the sum of all rails."""
    labels = list(labels)
    for name in INPUT_RAILS:
        if name in labels:
            inner = [x for x in labels if x != name]
            inside = f"; inside it: {', '.join(inner)}" if inner else ""
            return name, f"{name}: the module's input power{inside}"
    if not labels:
        return None, "no power rails"
    return None, (f"sum of {', '.join(labels)}: this module has no input rail, so the total "
                  "leaves out what no sensor sees (the carrier board, regulators' losses)")


def thermal_zones(root=None) -> Dict[str, Optional[float]]:
    """Degrees C per thermal zone type (None for a zone that cannot be read, e.g. a powered-down
    engine). Duplicate types get a ``#N`` suffix."""
    temps: Dict[str, Optional[float]] = {}
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


def l4t_release(root=None) -> Optional[str]:
    """``R36.4.0`` from ``/etc/nv_tegra_release``, with the JetPack version when known."""
    text = Root(root).read("/etc/nv_tegra_release")
    if not text:
        return None
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    if not m:
        return f"unrecognised ({text.splitlines()[0][:60]})"
    version = f"{m.group(1)}.{m.group(2).rstrip('.')}"
    jp = JETPACK.get(version)
    return f"R{version}" + (f" (JetPack {jp})" if jp else "")


def nvpmodel_mode(root=None) -> Optional[str]:
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


def clocks_state(root=None) -> dict:
    """Whether ``jetson_clocks`` has locked the clocks at their maximum, from sysfs: it sets
    every CPU's minimum frequency and the GPU's minimum frequency to their maximum.
    ``state`` is "on", "off" or "unknown", with the figures it was judged on."""
    root = Root(root)
    cpus = []
    for d in root.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq"):
        lo, hi = read_int(os.path.join(d, "scaling_min_freq")), read_int(os.path.join(d, "cpuinfo_max_freq"))
        if lo is not None and hi is not None:
            cpus.append((lo, hi))
    gpus = []
    for d in root.glob("/sys/class/devfreq/*"):
        name = os.path.basename(d)
        if not any(k in name for k in ("gpu", "ga10b", "gv11b", "gp10b", "gm20b")):
            continue
        lo, hi = read_int(os.path.join(d, "min_freq")), read_int(os.path.join(d, "max_freq"))
        if lo is not None and hi is not None:
            gpus.append((lo, hi))
    if not cpus and not gpus:
        return {"state": "unknown", "detail": "no cpufreq or GPU devfreq in sysfs"}
    locked = all(lo >= hi for lo, hi in cpus + gpus)
    detail = []
    if cpus:
        detail.append(f"CPU min {min(lo for lo, _ in cpus) / 1e3:.0f} of max {max(hi for _, hi in cpus) / 1e3:.0f} MHz")
    if gpus:
        detail.append(f"GPU min {gpus[0][0] / 1e6:.0f} of max {gpus[0][1] / 1e6:.0f} MHz")
    return {"state": "on" if locked else "off", "detail": "; ".join(detail)}


def jetson_info(root=None) -> Optional[dict]:
    """The Jetson part of a passport, or None on another machine."""
    root = Root(root)
    if not is_jetson(root):
        return None
    scan = find_rails(root)
    return {
        "model": root.read("/proc/device-tree/model"),
        "l4t": l4t_release(root),
        "nvpmodel": nvpmodel_mode(root),
        "jetson_clocks": clocks_state(root),
        "power_rails": [r.label for r in scan.rails],
        "power_total": rails_total([r.label for r in scan.rails])[1],
        "notes": scan.notes,
    }


# ---------------------------------------------------------------------------------------------
# Energy per inference
# ---------------------------------------------------------------------------------------------


class NoPowerSensors(ValueError):
    """No readable INA3221 rail: energy cannot be measured here."""


class _Sampler(threading.Thread):
    """Reads every rail every ``interval`` seconds until stopped."""

    def __init__(self, rails: List[Rail], interval: float):
        super().__init__(name="lightviz-power-sampler", daemon=True)
        self.rails, self.interval = rails, interval
        self.samples: List[Tuple[float, Dict[str, Optional[float]]]] = []
        self._stop_event = threading.Event()

    def run(self):
        while True:  # at least one sample, however short the phase
            self.samples.append((time.monotonic(), read_power(self.rails)))
            if self._stop_event.wait(self.interval):
                break

    def stop(self) -> List[Tuple[float, Dict[str, Optional[float]]]]:
        self._stop_event.set()
        self.join()
        return self.samples


def _mean_by_rail(samples, labels) -> Tuple[Dict[str, Optional[float]], Dict[str, int]]:
    means, distinct = {}, {}
    for label in labels:
        values = [s[label] for _, s in samples if s.get(label) is not None]
        means[label] = math.fsum(values) / len(values) if values else None
        distinct[label] = len(set(values))
    return means, distinct


def require_rails(root=None) -> RailScan:
    """The rails under ``root``, or :class:`NoPowerSensors` saying where none were found."""
    scan = find_rails(root)
    if not scan.rails:
        where = Root(root).join("/sys/bus/i2c/drivers/ina3221")
        raise NoPowerSensors(f"no readable INA3221 power rail under {where}: energy needs a Jetson "
                             "(or another board with the ina3221 hwmon driver)"
                             + (f"; {'; '.join(scan.notes)}" if scan.notes else ""))
    return scan


def measure_energy(step: Callable[[], None], images_per_step: int, root=None,
                   idle_s: float = 5.0, run_s: float = 30.0, interval_s: float = 0.05) -> dict:
    """Energy per inference from the INA3221 rails.

    1. Idle baseline: sample the rails for ``idle_s`` seconds with nothing running.
    2. Steady run: call ``step`` (one synchronised inference of ``images_per_step`` images)
       back to back for ``run_s`` seconds while a thread samples the rails.
    3. Per rail: (mean loaded power - mean idle power) x run time / images = mJ per image.

    The rails' sensors average over their conversion window and the driver caches readings,
    so short runs see few distinct values: the result warns when a rail changed fewer than
    10 times. Temperatures are recorded before and after (throttling raises latency).
    """
    scan = require_rails(root)
    labels = [r.label for r in scan.rails]
    warnings = list(scan.notes)
    temps_before = thermal_zones(root)

    sampler = _Sampler(scan.rails, interval_s)
    sampler.start()
    time.sleep(idle_s)
    idle_samples = sampler.stop()

    sampler = _Sampler(scan.rails, interval_s)
    steps = 0
    sampler.start()
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < run_s:
            step()
            steps += 1
    finally:
        elapsed = time.monotonic() - t0
        load_samples = sampler.stop()
    temps_after = thermal_zones(root)

    idle, _ = _mean_by_rail(idle_samples, labels)
    load, distinct = _mean_by_rail(load_samples, labels)
    images = steps * images_per_step
    total_label, covers = rails_total(labels)
    rows = []
    for label in labels:
        i, ld = idle[label], load[label]
        delta = None if i is None or ld is None else ld - i
        rows.append({
            "rail": label,
            "idle_mw": i,
            "load_mw": ld,
            "delta_mw": delta,
            "mj_per_inference": None if delta is None or not images else delta * elapsed / images,
            "distinct_readings": distinct[label],
            "role": ("the total (module input)" if label == total_label
                     else f"inside {total_label}" if total_label
                     else "summed into the total" if delta is not None else "left out"),
        })
        if i is None or ld is None:
            warnings.append(f"{label}: no valid reading (see the rail's files); left out of the total")
        elif distinct[label] < 10:
            warnings.append(f"{label}: only {distinct[label]} distinct readings in {elapsed:.0f} s; "
                            "run longer for a steadier average")
    if total_label is not None:
        total_row = next(r for r in rows if r["rail"] == total_label)
        total = {k: total_row[k] for k in ("idle_mw", "load_mw", "delta_mw", "mj_per_inference")}
    else:
        valid = [r for r in rows if r["delta_mw"] is not None]
        total = {k: sum(r[k] for r in valid) if valid else None
                 for k in ("idle_mw", "load_mw", "delta_mw")}
        total["mj_per_inference"] = (total["delta_mw"] * elapsed / images
                                     if valid and images else None)
    if total.get("delta_mw") is not None and total["delta_mw"] <= MIN_RISE * (total.get("idle_mw") or 0):
        warnings.append(f"the load did not raise the power above idle by {MIN_RISE:.0%} or more "
                        f"({total['delta_mw']:+.0f} mW): the model is too small for the sensors, or "
                        "something else loaded the board during the baseline")
    hot = [f"{k} {temps_before.get(k):.0f}->{v:.0f} C" for k, v in temps_after.items()
           if v is not None and temps_before.get(k) is not None and v - temps_before[k] >= 10]
    if hot:
        warnings.append("temperatures rose by 10 C or more (" + ", ".join(hot) + "): clocks may have throttled")
    return {
        "rails": rows,
        "total": total,
        "covers": covers,
        "inferences": images,
        "steps": steps,
        "run_s": elapsed,
        "idle_s": idle_s,
        "samples": {"idle": len(idle_samples), "load": len(load_samples)},
        "throughput_ips": images / elapsed if elapsed > 0 else None,
        "temperatures_before": temps_before,
        "temperatures_after": temps_after,
        "warnings": warnings,
    }
