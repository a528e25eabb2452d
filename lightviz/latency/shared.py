"""Shared results: one measurement of a configuration, taken once on this host and shown to
every session that asks for the same configuration and setup, with everything it said when
it was taken.

**What a stored result keeps** (:func:`lightviz.latency.predictor.store.add_result`): the
figures, its warnings and notes, its spread, the setup with its time budget, the whole result
(:meth:`~lightviz.latency.lab.protocol.Result.to_dict`, the passport included, the samples
left out) and, when one was taken with it, the per-layer report. A door stores a measurement
through a :class:`Keeper`, so the per-layer report goes into the record of the measurement it
belongs to (the per-layer pass's own whole-network run is stored apart, marked as a part).

**The reuse rule** (:func:`pick`), by the result's own quality when it was taken, not by
today's load: among the records of this configuration and setup taken within the lesson
window (:data:`SHARED_FOR_S`), newest first, skipping those that lack what the page asks for
(a per-layer report, at least the asked time budget) or that were a part of a longer run:

* a **trusted** record (no warnings when it was taken: spread within the limit, enough runs,
  a host that was not busy) is reused whatever the load now: a class's rising load does not
  make a good measurement taken before class any worse;
* else the newest **flagged** record (a spread too wide to trust, a busy host ...) is reused
  only while the host is no quieter than when it was taken (1-minute load now at least its
  own minus :data:`LOAD_SLACK`): measuring again now would be no steadier. It is shown with
  its warnings.

Torch-free at import: the pages call :func:`pick` through the store on every Measure click.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

from .setup import SPREAD_LIMIT, Setup

SHARED_FOR_S = 2 * 3600.0  # a lesson-long window: measured before class, served all lesson
LOAD_SLACK = 0.5  # "no quieter now": the 1-minute load now at least the record's minus this
PARTS = ("per-layer pass", "part of a longer measurement")  # records that were part of a longer measurement


@dataclass(frozen=True)
class Need:
    """What the asking page wants of a shared result: the per-layer report, and a time budget
    at least this long (None: any)."""

    layers: bool = False
    budget_s: float | None = None


def budget_of(rec: dict) -> float | None:
    b = (rec.get("setup") or {}).get("budget_s")
    return float(b) if isinstance(b, (int, float)) else None


def doubts(rec: dict) -> list[str]:
    """Why a record is not to be trusted, as it said when it was taken (its warnings), or its
    spread above the limit for a record without them; empty when it is trusted."""
    out = [str(w) for w in rec.get("warnings") or []]
    spread = rec.get("spread")
    if not out and isinstance(spread, (int, float)) and spread > SPREAD_LIMIT:
        out.append(f"spread too wide to trust: the IQR is {spread:.0%} of the median "
                   f"(limit {SPREAD_LIMIT:.0%})")
    return out


def lacks(rec: dict, need: Need) -> str | None:
    """What ``rec`` lacks for ``need`` (one phrase), or None."""
    if rec.get("source") in PARTS:
        return f"it was the {rec['source']} of a longer measurement"
    if need.layers and not rec.get("layers"):
        return "it has no per-layer times"
    budget = budget_of(rec)
    if need.budget_s is not None and budget is not None and budget + 1e-9 < need.budget_s:
        return f"it was taken with a {budget:g} s budget, less than the {need.budget_s:g} s asked"
    return None


def no_quieter(rec: dict, load_now: float | None) -> bool:
    """Whether the host is at least as busy now as when ``rec`` was taken (give or take
    :data:`LOAD_SLACK`); False when either load is unknown."""
    then = rec.get("load_1min")
    if load_now is None or not isinstance(then, (int, float)):
        return False
    return load_now >= then - LOAD_SLACK


def pick(recs: list[dict], need: Need = Need(), *, now: float | None = None,
         load_now: float | None = None, max_age_s: float = SHARED_FOR_S,
         since: float | None = None) -> dict | None:
    """The record to reuse among ``recs`` (oldest first, as the store lists them), or None
    (see the module doc for the rule). The copy returned adds ``age_s``, ``trusted`` and
    ``doubts``. ``since``: only records taken after this time (epoch seconds)."""
    now = time.time() if now is None else now
    flagged = None
    for rec in reversed(recs):
        age = max(0.0, now - float(rec["taken_at"]))
        if age > max_age_s or (since is not None and rec["taken_at"] < since):
            break  # the rest are older still
        if lacks(rec, need):
            continue
        why = doubts(rec)
        if not why:
            return dict(rec, age_s=age, trusted=True, doubts=[])
        if flagged is None and no_quieter(rec, load_now):
            flagged = dict(rec, age_s=age, trusted=False, doubts=why)
    return flagged


# ---------------------------------------------------------------------------------------------
# Storing one record per measurement
# ---------------------------------------------------------------------------------------------


class Keeper:
    """A door's ``on_result`` (see :class:`~lightviz.latency.lab.protocol.Bench`): the results
    of a measurement are kept until the door knows whether a per-layer report goes with them;
    :meth:`flush` then stores them (and refits the latency model,
    :func:`lightviz.latency.predictor.model.learn`): the parts first (the per-layer pass's own
    whole-network run, an energy run's latency), marked as parts, then the measurement itself with its
    report, so it is the newest record."""

    def __init__(self, source: str = ""):
        self.source = source
        self.results: list = []

    def __call__(self, result) -> None:
        self.results.append(result)

    def flush(self, report=None) -> None:
        from .predictor.model import learn

        results, self.results = self.results, []
        if not results:
            return
        part_of_report = report.whole if report is not None else None
        main = next((r for r in results if r is not part_of_report), None)
        for r in results:
            if r is not main:
                learn(r, "per-layer pass" if r is part_of_report else "part of a longer measurement")
        if main is not None:
            if report is not None:
                main.layer_report = report  # read by store.add_result
            learn(main, self.source)


def layers_dict(report) -> dict:
    """A per-layer report as stored with its measurement (the passport is the measurement's)."""
    d = report.to_dict()
    d.pop("passport", None)
    d["whole"].pop("passport", None)
    return d


# ---------------------------------------------------------------------------------------------
# A stored record back as the page shows it
# ---------------------------------------------------------------------------------------------


def setup_of(d: dict) -> Setup:
    names = {f.name for f in fields(Setup)}
    return Setup(**{k: v for k, v in d.items() if k in names})


def result_of(rec: dict):
    """The :class:`~lightviz.latency.lab.protocol.Result` a record was stored from (its samples
    are not kept), or None for a record from an older lightviz that did not keep it."""
    from .lab.protocol import Result
    from .predictor.store import config_from_dict

    d = rec.get("result")
    if not isinstance(d, dict):
        return None
    return _result(Result, d, config_from_dict(rec["config"]), setup_of(rec["setup"]),
                   d.get("passport") or {})


def _result(cls, d: dict, cfg, setup, passport):
    kw = {f.name: d[f.name] for f in fields(cls) if f.name in d and f.name not in
          ("config", "setup", "passport", "samples_ms")}
    try:
        return cls(config=cfg, setup=setup, samples_ms=[], passport=passport, **kw)
    except TypeError:  # a field missing: not a record this lightviz can show in full
        return None


def report_of(rec: dict, result):
    """The per-layer report stored with ``rec`` (a ``LayerReport``), or None."""
    import pandas as pd

    from .lab.layers import LayerReport

    d = rec.get("layers")
    if not isinstance(d, dict) or result is None:
        return None
    w = d.get("whole") or {}
    whole = _result(type(result), w, result.config, setup_of(w.get("setup") or {}), result.passport)
    if whole is None:
        return None
    return LayerReport(pd.DataFrame(d.get("ops") or []), pd.DataFrame(d.get("blocks") or []), whole,
                       float(d["blocks_sum_ms"]), float(d["ops_sum_ms"]), int(d["block_passes"]),
                       int(d["op_passes"]), d.get("roof") or {}, list(d.get("notes") or []))
