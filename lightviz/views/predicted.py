"""Predicted latency in the app: the Explore metric, the sweep curves, Compare's ranking, the
Latency page's prediction beside a measurement, shared results, and the calibration panel.

Torch-free at import (the model and the store are): Explore and Compare call these on every
slider move, and a prediction costs a few milliseconds. Only the calibration button, when
pressed, loads torch to measure. Predictions are always marked as such, with their interval
and the setup they are for; without a calibration the pages say how to get one, never a
made-up number.
"""

from __future__ import annotations

import os
import time

import plotly.graph_objects as go
import streamlit as st

from .. import units
from ..config import Config
from ..latency.devices import sources
from ..latency.devices.figure import PREDICTED_HERE, THIS_HOST, DeviceLatency
from ..latency.predictor import model as M
from ..latency.predictor import store
from ..latency.setup import SETUP_FIELDS, Setup, setup_from
from ..state import precision
from ..zoo import REGISTRY
from . import keys, latency_on

ENV_BUDGET = "LIGHTVIZ_CALIBRATE_BUDGET_S"
COLOR = "#54A24B"



def page_choices() -> dict:
    """The Latency page's setup widgets as set in this session (the one reader of their keys):
    field name -> value, for the widgets that exist."""
    ss = st.session_state
    return {f: ss[keys.latency(f)] for f in SETUP_FIELDS if keys.latency(f) in ss}


def _page_setup() -> Setup | None:
    """The setup chosen on the Latency page in this session, if any: checked like every setup
    (:func:`~lightviz.latency.setup.setup_from`), without asking torch about this host's
    devices (the page did that when they were chosen)."""
    c = page_choices()
    if "device" not in c:
        return None
    try:
        return setup_from(c, 2.0, require_runtime=False, probe=False)
    except ValueError:
        return None


def default_setup() -> Setup:
    """What Explore calibrates when there is no model: the CPU, fp32, batch 1, every core."""
    return M.resolve(Setup())


def chosen_setup() -> Setup | None:
    """The setup Explore and Compare predict for, in the sidebar's precision ("Deployed in"):
    the Latency page's, when it has a model; else the default; else the most recently
    calibrated on this host; None when none is. In fp16 or int8, a setup of that dtype only
    (never the fp32 model shown as the other precision's)."""
    prec = precision()
    for s in (_page_setup(), default_setup()):
        if s is not None and s.dtype == prec and store.load_model(M.resolve(s)) is not None:
            return M.resolve(s)
    if prec != "fp32":
        return sources.host_setup(prec)
    setups = [s for s in M.calibrated_setups("cpu") if s.dtype == prec]
    return setups[0] if setups else None


def model_stamp(setup: Setup | None) -> float | None:
    """When the model of ``setup`` was last fitted (a cache key for what it predicts)."""
    model = store.load_model(setup) if setup is not None else None
    return model and (model.get("refit_at") or model.get("calibrated_at"))


def safe_predict(cfg: Config, setup: Setup | None) -> M.Prediction | None:
    if setup is None:
        return None
    try:
        return M.predict(cfg, setup)
    except (ValueError, KeyError, TypeError):  # NotCalibrated, or a model from an older lightviz
        return None


def fmt_ms(x: float) -> str:
    """Milliseconds with their unit (:func:`lightviz.units.fmt_ms`): predictions stand alone."""
    return units.fmt_ms(x, " ms")


def interval_text(p: M.Prediction) -> str:
    cov = (p.model.get("interval") or {}).get("coverage", 0.9)
    said = M.extrapolated_text(p)
    extra = f"; {said}" if said else ""
    if p.model.get("unseen_family"):
        extra += f"; {M.unseen_family_text(p.model)}"
    if held := M.host_states_text(p.model):
        extra += f"; {held}"
    return f"{cov:.0%} interval {fmt_ms(p.low_ms)} to {fmt_ms(p.high_ms)}{extra}"


def model_text(p: M.Prediction) -> str:
    m = p.model
    when = store.describe_age(time.time() - (m.get("refit_at") or m.get("calibrated_at") or 0))
    kind = "kernel model, " if m.get("model_kind") == M.KERNEL else "previous whole-network model, "
    host = (f"; the host probed {store.describe_age(time.time() - m['host_state_at'])} ran at "
            f"x{m['host_ratio']:.2f} its calibration's times (not applied)" if m.get("host_ratio") else "")
    state = "; for the host undisturbed" if m.get("host_state") == "undisturbed" else ""
    return (f"{kind}{m.get('measurements')} measurements, held-out error (RMSPE) "
            f"{(m.get('heldout_rmspe') or 0):.0%}, fitted {when}{state}{host}")


# ----------------------------------------------------------------------------- Explore

def headline_metric(cfg: Config, base: Config,
                    delta_description: str | None) -> M.Prediction | None:
    """Explore's "Latency on this host (predicted)" card, or how to get one; returns the
    prediction shown (for :func:`headline_caption`), None without a model. On another device
    (the sidebar's "Latency on"), its figure, whatever its status."""
    if latency_on.current() != THIS_HOST:
        fig = latency_on.figure(cfg)
        latency_on.metric(fig, latency_on.figure(base) if base != cfg else None, delta_description)
        return fig
    setup = chosen_setup()
    p = safe_predict(cfg, setup)
    if p is None and precision() != "fp32":  # none, and the command that calibrates it
        fig = latency_on.figure(cfg)
        latency_on.metric(fig)
        return fig
    if p is None:
        with st.container(border=True):
            st.markdown("**Latency on this host**",
                        help=f"A prediction needs a few minutes of measurements on this host "
                             f"first: the button below, or `{M.calibrate_command(default_setup())}`.")
            st.caption("Not calibrated here yet, so no number: press the button, or run "
                       "`lightviz calibrate` (the options are in the ? above).")
            with st.popover("Calibrate latency", icon=":material/speed:"):
                calibrate_panel(default_setup(), key=keys.EXPLORE_CALIBRATE)
        return None
    ref = safe_predict(base, setup)
    delta = None
    if ref is not None and base != cfg:
        delta = f"{(p.predicted_ms - ref.predicted_ms) / ref.predicted_ms * 100:+.1f} %"
    st.metric(
        "Latency on this host (predicted)", fmt_ms(p.predicted_ms), delta=delta,
        delta_color="off", delta_description=delta_description if delta else None,
        delta_arrow="auto" if delta else "off", border=True,
        help=(f"Predicted, not measured: {interval_text(p)}, for {p.setup.label} on this "
              f"host. Model: {model_text(p)}. Measure it on the Latency page."))
    return p


def headline_caption(p: M.Prediction | DeviceLatency | None) -> str | None:
    """The caption under Explore's figures for the prediction (or figure) the card showed."""
    if p is None:
        return None
    if isinstance(p, DeviceLatency):
        return latency_on.caption(p)
    from ..latency.devices.imported import runtime_label

    return (f"Latency on **{THIS_HOST} \u00b7 {runtime_label(p.setup)} \u00b7 {p.setup.dtype}** is "
            f"**{PREDICTED_HERE}** ({p.setup.label}; a model calibrated "
            f"here: {model_text(p)}): {fmt_ms(p.predicted_ms)}, {interval_text(p)}.")


# ----------------------------------------------------------------------------- sweeps

def sweep_latency(configs: list[Config]) -> tuple[list, str, list[str]] | None:
    """(ms per configuration, None where the device says none; what they are for; each one's
    status) on the sidebar's device, or None when there is nothing to draw."""
    name = latency_on.current()
    if name != THIS_HOST:
        figs = [latency_on.figure(c, name) for c in configs]
        if all(f.ms is None for f in figs):
            return None
        return [f.ms for f in figs], figs[0].label, [f.status for f in figs]
    setup = chosen_setup()
    preds = [safe_predict(c, setup) for c in configs]
    if setup is None or any(p is None for p in preds):
        return None
    from ..latency.devices.imported import runtime_label

    return ([p.predicted_ms for p in preds], f"{THIS_HOST} \u00b7 {runtime_label(setup)} \u00b7 {setup.dtype}",
            [PREDICTED_HERE] * len(preds))


def add_sweep_curve(fig: go.Figure, configs: list[Config], x, current_x, ref_index: int) -> go.Figure:
    """A copy of a sweep figure (curves relative to their value at 1) with the latency curve on
    the sidebar's device added (this host's prediction, or another device's figures, each with
    its status); the figure unchanged where there is nothing to draw."""
    got = sweep_latency(configs)
    if got is None:
        return fig
    ms, label, statuses = got
    ref = ms[ref_index] if ms[ref_index] is not None else next(m for m in ms if m is not None)
    fig = go.Figure(fig)
    ratio = [None if m is None else m / ref for m in ms]
    host = statuses[0] == PREDICTED_HERE
    device = label.split(" \u00b7 ")[0]
    fig.add_scatter(x=list(x), y=ratio, name="latency (predicted)" if host else f"latency on {device}",
                    mode="lines+markers", line=dict(color=COLOR, width=2.5, dash="dot"),
                    marker=dict(size=5), customdata=[[fmt_ms(m) if m is not None else "none", st_]
                                                     for m, st_ in zip(ms, statuses)],
                    hovertemplate="%{x}<br>latency %{customdata[0]} (\u00d7%{y:.3f}), "
                                  f"%{{customdata[1]}}<br>{label}<extra></extra>")
    xs = list(x)
    i = min(range(len(xs)), key=lambda j: abs(xs[j] - current_x))
    if ms[i] is not None:
        fig.add_scatter(x=[xs[i]], y=[ratio[i]], mode="markers", showlegend=False,
                        marker=dict(size=15, color=COLOR, line=dict(width=2.5, color="#ffffff")),
                        hovertemplate=f"current: latency {'predicted ' if host else ''}{fmt_ms(ms[i])}, "
                                      f"{statuses[i]}<extra></extra>")
    return fig


# ----------------------------------------------------------------------------- Compare

RANK_COLUMNS = {
    "latency_ms": st.column_config.NumberColumn(
        "latency (ms)", format="%.2f",
        help="on the device the sidebar's Latency on names (the caption says device, runtime and "
             "precision); the next column says how it is known"),
    "latency_status": st.column_config.TextColumn("latency status")}


def rank_families(shown, archs, cfg: Config):
    """Compare's table with the latency of each architecture at the current alpha and rho on
    the sidebar's device, with its status, and (on request) ranked by it; unchanged, with a
    note, where the device says nothing."""
    # the current architecture with its own variant (groups); every other at its default
    configs = [Config(a, cfg.alpha, cfg.resolution,
                      cfg.groups if a == cfg.arch else REGISTRY[a].pick("groups"), cfg.classes)
               for a in archs]
    got = sweep_latency(configs)
    name = latency_on.current()
    if got is None:
        st.caption(f"Rank by latency: {name} says nothing about these configurations"
                   + (f" (calibrate this host's latency model: Explore, the Latency page, or "
                      f"`{M.calibrate_command(default_setup())}`)." if name == THIS_HOST else
                      " in this precision: choose another device in the sidebar's Latency on."))
        return shown
    ms, label, statuses = got
    shown = shown.assign(latency_ms=ms, latency_status=statuses)
    if st.toggle(f"Rank by latency on {name}", key=keys.COMPARE_RANK_LATENCY, help=f"for {label}"):
        shown = shown.sort_values("latency_ms", kind="stable", na_position="last")
    st.caption(f"Latency on **{label}**; the status column says how each is known (none: the device "
               "says nothing about it).")
    return shown


# ----------------------------------------------------------------------------- Latency page

def fresh_result(cfg: Config, setup: Setup, layers: bool = False,
                 since: float | None = None) -> dict | None:
    """A shared measurement of this configuration and setup to show instead of measuring
    (:func:`lightviz.latency.predictor.reuse.pick`): with a per-layer report when ``layers``, taken
    with at least ``setup``'s budget; ``since``: taken after that time."""
    try:
        return store.shared(cfg, M.resolve(setup), layers=layers, budget_s=setup.budget_s,
                            since=since)
    except (OSError, ValueError):
        return None


def shared_text(rec: dict) -> str:
    """What a shared result says about itself: that it is shared, when, by whom, with which
    budget, and why it is shown instead of a new measurement (trusted, or flagged and the host
    no quieter now)."""
    from ..latency.setup import SPREAD_LIMIT

    age = store.describe_age(rec.get("age_s", time.time() - rec["taken_at"]))
    who = f"by {rec['source']}" if rec.get("source") else "on this host"
    budget = (rec.get("setup") or {}).get("budget_s")
    budget_txt = f" with a {budget:g} s budget" if isinstance(budget, (int, float)) else ""
    layers = ", per layer included" if rec.get("layers") else ""
    spread, load = rec.get("spread"), rec.get("load_1min")
    at_load = f" at a 1-minute load of {load:.1f}" if isinstance(load, (int, float)) else ""
    spread_txt = (f"its spread was {spread:.0%} of the median" if isinstance(spread, (int, float))
                  else "its spread was not recorded")
    if rec.get("trusted", True):
        why = (f"{spread_txt} (limit {SPREAD_LIMIT:.0%}){at_load}, with no warning: a trusted "
               f"result is reused for the lesson, whatever the load now")
    else:
        too_wide = isinstance(spread, (int, float)) and spread > SPREAD_LIMIT
        flaw = "its spread was too wide to trust" if too_wide else "it carried the warnings below"
        why = (f"{flaw} ({spread_txt}{at_load}); shown because the host is no quieter now, so "
               f"measuring again would be no steadier")
    return (f"Shown: measured {age} {who}{budget_txt}{layers}, not measured again for you "
            f"(same configuration and setup on this host). {why[0].upper() + why[1:]}.")


def show_shared(rec: dict, again_key: str) -> None:
    """A stored measurement from an older lightviz that kept only its figures (maybe another
    session's): what it says about itself, its figures and warnings, and "measure again"."""
    st.info(shared_text(rec), icon=":material/history:")
    st.button("Measure again", key=again_key, icon=":material/refresh:")
    c = st.columns(4)
    c[0].metric("Median (ms)", f"{rec['median_ms']:.3f}")
    if rec.get("p10_ms") is not None:
        c[1].metric("p10 (ms)", f"{rec['p10_ms']:.3f}")
        c[2].metric("p90 (ms)", f"{rec['p90_ms']:.3f}")
    if rec.get("runs"):
        c[3].metric("Runs", f"{rec['runs']}")
    for w in rec.get("warnings") or []:
        st.warning(w, icon=":material/warning:")
    load = rec.get("load_1min")
    st.caption(f"Taken {time.strftime('%H:%M:%S', time.localtime(rec['taken_at']))}"
               + (f" at a 1-minute load of {load:.1f}" if load is not None else "")
               + f" on {rec.get('device_name') or rec['setup'].get('device')}.")


def beside_measurement(cfg: Config, setup: Setup, measured_ms: float) -> None:
    """The model's prediction next to a measurement (or how to get one)."""
    p = safe_predict(cfg, setup)
    if p is None:
        st.caption(f"No latency model for {M.resolve(setup).label} on this host yet, so no "
                   f"prediction to compare with: calibrate below.")
        return
    err = (p.predicted_ms - measured_ms) / measured_ms
    c = st.columns([1, 3])
    c[0].metric("Predicted (ms)", f"{p.predicted_ms:.3f}", f"{err:+.0%} vs measured",
                delta_color="off", delta_arrow="off",
                help=f"{interval_text(p)}; model: {model_text(p)}")
    inside = p.low_ms <= measured_ms <= p.high_ms
    c[1].caption(f"The latency model of this host predicts {fmt_ms(p.predicted_ms)} "
                 f"({interval_text(p)}); the measurement is "
                 f"{'inside' if inside else 'outside'} it. The model now includes this "
                 f"measurement ({model_text(p)}).")


@st.fragment
def calibrate_panel(setup: Setup, key: str) -> None:
    """Calibrate ``setup`` here: a budget, a button, a progress bar; one point at a time under
    the host lock, so other sessions' measurements interleave and their pages keep working."""
    setup = M.resolve(setup)
    have = store.load_model(setup)
    default = float(os.environ.get(ENV_BUDGET) or 150.0)
    budget = st.slider("Calibration budget (s)", 5.0, 300.0, min(max(default, 5.0), 300.0), 5.0,
                       key=key + "_budget",
                       help="measuring time in all; about 3 minutes gives the model's best")
    label = "Recalibrate" if have else "Calibrate"
    start = st.button(f"{label} {setup.label}", key=key + "_run", icon=":material/speed:")
    if have:
        st.caption(f"This setup has a model: {have['measurements']} measurements, held-out "
                   f"error {have['heldout_rmspe']:.0%}.")
    if not start:
        return
    from ..latency.predictor.calibrate import calibrate

    bar = st.progress(0.0, text=f"Calibrating {setup.label}...")
    notice = st.empty()

    def progress(points, elapsed, cfg, ms):
        notice.empty()
        bar.progress(min(elapsed / budget, 1.0),
                     text=f"{points} measured, {elapsed:.0f} of {budget:.0f} s: {cfg.label}")

    def on_wait(status):
        notice.info(status.describe(), icon=":material/hourglass_top:")

    try:
        cal = calibrate(setup, budget, on_progress=progress, on_wait=on_wait, lock_timeout=300.0)
    except Exception as exc:  # noqa: BLE001 - shown, not a traceback
        bar.empty()
        st.error(f"Calibration failed: {exc}")
        return
    bar.empty()
    m = cal.model
    st.success(f"Calibrated {setup.label}: {len(cal.measured)} configurations in "
               f"{cal.elapsed_s:.0f} s; held-out error (RMSPE) {m['heldout_rmspe']:.1%}, "
               f"{m['heldout_within_10']:.0%} within 10%.", icon=":material/check:")
    time.sleep(0.5)
    st.rerun()  # the whole page: every prediction on it now has a model
