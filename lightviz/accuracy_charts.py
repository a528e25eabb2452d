"""Figures of the estimated top-1 (lightviz.accuracy): its second axis on the α and ρ sweeps, and
the Pareto chart of top-1 against a cost. Plotly only (no Streamlit), like lightviz.charts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from .accuracy import EXTRAPOLATED, INTERPOLATED, PUBLISHED
from .styles import FRONT, LINES, NEUTRAL, RING, SERIES

if TYPE_CHECKING:  # the figures take tables built elsewhere; pandas is imported where used
    import pandas as pd

TOP1_COLOR = SERIES["top1"]
COST_TITLES = {"macs": "MACs per image (log scale)", "params": "params (log scale)",
               "ms": "latency on this host, ms (log scale)"}
COST_NAMES = {"macs": "MACs", "params": "params", "ms": "ms"}


def add_top1_axis(fig: go.Figure, x: Sequence[float], top1: pd.DataFrame,
                  published_x: Sequence[float] = (), published_y: Sequence[float] = (),
                  current_x: float | None = None, precision: str = "fp32") -> go.Figure:
    """Draw the estimated top-1 on a right-hand axis of a sweep figure: the value (solid where
    interpolated (dashed: an estimate), dotted where extrapolated), its interval as a band, and the published points as
    diamonds. ``top1`` has one row per x with value, low, high and status (value NaN where there
    is no estimate). ``precision`` (the top-1's) is named on the axis when not fp32."""
    import pandas as pd

    t = top1.reset_index(drop=True).assign(x=list(x))
    have = t[t["value"].notna()]
    if have.empty and not len(published_x):
        return fig
    fig.add_trace(go.Scatter(
        x=list(have["x"]) + list(have["x"])[::-1], y=list(have["high"]) + list(have["low"])[::-1],
        fill="toself", fillcolor="rgba(44,160,44,0.12)", line=dict(width=0), yaxis="y2",
        name="top-1 interval", hoverinfo="skip", showlegend=False))
    inside = t["value"].where(t["status"].isin((PUBLISHED, INTERPOLATED)))
    outside = t["value"].where(t["status"] == EXTRAPOLATED)
    # join the dotted part to the dashed one where they meet
    edge = inside.notna() & (outside.shift(1).notna() | outside.shift(-1).notna())
    outside = outside.where(outside.notna(), t["value"].where(edge))
    for name, y, dash in (("top-1 (est.)", inside, LINES["estimated"]),
                          ("top-1 extrapolated", outside, LINES["extrapolated"])):
        if y.notna().any():
            fig.add_trace(go.Scatter(
                x=t["x"], y=y, yaxis="y2", name=name, mode="lines",
                line=dict(color=TOP1_COLOR, width=2.5, dash=dash),
                customdata=t[["low", "high", "status"]].to_numpy(),
                hovertemplate="%{x}: top-1 %{y:.1f} % (%{customdata[0]:.1f}-%{customdata[1]:.1f}, "
                              "%{customdata[2]})<extra></extra>"))
    if len(published_x):
        fig.add_trace(go.Scatter(
            x=list(published_x), y=list(published_y), yaxis="y2", mode="markers",
            name="published top-1", marker=dict(symbol="diamond", size=10, color=TOP1_COLOR,
                                                line=dict(width=1, color="#ffffff")),
            hovertemplate="%{x}: published top-1 %{y:.1f} %<extra></extra>"))
    if current_x is not None:
        cur = t[(t["x"] - current_x).abs() < 1e-9]
        if not cur.empty and pd.notna(cur["value"].iloc[0]):
            fig.add_trace(go.Scatter(
                x=[current_x], y=[cur["value"].iloc[0]], yaxis="y2", mode="markers",
                showlegend=False, marker=dict(size=13, color=TOP1_COLOR,
                                              line=dict(width=2.5, color="#ffffff")),
                hovertemplate="current: top-1 %{y:.1f} % (est.)<extra></extra>"))
    at = "" if precision == "fp32" else f"{precision}, "
    fig.update_layout(yaxis2=dict(title_text=f"top-1 % ({at}est.)", overlaying="y", side="right",
                                  showgrid=False, rangemode="normal", tickmode="auto",
                                  nticks=6))
    return fig


def _top1_text(part: pd.DataFrame, col: str) -> list[str]:
    """A top-1 column as the pages and ``lightviz pareto`` write it (lightviz.units.fmt_top1),
    from the estimate itself (``<col>_exact``) where the rows carry it."""
    from .units import fmt_top1

    exact = f"{col}_exact"
    return [fmt_top1(v) for v in part[exact if exact in part else col]]


def pareto_figure(df: pd.DataFrame, cost: str, front: pd.DataFrame,
                  current: dict | None = None, precision: str = "fp32") -> go.Figure:
    """Estimated top-1 against ``cost`` (log x) for every candidate configuration, each
    architecture (and ShuffleNet v1 group count) in its colour and marker
    (:mod:`lightviz.styles`), published checkpoints large, extrapolated points open, for latency
    a grey edge where the latency was measured rather than predicted; the front as a line and
    the current configuration ringed, both in a grey that reads on either theme. ``df`` columns:
    label, arch, alpha, resolution, groups, top1, top1_low, top1_high, status, <cost> (and
    ``ms_status`` for latency). Each point's customdata is (arch, alpha, resolution, groups) so
    a click can set the configuration. ``precision`` (the top-1's) is named in the title when
    not fp32."""
    from .charts import LEGEND, arch_style

    traces = []
    for label, part in df.groupby("label", sort=False):
        look = arch_style(part["arch"].iloc[0], part["groups"].iloc[0])
        symbols = [look.marker + ("-open" if s == EXTRAPOLATED else "") for s in part["status"]]
        sizes = [13 if s == PUBLISHED else 7 for s in part["status"]]
        kind = part["ms_status"] if cost == "ms" and "ms_status" in part else [""] * len(part)
        measured = [k == "measured" for k in kind]
        groups = part["groups"].astype(object).where(part["groups"].notna(), None)
        traces.append(go.Scatter(
            x=part[cost], y=part["top1"], mode="markers", name=label,
            marker=dict(color=look.colour, symbol=symbols, size=sizes, opacity=0.9,
                        line=dict(width=[2 if m else 1 for m in measured],
                                  color=[NEUTRAL if m else look.colour for m in measured])),
            customdata=list(zip(part["arch"], part["alpha"], part["resolution"], groups,
                                part["status"], _top1_text(part, "top1_low"),
                                _top1_text(part, "top1_high"), kind, _top1_text(part, "top1"))),
            hovertemplate=(f"<b>{label}</b> \u03b1 %{{customdata[1]}} \u00b7 %{{customdata[2]}} px"
                           "<br>top-1 %{customdata[8]} % (%{customdata[5]}-%{customdata[6]}, "
                           f"%{{customdata[4]}})<br>{COST_NAMES[cost]} %{{x:.3s}} "
                           "%{customdata[7]}<extra></extra>")))
    if not front.empty:
        f = front.sort_values(cost)
        traces.append(go.Scatter(
            x=f[cost], y=f["top1"], mode="lines", name="Pareto front", line_shape="hv",
            line=FRONT, hoverinfo="skip"))
    if current is not None and current.get("top1") is not None and current.get(cost):
        traces.append(go.Scatter(
            x=[current[cost]], y=[current["top1"]], mode="markers", name="current configuration",
            marker=dict(size=22, color="rgba(0,0,0,0)", line=RING),
            hoverinfo="skip"))
    fig = go.Figure(traces)
    fig.update_layout(
        title=dict(text=f"Estimated top-1{'' if precision == 'fp32' else ' in ' + precision} "
                        f"against {COST_NAMES[cost].replace('ms', 'latency')}",
                   x=0, xanchor="left", font=dict(size=15), yref="container", y=0.99,
                   yanchor="top"),
        height=560, margin=dict(l=8, r=8, t=48, b=8), clickmode="event+select",
        legend=dict(LEGEND, entrywidth=95),  # text width: two columns on a phone
        xaxis=dict(type="log", title_text=COST_TITLES[cost], **log_axis(df[cost], cost)),
        yaxis=dict(title_text="ImageNet top-1 % (estimated)"), hovermode="closest")
    return fig


def log_axis(values, cost: str) -> dict:
    """Ticks at 1, 2, 5 of each decade spanned, each written in full ("20M", "5 ms"), not
    plotly's bare minor labels "2" and "5" that read as two and five."""
    import math

    from .charts import log_ticks

    v = [float(x) for x in values if math.isfinite(float(x)) and float(x) > 0]
    if not v:
        return {}
    lo, hi = math.log10(min(v)) - 0.1, math.log10(max(v)) + 0.1
    ticks = log_ticks(math.floor(lo * 10) / 10, math.ceil(hi * 10) / 10)
    if cost == "ms":
        ticks["ticktext"] = [f"{t:g} ms" for t in ticks["tickvals"]]
    return dict(ticks, range=[lo, hi])
