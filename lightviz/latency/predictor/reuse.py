"""The reuse rule of shared results: which stored measurement of a configuration a page may
show instead of measuring again (the rest of shared results, the storing and the showing, is
:mod:`lightviz.latency.shared`).

By the result's own quality when it was taken, not by today's load: among the records of this
configuration and setup taken within the lesson window (:data:`SHARED_FOR_S`), newest first,
skipping those that lack what the page asks for (a per-layer report, at least the asked time
budget) or that were a part of a longer run:

* a **trusted** record (no warnings when it was taken: spread within the limit, enough runs,
  a host that was not busy) is reused whatever the load now: a class's rising load does not
  make a good measurement taken before class any worse;
* else the newest **flagged** record (a spread too wide to trust, a busy host ...) is reused
  only while the host is no quieter than when it was taken (1-minute load now at least its
  own minus :data:`LOAD_SLACK`): measuring again now would be no steadier. It is shown with
  its warnings.

Torch-free: the pages call :func:`pick` through the store on every Measure click.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..setup import SPREAD_LIMIT

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


def layers_dict(report) -> dict:
    """A per-layer report as stored with its measurement (the passport is the measurement's)."""
    d = report.to_dict()
    d.pop("passport", None)
    d["whole"].pop("passport", None)
    return d
