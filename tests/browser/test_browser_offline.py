"""No request leaves the host: a classroom or a Jetson without internet gets complete pages.

Every request the browser makes while it opens each page (and clicks through its tabs) is
recorded; any to a host other than the test server's fails the test, naming the URLs."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

PAGES = ("", "compare", "diagrams", "latency", "paper")


def test_every_page_loads_from_the_server_alone(new_page, streamlit_server, wait_for_app):
    page = new_page(1280, 900)
    server = urlparse(streamlit_server).netloc
    elsewhere = []

    def record(request):
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != server:
            elsewhere.append(request.url)

    page.on("request", record)
    for path in PAGES:
        page.goto(f"{streamlit_server}/{path}")
        wait_for_app(page)
        for tab in page.get_by_role("tab").all():  # lazy tabs load their charts when opened
            tab.click()
            wait_for_app(page)
        page.wait_for_load_state("networkidle")
    assert not elsewhere, f"requests left the host: {sorted(set(elsewhere))}"
