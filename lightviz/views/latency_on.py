"""The "Latency on" selector and what the pages show for the device it names.

One selector, in the sidebar (widget key ``on`` = URL parameter ``on`` = the CLI's ``--on``):
``this host``, each imported device, each reference device (the names of
:func:`lightviz.latency.devices.sources.names`). Explore's latency card and sweeps, Compare's
ranking and Pareto view and the Design page read :func:`current`; every figure they draw comes
from :func:`lightviz.latency.devices.sources.latency_on` and says its device, runtime,
precision and status (:func:`caption`). Compare's device view (:func:`device_view`) shows the
current configuration on every device that can say something about it.
"""

from __future__ import annotations

import streamlit as st

from ..config import Config
from ..latency.devices import sources
from ..latency.devices.figure import (
    INTERPOLATED,
    MEASURED,
    NONE,
    PREDICTED_HERE,
    PREDICTED_IMPORTED,
    PUBLISHED,
    THIS_HOST,
    DeviceLatency,
)
from ..state import precision
from ..units import fmt_ms

KEY = "on"  # widget key, URL parameter and CLI option (--on)
# A card's words for a status (its help and the caption say it in full).
SHORT = {MEASURED: "measured", PREDICTED_HERE: "predicted", PREDICTED_IMPORTED: "predicted, imported",
         PUBLISHED: "published", INTERPOLATED: "interpolated", NONE: "none"}
NOTICE = "_latency_on_notice"


def _names() -> list[str]:
    try:
        return sources.names()
    except (OSError, ValueError):  # no reference table: this host and the imported ones
        return [THIS_HOST]


def selector() -> str:
    """The "Latency on" select box (in the current container), seeded from the URL on a
    session's first run and written back to it; returns the chosen device."""
    ss = st.session_state
    names = _names()
    if "_latency_on_read" not in ss:
        ss["_latency_on_read"] = True
        raw = st.query_params.get(KEY)
        if raw is not None:
            try:
                ss[KEY] = sources.check_on(raw)
            except ValueError as exc:
                ss[NOTICE] = f"{exc}: using {THIS_HOST}"
    if ss.get(KEY) not in names:
        ss[KEY] = THIS_HOST
    st.selectbox("Latency on", names, key=KEY,
                 help="The device every latency figure is for: this host (measured where stored, "
                      "else predicted from its calibration), a device imported with `lightviz devices "
                      "import`, or a reference device known from published measurements. Each figure "
                      "says its device, runtime, precision and how it is known.")
    if ss.get(NOTICE):
        st.caption(ss.pop(NOTICE))
    if ss[KEY] == THIS_HOST:
        if KEY in st.query_params:
            del st.query_params[KEY]
    elif st.query_params.get(KEY) != ss[KEY]:
        st.query_params[KEY] = ss[KEY]
    return ss[KEY]


def current() -> str:
    """The device the sidebar's selector names (``this host`` before it has run)."""
    name = st.session_state.get(KEY) or THIS_HOST
    return name if name in _names() else THIS_HOST


def figure(cfg: Config, name: str | None = None, setup=None) -> DeviceLatency:
    """``cfg`` on ``name`` (default the selector's): this host with ``setup`` (Explore's) when
    given, else in the sidebar's precision."""
    name = name or current()
    what = setup if (setup is not None and name == THIS_HOST) else precision()
    return sources.latency_on(name, cfg, what)


def short_name(device: str) -> str:
    """A device's name without its parenthesis, for a card: "Pixel 3" (the help names it in full)."""
    return device.split(" (")[0] if not device.startswith("(") else device


def caption(fig: DeviceLatency) -> str:
    """What every figure says about itself: device, runtime and precision, and its status."""
    if fig.ms is None:
        return f"Latency on **{fig.label}**: none ({fig.reason})."
    span = "" if fig.low == fig.high else f", interval {fmt_ms(fig.low)} to {fmt_ms(fig.high)} ms"
    return (f"Latency on **{fig.label}**: {fmt_ms(fig.ms, ' ms')} ({fig.status}{span}); "
            f"source: {fig.source}.")


def metric(fig: DeviceLatency, ref: DeviceLatency | None = None, delta_description=None) -> None:
    """A latency card for ``fig`` (in the current container); ``ref``: the figure it is
    compared with (the network at alpha 1, rho 1)."""
    delta = None
    if fig.ms is not None and ref is not None and ref.ms is not None and ref.ms != fig.ms:
        delta = f"{(fig.ms - ref.ms) / ref.ms * 100:+.1f} %"
    st.metric(f"Latency on {short_name(fig.device)} ({SHORT[fig.status]})",
              "none" if fig.ms is None else fmt_ms(fig.ms, " ms"),
              delta=delta, delta_color="off", delta_description=delta_description if delta else None,
              delta_arrow="auto" if delta else "off", border=True, help=caption(fig))


def device_view(cfg: Config, setup=None) -> None:
    """Compare's device view: ``cfg`` on every device that can say something about it."""
    import pandas as pd

    st.subheader("This configuration on every device")
    every = [figure(cfg, name, setup) for name in _names()]
    figs = [f for f in every if f.ms is not None]
    silent = len(every) - len(figs)
    if not figs:
        st.info(f"No device can say anything about this configuration in {precision()}: "
                "none of them measured, calibrated or published it.", icon=":material/devices:")
    else:
        # a plain table: its text wraps on a phone, where a data grid would hide columns; the
        # sources (long) are numbered under it
        refs: dict[str, int] = {}
        st.table(pd.DataFrame([{
            "device": f.device, "runtime": f.runtime, "precision": f.precision,
            "ms": fmt_ms(f.ms) if f.ms is not None else "",
            "interval (ms)": "\u2013" if f.low == f.high else f"{fmt_ms(f.low)} to {fmt_ms(f.high)}",
            "status": f.status, "source": f"[{refs.setdefault(f.source, len(refs) + 1)}]"}
            for f in figs]).set_index("device"))
        st.markdown("  \n".join(f"[{n}] {src}" for src, n in refs.items()))
    st.caption(f"Batch 1. {silent} of the {len(figs) + silent} devices say nothing about this "
               "configuration in this precision (another family, precision or an edited table; "
               "never a number carried over). Measured: on this host; predicted: from a "
               "calibration, this host's or an imported one; published: a paper's or a "
               "runtime's table; interpolated: inside a family's published grid on that device.")
