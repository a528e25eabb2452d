"""How well do the reference devices' interpolated latencies predict a published point they
have not seen?

    python3 benchmarks/device_reference.py [--format table|json]

For every published grid (a family at several widths and resolutions on one reference device and
precision: MobileNet v2 on the Pixel 1 from tf-slim's table, MobileNet v1 fp32 and int8 on the
Pixel 3 from TFLite's hosted models), each published point is left out in turn, the rule is
refitted through the others and its estimate compared with the published latency (|error| in %).
"inside" counts only the points that lie inside the hull of the others (interpolations, what
lightviz shows as ``interpolated``); the rest are extrapolations lightviz never shows. "interval"
is the half-width the shipped estimate carries (the worst inside error), "covered" how many inside
points the interval of the grid refitted without them contains.

Every rule of ``lightviz.latency.devices.interpolate.RULES`` is printed, the shipped one first.
Goal (issue 22): mean leave-one-out error within 5% on Pixel 1 MobileNet v2 and on Pixel 3
MobileNet v1 fp32, for the shipped rule.
"""

from __future__ import annotations

import argparse
import json

from lightviz.latency.devices.interpolate import RULE, RULES
from lightviz.latency.devices.reference import loo_summary

GOAL = 5.0
GOAL_GRIDS = (("Pixel 1", "mobilenet_v2", "fp32"), ("Pixel 3", "mobilenet_v1", "fp32"))


def in_goal(row: dict) -> bool:
    return any(row["device"].startswith(d) and row["family"] == f and row["precision"] == p
               for d, f, p in GOAL_GRIDS)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--format", choices=("table", "json"), default="table")
    args = ap.parse_args()
    rows = [r for rule in RULES for r in loo_summary(rule)]
    ok = all(r["loo_mean"] <= GOAL for r in rows if r["rule"] == RULE and in_goal(r))
    if args.format == "json":
        print(json.dumps({"rule": RULE, "goal_mean_pct": GOAL, "goal_met": ok, "grids": rows},
                         indent=1))
        return 0 if ok else 1
    print(f"{'device':<48}{'family':<14}{'prec':<6}{'rule':<30}{'pts':>4}{'mean':>7}{'worst':>7}"
          f"{'in mean':>9}{'in worst':>9}{'interval':>9}{'covered':>9}")
    for r in rows:
        print(f"{r['device']:<48}{r['family']:<14}{r['precision']:<6}{r['rule']:<30}"
              f"{r['points']:>4}{r['loo_mean']:>6.2f}%{r['loo_worst']:>6.1f}%"
              f"{r['inside_mean']:>8.2f}%{r['inside_worst']:>8.1f}%{r['interval']:>8.1f}%"
              f"{r['covered']:>5}/{r['interior']:<3}")
    print(f"\nleave-one-out |estimate / published - 1|; shipped rule: {RULE} ({RULES[RULE]}).")
    print(f"goal: mean <= {GOAL:g}% on Pixel 1 MobileNet v2 and Pixel 3 MobileNet v1 fp32: "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
