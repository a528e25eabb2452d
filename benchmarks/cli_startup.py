"""How fast do the commands that do not measure start? Each read-only ``lightviz`` command, run
as a fresh process, beside the bare import-and-count it cannot beat, timed in the same run and
interleaved (so a busy moment of a shared machine hits both alike).

    python3 benchmarks/cli_startup.py [--runs N]

The floor: ``python -c "import lightviz; lightviz.profile('mobilenet_v2').layers"`` (Python's
start, lightviz and pandas imported, one profile counted and its table built). Goal (issue 13,
point 6): every command at most 1.3x the floor (median of N runs), and none imports torch: a
machine without torch can still list, profile, draw and compute the DSC lesson.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.3
FLOOR = ["-c", "import lightviz; lightviz.profile('mobilenet_v2').layers"]
COMMANDS = {
    "profile --format json": ["profile", "mobilenet_v2", "--format", "json"],
    "profile (table)": ["profile", "mobilenet_v2"],
    "list": ["list"],
    "diagram": ["diagram", "mobilenet_v2"],
    "dsc": ["dsc", "--kernel", "3", "--in", "512", "--out", "512", "--size", "14"],
}


def once(args) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def torch_free(args) -> bool:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, check=True)
    return not any(line.rsplit("|", 1)[-1].strip() == "torch" for line in r.stderr.splitlines())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, 1-minute load {load:.2f}; "
          f"median of {args.runs} interleaved runs")
    runs = {"floor": [], **{name: [] for name in COMMANDS}}
    for _ in range(args.runs):
        runs["floor"].append(once(FLOOR))
        for name, argv in COMMANDS.items():
            runs[name].append(once(["-m", "lightviz", *argv]))
    floor = statistics.median(runs["floor"])
    print(f"{'import lightviz + profile().layers':<36} {floor * 1e3:7.0f} ms   (the floor)")
    worst = 0.0
    for name, argv in COMMANDS.items():
        med = statistics.median(runs[name])
        ratio = med / floor
        worst = max(worst, ratio)
        free = "no torch" if torch_free(["-m", "lightviz", *argv]) else "IMPORTS TORCH"
        print(f"lightviz {name:<27} {med * 1e3:7.0f} ms   {ratio:4.2f}x the floor   {free}")
    print(f"worst {worst:.2f}x (goal at most {GOAL:g}x); load now "
          f"{os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan'):.2f}")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
