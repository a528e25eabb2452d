"""A lesson's configurations, measured before class: ``lightviz lesson FILE`` and the Latency
page's "Measure the lesson's configurations" button.

A lesson file lists the configurations a teacher shares, one a line: the app's shared links
(``http://host:8501/?arch=resnet18&alpha=0.5&rho=0.5714``, read as the app reads them: the
same defaults for what a link leaves out), bare query strings (``arch=ghostnet&alpha=1.3``)
or the commands' options (``shufflenet_v1 --alpha 0.5 --groups 3``). Blank lines and lines
starting with ``#`` are skipped; a line that is not a valid configuration is refused in one
line naming it (nothing is measured then).

Each configuration is measured as the Latency page measures it (the same setup, the per-layer
pass unless told otherwise), one hold of the host lock each, so a student's own measurement
can come in between; and stored (:class:`~lightviz.latency.shared.Keeper`), so the students'
clicks on Measure are served from the store for the lesson (:mod:`lightviz.latency.shared`). A
configuration with a trusted stored result already is not measured again (unless ``again``).
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from ..config import Config
from .setup import BUDGET_DEFAULT_S, MeasurementError, Setup, Stopped

SOURCE_CLI = "lightviz lesson"
SOURCE_PAGE = "the lesson button"


def _from_link(text: str) -> Config:
    from ..state import parse_query

    query = urlsplit(text).query if ("://" in text or text.startswith(("/", "?"))) else text
    params = parse_qs(query, keep_blank_values=True)
    if not any(k in params for k in ("arch", "alpha", "rho", "resolution", "groups", "settings")) \
            and "=" in query:
        raise ValueError("a link without arch, alpha, rho or resolution")
    state, notices = parse_query(params)
    if notices:  # the app would replace the value; a lesson file is refused instead
        raise ValueError(str(notices[0]).split(": using ")[0])
    return state.config()


def _from_options(text: str) -> Config:
    from ..cli import Parser, UsageError, add_config_arguments, config_from_args

    parser = Parser(prog="lesson line", add_help=False)
    add_config_arguments(parser)
    try:
        args = parser.parse_args(shlex.split(text))
    except UsageError as exc:
        raise ValueError(str(exc)) from None
    return config_from_args(args)


def parse(text: str, where: str = "") -> list[Config]:
    """The configurations of a lesson file's text, in order, each once; ValueError naming the
    line (``where`` prefixes it: the file's name) for the first one that is not valid."""
    out: list[Config] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            cfg = _from_link(line) if "=" in line or "://" in line else _from_options(line)
        except ValueError as exc:
            shown = line if len(line) <= 60 else line[:57] + "..."
            raise ValueError(f"{where}line {n} ({shown!r}): {exc}") from None
        if cfg not in out:
            out.append(cfg)
    if not out:
        raise ValueError(f"{where}no configuration in it (one link or one configuration a line)")
    return out


def read(path: str) -> list[Config]:
    """:func:`parse` of a file (``-``: standard input); ValueError in one line."""
    if path == "-":
        return parse(sys.stdin.read(), "stdin: ")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(1 << 20)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the lesson file {path}: {exc}") from None
    return parse(text, f"{path}: ")


def _row(cfg: Config, status: str, rec: dict | None = None, error: str | None = None) -> dict:
    row = {"label": cfg.label, "arch": cfg.arch, "alpha": cfg.alpha, "resolution": cfg.resolution,
           "groups": cfg.groups, "status": status, "median_ms": None, "spread": None,
           "warnings": None, "layers": None, "taken_at": None, "error": error}
    if rec is not None:
        row.update(median_ms=rec["median_ms"], spread=rec.get("spread"),
                   warnings=len(rec.get("warnings") or []), layers=bool(rec.get("layers")),
                   taken_at=rec["taken_at"])
    return row


def measure(configs: list[Config], setup: Setup, layers: bool = True, again: bool = False,
            source: str = SOURCE_CLI, lock_timeout: float | None = None, on_wait=None,
            on_point: Callable[[int, Config, str], None] | None = None,
            should_stop=None) -> list[dict]:
    """Measure each configuration not yet stored with a trusted result (all with ``again``);
    one row each: ``status`` "stored" (reused as is), "measured" or "failed" (``error``)."""
    from .lab.protocol import Bench
    from .predictor import store
    from .predictor.model import resolve
    from .shared import Keeper

    keeper = Keeper(source)
    bench = Bench(should_stop=should_stop, on_result=keeper)
    rows = []
    try:
        for i, cfg in enumerate(configs):
            rec = None if again else store.shared(cfg, resolve(setup), layers=layers,
                                                  budget_s=setup.budget_s)
            if rec is not None and rec["trusted"]:
                rows.append(_row(cfg, "stored", rec))
                continue
            if on_point is not None:
                on_point(i, cfg, "measuring")
            try:
                rows.append(_measure_one(bench, keeper, cfg, setup, layers, lock_timeout, on_wait))
            except Stopped as exc:  # the caller withdrew (a closed tab): the rest is not measured
                rows.append(_row(cfg, "failed", error=str(exc)))
                break
    finally:
        bench.release()
    return rows


def _measure_one(bench, keeper, cfg, setup, layers, lock_timeout, on_wait) -> dict:
    from .lab.lock import LockTimeout
    from .predictor import store
    from .predictor.model import resolve

    report, t0 = None, time.time()
    try:
        bench.check(cfg, setup, whole=True, layers=layers)
        with bench.lock.hold(f"{keeper.source} {cfg.label} on {setup.label}", lock_timeout, on_wait):
            bench.run(cfg, setup)
            report = bench.layers(cfg, setup) if layers else None
    except Stopped:
        raise
    except (ValueError, MeasurementError, LockTimeout) as exc:
        return _row(cfg, "failed", error=str(exc))
    finally:
        keeper.flush(report)
    # the measurement's own record (the per-layer pass's part finishes later, stored apart)
    mine = [r for r in store.measurements(resolve(setup), cfg)
            if r.get("source") == keeper.source and r["taken_at"] >= t0]
    return _row(cfg, "measured", mine[-1] if mine else None)


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def register(subparsers) -> None:
    from .setup import add_setup_arguments

    p = subparsers.add_parser(
        "lesson", help="measure a lesson's configurations before class, for the students' clicks",
        description="Measure each configuration of a lesson file (shared links, query strings "
                    "or ARCH --alpha A ... lines, one a line) as the Latency page measures it, "
                    "and store it: a student who presses Measure on one of them is shown this "
                    "result (it says so, when and how it was taken) instead of queueing. A "
                    "configuration already stored with a trusted result is not measured again.")
    p.add_argument("file", metavar="FILE", help="the lesson file (- for standard input)")
    add_setup_arguments(p, "CPU threads, pinned for each measurement (default: as the Latency "
                           "page, torch's current count within the usable cores)")
    p.add_argument("--budget", default=str(BUDGET_DEFAULT_S),
                   help=f"seconds for warm-up and timed runs of each (default {BUDGET_DEFAULT_S:g}, "
                        "the page's)")
    p.add_argument("--no-layers", dest="layers", action="store_false",
                   help="skip the per-layer pass (default: taken, as the page's Per layer box is "
                        "ticked by default; a student who ticks it needs one)")
    p.add_argument("--again", action="store_true",
                   help="measure every configuration, even one stored with a trusted result")
    p.add_argument("--lock-timeout", default="600",
                   help="seconds to wait for another measurement on this host (default 600)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.set_defaults(run=cmd_lesson)


def cmd_lesson(args) -> int:
    import json

    from ..units import json_value
    from .cli import EXIT_FAILED
    from .setup import positive_seconds, setup_from

    configs = read(args.file)
    if args.threads is None:  # as the Latency page: torch's count within the usable cores
        import torch

        from .host.cpu import usable_cores

        args.threads = str(max(1, min(torch.get_num_threads(), usable_cores())))
    setup = setup_from(args)
    lock_timeout = positive_seconds("--lock-timeout", args.lock_timeout)

    def on_point(i, cfg, what):
        print(f"lightviz: {i + 1}/{len(configs)} {what} {cfg.label} ...", file=sys.stderr)

    rows = measure(configs, setup, args.layers, args.again, SOURCE_CLI, lock_timeout,
                   on_point=on_point)
    if args.format == "json":
        print(json.dumps({"setup": setup.label, "rows": rows}, indent=2, default=json_value))
    elif args.format == "csv":
        import pandas as pd

        pd.DataFrame(rows).to_csv(sys.stdout, index=False)
    else:
        print(render(rows, setup))
    failed = [r for r in rows if r["status"] == "failed"]
    for r in failed:
        print(f"lightviz: error: {r['label']}: {r['error']}", file=sys.stderr)
    return EXIT_FAILED if failed else 0


def render(rows: list[dict], setup: Setup) -> str:
    lines = [f"lesson on {setup.label}, {setup.budget_s:g} s budget",
             f"{'configuration':<44} {'status':<9} {'median ms':>10} {'spread':>7}  per layer  warnings"]
    for r in rows:
        med = f"{r['median_ms']:10.3f}" if r["median_ms"] is not None else f"{'-':>10}"
        spread = f"{r['spread']:7.1%}" if r["spread"] is not None else f"{'-':>7}"
        layers = {True: "yes", False: "no", None: "-"}[r["layers"]]
        warn = "-" if r["warnings"] is None else str(r["warnings"])
        lines.append(f"{r['label'][:44]:<44} {r['status']:<9} {med} {spread}  {layers:<9}  {warn}")
    trusted = sum(1 for r in rows if r["status"] != "failed" and r["warnings"] == 0)
    lines.append(f"{trusted} of {len(rows)} stored with a trusted result (no warning): students "
                 "pressing Measure on them are served from the store for the lesson")
    return "\n".join(lines)
