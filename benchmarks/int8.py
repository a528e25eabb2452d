"""int8 as deployed: fp32 and int8 ONNX Runtime latency of every architecture, in one run.

    python3 benchmarks/int8.py [--archs a,b] [--small ALPHA@PX] [--threads N] [--rounds R]
                               [--budget S] [--format table|json]

For each architecture at width 1.0 and 224 px, and at one small configuration (default 0.5 @
128 px): the fp32 and the int8 file ``lightviz export`` writes (seed 0; int8: static QDQ,
per-channel int8 weights, 16 random calibration inputs: lightviz.quantize), then

* **latency**: both files in ONNX Runtime with the session options of ``lightviz bench
  --runtime onnxruntime`` (CPU provider, --threads intra-op threads, default 1; inter-op 1,
  sequential, all graph optimisations), timed by a ``time.perf_counter`` loop around
  ``InferenceSession.run`` in --rounds interleaved rounds (fp32 first, then int8 first, ...),
  each a warm-up then --budget seconds of runs; the figure is the median of the per-round medians,
  the speed-up the median of the per-round ratios (so a drift of a shared host hits both);
* **size**: each file's bytes and their ratio;
* **agreement**: the cosine between fp32 and int8 logits on 4 random inputs (N(0, 1), not the
  calibration inputs; random weights), the smallest of the four.

Then, when lightviz.deployment is there, the four deployment-memory figures of issue 20
(MobileNet v2 1.0 @ 224 and 0.35 @ 144, int8, with and without in-place depthwise) beside the
published ones. The machine's 1-minute load is printed before and after: on a shared host quote
the figures with it. int8's speed depends on the CPU (VNNI) and the family: measure, never scale.
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

import numpy as np  # noqa: E402

from lightviz import make_config  # noqa: E402
from lightviz.exporter import export  # noqa: E402
from lightviz.zoo import REGISTRY  # noqa: E402

SMALL = "0.5@128"
AGREEMENT_INPUTS = 4
# Issue 20 / FACTS.md: MCUNet's rule, int8, MobileNet v2 (bytes)
PUBLISHED_MEMORY = (("mobilenet_v2", 1.0, 224, False, 1_505_280), ("mobilenet_v2", 1.0, 224, True, 1_404_928),
                    ("mobilenet_v2", 0.35, 144, False, 311_040), ("mobilenet_v2", 0.35, 144, True, 290_304))


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def session(path: str, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def timed_ms(sess, feed: dict, budget_s: float) -> float:
    """Median ms of one round: warm-up (a fifth of the budget, at least 2 calls), then runs."""
    t_end, n = time.perf_counter() + budget_s * 0.2, 0
    while n < 2 or time.perf_counter() < t_end:
        sess.run(None, feed)
        n += 1
    samples, t_end = [], time.perf_counter() + budget_s
    while len(samples) < 5 or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        sess.run(None, feed)
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def cosine(a, b) -> float:
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def measure(cfg, threads: int, rounds: int, budget_s: float, tmp: str) -> dict:
    f = export(cfg, os.path.join(tmp, "fp32.onnx"))
    q = export(cfg, os.path.join(tmp, "int8.onnx"), dtype="int8")
    s32, s8 = session(f.path, threads), session(q.path, threads)
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal(f.input_shape, dtype=np.float32) for _ in range(AGREEMENT_INPUTS)]
    agree = min(cosine(s32.run(None, {"input": x})[0], s8.run(None, {"input": x})[0]) for x in inputs)
    feed = {"input": inputs[0]}
    fp32, int8 = [], []
    for r in range(rounds):
        order = ((s32, fp32), (s8, int8)) if r % 2 == 0 else ((s8, int8), (s32, fp32))
        for sess, out in order:
            out.append(timed_ms(sess, feed, budget_s))
    return {"label": cfg.label, "arch": cfg.arch, "alpha": cfg.alpha, "resolution": cfg.resolution,
            "fp32_ms": statistics.median(fp32), "int8_ms": statistics.median(int8),
            "speedup": statistics.median(a / b for a, b in zip(fp32, int8)),
            "fp32_bytes": f.bytes, "int8_bytes": q.bytes, "size_ratio": f.bytes / q.bytes,
            "cosine_min": agree, "rounds_fp32_ms": fp32, "rounds_int8_ms": int8,
            "calibration": q.quantization.get("calibration")}


def deployment_figures() -> list[dict] | str:
    """The four figures of issue 20 from lightviz.deployment, or why they are left out."""
    try:
        from lightviz.deployment import deployment_memory
    except ImportError:
        return "lightviz.deployment is not in this tree: the deployment-memory figures are left out"
    from lightviz.counting import count

    out = []
    for arch, alpha, res, in_place, published in PUBLISHED_MEMORY:
        m = deployment_memory(count(make_config(arch, alpha, resolution=res)), "int8", in_place=in_place)
        out.append({"config": f"{arch} {alpha:g} @ {res}", "in_place": in_place, "bytes": m.peak_bytes,
                    "published": published, "equal": m.peak_bytes == published, "peak_op": m.peak_op})
    return out


def parse_small(text: str) -> tuple[float, int]:
    alpha, _, res = text.partition("@")
    try:
        return float(alpha), int(res)
    except ValueError:
        raise SystemExit(f"--small must read ALPHA@PX (e.g. 0.5@128), got {text!r}") from None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", default=",".join(REGISTRY.builtin))
    ap.add_argument("--small", default=SMALL, help=f"the small configuration, ALPHA@PX (default {SMALL})")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--budget", type=float, default=0.5, help="seconds of timed runs per round and precision")
    ap.add_argument("--format", choices=("table", "json"), default="table")
    args = ap.parse_args(argv)
    import onnxruntime as ort

    alpha, res = parse_small(args.small)
    before = load()
    rows = []
    for arch in [a.strip() for a in args.archs.split(",") if a.strip()]:
        for cfg in (make_config(arch, 1.0, resolution=224), make_config(arch, alpha, resolution=res)):
            with tempfile.TemporaryDirectory(prefix="lightviz-int8-bench-") as tmp:
                rows.append(measure(cfg, args.threads, args.rounds, args.budget, tmp))
            if args.format == "table":
                print(f"  measured {cfg.label}", file=sys.stderr)
    memory = deployment_figures()
    info = {"onnxruntime": ort.__version__, "threads": args.threads, "rounds": args.rounds,
            "budget_s": args.budget, "load_before": before, "load_after": load()}
    if args.format == "json":
        print(json.dumps({**info, "rows": rows, "deployment_memory": memory}, indent=1))
        return 0
    print(f"ONNX Runtime {info['onnxruntime']}, CPU provider, {args.threads} thread(s), {args.rounds} "
          f"interleaved rounds of {args.budget:g} s; load before {before}, after {info['load_after']}")
    print(f"{'network':<29}{'fp32 ms':>9}{'int8 ms':>9}{'int8 speed-up':>14}{'fp32 MB':>9}{'int8 MB':>9}"
          f"{'smaller':>9}{'cosine':>8}")
    for r in rows:
        print(f"{r['label']:<29}{r['fp32_ms']:9.2f}{r['int8_ms']:9.2f}{r['speedup']:13.2f}x"
              f"{r['fp32_bytes'] / 1e6:9.2f}{r['int8_bytes'] / 1e6:9.2f}{r['size_ratio']:8.2f}x"
              f"{r['cosine_min']:8.4f}")
    print("int8: static QDQ, per-channel int8 weights, 16 random calibration inputs (seed 0); random "
          "weights; cosine: fp32 vs int8 logits, the smallest over 4 random inputs")
    if isinstance(memory, str):
        print(f"\nnote: {memory}")
    else:
        print("\ndeployment memory (MCUNet's rule, int8)")
        for m in memory:
            mode = "in-place depthwise" if m["in_place"] else "plain"
            print(f"  {m['config']:<22} {mode:<19} {m['bytes']:>10,} B  published {m['published']:>10,} B  "
                  f"{'equal' if m['equal'] else 'DIFFERS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
