"""The charts (lightviz.charts, lightviz.accuracy_charts; issue 14): log ticks written in full,
stages in network order, labels that do not overprint, architecture colours that read on both
themes. (One name per network is in test_network_names.py, the phone's configuration button in
app/test_layout.py, the memory estimate's bytes in test_units.py.)"""

from __future__ import annotations

import re

import pytest

import lightviz
from lightviz import charts


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

    from lightviz.accuracy_charts import log_axis

    df = pd.DataFrame({"arch": ["a", "b"], "label": ["A", "B"], "params": [1.8e6, 2.5e7],
                       "macs": [1.4e8, 4.1e9], "top1": [67.4, None]})
    fig = charts.family_scatter(df, "a")
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert axis.tickmode == "array" and all(not t.isdigit() for t in axis.ticktext)
    ms = log_axis(pd.Series([0.4, 30.0]), "ms")
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
