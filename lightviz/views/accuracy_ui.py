"""The estimated top-1 in the app: Explore's metric, the sweeps' second axis, and the Pareto view
on Compare (every family's top-1 against MACs, params or latency on this host; a click on a point
sets the sidebar's configuration). The estimate is lightviz.accuracy's, at the sidebar's
precision (lightviz.accuracy_int8 for int8: the fp32 estimate minus the family's int8 drop)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import streamlit as st

from .. import accuracy_charts
from ..accuracy import EXTRAPOLATED, NONE, NOTE, published_points
from ..accuracy_int8 import drop_fits, estimate_for
from ..config import BASE_RESOLUTION, Config
from ..configure import make_config
from ..latency.devices.figure import THIS_HOST
from ..pareto import candidates, front
from ..state import ARCH_LABELS, RHO_STOPS, precision
from ..tradeoff import ALPHA_STOPS, RESOLUTION_STOPS, latency_costs, place_on_front
from ..units import NO_ESTIMATE, fmt_ms, fmt_top1, fmt_top1_range
from ..zoo import REGISTRY
from . import keys, latency_on, predicted

if TYPE_CHECKING:  # imported where a table is built: Explore's first page draws without it
    import pandas as pd

AXES = {"MACs": "macs", "params": "params", "latency": "ms"}
CHART_KEY = keys.PARETO_CHART


# ----------------------------------------------------------------------------- Explore

def top1_label(prec: str) -> str:
    """The top-1 card's label: the precision named when it is not fp32."""
    return "Top-1 (estimate)" if prec == "fp32" else f"Top-1 {prec} (estimate)"


def top1_metric(cfg: Config) -> None:
    """A metric card with the estimated top-1 at the sidebar's precision, its interval and
    status (in the current container)."""
    prec = precision()
    value, delta, why = top1_card(cfg, prec)
    st.metric(top1_label(prec), value, delta=delta, delta_color="off", delta_arrow="off",
              help=why, border=True)


def top1_card(cfg: Config, prec: str = "fp32") -> tuple[str, str | None, str]:
    """(value, delta, help) of a top-1 card, the one wording of Explore's and Design's cards:
    the value as :func:`lightviz.units.fmt_top1` writes it (``lightviz pareto``'s digits), the
    status with the interval or the source of a published value, and the method;
    :data:`~lightviz.units.NO_ESTIMATE` where there is no estimate. ``prec``: the deployed
    precision (int8: :func:`lightviz.accuracy_int8.estimate_int8`, which names its
    quantization)."""
    e = estimate_for(cfg, prec)
    at = "" if prec == "fp32" else f"{prec}: "
    if e.status == NONE:
        return NO_ESTIMATE, None, f"No {prec} estimate: {e.method}. {NOTE}"
    delta = f"{e.status}, {e.sources[0]}" if e.status == "published" else e.status
    if e.high > e.low:
        delta = f"{e.status}, {fmt_top1_range(e.low, e.high)}"
    return (fmt_top1(e.value, " %"), delta,
            f"ImageNet top-1 {at}{e.method} Sources: {'; '.join(e.sources)}. {NOTE}")


def _frame(cfgs, prec: str = "fp32") -> pd.DataFrame:
    import pandas as pd

    rows = []
    for c in cfgs:
        e = estimate_for(c, prec)
        rows.append({"value": e.value if e.value is not None else math.nan,
                     "low": e.low if e.low is not None else math.nan,
                     "high": e.high if e.high is not None else math.nan, "status": e.status})
    return pd.DataFrame(rows)


def _published(cfg: Config, prec: str) -> list[tuple[float, int, float]]:
    """(α, resolution, top-1) of the published points drawn at ``prec``: int8, the family's
    int8 source's; otherwise the fp32 checkpoints (fp16 assumes them unchanged)."""
    if cfg.classes != 1000:
        return []
    if prec == "int8":
        fit = drop_fits().get(cfg.arch)
        return [] if fit is None else [(p.alpha, p.resolution, p.int8_top1) for p in fit.points]
    return [(p.alpha, p.resolution, p.top1) for p in published_points(cfg.arch, cfg.groups)]


def add_alpha_top1(fig, cfg: Config, alphas) -> None:
    """The estimated top-1 (at the sidebar's precision) along ``alphas`` at cfg's resolution,
    on the α sweep's second axis."""
    prec = precision()
    cfgs = [make_config(cfg.arch, a, resolution=cfg.resolution, groups=cfg.groups,
                        classes=cfg.classes) for a in alphas]
    pts = [p for p in _published(cfg, prec) if p[1] == cfg.resolution]
    accuracy_charts.add_top1_axis(fig, list(alphas), _frame(cfgs, prec), [p[0] for p in pts],
                                  [p[2] for p in pts], current_x=cfg.alpha, precision=prec)


def add_rho_top1(fig, cfg: Config, resolutions) -> None:
    """The estimated top-1 (at the sidebar's precision) along ``resolutions`` at cfg's α, on
    the ρ sweep's second axis (x is ρ rounded to 3 decimals, like the sweep's)."""
    prec = precision()
    cfgs = [make_config(cfg.arch, cfg.alpha, resolution=r, groups=cfg.groups,
                        classes=cfg.classes) for r in resolutions]
    pts = [p for p in _published(cfg, prec) if abs(p[0] - cfg.alpha) < 1e-9]
    accuracy_charts.add_top1_axis(
        fig, [round(r / BASE_RESOLUTION, 3) for r in resolutions], _frame(cfgs, prec),
        [round(p[1] / BASE_RESOLUTION, 3) for p in pts], [p[2] for p in pts],
        current_x=round(cfg.rho, 3), precision=prec)


# ----------------------------------------------------------------------------- Compare

def precision_words(df, prec: str) -> str:
    """What the top-1 axis stands for at the sidebar's precision (a sentence, "" for fp32)."""
    if prec == "fp32" or df.empty:
        return ""
    if prec != "int8":
        return (f"Top-1 in {prec} (the sidebar's “Deployed in”): the fp32 estimate, "
                f"assumed unchanged; no published {prec} top-1 was found. ")
    how = dict.fromkeys(f"{ARCH_LABELS[a]}: {q}" for a, q in zip(df["arch"], df["quantization"]))
    return ("Top-1 in int8 (the sidebar's “Deployed in”): the fp32 estimate minus the "
            "drop fitted through each family's published int8 points, as its source quantized "
            "it (" + "; ".join(how) + "); families without int8 points are left out. ")


def _label(arch: str, groups) -> str:
    import pandas as pd  # the labels are of a Pareto table's rows (groups None, NaN or NA)

    return ARCH_LABELS[arch] + ("" if groups is None or pd.isna(groups) else f" g={int(groups)}")


EXTRAPOLATED_STRIDE = (2, 4)  # extrapolated points every 0.1 in α and 32 px: enough to see


@st.cache_data(max_entries=4, show_spinner=False)
def pareto_table(extrapolate: bool, prec: str = "fp32") -> pd.DataFrame:
    """Every grid configuration with an estimate at ``prec`` (lightviz.pareto's grid), counted;
    the extrapolated ones on a coarser grid (there are ten times as many, 2x past every hull)."""
    import pandas as pd

    rows = candidates(False, precision=prec)
    if extrapolate:
        rows += [r for r in candidates(True, stride=EXTRAPOLATED_STRIDE, precision=prec)
                 if r["status"] == EXTRAPOLATED]
    df = pd.DataFrame(rows)
    df["groups"] = df["groups"].astype("Int64")
    df["label"] = [_label(a, g) for a, g in zip(df["arch"], df["groups"])]
    return df


def device_stamp(on: str) -> float | None:
    """When the imported device ``on`` was last imported (a cache key), None for the others."""
    import os

    from ..latency.devices.imported import path_of

    try:
        return os.path.getmtime(path_of(on))
    except OSError:
        return None


def _axis_label(on: str, setup, precision: str) -> str:
    """device \u00b7 runtime \u00b7 precision of the latency axis."""
    if on == THIS_HOST:
        from ..latency.devices.imported import runtime_label

        return f"{THIS_HOST} \u00b7 {runtime_label(setup)} \u00b7 {setup.dtype}" if setup else THIS_HOST
    from ..latency.devices.sources import latency_on as figure_on

    return figure_on(on, Config("mobilenet_v2", 1.0, 224), precision).label


class LatencyUnavailable(Exception):
    """No latency for the Pareto view: the message says why and what to run."""


@st.cache_data(max_entries=4, ttl=120, show_spinner=False)  # a calibration may come later
def latency_column(extrapolate: bool, setup, model_stamp=None, on: str = THIS_HOST,
                   prec: str = "fp32") -> pd.DataFrame:
    """ms, ms_low, ms_high and ms_status (measured / predicted: lightviz.tradeoff's rule, the one
    ``lightviz pareto --max-ms`` uses) for :func:`pareto_table`'s rows on this host with ``setup``
    (Explore's: :func:`predicted.chosen_setup`); ``model_stamp`` (when the model was last fitted)
    keys the cache, so a refit shows at once. Raises LatencyUnavailable with a one-line reason.
    On another device ``on`` (the sidebar's Latency on), its figures in ``prec``
    (:func:`lightviz.latency.devices.sources.figures`, as ``lightviz pareto --on``): NaN where
    it says none."""
    import pandas as pd

    from ..latency.predictor.model import NotCalibrated, not_calibrated

    if on != THIS_HOST:
        from ..latency.devices.sources import figures

        at_on = figures(on, prec)
        figs = [at_on(Config(r.arch, r.alpha, int(r.resolution), None if pd.isna(r.groups) else int(r.groups)))
                for r in pareto_table(extrapolate, prec).itertuples(index=False)]
        return pd.DataFrame([{"ms": math.nan if f.ms is None else f.ms,
                              "ms_low": math.nan if f.low is None else f.low,
                              "ms_high": math.nan if f.high is None else f.high,
                              "ms_status": f.status} for f in figs])

    if setup is None:
        raise LatencyUnavailable(str(not_calibrated(predicted.default_setup())))
    at = latency_costs(setup)
    try:
        return pd.DataFrame([at(Config(r.arch, r.alpha, int(r.resolution),
                                       None if pd.isna(r.groups) else int(r.groups))).columns()
                             for r in pareto_table(extrapolate, prec).itertuples(index=False)])
    except NotCalibrated as exc:
        raise LatencyUnavailable(str(exc)) from None


def _with_cost(extrapolate: bool, cost: str, setup=None, stamp=None, on: str = THIS_HOST,
               prec: str = "fp32") -> pd.DataFrame:
    import pandas as pd

    df = pareto_table(extrapolate, prec)
    if cost == "ms":  # LatencyUnavailable goes to the caller; a device's none is left out
        df = pd.concat([df.reset_index(drop=True),
                        latency_column(extrapolate, setup, stamp, on, prec)], axis=1)
        df = df[df["ms"].notna()].reset_index(drop=True)
    return df


@st.cache_data(max_entries=8, ttl=120, show_spinner=False)
def _front(extrapolate: bool, cost: str, setup=None, stamp=None, on: str = THIS_HOST,
           prec: str = "fp32") -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(front(_with_cost(extrapolate, cost, setup, stamp, on, prec).to_dict("records"),
                              cost))


@st.cache_resource(max_entries=32, ttl=120, show_spinner=False)
def _pareto_figure(extrapolate: bool, cost: str, current, setup=None, stamp=None,
                   on: str = THIS_HOST, prec: str = "fp32", label: str = ""):
    """The Pareto chart (about 0.2 s to build), cached per axis, current point, model, device
    and precision; the latency axis says the device, runtime and precision (``label``)."""
    df = _with_cost(extrapolate, cost, setup, stamp, on, prec)
    cur = None if current is None else {cost: current[0], "top1": current[1]}
    fig = accuracy_charts.pareto_figure(df, cost, _front(extrapolate, cost, setup, stamp, on, prec),
                                        cur, prec)
    if cost == "ms" and label:
        fig.update_xaxes(title_text=f"latency on {label}, ms (log scale)")
    return fig


def _apply_click() -> None:
    """on_select callback: the clicked point's configuration goes to the sidebar's widgets
    (callbacks run before the widgets of the next run exist, so their state may be set)."""
    ss = st.session_state
    points = (ss.get(CHART_KEY) or {}).get("selection", {}).get("points", [])
    for p in points:
        data = p.get("customdata")
        if not data or data[0] not in REGISTRY:
            continue
        arch, alpha, res = data[0], float(data[1]), int(data[2])
        ss["arch"] = arch
        ss["alpha"] = min(ALPHA_STOPS, key=lambda a: abs(a - alpha))
        ss["rho"] = RHO_STOPS[min(range(len(RESOLUTION_STOPS)),
                                  key=lambda i: abs(RESOLUTION_STOPS[i] - res))]
        if REGISTRY[arch].variant("groups") is not None and data[3] is not None:
            ss["groups"] = int(data[3])
        return


def render_pareto(cfg: Config) -> None:
    """Compare's Pareto view."""
    st.subheader("Accuracy against cost: the Pareto view")
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    axis = c1.segmented_control("Top-1 against", tuple(AXES), key=keys.PARETO_AXIS,
                                default="MACs", required=True)
    extrapolate = c2.toggle("Include extrapolated estimates", key=keys.PARETO_EXTRAPOLATE,
                            help="Configurations outside the hull of a family's published "
                                 "points (up to 2\u00d7 away): wider intervals, open marks.")
    cost = AXES[axis or "MACs"]
    on = latency_on.current() if cost == "ms" else THIS_HOST
    setup = predicted.chosen_setup() if cost == "ms" and on == THIS_HOST else None  # Explore's
    stamp = predicted.model_stamp(setup) if on == THIS_HOST else device_stamp(on)
    prec = precision()  # the sidebar's "Deployed in": the top-1 axis and the device's latency
    lat = (setup, stamp, on, prec)
    try:
        df = _with_cost(extrapolate, cost, *lat)
    except LatencyUnavailable as exc:
        st.info(f"{exc}", icon=":material/timer_off:")
        return
    label = _axis_label(on, setup, prec) if cost == "ms" else ""
    left_out = len(pareto_table(extrapolate, prec)) - len(df) if cost == "ms" else 0
    fr = _front(extrapolate, cost, *lat)
    mine = df[df["arch"] == cfg.arch].to_dict("records")  # its family's points hold its cost
    place = place_on_front(cfg, mine, fr.to_dict("records"), cost, extrapolate, prec)
    where = f" {place.why}" if place.why else ""
    fig = _pareto_figure(extrapolate, cost, None if place.cost is None else (place.cost, place.top1),
                         *lat, label)
    st.plotly_chart(fig, key=CHART_KEY, on_select=_apply_click, selection_mode="points",
                    width="stretch", config={"displaylogo": False})
    squares = (f", grey-edged marks measured latencies (the rest predicted by the latency model; "
               f"both for {setup.label} on this host)" if cost == "ms" and on == THIS_HOST else "")
    if cost == "ms" and on != THIS_HOST:
        squares = (f"; latency on {label}, each point's status in its hover (published, interpolated "
                   f"or predicted from an imported calibration)"
                   + (f"; {left_out} configurations {on} says nothing about (none) are left out"
                      if left_out else ""))
    st.caption(
        f"Every width (0.05 steps) and input size (8 px steps) of each family with an estimate, "
        f"each architecture in its own colour and shape; large marks are published checkpoints, "
        f"small ones interpolated, open ones extrapolated{squares}. The grey line is the Pareto "
        f"front: nothing else costs as little for as much top-1; the grey ring is the sidebar's "
        f"configuration. "
        f"Click a point to open that configuration.{where} {precision_words(df, prec)}{NOTE}")
    if not fr.empty:
        show = fr.head(12).assign(label=[_label(a, g) for a, g in zip(fr["arch"].head(12),
                                                                        fr["groups"].head(12))])
        show = show.assign(top1=[fmt_top1(v) for v in show["top1_exact"]],
                           source=show["source"].fillna(""))
        if cost == "ms":
            show = show.assign(ms=[fmt_ms(v) for v in show["ms"]])
        cols = ["label", "alpha", "resolution", "macs", "params", "top1", "status", "source"] + \
            (["ms", "ms_status"] if cost == "ms" else [])
        st.dataframe(show[cols], hide_index=True, width="stretch", column_config={
            "label": st.column_config.TextColumn("on the front"),
            "alpha": st.column_config.NumberColumn("\u03b1", format="%.2f"),
            "resolution": st.column_config.NumberColumn("px", format="%d"),
            "macs": st.column_config.NumberColumn("MACs", format="localized"),
            "params": st.column_config.NumberColumn("params", format="localized"),
            "top1": st.column_config.TextColumn("top-1 % (est.)", alignment="right"),
            "source": st.column_config.TextColumn(
                "published in", help="where a published value comes from (the source Compare "
                                     "and Explore name too)"),
            "ms": st.column_config.TextColumn("ms", alignment="right"),
            "ms_status": st.column_config.TextColumn("latency status"),
        })
