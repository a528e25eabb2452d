"""One rule behind both doors (lightviz.tradeoff): ``lightviz pareto --max-ms`` and Compare's
Pareto view give one front for one setup and budget (measured latencies where stored, else
predicted); each sweep grid has one meaning; one published top-1 per configuration on Compare
and Explore."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from cli_support import run_cli
from test_latency_model import ONE, fake_calibration

from lightviz import make_config
from lightviz.accuracy import PUBLISHED, estimate
from lightviz.config import BASE_RESOLUTION
from lightviz.configure import arch_names
from lightviz.latency.predictor import store
from lightviz.reference import published_top1
from lightviz.state import RHO_STOPS
from lightviz.tradeoff import (
    ALPHA_STOPS,
    CURVE_ALPHAS,
    CURVE_RESOLUTIONS,
    MEASURED,
    MEASURED_ALPHAS,
    MEASURED_RESOLUTIONS,
    PREDICTED,
    RESOLUTION_STOPS,
    curve_sweeps,
    latency_cost,
    measured_sweeps,
    place_on_front,
)

BUDGET_MS = 6.0
PARETO = """
from lightviz import make_config
from lightviz.views import accuracy_ui
accuracy_ui.render_pareto(make_config("mobilenet_v2", 0.5, resolution=160))
"""


def _values(v):
    """A plotly JSON array: a list, or numpy's typed array (``{"dtype", "bdata"}``)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def _key(arch, alpha, res, groups):
    return arch, round(float(alpha), 2), int(res), None if groups is None else int(groups)


def app_front(tmp_path, budget: float) -> set:
    """The (arch, alpha, resolution, groups) of Compare's Pareto front (latency axis) at most
    ``budget`` ms, read from the chart the page draws."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    script = tmp_path / "pareto_page.py"
    script.write_text(PARETO)
    at = AppTest.from_file(str(script), default_timeout=120)
    at.run()
    at.segmented_control(key="pareto_axis").set_value("latency").run()
    assert not at.exception and not at.info
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart"))
    points = {}
    for t in spec["data"]:
        if t.get("customdata"):
            for x, y, d in zip(_values(t["x"]), _values(t["y"]), t["customdata"]):
                points[(round(x, 9), round(y, 9))] = _key(*d[:4])
    line = next(t for t in spec["data"] if t.get("name") == "Pareto front")
    return {points[(round(x, 9), round(y, 9))]
            for x, y in zip(_values(line["x"]), _values(line["y"])) if x <= budget}


def cli_front(budget: float) -> tuple[set, list[dict]]:
    code, out, err = run_cli(["pareto", "--max-ms", str(budget), "--threads", "1",
                              "--format", "json"])
    assert code == 0, err
    rows = json.loads(out)["rows"]
    return {_key(r["arch"], r["alpha"], r["resolution"], r["groups"]) for r in rows}, rows


def test_cli_and_app_give_one_latency_front(cache, tmp_path):  # noqa: F811
    """A fake calibration (predicted latencies) plus two stored measurements that beat their
    predictions: the CLI marks them measured, and both doors draw the same front."""
    fake_calibration(points=30)
    fast = [make_config("mobilenet_v2", 1.0), make_config("mobilenet_v1", 0.75, resolution=160)]
    for cfg in fast:
        store.add(cfg, ONE, 4.0, p10_ms=3.9, p90_ms=4.4)
    assert latency_cost(fast[0], ONE).status == MEASURED
    assert latency_cost(make_config("mobilenet_v2", 0.5), ONE).status == PREDICTED
    cli, rows = cli_front(BUDGET_MS)
    assert cli and {r["ms_status"] for r in rows} == {MEASURED, PREDICTED}
    measured_row = next(r for r in rows if r["ms_status"] == MEASURED)
    assert (measured_row["ms"], measured_row["ms_low"], measured_row["ms_high"]) == (4.0, 3.9, 4.4)
    assert app_front(tmp_path, BUDGET_MS) == cli


def test_place_on_front():
    rows = [{"arch": "a", "alpha": 1.0, "resolution": 224, "groups": None, "ms": 1.0, "top1": 70.0}]
    cfg = make_config("mobilenet_v2", 1.0)
    mine = {"arch": "mobilenet_v2", "alpha": 1.0, "resolution": 224, "groups": None, "ms": 5.0,
            "top1": estimate(cfg).value}
    place = place_on_front(cfg, [mine], rows, "ms", False)
    assert (place.cost, place.on_front, place.dominated_by) == (5.0, False, None)
    better = {**rows[0], "top1": 80.0}
    place = place_on_front(cfg, [mine], [better, mine], "ms", False)
    assert place.on_front and place.dominated_by is None
    place = place_on_front(cfg, [mine], [better], "ms", False)
    assert place.dominated_by == better and place.top1 == mine["top1"]
    assert place_on_front(make_config("resnet50", 0.5), [], [], "macs", False).why


# ----------------------------------------------------------------------------- sweeps

def test_grids_have_one_meaning_each():
    assert RESOLUTION_STOPS == tuple(range(32, 513, 8)) and len(ALPHA_STOPS) == 36
    assert RHO_STOPS == tuple(round(r / BASE_RESOLUTION, 4) for r in RESOLUTION_STOPS)
    assert CURVE_ALPHAS == ALPHA_STOPS
    assert CURVE_RESOLUTIONS == tuple(range(32, 513, 32)) and BASE_RESOLUTION in CURVE_RESOLUTIONS
    assert MEASURED_ALPHAS == (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
    assert MEASURED_RESOLUTIONS == (96, 128, 160, 192, 224, 256)


def test_explore_and_latency_page_sweeps_come_from_tradeoff():
    from lightviz.views.explore import alpha_sweep, rho_sweep
    from lightviz.views.latency.sweeps import SWEEPS, sweep_configs

    cfg = make_config("shufflenet_v1", 0.6, resolution=200, groups=3)
    widths, sides = curve_sweeps(cfg)
    assert [c.alpha for c in widths] == list(CURVE_ALPHAS)
    assert [c.resolution for c in sides] == list(CURVE_RESOLUTIONS)
    assert all(c.groups == 3 and c.resolution == 200 for c in widths)
    a = alpha_sweep(cfg.arch, cfg.resolution, cfg.groups, cfg.classes, False)
    r = rho_sweep(cfg.arch, cfg.alpha, cfg.groups, cfg.classes, False)
    assert list(a["alpha"]) == list(CURVE_ALPHAS)
    assert list(r["resolution"]) == list(CURVE_RESOLUTIONS)
    w, s, zoo = measured_sweeps(cfg)
    assert [c.alpha for c in w] == sorted(set(MEASURED_ALPHAS) | {0.6})
    assert [c.resolution for c in s] == sorted(set(MEASURED_RESOLUTIONS) | {200})
    assert [c.arch for c in zoo] == list(arch_names()) and {c.alpha for c in zoo} == {1.0}
    assert [sweep_configs(cfg, k) for k in SWEEPS] == [w, s, zoo]


# ----------------------------------------------------------------------------- published top-1

@pytest.mark.parametrize("arch, alpha, top1", [
    ("mobilenet_v2", 1.0, 71.8), ("mobilenet_v1", 1.0, 70.9), ("shufflenet_v2", 0.5, 61.1)])
def test_one_published_top1_on_compare_and_explore(arch, alpha, top1):
    from lightviz.views.compare import family_table

    cfg = make_config(arch, alpha)
    e = estimate(cfg)  # Explore's metric
    assert e.status == PUBLISHED and e.value == top1
    pub = published_top1(arch, alpha, 224, None)
    assert (pub.top1, pub.source) == (top1, e.sources[0])
    df = family_table(alpha, 224, None, 1000, False, tuple(arch_names()), arch)
    row = df[df["arch"] == arch].iloc[0]
    assert row["top1"] == top1 and row["top1_source"] == e.sources[0]
