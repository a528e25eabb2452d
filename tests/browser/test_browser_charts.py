"""Charts for every eye and every screen (issue 23, item 4), in Debian's Chromium: the Pareto
front and the current-configuration ring, as RENDERED, keep 3:1 contrast against the page on the
light and the dark theme (so do the axes' labels); on a 390 x 844 phone the Pareto legend and
the title stay clear of the plot; Compare's sections are tabs, not one 5,000 px page.
Screenshots at 1280 x 800 and 390 x 844 in both themes go to artifacts/charts_*.png."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

URL = "/compare?arch=mobilenet_v2&alpha=0.75&rho=1"

# The rendered colours: the front line's and the ring's strokes in plotly's SVG (the front is
# the trace named "Pareto front", the ring "current configuration": found by the legend's text,
# in trace order), the tick labels' fill, and the page's computed background.
RENDERED = """(plot) => {
  const names = [...plot.querySelectorAll('.legend .traces .legendtext')].map(t => t.textContent);
  const traces = [...plot.querySelectorAll('.scatterlayer .trace')];
  const front = traces[names.indexOf('Pareto front')].querySelector('path.js-line');
  const ring = traces[names.indexOf('current configuration')].querySelector('path.point');
  const css = (e, p) => getComputedStyle(e).getPropertyValue(p);
  let bg = 'rgba(0, 0, 0, 0)';
  for (let e = plot; e && /rgba\\(0, 0, 0, 0\\)|transparent/.test(bg); e = e.parentElement) {
    bg = css(e, 'background-color');
  }
  return {front: css(front, 'stroke'), ring: css(ring, 'stroke'), bg: bg,
          ticks: [...plot.querySelectorAll('.xtick text, .ytick text')].map(t => css(t, 'fill')),
          titles: [...plot.querySelectorAll('.xtitle, .ytitle, .gtitle')].map(t => css(t, 'fill'))};
}"""

BOXES = """(plot) => {
  const box = e => { const r = e.getBoundingClientRect();
                     return {x: r.x, y: r.y, w: r.width, h: r.height}; };
  return {plot: box(plot.querySelector('.nsewdrag')), legend: box(plot.querySelector('g.legend')),
          title: box(plot.querySelector('.gtitle')), xtitle: box(plot.querySelector('.xtitle')),
          figure: box(plot)};
}"""


def _rgb(css: str) -> tuple:
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return r, g, b


def _luminance(rgb: tuple) -> float:
    c = [x / 255 for x in rgb]
    c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def contrast(a: str, b: str) -> float:
    lo, hi = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))))
    return (hi + 0.05) / (lo + 0.05)


def overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def _pareto(page, streamlit_server, wait_for_app):
    from playwright.sync_api import expect

    page.goto(streamlit_server + URL)
    wait_for_app(page)
    page.get_by_role("tab", name="Pareto view").click()
    chart = page.locator(".js-plotly-plot").filter(has_text="Estimated top-1 against")
    expect(chart).to_be_visible()
    chart.locator(".legend .legendtext", has_text="current configuration").wait_for()
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # plotly's last relayout
    return chart


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pareto_marks_keep_3_to_1_on_both_themes(scheme, new_page, streamlit_server,
                                                 wait_for_app, artifacts):
    page = new_page(width=1280, height=800, color_scheme=scheme)
    chart = _pareto(page, streamlit_server, wait_for_app)
    got = chart.evaluate(RENDERED)
    # the theme followed the browser's preference: white, or Streamlit's dark page (#171614 in
    # Streamlit 1.67; #0E1117 in older ones)
    page_l = _luminance(_rgb(got["bg"]))
    assert page_l == 1.0 if scheme == "light" else page_l < 0.01, got
    figures = {"front": contrast(got["front"], got["bg"]), "ring": contrast(got["ring"], got["bg"]),
               "ticks": min(contrast(t, got["bg"]) for t in got["ticks"]),
               "titles": min(contrast(t, got["bg"]) for t in got["titles"])}
    print(scheme, got["bg"], got["front"], got["ring"], {k: round(v, 2) for k, v in figures.items()})
    assert all(v >= 3.0 for v in figures.values()), (figures, got)
    page.screenshot(path=str(artifacts / f"charts_pareto_desktop_{scheme}.png"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_legend_and_title_keep_off_the_plot(scheme, new_page, streamlit_server,
                                                  wait_for_app, artifacts):
    page = new_page(width=390, height=844, color_scheme=scheme)
    chart = _pareto(page, streamlit_server, wait_for_app)
    b = chart.evaluate(BOXES)
    assert b["plot"]["h"] >= 200 and b["plot"]["w"] >= 250, b  # still a chart
    assert not overlap(b["legend"], b["plot"]), b
    assert not overlap(b["title"], b["plot"]), b
    assert not overlap(b["legend"], b["title"]), b
    assert not overlap(b["legend"], b["xtitle"]), b
    fig = b["figure"]
    for part in ("legend", "title"):  # inside the figure, not cut off
        assert fig["y"] - 1 <= b[part]["y"] and b[part]["y"] + b[part]["h"] <= fig["y"] + fig["h"] + 1
    chart.screenshot(path=str(artifacts / f"charts_pareto_phone_{scheme}.png"))
    page.screenshot(path=str(artifacts / f"charts_compare_phone_{scheme}.png"))


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_compare_sections_are_tabs_and_each_is_short(width, height, new_page, streamlit_server,
                                                     wait_for_app, artifacts):
    from playwright.sync_api import expect

    page = new_page(width=width, height=height, color_scheme="dark")
    page.goto(streamlit_server + URL)
    wait_for_app(page)
    tabs = page.get_by_role("tab")
    assert [t.inner_text() for t in tabs.all()] == ["Every architecture", "Pareto view",
                                                    "As published", "A/B", "Devices"]
    longest = 0
    for name, shows in (("Every architecture", re.compile("Every architecture at")),
                        ("Pareto view", re.compile("the Pareto view")),
                        ("As published", re.compile("as published")),
                        ("A/B", re.compile("two configurations side by side")),
                        ("Devices", re.compile("on every device"))):
        page.get_by_role("tab", name=name).click()
        expect(page.get_by_role("heading", name=shows)).to_be_visible()
        page.wait_for_timeout(300)
        longest = max(longest, page.evaluate(
            "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight"))
        tag = "desktop" if width > 500 else "phone"
        slug = re.sub(r"[^a-z]+", "_", name.lower()).strip("_")
        page.screenshot(path=str(artifacts / f"charts_compare_{tag}_{slug}.png"))
    print(width, "longest tab", longest, "px")
    assert longest < (2200 if width > 500 else 3200), longest  # was one page of ~5,400 px


@pytest.mark.parametrize("scheme,width,height", [("light", 1280, 800), ("dark", 390, 844)])
def test_explore_scaling_lines_differ_and_legends_keep_off(scheme, width, height, new_page,
                                                          streamlit_server, wait_for_app,
                                                          artifacts):
    """Each line of the sweeps has its own (colour, dash) as rendered: the law dash-dot grey,
    counts solid, the top-1 estimate dashed, its extrapolation dotted (never two green dots)."""
    from playwright.sync_api import expect

    page = new_page(width=width, height=height, color_scheme=scheme)
    page.goto(f"{streamlit_server}/?arch=mobilenet_v1&alpha=0.75&rho=0.8571")
    wait_for_app(page)
    page.get_by_role("tab", name=re.compile("Scaling")).click()
    sweeps = page.locator(".js-plotly-plot").filter(has_text="top-1 % (est.)")
    expect(sweeps.first).to_be_visible()
    page.wait_for_timeout(500)
    for i in range(sweeps.count()):
        plot = sweeps.nth(i)
        plot.scroll_into_view_if_needed()
        lines = plot.evaluate("""(p) => {
          const names = [...p.querySelectorAll('.legend .traces .legendtext')].map(t => t.textContent);
          const css = (e, k) => getComputedStyle(e).getPropertyValue(k);
          return names.map(n => {
            const t = [...p.querySelectorAll('.legend .traces')].find(
              g => g.querySelector('.legendtext').textContent === n).querySelector('path.js-line');
            return t ? [n, css(t, 'stroke'), css(t, 'stroke-dasharray')] : null;
          }).filter(x => x);
        }""")
        looks = [(stroke, dash) for _, stroke, dash in lines]
        assert len(lines) >= 4 and len(set(looks)) == len(looks), lines
        b = plot.evaluate(BOXES)
        assert not overlap(b["legend"], b["plot"]) and not overlap(b["title"], b["plot"]), b
        assert not overlap(b["legend"], b["title"]), b
    page.screenshot(path=str(artifacts / f"charts_explore_scaling_{scheme}_{width}.png"))
