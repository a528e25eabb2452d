"""``lightviz calibrate`` and ``lightviz predict``: the per-host latency model from a terminal.

    lightviz calibrate [--device D] [--dtype T] [--threads N] [--mode M] [--batch B]
                       [--budget S] [--point-budget S] [--format table|json]
    lightviz calibrate --list-setups | --setup NAME      (on a Jetson board)
    lightviz predict ARCH [--alpha A] [--rho R | --resolution N] [--groups G]
                     [--device D] [--dtype T] [--threads N] [--mode M] [--batch B]
                     [--format table|json]

``calibrate`` measures a spread of configurations within ``--budget`` seconds (default 150: the
whole campaign for one CPU setup under 3 minutes), with a progress bar on stderr; Ctrl-C keeps
what was measured and fits on it. It ends printing the model's held-out error. On a Jetson
board, ``--list-setups`` prints the board's natural setups and ``--setup NAME`` calibrates one
(:mod:`lightviz.latency.natural`).

``predict`` needs no torch: exit 2 and one line naming the ``lightviz calibrate`` command to run
when this host has no model for the setup.

Exit status: 0 done; 2 a bad value, or no model (predict); 1 a calibration that could not
measure enough to fit (one line on stderr).
"""

from __future__ import annotations

import json
import sys
import time

from ..cli import add_config_arguments, config_from_args
from ..config import in_range, number
from .setup import add_setup_arguments, setup_from

EXIT_FAILED = 1
BUDGET_MIN, BUDGET_MAX = 5.0, 3600.0


def _setup_arguments(p) -> None:

    add_setup_arguments(p, "CPU threads (default: every core this process may use)")
    p.add_argument("--format", choices=("table", "json"), default="table")


def register(subparsers) -> None:
    from .predictor.calibrate import DEFAULT_BUDGET_S, POINT_BUDGET_S

    p = subparsers.add_parser(
        "calibrate", help="measure a spread of configurations and fit this host's latency model",
        description="Measure configurations of all eight architectures across alpha and "
                    "resolution within a time budget, then fit the latency model that "
                    "`lightviz predict` and the app use. Ctrl-C stops early and fits on what "
                    "was measured.")
    _setup_arguments(p)
    p.add_argument("--budget", "--budget-s", dest="budget", default=str(DEFAULT_BUDGET_S),
                   help=f"seconds of measuring in all (default {DEFAULT_BUDGET_S:g}; "
                        f"{BUDGET_MIN:g} to {BUDGET_MAX:g})")
    p.add_argument("--point-budget", default=None,
                   help=f"seconds of warm-up and timed runs per configuration (default "
                        f"{POINT_BUDGET_S:g}, less when --budget is under {POINT_BUDGET_S * 500:g})")
    p.add_argument("--seed", default="0", help="seed of the design's scrambling (default 0)")
    p.add_argument("--lock-timeout", default="600",
                   help="seconds to wait for another measurement on this host, per point")
    p.add_argument("--list-setups", action="store_true",
                   help="on a Jetson board: list its natural setups (CUDA fp16 eager, CUDA "
                        "graph, TensorRT fp16 and int8) and exit")
    p.add_argument("--setup", default=None,
                   help="on a Jetson board: calibrate one natural setup by name (cuda-fp16, "
                        "cuda-graph, tensorrt-fp16, tensorrt-int8): sets device, dtype, mode, runtime")
    p.set_defaults(run=cmd_calibrate)

    p = subparsers.add_parser(
        "predict", help="predicted latency on this host, from its calibrated model (no torch)",
        description="Predict the latency of one configuration on this host from the model "
                    "`lightviz calibrate` fitted, with an interval from its held-out errors.")
    add_config_arguments(p)
    _setup_arguments(p)
    p.add_argument("--probe", action="store_true",
                   help="time the host's state now (one kernel chain op by op, about a second with "
                        "torch's import) and say how it compares with its calibration's, per group of "
                        "kinds (not applied to the prediction)")
    p.add_argument("--on", default=None, metavar="NAME",
                   help="the device to predict for: 'this host', an imported device (`lightviz devices "
                        "list`) or a reference device; the figure says how it is known")
    p.set_defaults(run=cmd_predict)


def _setup(args, budget=2.0, measuring=True):
    """The checked setup; a prediction reads a stored model, so its runtime need not be
    installed here (``measuring=False``)."""
    return setup_from(args, budget, require_runtime=measuring)


def _seconds(name: str, text, lo: float, hi: float) -> float:
    value = number(name, text)
    in_range(name, value, lo, hi, " seconds")
    return value


def cmd_predict(args) -> int:
    from .predictor import model as M
    from .predictor.store import host_identity

    cfg = config_from_args(args)
    if getattr(args, "on", None) is not None:
        from .devices.cli import predict_on

        return predict_on(cfg, args)
    setup = _setup(args, measuring=False)
    if args.probe:
        from .predictor import probe

        if probe.measure(M.resolve(setup)) is None:
            print("lightviz: the host stayed busy: predicting for its last known state", file=sys.stderr)
    pred = M.predict(cfg, setup)  # NotCalibrated is a ValueError: one line, exit 2
    if args.format == "json":
        out = {"arch": cfg.arch, "label": cfg.label,
               "config": {"arch": cfg.arch, "alpha": cfg.alpha, "resolution": cfg.resolution,
                          "rho": cfg.rho, "groups": cfg.groups, "classes": cfg.classes},
               **pred.to_dict(), "passport": public_identity(host_identity(pred.setup.device))}
        print(json.dumps(out, indent=2))
    else:
        print(render_prediction(cfg, pred))
    return 0


def public_identity(ident: dict) -> dict:
    """The passport a model is keyed by, without the machine id (the key stands for it)."""
    return {k: v for k, v in ident.items() if k != "machine_id"}


HOST_STATE = {"undisturbed": "undisturbed (its calibration's slow stretches taken out)",
              "now": "as the latest probe found it", "as calibrated": "as it was during its calibration"}


def render_prediction(cfg, pred) -> str:
    from .predictor import model as M  # imported already: a prediction was made

    m = pred.model
    cov = (m.get("interval") or {}).get("coverage", 0.9)
    said = M.extrapolated_text(pred)
    status = f"   {said}" if said else ""
    lines = [f"{cfg.label} on {pred.setup.label} (this host)",
             f"predicted  {pred.predicted_ms:10.3f} ms   {cov:.0%} interval {pred.low_ms:.3f} "
             f"to {pred.high_ms:.3f} ms{status}",
             f"model      {m.get('model_kind')}: {m['measurements']} networks, held-out RMSPE "
             f"{m['heldout_rmspe']:.1%}, calibrated {_when(m.get('calibrated_at'))}"
             + (f", for the host {HOST_STATE[m['host_state']]}" if m.get("host_state") in HOST_STATE else "")]
    if m.get("note"):
        lines.append(f"note       {m['note']}")
    if m.get("unseen_family"):
        lines.append(f"family     {M.unseen_family_text(m)}")
    if held := M.host_states_text(m):
        lines.append(f"interval   {held}")
    if m.get("host_ratio"):
        groups = ", ".join(f"{g} x{r:.2f}" for g, r in (m.get("host_ratios") or {}).items())
        lines.append(f"host       probed {_when(m['host_state_at'])}: x{m['host_ratio']:.2f} its calibration's "
                     f"times{f' ({groups})' if groups else ''}; not applied: the probe has not tracked "
                     "networks' latency here")
    lines += ["", f"{'block':<16} {'ms':>9}"]
    lines += [f"{b:<16} {ms:9.3f}" for b, ms in pred.breakdown]
    return "\n".join(lines)


def _when(t) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if t else "?"


class _Bar:
    """A one-line progress bar on stderr (time-based: the budget is in seconds)."""

    def __init__(self, budget_s: float, stream=sys.stderr, width: int = 28):
        self.budget, self.stream, self.width = budget_s, stream, width
        self.tty = stream.isatty()
        self.last = 0.0

    def __call__(self, points: int, elapsed: float, cfg, ms) -> None:
        frac = min(elapsed / self.budget, 1.0)
        fill = int(frac * self.width)
        what = f"{cfg.label}" + (f" {ms:.2f} ms" if ms is not None else " ...")
        line = (f"[{'#' * fill}{'.' * (self.width - fill)}] {elapsed:5.0f}/{self.budget:.0f} s  "
                f"{points:3d} measured  {what}")
        if self.tty:
            self.stream.write("\r" + line[:110].ljust(110))
        elif ms is not None and (elapsed - self.last >= 10 or points == 1):
            self.stream.write(line + "\n")
            self.last = elapsed
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def cmd_calibrate(args) -> int:
    from .predictor import model as M
    from .predictor.calibrate import calibrate

    if args.list_setups or args.setup:
        from . import natural
        from .runtimes import find_trtexec

        if args.list_setups:
            info = natural.listing(find_trtexec() is not None)
            print(json.dumps(info, indent=2) if args.format == "json" else natural.render_listing(info))
            return 0
        natural.apply_setup_option(args, find_trtexec() is not None)

    budget = _seconds("budget", args.budget, BUDGET_MIN, BUDGET_MAX)
    from .predictor.calibrate import point_budget

    point = (point_budget(budget) if args.point_budget is None
             else _seconds("point budget", args.point_budget, 0.05, 10.0))
    lock_timeout = _seconds("lock timeout", args.lock_timeout, 0.1, 86400.0)
    seed = int(number("seed", args.seed, integer=True))
    setup = M.resolve(_setup(args, point))
    bar = _Bar(budget)
    print(f"lightviz: calibrating {setup.label} for up to {budget:g} s (Ctrl-C stops and fits "
          f"on what was measured)", file=sys.stderr)
    try:
        cal = calibrate(setup, budget, point, on_progress=bar, seed=seed, lock_timeout=lock_timeout)
    except ValueError as exc:  # too few points to fit
        bar.done()
        print(f"lightviz: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    bar.done()
    m = cal.model
    if args.format == "json":
        out = {"setup": store_setup(setup), "points": len(cal.measured),
               "skipped": cal.skipped, "measuring_s": cal.elapsed_s, "fit_s": cal.fit_s,
               "interrupted": cal.interrupted, "errors": cal.errors, "model": M.model_info(m),
               "heldout_by_arch": m.get("heldout_by_arch"),
               "drift": (m.get("calibration") or {}).get("drift"),
               "passport": public_identity(m.get("passport") or {})}
        print(json.dumps(out, indent=2))
    else:
        stop = " (interrupted)" if cal.interrupted else ""
        iv = m["interval"]
        print(f"calibrated {setup.label}{stop}: {len(cal.measured)} configurations measured in "
              f"{cal.elapsed_s:.0f} s ({cal.skipped} skipped as too slow for the budget), "
              f"fitted on {m['measurements']} in {cal.fit_s:.1f} s")
        if m.get("model_kind") == M.KERNEL:
            k = m["kernel"]
            print(f"kernel model: {k['timed_kernels']} kernels timed in place, {len(k['kinds_timed'])} "
                  f"kinds" + (f" (never timed: {', '.join(k['kinds_never_timed'])})"
                              if k["kinds_never_timed"] else ""))
            print(drift_line((m.get("calibration") or {}).get("drift")))
        else:
            from .predictor.calibrate import in_place_ops

            if not in_place_ops(setup):
                print(f"whole-network model: {setup.runtime} {setup.dtype} runs the network as one "
                      "graph of its own kernels, which lightviz cannot time op by op in place")
        held = "networks whose own ops were left out" if m.get("model_kind") == M.KERNEL else "5-fold"
        print(f"held-out error ({held}): RMSPE {m['heldout_rmspe']:.1%}, "
              f"{m['heldout_within_10']:.0%} within 10%, {m['heldout_within_20']:.0%} within 20%"
              + (f"; edited tables: RMSPE {m['heldout_edited_rmspe']:.1%}"
                 if m.get("heldout_edited_rmspe") is not None else "")
              + (f"; one family held out: RMSPE {m['heldout_arch_out_rmspe']:.1%}"
                 if m.get("heldout_arch_out_rmspe") is not None else ""))
        loc, base = m.get("local"), m.get("heldout_without_local_rmspe")
        if base is not None:
            print(f"per-architecture correction: on (bandwidth {loc['bandwidth']:g} in ln alpha and "
                  f"ln resolution, prior {loc['prior']:g}); RMSPE without it {base:.1%}" if loc else
                  "per-architecture correction: off (smoothing the residuals did not lower their "
                  "leave-one-out error by 1%)")
        held = M.host_states_text(m)
        print(f"interval ({iv['coverage']:.0%}): x{_exp(iv['log_low']):.3f} to "
              f"x{_exp(iv['log_high']):.3f} of the prediction"
              + (f"; {held} (x{_exp(iv['undisturbed_log_high']):.3f} for the host undisturbed)" if held else ""))
        for arch, e in (m.get("heldout_by_arch") or {}).items():
            print(f"  {arch:<14} RMSPE {e:.1%}")
        for e in cal.errors:
            print(f"  not measured: {e}")
    return 0


def _exp(x: float) -> float:
    import math

    return math.exp(x)


def store_setup(setup) -> dict:
    from dataclasses import asdict

    return asdict(setup)


def drift_line(drift: dict | None) -> str:
    """What the host probe saw through a calibration, in one line."""
    if not drift or not drift.get("probes"):
        return "host drift: not probed (no real timer), nothing scaled"
    if not drift["scaled"]:
        return f"host drift: {drift['probes']} probes, the host steady (nothing scaled)"
    return (f"host drift: {drift['probes']} probes; {drift['scaled']} of {drift['of']} networks were "
            f"measured in a slow stretch and scaled back to the undisturbed host (up to "
            f"x{drift['max_factor']:.2f})")
