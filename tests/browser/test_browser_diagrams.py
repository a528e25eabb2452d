"""The Diagrams page in Debian's Chromium: every block type is drawn as an SVG by the browser
(st.graphviz_chart, Graphviz compiled to WASM) in the light and the dark theme, with the nodes and
shapes of the profile. Screenshots go to artifacts/diagrams/ for a human to look at."""

from __future__ import annotations

import re

import pytest

import lightviz
from lightviz.diagrams import dot as D

pytestmark = pytest.mark.browser

# (screenshot name, query, block, part to pick in "Show"): one of each block type.
CASES = [
    ("resnet_basic", "arch=resnet18", "conv3_x.0", None),
    ("resnet_bottleneck", "arch=resnet50", "conv3_x.0", None),
    ("mobilenet_v1_dsc", "arch=mobilenet_v1&alpha=0.75", "stage4.1", None),
    ("mobilenet_v2_inverted_residual", "arch=mobilenet_v2", "stage2.1", None),
    ("mobilenet_v2_stride2", "arch=mobilenet_v2&alpha=0.5", "stage3.0", None),
    ("shufflenet_v1_stride1", "arch=shufflenet_v1&groups=3", "stage3.1", None),
    ("shufflenet_v1_stride2", "arch=shufflenet_v1&groups=8", "stage3.0", None),
    ("shufflenet_v2_stride1", "arch=shufflenet_v2", "stage2.1", None),
    ("shufflenet_v2_stride2", "arch=shufflenet_v2&alpha=1.5", "stage3.0", None),
    ("ghost_bottleneck", "arch=ghostnet", "stage3.0", None),
    ("ghost_module", "arch=ghostnet", "stage3.0", "ghost1"),
]


def _cfg(query: str):
    kw = dict(p.split("=") for p in query.split("&"))
    return lightviz.make_config(kw.pop("arch"), float(kw.pop("alpha", 1.0)), groups=kw.pop("groups", None))


def _chart(page):
    """The visible graphviz chart of the open tab, once the browser has drawn its SVG."""
    loc = page.locator('[data-testid="stGraphVizChart"]:visible').first
    loc.locator("svg g.node").first.wait_for(state="visible")
    return loc


def _shoot(page, loc, path) -> None:
    """Screenshot of a whole element: Streamlit scrolls inside its own container, so make the
    viewport tall enough for the element first."""
    box = loc.bounding_box()
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": int(max(1000, box["y"] + box["height"] + 80))})
    loc.screenshot(path=str(path))
    page.set_viewport_size(size)


def _theme_is(page, dark: bool) -> None:
    rgb = page.evaluate("getComputedStyle(document.querySelector('[data-testid=\"stApp\"]'))"
                        ".backgroundColor")
    r, g, b = (int(v) for v in re.findall(r"\d+", rgb)[:3])
    assert (r + g + b < 3 * 80) == dark, rgb


# The dark theme for a subset (one per family), to keep the suite quick; every case draws with
# the same colours, and the light run covers them all.
DARK = ("resnet_bottleneck", "mobilenet_v2_inverted_residual", "shufflenet_v1_stride2",
        "shufflenet_v2_stride1", "ghost_bottleneck")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_block_type_is_drawn(streamlit_server, new_page, wait_for_app, artifacts, scheme):
    out = artifacts / "diagrams"
    out.mkdir(exist_ok=True)
    page = new_page(width=1400, height=1000, color_scheme=scheme)
    for name, query, block, part in CASES:
        if scheme == "dark" and name not in DARK:
            continue
        page.goto(f"{streamlit_server}/diagrams?{query}&block={block}")
        wait_for_app(page)
        _theme_is(page, scheme == "dark")
        if part:
            page.locator('[data-testid="stSelectbox"]').filter(has_text="Show").click()
            page.get_by_role("option", name=re.compile(rf"^{part}\b")).click()
            wait_for_app(page)
        chart = _chart(page)
        prof = lightviz.count(_cfg(query))
        text = D.block_dot(prof, block, part)
        want_nodes = len(re.findall(r"^\s+(?:n\d+|in|out) \[", text, flags=re.M))
        nodes = chart.locator("svg g.node")
        for _ in range(100):  # the SVG is drawn (and redrawn) asynchronously by d3-graphviz
            if nodes.count() == want_nodes:
                break
            page.wait_for_timeout(100)
        assert nodes.count() == want_nodes, (name, nodes.count(), want_nodes)
        svg_text = chart.inner_text()
        rows = prof.layers[prof.layers["block"] == block]
        if part:
            rows = rows[rows["op_name"].str.startswith(part + ".")]
        for shape in set(rows["out_shape"]):  # every tensor of the block is on the picture
            assert shape in svg_text, (name, shape)
        assert page.locator('[data-testid="stException"]').count() == 0
        _shoot(page, chart, out / f"{name}-{scheme}.png")
        if name == "ghost_bottleneck" and scheme == "light":  # take it away for slides
            for label, start in (("Download DOT", 'digraph "stage3.0"'), ("Download SVG", "<?xml")):
                with page.expect_download() as info:
                    page.get_by_role("button", name=label).click()
                body = open(info.value.path(), encoding="utf-8").read()
                assert body.startswith(start) and "24x56x56" in body, label


def test_overview_shuffle_and_calculator(streamlit_server, new_page, wait_for_app, artifacts):
    out = artifacts / "diagrams"
    out.mkdir(exist_ok=True)
    for scheme in ("light", "dark"):
        page = new_page(width=1400, height=1000, color_scheme=scheme)
        page.goto(f"{streamlit_server}/diagrams?arch=shufflenet_v1&groups=3")
        wait_for_app(page)
        page.get_by_role("tab", name="Whole network").click()
        chart = _chart(page)
        assert "stage3.1-7 · ShuffleUnit × 7" in chart.inner_text()
        _shoot(page, chart, out / f"overview_shufflenet_v1-{scheme}.png")
        page.get_by_role("tab", name="Channel shuffle").click()
        chart = _chart(page)
        assert "channel shuffle, g = 3" in chart.inner_text()
        _shoot(page, chart, out / f"channel_shuffle_g3-{scheme}.png")
        if scheme == "dark":  # the calculator has no diagram colours: the light run is enough
            continue
        from playwright.sync_api import expect

        page.get_by_role("tab", name="Depthwise separable calculator").click()
        page.get_by_role("button", name=re.compile("Table 3 example")).click()
        panel = page.locator('[data-testid="stTabPanel"]:visible').first
        metrics = panel.locator('[data-testid="stMetric"]')
        expect(metrics.nth(1)).to_contain_text("15.1 M")  # Table 3: alpha 0.75, rho 0.714
        expect(metrics.nth(3)).to_contain_text("151 K")
        wait_for_app(page)
        assert "M' = 384, N' = 384, D_F' = 10" in panel.inner_text()
        assert page.locator(".katex").count() >= 4  # the formulas are typeset
        assert page.locator('[data-testid="stException"]').count() == 0
        _shoot(page, panel, out / f"calculator-{scheme}.png")
