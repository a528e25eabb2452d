"""Latency: the current configuration measured live on this host, per layer beside its MACs,
with the machine's passport; sweeps over alpha, rho and the zoo on request; energy on a Jetson.

Measuring takes seconds, so every measurement sits in an ``st.fragment`` behind a button: the
sidebar's sliders never start one. One measurement runs at a time per host (the lock in
:mod:`lightviz.latency.lab.lock`); a session that has to wait sees that it is queued, behind whom.
A configuration that would not fit in memory, or would hold the host longer than
``$LIGHTVIZ_MAX_HOLD_S``, is refused before the button is pressed. A tab closed in the middle of
a measurement stops it between two calls (whole network or per layer) and frees the host.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import streamlit as st

from ...charts_latency import roofline_figure, share_figure
from ...config import Config
from ...configure import network_label
from ...latency import shared as sharing
from ...latency.host import energy, jetson
from ...latency.host.cpu import usable_cores
from ...latency.host.passport import summary
from ...latency.lab.hold import HoldRefused, check_hold
from ...latency.lab.layers import FOLDED_BN, report_csv
from ...latency.lab.memory import MemoryRefused, available, check_fits
from ...latency.lab.protocol import Bench
from ...latency.predictor.model import learn
from ...latency.predictor.model import predict_ops as predicted_ops
from ...latency.setup import BUDGET_DEFAULT_S, MODES, SPREAD_LIMIT, Setup, available_devices, dtype_support, make_setup
from ...latency.shared import Keeper
from ...units import fmt_bytes, fmt_count, fmt_ms, json_value
from .. import predicted
from .helpers import (
    DEFAULT_THREADS,
    LOCK_TIMEOUT_S,
    K,
    ServedMeanwhile,
    attempt,
    page_setup,
    queued_notice,
    runtime_select,
    tab_closed,
)
from .lesson import lesson_panel
from .runtimes import export_panel, runtimes_panel
from .sweeps import sweep_panel
from .words import for_page


def render(cfg: Config) -> None:
    st.header("Latency")
    st.caption(
        "MACs are not latency. This page times the network on the machine that serves it: "
        "median of many synchronised runs after a warm-up, with the spread, the first (cold) call "
        "apart, per-layer times beside the MACs, and the machine's passport. One measurement runs "
        "at a time on this host; others queue.")
    _measure_panel(cfg)
    lesson_panel()
    runtimes_panel(cfg)
    export_panel(cfg)
    sweep_panel(cfg)
    if jetson.is_jetson():
        _energy_panel(cfg)


def _controls() -> Setup | None:
    """The measurement settings; None (with the reason shown) when they cannot be used."""
    devices = available_devices()
    c = st.columns([1.2, 1, 1, 1.4, 1.4])
    device = c[0].selectbox("Device", devices, key=K + "device",
                            help="cpu, and cuda / mps where this host has them")
    support = dtype_support(device)
    dtypes = [d for d, why in support.items() if why is None]
    refused = "; ".join(f"{d}: {why}" for d, why in support.items() if why)
    dtype = c[1].selectbox("dtype", dtypes, key=K + "dtype",
                           help=f"what {device} runs natively. Not offered: {refused}" if refused else None)
    batch = c[2].number_input("Batch", 1, 1024, 1, key=K + "batch")
    threads = c[3].slider("CPU threads", 1, usable_cores(), DEFAULT_THREADS, key=K + "threads",
                          help="pinned with torch.set_num_threads for the measurement")
    budget = c[4].slider("Time budget (s)", 0.2, 10.0, BUDGET_DEFAULT_S, 0.1, key=K + "budget",
                         help="warm-up plus timed runs; more runs give steadier percentiles")
    modes = list(MODES) if device.startswith("cuda") else ["eager"]
    if len(modes) > 1:  # the choice is shown only where there is one (a CUDA device)
        mode_col, *c = st.columns([1.2, 1.3, 1, 2.5])
        mode = mode_col.radio("Mode", modes, horizontal=True, key=K + "mode",
                              help="cudagraph: the forward captured once and replayed (CUDA only)")
    else:
        c = st.columns([1.3, 1, 2.5])
        mode = modes[0]
        st.session_state.pop(K + "mode", None)  # a CUDA-only mode chosen before does not stay
    channels_last = c[0].checkbox("Channels-last", key=K + "channels_last",
                                  help="NHWC memory format for the model and its input")
    c[1].checkbox("Per layer", value=True, key=K + "per_layer",
                  help="also time every block and op (about the budget again)")
    fold_bn = c[2].checkbox("Fold batch norm into the convs (as deployed)", value=True,
                            key=K + "fold_bn",
                            help="each BN's scale and shift merged into the conv before it, as "
                                 "TensorRT, ONNX Runtime or TFLite do; MACs and params stay the "
                                 "unfolded network's. Eager timings without folding overstate "
                                 "BN's cost (a fifth to a quarter of the CPU time here).")
    runtime = runtime_select(device)
    try:
        return make_setup(device, dtype, batch, threads, channels_last, mode, budget, fold_bn, runtime)
    except ValueError as exc:  # written for the CLI: said with the page's controls
        st.warning(for_page(str(exc)))
        return None


def _memory_line(cfg: Config, setup: Setup) -> bool:
    """Show the memory estimate; False (with the reason) when the configuration is refused:
    it would not fit, or it would hold the host too long (:mod:`lightviz.latency.lab.hold`)."""
    try:
        est = check_fits(cfg, setup.batch, setup.dtype, setup.device)
        check_hold(cfg, setup, layers=st.session_state.get(K + "per_layer", True))
    except MemoryRefused as exc:
        st.error(str(exc), icon=":material/memory:")
        return False
    except HoldRefused as exc:
        st.error(str(exc), icon=":material/hourglass_disabled:")
        return False
    free, source = available(setup.device)
    room = f" of {fmt_bytes(free)} free" if free is not None else ""
    st.caption(f"Memory: about {fmt_bytes(est.total)}{room} ({est.describe()}).")
    return True


@st.fragment
def _measure_panel(cfg: Config) -> None:
    _measure(cfg)
    _model_panel(cfg)  # in the same fragment: it follows the settings above


def _measure(cfg: Config) -> None:
    st.subheader(f"Measure {network_label(cfg)}")
    setup = _controls()
    fits = setup is not None and _memory_line(cfg, setup)
    clicked = st.button("Measure", type="primary", key=K + "measure", disabled=not fits,
                        icon=":material/timer:")
    again = bool(st.session_state.get(K + "again"))  # "Measure again" under a shared result
    per_layer = bool(st.session_state.get(K + "per_layer", True))
    if (clicked or again) and fits:
        # a shared result only when it has what is asked (per-layer times, the budget)
        shared = None if again else predicted.fresh_result(cfg, setup, per_layer)
        if shared is None:
            shared = _run_measurement(cfg, setup, per_layer)
        st.session_state[K + "shared"] = {"config": cfg, "record": shared} if shared else None
    shared = st.session_state.get(K + "shared")
    if shared and shared["config"] == cfg:
        _show_shared(shared["record"])
        return
    last = st.session_state.get(K + "last")
    if last is None:
        st.info("Press **Measure** to time this configuration here. Nothing runs until you do.")
        return
    if last["config"] != cfg:
        st.caption(f"Showing the last measurement, of {network_label(last['config'])}: the sidebar now "
                   f"shows {network_label(cfg)}. Press Measure to time it.")
    _show_result(last["result"], last["report"])


def _show_shared(rec: dict) -> None:
    """A shared result shown as it was taken (warnings, notes, per-layer report, passport),
    under the line that says it is shared, when, by whom and with which budget."""
    result = sharing.result_of(rec)
    if result is None:  # a record from an older lightviz: its figures and warnings only
        predicted.show_shared(rec, K + "again")
        return
    st.info(predicted.shared_text(rec), icon=":material/history:")
    st.button("Measure again", key=K + "again", icon=":material/refresh:")
    _show_result(result, sharing.report_of(rec, result), rec)


def _run_measurement(cfg: Config, setup: Setup, per_layer: bool) -> dict | None:
    """Measure here (the result goes to the session's "last"); or, when another session
    stored a usable result of the same while this one queued, that record (returned)."""
    notice = st.empty()
    keeper = Keeper("the Latency page")
    bench = Bench(should_stop=tab_closed(), on_result=keeper)
    asked_at = time.time()
    p = predicted.safe_predict(cfg, setup)

    def served():  # measured by another session while this one waited
        return predicted.fresh_result(cfg, setup, per_layer, since=asked_at)

    def measure():
        bench.check(cfg, setup, whole=True, layers=per_layer)  # before queueing
        label = f"{cfg.label} on {setup.label} (app)"
        # "Queued" while waiting for the host, then "Measuring" once it is ours: never both
        try:
            with bench.lock.hold(label, LOCK_TIMEOUT_S,
                                 queued_notice(notice, p and p.predicted_ms, served)) as waited:
                notice.empty()
                rec = served()
                if rec is not None:
                    return {"shared": rec}
                with st.spinner(f"Measuring {network_label(cfg)} on {setup.device}..."):
                    result = bench.run(cfg, setup)
                    result.lock_wait_s = waited
                    report = bench.layers(cfg, setup) if per_layer else None
                    return {"config": cfg, "result": result, "report": report}
        except ServedMeanwhile as exc:
            return {"shared": exc.record}

    done = None
    try:
        done = attempt("measurement", notice, measure)
    finally:
        keeper.flush(done.get("report") if done else None)
        bench.release()
    if done is not None and "shared" in done:
        return done["shared"]
    if done is not None:
        st.session_state[K + "last"] = done
    return None


def _show_result(r, report, shared_rec: dict | None = None) -> None:
    s = r.setup
    st.markdown(f"**{network_label(r.config)}** on **{r.passport['device']['name']}** · {s.dtype} · "
                f"batch {s.batch} · {s.threads} threads · {s.mode}"
                + (" · channels-last" if s.channels_last else ""))
    c = st.columns(6)
    c[0].metric("Median (ms)", fmt_ms(r.median_ms), help=f"{r.median_ms:.4f} ms")
    c[1].metric("p10 (ms)", fmt_ms(r.p10_ms), help=f"10% of the runs took under {r.p10_ms:.4f} ms")
    c[2].metric("p90 (ms)", fmt_ms(r.p90_ms), help=f"90% of the runs took under {r.p90_ms:.4f} ms")
    c[3].metric("IQR (ms)", fmt_ms(r.iqr_ms), f"{r.spread:.0%} of median",
                delta_color="off" if r.spread <= SPREAD_LIMIT else "inverse",
                help="interquartile range (p75 - p25), and below it as a share of the median: above "
                     "10% the figure is not to be trusted")
    c[4].metric("Images/s", f"{r.throughput_ips:,.1f}", help="throughput: batch / median")
    c[5].metric("First call (ms)", fmt_ms(r.cold_ms) if r.cold_ms is not None else "warm",
                help="the cold call, reported apart: allocation, kernel selection, autotuning")
    st.caption(
        f"{r.runs} timed runs in {r.timed_s:.2f} s after {r.warmup_runs} warm-up calls · "
        f"{fmt_count(r.macs)} MACs per image → {r.gmacs_per_s:.2f} GMAC/s achieved · timer: {r.timer}"
        + (f" · queued {r.lock_wait_s:.1f} s behind another measurement on this host" if r.lock_wait_s > 0.05 else ""))
    predicted.beside_measurement(r.config, r.setup, r.median_ms)
    for w in r.warnings:
        st.warning(w, icon=":material/warning:")
    for n in r.notes:
        st.caption(n)
    if report is not None:
        _show_layers(report, said=r.notes)
        _predicted_layers(report, r)
    with st.expander("Passport: what this was measured on"):
        st.caption(summary(r.passport))
        st.json(r.passport, expanded=False)
    _downloads(r, report, shared_rec)


def _show_layers(rep, said=()) -> None:
    st.markdown("#### Where the time goes")
    st.caption(
        f"Whole network {rep.whole_ms:.3f} ms (uninstrumented, just before). Blocks timed in place "
        f"sum to {rep.blocks_sum_ms:.3f} ms ({rep.gap('blocks'):+.1%}); single ops to "
        f"{rep.ops_sum_ms:.3f} ms ({rep.gap('ops'):+.1%}). The gap is the Python between the parts "
        "and the probes themselves.")
    ops = rep.ops[rep.ops["kind"] != FOLDED_BN]
    for n in rep.notes:
        if FOLDED_BN not in n and n not in said:  # each note once: the result's are above
            st.caption(n)
    if len(ops) < len(rep.ops):
        st.caption(f"Batch norm was folded into the convs, so its cost is in the conv rows; the "
                   f"{len(rep.ops) - len(ops)} \"{FOLDED_BN}\" rows, which only time the identity "
                   f"left in each one's place, are left out of the tables here (they are in the CSV).")
    tab_share, tab_roof, tab_blocks, tab_ops = st.tabs(
        ["Time vs MACs per block", "Roofline", "Block table", "Op table"])
    with tab_share:
        st.plotly_chart(share_figure(rep.blocks), width="stretch", key=K + "share_fig", config={"displaylogo": False})
        kinds = ops.groupby("kind", sort=False).agg(time_ms=("time_ms", "sum"), macs=("macs", "sum"))
        kinds["time %"] = kinds["time_ms"] / kinds["time_ms"].sum() * 100
        kinds["MACs %"] = kinds["macs"] / kinds["macs"].sum() * 100
        st.dataframe(kinds[["time_ms", "time %", "MACs %"]].sort_values("time_ms", ascending=False),
                     column_config={"time_ms": st.column_config.NumberColumn("time (ms)", format="%.3f"),
                                    "time %": st.column_config.NumberColumn(format="%.1f"),
                                    "MACs %": st.column_config.NumberColumn(format="%.1f")})
    with tab_roof:
        st.plotly_chart(roofline_figure(rep.ops, rep.roof), width="stretch", key=K + "roof_fig",
                        config={"displaylogo": False})
        st.caption("Each conv and linear layer at its arithmetic intensity (MACs per byte moved, "
                   "no fusion or cache reuse assumed) against the MACs per second it achieved. "
                   "The roof is this device's own, measured in the same run: a large matmul for "
                   "the flat part, a large copy for the slope.")
    cols = {"macs": st.column_config.NumberColumn("MACs", format="%.3e"),
            "time_ms": st.column_config.NumberColumn("time (ms)", format="%.4f"),
            "time_share": st.column_config.NumberColumn("time %", format="percent"),
            "mac_share": st.column_config.NumberColumn("MACs %", format="percent"),
            "gmacs_per_s": st.column_config.NumberColumn("GMAC/s", format="%.2f"),
            "intensity": st.column_config.NumberColumn("MACs/byte", format="%.2f"),
            "bytes": st.column_config.NumberColumn("bytes moved", format="%.3e")}
    with tab_blocks:
        st.dataframe(rep.blocks[["block", "block_type", "macs", "time_ms", "time_share", "mac_share",
                                 "gmacs_per_s", "intensity", "mac_kinds"]],
                     column_config=cols, hide_index=True)
    with tab_ops:
        st.dataframe(ops[["path", "kind", "out_shape", "macs", "bytes", "time_ms", "time_share",
                              "gmacs_per_s", "intensity"]], column_config=cols, hide_index=True)


def _predicted_layers(rep, r) -> None:
    """Each op's measured time beside the kernel model's prediction for it, and how well the
    two rank the ops (Spearman's rho), when this setup has a kernel model."""
    pred = predicted_ops(r.config, r.setup)
    if pred is None:
        return
    ops = rep.ops[rep.ops["kind"] != FOLDED_BN].copy()
    ops["predicted_ms"] = ops["path"].map(pred)
    both = ops.dropna(subset=["predicted_ms", "time_ms"])
    if len(both) < 3:
        return
    rho = float(np.corrcoef(both["time_ms"].rank(), both["predicted_ms"].rank())[0, 1])
    with st.expander(f"Measured and predicted, op by op (rank correlation {rho:.2f})"):
        st.caption(f"The kernel model's prediction for each op beside its time measured in place "
                   f"({len(both)} ops; Spearman's rho {rho:.2f}: 1 when the model orders the ops "
                   f"as the measurement does). Its total is the Predicted latency above.")
        st.dataframe(both[["path", "kind", "out_shape", "time_ms", "predicted_ms"]], hide_index=True,
                     column_config={"time_ms": st.column_config.NumberColumn("measured (ms)", format="%.4f"),
                                    "predicted_ms": st.column_config.NumberColumn("predicted (ms)",
                                                                                  format="%.4f")})


def _downloads(r, report, shared_rec: dict | None = None) -> None:
    device = r.setup.device.replace(":", "")
    stem = f"lightviz_latency_{r.config.arch}_{r.config.alpha:g}_{r.config.resolution}_{device}"
    data = r.to_dict(samples=True)
    if report is not None:
        layers = report.to_dict()
        layers.pop("passport")
        layers.pop("whole")
        data["layers"] = layers
    if shared_rec is not None:  # a shared result says so, and that its samples were not kept
        data.pop("samples_ms", None)
        data["shared"] = {"taken_at": shared_rec["taken_at"], "source": shared_rec.get("source"),
                          "trusted": shared_rec.get("trusted"), "doubts": shared_rec.get("doubts")}
    c = st.columns(3)
    c[0].download_button("Result (JSON, with passport)", json.dumps(data, indent=2, default=json_value),
                         file_name=stem + ".json", mime="application/json", key=K + "dl_json")
    if report is not None:
        c[1].download_button("Per-op times (CSV, with passport)", report_csv(report, "ops"),
                             file_name=stem + "_ops.csv", mime="text/csv", key=K + "dl_ops")
        c[2].download_button("Per-block times (CSV, with passport)", report_csv(report, "blocks"),
                             file_name=stem + "_blocks.csv", mime="text/csv", key=K + "dl_blocks")


def _model_panel(cfg: Config) -> None:
    """The latency model of this host for the chosen setup: its prediction, and calibration."""
    st.subheader("Predicted latency")
    setup = page_setup(BUDGET_DEFAULT_S)
    if setup is None:
        st.caption("Choose valid settings above to see the prediction.")
        return
    p = predicted.safe_predict(cfg, setup)
    if p is not None:
        st.markdown(f"**{predicted.fmt_ms(p.predicted_ms)}** predicted for {network_label(cfg)} on "
                    f"{p.setup.label} ({predicted.interval_text(p)}); model: "
                    f"{predicted.model_text(p)}.")
    else:
        st.caption("No latency model for this setup on this host yet: calibrating measures a "
                   "spread of configurations of every architecture (one at a time under the "
                   "host lock; other sessions keep working) and fits the model that predicts "
                   "latency on every slider move.")
    predicted.calibrate_panel(setup, key=K + "cal")


@st.fragment
def _energy_panel(cfg: Config) -> None:
    st.subheader("Energy per inference (Jetson)")
    info = jetson.jetson_info() or {}
    clocks = info.get("jetson_clocks") or {}
    figures = f" ({clocks['short']})" if clocks.get("short") else ""
    st.caption(f"{info.get('model')} · {info.get('l4t')} · power mode {info.get('nvpmodel') or '?'} · "
               f"jetson_clocks {clocks.get('state')}{figures} · rails: "
               f"{', '.join(info.get('power_rails') or []) or 'none found'} · total: "
               f"{' + '.join(info.get('power_total_rails') or []) or 'n/a'}")
    run_s = st.slider("Steady run (s)", 10, 120, 30, 5, key=K + "energy_s",
                      help="the rails update slowly: tens of seconds give a steady average")
    setup = page_setup(2.0)
    if setup is None or not st.button(f"Measure energy (about {run_s + 10 + energy.DEFAULT_SETTLE_S:.0f} s)",
                                      key=K + "energy_run"):
        last = st.session_state.get(K + "energy")
        if last:
            show_energy(last)
        return
    notice = st.empty()
    bench = Bench(should_stop=tab_closed(), on_result=learn)
    try:
        with st.spinner(f"Settling {energy.DEFAULT_SETTLE_S:g} s, idle baseline, then {run_s} s of "
                        f"steady inference..."):
            out = attempt("energy measurement", notice, lambda: bench.energy(
                cfg, setup, run_s=run_s, idle_s=5.0, on_wait=queued_notice(notice),
                lock_timeout=LOCK_TIMEOUT_S))
    finally:
        bench.release()
    if out is None:
        return
    out["config"] = cfg.label
    st.session_state[K + "energy"] = out
    show_energy(out)


def show_energy(e: dict) -> None:
    """An energy result (:func:`lightviz.latency.host.energy.measure_energy`) as the page shows it."""
    full, rise = e["total"].get("full_mj_per_image"), e["total"].get("rise_mj_per_image")
    c = st.columns(3)
    c[0].metric("Energy per image (module input)", f"{full:.2f} mJ" if full is not None else "n/a",
                help="mean power under load x run time / images: the figure tegrastats and jtop users quote")
    c[1].metric("Rise over idle per image", f"{rise:.2f} mJ" if rise is not None else "n/a",
                help=f"what the inference adds to an idle board ({e['total'].get('rise_mw') or 0:.0f} mW)")
    c[2].metric("Throughput during the run", f"{e['throughput_ips']:.1f} img/s" if e.get("throughput_ips") else "n/a")
    st.caption(f"{e.get('config', '')}: {e['inferences']} images in {e['run_s']:.0f} s; the board settled "
               f"{e.get('settle_s', 0):g} s after the latency run, then a {e['idle_s']:g} s idle baseline. "
               f"Total = {e['covers']}.")
    st.dataframe(pd.DataFrame(e["rails"]), hide_index=True)
    for w in e["warnings"]:
        st.warning(w)
    st.download_button("Energy (JSON, with passport)", json.dumps(e, indent=2, default=json_value),
                       file_name="lightviz_energy.json", mime="application/json", key=K + "energy_dl")
