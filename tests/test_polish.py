"""Classroom polish (issue 14) without a browser: one name per network for the pages and one for
the CLI, log ticks written in full, stages in network order, labels that do not overprint, the
phone's configuration button, sizes and counts through lightviz.units."""

from __future__ import annotations

import re

import pytest

import lightviz
from lightviz import charts
from lightviz.configure import network_label


def test_one_name_for_the_pages_and_one_for_the_cli():
    cfg = lightviz.make_config("shufflenet_v1", 0.5, groups=3)
    assert network_label(cfg) == network_label(cfg, "page") == "ShuffleNet v1 g=3 \u03b1 0.5 \u00b7 224 px"
    assert cfg.label == network_label(cfg, "cli") == "shufflenet_v1 0.5x g=3 @ 224"
    assert network_label(lightviz.make_config("mobilenet_v2")) == "MobileNet v2 \u03b1 1 \u00b7 224 px"
    with pytest.raises(ValueError, match="style must be 'page' or 'cli'"):
        network_label(cfg, "html")


def test_pictures_use_the_pages_name():
    from lightviz.diagrams import dot

    cfg = lightviz.make_config("mobilenet_v2")
    for text in (dot.block_dot(cfg, dot.default_block(cfg)), dot.overview_dot(cfg)):
        assert "MobileNet v2 \u03b1 1 \u00b7 224 px" in text and "mobilenet_v2 1x @ 224" not in text


@pytest.mark.parametrize("lo,hi,want", [
    (5.8, 7.6, ["1M", "2M", "5M", "10M", "20M"]),
    (7, 10.5, ["10M", "100M", "1G", "10G"]),  # more than three decades: decades only
])
def test_log_ticks_carry_their_prefix(lo, hi, want):
    ticks = charts.log_ticks(lo, hi)
    assert ticks["ticktext"] == want and ticks["tickmode"] == "array"
    assert not any(re.fullmatch(r"\d", t) for t in ticks["ticktext"])


def test_compare_and_pareto_figures_have_no_bare_minor_ticks():
    import pandas as pd

    from lightviz.accuracy_charts import _log_axis

    df = pd.DataFrame({"arch": ["a", "b"], "label": ["A", "B"], "params": [1.8e6, 2.5e7],
                       "macs": [1.4e8, 4.1e9], "top1": [67.4, None]})
    fig = charts.family_scatter(df, "a")
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert axis.tickmode == "array" and all(not t.isdigit() for t in axis.ticktext)
    ms = _log_axis(pd.Series([0.4, 30.0]), "ms")
    assert ms["ticktext"][0].endswith(" ms")


def test_treemap_keeps_network_order_and_stage_labels_use_three_rows():
    prof = lightviz.count(lightviz.make_config("mobilenet_v2"))
    tm = charts.stage_treemap(prof.layers)
    assert tm.data[0].sort is False
    stages = [i for i, p in zip(tm.data[0].ids, tm.data[0].parents) if p == "all"]
    assert stages == list(dict.fromkeys(prof.layers["stage"][prof.layers["macs"] > 0]))
    notes = charts.layer_figure(prof).layout.annotations
    ys = [round(a.y, 3) for a in notes]
    assert ys[:3] == [1.0, 1.045, 1.09] and ys[3] == 1.0  # stem, stage1, stage2 apart


def test_phone_config_button_names_the_configuration():
    from lightviz.views import layout

    cfg = lightviz.make_config("ghostnet", 1.3)
    text = layout.config_button_html(cfg)
    assert "GhostNet \u03b1 1.3 \u00b7 224 px" in text and "stExpandSidebarButton" in text
    assert "onclick" not in text  # Streamlit sanitizes inline handlers: a script wires it
    assert "max-width: none" in layout.CSS and f"max-width: {layout.NARROW}px" in layout.CSS


def test_memory_estimate_writes_bytes_like_every_page():
    from lightviz.latency.memory import estimate

    est = estimate(lightviz.make_config("mobilenet_v2"), 1, "fp32", "cpu")
    text = est.describe()
    assert re.search(r"weights \d+\.\d+ MiB", text) and "9.19 MiB per image" in text, text


def _luminance(hex_colour: str) -> float:
    c = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def _contrast(a: str, b: str) -> float:
    lo, hi = sorted((_luminance(a), _luminance(b)))
    return (hi + 0.05) / (lo + 0.05)


def test_architecture_colours_read_on_both_themes_and_shufflenets_differ():
    import colorsys

    from lightviz.charts import ARCH_COLORS

    for arch in ARCH_COLORS:  # MobileNet v1's Tableau orange was 2.5:1 on white: darkened
        for page in ("#FFFFFF", "#0E1117"):  # Streamlit's light and dark backgrounds
            assert _contrast(ARCH_COLORS[arch], page) >= 3.0, (arch, page)
    hues = [colorsys.rgb_to_hsv(*(int(ARCH_COLORS[a][i:i + 2], 16) / 255 for i in (1, 3, 5)))[0]
            for a in ("shufflenet_v1", "shufflenet_v2")]
    gap = abs(hues[0] - hues[1]) * 360
    assert min(gap, 360 - gap) > 60, hues  # not two greens
