"""Compare's Devices tab in a real browser (issue 22): the sidebar's configuration on every device
that can say something about it, chosen from the sidebar's "Latency on", at desktop and phone
size. Screenshots go to artifacts/."""

from __future__ import annotations

from urllib.parse import quote

import pytest

pytestmark = pytest.mark.browser

P3 = "Pixel 3 (TFLite CPU, 4 threads)"
URL = f"/compare?arch=mobilenet_v1&alpha=0.75&rho=0.7143&dtype=int8&on={quote(P3)}"


@pytest.mark.parametrize("width,height,name", [(1280, 800, "desktop"), (390, 844, "phone")])
def test_compare_device_view(width, height, name, new_page, streamlit_server, wait_for_app, artifacts):
    from playwright.sync_api import expect

    page = new_page(width=width, height=height)
    page.goto(streamlit_server + URL)
    wait_for_app(page)
    page.get_by_role("tab", name="Devices").click()
    expect(page.get_by_role("heading", name="This configuration on every device")).to_be_visible()
    grid = page.get_by_test_id("stTable").filter(has_text="precision")
    expect(grid).to_be_visible()
    grid.scroll_into_view_if_needed()
    text = grid.inner_text()
    for want in (P3, "TFLite CPU", "int8", "4.70", "published", "[1]"):
        assert want in text, (want, text[:500])
    expect(page.get_by_text("[1] TFLite hosted_models.md")).to_be_visible()  # the source, numbered
    assert "this host" not in text  # not calibrated here: it says nothing, so it is not listed
    expect(page.get_by_text("say nothing about this configuration")).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
    page.screenshot(path=str(artifacts / f"compare_devices_{name}.png"), full_page=True)


def test_explore_card_names_the_device_and_its_status(new_page, streamlit_server, wait_for_app, artifacts):
    from playwright.sync_api import expect

    page = new_page(width=1280, height=900)
    page.goto(streamlit_server + f"/?arch=mobilenet_v1&alpha=0.75&rho=0.7143&on={quote(P3)}")
    wait_for_app(page)
    card = page.get_by_test_id("stMetric").filter(has_text="Latency on")
    expect(card.get_by_test_id("stMetricValue")).to_have_text("8.20 ms")
    assert "published" in card.inner_text() and "Pixel 3" in card.inner_text()
    expect(page.get_by_text("TFLite CPU \u00b7 fp32").first).to_be_visible()  # the caption's label
    page.screenshot(path=str(artifacts / "explore_latency_on.png"))
