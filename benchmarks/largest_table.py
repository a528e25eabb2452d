"""The largest tables the limits allow (issue 12): what checking, counting, drawing and building
them costs. Goal: every door answers a table within a second and bounded memory; building the
module stays under the 500 M parameter cap (2 GB of fp32 weights).

Each case runs in a fresh process (``python -m lightviz ...`` or a one-line script), timed
from outside, with its peak resident memory from ``os.wait4`` (the child's own rusage). Peer: the
same command on the paper's table, so the figures read as "x times the canonical network".

    python3 benchmarks/largest_table.py [--build]

``--build`` also builds the widest allowed module (about 2 GB of memory, a few seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# 64 blocks, 2048 wide, stride 2 only in the stem: the largest activations (512 px input) and
# 268 M parameters, under the cap; and the most blocks with the most rows for the validator.
WIDE = {"layers": [[1, 2048, 64, 1]]}
ROWS = {"layers": [[1, 8, 1, 1]] * 64}
CASES = [
    ("profile, paper's table", ["profile", "mobilenet_v2", "--resolution", "512", "--format", "json"]),
    ("profile, 64 x 2048 wide", ["profile", "mobilenet_v2", "--resolution", "512", "--format", "json",
                                 "--settings", json.dumps(WIDE)]),
    ("profile, 64 rows", ["profile", "mobilenet_v2", "--resolution", "512", "--format", "json",
                          "--settings", json.dumps(ROWS)]),
    ("diagram, paper's table", ["diagram", "mobilenet_v2", "--resolution", "512"]),
    ("diagram, 64 x 2048 wide", ["diagram", "mobilenet_v2", "--resolution", "512",
                                 "--settings", json.dumps(WIDE)]),
    ("refused, 4096 wide at alpha 2", ["profile", "mobilenet_v2", "--alpha", "2", "--settings",
                                       json.dumps({"layers": [[16, 4096, 64, 1]]})]),
]
BUILD = ("build, 64 x 2048 wide", [
    "-c", "import lightviz; m = lightviz.build('mobilenet_v2', settings=" + repr(WIDE)
    + "); print(sum(p.numel() for p in m.parameters()))"])


def run(args, module=True):
    """(exit status, seconds, peak RSS in KiB, last stderr line) of one fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "lightviz", *args] if module else [sys.executable, *args]
    t = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env=env, cwd=ROOT) as proc:
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - t
    return proc.returncode, elapsed, usage.ru_maxrss, (err.strip().splitlines() or [""])[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", action="store_true")
    args = ap.parse_args()
    cases = [(n, a, True) for n, a in CASES] + ([(BUILD[0], BUILD[1], False)] if args.build else [])
    print(f"{'case':<34} {'exit':>4} {'seconds':>8} {'peak RSS':>10}")
    for name, argv, module in cases:
        code, elapsed, rss, last = run(argv, module)
        mem = f"{rss / 1024:.0f} MiB"
        print(f"{name:<34} {code:>4} {elapsed:>8.2f} {mem:>10}  {last[:60] if code else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
