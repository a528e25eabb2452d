"""Jetson power rails, read from the INA3221 hwmon files in sysfs, and which of them make the
module's total.

Formats (mainline ``ina3221`` hwmon driver, JetPack 5 and 6; kernel
``Documentation/hwmon/ina3221.rst``):

* ``/sys/bus/i2c/drivers/ina3221/<bus>-<addr>/hwmon/hwmonN/`` (also ``/sys/class/hwmon/hwmonN``
  with ``name`` = ``ina3221``): ``in[123]_label`` the rail name, ``in[123]_input`` bus voltage in
  mV, ``curr[123]_input`` current in mA; power = mV x mA / 1000 mW. A channel the device tree
  disables has no label and its inputs fail to read; NVIDIA's device trees label unconnected
  channels ``NC`` (AGX Orin's second sensor, channels 1 and 3).
* L4T R32 (JetPack 4) used NVIDIA's older ``ina3221x`` iio driver instead
  (``/sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/iio:deviceN/rail_name_N``); lightviz does not
  read it (see :func:`lightviz.latency.host.jetson.unsupported_reason`).

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

import os
import re
from dataclasses import dataclass, field

from .sysfs import Root, read_file, read_int

INA_GLOBS = (
    "/sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*",
    "/sys/bus/i2c/drivers/ina3221x/*/hwmon/hwmon*",
    "/sys/class/hwmon/hwmon*",
)
IIO_GLOB = "/sys/bus/i2c/drivers/ina3221x/*/iio:device*"
UNCONNECTED = ("", "NC", "N/A")

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
