"""The same networks on the runtimes people deploy with, on this CPU, in one run.

    python3 benchmarks/runtimes.py [--threads N] [--budget S] [--rounds R] [--resolution PX]
                                   [--archs a,b,c,d] [--runtimes torch,onnxruntime]
                                   [--format table|json]

For each architecture (default four at 224 px, width 1.0), lightviz's median latency with
``--runtime torch`` (eager), ``torch-compile`` (inductor) and ``onnxruntime``, each through the
same protocol (lightviz.latency.Bench), with the ratio of each to eager. Beside lightviz's
onnxruntime median: ONNX Runtime timed directly, a plain ``time.perf_counter`` loop around
``InferenceSession.run`` on the file ``lightviz export`` writes for the same configuration (same
seed, opset 17, the same session options: intra-op threads = --threads, inter-op 1, sequential,
all graph optimisations). The two alternate over --rounds rounds (lightviz first, then direct
first) so that a drift of the shared host hits both; the figure is the median of the per-round
ratios. Goal (issue 11): lightviz's onnxruntime median within 5% of the direct one.

The machine's 1-minute load (``os.getloadavg``, what ``uptime`` prints) is shown before and after:
on a shared host, quote the figures with it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from lightviz import make_config  # noqa: E402
from lightviz.exporter import export  # noqa: E402
from lightviz.latency import Bench, make_setup  # noqa: E402
from lightviz.latency.host.passport import passport, summary  # noqa: E402
from lightviz.latency.runtimes import unavailable  # noqa: E402

ARCHS = ("mobilenet_v2", "shufflenet_v2", "ghostnet", "resnet18")
RUNTIMES = ("torch", "torch-compile", "onnxruntime")
GOAL = 0.05


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def direct_ort_ms(path: str, resolution: int, threads: int, budget_s: float) -> float:
    """ONNX Runtime on ``path`` with the adapter's session options, timed by a bare loop:
    warm-up a fifth of the budget (at least 2 calls), then per-call perf_counter samples."""
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: np.random.default_rng(0).standard_normal(
        (1, 3, resolution, resolution), dtype=np.float32)}
    t_end = time.perf_counter() + budget_s * 0.2
    n = 0
    while n < 2 or time.perf_counter() < t_end:
        sess.run(None, feed)
        n += 1
    samples = []
    t_end = time.perf_counter() + budget_s * 0.8
    while len(samples) < 5 or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        sess.run(None, feed)
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--budget", type=float, default=2.0, help="seconds per measurement")
    ap.add_argument("--rounds", type=int, default=4, help="onnxruntime: lightviz vs direct rounds")
    ap.add_argument("--resolution", type=int, default=224)
    ap.add_argument("--archs", default=",".join(ARCHS))
    ap.add_argument("--runtimes", default=",".join(RUNTIMES),
                    help="a subset of torch,torch-compile,onnxruntime (torch is always measured)")
    ap.add_argument("--format", choices=("table", "json"), default="table")
    args = ap.parse_args(argv)

    asked = {"torch", *args.runtimes.split(",")}
    runtimes = [r for r in RUNTIMES if r in asked and unavailable(r, "cpu") is None]
    skipped = {r: unavailable(r, "cpu") for r in RUNTIMES if r in asked and r not in runtimes}
    load_before = load()
    started = time.time()
    rows = []
    tmp = tempfile.TemporaryDirectory(prefix="lightviz-bench-")
    for arch in args.archs.split(","):
        cfg = make_config(arch, 1.0, resolution=args.resolution)
        row = {"arch": arch, "label": cfg.label}
        bench = Bench(max_hold_s=float("inf"))
        try:
            for rt in runtimes:
                setup = make_setup("cpu", threads=args.threads, budget_s=args.budget, runtime=rt)
                r = bench.run(cfg, setup)
                row[rt] = {"median_ms": r.median_ms, "iqr_ms": r.iqr_ms, "runs": r.runs,
                           "cold_ms": r.cold_ms, "version": r.passport["runtime"].get("version")}
            if "onnxruntime" in runtimes:
                path = os.path.join(tmp.name, f"{arch}.onnx")
                export(cfg, path)  # seed 0, opset 17: what the bench's adapter runs
                setup = make_setup("cpu", threads=args.threads, budget_s=args.budget, runtime="onnxruntime")
                ours, theirs, ratios = [], [], []
                for i in range(args.rounds):
                    if i % 2 == 0:
                        a = bench.run(cfg, setup).median_ms
                        b = direct_ort_ms(path, args.resolution, args.threads, args.budget)
                    else:
                        b = direct_ort_ms(path, args.resolution, args.threads, args.budget)
                        a = bench.run(cfg, setup).median_ms
                    ours.append(a)
                    theirs.append(b)
                    ratios.append(a / b)
                row["ort_check"] = {"lightviz_ms": statistics.median(ours),
                                    "direct_ms": statistics.median(theirs),
                                    "ratio": statistics.median(ratios), "rounds": args.rounds}
        finally:
            bench.release()
        eager = row["torch"]["median_ms"]
        for rt in runtimes:
            row[rt]["vs_eager"] = row[rt]["median_ms"] / eager
        rows.append(row)
        if args.format == "table":
            print(f"  done {cfg.label} (load {load()})", file=sys.stderr)
    tmp.cleanup()
    out = {"threads": args.threads, "resolution": args.resolution, "budget_s": args.budget,
           "load_before": load_before, "load_after": load(), "elapsed_s": time.time() - started,
           "runtimes": runtimes, "skipped": skipped, "rows": rows,
           "passport": summary(passport("cpu", args.threads))}
    if args.format == "json":
        print(json.dumps(out, indent=1))
        return 0
    head = f"{'network':<24}" + "".join(f"{rt + ' ms':>18}" for rt in runtimes)
    head += f"{'ORT direct ms':>15}{'lightviz/direct':>17}"
    print(head)
    for row in rows:
        line = f"{row['label']:<24}"
        for rt in runtimes:
            c = row[rt]
            line += f"{c['median_ms']:>9.2f} ({c['vs_eager']:>4.2f}x)" + " " * 2
        chk = row.get("ort_check")
        if chk:
            ok = "ok" if abs(chk["ratio"] - 1) <= GOAL else "OFF"
            line += f"{chk['direct_ms']:>15.2f}{chk['ratio']:>13.3f} {ok:>3}"
        print(line)
    print(f"\nmedian ms (ratio to eager torch), 1 image, fp32, {args.threads} thread(s), "
          f"{args.budget:g} s per measurement; torch-compile's cold call (compilation) apart: "
          + (", ".join(f"{r['label']} {r['torch-compile']['cold_ms'] / 1e3:.1f} s" for r in rows
                       if "torch-compile" in r) or "not measured"))
    print(f"lightviz/direct: median over {args.rounds} alternating rounds of lightviz's "
          f"onnxruntime median / a bare perf_counter loop on the exported file (goal within {GOAL:.0%})")
    for rt, why in skipped.items():
        print(f"skipped {rt}: {why}")
    print(f"load (1/5/15 min) before {load_before}, after {out['load_after']}; "
          f"{out['elapsed_s']:.0f} s; {out['passport']}")
    print(f"versions: torch {torch.__version__}" + "".join(
        f", {rt} {rows[0][rt]['version']}" for rt in runtimes if rt != "torch" and rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
