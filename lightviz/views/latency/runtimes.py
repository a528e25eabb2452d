"""The Latency page's runtime comparison and export download (see :mod:`.page`).

* **Runtimes**: the current configuration on every runtime present on the chosen device (eager
  PyTorch, ``torch.compile``, ONNX Runtime, TensorRT through ``trtexec``:
  :mod:`lightviz.latency.runtimes`), each timed with the same protocol, one chart with the
  speed-up over eager PyTorch; the runtimes that run a quantized graph (ONNX Runtime, TensorRT)
  are timed in int8 too, beside their fp32 row (:func:`variants`).
* **int8 per layer**: ONNX Runtime's profiler on the fp32 and the int8 graph
  (:mod:`lightviz.latency.runtimes.ort_profile`): by op type and by block, where int8 gains and
  where the quantize/dequantize nodes around ops without an int8 kernel cost more than it saves.
* **Export**: the configured network as an ONNX file or a ``torch.export`` program
  (:mod:`lightviz.exporter`), with random weights from a seed: no trained weights are included.

Both run behind a button in an ``st.fragment``, like every measurement on the page.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pandas as pd
import streamlit as st

from ...config import Config
from ...configure import network_label
from ...latency.lab.protocol import Bench
from ...latency.predictor.model import learn
from ...latency.setup import BUDGET_DEFAULT_S, SPREAD_LIMIT, MeasurementError, Setup
from ...units import json_value
from .helpers import LOCK_TIMEOUT_S, K, attempt, page_setup, passport_now, queued_notice, tab_closed
from .words import for_page

# ----------------------------------------------------------------------------- runtimes

@st.fragment
def runtimes_panel(cfg: Config) -> None:
    """The current configuration on every runtime present here, one chart, speed-up over eager."""
    from ...latency.runtimes import RUNTIMES, unavailable

    st.subheader("Runtimes")
    st.caption("Nobody deploys eager PyTorch: the same network on every runtime this host has, "
               "each timed with the same protocol, with its speed-up over eager PyTorch. "
               "torch.compile's first call compiles the network (tens of seconds on a small CPU); "
               "it is reported apart and not in the median.")
    base = page_setup(st.session_state.get(K + "budget", BUDGET_DEFAULT_S))
    if base is None:
        st.caption("Choose valid settings above to compare runtimes.")
        return
    present = [r for r in RUNTIMES if unavailable(r, base.device) is None]
    absent = {r: unavailable(r, base.device) for r in RUNTIMES if r not in present}
    st.caption(f"On {base.device} here: {', '.join(present)}."
               + "".join(f" {w}." for w in absent.values()))
    if st.button(f"Compare {len(present)} runtimes", key=K + "runtimes_run", icon=":material/compare_arrows:"):
        _compare_runtimes(cfg, base, present)
    done = st.session_state.get(K + "runtimes")
    if done:
        _show_runtimes(done)
    if "onnxruntime" in present and base.device == "cpu":
        _int8_layers(cfg, base)


def _compare_runtimes(cfg: Config, base: Setup, present: list[str]) -> None:
    """Every runtime present timed in turn, the rows kept in the session (errors shown on the page)."""
    notice = st.empty()
    bench = Bench(should_stop=tab_closed(), on_result=learn)
    try:
        rows = attempt("runtime comparison", notice,
                       lambda: _with_speedups(_time_runtimes(cfg, base, present, bench, notice)))
    finally:
        bench.release()
    if rows is not None:
        st.session_state[K + "runtimes"] = {"config": cfg, "setup": base, "rows": rows}


def variants(base: Setup, present: list[str]) -> list[tuple[str, str]]:
    """(runtime, precision) pairs to compare: every runtime present in the page's precision (fp32
    where it runs only fp32 and int8), and int8 as well on the runtimes that run a quantized graph
    (:data:`~lightviz.latency.setup.QUANTIZED_RUNTIMES`) unless refused here (a Jetson Nano)."""
    from ...latency.runtimes import int8_refusal
    from ...latency.setup import QUANTIZED_RUNTIMES

    out = []
    for rt in present:
        own = base.dtype if base.dtype != "int8" or rt in QUANTIZED_RUNTIMES else "fp32"
        out.append((rt, own))
        if rt in QUANTIZED_RUNTIMES and own != "int8" and int8_refusal(rt, base.device) is None:
            out.append((rt, "int8"))
    return out


def _time_runtimes(cfg: Config, base: Setup, present: list[str], bench: Bench, notice) -> list[dict]:
    """One row per runtime and precision: its timings and version, or the error that stopped it."""
    from dataclasses import replace

    rows = []
    for rt, dtype in variants(base, present):
        setup = replace(_replace_runtime(base, rt), dtype=dtype)
        label = f"{rt} {dtype}"
        with st.spinner(f"{network_label(cfg)} on {label}..."):
            try:
                r = bench.run(cfg, setup, on_wait=queued_notice(notice), lock_timeout=LOCK_TIMEOUT_S)
            except (ValueError, MeasurementError) as exc:
                rows.append({"runtime": rt, "precision": dtype, "label": label, "error": for_page(str(exc))})
                continue
        info = r.passport.get("runtime") or {}
        rows.append({"runtime": rt, "precision": dtype, "label": label, "median_ms": r.median_ms, "p10_ms": r.p10_ms,
                     "p90_ms": r.p90_ms, "runs": r.runs, "cold_ms": r.cold_ms,
                     "version": info.get("version"), "provider": info.get("provider"),
                     "spread_ok": r.spread <= SPREAD_LIMIT})
    return rows


def _with_speedups(rows: list[dict]) -> list[dict]:
    """The rows with each timed runtime's speed-up over eager PyTorch, when eager was timed."""
    eager = next((r["median_ms"] for r in rows if r["runtime"] == "torch" and "median_ms" in r), None)
    fp32 = {r["runtime"]: r["median_ms"] for r in rows if r.get("precision") == "fp32" and "median_ms" in r}
    for r in rows:  # int8 over the same runtime's fp32: the speed-up quantization brings there
        if r.get("precision") == "int8" and "median_ms" in r and r["runtime"] in fp32:
            r["int8_speedup"] = fp32[r["runtime"]] / r["median_ms"]
    for r in rows:
        if eager and "median_ms" in r:
            r["speedup"] = eager / r["median_ms"]
    return rows


def _show_runtimes(done: dict) -> None:
    """The last comparison: its setup, the chart, the errors, the table and the JSON download."""
    from ...charts_latency import runtime_figure

    st.caption(f"{network_label(done['config'])} on {done['setup'].device}, {done['setup'].dtype}, batch "
               f"{done['setup'].batch}, {done['setup'].threads} threads")
    st.plotly_chart(runtime_figure(done["rows"]), width="stretch", key=K + "runtimes_fig",
                    config={"displaylogo": False})
    for r in done["rows"]:
        if "error" in r:
            st.warning(f"{r.get('label', r['runtime'])}: {r['error']}")
    table = pd.DataFrame([{k: r.get(k) for k in ("runtime", "precision", "version", "provider", "median_ms",
                                                  "p10_ms", "p90_ms", "speedup", "int8_speedup", "cold_ms",
                                                  "runs")}
                          for r in done["rows"] if "median_ms" in r])
    st.dataframe(table, hide_index=True, column_config={
        "median_ms": st.column_config.NumberColumn("median (ms)", format="%.3f"),
        "p10_ms": st.column_config.NumberColumn("p10 (ms)", format="%.3f"),
        "p90_ms": st.column_config.NumberColumn("p90 (ms)", format="%.3f"),
        "speedup": st.column_config.NumberColumn("vs eager", format="%.2fx"),
        "int8_speedup": st.column_config.NumberColumn("int8 vs fp32", format="%.2fx",
                                                      help="int8 over the same runtime's fp32: "
                                                           "below 1x, int8 is slower there"),
        "cold_ms": st.column_config.NumberColumn("first call (ms)", format="%.1f")})
    st.download_button("Runtime comparison (JSON, with passport)",
                       json.dumps({"config": done["config"].label, "setup": asdict(done["setup"]),
                                   "rows": done["rows"], "passport": passport_now(done["setup"])},
                                  indent=2, default=json_value),
                       file_name="lightviz_runtimes.json", mime="application/json", key=K + "runtimes_dl")


def _int8_layers(cfg: Config, base: Setup) -> None:
    """ONNX Runtime's profiler on the fp32 and the int8 graph, by op type and block."""
    st.markdown("**int8 per layer** (ONNX Runtime's profiler)")
    st.caption("Where int8 gains and where it loses: each node of the fp32 and the int8 graph "
               "timed by ONNX Runtime's own profiler. Quantize/dequantize nodes stay around ops "
               "with no int8 kernel (GhostNet's SE and hard-sigmoid, concatenations, some convs, "
               "whose weights are then dequantized at every call) and can cost more than int8 saves.")
    if st.button("Profile fp32 and int8", key=K + "int8_profile_run", icon=":material/stacked_bar_chart:"):
        notice = st.empty()
        got = attempt("int8 profile", notice, lambda: _profile(cfg, base, notice))
        if got is not None:
            st.session_state[K + "int8_profile"] = {"config": cfg, "summary": got}
    done = st.session_state.get(K + "int8_profile")
    if not done or done["config"] != cfg:
        return
    from ...charts_latency import int8_profile_figure

    s = done["summary"]
    st.caption(f"{s['config']}, {s['threads']} thread(s), median of {s['runs']} runs per node: node "
               f"time fp32 {s['fp32_ms']:.3f} ms, int8 {s['int8_ms']:.3f} ms; quantize/dequantize "
               f"{s['qdq_share']:.0%} of the int8 graph's time")
    st.plotly_chart(int8_profile_figure(s["op_types"]), width="stretch", key=K + "int8_profile_fig",
                    config={"displaylogo": False})
    blocks = pd.DataFrame(sorted(s["blocks"], key=lambda r: -r["change_ms"])).rename(columns={"key": "block"})
    st.dataframe(blocks, hide_index=True, column_config={
        "fp32_ms": st.column_config.NumberColumn("fp32 (ms)", format="%.3f"),
        "int8_ms": st.column_config.NumberColumn("int8 (ms)", format="%.3f"),
        "change_ms": st.column_config.NumberColumn("int8 − fp32 (ms)", format="%+.3f")})


def _profile(cfg: Config, base: Setup, notice) -> dict:
    from ...latency.lab.lock import HostLock
    from ...latency.runtimes.ort_profile import profile_precisions, summary

    with st.spinner(f"Profiling {network_label(cfg)} in fp32 and int8..."), \
            HostLock().hold(f"{cfg.label} int8 profile", LOCK_TIMEOUT_S, queued_notice(notice)):
        return summary(profile_precisions(cfg, base.threads or 1))


def _replace_runtime(setup: Setup, runtime: str) -> Setup:
    from dataclasses import replace

    mode = setup.mode if runtime == "torch" else "eager"
    cl = setup.channels_last and runtime in ("torch", "torch-compile")
    return replace(setup, runtime=runtime, mode=mode, channels_last=cl)


# ----------------------------------------------------------------------------- export

@st.fragment
def export_panel(cfg: Config) -> None:
    """Download the configured network as ONNX or a torch.export program (random weights)."""
    from ...exporter import DEFAULT_OPSET, FORMATS, INSTALL_ONNX

    st.subheader("Export")
    st.caption(f"Take {cfg.label} out of lightviz: as an ONNX file (opset {DEFAULT_OPSET}, what "
               "TensorRT 8.6 and ONNX Runtime load) or a torch.export program (.pt2), batch norms "
               "calibrated and folded as timed here. **No trained weights are included**: the "
               "weights are random, drawn from the seed (the same seed gives the same weights in "
               "every format), for latency and deployment tests, not for predictions.")
    from ...config import PRECISIONS
    from ...state import precision

    c = st.columns([1, 1.3, 1, 1, 1.6])
    fmt = c[0].radio("Format", FORMATS, horizontal=True, key=K + "export_format")
    dtype = c[1].radio("Precision", PRECISIONS, index=PRECISIONS.index(precision()), horizontal=True,
                       key=K + "export_dtype",
                       help="fp16: the network halved; int8 (ONNX): ONNX Runtime's static QDQ "
                            "quantization, per-channel int8 weights, calibrated on 16 random inputs")
    seed = c[2].number_input("Seed", 0, 2**31 - 1, 0, key=K + "export_seed")
    batch = c[3].number_input("Batch", 1, 1024, 1, key=K + "export_batch",
                              help="the file's fixed input batch")
    fold = c[4].checkbox("Fold batch norm", value=True, key=K + "export_fold_bn")
    key = (cfg, fmt, dtype, int(seed), int(batch), bool(fold))
    if st.button("Prepare the file", key=K + "export_run", icon=":material/file_export:"):
        with st.spinner(f"Exporting {cfg.label} to {fmt} {dtype}..."):
            try:
                data, info = _export_bytes(cfg, fmt, int(seed), int(batch), bool(fold), dtype)
            except ValueError as exc:
                st.error(for_page(str(exc)))
                return
        st.session_state[K + "export"] = {"key": key, "data": data, "info": info}
    done = st.session_state.get(K + "export")
    if fmt == "onnx":
        from ...latency.runtimes import unavailable

        if unavailable("onnxruntime") and "not installed" in unavailable("onnxruntime"):
            st.caption(f"ONNX export needs the onnx package: {INSTALL_ONNX}")
    if not done or done["key"] != key:
        return
    info = done["info"]
    st.caption(info.describe().replace(info.path, "the file"))
    ext = "onnx" if fmt == "onnx" else "pt2"
    tag = "" if info.dtype == "fp32" else f"_{info.dtype}"
    st.download_button(f"Download {ext.upper()} {info.dtype} ({info.bytes / 1e6:.1f} MB)", done["data"],
                       file_name=f"lightviz_{cfg.arch}_{cfg.alpha:g}_{cfg.resolution}{tag}_seed{info.seed}.{ext}",
                       mime="application/octet-stream", key=K + "export_dl")


def _export_bytes(cfg: Config, fmt: str, seed: int, batch: int, fold: bool, dtype: str = "fp32"):
    import os
    import tempfile

    from ...exporter import export

    with tempfile.TemporaryDirectory(prefix="lightviz-export-") as tmp:
        path = os.path.join(tmp, f"model.{fmt}")
        info = export(cfg, path, fmt, seed=seed, fold_bn=fold, batch=batch, dtype=dtype)
        with open(path, "rb") as fh:
            return fh.read(), info
