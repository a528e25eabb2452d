"""Tables and plotly figures for the app, as plain functions of profiles and data frames (no
Streamlit here, so they can be tested and reused in notebooks).

Colors: one fixed color per op kind (:data:`KIND_COLORS`), chosen from the Tableau palette, which
reads on both a white and a dark background, and per architecture (:data:`ARCH_COLORS`) and family
(:data:`FAMILY_COLORS`), :mod:`lightviz.styles`' like the markers and line styles. ``measure`` is
the profile column the cost is counted in: ``"macs"`` or ``"flops"``. Counts are written by
:func:`lightviz.units.fmt_count`; the latency page's figures are in :mod:`lightviz.charts_latency`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from .counting import KINDS, Profile
from .styles import LINES, NEUTRAL, RING, SERIES, Style, style
from .units import KiB, fmt_count
from .zoo import ArchField, FamilyColours

if TYPE_CHECKING:  # imported by the functions that need it: the first page does not
    import pandas as pd

KIND_COLORS: dict[str, str] = {
    "standard conv": "#4C78A8",
    "depthwise conv": "#F58518",
    "pointwise conv": "#54A24B",
    "grouped conv": "#B279A2",
    "linear": "#E45756",
    "batch norm": "#9D9D9D",
    "activation": "#EECA3B",
    "residual add": "#72B7B2",
    "concat": "#FF9DA6",
    "channel split": "#9D755D",
    "slice": "#BAB0AC",
    "channel shuffle": "#D67195",
    "pooling": "#79706E",
    "squeeze-excite": "#17BECF",
    "flatten": "#BCBD22",
}
assert set(KIND_COLORS) == set(KINDS)

ARCH_COLORS = ArchField("colour")  # arch name -> colour, from the registry (plugins included)
FAMILY_COLORS = FamilyColours()  # family -> its first architecture's colour
MEASURE_LABELS = {"macs": "MACs", "flops": "FLOPs", "params": "params"}
WEIGHTED_KINDS = ("standard conv", "depthwise conv", "pointwise conv", "grouped conv", "linear")
HEIGHT = 400
# Legends at the figure's foot: above the plot, wrapped on a phone, they covered the title.
LEGEND = dict(orientation="h", yref="container", y=0, yanchor="bottom", xref="container", x=0,
              title_text="")
_MARGIN = dict(l=8, r=8, t=48, b=8)  # room for the title


def arch_style(arch: str, variant=None) -> Style:
    """The colour and marker of ``arch`` at ``variant`` (:func:`lightviz.styles.style`; an
    architecture from a plugin gets its Arch's colour). ``variant`` may be None, NaN or NA."""
    try:
        variant = None if variant is None else int(variant)
    except (TypeError, ValueError):  # NaN, NA: no variant
        variant = None
    return style(arch, variant, ARCH_COLORS.get(arch, ""))


# ----------------------------------------------------------------------------- tables

def kind_summary(layers: pd.DataFrame, measure: str = "macs") -> pd.DataFrame:
    """Cost and params per op kind, with their shares of the totals (0..1), largest cost first.
    Columns: kind, ops, cost, params, cost_share, params_share."""
    g = layers.groupby("kind", sort=False).agg(ops=("path", "size"), cost=(measure, "sum"),
                                               params=("params", "sum")).reset_index()
    g["cost_share"] = g["cost"] / max(int(g["cost"].sum()), 1)
    g["params_share"] = g["params"] / max(int(g["params"].sum()), 1)
    return g.sort_values(["cost", "params"], ascending=False, kind="stable").reset_index(drop=True)


def stage_summary(layers: pd.DataFrame, measure: str = "macs") -> pd.DataFrame:
    """Cost and params per stage in network order, with shares (0..1) and the output shape.
    Columns: stage, blocks, cost, params, cost_share, params_share, out_shape."""
    g = layers.groupby("stage", sort=False).agg(
        blocks=("block", "nunique"), cost=(measure, "sum"), params=("params", "sum"),
        out_shape=("out_shape", "last")).reset_index()
    g["cost_share"] = g["cost"] / max(int(g["cost"].sum()), 1)
    g["params_share"] = g["params"] / max(int(g["params"].sum()), 1)
    return g[["stage", "blocks", "cost", "params", "cost_share", "params_share", "out_shape"]]


def layer_table(layers: pd.DataFrame, measure: str = "macs") -> pd.DataFrame:
    """The per-layer rows for display, the columns a reader wants first at the left: execution
    index, path, kind, output shape, counts, the shares of the whole network's cost and params
    (0..1), then the details (stage, block, op, kernel, stride, groups as text, blank where they
    do not apply; input shape; output size in KiB, as :mod:`lightviz.units` writes bytes)."""
    import pandas as pd

    total_cost = max(int(layers[measure].sum()), 1)
    total_params = max(int(layers["params"].sum()), 1)

    def text(col, fmt):
        return [fmt(v) if pd.notna(v) else "" for v in layers[col]]

    return pd.DataFrame({
        "#": range(len(layers)),
        "path": layers["path"],
        "kind": layers["kind"],
        "out_shape": layers["out_shape"],
        "params": layers["params"],
        measure: layers[measure],
        "cost_share": layers[measure] / total_cost,
        "params_share": layers["params"] / total_params,
        "stage": layers["stage"],
        "block": layers["block"],
        "op": layers["op"],
        "kernel": text("kernel", lambda k: f"{k}\u00d7{k}"),
        "stride": text("stride", str),
        "groups": text("groups", str),
        "in_shape": layers["in_shape"],
        "out_KiB": layers["out_bytes"] / KiB,
    })


def group_table(table: pd.DataFrame, by: str, measure: str = "macs") -> pd.DataFrame:
    """``layer_table`` rows summed by ``by`` (stage, block or kind), in first-seen order."""
    g = table.groupby(by, sort=False).agg(
        ops=("path", "size"), params=("params", "sum"), cost=(measure, "sum"),
        cost_share=("cost_share", "sum"), params_share=("params_share", "sum"),
        out_shape=("out_shape", "last")).reset_index()
    g = g.rename(columns={"cost": measure})
    return g[[by, "ops", "params", measure, "cost_share", "params_share", "out_shape"]]


def feature_scale(layers: pd.DataFrame, resolution: int) -> pd.Series:
    """Where each row sits: "stem", "head" or its output scale ("1/8" = input side / 8)."""
    def scale(row):
        if row.stage in ("stem", "head"):
            return row.stage
        return f"1/{max(1, round(resolution / max(row.out_h, 1)))}"
    return layers.apply(scale, axis=1)


def stage_diff(a: pd.DataFrame, b: pd.DataFrame, res_a: int, res_b: int,
               measure: str = "macs") -> tuple:
    """Per-stage params and cost of two profiles' layers side by side with the differences.

    Same stage names -> aligned by stage. Different families (ResNet's conv2_x against
    MobileNet's stage1 ...) -> aligned by feature-map scale (stem, 1/4, 1/8 ... head), the only
    grouping both networks share. Returns (table, how) where how is "stage" or "scale"."""
    names_a, names_b = list(a["stage"].unique()), list(b["stage"].unique())
    how = "stage" if names_a == names_b else "scale"
    key_a = a["stage"] if how == "stage" else feature_scale(a, res_a)
    key_b = b["stage"] if how == "stage" else feature_scale(b, res_b)
    ga = a.groupby(key_a, sort=False).agg(params_a=("params", "sum"), cost_a=(measure, "sum"))
    gb = b.groupby(key_b, sort=False).agg(params_b=("params", "sum"), cost_b=(measure, "sum"))
    order = list(dict.fromkeys(list(ga.index) + list(gb.index)))
    if how == "scale":
        def rank(k):
            return (0, 0) if k == "stem" else (2, 0) if k == "head" else (1, int(k.split("/")[1]))
        order.sort(key=rank)
    t = ga.join(gb, how="outer").reindex(order).fillna(0).astype("int64")
    t.index.name = how
    t = t.reset_index()
    t["params_diff"] = t["params_b"] - t["params_a"]
    t["cost_diff"] = t["cost_b"] - t["cost_a"]
    t["cost_ratio"] = t["cost_b"] / t["cost_a"].where(t["cost_a"] > 0)
    return t, how


# ----------------------------------------------------------------------------- explore

def _layout(fig: go.Figure, title: str, height: int = HEIGHT, **kw) -> go.Figure:
    """The common look: a left-aligned title, small margins, the legend on top (``kw`` wins)."""
    layout = dict(title=dict(text=title, x=0, xanchor="left", font=dict(size=15),
                             yref="container", y=0.99, yanchor="top"),
                  height=height, margin=_MARGIN, legend=LEGEND)
    layout.update(kw)
    fig.update_layout(**layout)
    return fig


def _bar_rows(profile: Profile, measure: str) -> list:
    """The bars of :func:`layer_figure`, from the profile's rows (no table: the first page
    need not import pandas): (x, row, kind, stage, path, in, out, params, cost) for each row
    that does work in ``measure`` or holds conv or linear weights. FLOPs = 2 x MACs, plus the
    elementwise work when the profile counts it (as :attr:`Profile.flops`)."""
    ew = profile.elementwise
    out = []
    for i, r in enumerate(profile.rows):
        cost = {"macs": r.macs, "params": r.params,
                "flops": 2 * r.macs + (r.elementwise_flops if ew else 0)}[measure]
        if cost > 0 or r.kind in WEIGHTED_KINDS:
            out.append((len(out), i, r.kind, r.stage, r.path, r.in_shape, r.out_shape,
                        r.params, cost))
    return out


def layer_figure(profile: Profile, measure: str = "macs") -> go.Figure:
    """Per-layer cost (top) and params (bottom), one bar per layer in execution order, colored by
    op kind, with the stages marked. Layers are those that do work in ``measure`` or hold
    weights of a conv or linear layer (BN's 2 params per channel are in the table, not here)."""
    bars = _bar_rows(profile, measure)
    unit = MEASURE_LABELS[measure]
    traces = []
    present = {b[2] for b in bars}
    for kind in [k for k in KIND_COLORS if k in present]:
        part = [b for b in bars if b[2] == kind]
        custom = [[b[4], b[5], b[6], b[7], b[8], b[1]] for b in part]
        hover = ("<b>%{customdata[0]}</b> (row %{customdata[5]})<br>" + kind +
                 "<br>%{customdata[1]} \u2192 %{customdata[2]}<br>" + unit +
                 " %{customdata[4]:,}<br>params %{customdata[3]:,}<extra></extra>")
        common = dict(x=[b[0] for b in part], customdata=custom, hovertemplate=hover, name=kind,
                      marker_color=KIND_COLORS[kind], legendgroup=kind)
        traces.append(go.Bar(y=[b[8] for b in part], yaxis="y", xaxis="x", **common))
        traces.append(go.Bar(y=[b[7] for b in part], yaxis="y2", xaxis="x2", showlegend=False,
                             **common))
    fig = go.Figure(traces)
    # stage boundaries: a faint line before each stage and its name above the top panel
    spans: dict[str, list] = {}
    for b in bars:
        spans.setdefault(b[3], []).append(b[0])
    shapes, notes = [], []
    for i, (stage, xs) in enumerate(spans.items()):
        lo, hi = min(xs), max(xs)
        if lo > 0:
            shapes.append(dict(type="line", xref="x", yref="paper", x0=lo - 0.5, x1=lo - 0.5,
                               y0=0, y1=1, line=dict(width=1, dash="dot", color=NEUTRAL)))
        # three rows of names, so that short neighbouring stages ("stem", "stage1" of one or two
        # bars) do not overprint each other on a phone ("stemstage2")
        notes.append(dict(x=(lo + hi) / 2, y=1.0 + 0.045 * (i % 3), xref="x", yref="paper",
                          text=stage, showarrow=False, yanchor="bottom",
                          font=dict(size=11, color=NEUTRAL)))
    return _layout(
        fig, f"{unit} and params per layer", height=520, barmode="overlay", bargap=0.15,
        shapes=shapes, annotations=notes,
        xaxis=dict(domain=[0, 1], anchor="y", showticklabels=False, matches="x2"),
        xaxis2=dict(domain=[0, 1], anchor="y2", title_text="layer (execution order)"),
        yaxis=dict(domain=[0.55, 0.92], title_text=unit, rangemode="tozero"),
        yaxis2=dict(domain=[0, 0.42], title_text="params", rangemode="tozero"),
        margin=dict(_MARGIN, t=88),
    )


def kind_figure(summary: pd.DataFrame, measure: str = "macs") -> go.Figure:
    """Share of the cost and of the params by op kind: two panels of horizontal bars."""
    s = summary[(summary["cost"] > 0) | (summary["params"] > 0)].iloc[::-1]
    unit = MEASURE_LABELS[measure]
    colors = [KIND_COLORS[k] for k in s["kind"]]
    traces = []
    for col, axis, total in (("cost_share", "x", s["cost"]), ("params_share", "x2", s["params"])):
        traces.append(go.Bar(
            y=s["kind"], x=s[col] * 100, orientation="h", marker_color=colors, xaxis=axis,
            text=[f"{v * 100:.1f} %" for v in s[col]], textposition="outside", cliponaxis=False,
            customdata=total, showlegend=False,
            hovertemplate="%{y}: %{x:.1f} % (%{customdata:,})<extra></extra>"))
    fig = go.Figure(traces)
    return _layout(
        fig, f"Share of {unit} and of params by op kind",
        height=max(260, 34 * len(s) + 90),
        xaxis=dict(domain=[0, 0.46], range=[0, 118], title_text=f"% of {unit}", ticksuffix=""),
        xaxis2=dict(domain=[0.54, 1], range=[0, 118], title_text="% of params", anchor="y"),
        yaxis=dict(automargin=True),
        margin=dict(_MARGIN, t=40),
    )


def stage_treemap(layers: pd.DataFrame, column: str = "macs", title: str = "") -> go.Figure:
    """Stage -> block -> op kind, area = ``column`` (macs, flops or params)."""
    part = layers[layers[column] > 0]
    total = int(part[column].sum())
    ids, labels, parents, values = ["all"], ["network"], [""], [total]
    for stage, s in part.groupby("stage", sort=False):
        ids.append(stage)
        labels.append(stage)
        parents.append("all")
        values.append(int(s[column].sum()))
        blocks = s.groupby("block", sort=False)
        for block, b in blocks:
            parent = stage
            if blocks.ngroups > 1 or block != stage:
                bid = f"{stage}/{block}"
                ids.append(bid)
                labels.append(block)
                parents.append(stage)
                values.append(int(b[column].sum()))
                parent = bid
            for kind, k in b.groupby("kind", sort=False):
                ids.append(f"{parent}/{kind}")
                labels.append(kind)
                parents.append(parent)
                values.append(int(k[column].sum()))
    unit = MEASURE_LABELS[column]
    fig = go.Figure(go.Treemap(
        ids=ids, labels=labels, parents=parents, values=values, branchvalues="total",
        maxdepth=3, textinfo="label+percent root", sort=False,  # stages in network order
        customdata=[fmt_count(v) for v in values],
        hovertemplate="<b>%{label}</b><br>" + unit + " %{customdata} (%{value:,})<br>"
                      "%{percentRoot:.1%} of the network<extra></extra>",
        root_color="rgba(128,128,128,0.08)"))
    return _layout(fig, title or f"{unit} by stage and block (click to zoom)", height=460,
                   margin=dict(_MARGIN, t=40))


def _sweep_figure(x, series, current_x, current_y, law, law_label, x_title, title,
                  hover_x) -> go.Figure:
    traces = [go.Scatter(x=x, y=law, name=law_label, mode="lines",
                         line=dict(dash=LINES["reference"], width=2, color=NEUTRAL),
                         hoverinfo="skip")]
    for name, (ratio, absolute, color) in series.items():
        traces.append(go.Scatter(
            x=x, y=ratio, name=name, mode="lines+markers",
            line=dict(color=color, width=2.5, dash=LINES["counted"]),
            marker=dict(size=5), customdata=[fmt_count(v) for v in absolute],
            hovertemplate=hover_x + ": %{x}<br>" + name + " %{customdata} (\u00d7%{y:.3f})"
                          "<extra></extra>"))
    for name, (_, _, color) in series.items():
        traces.append(go.Scatter(
            x=[current_x], y=[current_y[name]], mode="markers", showlegend=False,
            marker=dict(size=15, color=color, symbol="circle",
                        line=dict(width=2.5, color="#ffffff")),
            hovertemplate=f"current: {hover_x} %{{x}}<br>{name} \u00d7%{{y:.3f}}<extra></extra>"))
    fig = go.Figure(traces)
    fig.add_vline(x=current_x, line=dict(width=1, color=NEUTRAL))
    return _layout(fig, title, height=380, xaxis=dict(title_text=x_title),
                   yaxis=dict(title_text="\u00d7 the value at 1", rangemode="tozero"),
                   hovermode="closest")


def alpha_sweep_figure(sweep: pd.DataFrame, alpha: float, measure: str = "macs") -> go.Figure:
    """Params and cost against alpha, relative to alpha = 1, with alpha^2 and the current alpha
    marked. ``sweep`` has columns alpha, params, <measure> (alpha = 1 among them)."""
    ref = sweep.loc[(sweep["alpha"] - 1.0).abs().idxmin()]
    unit = MEASURE_LABELS[measure]
    cur = sweep.loc[(sweep["alpha"] - alpha).abs().idxmin()]
    series = {unit: (sweep[measure] / ref[measure], sweep[measure], SERIES["macs"]),
              "params": (sweep["params"] / ref["params"], sweep["params"], SERIES["params"])}
    current = {unit: cur[measure] / ref[measure], "params": cur["params"] / ref["params"]}
    return _sweep_figure(sweep["alpha"], series, alpha, current, sweep["alpha"] ** 2,
                         "\u03b1\u00b2 law", "width multiplier \u03b1",
                         "Scaling with \u03b1 at the current \u03c1", "\u03b1")


def rho_sweep_figure(sweep: pd.DataFrame, rho: float, measure: str = "macs") -> go.Figure:
    """Cost and params against rho, relative to rho = 1, with rho^2 and the current rho marked.
    ``sweep`` has columns rho, resolution, params, <measure>."""
    ref = sweep.loc[(sweep["rho"] - 1.0).abs().idxmin()]
    unit = MEASURE_LABELS[measure]
    cur = sweep.loc[(sweep["rho"] - rho).abs().idxmin()]
    series = {unit: (sweep[measure] / ref[measure], sweep[measure], SERIES["macs"]),
              "params": (sweep["params"] / ref["params"], sweep["params"], SERIES["params"])}
    current = {unit: cur[measure] / ref[measure], "params": cur["params"] / ref["params"]}
    return _sweep_figure(sweep["rho"].round(3), series, round(rho, 3), current, sweep["rho"] ** 2,
                         "\u03c1\u00b2 law", "resolution multiplier \u03c1 (input = 224 \u03c1 px)",
                         "Scaling with \u03c1 at the current \u03b1", "\u03c1")


# ----------------------------------------------------------------------------- compare

def _source(row) -> str:
    source = getattr(row, "top1_source", "")
    return f" ({source})" if source else ""


def family_scatter(df: pd.DataFrame, current_arch: str, measure: str = "macs") -> go.Figure:
    """Every architecture at one alpha and rho: cost (x, log) against params (y, log).
    ``df`` columns: arch, label, params, <measure>, top1 (NaN where not published) and
    optionally top1_source (named in the hover)."""
    import pandas as pd

    unit = MEASURE_LABELS[measure]
    traces = []
    position = _label_positions(df[measure], df["params"], df["arch"])
    for row in df.itertuples(index=False):
        top1 = row.top1
        is_cur = row.arch == current_arch
        text = row.label + (f" \u00b7 {top1:.1f} %" if pd.notna(top1) else "")
        look = arch_style(row.arch, getattr(row, "groups", None))
        traces.append(go.Scatter(
            x=[getattr(row, measure)], y=[row.params], mode="markers+text", name=row.label,
            text=[text], textposition=position[row.arch], showlegend=False, cliponaxis=False,
            marker=dict(size=18 if is_cur else 13, color=look.colour, symbol=look.marker,
                        line=dict(RING, width=3) if is_cur else dict(width=0)),
            hovertemplate=f"<b>{row.label}</b><br>{unit} {fmt_count(getattr(row, measure))}<br>"
                          f"params {fmt_count(row.params)}" +
                          (f"<br>published top-1 {top1:.1f} %{_source(row)}" if pd.notna(top1) else "") +
                          "<extra></extra>"))
    fig = go.Figure(traces)
    xr, yr = _log_range(df[measure], 0.25), _log_range(df["params"], 0.12)
    return _layout(fig, f"{unit} against params",
                   height=480, margin=dict(_MARGIN, t=48),
                   xaxis=dict(type="log", title_text=f"{unit} (log scale)", range=xr, **log_ticks(*xr)),
                   yaxis=dict(type="log", title_text="params (log scale)", range=yr, **log_ticks(*yr)))


def _label_positions(x, y, names, near: float = 0.15) -> dict[str, str]:
    """Text positions for labelled dots on log-log axes: above the dot, except that of two dots
    closer than ``near`` (a fraction of each axis' span) the lower one puts its label below."""
    lx = [math.log10(max(float(v), 1.0)) for v in x]
    ly = [math.log10(max(float(v), 1.0)) for v in y]
    sx = max(max(lx) - min(lx), 1e-9)
    sy = max(max(ly) - min(ly), 1e-9)
    names = list(names)
    position = {n: "top center" for n in names}
    for i in range(len(names)):
        for j in range(len(names)):
            if i != j and abs(lx[i] - lx[j]) < near * sx and abs(ly[i] - ly[j]) < 2 * near * sy \
                    and (ly[i], i) < (ly[j], j):
                position[names[i]] = "bottom center"
    return position


def log_ticks(lo: float, hi: float) -> dict:
    """Tick values and labels for a log axis spanning 10**lo .. 10**hi: 1, 2 and 5 of each decade,
    every one written out with its prefix ("20M", not a bare "2" that reads as two), the 2 and 5
    left out when the axis spans more than three decades."""
    steps = (1, 2, 5) if hi - lo <= 3 else (1,)
    vals = [m * 10 ** e for e in range(math.floor(lo), math.ceil(hi) + 1) for m in steps]
    vals = [v for v in vals if 10 ** lo <= v <= 10 ** hi]
    return dict(tickmode="array", tickvals=vals, ticktext=[_tick_text(v) for v in vals])


def _tick_text(v: float) -> str:
    for prefix, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if v >= size:
            return f"{v / size:g}{prefix}"
    return f"{v:g}"


def _log_range(values, pad: float):
    """A log axis range around ``values`` with ``pad`` decades of room for labels."""
    lo, hi = math.log10(max(float(values.min()), 1.0)), math.log10(max(float(values.max()), 1.0))
    return [lo - pad, hi + pad]


def accuracy_figure(df: pd.DataFrame, highlight: Sequence[int] | None = None) -> go.Figure:
    """Published top-1 against lightviz's MACs for the published configurations, one line per
    family. ``df`` columns: family, variant, macs, params, top1 (rows with top1 only)."""
    traces = []
    from .zoo import REGISTRY

    for family, part in df.sort_values("macs").groupby("family", sort=False):
        first = REGISTRY.families.get(family, ())
        look = arch_style(first[0].name) if first else Style(NEUTRAL, "circle")
        traces.append(go.Scatter(
            x=part["macs"], y=part["top1"], name=family, mode="lines+markers",
            line=dict(color=look.colour, width=2, dash=LINES["measured"]),
            marker=dict(size=9, symbol=look.marker),
            customdata=list(zip(part["variant"], map(fmt_count, part["macs"]),
                                map(fmt_count, part["params"]))),
            hovertemplate=f"<b>{family} %{{customdata[0]}}</b><br>MACs %{{customdata[1]}}<br>"
                          "params %{customdata[2]}<br>top-1 %{y:.1f} %<extra></extra>"))
    if highlight is not None and len(highlight):
        h = df.loc[list(highlight)]
        traces.append(go.Scatter(
            x=h["macs"], y=h["top1"], mode="markers", name="current configuration",
            marker=dict(size=20, color="rgba(0,0,0,0)", line=RING),
            hoverinfo="skip"))
    fig = go.Figure(traces)
    return _layout(fig, "Published top-1 against MACs", height=460,
                   xaxis=dict(type="log", title_text="MACs (log scale)",
                              **log_ticks(*_log_range(df["macs"], 0.05))),
                   yaxis=dict(title_text="top-1 accuracy (%)"))


def ab_figure(diff: pd.DataFrame, how: str, label_a: str, label_b: str,
              measure: str = "macs") -> go.Figure:
    """Cost per stage (or scale) of A and B as grouped bars."""
    unit = MEASURE_LABELS[measure]
    fig = go.Figure([
        go.Bar(x=diff[how], y=diff["cost_a"], name=f"A: {label_a}", marker_color="#4C78A8",
               hovertemplate="%{x}: %{y:,} " + unit + "<extra>A</extra>"),
        go.Bar(x=diff[how], y=diff["cost_b"], name=f"B: {label_b}", marker_color="#F58518",
               hovertemplate="%{x}: %{y:,} " + unit + "<extra>B</extra>"),
    ])
    x_title = "stage" if how == "stage" else "feature-map scale (input side / n)"
    return _layout(fig, f"{unit} per {'stage' if how == 'stage' else 'feature-map scale'}",
                   barmode="group", xaxis=dict(title_text=x_title, type="category"),
                   yaxis=dict(title_text=unit))


# ----------------------------------------------------------------------------- diagrams page

def unit_macs_figure(units: pd.DataFrame) -> go.Figure:
    """MACs of one unit of each family at equal widths (the calculator's family table: columns
    unit, MACs; rows without MACs are left out), labelled as :func:`lightviz.units.fmt_count`."""
    ok = units.dropna(subset=["MACs"])
    fig = go.Figure(go.Bar(x=ok["MACs"], y=ok["unit"], orientation="h",
                           text=[fmt_count(v) for v in ok["MACs"]], customdata=ok["MACs"],
                           hovertemplate="%{y}: %{customdata:,} MACs<extra></extra>"))
    fig.update_layout(height=320, margin=dict(l=0, r=0, t=10, b=0),
                      xaxis=dict(title_text="MACs per unit (multiply-accumulates)"),
                      yaxis=dict(autorange="reversed"))
    return fig


def kinds_present(layers: pd.DataFrame) -> Iterable[str]:
    """The op kinds of a profile in :data:`KINDS` order."""
    present = set(layers["kind"])
    return [k for k in KINDS if k in present]
