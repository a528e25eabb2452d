"""Energy per image on a Jetson: an idle baseline, then a steady run, from the INA3221 rails
(:mod:`lightviz.latency.host.rails`), with the module total that rail set allows and the
temperatures before and after (:mod:`lightviz.latency.host.jetson`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from .jetson import thermal_zones, unsupported_reason
from .rails import Rail, RailScan, find_rails, read_power, total_plan
from .sysfs import Root

MIN_RISE = 0.02  # a rise under 2% of the idle power is within the sensors' noise
DEFAULT_SETTLE_S = 5.0  # wait after the latency run before sampling idle (GPU clocks fall back)


class NoPowerSensors(ValueError):
    """No readable INA3221 rail: energy cannot be measured here."""


def require_rails(root=None) -> RailScan:
    """The rails under ``root``, or :class:`NoPowerSensors` saying in one line why there are none
    (an L4T R32 board gets its own line: it cannot run lightviz)."""
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


def _idle_samples(rails: list[Rail], idle_s: float, interval_s: float) -> list:
    """The rails sampled for ``idle_s`` seconds with nothing running."""
    sampler = _Sampler(rails, interval_s)
    sampler.start()
    time.sleep(idle_s)
    return sampler.stop()


def _steady_run(step: Callable[[], None], rails: list[Rail], run_s: float, interval_s: float
                ) -> tuple[int, float, list]:
    """``step`` called back to back for ``run_s`` seconds while the rails are sampled: the steps
    done, the seconds they took and the samples."""
    sampler = _Sampler(rails, interval_s)
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
    return steps, elapsed, load_samples


def _rail_rows(labels: list[str], plan, idle: dict, load: dict, distinct: dict, elapsed: float,
               images: int) -> tuple[list[dict], list[str]]:
    """One row of figures per rail, and a warning for each rail without a valid or steady reading."""
    rows, warnings = [], []
    for label in labels:
        rows.append({"rail": label, "role": plan.roles.get(label, "left out"),
                     **_figures(idle[label], load[label], elapsed, images),
                     "distinct_readings": distinct[label]})
        if idle[label] is None or load[label] is None:
            warnings.append(f"{label}: no valid reading (see the rail's files); left out of the total")
        elif distinct[label] < 10:
            warnings.append(f"{label}: only {distinct[label]} distinct readings in {elapsed:.0f} s; "
                            "run longer for a steadier average")
    return rows, warnings


def _module_total(rows: list[dict], plan, elapsed: float, images: int) -> tuple[dict, list[str]]:
    """The figures of the rails the plan sums (none when one of them has no valid reading), and
    the warnings about the total."""
    warnings = []
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
    return total, warnings


def _heat_warnings(temps_before: dict, temps_after: dict) -> list[str]:
    """A warning when a thermal zone rose by 10 C or more during the run."""
    hot = [f"{k} {temps_before.get(k):.0f}->{v:.0f} C" for k, v in temps_after.items()
           if v is not None and temps_before.get(k) is not None and v - temps_before[k] >= 10]
    if hot:
        return ["temperatures rose by 10 C or more (" + ", ".join(hot) + "): clocks may have throttled"]
    return []


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
    scan = require_rails(root)
    labels = [r.label for r in scan.rails]
    if settle_s > 0:
        time.sleep(settle_s)
    temps_before = thermal_zones(root)
    idle_samples = _idle_samples(scan.rails, idle_s, interval_s)
    steps, elapsed, load_samples = _steady_run(step, scan.rails, run_s, interval_s)
    temps_after = thermal_zones(root)

    idle, _ = _mean_by_rail(idle_samples, labels)
    load, distinct = _mean_by_rail(load_samples, labels)
    images = steps * images_per_step
    plan = total_plan(labels)
    rows, rail_warnings = _rail_rows(labels, plan, idle, load, distinct, elapsed, images)
    total, total_warnings = _module_total(rows, plan, elapsed, images)
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
        "warnings": (list(scan.notes) + rail_warnings + total_warnings
                     + _heat_warnings(temps_before, temps_after)),
    }
