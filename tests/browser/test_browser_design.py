"""The Design page's editor in a real browser (Chromium through Playwright, a real
``streamlit run`` server from conftest.py): typing into a cell of the table changes the counts,
and the address bar then holds the edited table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from lightviz.views import fmt_count
from lightviz.zoo.table import decode_url

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def profile(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "lightviz", "profile", *args, "--format", "json"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def metric(page, label: str):
    card = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return card.get_by_test_id("stMetricValue")


def test_typing_into_a_cell_changes_the_counts_and_the_link(page, streamlit_server, wait_for_app,
                                                           artifacts):
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/design?arch=mobilenet_v2")
    wait_for_app(page)
    paper = profile("mobilenet_v2")
    expect(metric(page, "MACs")).to_have_text(fmt_count(paper["macs"]))
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    grid.scroll_into_view_if_needed()
    cell = page.locator("#portal input.gdg-input").first
    # a row-selection column (about 33 px; rows can be added and deleted), then t; the header
    # row and each row are about 35 px high: double-click the second row's t (6) to open the
    # grid's cell editor, and write 1. The grid is a canvas: on a loaded machine its layout can
    # still move after the first second, so the double-click is aimed again (up to three times)
    # at where the grid is now until the editor opens.
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # the browser tests' own import

    for _ in range(3):
        page.wait_for_timeout(1000)  # let the layout settle before clicking
        box = grid.bounding_box()
        page.mouse.dblclick(box["x"] + 33 + 50, box["y"] + 35 + 35 + 17)
        try:
            cell.wait_for(state="visible", timeout=10_000)
            break
        except PlaywrightTimeout:  # the editor did not open: aim again
            page.keyboard.press("Escape")
    expect(cell).to_have_value("6")
    cell.fill("1")
    page.keyboard.press("Enter")
    settings = {"layers": [[1, 16, 1, 1], [1, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                           [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]}
    edited = profile("mobilenet_v2", "--settings", json.dumps(settings))
    expect(metric(page, "MACs")).to_have_text(fmt_count(edited["macs"]), timeout=30_000)
    expect(metric(page, "Top-1 (estimate)")).to_have_text("none")
    expect(page.get_by_text("layers row 2: t 6 \u2192 1")).to_be_visible()
    wait_for_app(page)
    link = {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}
    assert decode_url(link["settings"]) == settings
    assert page.get_by_test_id("stException").count() == 0
    page.screenshot(path=str(artifacts / "design_edited.png"), full_page=True)

    # the link, opened afresh, reproduces the edited network
    page.goto(page.url)
    wait_for_app(page)
    expect(metric(page, "MACs")).to_have_text(fmt_count(edited["macs"]), timeout=30_000)
