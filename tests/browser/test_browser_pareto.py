"""The Pareto view in a real browser: clicking a point of the chart opens that configuration
(the sidebar and the URL follow). Screenshots go to artifacts/."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.browser


def query(page) -> dict:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def test_clicking_a_pareto_point_sets_the_configuration(page, streamlit_server, wait_for_app,
                                                        artifacts):
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/compare?arch=mobilenet_v2&alpha=0.75&rho=1")
    wait_for_app(page)
    page.get_by_role("tab", name="Pareto view").click()  # Compare's sections are tabs
    chart = page.locator(".js-plotly-plot").filter(has_text="Estimated top-1 against")
    expect(chart).to_be_visible()
    chart.scroll_into_view_if_needed()
    chart.screenshot(path=str(artifacts / "pareto_before_click.png"))
    # the first trace is ResNet-18, whose one published point (alpha 1, 224 px) is its only dot
    point = chart.locator(".scatterlayer .trace").first.locator("path.point").first
    expect(point).to_be_attached()
    box = point.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)  # plotly's drag layer wants a hover before the press
    page.wait_for_timeout(300)
    page.mouse.down()
    page.mouse.up()
    page.wait_for_function("window.location.search.includes('arch=resnet18')", timeout=30_000)
    wait_for_app(page)
    expect(chart).to_be_visible()  # the Pareto tab stays open through the rerun
    # the A/B section names the sidebar's configuration
    page.get_by_role("tab", name="A/B").click()
    expect(page.get_by_test_id("stMarkdown").filter(
        has_text="configuration: ResNet-18 \u03b1 1 \u00b7 224 px")).to_be_visible()
    q = query(page)
    assert q["arch"] == "resnet18" and float(q["alpha"]) == 1.0 and float(q["rho"]) == 1.0
    page.get_by_role("tab", name="Every architecture").click()
    expect(page.get_by_role("heading", name=re.compile(r"Every architecture at \u03b1 1"))
           ).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
    page.screenshot(path=str(artifacts / "pareto_after_click.png"), full_page=True)


def test_explore_sweeps_draw_top1(page, streamlit_server, wait_for_app, artifacts):
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/?arch=mobilenet_v1&alpha=0.75&rho=0.8571")
    wait_for_app(page)
    card = page.get_by_test_id("stMetric").filter(has_text="Top-1 (estimate)")
    expect(card.get_by_test_id("stMetricValue")).to_have_text("67.2 %")
    page.get_by_role("tab", name=re.compile("Scaling")).click()
    wait_for_app(page)
    sweeps = page.locator(".js-plotly-plot").filter(has_text="top-1 % (est.)")
    # Both sweeps (α and ρ) render; the second may draw a moment after the first.
    expect(sweeps).to_have_count(2)
    sweeps.first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "explore_sweeps_top1.png"))
