"""The latency page's plotly figures, as plain functions of measured data (no Streamlit here, like
:mod:`lightviz.charts`, whose colours and height they share).

* :func:`share_figure` per block, its share of the measured time beside its share of the MACs;
* :func:`roofline_figure` achieved MACs/s against arithmetic intensity under the measured roof
  (Williams, Waterman and Patterson, "Roofline", CACM 2009);
* :func:`sweep_figure` measured latency (p10-p90) and MACs against alpha or rho, two axes;
* :func:`zoo_figure` the zoo on MACs against measured latency.

Counts in hover texts are written by :func:`lightviz.units.fmt_count`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .charts import HEIGHT, KIND_COLORS, LEGEND, arch_style
from .styles import LINES, NEUTRAL, SERIES
from .units import fmt_count

_LEGEND = LEGEND
_MARGIN = dict(l=8, r=8, t=40, b=8)


def share_figure(blocks: pd.DataFrame) -> go.Figure:
    """Per block: its share of the measured time beside its share of the MACs."""
    fig = go.Figure()
    fig.add_bar(x=blocks["block"], y=blocks["mac_share"] * 100, name="share of MACs",
                marker_color="#BAB0AC", customdata=blocks["mac_kinds"],
                hovertemplate="%{x}: %{y:.1f}% of the MACs<br>%{customdata}<extra></extra>")
    fig.add_bar(x=blocks["block"], y=blocks["time_share"] * 100, name="share of time",
                marker_color="#4C78A8", customdata=blocks["time_ms"],
                hovertemplate="%{x}: %{y:.1f}% of the time (%{customdata:.3f} ms)<extra></extra>")
    fig.update_layout(barmode="group", height=HEIGHT, yaxis_title="% of the network",
                      legend=_LEGEND, margin=_MARGIN)
    return fig


def roofline_figure(ops: pd.DataFrame, roof: dict) -> go.Figure:
    """Achieved MACs/s against MACs per byte, by kind, under the device's measured roof."""
    df = ops[(ops["macs"] > 0) & np.isfinite(ops["gmacs_per_s"]) & np.isfinite(ops["intensity"])]
    fig = go.Figure()
    for kind, part in df.groupby("kind", sort=False):
        fig.add_scatter(x=part["intensity"], y=part["gmacs_per_s"], mode="markers", name=kind,
                        marker=dict(color=KIND_COLORS.get(kind), size=9, opacity=0.85),
                        customdata=np.stack([part["path"], part["time_ms"]], axis=-1),
                        hovertemplate="%{customdata[0]}<br>%{x:.2f} MACs/byte, %{y:.2f} GMAC/s"
                                      "<br>%{customdata[1]:.4f} ms<extra></extra>")
    peak, bw = roof.get("peak_macs_per_s"), roof.get("bandwidth_bytes_per_s")
    if peak and bw and len(df):
        lo = min(df["intensity"].min(), peak / bw) / 2
        hi = max(df["intensity"].max(), peak / bw) * 2
        xs = np.geomspace(lo, hi, 60)
        fig.add_scatter(x=xs, y=np.minimum(peak, bw * xs) / 1e9, mode="lines", name="roof (measured)",
                        line=dict(color=NEUTRAL, dash=LINES["reference"]),
                        hovertemplate="roof: %{y:.1f} GMAC/s at %{x:.2f} MACs/byte<extra></extra>")
    fig.update_layout(height=HEIGHT + 60, margin=_MARGIN, legend=_LEGEND)
    fig.update_xaxes(type="log", title="arithmetic intensity (MACs per byte moved)")
    fig.update_yaxes(type="log", title="achieved GMAC/s")
    return fig


def sweep_figure(rows: list[dict], x: str, x_title: str) -> go.Figure:
    """Measured latency (with p10–p90) and MACs against alpha or rho, on two axes."""
    ok = [r for r in rows if "median_ms" in r]
    fig = go.Figure()
    if ok:
        xs = [r[x] for r in ok]
        fig.add_scatter(x=xs, y=[r["median_ms"] for r in ok], name="measured latency (median)",
                        mode="lines+markers",
                        line=dict(color=SERIES["latency measured"], dash=LINES["measured"]),
                        error_y=dict(type="data", symmetric=False,
                                     array=[r["p90_ms"] - r["median_ms"] for r in ok],
                                     arrayminus=[r["median_ms"] - r["p10_ms"] for r in ok]),
                        hovertemplate="%{x:.3g}: %{y:.3f} ms<extra></extra>")
    with_macs = [r for r in rows if "macs" in r]
    fig.add_scatter(x=[r[x] for r in with_macs], y=[r["macs"] / 1e6 for r in with_macs],
                    name="MACs (millions)", yaxis="y2", mode="lines+markers",
                    line=dict(color=SERIES["macs"], dash=LINES["counted"]),
                    customdata=[fmt_count(r["macs"]) for r in with_macs],
                    hovertemplate="%{x:.3g}: %{customdata} MACs<extra></extra>")
    fig.update_layout(height=HEIGHT, margin=_MARGIN,
                      xaxis_title=x_title, yaxis=dict(title="latency (ms)", rangemode="tozero"),
                      yaxis2=dict(title="MACs (millions)", overlaying="y", side="right",
                                  rangemode="tozero", showgrid=False),
                      legend=_LEGEND)
    return fig


def zoo_figure(rows: list[dict]) -> go.Figure:
    """The zoo on MACs (x) against measured latency (y)."""
    ok = [r for r in rows if "median_ms" in r]
    fig = go.Figure()
    for r in ok:
        fig.add_scatter(x=[r["macs"] / 1e6], y=[r["median_ms"]], mode="markers+text", name=r["arch"],
                        text=[r["arch"]], textposition="top center",
                        marker=dict(size=12, color=arch_style(r["arch"]).colour,
                                    symbol=arch_style(r["arch"]).marker),
                        error_y=dict(type="data", symmetric=False, array=[r["p90_ms"] - r["median_ms"]],
                                     arrayminus=[r["median_ms"] - r["p10_ms"]]),
                        hovertemplate=f"{r['label']}<br>{fmt_count(r['macs'])} MACs, "
                                      f"%{{y:.3f}} ms<extra></extra>")
    fig.update_layout(height=HEIGHT + 60, showlegend=False, margin=dict(l=8, r=8, t=24, b=8),
                      xaxis=dict(title="MACs per image (millions)", rangemode="tozero"),
                      yaxis=dict(title="measured latency (ms)", rangemode="tozero"))
    return fig


RUNTIME_COLORS = {"torch": "#4C78A8", "torch-compile": "#F58518", "onnxruntime": "#54A24B",
                  "tensorrt": "#76B900"}


def runtime_figure(rows: list[dict]) -> go.Figure:
    """One configuration on every runtime: median latency (bar, p10–p90 whiskers) per runtime,
    each labelled with its speed-up over eager PyTorch (``rows``: ``runtime``, ``median_ms``,
    ``p10_ms``, ``p90_ms``, ``speedup``, ``version``, ``provider``)."""
    ok = [r for r in rows if "median_ms" in r]
    fig = go.Figure()
    fig.add_bar(
        x=[r.get("label", r["runtime"]) for r in ok], y=[r["median_ms"] for r in ok],
        marker_color=[RUNTIME_COLORS.get(r["runtime"], "#BAB0AC") for r in ok],
        error_y=dict(type="data", symmetric=False, array=[r["p90_ms"] - r["median_ms"] for r in ok],
                     arrayminus=[r["median_ms"] - r["p10_ms"] for r in ok]),
        text=[f"{r['speedup']:.2f}x" if r.get("speedup") else "" for r in ok], textposition="outside",
        customdata=[[r.get("version") or "", r.get("provider") or ""] for r in ok],
        hovertemplate="%{x} %{customdata[0]} (%{customdata[1]})<br>median %{y:.3f} ms<br>"
                      "%{text} eager PyTorch's speed<extra></extra>")
    fig.update_layout(height=HEIGHT, margin=_MARGIN, showlegend=False,
                      xaxis_title="runtime (bar label: speed-up over eager PyTorch)",
                      yaxis=dict(title="median latency (ms), p10–p90", rangemode="tozero"))
    return fig


def int8_profile_figure(rows: list[dict]) -> go.Figure:
    """ONNX Runtime's node time per op type, fp32 and int8 side by side (``rows`` of
    :func:`lightviz.latency.runtimes.ort_profile.compare`): the int8 graph's own op types
    (QLinearConv, QuantizeLinear, DequantizeLinear) stand where the fp32 ones were."""
    fig = go.Figure()
    keys = [r["key"] for r in rows]
    for name, col, color in (("fp32", "fp32_ms", "#4C78A8"), ("int8", "int8_ms", "#E45756")):
        fig.add_bar(name=name, x=keys, y=[r[col] for r in rows], marker_color=color,
                    hovertemplate=f"%{{x}}<br>{name} %{{y:.3f}} ms per run<extra></extra>")
    fig.update_layout(height=HEIGHT, margin=_MARGIN, barmode="group", legend=LEGEND,
                      xaxis_title="op type (ONNX Runtime kernel)",
                      yaxis=dict(title="node time per run (ms)", rangemode="tozero"))
    return fig
