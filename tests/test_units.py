"""One way to write a number (lightviz.units): counts in decimal SI to 3 significant digits,
bytes in binary IEC units, exact numbers with thousands separators; the same string on the
pages, the charts, the diagrams and the CLI."""

import re

import pytest

import lightviz
from lightviz import charts, units
from lightviz.cli import render_table
from lightviz.diagrams import dot, notes
from lightviz.units import fmt_bytes, fmt_count, fmt_exact, fmt_ms


@pytest.mark.parametrize("n, text", [
    (0, "0"), (96, "96"), (999, "999"), (12.5, "12.5"), (1000, "1.00 K"), (3456, "3.46 K"),
    (4_360_704, "4.36 M"), (3_504_872, "3.50 M"), (300_774_272, "301 M"), (4.09e9, "4.09 G"),
    (999_999, "1.00 M"), (9_996_000, "10.0 M"), (-2500, "-2.50 K"),
])
def test_counts(n, text):
    assert fmt_count(n) == text


@pytest.mark.parametrize("n, text", [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.00 KiB"), (831_488, "812 KiB"),
    (9_633_792, "9.19 MiB"), (int(16.8 * 2 ** 30), "16.8 GiB"), (2 ** 20 - 1, "1.00 MiB"),
])
def test_bytes_are_binary(n, text):
    assert fmt_bytes(n) == text


def test_exact_and_ms():
    assert fmt_exact(300_774_272) == "300,774,272"
    assert [fmt_ms(x) for x in (0.6123, 5.171, 56.53, 533.2)] == ["0.612", "5.17", "56.5", "533"]


def test_every_door_writes_the_same_string():
    prof = lightviz.profile("mobilenet_v2")
    assert dot.fmt_count is units.fmt_count and notes.fmt_count is units.fmt_count
    assert "301 M MACs" in dot.overview_dot(prof)
    table = render_table(prof)
    assert "(301 M multiply-accumulates" in table and "(3.50 M parameters" in table
    assert "peak activations 9.19 MiB (9,633,792 bytes" in table
    assert "20,070,400" in table  # the macs column keeps its thousands separators
    assert not hasattr(charts, "fmt_bytes")  # one module formats; charts only uses it


def test_memory_estimate_writes_bytes_like_every_page():
    from lightviz.latency.lab.memory import estimate

    est = estimate(lightviz.make_config("mobilenet_v2"), 1, "fp32", "cpu")
    text = est.describe()
    assert re.search(r"weights \d+\.\d+ MiB", text) and "9.19 MiB per image" in text, text
