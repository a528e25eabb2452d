"""The estimated top-1 in the app (AppTest): Explore's metric, the sweeps' second axis, and the
Pareto view on Compare."""

from __future__ import annotations

import json

from test_app import assert_clean, run_app

from lightviz.accuracy import estimate
from lightviz.configure import make_config
from lightviz.units import NO_ESTIMATE
from lightviz.views.explore import TABS


def chart_specs(at) -> list:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def top1_metric(at):
    cards = [m for m in at.metric if m.label == "Top-1 (estimate)"]
    assert len(cards) == 1
    return cards[0]


def test_explore_shows_the_estimate_and_the_sweeps_draw_it():
    at = run_app({"arch": "mobilenet_v1", "alpha": "0.8", "rho": "0.8571"})  # 192 px
    assert_clean(at)
    e = estimate(make_config("mobilenet_v1", 0.8, resolution=192))
    card = top1_metric(at)
    assert card.value == f"{e.value:.1f} %" and "interpolated" in card.proto.delta
    at = run_app({"arch": "mobilenet_v1", "alpha": "0.75", "rho": "0.8571"})  # published
    assert "published" in top1_metric(at).proto.delta
    at.session_state["explore_tab"] = TABS[3]
    at.run()
    assert_clean(at)
    specs = chart_specs(at)
    for spec in specs[:2]:  # alpha sweep, rho sweep
        names = {t.get("name") for t in spec["data"]}
        assert "top-1 (est.)" in names and "published top-1" in names
        assert any(t.get("yaxis") == "y2" for t in spec["data"])
        assert spec["layout"]["yaxis2"]["title"]["text"] == "top-1 % (est.)"


def test_explore_metric_without_an_estimate_and_at_a_published_point():
    at = run_app({"arch": "resnet50", "alpha": "0.5"})
    assert_clean(at)
    assert top1_metric(at).value == NO_ESTIMATE  # the one word, as on Design and in the CLI
    at = run_app({"arch": "mobilenet_v2", "alpha": "1.4"})
    assert top1_metric(at).value == "75.0 %"


def test_compare_draws_the_pareto_view_and_its_axes():
    at = run_app({"arch": "mobilenet_v2", "alpha": "0.75"}, "compare")
    assert_clean(at)
    pareto = [s for s in chart_specs(at) if "Estimated top-1" in s["layout"]["title"]["text"]]
    assert len(pareto) == 1
    names = [t.get("name") for t in pareto[0]["data"]]
    assert "Pareto front" in names and "current configuration" in names
    assert {"MobileNet v1", "MobileNet v2", "GhostNet"} <= set(names)
    points = [t for t in pareto[0]["data"] if t.get("customdata")]
    assert all(len(p["customdata"][0]) == 9 for p in points)  # [8]: the top-1 as text
    at.segmented_control(key="pareto_axis").set_value("params").run()
    assert_clean(at)
    at.toggle(key="pareto_extrapolate").set_value(True).run()
    assert_clean(at)
    at.segmented_control(key="pareto_axis").set_value("latency").run()
    assert not at.exception  # without a calibration: a note, not a traceback
    assert at.info or any("latency" in s["layout"]["title"]["text"] for s in chart_specs(at))
