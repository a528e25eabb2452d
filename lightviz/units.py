"""How lightviz writes counts and sizes: one rule for the pages, the charts, the diagrams and the
command line, so a number reads the same wherever it appears.

* **Counts** (params, MACs, FLOPs, channels x pixels): decimal SI prefixes, K = 10^3, M = 10^6,
  G = 10^9, T = 10^12, after a space, to three significant digits with trailing zeros kept
  (a whole number under 1000 as it is): ``96``, ``3.46 K``, ``4.36 M``, ``3.50 M``, ``301 M``,
  ``4.09 G``. The papers count MACs and parameters in decimal millions and billions, so the
  rounded figure compares with theirs.
  (:func:`fmt_count`)
* **Bytes** (activations, weights, free memory): binary IEC units, KiB = 2^10, MiB = 2^20,
  GiB = 2^30 bytes, to three significant digits: ``812 KiB``, ``9.19 MiB``, ``16.8 GiB``.
  Memory is allocated and reported in powers of two (torch, CUDA, the OS), so the same unit is
  used for an estimate and for the free memory it is checked against. (:func:`fmt_bytes`)
* **Exact numbers** carry thousands separators: ``4,360,704``. (:func:`fmt_exact`)
* **Milliseconds** to about three significant digits: ``0.612``, ``5.17``, ``56.5``, ``533``.
  (:func:`fmt_ms`)
* **Top-1 percentages** to one decimal, rounded half up from the estimate itself (never from an
  already rounded copy, so 75.2513 is ``75.3`` on every page and in every command), and
  :data:`NO_ESTIMATE` (``none``, the status word of :mod:`lightviz.accuracy`) where there is no
  estimate. (:func:`fmt_top1`, :func:`fmt_top1_range`)
* **JSON** written by lightviz (results, downloads, the store): a NumPy or torch scalar as its
  Python number, anything else json cannot encode as its text. (:func:`json_value`)

Rounding that reaches the next prefix moves to it: 999,999 is ``1.00 M``, not ``1000 K``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

COUNT_PREFIXES: tuple[tuple[str, float], ...] = (
    ("", 1.0), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12))
KiB, MiB, GiB = 2 ** 10, 2 ** 20, 2 ** 30
BYTE_UNITS: tuple[tuple[str, float], ...] = (
    ("B", 1.0), ("KiB", KiB), ("MiB", MiB), ("GiB", GiB), ("TiB", 2.0 ** 40))
DIGITS = 3
NO_ESTIMATE = "none"  # the one word for "no top-1 estimate", on the pages and in the CLI
TOP1_STEP = Decimal("0.1")


def fmt_count(n: float, digits: int = DIGITS) -> str:
    """``n`` with a decimal SI prefix and ``digits`` significant digits: 3.50 M, 301 M, 4.09 G;
    a whole number under 1000 as it is: 96."""
    n = float(n)
    if abs(n) < 1e3 and n.is_integer():
        return f"{n:.0f}"
    return _scaled(n, COUNT_PREFIXES, 1e3, digits)


def fmt_bytes(n: float, digits: int = DIGITS) -> str:
    """``n`` bytes in binary units with ``digits`` significant digits: 812 KiB, 9.19 MiB."""
    n = float(n)
    if abs(n) < 1024:
        return f"{n:.0f} B"
    return _scaled(n, BYTE_UNITS, 1024.0, digits)


def fmt_exact(n: int) -> str:
    """An exact number with thousands separators: 4,360,704."""
    return f"{int(n):,}"


def fmt_ms(x: float, unit: str = "") -> str:
    """Milliseconds to about 3 significant digits: 0.612, 5.17, 56.5, 533 (``unit=" ms"``
    appends the unit, for text that does not say it elsewhere)."""
    if x >= 100:
        text = f"{x:.0f}"
    elif x >= 10:
        text = f"{x:.1f}"
    elif x >= 1:
        text = f"{x:.2f}"
    else:
        text = f"{x:.3f}"
    return text + unit


def fmt_top1(x: float | None, unit: str = "") -> str:
    """A top-1 percentage to one decimal, half up: 75.2513 -> ``75.3``, 60.6 -> ``60.6``;
    :data:`NO_ESTIMATE` for None or NaN (``unit=" %"`` appends the unit). Give it the value
    itself, not a copy already rounded to two decimals: rounding twice can move the digit."""
    if x is None or x != x:
        return NO_ESTIMATE
    text = str(Decimal(repr(float(x))).quantize(TOP1_STEP, rounding=ROUND_HALF_UP))
    return text + unit


def fmt_top1_range(low: float | None, high: float | None, sep: str = "\u2013") -> str:
    """An interval of top-1 percentages, each end as :func:`fmt_top1` writes it: 74.4\u201375.7."""
    return f"{fmt_top1(low)}{sep}{fmt_top1(high)}"


def fmt_seconds(s: float) -> str:
    """A duration in the unit that reads best: 250 ms, 4.2 s, 16.3 min, 1.6 h."""
    if s >= 5400:
        return f"{s / 3600:.1f} h"
    if s >= 90:
        return f"{s / 60:.1f} min"
    if s >= 1:
        return f"{s:.1f} s"
    return f"{s * 1e3:.0f} ms"


def _scaled(n: float, units: Sequence[tuple[str, float]], base: float, digits: int) -> str:
    i = 0
    while i + 1 < len(units) and abs(n) >= units[i + 1][1]:
        i += 1
    text = _sig(n / units[i][1], digits)
    if abs(float(text)) >= base and i + 1 < len(units):  # 999.7 K rounds to 1000 K: say 1.00 M
        i += 1
        text = _sig(n / units[i][1], digits)
    unit = units[i][0]
    return f"{text} {unit}" if unit else text


def _sig(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits, keeping trailing zeros (3.50, not 3.5)."""
    if x == 0:
        return "0"
    whole = len(str(int(abs(x)))) if abs(x) >= 1 else 1
    decimals = max(digits - whole, 0)
    text = f"{x:.{decimals}f}"
    if decimals and len(text.lstrip("-").split(".")[0]) > whole:  # 9.995 -> 10.00: one digit less
        text = f"{x:.{decimals - 1}f}"
    return text


def json_value(obj):
    """``json.dumps(..., default=json_value)``: a NumPy or torch scalar as its Python number,
    anything else as its text."""
    return obj.item() if hasattr(obj, "item") else str(obj)
