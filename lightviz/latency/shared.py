"""Shared results: one measurement of a configuration, taken once on this host and shown to
every session that asks for the same configuration and setup, with everything it said when
it was taken.

**What a stored result keeps** (:func:`lightviz.latency.predictor.store.add_result`): the
figures, its warnings and notes, its spread, the setup with its time budget, the whole result
(:meth:`~lightviz.latency.lab.result.Result.to_dict`, the passport included, the samples
left out) and, when one was taken with it, the per-layer report. A door stores a measurement
through a :class:`Keeper`, so the per-layer report goes into the record of the measurement it
belongs to (the per-layer pass's own whole-network run is stored apart, marked as a part).

**The reuse rule** is :mod:`lightviz.latency.predictor.reuse` (by the result's own quality when
it was taken, within a lesson-long window). Records come back as the page shows them
(:func:`result_of`, :func:`report_of`).
"""

from __future__ import annotations

from dataclasses import fields


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


# ---------------------------------------------------------------------------------------------
# A stored record back as the page shows it
# ---------------------------------------------------------------------------------------------


def result_of(rec: dict):
    """The :class:`~lightviz.latency.lab.result.Result` a record was stored from (its samples
    are not kept), or None for a record from an older lightviz that did not keep it."""
    from .lab.result import Result
    from .predictor.store import config_from_dict, setup_from_dict

    d = rec.get("result")
    if not isinstance(d, dict):
        return None
    return _result(Result, d, config_from_dict(rec["config"]), setup_from_dict(rec["setup"]),
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
    from .predictor.store import setup_from_dict

    d = rec.get("layers")
    if not isinstance(d, dict) or result is None:
        return None
    w = d.get("whole") or {}
    whole = _result(type(result), w, result.config, setup_from_dict(w.get("setup") or {}), result.passport)
    if whole is None:
        return None
    return LayerReport(pd.DataFrame(d.get("ops") or []), pd.DataFrame(d.get("blocks") or []), whole,
                       float(d["blocks_sum_ms"]), float(d["ops_sum_ms"]), int(d["block_passes"]),
                       int(d["op_passes"]), d.get("roof") or {}, list(d.get("notes") or []))
