"""The app's pages. Each module exposes ``render(cfg: Config) -> None`` and reads the sidebar's
counting options with :func:`lightviz.state.counting_options`.

The helpers here are shared by the pages: cached profiles (keyed on the frozen Config, bounded)
and number formatting with units.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ..config import Config
from ..counting import Profile, count
from ..state import ARCH_LABELS


@st.cache_data(max_entries=256, show_spinner=False)
def cached_profile(cfg: Config, elementwise: bool = False) -> Profile:
    """``lightviz.count(cfg, elementwise)``, cached per session-independent Config."""
    return count(cfg, elementwise=elementwise)


def fmt_count(n: float, digits: int = 3) -> str:
    """``n`` with an SI prefix and ``digits`` significant digits: 3.50 M, 301 M, 4.09 G."""
    n = float(n)
    for prefix, div in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= div:
            return f"{_sig(n / div, digits)} {prefix}"
    return _sig(n, digits)


def fmt_bytes(n: float, digits: int = 3) -> str:
    """Bytes in MB (10^6 bytes) or kB: 14.0 MB, 812 kB."""
    n = float(n)
    if abs(n) >= 1e6:
        return f"{_sig(n / 1e6, digits)} MB"
    if abs(n) >= 1e3:
        return f"{_sig(n / 1e3, digits)} kB"
    return f"{n:.0f} B"


def _sig(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits, keeping trailing zeros (3.50, not 3.5)."""
    if x == 0:
        return "0"
    whole = len(str(int(abs(x)))) if abs(x) >= 1 else 1
    decimals = max(digits - whole, 0)
    return f"{x:.{decimals}f}"


def fmt_delta(value: float, base: float) -> str | None:
    """The relative change from ``base`` as a signed percentage ("0 %" when equal)."""
    if base == value:
        return "0 %"
    if base == 0:
        return "new"
    return f"{(value - base) / base * 100:+.1f} %"


def nice_label(cfg: Config) -> str:
    """A configuration for people: "ShuffleNet v1 g=3 \u03b1 0.5 \u00b7 224 px"."""
    groups = f" g={cfg.groups}" if cfg.groups is not None else ""
    return f"{ARCH_LABELS[cfg.arch]}{groups} \u03b1 {cfg.alpha:g} \u00b7 {cfg.resolution} px"


def as_text(values, fmt: str = "{:,.0f}", missing: str = "\u2013") -> list:
    """Numbers formatted as text, ``missing`` where there is none: st.dataframe shows a missing
    number as "None", which reads like a value. Use with a right-aligned TextColumn."""
    return [missing if pd.isna(v) else fmt.format(v) for v in values]
