"""The deployment-memory figure (Explore's Memory tab): the bytes live at each deployed op, with
and without TinyEngine's in-place depthwise, the peaks marked and named (no Streamlit here, like
:mod:`lightviz.charts`, whose layout, legend and stage lines it shares).

The two series keep 3:1 contrast on the light and the dark theme (:mod:`lightviz.styles`): the
plain rule in blue, the in-place rule in orange and dashed (a line, drawn over the bars, so the
two read apart without their hue); the every-op figure is a dash-dot reference line in
:data:`lightviz.styles.NEUTRAL`.
"""

from __future__ import annotations

import plotly.graph_objects as go

from .charts import LEGEND
from .deployment import DeploymentMemory
from .styles import LINES, NEUTRAL
from .units import KiB, fmt_bytes

PLAIN = "#4C78A8"  # 4.4:1 on white, 4.2:1 on #0E1117
IN_PLACE = "#D9700A"  # MobileNet v1's orange in lightviz.styles: 3:1 or more on both


def _short(label: str) -> str:
    """"block 2 (stage2.0.conv_dw): 3x3 depthwise conv" -> "block 2, 3x3 depthwise conv"."""
    where, _, what = label.partition(": ")
    return f"{where.split(' (')[0]}, {what}" if what else where


def memory_figure(plain: DeploymentMemory, in_place: DeploymentMemory,
                  title: str | None = None) -> go.Figure:
    """Live KiB at each deployed op in execution order: bars without in-place depthwise, a
    dashed line with it, each peak marked and named, the every-op figure as a reference line."""
    ops = plain.ops
    x = list(range(len(ops)))
    custom = [[o.label, fmt_bytes(o.live_bytes), fmt_bytes(q.live_bytes), f"{o.live_bytes:,}",
               f"{q.live_bytes:,}", fmt_bytes(o.input_bytes), fmt_bytes(o.output_bytes)]
              for o, q in zip(ops, in_place.ops)]
    hover = ("<b>%{customdata[0]}</b><br>live %{customdata[1]} (%{customdata[3]} B)"
             "<br>with in-place depthwise %{customdata[2]} (%{customdata[4]} B)"
             "<br>input %{customdata[5]}, output %{customdata[6]}<extra></extra>")
    fig = go.Figure()
    fig.add_bar(x=x, y=[o.live_bytes / KiB for o in ops], name="fused ops, input + output live",
                marker_color=PLAIN, customdata=custom, hovertemplate=hover)
    fig.add_scatter(x=x, y=[o.live_bytes / KiB for o in in_place.ops], mode="lines",
                    name="with in-place depthwise (N + 1 channels)", customdata=custom,
                    hovertemplate=hover, line=dict(color=IN_PLACE, width=2.5,
                                                   dash=LINES["estimated"], shape="hvh"))
    every = plain.every_op_peak_bytes / KiB
    fig.add_scatter(x=[-0.5, len(ops) - 0.5], y=[every, every], mode="lines",
                    name=f"every op writes a tensor: {fmt_bytes(plain.every_op_peak_bytes)}",
                    line=dict(color=NEUTRAL, width=1.5, dash=LINES["reference"]),
                    hovertemplate="every op writes a new tensor: %{y:,.0f} KiB<extra></extra>")
    notes, shapes = [], []
    # the two peaks are often neighbours (MobileNet v2's block 2): one label leans right, the
    # other left, so they never print over each other
    for mem, colour, shift in ((plain, PLAIN, 44), (in_place, IN_PLACE, -44)):
        i = next(k for k, o in enumerate(mem.ops) if o.live_bytes == mem.peak_bytes)
        notes.append(dict(x=i, y=mem.peak_bytes / KiB, xref="x", yref="y", showarrow=True,
                          arrowhead=2, arrowcolor=colour, ax=shift, ay=-36,
                          text=f"peak {fmt_bytes(mem.peak_bytes)}", font=dict(size=12,
                                                                              color=colour),
                          bgcolor="rgba(0,0,0,0)"))
    # stage boundaries, as on the per-layer chart
    seen: dict[str, int] = {}
    for i, o in enumerate(ops):
        stage = o.block.split(".")[0]
        if stage not in seen:
            seen[stage] = i
            if i > 0:
                shapes.append(dict(type="line", xref="x", yref="paper", x0=i - 0.5, x1=i - 0.5,
                                   y0=0, y1=1, line=dict(width=1, dash="dot", color=NEUTRAL)))
    # a stage's name under its first op, thinned from the head backwards so that short stages
    # (stem, stage1) do not print over their neighbours on a phone
    gap, kept = max(1.0, len(ops) / 12), dict[str, int]()
    for stage, i in reversed(list(seen.items())):
        if not kept or min(kept.values()) - i >= gap:
            kept[stage] = i
    ticks = sorted(kept.values())
    labels = [s for i in ticks for s, j in kept.items() if j == i]
    fig.update_layout(
        title=dict(text=title or f"Deployment memory per op ({plain.precision})", x=0,
                   xanchor="left", font=dict(size=15), yref="container", y=0.99, yanchor="top"),
        height=480, shapes=shapes, annotations=notes, barmode="overlay", bargap=0.1,
        xaxis=dict(title_text="deployed op, in execution order", tickvals=ticks,
                   ticktext=labels, tickangle=-45, automargin=True),
        yaxis=dict(title_text="live KiB", rangemode="tozero", automargin=True),
        legend=LEGEND, margin=dict(l=8, r=8, t=48, b=8),
    )
    return fig


def peak_sentence(plain: DeploymentMemory, in_place: DeploymentMemory) -> str:
    """What the figure says, in words (the caption under it)."""
    return (f"Peak **{fmt_bytes(plain.peak_bytes)}** ({plain.peak_bytes:,} B) at "
            f"**{_short(plain.peak_op)}** ({plain.peak_block}); with in-place depthwise "
            f"**{fmt_bytes(in_place.peak_bytes)}** ({in_place.peak_bytes:,} B) at "
            f"**{_short(in_place.peak_op)}** ({in_place.peak_block}). Every op writing a new "
            f"tensor would need {fmt_bytes(plain.every_op_peak_bytes)}.")
