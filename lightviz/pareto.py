"""The Pareto front of estimated top-1 against cost, and the ``lightviz pareto`` command.

A grid over every family (α on the slider's 0.05 steps from 0.25 to 2, resolution on its 8 px
steps from 32 to 512, every ShuffleNet v1 group count), cut to the box around each family's
published points (widened by the extrapolation reach with ``--extrapolate``), is estimated with
:func:`lightviz.accuracy.estimate` first, which is cheap and rules out every configuration
without an estimate; only the rest are counted (about 1 ms each, cached), and along each α the
resolutions are walked upwards only while the cost stays within the budget (MACs and predicted
latency grow with the input; params do not depend on it at all).

A configuration is on the front when no other configuration under the budget costs no more and
has a higher estimated top-1. By default only ``published`` and ``interpolated`` estimates take
part; ``extrapolated`` ones join with ``--extrapolate``. With ``--max-ms`` a configuration's
latency is :func:`lightviz.tradeoff.latency_cost`'s (measured where stored, else predicted: the
``ms_status`` column), the rule the app's Pareto view uses too. ``--dtype int8`` ranks by the
int8 top-1 estimate (:func:`lightviz.accuracy_int8.estimate_for`: the fp32 estimate minus the
family's fitted int8 drop, ``none`` for families without int8 points); every row names its
``precision`` and the ``quantization`` it stands for.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from collections.abc import Callable, Sequence

import numpy as np

from .accuracy import EXTRAPOLATED, INTERPOLATED, NOTE, PUBLISHED, REACH, estimate, families
from .accuracy_int8 import estimate_for
from .config import BASE_RESOLUTION, Config, number
from .configure import arch_names
from .tradeoff import ALPHA_STOPS, RESOLUTION_STOPS, latency_costs, totals
from .zoo import REGISTRY

COSTS = ("macs", "params", "ms")
SUFFIXES = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def parse_count(name: str, text) -> float:
    """A positive count such as ``300M``, ``1.5G``, ``800k`` or ``4e6`` (ValueError naming
    ``name`` otherwise)."""
    m = re.fullmatch(r"\s*([0-9.eE+-]+?)\s*([kKmMgGtT]?)\s*", str(text))
    if not m:
        raise ValueError(f"{name} must be a count such as 300M, 1.5G or 4e6, got {text!r}")
    value = number(name, m.group(1)) * SUFFIXES[m.group(2).lower()]
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {text!r}")
    return value


def keys() -> list[tuple[str, int | None]]:
    """Every (arch, groups) the grid covers: each registered architecture, with every value of
    its ``groups`` variant where it has one."""
    out: list[tuple[str, int | None]] = []
    for a in arch_names():
        v = REGISTRY[a].variant("groups")
        out += [(a, g) for g in (v.values if v else (None,))]
    return out


def allowed_statuses(extrapolate: bool) -> tuple[str, ...]:
    return (PUBLISHED, INTERPOLATED, EXTRAPOLATED) if extrapolate else (PUBLISHED, INTERPOLATED)


def _row(cfg: Config, est, macs: int, params: int) -> dict:
    """A grid row: the figures rounded as JSON and CSV write them (the front is taken on
    those), the estimate itself under ``*_exact`` for text (:func:`lightviz.units.fmt_top1`
    rounds it once, so the app and the command print the same digits), and the source of a
    published value (:func:`lightviz.accuracy.published_top1`'s, as on Compare and Explore)."""
    return {"arch": cfg.arch, "groups": cfg.groups, "alpha": cfg.alpha,
            "resolution": cfg.resolution, "macs": macs, "params": params,
            "top1": round(est.value, 2), "top1_low": round(est.low, 2),
            "top1_high": round(est.high, 2), "status": est.status,
            "source": est.sources[0] if est.status == PUBLISHED else None,
            "top1_exact": est.value, "top1_low_exact": est.low, "top1_high_exact": est.high,
            "precision": getattr(est, "precision", "fp32"),
            "quantization": getattr(est, "quantization", "")}


def candidates(extrapolate: bool = False,
               fits: Callable[[Config, int, int], dict | None] | None = None,
               monotone_cost: bool = True, stride: tuple[int, int] = (1, 1),
               precision: str = "fp32") -> list[dict]:
    """Every grid configuration with an allowed estimate, counted; ``fits(cfg, macs, params)``
    returns the extra columns of a configuration within the budget, or None to drop it (and,
    when ``monotone_cost``, every larger resolution at the same α). ``stride`` thins the grid
    (every n-th α, every m-th resolution); ``precision`` the top-1's (fp32, fp16, int8)."""
    allowed = allowed_statuses(extrapolate)
    fams = families()
    out = []
    reach = REACH if extrapolate else 0.0
    for arch, groups in keys():
        fam = fams.get((arch, groups))
        if fam is None:
            continue
        (a_lo, r_lo), (a_hi, r_hi) = (np.exp(fam.xy.min(axis=0) - reach - 1e-9),
                                      np.exp(fam.xy.max(axis=0) + reach + 1e-9))
        r_lo, r_hi = r_lo * BASE_RESOLUTION, r_hi * BASE_RESOLUTION
        for alpha in ALPHA_STOPS[::stride[0]]:
            if not a_lo <= alpha <= a_hi:
                continue
            for res in RESOLUTION_STOPS[::stride[1]]:
                if not r_lo <= res <= r_hi:
                    continue
                cfg = Config(arch, alpha, res, groups)
                est = estimate(cfg) if precision == "fp32" else estimate_for(cfg, precision)
                if est.status not in allowed:
                    continue
                macs, params = totals(arch, alpha, res, groups)
                extra = {} if fits is None else fits(cfg, macs, params)
                if extra is None:
                    if monotone_cost:
                        break
                    continue
                out.append({**_row(cfg, est, macs, params), **extra})
    return out


def front(rows: Sequence[dict], cost: str) -> list[dict]:
    """The rows no other row dominates (costs no more and has a higher top-1), best first."""
    ordered = sorted(rows, key=lambda r: (r[cost], -r["top1"]))
    out, best = [], -math.inf
    for r in ordered:
        if r["top1"] > best + 1e-9:
            out.append(r)
            best = r["top1"]
    return sorted(out, key=lambda r: (-r["top1"], r[cost]))


def pareto(max_macs: float | None = None, max_params: float | None = None,
           max_ms: float | None = None, setup=None, extrapolate: bool = False,
           precision: str = "fp32", max_sram: int | None = None,
           max_flash: int | None = None) -> list[dict]:
    """The front of the top-1 at ``precision`` under one budget (at most one of ``max_macs``,
    ``max_params``, ``max_ms``; ``max_ms`` needs a latency ``setup``), best first. ``max_sram``
    and ``max_flash`` (bytes, int8 as a microcontroller runs it:
    :func:`lightviz.boards.within_memory`) may join it or stand alone; then the front is taken
    over every budgeted quantity (:func:`front_of`)."""
    given = [n for n, v in (("macs", max_macs), ("params", max_params), ("ms", max_ms))
             if v is not None]
    memory = [n for n, v in (("sram", max_sram), ("flash", max_flash)) if v is not None]
    if len(given) > 1 or not given and not memory:
        raise ValueError("give one budget: --max-macs, --max-params or --max-ms, and/or "
                         "--max-sram, --max-flash or --board")
    if memory:
        return _memory_pareto(given[0] if given else None, max_macs, max_params, max_ms, setup,
                              extrapolate, max_sram, max_flash, precision)
    cost = given[0]
    if cost == "macs":
        rows = candidates(extrapolate, lambda c, m, p: {} if m <= max_macs else None,
                          precision=precision)
    elif cost == "params":
        rows = candidates(extrapolate, lambda c, m, p: {} if p <= max_params else None,
                          monotone_cost=False, precision=precision)
    else:
        at = latency_costs(setup)  # measured where stored, else predicted (as in the app)

        def fits(cfg, m, p):
            c = at(cfg)
            return c.columns() if c.ms <= max_ms else None
        rows = candidates(extrapolate, fits, monotone_cost=False, precision=precision)
        return [{**r, "ms": round(r["ms"], 3), "ms_low": round(r["ms_low"], 3),
                 "ms_high": round(r["ms_high"], 3), "ms_exact": r["ms"]}
                for r in front(rows, cost)]
    return front(rows, cost)


def front_of(rows: Sequence[dict], costs: Sequence[str]) -> list[dict]:
    """The rows no other row dominates over several costs (one that costs no more in every
    one and has a higher top-1), best first; :func:`front` for one cost."""
    if len(costs) == 1:
        return front(rows, costs[0])
    out: list[dict] = []
    for r in sorted(rows, key=lambda r: (-r["top1"], *(r[c] for c in costs))):
        # sorted so, whatever dominates r comes before it (and a kept row dominated by
        # another kept row cannot be: the relation is transitive)
        if not any(all(o[c] <= r[c] for c in costs) for o in out):
            out.append(r)
    return out


def _memory_pareto(cost, max_macs, max_params, max_ms, setup, extrapolate, max_sram, max_flash,
                   precision="fp32"):
    """:func:`pareto` with a memory budget (SRAM and/or flash, int8, on a microcontroller)."""
    from .boards import memory_columns, within_memory

    memory = within_memory(max_sram, max_flash)
    at = latency_costs(setup) if cost == "ms" else None

    def fits(cfg, m, p):
        if (max_macs is not None and m > max_macs) or (max_params is not None and p > max_params):
            return None
        extra = memory(cfg)
        if extra is None or at is None:
            return extra
        c = at(cfg)
        return {**extra, **c.columns()} if c.ms <= max_ms else None
    # flash and params do not grow with the resolution, MACs and SRAM do: every failure but a
    # latency one holds for the larger resolutions too
    rows = candidates(extrapolate, fits, monotone_cost=cost != "ms", precision=precision)
    costs = [c for c in (cost, "sram" if max_sram is not None else None,
                         "flash" if max_flash is not None else None) if c]
    return [{**r, **memory_columns(Config(r["arch"], r["alpha"], r["resolution"], r["groups"]))}
            for r in front_of(rows, costs)]


def pareto_on(max_ms: float, on: str, what, extrapolate: bool = False,
              precision: str = "fp32") -> tuple[list[dict], int]:
    """(the front under ``max_ms`` on the device ``on``, best first; how many configurations
    with an estimate were left out because the device says ``none`` about them). ``what`` is
    this host's setup, or the precision asked of another device
    (:func:`lightviz.latency.devices.sources.latency_on`, the rule the app's Pareto view uses
    too). Each row says its device (``device``: device · runtime · precision) and ``ms_status``."""
    from .latency.devices import sources

    at = sources.figures(on, what)
    if sources.kind_of(sources.check_on(on)) == sources.KIND_HOST:
        from .latency.predictor import model as M
        from .latency.predictor import store

        if store.load_model(M.resolve(what)) is None:  # one line naming the command, as without --on
            raise M.not_calibrated(what)
    silent = 0

    def fits(cfg, m, p):
        nonlocal silent
        f = at(cfg)
        if f.ms is None:
            silent += 1
            return None
        return None if f.ms > max_ms else {"ms": f.ms, "ms_low": f.low, "ms_high": f.high,
                                            "ms_status": f.status, "device": f.label}
    rows = candidates(extrapolate, fits, monotone_cost=False, precision=precision)
    return [{**r, "ms": round(r["ms"], 3), "ms_low": round(r["ms_low"], 3),
             "ms_high": round(r["ms_high"], 3), "ms_exact": r["ms"]} for r in front(rows, "ms")], silent


# ----------------------------------------------------------------------------- the command

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pareto", help="the configurations with the best estimated top-1 under a budget")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--max-macs", default=None, metavar="N",
                        help="most multiply-accumulates per image, e.g. 300M")
    budget.add_argument("--max-params", default=None, metavar="N",
                        help="most parameters, e.g. 3.5M")
    budget.add_argument("--max-ms", default=None, metavar="X",
                        help="most milliseconds per call on this host's calibrated setup: measured where "
                             "stored, else predicted (the ms_status column says which)")
    mem = p.add_argument_group("microcontroller budgets (int8, lightviz.boards: SRAM = deployment "
                               "peak with in-place depthwise + runtime buffers, flash = weights + "
                               "runtime code; K = 1024 bytes, as the datasheets)")
    mem.add_argument("--max-sram", default=None, metavar="N", help="most SRAM bytes, e.g. 320K")
    mem.add_argument("--max-flash", default=None, metavar="N", help="most flash bytes, e.g. 1M")
    mem.add_argument("--board", default=None, metavar="NAME",
                     help="the SRAM arena and flash of a board (lightviz.boards.BOARD_NAMES: "
                          "stm32f746, stm32h743, nrf52840, rp2040, esp32s3)")
    p.add_argument("--extrapolate", action="store_true",
                   help="let extrapolated estimates (outside the published points' hull) take part")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--on", default=None, metavar="NAME",
                   help="with --max-ms: the device the latency is for ('this host', an imported device "
                        "or a reference device; --dtype is the precision asked of it); configurations "
                        "it says nothing about are left out and counted")
    from .latency.setup import add_setup_arguments

    add_setup_arguments(p.add_argument_group("setup of --max-ms (as in `lightviz predict`)"),
                        "CPU threads (default: every core this process may use)")
    p.set_defaults(run=cmd_pareto)


COLUMNS = ("arch", "groups", "alpha", "resolution", "macs", "params", "top1", "top1_low",
           "top1_high", "status", "source")
MS_COLUMNS = ("ms", "ms_low", "ms_high", "ms_status")
PRECISION_COLUMNS = ("precision", "quantization")


def top1_precision(dtype: str) -> str:
    """The precision whose top-1 ``--dtype`` ranks by (bf16, a latency dtype, as fp16: the fp32
    figure assumed unchanged)."""
    from .config import parse_precision

    return "fp16" if str(dtype).strip().lower() == "bf16" else parse_precision(dtype)


def cmd_pareto(args) -> int:
    if getattr(args, "on", None) is not None:
        return _pareto_on(args)
    setup = None
    max_ms = _max_ms(args)
    if max_ms is not None:
        from .latency.setup import setup_from

        setup = setup_from(args, require_runtime=False)  # a prediction needs no runtime here
    from .boards import memory_budget

    max_sram, max_flash = memory_budget(args.max_sram, args.max_flash, args.board)
    memory = max_sram is not None or max_flash is not None
    precision = top1_precision(args.dtype)
    if memory:  # a microcontroller runs int8
        if precision == "fp16":
            raise ValueError("--max-sram, --max-flash and --board count the network in int8, as a "
                             "microcontroller runs it: use --dtype int8 (or leave --dtype out)")
        precision = "int8"  # the memory and the top-1 of the same deployment
    rows = pareto(
        max_macs=None if args.max_macs is None else parse_count("max-macs", args.max_macs),
        max_params=None if args.max_params is None else parse_count("max-params", args.max_params),
        max_ms=max_ms, setup=setup, extrapolate=args.extrapolate,
        precision=precision, max_sram=max_sram, max_flash=max_flash)
    cols = COLUMNS + (MS_COLUMNS if max_ms is not None else ()) + PRECISION_COLUMNS + (
        ("sram", "flash") if memory else ())

    def table() -> list[str]:
        lines = [render_table(rows, max_ms is not None, memory)]
        if rows and rows[0]["precision"] != "fp32":
            how = dict.fromkeys(f"{r['arch']}: {r['quantization'] or FP16_WORDS}" for r in rows)
            lines.append(f"top-1 at {rows[0]['precision']}, each family as its source quantized "
                         "it: " + "; ".join(how))
        return lines
    return _emit(args, rows, cols, table)


def _pareto_on(args) -> int:
    """``lightviz pareto --max-ms X --on NAME``."""
    from .config import parse_precision
    from .latency.devices import sources
    from .latency.setup import setup_from

    max_ms = _max_ms(args)
    if max_ms is None:
        raise ValueError("--on names the device of a latency budget: give --max-ms X with it")
    name = sources.check_on(args.on)
    what = (setup_from(args, require_runtime=False) if sources.kind_of(name) == sources.KIND_HOST
            else parse_precision(args.dtype))
    rows, silent = pareto_on(max_ms, name, what, args.extrapolate, top1_precision(args.dtype))
    left = (f"{silent} configuration{'s' if silent != 1 else ''} with a top-1 estimate "
            f"{'have' if silent != 1 else 'has'} no latency on {name} (none): left out."
            if silent else "")

    def table() -> list[str]:
        return [f"Latency on {rows[0]['device'] if rows else name}, at most {max_ms:g} ms",
                render_table(rows, True, status_width=38), *([left] if left else [])]
    return _emit(args, rows, COLUMNS + MS_COLUMNS + ("device",) + PRECISION_COLUMNS, table,
                 head={"on": name}, tail={"left_out_none": silent})


def _max_ms(args) -> float | None:
    """``--max-ms`` as a positive number of milliseconds, or None when not given."""
    if args.max_ms is None:
        return None
    max_ms = number("max-ms", args.max_ms)
    if max_ms <= 0:
        raise ValueError(f"max-ms must be positive, got {args.max_ms!r}")
    return max_ms


def _emit(args, rows: Sequence[dict], cols: Sequence[str], table: Callable[[], list[str]],
          head: dict | None = None, tail: dict | None = None) -> int:
    """The front as ``--format`` asks: JSON (``head``, the rows' ``cols``, ``tail``, the note),
    CSV of ``cols``, or the terminal table's lines."""
    if args.format == "json":
        print(json.dumps({**(head or {}), "rows": [{c: r.get(c) for c in cols} for r in rows],
                          **(tail or {}), "note": NOTE}, indent=1))
    elif args.format == "csv":
        w = csv.DictWriter(sys.stdout, cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    else:
        print("\n".join(table()))
    return 0


FP16_WORDS = "the fp32 estimate, assumed unchanged"


def render_table(rows: Sequence[dict], with_ms: bool, with_memory: bool = False,
                 status_width: int = 9) -> str:
    """The front for a terminal: top-1 and its interval as :func:`lightviz.units.fmt_top1`
    writes them (the app's digits), milliseconds as :func:`lightviz.units.fmt_ms` does; a
    published value is marked [n], its source named under the table."""
    if not rows:
        return "No configuration with an estimate fits this budget."
    from .units import fmt_bytes, fmt_count, fmt_ms, fmt_top1, fmt_top1_range

    head = f"{'arch':<18}{'alpha':>6}{'px':>5}{'MACs':>10}{'params':>10}{'top-1 %':>9}" \
           f"{'interval':>14}  {'status':<16}" + (f"{'ms':>9}  {'ms status':<{status_width}}" if with_ms else "") \
        + (f"{'SRAM':>10}{'flash':>10}" if with_memory else "")
    lines = [head.rstrip()]
    sources: dict[str, int] = {}
    for r in rows:
        name = r["arch"] + (f" g={r['groups']}" if r["groups"] is not None else "")
        exact = {k: r.get(f"{k}_exact", r[k]) for k in ("top1", "top1_low", "top1_high")}
        interval = fmt_top1_range(exact["top1_low"], exact["top1_high"], "-")
        status = r["status"]
        if r.get("source"):
            status += f" [{sources.setdefault(r['source'], len(sources) + 1)}]"
        ms = f"{fmt_ms(r.get('ms_exact', r['ms'])):>9}  {r['ms_status']:<{status_width}}" if with_ms else ""
        if with_memory:
            ms += f"{fmt_bytes(r['sram']):>10}{fmt_bytes(r['flash']):>10}"
        lines.append(f"{name:<18}{r['alpha']:>6g}{r['resolution']:>5}{fmt_count(r['macs']):>10}"
                     f"{fmt_count(r['params']):>10}{fmt_top1(exact['top1']):>9}{interval:>14}  "
                     f"{status:<16}{ms}".rstrip())
    lines.append("")
    lines += [f"[{n}] published in {src}" for src, n in sources.items()]
    lines.append(NOTE)
    return "\n".join(lines)
