"""``lightviz diagram`` and ``lightviz dsc``: the diagrams and the calculator for scripts and slides.

Bad input raises ValueError (not ``lightviz.cli.UsageError``: under ``python -m lightviz.cli`` that
module runs as ``__main__`` and its class is another one); ``lightviz.cli.main`` prints it as one
line and exits with status 2.
"""

from __future__ import annotations

import json
import sys

from ..units import fmt_count
from . import calculator, dot


def register(subparsers) -> None:
    """Add the ``diagram`` and ``dsc`` subcommands to ``lightviz``'s parser."""
    from ..cli import add_config_arguments

    p = subparsers.add_parser(
        "diagram", help="DOT (or SVG) of a block, of the whole network, or of its channel shuffle",
        description="Print a diagram drawn from the profile rows of one configuration: a block "
                    "(--block STAGE.INDEX, e.g. stage2.0, conv3_x.1, stem, head; a sub-unit such as "
                    "stage3.0.ghost1 also works), the whole network with repeated blocks folded "
                    "(--overview, the default), or the channel shuffle of ShuffleNet (--shuffle).")
    add_config_arguments(p)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--block", metavar="STAGE.INDEX", default=None,
                      help="the block to draw (e.g. stage2.0; a wrong name lists the valid ones)")
    what.add_argument("--overview", action="store_true",
                      help="the whole network, stages as clusters, repeats folded (default)")
    what.add_argument("--shuffle", action="store_true",
                      help="how the channel shuffle interleaves groups (ShuffleNet v1/v2)")
    p.add_argument("--format", choices=("dot", "svg"), default="dot",
                   help="dot (default, needs nothing) or svg (needs Graphviz's `dot` on PATH)")
    p.add_argument("--color-by", dest="weight", choices=dot.WEIGHTS, default="macs",
                   help="node fill: share of the MACs (default) or of the params")
    p.add_argument("--ops", action="store_true",
                   help="one node per op (batch norm and activations as their own nodes)")
    p.add_argument("--transparent", action="store_true",
                   help="transparent background (default: white, for slides)")
    p.set_defaults(run=cmd_diagram)

    p = subparsers.add_parser(
        "dsc", help="standard vs depthwise separable convolution: params and MACs (MobileNets Table 3)",
        description="Parameters and MACs (multiply-accumulates) of one K x K convolution, M -> N "
                    "channels on a D_F x D_F map, standard against depthwise separable, with width "
                    "multiplier alpha (alpha M, alpha N) and resolution multiplier rho (rho D_F). "
                    "Weights only, as in the paper. Example (Table 3): --kernel 3 --in 512 --out 512 "
                    "--size 14 --alpha 0.75 --rho 0.714")
    p.add_argument("--kernel", required=True, metavar="K", help="kernel size D_K")
    p.add_argument("--in", dest="in_ch", required=True, metavar="M", help="input channels M")
    p.add_argument("--out", dest="out_ch", required=True, metavar="N", help="output channels N")
    p.add_argument("--size", required=True, metavar="D_F", help="feature map side D_F")
    p.add_argument("--alpha", default="1.0", help="width multiplier (default 1)")
    p.add_argument("--rho", default="1.0", help="resolution multiplier (default 1)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=cmd_dsc)


def cmd_diagram(args) -> int:
    from ..cli import config_from_args

    cfg = config_from_args(args)
    if args.format == "svg" and not dot.dot_available():
        raise ValueError("--format svg needs Graphviz's `dot` on PATH (Debian/Ubuntu: apt-get install "
                         "graphviz); --format dot needs nothing")
    background = None if args.transparent else "white"
    if args.shuffle:
        text = _shuffle_for(cfg, background)
    elif args.block is not None:
        block, part = dot.parse_block(cfg, args.block)
        text = dot.block_dot(cfg, block, part, weight=args.weight, ops=args.ops, background=background)
    else:
        text = dot.overview_dot(cfg, weight=args.weight, background=background)
    if args.format == "svg":
        text = dot.to_svg(text)
    sys.stdout.write(text)
    return 0


def _shuffle_for(cfg, background):
    """The shuffle picture of the first channel shuffle of ``cfg``'s network."""
    r = next((r for r in dot.as_profile(cfg).rows if r.op == "channel_shuffle"), None)
    if r is None:
        raise ValueError(f"{cfg.arch} has no channel shuffle: --shuffle is for shufflenet_v1 and "
                         f"shufflenet_v2")
    return dot.shuffle_dot(r.groups, r.out_c, background=background, where=f"{cfg.label}, {r.path}")


def cmd_dsc(args) -> int:
    result = calculator.dsc(args.kernel, args.in_ch, args.out_ch, args.size, args.alpha, args.rho)
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print(render_dsc(result))
    return 0


def render_dsc(result) -> str:
    """The calculator's result as a terminal table in the layout of MobileNets' Table 3."""
    i, e = result["inputs"], result["effective"]
    k = i["kernel"]
    head = (f"one {k}x{k} convolution, M = {i['in']} -> N = {i['out']} channels, "
            f"D_F = {i['size']} (stride 1, same padding)")
    rows = []
    for row in result["table"]:
        where = f"  ({row['in']}->{row['out']} ch, {row['size']}x{row['size']})" \
            if (row["alpha"], row["rho"]) != (1.0, 1.0) else ""
        rows.append((row["layer"] + where, fmt_count(row["macs"]), f"{row['macs']:,}",
                     fmt_count(row["params"]), f"{row['params']:,}"))
    # each column as wide as its widest cell (a scaled row's label is longer than the others):
    # the rounded and the exact counts right-aligned apart, so both line up
    w = [max([len(r[i]) for r in rows] + [floor]) for i, floor in enumerate((34, 6, 9, 6, 7))]

    def cells(r):
        return (f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}} ({r[2]:>{w[2]}})  "
                f"{r[3]:>{w[3]}} ({r[4]:>{w[4]}})")
    width = len(cells(rows[0]))
    mac_end = w[0] + 2 + w[1] + 2 + w[2] + 1
    lines = [head, "", f"{'layer':<{w[0]}}{'MACs (mult-adds)':>{mac_end - w[0]}}"
                       f"{'params (weights)':>{width - mac_end}}"]
    lines += [cells(r) for r in rows]
    std, sep = result["standard"], result["separable"]
    scaled = (i["alpha"], i["rho"]) != (1.0, 1.0)
    at = f" at alpha {i['alpha']:g}, rho {i['rho']:g} (M' {e['in']}, N' {e['out']}, D_F' {e['size']})" \
        if scaled else ""
    lines += [
        "",
        f"separable{at}: depthwise {sep['depthwise']['macs']:,} + pointwise {sep['pointwise']['macs']:,}"
        f" = {sep['macs']:,} MACs; standard {std['macs']:,}",
        f"ratio separable / standard = 1/N + 1/K^2 = 1/{e['out']} + 1/{k * k} = {result['ratio']:.4f}"
        f"  ({result['saving']:.1f}x fewer MACs and params)",
        "MACs = multiply-accumulates (the paper's Mult-Adds; 1 MAC = 2 FLOPs); params = weights, "
        "no bias or batch norm",
    ]
    return "\n".join(lines)
