"""lightviz's latency median beside torch.utils.benchmark.Timer's, on the CPU, same run.

For each architecture, one Bench prepares the model (built from the spec, BN calibrated, eval,
inference mode) and measures it with the lightviz protocol; then Timer(...).blocked_autorange()
times the very same prepared call with the same thread count. The two alternate over several
rounds (lightviz first, then Timer first) so drift on a shared machine hits both; the table shows
each side's median over the rounds, and the median of the per-round ratios (each round's two
measurements are back to back, so a slow drift of the host's load cancels in that ratio).
Goal: within 5%.

    python3 benchmarks/latency_vs_timer.py [--threads N] [--budget S] [--rounds R] [--resolution PX]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch.utils.benchmark import Timer  # noqa: E402

from lightviz import make_config  # noqa: E402
from lightviz.latency import Bench, make_setup  # noqa: E402
from lightviz.latency.host.cpu import usable_cores  # noqa: E402
from lightviz.latency.host.passport import host_load, passport, summary  # noqa: E402

ARCHS = ("mobilenet_v2", "resnet18", "ghostnet")


def timer_median_ms(fn, threads: int, min_run_time: float) -> float:
    def call():
        with torch.inference_mode():
            fn()

    t = Timer(stmt="call()", globals={"call": call}, num_threads=threads)
    return t.blocked_autorange(min_run_time=min_run_time).median * 1e3


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=min(torch.get_num_threads(), usable_cores()))
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per measurement, each side")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--resolution", type=int, default=224)
    ap.add_argument("--archs", default=",".join(ARCHS))
    args = ap.parse_args(argv)

    setup = make_setup("cpu", threads=args.threads, budget_s=args.budget)
    print(f"# {summary(passport('cpu', args.threads))}")
    print(f"# {args.rounds} rounds, {args.budget:g} s per measurement, {args.threads} threads, "
          f"input {args.resolution}x{args.resolution}, batch 1, fp32")
    print(f"{'arch':<14} {'lightviz ms':>12} {'Timer ms':>10} {'ratio':>7} {'paired':>7}  "
          f"{'lightviz rounds':<34} Timer rounds")
    worst = 0.0
    for arch in args.archs.split(","):
        cfg = make_config(arch, 1.0, resolution=args.resolution)
        bench = Bench()
        ours, theirs = [], []
        torch.set_num_threads(args.threads)
        for i in range(args.rounds):
            order = ("lightviz", "timer") if i % 2 == 0 else ("timer", "lightviz")
            for side in order:
                if side == "lightviz":
                    ours.append(bench.run(cfg, setup).median_ms)
                else:
                    if bench.forward is None:
                        bench.run(cfg, setup)
                    theirs.append(timer_median_ms(bench.forward, args.threads, args.budget))
        bench.release()
        a, b = statistics.median(ours), statistics.median(theirs)
        paired = statistics.median(x / y for x, y in zip(ours, theirs))
        worst = max(worst, abs(paired - 1))
        print(f"{arch:<14} {a:12.3f} {b:10.3f} {a / b:7.3f} {paired:7.3f}  "
              f"{' '.join(f'{x:.2f}' for x in ours):<34} {' '.join(f'{x:.2f}' for x in theirs)}")
    print(f"# largest paired deviation {worst:.1%} (goal: within 5%); 1-minute load now {host_load()}")
    return 0


if __name__ == "__main__":
    t0 = time.time()
    rc = main()
    print(f"# {time.time() - t0:.0f} s")
    sys.exit(rc)
