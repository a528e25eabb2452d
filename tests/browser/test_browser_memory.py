"""Explore's Memory tab in Debian's Chromium: the deployment-memory chart of MobileNet v2 0.35
@ 144 at int8 marks both peaks (304 KiB without in-place depthwise, 284 KiB with it) and names
block 2; the "Fits on" row says which boards it fits; on a 390 x 844 phone the chart's legend
and title stay clear of the plot. Screenshots at 1280 x 900 and 390 x 844, light and dark, go to
the test's tmp dir (and artifacts/memory_*.png)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

URL = "/explore?arch=mobilenet_v2&alpha=0.35&rho=0.6429&dtype=int8"

BOXES = """(plot) => {
  const box = e => { const r = e.getBoundingClientRect();
                     return {x: r.x, y: r.y, w: r.width, h: r.height}; };
  return {plot: box(plot.querySelector('.nsewdrag')), legend: box(plot.querySelector('g.legend')),
          title: box(plot.querySelector('.gtitle')), figure: box(plot)};
}"""


def overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


@pytest.mark.parametrize("width,height,scheme", [(1280, 900, "light"), (390, 844, "dark")])
def test_memory_chart_marks_the_peaks(width, height, scheme, new_page, streamlit_server,
                                      wait_for_app, tmp_path, artifacts):
    from playwright.sync_api import expect

    page = new_page(width, height, scheme)
    page.goto(streamlit_server + URL)
    wait_for_app(page)
    page.get_by_role("tab", name="Memory").click()
    wait_for_app(page)
    chart = page.locator(".js-plotly-plot").filter(has_text="Deployment memory per op")
    expect(chart).to_be_visible()
    for peak in ("peak 304 KiB", "peak 284 KiB"):
        expect(chart.locator(".annotation-text", has_text=peak)).to_be_visible()
    text = page.locator("p").filter(has_text="Peak 304 KiB (311,040 B)")
    expect(text).to_contain_text("block 2, 3x3 depthwise conv")
    expect(text).to_contain_text("block 2, 1x1 pointwise conv")
    fits = page.locator(".st-key-fits_on")
    expect(fits).to_contain_text("STM32H743 fits")
    expect(fits).to_contain_text("STM32F746 too big: flash")
    expect(fits).to_contain_text("SRAM 308 KiB / 320 KiB")
    fits.scroll_into_view_if_needed()
    fits.screenshot(path=str(tmp_path / f"fits_{width}x{height}_{scheme}.png"))
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # plotly's last relayout
    boxes = chart.evaluate(BOXES)
    assert not overlap(boxes["legend"], boxes["plot"]), boxes
    assert not overlap(boxes["title"], boxes["plot"]), boxes
    assert boxes["figure"]["w"] <= width
    name = f"memory_{width}x{height}_{scheme}.png"
    page.screenshot(path=str(tmp_path / name), full_page=False)
    chart.screenshot(path=str(artifacts / name))
