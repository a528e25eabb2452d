"""The app in a real browser: Debian's Chromium (Playwright) against a real `streamlit run app.py`
server started by the test session (fixtures in conftest.py). Screenshots go to artifacts/."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from lightviz.views import fmt_count

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def cli(*args) -> str:
    return subprocess.run([sys.executable, "-m", "lightviz.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def metric(page, label: str):
    """The value element of the metric card whose label is ``label``."""
    card = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return card.get_by_test_id("stMetricValue")


def query(page) -> dict:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def plotly_bars(page) -> int:
    """How many bars the plotly charts on the page have drawn (SVG paths in bar layers)."""
    return page.locator(".js-plotly-plot .barlayer path").count()


def no_traceback(page) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert "Traceback" not in page.inner_text("body")


def test_shared_url_keyboard_slider_numbers_and_chart(page, streamlit_server, wait_for_app,
                                                      artifacts):
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/?arch=mobilenet_v1&alpha=0.5&rho=0.7143")
    wait_for_app(page)
    macs = metric(page, "MACs")
    start = json.loads(cli("profile", "mobilenet_v1", "--alpha", "0.5", "--rho", "0.7143",
                           "--format", "json"))
    expect(macs).to_have_text(fmt_count(start["macs"]))
    expect(page.get_by_role("heading", name=re.compile("MobileNet v1"))).to_be_visible()

    slider = page.get_by_test_id("stSlider").filter(has_text="Width multiplier").get_by_role(
        "slider")
    slider.focus()
    for _ in range(3):  # 0.50 -> 0.65 in steps of 0.05
        page.keyboard.press("ArrowRight")
    after = json.loads(cli("profile", "mobilenet_v1", "--alpha", "0.65", "--rho", "0.7143",
                           "--format", "json"))
    expect(macs).to_have_text(fmt_count(after["macs"]), timeout=30_000)
    expect(metric(page, "Params")).to_have_text(fmt_count(after["params"]))
    wait_for_app(page)
    assert query(page)["alpha"] == "0.65" and query(page)["arch"] == "mobilenet_v1"

    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible()
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .barlayer path').length > 10")
    assert plotly_bars(page) > 10
    no_traceback(page)
    page.screenshot(path=str(artifacts / "explore_keyboard_light.png"), full_page=True)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_readable_in_both_themes_and_on_a_phone(new_page, streamlit_server, wait_for_app,
                                                artifacts, scheme):
    from playwright.sync_api import expect

    url = f"{streamlit_server}/?arch=mobilenet_v2&alpha=0.75&rho=0.5714"
    for name, width, height in (("desktop", 1280, 1000), ("phone", 390, 844)):
        page = new_page(width=width, height=height, color_scheme=scheme)
        page.goto(url)
        wait_for_app(page)
        expect(metric(page, "Params")).to_be_visible()
        page.wait_for_function(
            "document.querySelectorAll('.js-plotly-plot .barlayer path').length > 10")
        # the theme follows the viewer's preference
        bg = page.evaluate("getComputedStyle(document.querySelector('.stApp')).backgroundColor")
        level = sum(int(c) for c in re.findall(r"\d+", bg)[:3]) / 3
        assert (level < 80) if scheme == "dark" else (level > 200), bg
        # text is dark on light and light on dark
        fg = page.evaluate("getComputedStyle(document.querySelector("
                           "'[data-testid=\"stMetricValue\"]')).color")
        fg_level = sum(int(c) for c in re.findall(r"\d+", fg)[:3]) / 3
        assert abs(fg_level - level) > 120, (fg, bg)
        # nothing wider than the window on a phone
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, overflow
        no_traceback(page)
        page.screenshot(path=str(artifacts / f"explore_{name}_{scheme}.png"), full_page=True)
        # the app scrolls inside its main area, so a second picture shows the chart
        page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"explore_{name}_{scheme}_chart.png"))


def test_pages_keep_the_configuration_in_the_url(page, streamlit_server, wait_for_app,
                                                 artifacts):
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/?arch=resnet18&alpha=0.5")
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").get_by_text("Compare", exact=True).click()
    expect(page.get_by_role("heading", name="Compare", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile("Every architecture at \u03b1 0.5"))).to_be_visible()
    wait_for_app(page)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3")
    assert query(page)["arch"] == "resnet18" and query(page)["alpha"] == "0.5"
    assert urlparse(page.url).path.endswith("/compare")
    no_traceback(page)
    page.screenshot(path=str(artifacts / "compare.png"), full_page=True)

    page.get_by_test_id("stSidebarNav").get_by_text("Paper check", exact=True).click()
    expect(page.get_by_role("heading", name="Paper check")).to_be_visible()
    wait_for_app(page)
    expect(page.get_by_text("Why the numbers differ")).to_be_visible()
    assert query(page)["arch"] == "resnet18"
    no_traceback(page)
    page.screenshot(path=str(artifacts / "paper_check.png"), full_page=True)

    page.get_by_test_id("stSidebarNav").get_by_text("Explore", exact=True).click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name=re.compile("ResNet-18 \u03b1 0.5 \u00b7"))
           ).to_be_visible()


def test_csv_download_equals_the_cli(page, streamlit_server, wait_for_app, tmp_path):
    page.goto(f"{streamlit_server}/?arch=shufflenet_v1&groups=8&alpha=0.5")
    wait_for_app(page)
    page.get_by_role("tab", name="Layer table").click()
    button = page.get_by_role("button", name=re.compile("Download CSV"))
    button.wait_for()
    with page.expect_download() as info:
        button.click()
    path = tmp_path / "layers.csv"
    info.value.save_as(path)
    assert path.read_text() == cli("profile", "shufflenet_v1", "--groups", "8", "--alpha", "0.5",
                                   "--format", "csv")


def test_malformed_url_shows_a_notice(page, streamlit_server, wait_for_app, artifacts):
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/?arch=%F0%9F%98%80&alpha=nan&rho=1e999&alpha=7")
    wait_for_app(page)
    alert = page.get_by_test_id("stAlert").filter(has_text="could not be used")
    expect(alert).to_be_visible()
    text = alert.inner_text()
    assert "unknown architecture" in text and "alpha was given 2 times" in text
    expect(metric(page, "Params")).to_be_visible()
    no_traceback(page)
    # 1e999 is a number, only too large for a float: it clamps to the largest input like any
    # other value out of range
    assert query(page) == {"arch": "mobilenet_v2", "alpha": "2", "rho": "2.2857"}
    page.screenshot(path=str(artifacts / "malformed_url.png"), full_page=True)
