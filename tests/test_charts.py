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


def test_every_architecture_and_variant_has_its_own_colour_and_marker_on_both_themes():
    """Issue 23: the table of lightviz.styles is the one every chart reads; no two entries (the
    three ResNets, ShuffleNet v1's groups, GhostNet and MobileNet v2 ...) share a colour and a
    marker, and the built-in ones differ in both; every colour and the neutral grey of the front
    and the ring keep 3:1 on both Streamlit backgrounds."""
    from lightviz import styles
    from lightviz.zoo import REGISTRY

    entries = {k: v for k, v in styles.STYLES.items() if k[1] is not None or
               REGISTRY[k[0]].variant("groups") is None}  # (arch, None) of ShuffleNet v1 = g=3
    assert len(set(entries.values())) == len(entries), entries
    assert len({s.colour for s in entries.values()}) == len(entries)
    assert len({s.marker for s in entries.values()}) == len(entries)
    for arch in REGISTRY.builtin:  # every built-in architecture and each of its variants
        v = REGISTRY[arch].variant("groups")
        for value in (v.values if v else (None,)):
            assert (arch, value) in entries, (arch, value)
    assert styles.STYLES[("shufflenet_v1", None)] == styles.STYLES[("shufflenet_v1", 3)]
    colours = [s.colour for s in styles.STYLES.values()] + [styles.NEUTRAL, *styles.SERIES.values()]
    for c in colours:  # white; Streamlit's dark page before 1.5x and in 1.67
        for page in ("#FFFFFF", "#0E1117", "#171614"):
            assert _contrast(c, page) >= 3.0, (c, page)
    # the zoo's colours are the table's, and charts pick the variant's style
    assert charts.ARCH_COLORS["resnet34"] == styles.STYLES[("resnet34", None)].colour
    assert charts.arch_style("shufflenet_v1", 8) == styles.STYLES[("shufflenet_v1", 8)]
    assert charts.arch_style("shufflenet_v1", float("nan")).marker == "star"
    plugin = styles.style("plain_net", None, "#17BECF")
    assert plugin.colour == "#17BECF" and plugin.marker in styles.SPARE_MARKERS


def test_each_meaning_has_one_line_style_and_marks_use_the_table():
    """Counted and measured solid, estimates dashed, extrapolations dotted, laws dash-dot; the
    Pareto chart draws each architecture's marker (open when extrapolated), its front and ring
    in the neutral grey, and its legend under the plot."""
    import pandas as pd

    from lightviz import styles
    from lightviz.accuracy_charts import add_top1_axis, pareto_figure

    sweep = pd.DataFrame({"alpha": [0.5, 1.0, 1.5], "params": [1, 4, 9], "macs": [1, 4, 9]})
    fig = charts.alpha_sweep_figure(sweep, 1.0)
    top1 = pd.DataFrame({"value": [60.0, 70.0, 72.0], "low": [59.0, 69.0, 70.0],
                         "high": [61.0, 71.0, 74.0],
                         "status": ["interpolated", "interpolated", "extrapolated"]})
    add_top1_axis(fig, [0.5, 1.0, 1.5], top1)
    dash = {t.name: t.line.dash for t in fig.data if t.name and t.mode and "lines" in t.mode}
    assert dash["\u03b1\u00b2 law"] == "dashdot" and dash["MACs"] == dash["params"] == "solid"
    assert dash["top-1 (est.)"] == "dash" and dash["top-1 extrapolated"] == "dot"
    # the predicted latency curve (views.predicted draws it) gets its own colour, dashed
    fig.add_scatter(x=[1], y=[1], name="latency (predicted)", mode="lines",
                    line=dict(color="#54A24B", dash="dot"))
    styles.restyle_predicted_latency(fig)
    t = fig.data[-1]
    assert (t.line.color, t.line.dash) == (styles.SERIES["latency predicted"], "dash")
    lines = {(t.line.color, t.line.dash) for t in fig.data if t.name and t.mode and "lines" in t.mode}
    assert len(lines) == len([t for t in fig.data if t.name and t.mode and "lines" in t.mode])

    df = pd.DataFrame({"label": ["ResNet-18", "ShuffleNet v1 g=8", "ShuffleNet v1 g=8"],
                       "arch": ["resnet18", "shufflenet_v1", "shufflenet_v1"],
                       "alpha": [1.0, 1.0, 1.5], "resolution": [224, 224, 224],
                       "groups": pd.array([None, 8, 8], dtype="Int64"),
                       "top1": [69.8, 67.6, 70.0], "top1_low": [69.8, 67.6, 69.0],
                       "top1_high": [69.8, 67.6, 71.0],
                       "status": ["published", "published", "extrapolated"],
                       "macs": [1.8e9, 1.4e8, 3e8]})
    fig = pareto_figure(df, "macs", df.iloc[:2], {"macs": 1.4e8, "top1": 67.6})
    r18, g8, front, ring = fig.data
    assert (r18.marker.color, r18.marker.symbol) == ("#2E86C1", ("circle",))
    assert g8.marker.color == styles.STYLES[("shufflenet_v1", 8)].colour
    assert tuple(g8.marker.symbol) == ("x", "x-open")
    assert front.line.color == ring.marker.line.color == styles.NEUTRAL
    assert fig.layout.legend.yref == "container" and fig.layout.legend.yanchor == "bottom"
