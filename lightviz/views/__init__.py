"""The app's pages. Each module exposes ``render(cfg: Config) -> None`` and reads the sidebar's
counting options with :func:`lightviz.state.counting_options`.

The helpers here are shared by the pages: cached profiles (keyed on the frozen Config, bounded),
the cached Paper check table, and the number formatting of :mod:`lightviz.units`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ..config import Config
from ..configure import network_label
from ..counting import Profile, count
from ..units import fmt_bytes, fmt_count

if TYPE_CHECKING:  # the first page (Explore's headline and bars) needs no pandas
    import pandas as pd

__all__ = ["NO_CHANGE", "as_text", "cached_paper_check", "cached_profile", "delta_arrow",
           "fmt_bytes", "fmt_count", "fmt_delta", "nice_label"]


@st.cache_data(max_entries=256, show_spinner=False)
def cached_profile(cfg: Config, elementwise: bool = False) -> Profile:
    """``lightviz.count(cfg, elementwise)``, cached per session-independent Config."""
    return count(cfg, elementwise=elementwise)


@st.cache_data(max_entries=1, show_spinner=False)
def cached_paper_check() -> pd.DataFrame:
    """The Paper check table (about 40 counts), computed once per process."""
    from ..reference import paper_check

    return paper_check()


NO_CHANGE = "no change"  # a metric's delta for an unchanged value: words, no arrow


def fmt_delta(value: float, base: float) -> str | None:
    """The relative change from ``base`` as a signed percentage; :data:`NO_CHANGE` when equal
    (give st.metric ``delta_arrow=delta_arrow(delta)``: an arrow on a "0 %" says "up")."""
    if base == value:
        return NO_CHANGE
    if base == 0:
        return "new"
    return f"{(value - base) / base * 100:+.1f} %"


def delta_arrow(delta: str | None) -> str:
    """st.metric's ``delta_arrow`` for a :func:`fmt_delta` text: none where nothing moved."""
    return "off" if delta in (None, NO_CHANGE, "new") else "auto"


def nice_label(cfg: Config) -> str:
    """A configuration for people: "ShuffleNet v1 g=3 \u03b1 0.5 \u00b7 224 px"
    (:func:`lightviz.configure.network_label`; " \u00b7 custom" when its table is edited)."""
    return network_label(cfg)


def as_text(values, fmt: str = "{:,.0f}", missing: str = "\u2013") -> list:
    """Numbers formatted as text, ``missing`` where there is none: st.dataframe shows a missing
    number as "None", which reads like a value. Use with a right-aligned TextColumn."""
    import pandas as pd

    return [missing if pd.isna(v) else fmt.format(v) for v in values]
