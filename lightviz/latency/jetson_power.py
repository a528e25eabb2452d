"""Jetson power rails and energy per image, read from the INA3221 hwmon files in sysfs.

Formats (mainline ``ina3221`` hwmon driver, JetPack 5 and 6; kernel
``Documentation/hwmon/ina3221.rst``):

* ``/sys/bus/i2c/drivers/ina3221/<bus>-<addr>/hwmon/hwmonN/`` (also ``/sys/class/hwmon/hwmonN``
  with ``name`` = ``ina3221``): ``in[123]_label`` the rail name, ``in[123]_input`` bus voltage in
  mV, ``curr[123]_input`` current in mA; power = mV x mA / 1000 mW. A channel the device tree
  disables has no label and its inputs fail to read; NVIDIA's device trees label unconnected
  channels ``NC`` (AGX Orin's second sensor, channels 1 and 3).
* L4T R32 (JetPack 4) used NVIDIA's older ``ina3221x`` iio driver instead
  (``/sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/iio:deviceN/rail_name_N``); lightviz does not
  read it (see :func:`lightviz.latency.jetson.unsupported_reason`).

Which rails make the module's total (:func:`total_plan`) is decided per rail set, from NVIDIA's
device trees (the Tegra234 power-sensor patch, "arm64: tegra: Add power-sensors for Tegra234
boards", Jon Hunter, 2023) and energymon's ``jetson/JetsonPowerRails.md``:

* Orin Nano, Orin NX, Xavier NX (and TX2 NX, Nano's ``POM_5V_IN``): ``VDD_IN`` is the module's
  input; the other rails are parts of it. This is the figure tegrastats, jtop and energymon
  users quote.
* AGX Orin: no input rail. ``SYS_VIN_HV`` feeds ``VDD_GPU_SOC`` and ``VDD_CPU_CV``;
  ``SYS_VIN_MV`` feeds ``VIN_SYS_5V0``, which in turn feeds ``VDDQ_VDD2_1V8AO`` (energymon,
  citing NVIDIA's forum thread "Jetson AGX Orin INA3221 power monitor layout"). The total is
  the sum of the three branches, as energymon sums it; adding ``VDDQ_VDD2_1V8AO`` would count
  it twice (jtop sums all four). The AGX Orin Industrial adds a carrier-board sensor
  (``CVB_ATX_12V``, ``CVB_ATX_3V3``, ``CVB_ATX_5V``): reported, left out of the module total.
* AGX Xavier: ``GPU CPU SOC CV VDDRQ SYS5V`` are in parallel (energymon): all are summed.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .sysfs import Root, read_file, read_int

INA_GLOBS = (
    "/sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*",
    "/sys/bus/i2c/drivers/ina3221x/*/hwmon/hwmon*",
    "/sys/class/hwmon/hwmon*",
)
IIO_GLOB = "/sys/bus/i2c/drivers/ina3221x/*/iio:device*"
UNCONNECTED = ("", "NC", "N/A")
MIN_RISE = 0.02  # a rise under 2% of the idle power is within the sensors' noise
DEFAULT_SETTLE_S = 5.0  # wait after the latency run before sampling idle (GPU clocks fall back)

# Rails that carry the whole module's input power: when present, the others are parts of it.
INPUT_RAILS = ("VDD_IN", "POM_5V_IN", "5V_IN")
AGX_ORIN_BRANCHES = ("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0")
AGX_ORIN_INSIDE = {"VDDQ_VDD2_1V8AO": "VIN_SYS_5V0"}
AGX_XAVIER_RAILS = ("GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V")
# Carrier-board rails (the module total leaves them out): AGX Orin Industrial's CVB_ATX_*,
# TX1/TX2 devkits' VDD_MUX and friends (energymon's JetsonPowerRails.md).
CARRIER_PREFIXES = ("CVB_", "VDD_MUX", "VDD_5V_IO_SYS", "VDD_5V0_IO_SYS", "VDD_3V3_SYS", "VDD_3V3_IO",
                    "VDD_1V8_IO", "VDD_M2_IN")


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

    rails: list[Rail] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def find_rails(root=None) -> RailScan:
    """Every connected INA3221 channel under ``root``; disabled, unlabelled and ``NC`` channels
    are skipped silently, and a labelled channel whose files are missing with a note."""
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


def iio_sensors(root=None) -> list[str]:
    """The ``ina3221x`` iio devices of L4T R32 (``6-0040/iio:device0``), which lightviz does not read."""
    return [os.path.relpath(p, os.path.dirname(os.path.dirname(p)))
            for p in Root(root).glob(IIO_GLOB)]


def _device_name(hwmon_dir: str) -> str:
    parent = os.path.basename(os.path.dirname(os.path.dirname(hwmon_dir)))
    return parent if re.match(r"^\d+-[0-9a-fA-F]{4}$", parent) else os.path.basename(hwmon_dir)


def read_rail(rail: Rail) -> tuple[float | None, str]:
    """``(milliwatts, "")``, or ``(None, why)`` when a value is missing or malformed."""
    mv = read_int(rail.voltage_path)
    ma = read_int(rail.current_path)
    if mv is None or ma is None:
        bad = [n for n, v in ((os.path.basename(rail.voltage_path), mv),
                              (os.path.basename(rail.current_path), ma)) if v is None]
        return None, f"{rail.label}: {' and '.join(bad)} unreadable or not a number"
    return mv * ma / 1000.0, ""


def read_power(rails: list[Rail]) -> dict[str, float | None]:
    """Milliwatts per rail label now (None where the reading failed)."""
    return {r.label: read_rail(r)[0] for r in rails}


# ---------------------------------------------------------------------------------------------
# Which rails make the module's total
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TotalPlan:
    """The rails summed into the module total, every rail's role, and what the total covers."""

    summed: tuple[str, ...]
    roles: dict[str, str]
    covers: str


def _is_carrier(label: str) -> bool:
    return label.upper().startswith(CARRIER_PREFIXES)


def total_plan(labels) -> TotalPlan:
    """Which rails make the module's total, and why (see the module docstring for sources)."""
    labels = list(labels)
    carrier = [x for x in labels if _is_carrier(x)]
    roles = {x: "carrier board: not in the module total" for x in carrier}
    apart = f"; carrier-board rails {', '.join(carrier)} reported apart" if carrier else ""
    for name in INPUT_RAILS:
        if name in labels:
            inner = [x for x in labels if x != name and x not in carrier]
            roles.update({x: f"inside {name}" for x in inner})
            roles[name] = "the total (module input)"
            inside = f"; inside it: {', '.join(inner)}" if inner else ""
            return TotalPlan((name,), roles, f"{name}: the module's whole input, as tegrastats, jtop "
                                              f"and energymon report it{inside}{apart}")
    if all(x in labels for x in AGX_ORIN_BRANCHES):
        roles.update({x: "summed into the total" for x in AGX_ORIN_BRANCHES})
        extra = []
        for x in labels:
            if x in roles:
                continue
            parent = AGX_ORIN_INSIDE.get(x)
            roles[x] = (f"inside {parent}: not added (it would count twice)" if parent
                        else "left out (not in the AGX Orin rail map)")
            extra.append(x)
        nested = "; VDDQ_VDD2_1V8AO is fed from VIN_SYS_5V0, so it is not added again" \
            if "VDDQ_VDD2_1V8AO" in labels else ""
        return TotalPlan(AGX_ORIN_BRANCHES, roles,
                         "VDD_GPU_SOC + VDD_CPU_CV + VIN_SYS_5V0: AGX Orin has no sensor on its "
                         "input, so the total is its three supply branches (as energymon sums "
                         f"them){nested}; regulator losses on the module are not seen{apart}")
    module = [x for x in labels if x not in carrier]
    if not module:
        return TotalPlan((), roles, "no module power rails" + apart)
    roles.update({x: "summed into the total" for x in module})
    if set(module) == set(AGX_XAVIER_RAILS):
        return TotalPlan(tuple(module), roles, f"sum of {', '.join(module)}: AGX Xavier's rails are in "
                                               f"parallel (energymon), with no input rail{apart}")
    return TotalPlan(tuple(module), roles, f"sum of {', '.join(module)}: a rail set lightviz has no map "
                                           "for; if one rail feeds another it is counted twice" + apart)


def rails_total(labels) -> tuple[str | None, str]:
    """``(input rail label, covers)``; the label is None when the total is a sum of rails."""
    plan = total_plan(labels)
    single = plan.summed[0] if len(plan.summed) == 1 and plan.summed[0] in INPUT_RAILS else None
    return single, plan.covers


# ---------------------------------------------------------------------------------------------
# Energy per image
# ---------------------------------------------------------------------------------------------


class NoPowerSensors(ValueError):
    """No readable INA3221 rail: energy cannot be measured here."""


def require_rails(root=None) -> RailScan:
    """The rails under ``root``, or :class:`NoPowerSensors` saying in one line why there are none
    (an L4T R32 board gets its own line: it cannot run lightviz)."""
    from .jetson import unsupported_reason

    scan = find_rails(root)
    if not scan.rails:
        reason = unsupported_reason(root)
        if reason:
            raise NoPowerSensors(reason)
        where = Root(root).join("/sys/bus/i2c/drivers/ina3221")
        raise NoPowerSensors(f"no readable INA3221 power rail under {where}: energy needs a Jetson "
                             "(or another board with the ina3221 hwmon driver)"
                             + (f"; {'; '.join(scan.notes)}" if scan.notes else ""))
    return scan


class _Sampler(threading.Thread):
    """Reads every rail every ``interval`` seconds until stopped."""

    def __init__(self, rails: list[Rail], interval: float):
        super().__init__(name="lightviz-power-sampler", daemon=True)
        self.rails, self.interval = rails, interval
        self.samples: list[tuple[float, dict[str, float | None]]] = []
        self._stop_event = threading.Event()

    def run(self):
        while True:  # at least one sample, however short the phase
            self.samples.append((time.monotonic(), read_power(self.rails)))
            if self._stop_event.wait(self.interval):
                break

    def stop(self) -> list[tuple[float, dict[str, float | None]]]:
        self._stop_event.set()
        self.join()
        return self.samples


def _mean_by_rail(samples, labels) -> tuple[dict[str, float | None], dict[str, int]]:
    means, distinct = {}, {}
    for label in labels:
        values = [s[label] for _, s in samples if s.get(label) is not None]
        means[label] = math.fsum(values) / len(values) if values else None
        distinct[label] = len(set(values))
    return means, distinct


def _figures(idle: float | None, load: float | None, seconds: float, images: int) -> dict:
    """Full (load power x time / images) and rise over idle ((load - idle) x time / images)."""
    rise = None if idle is None or load is None else load - idle

    def per(mw):
        return None if mw is None or not images else mw * seconds / images

    return {"idle_mw": idle, "load_mw": load, "rise_mw": rise,
            "full_mj_per_image": per(load), "rise_mj_per_image": per(rise)}


def measure_energy(step: Callable[[], None], images_per_step: int, root=None,
                   idle_s: float = 5.0, run_s: float = 30.0, interval_s: float = 0.05,
                   settle_s: float = DEFAULT_SETTLE_S) -> dict:
    """Energy per image from the INA3221 rails, both as Jetson users quote it and as the rise
    over idle.

    1. Settle: wait ``settle_s`` seconds with nothing running, so the GPU and CPU clocks that the
       latency run raised fall back (DVFS) before the baseline.
    2. Idle baseline: sample the rails for ``idle_s`` seconds.
    3. Steady run: call ``step`` (one synchronised inference of ``images_per_step`` images)
       back to back for ``run_s`` seconds while a thread samples the rails.
    4. Per rail and for the module total (:func:`total_plan`):
       ``full_mj_per_image`` = mean loaded power x run time / images (the module's whole draw,
       what tegrastats, jtop and energymon users quote) and ``rise_mj_per_image`` = (loaded -
       idle) x run time / images (what the inference adds to an idle board).

    The rails' sensors average over their conversion window and the driver caches readings, so
    short runs see few distinct values: the result warns when a rail changed fewer than 10
    times. Temperatures are recorded before and after (throttling raises latency).
    """
    from .jetson import thermal_zones

    scan = require_rails(root)
    labels = [r.label for r in scan.rails]
    warnings = list(scan.notes)
    if settle_s > 0:
        time.sleep(settle_s)
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
    plan = total_plan(labels)
    rows = []
    for label in labels:
        rows.append({"rail": label, "role": plan.roles.get(label, "left out"),
                     **_figures(idle[label], load[label], elapsed, images),
                     "distinct_readings": distinct[label]})
        if idle[label] is None or load[label] is None:
            warnings.append(f"{label}: no valid reading (see the rail's files); left out of the total")
        elif distinct[label] < 10:
            warnings.append(f"{label}: only {distinct[label]} distinct readings in {elapsed:.0f} s; "
                            "run longer for a steadier average")
    summed = [r for r in rows if r["rail"] in plan.summed]
    valid = [r for r in summed if r["rise_mw"] is not None]
    missing = [r["rail"] for r in summed if r["rise_mw"] is None]
    if valid and not missing:
        total = _figures(math.fsum(r["idle_mw"] for r in valid), math.fsum(r["load_mw"] for r in valid),
                         elapsed, images)
    else:
        total = _figures(None, None, elapsed, images)
        if missing:
            warnings.append(f"no module total: {', '.join(missing)} gave no valid reading")
    total["rails"] = list(plan.summed)
    if total["rise_mw"] is not None and total["rise_mw"] <= MIN_RISE * (total["idle_mw"] or 0):
        warnings.append(f"the load did not raise the power above idle by {MIN_RISE:.0%} or more "
                        f"({total['rise_mw']:+.0f} mW): the model is too small for the sensors, or "
                        "something else loaded the board during the baseline")
    hot = [f"{k} {temps_before.get(k):.0f}->{v:.0f} C" for k, v in temps_after.items()
           if v is not None and temps_before.get(k) is not None and v - temps_before[k] >= 10]
    if hot:
        warnings.append("temperatures rose by 10 C or more (" + ", ".join(hot) + "): clocks may have throttled")
    return {
        "rails": rows,
        "total": total,
        "covers": plan.covers,
        "inferences": images,
        "steps": steps,
        "run_s": elapsed,
        "settle_s": settle_s,
        "idle_s": idle_s,
        "samples": {"idle": len(idle_samples), "load": len(load_samples)},
        "throughput_ips": images / elapsed if elapsed > 0 else None,
        "temperatures_before": temps_before,
        "temperatures_after": temps_after,
        "warnings": warnings,
    }
