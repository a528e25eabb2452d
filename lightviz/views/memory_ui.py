"""Explore's Memory tab: what the network needs on a device, at the sidebar's precision. A
"Fits on" row (which microcontrollers the configuration fits at int8), the deployment-memory
chart (live bytes at each op, with and without in-place depthwise, the peaks named) and the
figures beside today's "every op writes a tensor" one. The rules: :mod:`lightviz.deployment`,
:mod:`lightviz.boards`."""

from __future__ import annotations

import streamlit as st

from ..boards import RUNTIME_FLASH_BYTES, RUNTIME_SRAM_BYTES, fits_everywhere
from ..charts_memory import memory_figure, peak_sentence
from ..config import Config
from ..deployment import deployment_memory
from ..state import precision
from . import cached_profile, fmt_bytes


@st.cache_data(max_entries=64, show_spinner=False)
def _memory(cfg: Config, dtype: str):
    prof = cached_profile(cfg)
    return (deployment_memory(prof, dtype, in_place=False),
            deployment_memory(prof, dtype, in_place=True), fits_everywhere(prof, "int8"))


def render(cfg: Config, measure: str = "macs", elementwise: bool = False) -> None:
    dtype = precision()
    plain, in_place, fits = _memory(cfg, dtype)
    _fits_row(fits)
    st.plotly_chart(memory_figure(plain, in_place), width="stretch",
                    config={"displaylogo": False}, key="memory_chart")
    st.markdown(peak_sentence(plain, in_place))
    st.caption(
        f"At **{dtype}** ({plain.bytes_per_value} byte{'s' if plain.bytes_per_value > 1 else ''} "
        f"a value; the sidebar's *Deployed in*), batch 1. MCUNet's rule: conv + BN + activation "
        f"run as one op that holds its input and its output, tensors still to be read stay "
        f"live (a block's residual input through its depthwise conv), the residual add writes "
        f"into the residual's buffer, a concat is its branches written side by side, weights "
        f"stay in flash. TinyEngine's in-place depthwise overwrites its input one channel at a "
        f"time (N + 1 channels instead of 2N). Weights as stored: "
        f"{fmt_bytes(plain.flash_bytes)} ({plain.flash_bytes:,} B; "
        f"{'int8 weights, int32 biases' if dtype == 'int8' else dtype + ' weights and biases'}"
        f", BN folded).")


def _fits_row(fits) -> None:
    """One card per board: fits or not at int8, SRAM and flash used of the board's."""
    st.markdown("**Fits on** (int8, TinyEngine-like runtime: in-place depthwise peak "
                f"+ {fmt_bytes(RUNTIME_SRAM_BYTES)} of buffers in SRAM, weights "
                f"+ {fmt_bytes(RUNTIME_FLASH_BYTES)} of code in flash)")
    with st.container(horizontal=True, key="fits_on"):
        for f in fits:
            b = f.board
            why = [] if f.fits else [w for w, ok in (("SRAM", f.fits_sram),
                                                      ("flash", f.fits_flash)) if not ok]
            verdict = ":green[fits]" if f.fits else ":red[too big:] " + " and ".join(why)
            with st.container(border=True, width=170):
                st.markdown(f"{':material/check_circle:' if f.fits else ':material/cancel:'} "
                            f"**{b.label}** {verdict}")
                st.caption(f"SRAM {fmt_bytes(f.sram_used)} / {fmt_bytes(b.arena_bytes)}  \n"
                           f"flash {fmt_bytes(f.flash_used)} / {fmt_bytes(b.flash_bytes)}",
                           help=f"{b.title}. {b.note}. Flash: {b.flash_note}. "
                                f"Source: {b.source}.")
    st.caption("Published: MCUNet's MobileNet v2 0.35 @ 144, whose last conv is narrowed to "
               "448 channels, runs on an STM32F746 in 308 kB of SRAM and 862 kB of flash "
               "(TinyEngine, int8); lightviz's MobileNet v2 keeps torchvision's 1280 and needs "
               "twice the flash. Memory at int8 whatever the sidebar's precision: "
               "microcontrollers run int8.")


def precision_lesson(prof, setup=None) -> None:
    """Explore's fp32 / fp16 / int8 comparison of the current network (size, deployment peak,
    latency on the sidebar's device, top-1 where known): :func:`lightviz.precisions.side_by_side`."""
    from ..precisions import side_by_side
    from ..units import fmt_ms, fmt_top1
    from . import latency_on

    on = latency_on.current()
    with st.expander("fp32, fp16 or int8? This network deployed three ways"):
        rows = side_by_side(prof, on, setup)
        # a markdown table (no pandas on the first page), one column per precision: four
        # narrow columns fit a phone, their text wraps
        def lat(r):
            return ("none" if r.latency.ms is None else
                    f"{fmt_ms(r.latency.ms, ' ms')} {latency_on.SHORT[r.latency.status]}")

        def top1(r):
            return "none" if r.top1.value is None else f"{fmt_top1(r.top1.value)} % {r.top1.status}"

        lines = ["| | " + " | ".join(r.precision for r in rows) + " |",
                 "| --- |" + " ---: |" * len(rows)]
        for name, cell in (("weights", lambda r: fmt_bytes(r.weight_bytes)),
                           ("peak", lambda r: fmt_bytes(r.peak_bytes)),
                           ("latency", lat), ("top-1", top1)):
            lines.append(f"| {name} | " + " | ".join(cell(r) for r in rows) + " |")
        st.markdown("\n".join(lines))
        fp32, _, int8 = rows
        faster = ""
        if fp32.latency.ms is not None and int8.latency.ms is not None:
            ratio = fp32.latency.ms / int8.latency.ms
            faster = (f" Here int8 runs **{ratio:.2f}\u00d7** the speed of fp32: "
                      + ("faster" if ratio > 1.05 else "no faster" if ratio >= 0.95 else "slower")
                      + ", which depends on the family and the device, not on the bytes alone.")
        st.caption(
            f"Weights: params \u00d7 bytes per value; peak: the deployment peak (MCUNet's rule, "
            f"the Memory tab); latency on **{on}**. int8 stores the weights in a quarter of "
            f"fp32's bytes ({fmt_bytes(int8.weight_bytes)} vs {fmt_bytes(fp32.weight_bytes)}) "
            f"and holds a quarter of the activations; params and MACs do not change.{faster} "
            f"Latency: measured or predicted on this host from a calibration in "
            f"that precision (int8: `lightviz calibrate --runtime onnxruntime --dtype int8`), or "
            f"published for a reference device; none where nothing is known, never fp32 scaled. "
            f"Top-1 int8: the fp32 estimate minus the family's published int8 drop (none without "
            f"int8 data); fp16: the fp32 figure, assumed unchanged.")
