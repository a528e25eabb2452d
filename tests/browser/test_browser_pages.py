"""Every page path the README documents opens its page in a real browser: `/explore` as well as
`/` (Streamlit serves a default page at the root only; app.py gives it a hidden twin), and the
sidebar lists each page once, as the README's table does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]

# The heading each page opens with (at the default configuration, MobileNet v2 at alpha 1).
HEADINGS = {
    "Explore": re.compile(r"^MobileNet v2 \u03b1 1 \u00b7 224 px$"),
    "Compare": re.compile(r"^Compare$"),
    "Paper check": re.compile(r"^Paper check$"),
    "Diagrams": re.compile(r"^Block diagrams$"),
    "Latency": re.compile(r"^Latency$"),
    "Design": re.compile(r"^Design your own"),
}


def documented_paths() -> list[tuple[str, str]]:
    """(page, path) for every path in the README's table of pages (| page | path | ... |)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = re.search(r"^\| page \| path \|.*\n\|[- |]+\|\n((?:\|.*\n)+)", text, re.M)
    assert table, "README.md has no table of pages (| page | path | what it is for |)"
    rows = []
    for line in table.group(1).splitlines():
        name, paths = (cell.strip() for cell in line.strip("|").split("|")[:2])
        rows += [(name, path) for path in re.findall(r"`(/[^`]*)`", paths)]
    return rows


def test_the_readme_documents_every_page():
    rows = documented_paths()
    assert {name for name, _ in rows} == set(HEADINGS)
    assert ("Explore", "/") in rows and ("Explore", "/explore") in rows


def test_every_documented_path_opens_its_page(new_page, streamlit_server, wait_for_app):
    from playwright.sync_api import expect

    page = new_page(1280, 900)
    for name, path in documented_paths():
        page.goto(streamlit_server + path)
        wait_for_app(page)
        expect(page.get_by_role("heading", level=2, name=HEADINGS[name]).first).to_be_visible()
        assert "Page not found" not in page.inner_text("body"), path
        assert page.get_by_test_id("stException").count() == 0, path
        # the configuration lands in the address bar on every path
        assert "arch=mobilenet_v2" in page.url, (path, page.url)
        if name == "Explore":  # one sidebar entry, whichever path opened it
            entries = page.get_by_test_id("stSidebarNav").get_by_text("Explore", exact=True)
            expect(entries).to_have_count(1)


def test_explore_keeps_its_path_and_the_link(page, streamlit_server, wait_for_app):
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/explore?arch=ghostnet&alpha=0.5")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=re.compile(r"^GhostNet \u03b1 0.5 \u00b7 224 px$"))
           ).to_be_visible()
    assert "/explore?" in page.url and "arch=ghostnet" in page.url
    assert "Page not found" not in page.inner_text("body")
