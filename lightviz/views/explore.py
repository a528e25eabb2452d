"""Explore: one configuration in full. Headline figures with their change from alpha 1, rho 1;
then tabs (only the open one runs): per-layer bars, cost by op kind, cost by stage, the alpha
and rho sweeps, deployment memory (the Memory tab: lightviz.views.memory_ui), and the per-layer
table with downloads."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import streamlit as st

from .. import charts
from ..config import ALPHA_MAX, ALPHA_MIN, BASE_RESOLUTION, PRECISION_BYTES, Config, thaw
from ..configure import make_config, network_label
from ..counting import count
from ..deployment import deployment_memory
from ..outputs import layers_csv, profile_json
from ..state import UNIT_LABELS, counting_options, precision
from ..styles import restyle_predicted_latency
from ..tradeoff import curve_sweeps
from ..units import NO_ESTIMATE
from ..zoo import REGISTRY
from ..zoo.table import differences
from . import (
    accuracy_ui,
    cached_profile,
    delta_arrow,
    fmt_bytes,
    fmt_count,
    fmt_delta,
    keys,
    memory_ui,
    predicted,
)

if TYPE_CHECKING:  # imported by the tabs that build tables: the first page draws without it
    import pandas as pd

TABS = ("Per layer", "By op kind", "By stage", "Scaling with \u03b1 and \u03c1", "Memory",
        "Layer table")


# ----------------------------------------------------------------------------- cached data

def reference_config(cfg: Config) -> Config:
    """The same architecture (groups, classes, edited table) at alpha 1, rho 1: what the
    deltas compare to (the paper's table if the edited one is refused at alpha 1)."""
    try:
        return make_config(cfg.arch, 1.0, 1.0, groups=cfg.groups, classes=cfg.classes,
                           settings=cfg.settings)
    except ValueError:
        return make_config(cfg.arch, 1.0, 1.0, groups=cfg.groups, classes=cfg.classes)


@st.cache_resource(max_entries=64, show_spinner=False)
def _layer_figure(cfg: Config, measure: str, elementwise: bool):
    return charts.layer_figure(cached_profile(cfg, elementwise), measure)


@st.cache_resource(max_entries=64, show_spinner=False)
def _kind_view(cfg: Config, measure: str, elementwise: bool):
    summary = charts.kind_summary(cached_profile(cfg, elementwise).layers, measure)
    return summary, charts.kind_figure(summary, measure)


@st.cache_resource(max_entries=64, show_spinner=False)
def _stage_view(cfg: Config, column: str, measure: str, elementwise: bool):
    layers = cached_profile(cfg, elementwise).layers
    return charts.stage_summary(layers, measure), charts.stage_treemap(layers, column)


def _totals(cfg: Config, elementwise: bool) -> dict:
    p = count(cfg, elementwise=elementwise)
    return {"params": p.params, "macs": p.macs, "flops": p.flops}


def _plain(arch: str, alpha: float, resolution: int, groups, classes: int) -> Config:
    return make_config(arch, alpha, resolution=resolution, groups=groups, classes=classes)


@st.cache_data(max_entries=64, show_spinner=False)
def alpha_sweep(arch: str, resolution: int, groups, classes: int, elementwise: bool) -> pd.DataFrame:
    """Totals along the width sweep's curve grid (every alpha stop of the slider, about 2 ms
    each: lightviz.tradeoff.CURVE_ALPHAS)."""
    import pandas as pd

    widths, _ = curve_sweeps(_plain(arch, 1.0, resolution, groups, classes))
    return pd.DataFrame([{"alpha": c.alpha, **_totals(c, elementwise)} for c in widths])


@st.cache_data(max_entries=64, show_spinner=False)
def rho_sweep(arch: str, alpha: float, groups, classes: int, elementwise: bool) -> pd.DataFrame:
    """Totals along the resolution sweep's curve grid (32 to 512 px in 32 px steps, 224
    included: lightviz.tradeoff.CURVE_RESOLUTIONS)."""
    import pandas as pd

    _, sides = curve_sweeps(_plain(arch, alpha, BASE_RESOLUTION, groups, classes))
    return pd.DataFrame([_rho_row(c, elementwise) for c in sides])


def _rho_row(cfg: Config, elementwise: bool) -> dict:
    return {"rho": cfg.resolution / BASE_RESOLUTION, "resolution": cfg.resolution,
            **_totals(cfg, elementwise)}


@st.cache_data(max_entries=16, show_spinner=False)
def custom_sweeps(cfg: Config, elementwise: bool):
    """:func:`alpha_sweep` and :func:`rho_sweep` of an edited table (the Design page): the same
    grids, an alpha that refuses the table left out."""
    import pandas as pd

    widths, sides = curve_sweeps(cfg)
    return (pd.DataFrame([{"alpha": c.alpha, **_totals(c, elementwise)} for c in widths]),
            pd.DataFrame([_rho_row(c, elementwise) for c in sides]))


@st.cache_resource(max_entries=64, show_spinner=False)
def _scaling_view(cfg: Config, measure: str, elementwise: bool):
    """The two sweep figures and the current point's ratios to alpha = 1."""
    a, r = (custom_sweeps(cfg, elementwise) if cfg.settings is not None else
            (alpha_sweep(cfg.arch, cfg.resolution, cfg.groups, cfg.classes, elementwise),
             rho_sweep(cfg.arch, cfg.alpha, cfg.groups, cfg.classes, elementwise)))
    cur = a.loc[(a["alpha"] - cfg.alpha).abs().idxmin()]
    one = a.loc[(a["alpha"] - 1.0).abs().idxmin()]
    ratios = (cur["params"] / one["params"], cur[measure] / one[measure])
    alpha_fig, rho_fig = (charts.alpha_sweep_figure(a, cfg.alpha, measure),
                          charts.rho_sweep_figure(r, cfg.rho, measure))
    accuracy_ui.add_alpha_top1(alpha_fig, cfg, a["alpha"])
    accuracy_ui.add_rho_top1(rho_fig, cfg, r["resolution"])
    return alpha_fig, rho_fig, ratios


@st.cache_data(max_entries=32, show_spinner=False)
def _layer_table(cfg: Config, measure: str, elementwise: bool) -> pd.DataFrame:
    return charts.layer_table(cached_profile(cfg, elementwise).layers, measure)


# ----------------------------------------------------------------------------- the page

def render(cfg: Config) -> None:
    unit, elementwise = counting_options()
    prof = cached_profile(cfg, elementwise)
    base = cached_profile(reference_config(cfg), elementwise)
    arch = REGISTRY[cfg.arch]
    st.header(network_label(cfg))  # the pages' one name for a network
    st.caption(f"{arch.paper}. Input 3 \u00d7 {cfg.resolution} \u00d7 {cfg.resolution} "
               f"(\u03c1 {cfg.rho:.3f}), batch 1, "
               f"{cfg.classes:,} classes. Counted from the architecture itself, no weights "
               f"needed.")
    if cfg.settings is not None:  # an edited table (the Design page)
        st.info(f"**custom** table (not a published network; top-1: {NO_ESTIMATE}): "
                + "; ".join(differences(cfg)), icon=":material/edit_square:")
    _headline(prof, base, cfg)

    tabs = st.tabs(TABS, key=keys.EXPLORE_TAB, on_change="rerun")
    views = (_per_layer, _by_kind, _by_stage, _scaling, memory_ui.render,
             lambda cfg, measure, elementwise: _table(cfg, prof, measure, elementwise))
    for tab, view in zip(tabs, views):
        if tab.open:  # lazy tabs: only the open one runs
            with tab:
                view(cfg, unit, elementwise)


def _headline(prof, base, cfg: Config) -> None:
    same = prof.config == base.config
    vs = None if same else "vs \u03b1 1, \u03c1 1"

    def metric(where, label, value, now, then, help_text):
        delta = None if same else fmt_delta(now, then)
        where.metric(label, value, delta=delta, delta_color="off", delta_description=vs,
                   delta_arrow=delta_arrow(delta), help=help_text, border=True)

    ew = " including the elementwise work" if prof.elementwise else ""
    # Horizontal containers wrap: four cards a row on a wide screen, two on a phone. The first
    # row answers the three questions (what it costs, how fast here, how accurate); the second
    # has the rest of the cost.
    with st.container(horizontal=True):
        metric(st, "Params", fmt_count(prof.params), prof.params, base.params,
               f"{prof.params:,} parameters: weights, biases and BN \u03b3/\u03b2 "
               f"(nn.Module.parameters()).")
        metric(st, "MACs", fmt_count(prof.macs), prof.macs, base.macs,
               f"{prof.macs:,} multiply-accumulates of the convolutions and the classifier, per "
               f"image: what the papers call Mult-Adds, MAdds or FLOPs.")
        prediction = predicted.headline_metric(cfg, base.config, vs)
        accuracy_ui.top1_metric(cfg)
    with st.container(horizontal=True):
        metric(st, "FLOPs", fmt_count(prof.flops), prof.flops, base.flops,
               f"{prof.flops:,} floating-point operations = 2 \u00d7 MACs{ew}.")
        metric(st, "Peak activations", fmt_bytes(prof.peak_activation_bytes),
               prof.peak_activation_bytes, base.peak_activation_bytes,
               f"{prof.peak_activation_bytes:,} bytes: the largest total of activation tensors "
               f"alive at once, batch 1, fp32, no in-place reuse (weights not included).")
        dtype = precision()  # the sidebar's "Deployed in"
        size = PRECISION_BYTES[dtype]
        metric(st, f"Weights {dtype}", fmt_bytes(prof.params * size), prof.params, base.params,
               f"{prof.params * size:,} bytes = params \u00d7 {size} byte{'s' if size > 1 else ''}"
               f" (the sidebar's Deployed in).")
        now, then = (deployment_memory(p, dtype).peak_bytes for p in (prof, base))
        metric(st, f"Deployment peak {dtype}", fmt_bytes(now), now, then,
               f"{now:,} bytes of activations live at once as a microcontroller runtime holds "
               f"them (MCUNet's rule: fused ops hold input and output, residuals kept; the "
               f"Memory tab draws it), batch 1, {dtype}.")
    memory_ui.precision_lesson(prof, predicted.chosen_setup())
    ref = "" if same else (
        f" Deltas compare with the same network at \u03b1 1, \u03c1 1 (224 px): "
        f"{base.params:,} params, {base.macs:,} MACs.")
    st.caption(
        f"Exact: **{prof.params:,}** params \u00b7 **{prof.macs:,}** MACs \u00b7 "
        f"**{prof.flops:,}** FLOPs \u00b7 peak activations {prof.peak_activation_bytes:,} bytes."
        f"{ref} K = 10\u00b3, M = 10\u2076, G = 10\u2079; KiB and MiB are 2\u00b9\u2070 "
        f"and 2\u00b2\u2070 bytes. Weight size = params \u00d7 bytes per value (quantization scales and "
        f"BN folding not included).")
    latency_note = predicted.headline_caption(prediction)
    if latency_note:
        st.caption(latency_note)
    # inline code, not st.code: the syntax highlighter is a 1.5 MB script the first page
    # would otherwise wait for
    st.markdown(
        f"The same numbers in a terminal: `lightviz profile {cfg.arch} --alpha {cfg.alpha:g} "
        f"--rho {cfg.rho:.4g}{f' --groups {cfg.groups}' if cfg.groups else ''}"
        f"{f' --classes {cfg.classes}' if cfg.classes != 1000 else ''}"
        f"{' --elementwise' if prof.elementwise else ''}"
        f"{f' --dtype {dtype}' if dtype != 'fp32' else ''}{_settings_option(cfg)}`")


def _settings_option(cfg: Config) -> str:
    """`` --settings '<JSON>'`` for an edited table (the Design page), else nothing."""
    if cfg.settings is None:
        return ""
    return f" --settings '{json.dumps(thaw(cfg.settings), separators=(',', ':'))}'"


def _per_layer(cfg: Config, measure: str, elementwise: bool) -> None:
    st.plotly_chart(_layer_figure(cfg, measure, elementwise), width="stretch",
                    config={"displaylogo": False})
    st.caption(
        f"One bar per layer that does {UNIT_LABELS[measure]} or holds convolution or linear "
        f"weights, in the order the network runs them; the dotted lines separate the stages. "
        f"Hover a bar for its path, shapes and exact counts. The Layer table lists every op, "
        f"the weight-free ones and batch norm included.")


def _by_kind(cfg: Config, measure: str, elementwise: bool) -> None:
    summary, fig = _kind_view(cfg, measure, elementwise)
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False})
    top = summary.iloc[0]
    note = (f"Here, **{top['kind']}** layers do **{top['cost_share'] * 100:.1f} %** of the "
            f"{UNIT_LABELS[measure]} and hold {top['params_share'] * 100:.1f} % of the params.")
    if cfg.arch == "mobilenet_v1":
        note += (" MobileNet v1's Table 2 (\u03b1 1, 224 px) reports 94.86 % of the Mult-Adds "
                 "and 74.59 % of the params in the 1\u00d71 convolutions: the depthwise "
                 "convolutions that made the network cheap are a few percent of it.")
    st.markdown(note)
    _summary_table(summary.rename(columns={"kind": "op kind"}), measure, "ops")


def _summary_table(df: pd.DataFrame, measure: str, count_col: str) -> None:
    unit = UNIT_LABELS[measure]
    st.dataframe(
        df, hide_index=True, width="stretch",
        column_config={
            count_col: st.column_config.NumberColumn(count_col, format="%d"),
            "cost": st.column_config.NumberColumn(unit, format="localized"),
            "params": st.column_config.NumberColumn("params", format="localized"),
            "cost_share": st.column_config.ProgressColumn(f"share of {unit}", format="percent",
                                                          min_value=0, max_value=1),
            "params_share": st.column_config.ProgressColumn("share of params", format="percent",
                                                            min_value=0, max_value=1),
            "out_shape": st.column_config.TextColumn("output C\u00d7H\u00d7W"),
        })


def _by_stage(cfg: Config, measure: str, elementwise: bool) -> None:
    column = st.segmented_control(
        "Area of each box", (measure, "params"), key=keys.STAGE_SIZE, default=measure,
        required=True, format_func=charts.MEASURE_LABELS.get)
    summary, fig = _stage_view(cfg, column, measure, elementwise)
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False})
    st.caption("Boxes nest stage \u2192 block \u2192 op kind; their areas are shares of the whole "
               "network. Click a box to zoom in, click the bar on top to zoom out.")
    _summary_table(summary, measure, "blocks")


def _scaling(cfg: Config, measure: str, elementwise: bool) -> None:
    alpha_fig, rho_fig, (params_ratio, cost_ratio) = _scaling_view(cfg, measure, elementwise)
    alpha_fig, rho_fig = _with_predicted_latency(cfg, alpha_fig, rho_fig)
    left, right = st.columns(2)
    left.plotly_chart(alpha_fig, width="stretch", config={"displaylogo": False})
    right.plotly_chart(rho_fig, width="stretch", config={"displaylogo": False})
    st.markdown(
        f"At \u03b1 = {cfg.alpha:g} the params are **\u00d7{params_ratio:.3f}** and the "
        f"{UNIT_LABELS[measure]} **\u00d7{cost_ratio:.3f}** of \u03b1 = 1 (same \u03c1); the "
        f"\u03b1\u00b2 law says \u00d7{cfg.alpha ** 2:.3f}.")
    st.caption(
        f"Each curve is relative to its value at 1 (big dots: the current setting; dash-dot: the "
        f"ideal law; solid: counted, dashed: estimated, dotted: extrapolated). Width scales "
        f"both the inputs and the outputs of a layer, so params and "
        f"MACs grow about as \u03b1\u00b2; the input side scales only the feature maps, so MACs "
        f"grow about as \u03c1\u00b2 while the params stay put. Channel counts are rounded "
        f"(to multiples of 8 in MobileNet, of 4g in ShuffleNet v1, to a table in ShuffleNet "
        f"v2), which makes the steps; layers that do not scale (the 1280-wide head of "
        f"MobileNet v2, the classifier) bend the curves away from the law. \u03b1 from "
        f"{ALPHA_MIN:g} to {ALPHA_MAX:g}; \u03c1 from 32 to 512 px.")


def _with_predicted_latency(cfg: Config, alpha_fig, rho_fig):
    """The sweeps with the predicted latency curve of this host, when it has a model."""
    # the published table's curves (an edited table's prediction is not offered)
    a_cfgs, r_cfgs = curve_sweeps(_plain(cfg.arch, cfg.alpha, cfg.resolution, cfg.groups,
                                         cfg.classes))
    alphas, res = [c.alpha for c in a_cfgs], [c.resolution for c in r_cfgs]
    rhos = [round(r / BASE_RESOLUTION, 3) for r in res]
    return (restyle_predicted_latency(predicted.add_sweep_curve(
                alpha_fig, a_cfgs, alphas, cfg.alpha,
                min(range(len(alphas)), key=lambda i: abs(alphas[i] - 1)))),
            restyle_predicted_latency(predicted.add_sweep_curve(
                rho_fig, r_cfgs, rhos, round(cfg.rho, 3), res.index(BASE_RESOLUTION))))


def _conv_text(kernel: str, stride: str, groups: str) -> str:
    """Kernel, stride and groups in one short cell: '3\u00d73 /2 g144', '1\u00d71', '' (no conv)."""
    parts = [kernel, f"/{stride}" if stride not in ("", "1") else "",
             f"g{groups}" if groups not in ("", "1") else ""]
    return " ".join(p for p in parts if p)


def _table(cfg: Config, prof, measure: str, elementwise: bool) -> None:
    """The Layer table tab: filters, the rows or their groups, and the downloads."""
    table = _layer_table(cfg, measure, elementwise)
    unit = UNIT_LABELS[measure]
    shown, by, filtered = _table_filters(table)
    config = _table_columns(measure, unit)
    shown, order = _arranged(shown, by, measure, config)
    filt = " (filtered)" if filtered else ""
    st.caption(f"{len(shown)} rows{filt}; shares are of the whole network: "
               f"{prof.params:,} params, {getattr(prof, measure):,} {unit}.")
    st.dataframe(shown, hide_index=True, width="stretch", height=460, column_config=config,
                 column_order=order)
    _table_downloads(cfg, elementwise)


def _table_filters(table: pd.DataFrame) -> tuple[pd.DataFrame, str, bool]:
    """The rows of the stages and op kinds chosen, the grouping chosen, and whether rows were filtered out."""
    c1, c2, c3 = st.columns([2, 2, 1])
    stages = c1.multiselect("Stages", list(dict.fromkeys(table["stage"])), key=keys.TABLE_STAGES,
                            placeholder="all stages")
    kinds = c2.multiselect("Op kinds", charts.kinds_present(table), key=keys.TABLE_KINDS,
                           placeholder="all kinds")
    by = c3.selectbox("Group by", ("layer", "block", "stage", "kind"), key=keys.TABLE_GROUP)
    shown = table
    if stages:
        shown = shown[shown["stage"].isin(stages)]
    if kinds:
        shown = shown[shown["kind"].isin(kinds)]
    return shown, by, bool(stages or kinds)


def _table_columns(measure: str, unit: str) -> dict:
    """The layer table's column configuration, whatever the grouping."""
    return {
        "#": st.column_config.NumberColumn("#", format="%d", help="execution order"),
        "path": st.column_config.TextColumn("path", help="the nn.Module name of the op"),
        "params": st.column_config.NumberColumn("params", format="localized"),
        measure: st.column_config.NumberColumn(unit, format="localized"),
        "cost_share": st.column_config.ProgressColumn(
            f"% of {unit}", format="percent", min_value=0, max_value=1,
            help=f"share of the whole network's {unit}"),
        "params_share": st.column_config.ProgressColumn(
            "% of params", format="percent", min_value=0, max_value=1,
            help="share of the whole network's params"),
        "out_KiB": st.column_config.NumberColumn("output KiB", format="%.1f",
                                                help="output tensor, batch 1, fp32"),
        "in_shape": st.column_config.TextColumn("input C\u00d7H\u00d7W"),
        "out_shape": st.column_config.TextColumn("output C\u00d7H\u00d7W"),
    }


def _arranged(shown: pd.DataFrame, by: str, measure: str, config: dict) -> tuple[pd.DataFrame, list | None]:
    """The rows grouped by ``by`` (its column added to ``config``), or per layer in columns that fit a window."""
    order = None
    if by != "layer":
        shown = charts.group_table(shown, by, measure)
        config["ops"] = st.column_config.NumberColumn("ops", format="%d")
    else:  # fits a 1400 px window without sideways scrolling: the path names the stage and block,
        # kernel, stride and groups share one column; the CSV has every column apart
        shown = shown.assign(conv=[_conv_text(*v) for v in zip(shown["kernel"], shown["stride"],
                                                                shown["groups"])])
        order = ["#", "path", "kind", "out_shape", "params", measure, "cost_share", "params_share",
                 "conv"]
        # about 890 px of the 980 the grid has on a 1440 px page: the last column is whole, and
        # a narrower window scrolls with the layer's number and path pinned
        widths = {"#": 44, "path": 180, "kind": 104, "out_shape": 100, "params": 92, measure: 104,
                  "cost_share": 80, "params_share": 80}
        for col, w in widths.items():
            config.setdefault(col, st.column_config.Column(col))["width"] = w
        for col in ("#", "path"):
            config[col]["pinned"] = True
        config["conv"] = st.column_config.TextColumn(
            "kernel /stride g", width=110,
            help="kernel size, stride (when not 1) and groups (when not 1): 3\u00d73 /2 g144")
    return shown, order


def _table_downloads(cfg: Config, elementwise: bool) -> None:
    """The CSV and JSON downloads of every row, made when clicked."""
    name = cfg.label.replace(" ", "_").replace("@", "")
    d1, d2 = st.columns(2)
    dtype = precision()  # the sidebar's: the bytes and the top-1 at it, as --dtype gives them
    d1.download_button(
        "Download CSV (every row)", data=lambda: layers_csv(cached_profile(cfg, elementwise), dtype),
        file_name=f"{name}.csv", mime="text/csv", on_click="ignore",
        icon=":material/download:", help="The same as `lightviz profile ... --format csv --dtype "
                                         f"{dtype}`.")
    d2.download_button(
        "Download JSON (totals + rows)", data=lambda: json.dumps(
            profile_json(cached_profile(cfg, elementwise), dtype), indent=1),
        file_name=f"{name}.json", mime="application/json", on_click="ignore",
        icon=":material/download:", help="The same as `lightviz profile ... --format json`, "
                                         "with the counting conventions.")
