"""Classroom polish (issue 14) in Debian's Chromium: the Diagrams page opens on a block that shows
its family's unit whole (the residual add drawn), a diagram on a 390 x 844 phone keeps its text
readable (9 px or more, rendered) by scrolling sideways, the configuration is one tap away on a
phone, and Compare's log axes write every tick with its prefix."""

from __future__ import annotations

import re

import pytest

import lightviz
from lightviz.diagrams import dot as D

pytestmark = pytest.mark.browser

# The smallest rendered font size in the open diagram, in CSS pixels: each text's computed size
# (SVG user units) times the SVG's scale on the screen.
MIN_FONT_PX = """() => {
  const c = document.querySelector('[data-testid="stGraphVizChart"]');
  let m = 1e9;
  for (const t of c.querySelectorAll('svg text')) {
    m = Math.min(m, parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
  }
  return {min_px: m, scroll: c.scrollWidth, client: c.clientWidth,
          page: document.documentElement.scrollWidth};
}"""


def _chart(page):
    loc = page.locator('[data-testid="stGraphVizChart"]:visible').first
    loc.locator("svg g.node").first.wait_for(state="visible")
    return loc


def _block_in_url(page) -> str:
    return re.search(r"[?&]block=([^&]+)", page.url).group(1)


@pytest.mark.parametrize("arch", ["mobilenet_v2", "ghostnet", "shufflenet_v1", "resnet18"])
def test_default_block_draws_its_residual_add(arch, new_page, streamlit_server, wait_for_app):
    page = new_page(width=1280, height=900)
    page.goto(f"{streamlit_server}/diagrams?arch={arch}")
    wait_for_app(page)
    chart = _chart(page)
    block = D.default_block(lightviz.count(lightviz.make_config(arch)))
    for _ in range(100):  # the URL is written by the same run; the SVG is drawn after it
        if "block=" in page.url and chart.locator("svg g.node").count() > 3:
            break
        page.wait_for_timeout(100)
    assert _block_in_url(page) == block
    assert chart.locator("svg g.node text", has_text=re.compile(r"^add( \+ ReLU)?$")).count() == 1, arch
    assert "identity" in chart.inner_text(), arch  # the shortcut edge
    assert "stride 2" not in chart.inner_text(), arch  # the unit at stride 1


def test_phone_diagram_scrolls_rather_than_shrinks(new_page, streamlit_server, wait_for_app,
                                                   artifacts):
    page = new_page(width=390, height=844)
    page.goto(f"{streamlit_server}/diagrams?arch=mobilenet_v2")
    wait_for_app(page)
    _chart(page)
    page.wait_for_timeout(500)
    got = page.evaluate(MIN_FONT_PX)
    assert got["min_px"] >= 9, got  # readable: the block's smallest label
    assert got["scroll"] > got["client"], got  # wider than the phone: its frame scrolls
    assert got["page"] <= 390, got  # ... and the page itself does not
    # the configuration is named at the top, and one tap opens the sidebar's widgets
    button = page.locator(".lv-config button")
    assert button.is_visible() and "MobileNet v2" in button.inner_text()
    slider = page.get_by_text("Width multiplier", exact=False).first
    box = slider.bounding_box()
    assert box is None or box["x"] + box["width"] <= 0  # folded away
    button.click()
    page.wait_for_timeout(800)
    box = slider.bounding_box()
    assert box is not None and 0 <= box["x"] < 390, box
    page.screenshot(path=str(artifacts / "phone_config_open.png"))
    # plotly's toolbar would cover a chart's title on a phone (no hover there to need it)
    page.goto(f"{streamlit_server}/?arch=mobilenet_v2")
    wait_for_app(page)
    page.locator(".js-plotly-plot .modebar-container").first.wait_for(state="attached")
    shown = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot .modebar-container')]"
                          ".map(e => getComputedStyle(e).display)")
    assert shown and set(shown) == {"none"}, shown


def test_desktop_has_no_phone_button_and_compare_ticks_carry_prefixes(new_page, streamlit_server,
                                                                       wait_for_app):
    page = new_page(width=1280, height=900)
    page.goto(f"{streamlit_server}/compare?arch=shufflenet_v1")
    wait_for_app(page)
    assert not page.locator(".lv-config button").is_visible()
    page.locator(".js-plotly-plot .xtick text").first.wait_for()
    # the family scatter and the accuracy chart: the page's log axes
    ticks = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].slice(0, 2)"
                          ".flatMap(p => [...p.querySelectorAll('.xtick text, .ytick text')])"
                          ".map(t => t.textContent)")
    assert ticks, "no tick labels found"
    bare = [t for t in ticks if re.fullmatch(r"[2-9]", t.strip())]
    assert not bare, page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')].map(p => "
        "(p.querySelector('.gtitle') || {}).textContent + ': ' + "
        "[...p.querySelectorAll('.xtick text, .ytick text')].map(t => t.textContent).join(','))")
