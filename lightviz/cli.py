"""The ``lightviz`` command: ``list``, ``profile``, ``diagram``, ``dsc``, ``bench``, ``pareto``,
``app``.

Every command turns its options into a :class:`~lightviz.config.Config` through
:func:`~lightviz.configure.make_config`, so a bad value gets the same one-line message as in the
Python API and the app, and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from .config import DEFAULT_PRECISION, PRECISION_BYTES, PRECISIONS, parse_precision
from .configure import make_config
from .zoo import REGISTRY
from .zoo.table import differences, load_settings

EXIT_USAGE = 2
# Subcommands that live beside the code they drive: module -> its register(subparsers).
PLUGINS = ("lightviz.diagrams.cli", "lightviz.latency.cli", "lightviz.latency.lesson", "lightviz.latency.model_cli",
           "lightviz.pareto", "lightviz.latency.devices.cli")


EXAMPLES = """examples:
  lightviz list
  lightviz profile mobilenet_v2 --alpha 0.5 --resolution 160
  lightviz profile resnet18 --settings '{"layers": [2, 2, 4, 2]}'
  lightviz diagram ghostnet --block stage3.0 --format svg > block.svg
  lightviz bench mobilenet_v2 --threads 1
  lightviz app

'lightviz COMMAND --help' lists a command's options."""


class UsageError(Exception):
    """A bad command line: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse with lightviz's errors: one line, exit status 2, no usage dump."""

    def error(self, message):  # one line, status 2, no usage dump
        raise UsageError(message)


def add_config_arguments(parser: argparse.ArgumentParser, arch: bool = True) -> None:
    """The options every command shares; the names match the app's query parameters."""
    # The help names the built-in architectures only: listing the plugins' would scan the
    # installed packages on every command (`lightviz list` shows them all).
    builtin = [REGISTRY[name] for name in REGISTRY.builtin]
    if arch:
        parser.add_argument("arch", help=f"one of {', '.join(a.name for a in builtin)} "
                                         f"or a plugin's (lightviz list)")
    parser.add_argument("--alpha", default="1.0", help="width multiplier, 0.25 to 2.0 (default 1.0)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--rho", default=None, help="resolution multiplier: input = round(224 x rho)")
    size.add_argument("--resolution", default=None, help="input side in pixels, 32 to 512 (default 224)")
    having = [a for a in builtin if a.variant("groups")]
    parser.add_argument("--groups", default=None, help="; ".join(
        f"{a.family} groups, one of {a.variant('groups').values} (default {a.variant('groups').default})"
        for a in having) or "group count, for the architectures that have it (lightviz list)")
    parser.add_argument("--classes", default="1000", help="classifier outputs (default 1000)")
    parser.add_argument("--settings", default=None, metavar="FILE|JSON",
                        help="edit the architecture's table: a JSON object in the paper's terms "
                             "(keys left out keep the paper's values), or a file holding one; "
                             "e.g. mobilenet_v2 '{\"layers\": [[1,16,1,1], [6,24,2,2], ...]}'")


def config_from_args(args):
    """The checked Config of parsed arguments (ValueError with the shared message)."""
    settings = getattr(args, "settings", None)
    if settings is not None:
        settings = load_settings(settings)
    return make_config(
        args.arch,
        alpha=args.alpha,
        rho=1.0 if args.rho is None else args.rho,
        resolution=args.resolution,
        groups=args.groups,
        classes=args.classes,
        settings=settings,
    )


def cmd_list(args) -> int:
    if args.format == "json":
        print(json.dumps([{"arch": a.name, "family": a.family, "label": a.label, "paper": a.paper,
                           "variants": {v.name: {"values": list(v.values), "default": v.default}
                                        for v in a.variants}}
                          for a in REGISTRY.values()], indent=2))
    else:
        for a in REGISTRY.values():
            extra = "".join(f"  (--{v.name} {'/'.join(map(str, v.values))})" for v in a.variants)
            print(f"{a.name:<14} {a.family:<14} {a.paper}{extra}")
    return 0


def cmd_profile(args) -> int:
    from .counting import count

    cfg = config_from_args(args)
    prof = count(cfg, elementwise=args.elementwise)
    dtype = parse_precision(args.dtype)
    if args.summary:
        print(render_summary(prof, args.format, dtype), end="")
    elif args.format == "json":
        from .outputs import profile_json

        print(json.dumps(profile_json(prof, dtype)))
    elif args.format == "csv":
        from .outputs import layers_csv

        sys.stdout.write(layers_csv(prof, dtype))
    else:
        print(render_table(prof, dtype))
    return 0


def render_table(prof, dtype: str = DEFAULT_PRECISION) -> str:
    """The per-layer table and the totals, for a terminal: exact counts with thousands
    separators, rounded ones and sizes as :mod:`lightviz.units` writes them."""
    from .units import fmt_exact

    cols = ["path", "kind", "kernel", "stride", "groups", "in_shape", "out_shape", "params", "macs"]
    df = prof.layers[cols].astype(object).where(prof.layers[cols].notna(), "")
    for col in ("params", "macs"):
        df[col] = df[col].map(fmt_exact)
    return "\n".join([df.to_string(index=False), "", *_totals_lines(prof, dtype)])


def _totals_lines(prof, dtype: str = DEFAULT_PRECISION) -> list[str]:
    from .deployment import memory_fields
    from .units import fmt_bytes, fmt_count

    m = memory_fields(prof, dtype)
    b = PRECISION_BYTES[dtype]

    c = prof.config
    g = f"  groups {c.groups}" if c.groups is not None else ""
    ew = " incl. elementwise" if prof.elementwise else ""
    return [
        f"{c.arch}  alpha {c.alpha:g}  rho {c.rho:.3f}  input 3x{c.resolution}x{c.resolution}{g}  classes {c.classes}",
        *_custom_lines(c),
        f"params  {prof.params:>15,}  ({fmt_count(prof.params)} parameters, nn.Module.parameters())",
        f"MACs    {prof.macs:>15,}  ({fmt_count(prof.macs)} multiply-accumulates: convolutions + classifier)",
        f"FLOPs   {prof.flops:>15,}  ({fmt_count(prof.flops)} = 2 x MACs{ew})",
        f"weight bytes {fmt_bytes(m['weight_bytes'])} ({m['weight_bytes']:,} bytes = params x {b}, "
        f"{dtype}); as stored {fmt_bytes(m['flash_bytes'])} (BN folded into one bias per channel"
        f"{', int32 biases' if dtype == 'int8' else ''})",
        f"deployment peak {fmt_bytes(m['deployment_peak_bytes'])} ({m['deployment_peak_bytes']:,} "
        f"bytes, {dtype}, MCUNet's rule: fused ops hold input + output), at "
        f"{m['deployment_peak_op']}",
        f"  with in-place depthwise {fmt_bytes(m['deployment_peak_bytes_inplace'])} "
        f"({m['deployment_peak_bytes_inplace']:,} bytes), at {m['deployment_peak_op_inplace']}",
        f"peak activations {fmt_bytes(m['every_op_peak_bytes'])} "
        f"({m['every_op_peak_bytes']:,} bytes, batch 1, {dtype}, every op writes a new tensor)",
    ]


def render_summary(prof, fmt: str = "table", dtype: str = DEFAULT_PRECISION) -> str:
    """``lightviz profile --summary``: the totals without the layer rows, with the estimated
    top-1 (its digits as the app's, :func:`lightviz.units.fmt_top1`); ``fmt`` table, json (the
    ``--format json`` object without ``layers``) or csv (a header and one row). Ends in a
    newline."""
    from .accuracy_int8 import estimate_for
    from .deployment import memory_fields
    from .outputs import profile_json
    from .units import fmt_top1, fmt_top1_range

    e = estimate_for(prof.config, dtype)
    if fmt == "json":
        whole = profile_json(prof, dtype)
        return json.dumps({k: v for k, v in whole.items() if k != "layers"}) + "\n"
    if fmt == "csv":
        import csv
        import io

        row = {**prof.totals(), "custom": prof.config.settings is not None,
               "top1": e.to_dict()["value"], "top1_low": e.to_dict()["low"],
               "top1_high": e.to_dict()["high"], "top1_status": e.status,
               **memory_fields(prof, dtype)}
        out = io.StringIO()
        w = csv.DictWriter(out, list(row), lineterminator="\n")
        w.writeheader()
        w.writerow(row)
        return out.getvalue()
    if e.value is None:
        top1 = f"top-1   {fmt_top1(None)} ({e.method})"
    else:
        spread = f", {fmt_top1_range(e.low, e.high, '-')}" if e.high > e.low else ""
        how = e.quantization or ("the fp32 figure, assumed unchanged in fp16" if dtype == "fp16"
                                 else "")
        top1 = (f"top-1   {fmt_top1(e.value, ' %')} ({e.status}{spread}; an estimate, not a "
                f"measurement{'; ' + how if how else ''})")
    return "\n".join([*_totals_lines(prof, dtype), top1]) + "\n"


def _custom_lines(cfg) -> list:
    """For an edited table: "custom table (not a published network): what differs"."""
    if cfg.settings is None:
        return []
    return [f"custom table (not a published network): {'; '.join(differences(cfg))}"]


def cmd_app(args) -> int:
    """Start the Streamlit app with the project's server settings (.streamlit/config.toml).

    The process becomes Streamlit (exec), so a service manager's SIGTERM reaches the server."""
    import os

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = os.path.join(root, "app.py")
    if not os.path.exists(app):
        raise UsageError(f"app.py not found beside the lightviz package ({app})")
    address = "0.0.0.0" if args.lan else args.address
    if not 1 <= args.port <= 65535:
        raise UsageError(f"port {args.port} is out of range: choose 1 to 65535")
    busy = port_busy(address, args.port)
    if busy:
        raise UsageError(f"port {args.port} on {address} is busy ({busy}): choose another with "
                         f"--port N, e.g. --port {args.port + 1}")
    cmd = [sys.executable, "-m", "streamlit", "run", app, "--server.address", address,
           "--server.port", str(args.port), "--server.headless", "true"]
    os.chdir(root)  # so Streamlit reads the project's .streamlit/config.toml
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, cmd)
    return 0  # not reached


def port_busy(address: str, port: int) -> str | None:
    """Why Streamlit could not listen on ``address:port`` (the OS's reason, e.g. "Address
    already in use"), or None when it can: the port is tried once and let go at once."""
    import socket

    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UsageError(f"address {address!r} does not resolve ({exc.strerror or exc}): give "
                         f"an IP address or host name with --address") from None
    family, _, _, _, sockaddr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if hasattr(socket, "SO_REUSEADDR"):  # as a server sets it: a port in TIME_WAIT is free
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(sockaddr)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="lightviz", description="See and measure lightweight CNNs.",
                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    p = sub.add_parser("list", help="the architectures in the zoo")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(run=cmd_list)

    p = sub.add_parser("profile", help="per-layer params, MACs and FLOPs of one configuration")
    add_config_arguments(p)
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--elementwise", action="store_true",
                   help="add the elementwise work (BN, activations, adds, pooling) to FLOPs")
    p.add_argument("--summary", action="store_true",
                   help="the totals and the estimated top-1 only, no layer rows (in --format "
                        "table, json or csv)")
    p.add_argument("--dtype", default=DEFAULT_PRECISION,
                   help=f"precision of the byte figures: {', '.join(PRECISIONS)} (default "
                        f"{DEFAULT_PRECISION}); weight bytes, activation bytes and the deployment "
                        f"peaks change, params and MACs do not")
    p.set_defaults(run=cmd_profile)

    p = sub.add_parser("app", help="start the web app (streamlit run app.py)")
    p.add_argument("--address", default="127.0.0.1", help="bind address (default localhost only)")
    p.add_argument("--lan", action="store_true", help="listen on every interface (0.0.0.0): the LAN can reach it")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.set_defaults(run=cmd_app)

    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # that part of lightviz is not there: no command
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue
        module.register(sub)
    return parser


def one_line(text: str) -> str:
    """``text`` with newlines and other control characters escaped, so a message that echoes
    user input stays one line and cannot drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
        if not argv:  # a bare `lightviz` asks what it can do: the help, not an error
            parser.print_help(sys.stdout)
            return 0
        args = parser.parse_args(argv)
        return args.run(args)
    except (UsageError, ValueError) as exc:
        print(f"lightviz: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    # Run the imported module's main, so plugins raise the same UsageError class it catches.
    from lightviz.cli import main as _main

    sys.exit(_main())
