"""``lightviz bench``: measure the latency of one configuration on this host.

    lightviz bench ARCH [--alpha A] [--rho R | --resolution N] [--device D] [--dtype T]
                   [--batch B] [--threads N] [--mode eager|cudagraph] [--format table|json]
                   [--channels-last] [--no-fold-bn] [--budget S] [--layers] [--energy S]
                   [--samples] [--runtime torch|torch-compile|onnxruntime|tensorrt]
    lightviz lesson FILE [the setup options above] [--budget S] [--no-layers] [--again]
                   [--format table|json|csv]   (lightviz.latency.lesson)
    lightviz export ARCH [--alpha A] [--rho R | --resolution N] --format onnx|pt2 -o FILE
                   [--seed N] [--no-fold-bn] [--batch B] [--opset N] [--dtype fp32|fp16|int8]
                   [--calibration-images DIR]

``--dtype int8`` (with ``--runtime onnxruntime`` or ``tensorrt``) times the int8 graph that
``lightviz export --dtype int8`` writes; with ``--runtime onnxruntime``, ``--layers`` then prints
ONNX Runtime's profiler on the fp32 and the int8 graph side by side, by op type and by block
(:mod:`lightviz.latency.runtimes.ort_profile`): eager PyTorch has no int8 graph to split.

``--runtime`` picks what runs the network (:mod:`lightviz.latency.runtimes`); the protocol,
statistics, lock and passport are the same for each. A runtime that is not installed here is
refused in one line naming how to install it (exit 2).

``lightviz export`` writes the configured network (BN calibrated and folded as timed here) as
ONNX or a ``torch.export`` program, with random weights from ``--seed``: no trained weights are
included (:mod:`lightviz.exporter`).

Batch norms are folded into the convs before timing, as a deployment runs them;
``--no-fold-bn`` times them as separate layers (which overstates their cost).

Exit status: 0 measured; 2 a bad value or a configuration refused before running (one line
on stderr, like every lightviz command): one that would not fit in memory, or whose forced calls
would hold the host longer than ``$LIGHTVIZ_MAX_HOLD_S`` (default 60 s); 1 the measurement
failed while running (out of memory, the host stayed busy past ``--lock-timeout``), also one
line.
"""

from __future__ import annotations

import json
import sys

from ..cli import add_config_arguments, config_from_args
from ..units import json_value
from .lab.lock import LockTimeout
from .setup import (
    BUDGET_DEFAULT_S,
    MeasurementError,
    add_setup_arguments,
    non_negative_seconds,
    positive_seconds,
    setup_from,
)

EXIT_FAILED = 1


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="measure latency on this host (median, p10/p90, IQR, throughput, passport)",
        description="Measure the latency of one configuration on this host, one measurement at "
                    "a time per host. Prints a table, or JSON with the passport of the machine.")
    add_config_arguments(p)
    add_setup_arguments(p, "CPU threads, pinned for the measurement (default: torch's current count)")
    p.add_argument("--budget", default=str(BUDGET_DEFAULT_S),
                   help=f"seconds for warm-up and timed runs (default {BUDGET_DEFAULT_S:g})")
    p.add_argument("--layers", action="store_true", help="also time every block and op (eager)")
    p.add_argument("--energy", default=None, metavar="SECONDS",
                   help="Jetson: energy per image from the INA3221 rails over a steady run of SECONDS (e.g. 30)")
    p.add_argument("--settle", default=None, metavar="SECONDS",
                   help="with --energy: wait SECONDS after the latency run before the idle baseline, "
                        "so the clocks fall back (default 5)")
    p.add_argument("--samples", action="store_true", help="JSON: include every per-iteration time")
    p.add_argument("--lock-timeout", default="600",
                   help="seconds to wait for another measurement on this host (default 600)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=cmd_bench)
    register_export(subparsers)


def register_export(subparsers) -> None:
    from ..exporter import DEFAULT_OPSET, FORMATS

    p = subparsers.add_parser(
        "export", help="write the network as ONNX or a torch.export program (random weights)",
        description="Write the configured network, its batch norms calibrated and folded as "
                    "`lightviz bench` times it, as an ONNX file or a torch.export program (.pt2). "
                    "The weights are random, drawn from --seed: no trained weights are included; "
                    "the file is for latency and deployment tests, not for predictions.")
    add_config_arguments(p)
    p.add_argument("--format", default=None, help=f"{' or '.join(FORMATS)} (default: from the "
                                                  "file's extension, else onnx)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    p.add_argument("--seed", default="0", help="seed of the random weights (default 0: the same "
                                               "weights in every format and in lightviz bench)")
    p.add_argument("--no-fold-bn", dest="fold_bn", action="store_false",
                   help="keep batch norms as separate layers (default: folded into the convs)")
    p.add_argument("--batch", default="1", help="the fixed batch of the input (default 1)")
    p.add_argument("--opset", default=None,
                   help=f"ONNX opset (default {DEFAULT_OPSET}, what TensorRT 8.6 parses; 18 and "
                        "above use the dynamo exporter)")
    p.add_argument("--dtype", default="fp32",
                   help="fp32 (default), fp16 (the network halved) or int8 (ONNX only: static "
                        "QDQ quantization, per-channel int8 weights, by ONNX Runtime)")
    p.add_argument("--calibration-images", default=None, metavar="DIR",
                   help="with --dtype int8: calibrate the activation ranges on the JPEG/PNG images "
                        "in DIR (resized and centre-cropped, ImageNet normalisation; default: 16 "
                        "random inputs, seeded)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(run=cmd_export)


def cmd_export(args) -> int:
    from ..exporter import export

    cfg = config_from_args(args)
    fmt = args.format
    if fmt is None:
        fmt = "pt2" if str(args.output).lower().endswith(".pt2") else "onnx"
    info = export(cfg, args.output, fmt, seed=args.seed, fold_bn=args.fold_bn, batch=args.batch,
                  opset=args.opset, dtype=args.dtype, calibration_images=args.calibration_images)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
    else:
        print(info.describe())
    return 0


def cmd_bench(args) -> int:
    from .lab.protocol import Bench
    from .shared import Keeper

    cfg = config_from_args(args)
    setup = setup_from(args)
    lock_timeout = positive_seconds("--lock-timeout", args.lock_timeout)
    energy_s = positive_seconds("--energy", args.energy) if args.energy is not None else None
    settle_s = None
    if energy_s is not None:
        from .host.energy import require_rails

        require_rails()
        if args.settle is not None:
            settle_s = non_negative_seconds("--settle", args.settle)
    notified = []

    def on_wait(status):
        if not notified:
            print(f"lightviz: {status.describe()}", file=sys.stderr)
            notified.append(True)

    # stored as one record with its per-layer report, and the latency model refitted
    keeper = Keeper("lightviz bench")
    bench = Bench(on_result=keeper)
    report = profile = None
    int8_layers = bool(args.layers) and setup.dtype == "int8"
    if int8_layers and setup.runtime != "onnxruntime":
        raise ValueError("--layers of an int8 graph comes from ONNX Runtime's profiler: use "
                         "--runtime onnxruntime (eager PyTorch has no int8 graph to split)")
    bench.check(cfg, setup, whole=True, layers=args.layers)  # refuse before queueing
    try:
        # one hold of the host lock for everything asked, so nothing else runs in between
        with bench.lock.hold(f"lightviz bench {cfg.label} on {setup.label}", lock_timeout, on_wait) as waited:
            result = bench.run(cfg, setup)
            result.lock_wait_s = waited
            report = bench.layers(cfg, setup) if args.layers and not int8_layers else None
            profile = _int8_profile(cfg, result.setup.threads) if int8_layers else None
            energy = (bench.energy(cfg, setup, run_s=energy_s, idle_s=min(5.0, energy_s / 2), settle_s=settle_s)
                      if energy_s is not None else None)
    except (MeasurementError, LockTimeout) as exc:
        print(f"lightviz: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        keeper.flush(report)
        bench.release()

    if args.format == "json":
        out = result.to_dict(samples=args.samples)
        if report is not None:
            layers = report.to_dict()
            layers.pop("passport")
            layers["whole"] = {k: layers["whole"][k] for k in ("median_ms", "p10_ms", "p90_ms", "runs")}
            out["layers"] = layers
        if profile is not None:
            out["layers"] = {"source": "onnxruntime profiler, fp32 and int8 graphs", **profile}
        if energy is not None:
            energy.pop("passport", None)
            energy.pop("latency", None)
            out["energy"] = energy
        print(json.dumps(out, indent=2, default=json_value))
    else:
        print(render_result(result))
        if report is not None:
            print()
            print(render_layers(report))
        if profile is not None:
            from .runtimes.ort_profile import render

            print()
            print(render(profile))
        if energy is not None:
            print()
            print(render_energy(energy))
    return 0


def _int8_profile(cfg, threads) -> dict:
    """ONNX Runtime's profiler on the fp32 and the int8 graph of ``cfg`` (see the module doc)."""
    from .runtimes.ort_profile import profile_precisions, summary

    return summary(profile_precisions(cfg, threads or 1))


def render_result(r) -> str:
    from ..units import fmt_count
    from .host.passport import summary

    s = r.setup
    cl = ", channels-last" if s.channels_last else ""
    bn = ", BN folded" if s.fold_bn else ", BN unfused"
    lines = [
        f"{r.config.label} on {s.device}, {s.dtype}, batch {s.batch}, {s.threads} "
        f"thread{'' if s.threads == 1 else 's'}, "
        f"{s.mode if s.runtime == 'torch' else s.runtime}{cl}{bn}",
        f"runtime     {_runtime_line(r)}",
        f"median      {r.median_ms:10.3f} ms   p10 {r.p10_ms:.3f}  p90 {r.p90_ms:.3f}  "
        f"IQR {r.iqr_ms:.3f} ms ({r.spread:.1%} of the median)",
        f"throughput  {r.throughput_ips:10.1f} images/s   {r.gmacs_per_s:.2f} GMAC/s achieved "
        f"({fmt_count(r.macs)} MACs per image)",
        f"runs        {r.runs:10d}       in {r.timed_s:.2f} s after {r.warmup_runs} warm-up calls",
    ]
    if r.cold_ms is not None:
        cap = f", CUDA-graph capture {r.capture_ms:.1f} ms" if r.capture_ms is not None else ""
        lines.append(f"first call  {r.cold_ms:10.3f} ms   (cold: reported apart{cap})")
    if r.lock_wait_s > 0.05:
        lines.append(f"queued      {r.lock_wait_s:10.1f} s    behind another measurement on this host")
    lines.append(f"timer       {r.timer}")
    lines.append(f"passport    {summary(r.passport)}")
    lines += [f"note        {n}" for n in r.notes]
    lines += [f"WARNING     {w}" for w in r.warnings]
    return "\n".join(lines)


def _runtime_line(r) -> str:
    info = r.passport.get("runtime") or {}
    provider = f", {info['provider']}" if info.get("provider") else ""
    q = info.get("quantization") or {}
    int8 = (f", int8 graph (static QDQ, calibrated on {q.get('calibration_images')} "
            f"{'random inputs' if str(q.get('calibration')).startswith('random') else 'images'})") if q else ""
    return f"{r.setup.runtime} {info.get('version', '')}{provider}{int8}"


def render_layers(rep) -> str:
    from ..units import fmt_count

    df = rep.blocks
    lines = [f"{'block':<12} {'type':<18} {'MACs':>9} {'time ms':>9} {'time %':>7} {'MACs %':>7} "
             f"{'GMAC/s':>8} {'MAC/B':>6}  MACs in"]
    for row in df.itertuples():
        lines.append(f"{row.block:<12} {row.block_type:<18} {fmt_count(row.macs):>9} {row.time_ms:9.3f} "
                     f"{row.time_share:7.1%} {row.mac_share:7.1%} {row.gmacs_per_s:8.2f} "
                     f"{row.intensity:6.2f}  {row.mac_kinds}")
    kinds = rep.ops.groupby("kind", sort=False).agg(time_ms=("time_ms", "sum"), macs=("macs", "sum"))
    total_t, total_m = kinds["time_ms"].sum(), kinds["macs"].sum()
    lines += ["", f"{'op kind':<16} {'time %':>7} {'MACs %':>7}"]
    for kind, row in kinds.sort_values("time_ms", ascending=False).iterrows():
        lines.append(f"{kind:<16} {row.time_ms / total_t:7.1%} {row.macs / total_m:7.1%}")
    lines += [
        "",
        f"whole {rep.whole_ms:.3f} ms; blocks sum to {rep.blocks_sum_ms:.3f} ms ({rep.gap('blocks'):+.1%}), "
        f"ops to {rep.ops_sum_ms:.3f} ms ({rep.gap('ops'):+.1%}): the gap is Python between the parts and the probes",
    ]
    roof = rep.roof
    if roof.get("peak_macs_per_s") and roof.get("bandwidth_bytes_per_s"):
        lines.append(f"roof: {roof['peak_macs_per_s'] / 1e9:.1f} GMAC/s ({roof['matmul_n']}^3 matmul), "
                     f"{roof['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s (copy); ridge at "
                     f"{roof['ridge_macs_per_byte']:.2f} MACs/byte")
    lines += [f"note: {n}" for n in rep.notes]
    return "\n".join(lines)


def render_energy(e: dict) -> str:
    t = e["total"]
    lines = [
        f"energy over {e['run_s']:.0f} s ({e['inferences']} images; settled {e['settle_s']:g} s after the "
        f"latency run, then an idle baseline of {e['idle_s']:g} s)",
        f"  module input  {_fmt(t.get('full_mj_per_image'), '.2f')} mJ per image "
        f"({_fmt(t.get('load_mw'), '.0f')} mW under load: what tegrastats/jtop users quote)",
        f"  rise on idle  {_fmt(t.get('rise_mj_per_image'), '.2f')} mJ per image "
        f"({_fmt(t.get('rise_mw'), '.0f')} mW above the idle {_fmt(t.get('idle_mw'), '.0f')} mW)",
        f"  total = {e['covers']}",
    ]
    for r in e["rails"]:
        lines.append(f"  {r['rail']:<18} idle {_fmt(r['idle_mw'], '.0f'):>6} mW  "
                     f"load {_fmt(r['load_mw'], '.0f'):>6} mW  "
                     f"{_fmt(r['full_mj_per_image'], '.3f'):>8} mJ/image, "
                     f"rise {_fmt(r['rise_mj_per_image'], '.3f'):>8}  "
                     f"({r['role']})")
    lines += [f"WARNING {w}" for w in e["warnings"]]
    return "\n".join(lines)


def _fmt(v, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)
