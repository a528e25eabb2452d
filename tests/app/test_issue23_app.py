"""Issue 23 on the pages (AppTest): one top-1 and its source on Explore, Compare and the Pareto
view, "no change" without an arrow, Design's headers spelled out, the Latency page's mode only
where there is a choice, and the Paper check's table and explanations."""

from __future__ import annotations

import json

from test_app import assert_clean, run_app

from lightviz.accuracy import published_top1
from lightviz.units import fmt_top1
from lightviz.views import NO_CHANGE, delta_arrow, fmt_delta
from lightviz.views.latency.words import for_page


def card(at, label):
    cards = [m for m in at.metric if m.label == label]
    assert len(cards) == 1, [m.label for m in at.metric]
    return cards[0]


def test_explore_card_prints_the_digits_of_the_cli():
    at = run_app({"arch": "ghostnet", "alpha": "1.2"})
    assert_clean(at)
    assert card(at, "Top-1 (estimate)").value == "75.3 %"  # `lightviz pareto`: 75.3 too
    at = run_app({"arch": "shufflenet_v2", "alpha": "0.5"})
    pub = published_top1("shufflenet_v2", 0.5, 224, None)
    top1 = card(at, "Top-1 (estimate)")
    assert top1.value == fmt_top1(pub.top1, " %") and pub.source in top1.proto.delta


def test_an_unchanged_figure_has_no_arrow():
    assert fmt_delta(5, 5) == NO_CHANGE and delta_arrow(NO_CHANGE) == "off"
    assert fmt_delta(6, 5) == "+20.0 %" and delta_arrow("+20.0 %") == "auto"
    at = run_app({"arch": "mobilenet_v2", "rho": "0.5"})  # params do not depend on the input
    assert_clean(at)
    params = card(at, "Params")
    assert params.proto.delta == NO_CHANGE and "0 %" not in params.proto.delta
    assert params.proto.direction != 0  # 0 = up: an "up" arrow said "more" for nothing


def test_compare_and_pareto_view_show_the_published_top1_and_its_source():
    at = run_app({"arch": "shufflenet_v2", "alpha": "0.5"}, "compare")
    assert_clean(at)
    pub = published_top1("shufflenet_v2", 0.5, 224, None)
    fam = next(d.value for d in at.dataframe if "top1_source" in d.value.columns)
    row = fam[fam["label"] == "ShuffleNet v2"].iloc[0]
    assert (row["top1"], row["top1_source"]) == (fmt_top1(pub.top1), pub.source)
    front = next(d.value for d in at.dataframe if "on the front" in d.proto.columns
                 or "label" in d.value.columns and "status" in d.value.columns)
    for r in front.itertuples():
        if r.status == "published":
            p = published_top1(r.label and _arch(r.label), r.alpha, r.resolution, _groups(r.label))
            assert (r.top1, r.source) == (fmt_top1(p.top1), p.source)
        else:
            assert r.source == ""


def _arch(label: str) -> str:
    from lightviz.state import ARCH_LABELS

    name = label.split(" g=")[0]
    return next(a for a, lab in ARCH_LABELS.items() if lab == name)


def _groups(label: str):
    return int(label.split(" g=")[1]) if " g=" in label else None


def test_design_headers_say_what_t_c_n_s_are():
    at = run_app({"arch": "mobilenet_v2"}, page="design")
    assert_clean(at)
    cols = json.loads(at.data_editor[0].proto.columns)
    assert [cols[k]["label"] for k in "tcns"] == [
        "t \u00b7 expansion", "c \u00b7 channels", "n \u00b7 repeats", "s \u00b7 stride"]
    assert all(cols[k]["help"] for k in "tcns")


def test_latency_page_offers_a_mode_only_where_there_is_a_choice():
    at = run_app({"arch": "mobilenet_v2"}, page="latency")
    assert not at.exception
    if at.selectbox(key="latency_device").value == "cpu":
        assert "Mode" not in [r.label for r in at.radio]


def test_setup_messages_in_the_pages_words():
    assert for_page("mode cudagraph needs a CUDA device, not cpu: use --mode eager") == \
        "mode cudagraph needs a CUDA device, not cpu: choose **Mode** eager"
    assert for_page("runtime tensorrt runs on an NVIDIA GPU: use --device cuda, not cpu") == \
        "runtime tensorrt runs on an NVIDIA GPU: choose **Device** cuda, not cpu"
    assert for_page("tensorrt chooses its own layout, drop --channels-last").endswith(
        "untick **Channels-last**")
    assert "--" not in for_page("use --mode eager (or --runtime torch); use --dtype fp32")


def test_paper_check_fits_and_says_each_explanation_once():
    from lightviz.views.paper import SHOWN

    at = run_app({"arch": "mobilenet_v2"}, page="paper")
    assert_clean(at)
    grid = next(d for d in at.dataframe if "configuration" in d.value.columns)
    config = json.loads(grid.proto.columns)
    widths = [config[c]["width"] for c in SHOWN if c != "source"]
    assert sum(widths) <= 980 and config["configuration"].get("pinned") is True
    assert list(grid.proto.column_order) == list(SHOWN)
    text = "\n".join(m.value for m in at.markdown)
    assert "Source's note" not in text
    assert text.count("canonical count") == 1  # MobileNet v2 1.4: its explanation, once
