"""``lightviz devices``: calibrations that travel.

    lightviz devices export [--device D] [--dtype T] [--threads N] ... -o FILE [--name NAME]
    lightviz devices import FILE [--name NAME]
    lightviz devices list [--format table|json]
    lightviz devices remove NAME

``export`` writes this host's calibrated latency model of one setup as a device file
(:mod:`.devicefile`); on the other machine, ``import`` adds it as a named device
(:mod:`.imported`) that ``lightviz predict --on NAME``, ``lightviz pareto --max-ms X --on NAME``
and the app's "Latency on" selector use. A refused file is named in one line (exit 2) and
changes nothing.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time

from . import devicefile as D
from . import imported


def register(subparsers) -> None:
    from ..setup import add_setup_arguments

    p = subparsers.add_parser(
        "devices", help="carry latency calibrations between machines: export, import, list, remove",
        description="A calibration made on one machine (`lightviz calibrate` there) travels as one "
                    "JSON file: export it there, import it here as a named device, and predict "
                    "for it with --on NAME.")
    sub = p.add_subparsers(dest="devices_command", metavar="{export,import,list,remove}", required=True)
    e = sub.add_parser("export", help="write this host's calibrated model of one setup to a device file")
    add_setup_arguments(e, "CPU threads of the calibrated setup (default: every core this process may use)")
    e.add_argument("-o", "--output", required=True, metavar="FILE", help="the device file to write (- for stdout)")
    e.add_argument("--name", default=None,
                   help="the name it suggests to importers (default: this host's name, device and dtype)")
    e.set_defaults(run=cmd_export)
    i = sub.add_parser("import", help="add a device file to this host's store as a named device")
    i.add_argument("file", metavar="FILE")
    i.add_argument("--name", default=None, help="the device's name here (default: the name in the file)")
    i.set_defaults(run=cmd_import)
    ls = sub.add_parser("list", help="the imported devices")
    ls.add_argument("--format", choices=("table", "json"), default="table")
    ls.set_defaults(run=cmd_list)
    rm = sub.add_parser("remove", help="forget an imported device")
    rm.add_argument("name", metavar="NAME")
    rm.set_defaults(run=cmd_remove)


def default_name(setup) -> str:
    """``<host> <device> <dtype>``, with what a device name may not hold left out."""
    host = re.sub(r"[^A-Za-z0-9._-]", "", socket.gethostname())[:40] or "host"
    return f"{host} {setup.device} {setup.dtype}".strip()


def export(setup, name: str | None = None) -> dict:
    """The device file of this host's model for ``setup`` (ValueError when it has none)."""
    from ..predictor import model as M
    from ..predictor import store

    s = M.resolve(setup)
    model = store.load_model(s)
    if model is None:
        raise M.not_calibrated(s)
    passport = {k: v for k, v in store.host_identity(s.device).items() if k != "machine_id"}
    return D.document(D.check_name(name or default_name(s)), model, s, passport)


def cmd_export(args) -> int:
    from ..setup import setup_from

    doc = export(setup_from(args, require_runtime=False), args.name)
    text = D.dumps(doc) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    path = os.path.abspath(args.output)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ValueError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"wrote {args.output}: {doc['name']!r}, {doc['setup']['device']} {doc['setup']['dtype']} "
          f"({doc['model']['measurements']} networks, held-out RMSPE {doc['model']['heldout_rmspe']:.1%}); "
          f"on the other machine: lightviz devices import {os.path.basename(args.output)}")
    return 0


def cmd_import(args) -> int:
    try:
        doc = D.read(args.file)
        replaced = args.name is not None and imported.get(args.name) is not None or \
            args.name is None and imported.get(doc["name"]) is not None
        device = imported.add(doc, args.name)
    except D.DeviceFileError as exc:
        raise ValueError(f"refused {args.file}: {exc}") from None
    what = "replaced" if replaced else "imported"
    print(f"{what} {device.name!r}: {device.runtime}, {device.setup.dtype} ({device.source}); "
          f"use it with --on {_quoted(device.name)}")
    return 0


def _quoted(name: str) -> str:
    return f"'{name}'" if " " in name or "(" in name else name


def rows() -> list[dict]:
    out = []
    for d in imported.devices():
        m = d.doc["model"]
        out.append({"name": d.name, "device": d.setup.device, "runtime": d.runtime, "dtype": d.setup.dtype,
                    "batch": d.setup.batch, "threads": d.setup.threads,
                    "host": (d.doc.get("passport") or {}).get("hostname"),
                    "calibrated": time.strftime("%Y-%m-%d", time.gmtime(d.doc["calibrated_at"])),
                    "networks": m["measurements"], "heldout_rmspe": m["heldout_rmspe"]})
    return out


def cmd_list(args) -> int:
    found = rows()
    if args.format == "json":
        print(json.dumps({"devices": found}, indent=1))
        return 0
    if not found:
        print("No imported devices: `lightviz devices export -o FILE` on the other machine, then "
              "`lightviz devices import FILE` here.")
        return 0
    width = max(len(r["name"]) for r in found) + 2
    print(f"{'name':<{width}}{'runtime':<26}{'dtype':<7}{'calibrated':<12}{'networks':>9}{'RMSPE':>8}  host")
    for r in found:
        print(f"{r['name']:<{width}}{r['runtime']:<26}{r['dtype']:<7}{r['calibrated']:<12}"
              f"{r['networks']:>9}{r['heldout_rmspe']:>8.1%}  {r['host'] or '?'}")
    return 0


def cmd_remove(args) -> int:
    if not imported.remove(args.name):
        known = ", ".join(repr(n) for n in imported.names()) or "none"
        raise ValueError(f"no imported device called {args.name!r} (imported: {known})")
    print(f"removed {args.name!r}")
    return 0


# ----------------------------------------------------------------------------- predict --on

def figure_dict(fig) -> dict:
    from dataclasses import asdict

    return {**asdict(fig), "label": fig.label}


def render_figure(cfg, fig) -> str:
    """One figure for a terminal: what it is for (device, runtime, precision), the number with
    its interval and status, or ``none`` with the reason; its source."""
    from ...units import fmt_ms

    lines = [f"{cfg.label} on {fig.label}"]
    if fig.ms is None:
        lines.append(f"none       {fig.reason}")
    else:
        span = "" if fig.low == fig.high else f"   interval {fmt_ms(fig.low)} to {fmt_ms(fig.high)} ms"
        lines.append(f"{fmt_ms(fig.ms, ' ms'):>10}{span}   {fig.status}")
        lines.append(f"source     {fig.source}")
    return "\n".join(lines)


def predict_on(cfg, args) -> int:
    """``lightviz predict --on NAME``: the figure of ``cfg`` on that device."""
    from ...config import parse_precision
    from ..setup import setup_from
    from . import sources

    name = sources.check_on(args.on)
    what = (setup_from(args, require_runtime=False) if sources.kind_of(name) == sources.KIND_HOST
            else parse_precision(args.dtype))
    fig = sources.latency_on(name, cfg, what)
    if args.format == "json":
        print(json.dumps({"arch": cfg.arch, "label": cfg.label, **figure_dict(fig)}, indent=2))
    else:
        print(render_figure(cfg, fig))
    return 0
