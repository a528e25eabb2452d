"""The sidebar's precision ("Deployed in", key and URL name ``dtype``) switches the top-1 the app
shows: Explore's card and Compare's Pareto view give the int8 estimate and say so (AppTest)."""

from __future__ import annotations

import json

from test_app import assert_clean, run_app

from lightviz.accuracy_int8 import estimate_int8
from lightviz.configure import make_config


def top1_card(at):
    cards = [m for m in at.metric if m.label.startswith("Top-1")]
    assert len(cards) == 1, [m.label for m in at.metric]
    return cards[0]


def pareto_spec(at) -> dict:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [s for s in specs if "Estimated top-1" in s["layout"]["title"]["text"]]
    assert len(found) == 1
    return found[0]


def test_explore_top1_follows_the_sidebar_precision():
    at = run_app({"arch": "mobilenet_v1", "alpha": "0.75", "rho": "0.8571"})  # 192 px, published
    assert_clean(at)
    card = top1_card(at)
    assert (card.label, card.value) == ("Top-1 (estimate)", "67.2 %")
    at.segmented_control(key="dtype").set_value("int8").run()
    assert_clean(at)
    card = top1_card(at)
    assert (card.label, card.value) == ("Top-1 int8 (estimate)", "66.2 %")  # the _quant table's
    assert "published" in card.proto.delta and "quantization-aware" in card.proto.help
    at = run_app({"arch": "mobilenet_v1", "alpha": "0.6", "rho": "0.7857", "dtype": "int8"})
    e = estimate_int8(make_config("mobilenet_v1", 0.6, resolution=176))
    assert top1_card(at).value == f"{e.value:.1f} %" and "interpolated" in top1_card(at).proto.delta
    at = run_app({"arch": "resnet34", "dtype": "int8"})
    assert_clean(at)
    assert top1_card(at).value == "none" and "no published int8" in top1_card(at).proto.help


def test_the_pareto_view_ranks_by_the_int8_estimate_and_says_so():
    at = run_app({"arch": "mobilenet_v2", "alpha": "0.75", "dtype": "int8"}, "compare")
    assert_clean(at)
    spec = pareto_spec(at)
    assert "in int8" in spec["layout"]["title"]["text"]
    names = {t.get("name") for t in spec["data"]}
    assert {"MobileNet v1", "MobileNet v2", "Pareto front"} <= names
    assert not any(n and ("ShuffleNet v1" in n or "ResNet-34" in n) for n in names)
    assert any("Top-1 in int8" in c.value for c in at.caption)
    at.segmented_control(key="dtype").set_value("fp32").run()
    assert_clean(at)
    assert "int8" not in pareto_spec(at)["layout"]["title"]["text"]


def test_the_paper_check_lists_tf_slims_int8_rows_with_the_estimate():
    at = run_app({"arch": "mobilenet_v1"}, page="paper")
    assert_clean(at)
    assert any(e.label == "int8 rows: 16 of 16 estimates are the published int8 top-1"
               for e in at.expander)
    grid = next(d for d in at.dataframe if "top1_lightviz" in d.value.columns)
    row = grid.value.set_index("configuration").loc["MobileNet_v1_0.25_128_quant"]
    assert row["top1"] == row["top1_lightviz"] == "39.9"


def test_the_sweeps_draw_the_int8_estimate_with_the_int8_points():
    from lightviz.views.explore import TABS

    at = run_app({"arch": "mobilenet_v1", "alpha": "0.75", "dtype": "int8"})
    at.session_state["explore_tab"] = TABS[3]
    at.run()
    assert_clean(at)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    alpha_sweep = specs[0]
    assert alpha_sweep["layout"]["yaxis2"]["title"]["text"] == "top-1 % (int8, est.)"
    published = next(t for t in alpha_sweep["data"] if t.get("name") == "published top-1")
    assert sorted(published["y"]) == [48.2, 62.2, 67.9, 69.7]  # the _quant table at 224 px


def test_explore_compares_the_network_in_three_precisions():
    at = run_app({"arch": "mobilenet_v1", "alpha": "0.5", "rho": "0.7143",
                  "on": "Pixel 3 (TFLite CPU, 4 threads)"})
    assert_clean(at)
    lesson = [e for e in at.expander if e.label.startswith("fp32, fp16 or int8?")]
    assert len(lesson) == 1
    table = lesson[0].markdown[0].value.splitlines()
    split = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table]
    cells = {row[0]: row[1:] for row in split}
    assert cells[""] == ["fp32", "fp16", "int8"]
    assert cells["latency"] == ["4.40 ms published", "none", "2.60 ms published"]
    assert cells["top-1"][2] == "57.7 % published"
    assert "1.69\u00d7" in lesson[0].caption[0].value and "faster" in lesson[0].caption[0].value
