"""Compare, in five tabs: every architecture at the sidebar's alpha and rho on one chart (with the
published top-1 where that configuration is published), the Pareto view, the published
configurations' accuracy against MACs, and an A/B of the sidebar's configuration against a
second one, stage by stage, and the sidebar's configuration on every device that can say
something about its latency."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import charts
from ..config import Config
from ..configure import make_config
from ..reference import OTHER, published_top1, same_configuration
from ..state import (
    ARCH_LABELS,
    RHO_STOPS,
    UNIT_LABELS,
    AppState,
    config_widgets,
    counting_options,
    nearest,
    pending_notices,
    seed_from_url,
    state_from_widgets,
    sync_query_params,
)
from ..units import fmt_top1
from ..zoo import REGISTRY
from . import (
    accuracy_ui,  # the Pareto view (issue 10)
    as_text,
    cached_paper_check,
    cached_profile,
    fmt_bytes,
    fmt_count,
    keys,
    latency_on,
    nice_label,
    predicted,
)

B = keys.B  # prefix of the B configuration's widget keys and query parameters
B_PARAMS = tuple(B + n for n in ("arch", "alpha", "rho", "groups", "resolution"))


@st.cache_data(max_entries=64, show_spinner=False)
def family_table(alpha: float, resolution: int, v1_groups: int, classes: int,
                 elementwise: bool, archs: tuple = (), current: str = "") -> pd.DataFrame:
    """Every architecture (``archs``, the registry's names: part of the cache key) at one alpha
    and resolution, with the published top-1 of exactly that configuration and its source
    (:func:`lightviz.reference.published_top1`; NaN and "" where it is not published);
    ``v1_groups`` is the groups of the ``current`` architecture, the others with a
    groups variant are at their default."""
    rows = []
    for arch in archs or tuple(REGISTRY):
        groups = REGISTRY[arch].pick("groups", v1_groups if arch == current else None)
        cfg = make_config(arch, alpha, resolution=resolution, groups=groups, classes=classes)
        p = cached_profile(cfg, elementwise)
        pub = published_top1(arch, alpha, resolution, groups) if classes == 1000 else None
        label = ARCH_LABELS[arch] + (f" g={groups}" if groups else "")
        rows.append({"arch": arch, "label": label, "groups": groups, "params": p.params,
                     "macs": p.macs,
                     "flops": p.flops, "top1": float("nan") if pub is None else pub.top1,
                     "top1_source": "" if pub is None else pub.source})
    return pd.DataFrame(rows)


TABS = ("Every architecture", "Pareto view", "As published", "A/B", "Devices")


def render(cfg: Config) -> None:
    """The five sections as tabs: one screen each, not one 5,000 px page (every tab still runs,
    so its widgets and URL parameters keep their state while another is shown)."""
    unit, elementwise = counting_options()
    st.header("Compare")
    families, pareto, published, ab, devices = st.tabs(TABS)
    with families:
        _families(cfg, unit, elementwise)
    with pareto:
        accuracy_ui.render_pareto(cfg)
    with published:
        _accuracy(cfg)
    with ab:
        _ab(cfg, unit, elementwise)
    with devices:  # the configuration on every device that can say something about it
        latency_on.device_view(cfg, predicted.chosen_setup())


def _families(cfg: Config, measure: str, elementwise: bool) -> None:
    label = UNIT_LABELS[measure]
    st.subheader(f"Every architecture at \u03b1 {cfg.alpha:g}, \u03c1 {cfg.rho:.3f} "
                 f"({cfg.resolution} px)")
    df = family_table(cfg.alpha, cfg.resolution, cfg.groups,
                      cfg.classes, elementwise, tuple(REGISTRY), cfg.arch)
    st.plotly_chart(charts.family_scatter(df, cfg.arch, measure), width="stretch",
                    config={"displaylogo": False})
    cur = df[df["arch"] == cfg.arch].iloc[0]
    shown = df.assign(
        cost_ratio=df[measure] / cur[measure], params_ratio=df["params"] / cur["params"],
        top1=["\u2013" if pd.isna(v) else fmt_top1(v) for v in df["top1"]],
    )[["label", "params", measure, "params_ratio", "cost_ratio", "top1", "top1_source"]]
    shown = predicted.rank_families(shown, df["arch"], cfg)
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "label": st.column_config.TextColumn("architecture"),
        "params": st.column_config.NumberColumn("params", format="localized"),
        measure: st.column_config.NumberColumn(label, format="localized"),
        "params_ratio": st.column_config.NumberColumn(
            f"params \u00f7 {ARCH_LABELS[cfg.arch]}", format="%.2f\u00d7"),
        "cost_ratio": st.column_config.NumberColumn(
            f"{label} \u00f7 {ARCH_LABELS[cfg.arch]}", format="%.2f\u00d7"),
        "top1": st.column_config.TextColumn(
            "published top-1 %", alignment="right",
            help="ImageNet top-1 published for exactly this configuration: its checkpoint table's "
                 "where one exists (the value Explore shows), else its paper's; \u2013 where it "
                 "was not published."),
        "top1_source": st.column_config.TextColumn(
            "top-1 source", help="where the published top-1 comes from (the source Explore's "
                                 "card and the Pareto view name too)"),
        **predicted.RANK_COLUMNS,
    })
    st.caption(
        "Both axes are logarithmic: equal distances are equal ratios. The ring marks the "
        "sidebar's architecture. Published top-1 appears where a paper trained exactly this "
        "configuration (1000 classes), from its checkpoint table where there is one; at other "
        "\u03b1 and \u03c1 nobody measured it. ResNet has no width multiplier in its paper: its "
        "\u03b1 scales every stage (slimmable networks' convention).")


def _accuracy(cfg: Config) -> None:
    st.subheader("Accuracy against cost, as published")
    t = cached_paper_check()
    t = t[t["top1"].notna() & (t["status"] != OTHER)].reset_index(drop=True)
    t = t.drop_duplicates(["arch", "alpha", "resolution", "groups"]).reset_index(drop=True)
    t["top1"] = [published_top1(r.arch, r.alpha, r.resolution, None if pd.isna(r.groups)
                                else int(r.groups)).top1 for r in t.itertuples(index=False)]
    df = pd.DataFrame({"family": t["family"], "variant": t["variant"],
                       "macs": t["macs_lightviz"], "params": t["params_lightviz"],
                       "top1": t["top1"]})
    hit = t.index[same_configuration(t, cfg.arch, cfg.alpha, cfg.resolution, cfg.groups)]
    st.plotly_chart(charts.accuracy_figure(df, list(hit)), width="stretch",
                    config={"displaylogo": False})
    st.caption(
        "Each dot is a configuration a paper (or torchvision) trained and reported; x is "
        "lightviz's MAC count of that configuration, y the reported ImageNet top-1 (its "
        "checkpoint table's where there is one, as in the first tab's table and on Explore). Lines join "
        "one family's widths and resolutions. Up and to the left is better. MACs are not "
        "latency: see the Latency page where it is available.")


def _b_defaults(cfg: Config) -> AppState:
    """B starts as A at another width. Its rho is A's on the slider's grid (160 px is
    0.714285..., the stop 0.7143), so B's first state is the one its URL notices describe."""
    return AppState(arch=cfg.arch, alpha=0.5 if cfg.alpha != 0.5 else 1.0,
                    rho=nearest(cfg.rho, RHO_STOPS), groups=cfg.groups)


def _ab(cfg: Config, measure: str, elementwise: bool) -> None:
    label = UNIT_LABELS[measure]
    st.subheader("A/B: two configurations side by side")
    ss = st.session_state
    seed_from_url(ss, st.query_params, prefix=B, defaults=_b_defaults(cfg))
    left, right = st.columns([1, 3])
    with left:
        st.markdown(f"**A** is the sidebar's configuration: {nice_label(cfg)}.  \n"
                    f"**B** (its classes and counting options follow A's):")
        config_widgets(prefix=B, persist="session")
    b_state = state_from_widgets(ss, prefix=B)
    for notice in pending_notices(ss, b_state, prefix=B):
        right.warning(notice.message, icon=":material/link:")
    sync_query_params(st.query_params, {B + k: v for k, v in b_state.to_query().items()
                                        if k in ("arch", "alpha", "rho", "groups")}, B_PARAMS)
    b_cfg = make_config(b_state.arch, b_state.alpha, b_state.rho, groups=b_state.groups,
                        classes=cfg.classes)
    a, b = cached_profile(cfg, elementwise), cached_profile(b_cfg, elementwise)
    with right:
        cols = st.columns(3)
        for col, name, va, vb, fmt in (
            (cols[0], "Params", a.params, b.params, fmt_count),
            (cols[1], label, getattr(a, measure), getattr(b, measure), fmt_count),
            (cols[2], "Peak activations", a.peak_activation_bytes, b.peak_activation_bytes,
             fmt_bytes),
        ):
            ratio = vb / va if va else float("nan")
            col.metric(f"{name} of B", fmt(vb), delta=f"\u00d7{ratio:.2f} of A ({fmt(va)})",
                       delta_color="off", delta_arrow="off", border=True)
        diff, how = charts.stage_diff(a.layers, b.layers, cfg.resolution, b_cfg.resolution,
                                      measure)
        st.plotly_chart(charts.ab_figure(diff, how, nice_label(cfg), nice_label(b_cfg), measure),
                        width="stretch", config={"displaylogo": False})
    diff = diff.assign(cost_ratio=as_text(diff["cost_ratio"], "{:.2f}\u00d7"))
    st.dataframe(diff, hide_index=True, width="stretch", column_config={
        how: st.column_config.TextColumn(how),
        "params_a": st.column_config.NumberColumn("params A", format="localized"),
        "params_b": st.column_config.NumberColumn("params B", format="localized"),
        "params_diff": st.column_config.NumberColumn("params B \u2212 A", format="%+,d"),
        "cost_a": st.column_config.NumberColumn(f"{label} A", format="localized"),
        "cost_b": st.column_config.NumberColumn(f"{label} B", format="localized"),
        "cost_diff": st.column_config.NumberColumn(f"{label} B \u2212 A", format="%+,d"),
        "cost_ratio": st.column_config.TextColumn(f"{label} B \u00f7 A", alignment="right"),
    })
    if how == "stage":
        st.caption("Rows are the stages both networks share, in network order.")
    else:
        st.caption(
            "The two networks name their stages differently, so rows group the layers by the "
            "scale of their output (1/8 = the input side divided by 8), the one grouping both "
            "share; stem and head stay apart.")
