"""The Latency page's sweeps: measured latency against width and resolution beside the MACs
curve, and the zoo on MACs against latency. Each point is built, warmed up and timed, so a sweep
runs only when asked.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import pandas as pd
import streamlit as st

from ...charts_latency import sweep_figure, zoo_figure
from ...config import Config
from ...configure import network_label
from ...latency.lab.protocol import Bench, sweep
from ...latency.predictor.model import learn
from ...tradeoff import measured_sweeps
from ...units import json_value
from .helpers import K, attempt, page_setup, passport_now, queued_notice, tab_closed

SWEEPS = ("width \u03b1", "resolution \u03c1", "the zoo")


def sweep_configs(cfg: Config, kind: str) -> list[Config]:
    """The configurations of a sweep around ``cfg``, on the measured grids
    (lightviz.tradeoff.MEASURED_ALPHAS and MEASURED_RESOLUTIONS, each with cfg's own value)."""
    return measured_sweeps(cfg)[SWEEPS.index(kind)]


@st.fragment
def sweep_panel(cfg: Config) -> None:
    st.subheader("Sweeps")
    st.caption("Measured latency against width and resolution beside the MACs curve, and the zoo "
               "on MACs against latency. Each point is built, warmed up and timed: seconds each, "
               "so they run only when asked.")
    c = st.columns([2, 1.2, 1])
    kind = c[0].radio("Sweep", SWEEPS, horizontal=True, key=K + "sweep_kind")
    per_point = c[1].slider("Seconds per point", 0.2, 3.0, 0.5, 0.1, key=K + "sweep_budget")
    configs = sweep_configs(cfg, kind)
    setup = page_setup(per_point)
    if setup is None:
        st.caption("Choose valid settings above to sweep.")
        return
    c[2].caption(f"{len(configs)} points on {setup.device}, {setup.dtype}, batch {setup.batch}, "
                 f"{setup.threads} threads: about {len(configs) * (per_point + 0.5):.0f} s")
    if st.button("Run sweep", key=K + "sweep_run", icon=":material/show_chart:"):
        notice = st.empty()
        bar = st.progress(0.0)

        def on_point(i, c_):
            bar.progress(i / len(configs), text=f"{network_label(c_)} ({i + 1} of {len(configs)})")

        bench = Bench(should_stop=tab_closed(), on_result=learn)
        rows = attempt("sweep", notice, lambda: sweep(configs, setup, bench, on_point=on_point,
                                                       on_wait=queued_notice(notice)))
        bar.empty()
        if rows is None:
            return
        st.session_state[K + "sweep"] = {"kind": kind, "config": cfg, "rows": rows, "setup": setup,
                                         "finished": time.time()}
    done = st.session_state.get(K + "sweep")
    if not done:
        return
    rows = done["rows"]
    st.caption(f"{done['kind']} sweep around {network_label(done['config'])} on {done['setup'].label}")
    if done["kind"] == SWEEPS[0]:
        st.plotly_chart(sweep_figure(rows, "alpha", "width multiplier \u03b1"), width="stretch",
                        key=K + "sweep_fig")
    elif done["kind"] == SWEEPS[1]:
        st.plotly_chart(sweep_figure(rows, "rho", "resolution multiplier \u03c1 (input = 224 \u03c1)"),
                        width="stretch", key=K + "sweep_fig")
    else:
        st.plotly_chart(zoo_figure(rows), width="stretch", key=K + "sweep_fig")
    for r in rows:
        if "error" in r:
            st.warning(f"{r['label']}: {r['error']}")
    table = pd.DataFrame([{k: r.get(k) for k in ("label", "macs", "median_ms", "p10_ms", "p90_ms",
                                                  "runs", "throughput_ips")} for r in rows])
    st.dataframe(table, hide_index=True)
    st.download_button("Sweep (JSON, with passport)",
                       json.dumps({"kind": done["kind"], "setup": asdict(done["setup"]), "rows": rows,
                                   "passport": passport_now(done["setup"])}, indent=2, default=json_value),
                       file_name="lightviz_latency_sweep.json", mime="application/json",
                       key=K + "sweep_dl")
