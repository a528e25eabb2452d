"""How fast is a profile? lightviz.profile beside torchinfo.summary on the same configurations,
measured in the same run.

    python3 benchmarks/profile_speed.py [--repeat N] [--threads T]

Goals (issue 2): a profile in 5 ms or less on a 2-core machine, at least 10x faster than
torchinfo, and no slower at 448 x 448 than at 96 x 96 (counts come from shapes, not from running
the network). lightviz is timed cold: the spec cache is cleared before every call, so each call
resolves the spec and propagates shapes; the table column also builds the per-op DataFrame
(which ``Profile.layers`` builds on first use). torchinfo is timed on a module
built once (building is not part of its figure), with one forward pass per summary.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchinfo

import lightviz
from lightviz.zoo import resolve

CONFIGS = [(0.5, 96), (1.0, 224), (1.0, 448)]


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def lightviz_totals(arch, alpha, res):
    resolve.cache_clear()
    p = lightviz.profile(arch, alpha, resolution=res)
    return p.params, p.macs


def lightviz_table(arch, alpha, res):
    resolve.cache_clear()
    return lightviz.profile(arch, alpha, resolution=res).layers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=21, help="lightviz calls per configuration")
    ap.add_argument("--peer-repeat", type=int, default=3, help="torchinfo calls per configuration")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, torchinfo {torchinfo.__version__}, {args.threads} threads\n")
    print(f"{'arch':<14}{'alpha':>6}{'res':>5}{'totals ms':>11}{'table ms':>10}{'torchinfo ms':>14}"
          f"{'ratio':>8}")
    worst, by_res, ratios = 0.0, {}, []
    for arch in lightviz.ARCHS:
        model = lightviz.build(arch, 1.0).eval()
        models = {1.0: model, 0.5: lightviz.build(arch, 0.5).eval()}
        for alpha, res in CONFIGS:
            # the lambdas are timed here and now, inside this iteration: binding is not an issue
            totals = median_ms(lambda: lightviz_totals(arch, alpha, res), args.repeat)  # noqa: B023
            ours = median_ms(lambda: lightviz_table(arch, alpha, res), args.repeat)  # noqa: B023
            with torch.inference_mode():
                peer = median_ms(lambda: torchinfo.summary(  # noqa: B023
                    models[alpha], input_size=(1, 3, res, res), verbose=0), args.peer_repeat)  # noqa: B023
            worst = max(worst, ours)
            ratios.append(peer / ours)
            by_res.setdefault(res, []).append(ours)
            print(f"{arch:<14}{alpha:>6g}{res:>5}{totals:>11.2f}{ours:>10.2f}{peer:>14.1f}"
                  f"{peer / ours:>7.0f}x")
    print("\ntotals = lightviz.profile(...).params/.macs; table = the same plus the per-op DataFrame;"
          "\nratio = torchinfo / table. Both lightviz columns are cold: the spec cache is cleared.")
    print(f"slowest lightviz profile with its table: {worst:.2f} ms (goal <= 5 ms)")
    print(f"smallest speed-up over torchinfo: {min(ratios):.0f}x (goal >= 10x)")
    m96, m448 = statistics.median(by_res[96]), statistics.median(by_res[448])
    print(f"median over archs: {m96:.2f} ms at 96 x 96, {m448:.2f} ms at 448 x 448 "
          f"(ratio {m448 / m96:.2f}; goal <= 1 within noise)")


if __name__ == "__main__":
    main()
