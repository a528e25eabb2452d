"""The CUDA paths of the latency lab in one short run: eager and CUDA-graph, fp32 and fp16,
MobileNetV2 and GhostNet at batch 1 and 64, then a per-layer run (CUDA-event probes), a
torch.utils.benchmark.Timer cross-check, and a kernel calibration's per-op passes (eager, and on
the device alone for a CUDA graph) summed beside the whole network. Prints a table beside the H100 references (PyTorch
2.11, median of 200): MobileNetV2 eager fp32 2.5 ms, CUDA-graph fp16 0.61 ms; GhostNet eager
5.0 ms, CUDA-graph fp16 1.1 ms; ResNet-18 eager fp32 1.3 ms.

    python3 benchmarks/cuda_check.py [--device cuda] [--budget 1.0] [--json results.json]

Exits 2 when no CUDA device is present. Every row is independent: a failure prints its error
and the run goes on (exit status 1 at the end if any row failed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from lightviz import make_config  # noqa: E402
from lightviz.latency import Bench, make_setup  # noqa: E402
from lightviz.latency.host.passport import passport, summary  # noqa: E402

# (arch, mode, dtype, batch) -> H100 reference median in ms (batch 1 only)
REFERENCE = {
    ("mobilenet_v2", "eager", "fp32", 1): 2.5,
    ("mobilenet_v2", "cudagraph", "fp16", 1): 0.61,
    ("ghostnet", "eager", "fp32", 1): 5.0,
    ("ghostnet", "cudagraph", "fp16", 1): 1.1,
    ("resnet18", "eager", "fp32", 1): 1.3,
}


def rows():
    for arch in ("mobilenet_v2", "ghostnet"):
        for batch in (1, 64):
            for mode in ("eager", "cudagraph"):
                for dtype in ("fp32", "fp16"):
                    yield arch, mode, dtype, batch
    yield "resnet18", "eager", "fp32", 1


def print_failure(label: str, exc: Exception) -> None:
    """One failed row: its label and the error's first 120 characters, the traceback on stderr."""
    print(f"{label} FAILED {type(exc).__name__}: {str(exc)[:120]}")
    traceback.print_exc(limit=3, file=sys.stderr)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--budget", type=float, default=1.0)
    ap.add_argument("--json", default=None, help="also write every result here")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("cuda_check: no CUDA device here (torch.cuda.is_available() is False)", file=sys.stderr)
        return 2
    print(f"# {summary(passport(args.device))}")
    print(f"# torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
          f"budget {args.budget:g} s per row")
    head = (f"{'arch':<13} {'mode':<9} {'dtype':<5} {'batch':>5} {'median ms':>10} {'p10':>8} {'p90':>8} "
            f"{'IQR %':>6} {'runs':>6} {'img/s':>9} {'cold ms':>9} {'H100 ref':>9}")
    print(head)
    print("-" * len(head))
    out, failed = [], 0
    bench = Bench()
    for arch, mode, dtype, batch in rows():
        cfg = make_config(arch, 1.0)
        ref = REFERENCE.get((arch, mode, dtype, batch))
        try:
            setup = make_setup(args.device, dtype, batch, None, False, mode, args.budget)
            r = bench.run(cfg, setup)
        except Exception as exc:  # keep going: one failed path must not hide the others
            failed += 1
            print_failure(f"{arch:<13} {mode:<9} {dtype:<5} {batch:>5}", exc)
            out.append({"arch": arch, "mode": mode, "dtype": dtype, "batch": batch, "error": repr(exc)})
            bench.release()
            continue
        print(f"{arch:<13} {mode:<9} {dtype:<5} {batch:>5} {r.median_ms:10.3f} {r.p10_ms:8.3f} {r.p90_ms:8.3f} "
              f"{r.spread * 100:6.1f} {r.runs:6d} {r.throughput_ips:9.0f} {r.cold_ms:9.1f} "
              f"{(f'{ref:.2f}' if ref else ''):>9}" + ("  WARN" if r.warnings else ""))
        out.append({**{k: v for k, v in r.to_dict().items() if k != "passport"}, "reference_ms": ref})
        bench.release()  # free the device memory between rows

    # Per-layer timing with CUDA-event probes, and a Timer cross-check, on MobileNetV2 eager fp32 b1.
    cfg = make_config("mobilenet_v2", 1.0)
    try:
        setup = make_setup(args.device, "fp32", 1, None, False, "eager", args.budget)
        rep = bench.layers(cfg, setup)
        kinds = rep.ops.groupby("kind")["time_ms"].sum().sort_values(ascending=False)
        print(f"\nper layer ({cfg.label}, eager fp32 b1): whole {rep.whole_ms:.3f} ms, blocks sum "
              f"{rep.blocks_sum_ms:.3f} ms ({rep.gap('blocks'):+.1%}), ops sum {rep.ops_sum_ms:.3f} ms "
              f"({rep.gap('ops'):+.1%}); roof {(rep.roof.get('peak_macs_per_s') or 0) / 1e12:.1f} TMAC/s, "
              f"{(rep.roof.get('bandwidth_bytes_per_s') or 0) / 1e9:.0f} GB/s")
        print("  GPU time by op kind: " + ", ".join(f"{k} {v:.3f} ms" for k, v in kinds.head(6).items()))
        from torch.utils.benchmark import Timer

        fn = bench.forward

        def call():
            with torch.inference_mode():
                fn()

        t = Timer(stmt="call()", globals={"call": call}).blocked_autorange(min_run_time=args.budget)
        whole = bench.run(cfg, setup)
        print(f"  Timer.blocked_autorange median {t.median * 1e3:.3f} ms vs lightviz {whole.median_ms:.3f} ms "
              f"(ratio {whole.median_ms / (t.median * 1e3):.3f}; Timer averages back-to-back calls, "
              "lightviz synchronises each)")
        out.append({"layers": {k: v for k, v in rep.to_dict().items() if k not in ("passport", "ops")},
                    "timer_median_ms": t.median * 1e3})
    except Exception as exc:
        failed += 1
        print(f"per-layer / Timer check FAILED {type(exc).__name__}: {exc}")
        traceback.print_exc(limit=3, file=sys.stderr)
    finally:
        bench.release()

    # A kernel calibration's two ways of timing ops in place (issue 19, item 6): eager, with the
    # launch gaps eager mode has, and for a CUDA graph each kernel on the device alone, launched
    # behind a GPU spin. Their sums beside the whole network in the same mode: a graph's kernels
    # should add up to about its replay.
    print(f"\nkernels in place (Bench.op_times, {args.budget / 2:g} s of instrumented passes): sum of the ops "
          "vs the whole network in the same mode")
    for arch in ("mobilenet_v2", "ghostnet", "resnet18"):
        for mode in ("eager", "cudagraph"):
            for dtype in ("fp32", "fp16"):
                try:
                    setup = make_setup(args.device, dtype, 1, None, False, mode, args.budget / 2)
                    whole, ops = bench.op_times(make_config(arch, 1.0), setup, args.budget / 2)
                    total = sum(ops.values())
                    print(f"  {arch:<13} {mode:<9} {dtype:<5} whole {whole.median_ms:8.3f} ms, ops sum "
                          f"{total:8.3f} ms (x{total / whole.median_ms:.2f}, {len(ops)} ops)")
                    out.append({"op_times": [arch, mode, dtype], "whole_ms": whole.median_ms, "ops_sum_ms": total,
                                "ops": len(ops)})
                except Exception as exc:
                    failed += 1
                    print_failure(f"  {arch:<13} {mode:<9} {dtype:<5}", exc)
                finally:
                    bench.release()

    # The OOM path: a batch far too large must come back as OutOfMemory or a refusal, not a crash.
    try:
        from lightviz.latency import MemoryRefused, OutOfMemory

        try:
            bench.run(make_config("resnet50", 2.0, resolution=512), make_setup(args.device, "fp32", 1024))
            print("\nOOM check: batch 1024 of resnet50 2x @ 512 fitted (a very large GPU)")
        except (MemoryRefused, OutOfMemory) as exc:
            print(f"\nOOM check: {type(exc).__name__}: {str(exc)[:160]}")
        r = bench.run(make_config("mobilenet_v2", 1.0), make_setup(args.device, "fp32", 1, budget_s=0.3))
        print(f"  after it, mobilenet_v2 still measures: {r.median_ms:.3f} ms")
    except Exception as exc:
        failed += 1
        print(f"OOM check FAILED {type(exc).__name__}: {exc}")
    finally:
        bench.release()

    if args.json:
        Path(args.json).write_text(json.dumps({"passport": passport(args.device), "rows": out}, indent=2,
                                              default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    t0 = time.time()
    rc = main()
    print(f"# {time.time() - t0:.0f} s, exit {rc}")
    sys.exit(rc)
