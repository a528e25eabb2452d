"""The Design page (issue 12) in Streamlit's AppTest: edit a cell and the counts change; the
address bar then holds the edited table, and opening that link reproduces the network on every
page; a malformed table in a link gives a notice and the paper's table."""

from __future__ import annotations

import json

import pytest
from test_app import assert_clean, exact_numbers, run_app

import lightviz
from lightviz.config import thaw
from lightviz.views.design import editor_key
from lightviz.zoo import REGISTRY
from lightviz.zoo.table import decode_url

EDIT_T = {"edited_rows": {1: {"t": 1}}, "added_rows": [], "deleted_rows": []}


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def exact_design(at) -> tuple:
    """(params, MACs) as the Design page prints them exactly."""
    import re

    for c in at.caption:
        m = re.search(r"Exact: \*\*([\d,]+)\*\* params \u00b7 \*\*([\d,]+)\*\* MACs", c.value)
        if m:
            return tuple(int(x.replace(",", "")) for x in m.groups())
    raise AssertionError([c.value for c in at.caption])


@pytest.mark.parametrize("arch", list(REGISTRY.builtin))
def test_design_page_opens_with_the_papers_table(arch):
    at = run_app({"arch": arch}, page="design")
    assert_clean(at)
    editor = at.data_editor[0]
    groups = REGISTRY[arch].pick("groups")
    assert editor.key == editor_key(arch, groups)
    cfg = lightviz.make_config(arch, groups=groups)
    rows, _ = REGISTRY[arch].table.rows(REGISTRY[arch].table.default(cfg))
    assert len(editor.value) == len(rows)
    p = lightviz.profile(arch, groups=groups)
    assert exact_design(at) == (p.params, p.macs)
    assert metrics(at)["Top-1 (estimate)"] != "none" and "settings" not in at.query_params


def test_edit_a_cell_counts_change_and_a_shared_link_reproduces_it():
    at = run_app({"arch": "mobilenet_v2", "alpha": "0.5"}, page="design")
    before = exact_design(at)
    at.session_state[editor_key("mobilenet_v2", None)] = EDIT_T  # row 2: t 6 -> 1
    at.run()
    assert_clean(at)
    settings = {"layers": [[1, 16, 1, 1], [1, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                           [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]}
    p = lightviz.profile("mobilenet_v2", 0.5, settings=settings)
    after = exact_design(at)
    assert after == (p.params, p.macs) and after != before
    assert metrics(at)["Top-1 (estimate)"] == "none"
    assert any("layers row 2: t 6 \u2192 1" in m.value for m in at.markdown)
    link = {k: at.query_params[k] for k in at.query_params}
    assert link["settings"].startswith("v1.") and decode_url(link["settings"]) == settings
    assert len(link["settings"]) < 200

    # a teacher shares the link: a fresh session reproduces the edited network ...
    shared = run_app(link, page="design")
    assert_clean(shared)
    assert exact_design(shared) == after and metrics(shared)["Top-1 (estimate)"] == "none"
    assert not shared.warning  # no notice: the link is valid
    # ... on Explore too, with the CLI line carrying the table
    explore = run_app(link, page="explore")
    assert_clean(explore)
    assert exact_numbers(explore)[:2] == (p.params, p.macs)
    line = next(m.value for m in explore.markdown if "lightviz profile" in m.value)
    assert "--settings '" in line
    given = json.loads(line.split("--settings '")[1].split("'")[0])
    assert lightviz.profile("mobilenet_v2", 0.5, settings=given).macs == p.macs


def test_an_invalid_cell_is_named_beside_the_table_and_the_last_valid_network_stays():
    at = run_app({"arch": "ghostnet"}, page="design")
    key = editor_key("ghostnet", None)
    at.session_state[key] = {"edited_rows": {2: {"se": 0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    valid = exact_design(at)
    at.session_state[key] = {"edited_rows": {2: {"se": 0, "k": 4}}, "added_rows": [],
                             "deleted_rows": []}
    at.run()
    assert_clean_but_error = [e.value for e in at.error]
    assert len(assert_clean_but_error) == 1 and not at.exception
    assert "**row 3 \u00b7 k**: layers stage 2 row 2 k 4 is not allowed" in assert_clean_but_error[0]
    assert exact_design(at) == valid


def test_added_and_deleted_rows_and_empty_cells():
    at = run_app({"arch": "mobilenet_v1"}, page="design")
    key = editor_key("mobilenet_v1", None)
    at.session_state[key] = {"edited_rows": {}, "added_rows": [{"c": 2048, "s": 1}],
                             "deleted_rows": [0]}
    at.run()
    assert_clean(at)
    layers = thaw(at.session_state["settings"])["layers"]
    assert layers[-1] == [2048, 1] and layers[0] == [128, 2] and len(layers) == 13
    at.session_state[key] = {"edited_rows": {}, "added_rows": [{"s": 1}], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert any("c is empty" in e.value for e in at.error)


def test_reset_brings_the_papers_table_back():
    at = run_app({"arch": "resnet18"}, page="design")
    at.session_state[editor_key("resnet18", None)] = {
        "edited_rows": {2: {"layers": 4}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert "settings" in at.query_params
    at.button(key="design_reset_button").click().run()
    assert_clean(at)
    assert "settings" not in at.query_params
    p = lightviz.profile("resnet18")
    assert exact_design(at) == (p.params, p.macs)


@pytest.mark.parametrize("raw", ["v1.!!!", "v2.e30", "garbage", "v1." + "QQ" * 10000,
                                 "v1.eyJsYXllcnMiOltbMSwxNiwxLDNdXX0"])  # last: stride 3
def test_a_malformed_table_in_a_link_gives_a_notice_and_the_papers_table(raw):
    at = run_app({"arch": "mobilenet_v2", "settings": raw}, page="design")
    assert not at.exception and not at.error
    assert any("settings" in w.value and "using the paper's table" in w.value for w in at.warning)
    p = lightviz.profile("mobilenet_v2")
    assert exact_design(at) == (p.params, p.macs)
    assert "settings" not in at.query_params


def test_another_architecture_starts_from_its_papers_table():
    at = run_app({"arch": "resnet18"}, page="design")
    at.session_state[editor_key("resnet18", None)] = {
        "edited_rows": {0: {"layers": 3}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.selectbox(key="arch").set_value("resnet50").run()
    assert_clean(at)
    p = lightviz.profile("resnet50")
    assert exact_design(at) == (p.params, p.macs) and "settings" not in at.query_params


@pytest.mark.parametrize("page", ["explore", "compare", "paper", "diagrams", "latency"])
def test_every_page_opens_with_an_edited_table_in_the_link(page):
    link = {"arch": "ghostnet", "alpha": "0.5",
            "settings": "v1." + __import__("base64").urlsafe_b64encode(json.dumps(
                {"layers": [[[3, 16, 16, 0, 1]], [[3, 48, 24, 0, 2], [3, 72, 24, 0, 1]],
                            [[5, 72, 40, 0, 2]]]}).encode()).decode().rstrip("=")}
    at = run_app(link, page=page)
    assert_clean(at)
    assert not at.warning
    assert decode_url(at.query_params["settings"]) == decode_url(link["settings"])
    if page == "explore":
        p = lightviz.profile("ghostnet", 0.5, settings=decode_url(link["settings"]))
        assert exact_numbers(at)[:2] == (p.params, p.macs)


def test_the_compare_link_puts_the_edit_against_the_papers_table():
    from urllib.parse import parse_qs, urlparse

    at = run_app({"arch": "resnet18"}, page="design")
    at.session_state[editor_key("resnet18", None)] = {
        "edited_rows": {2: {"layers": 4}}, "added_rows": [], "deleted_rows": []}
    at.run()
    link = next(m.value for m in at.markdown if "./compare?" in m.value)
    url = link.split("](")[1].split(")")[0]
    query = {k: v[-1] for k, v in parse_qs(urlparse(url).query).items()}
    compare = run_app(query, page="compare")
    assert_clean(compare)
    assert not compare.warning
    values = [m.value for m in compare.metric]
    mine = lightviz.profile("resnet18", settings={"layers": [2, 2, 4, 2]})
    paper = lightviz.profile("resnet18")
    assert any(f"\u00d7{paper.macs / mine.macs:.2f} of A" in m.delta for m in compare.metric
               if m.delta), values


def test_an_alpha_that_refuses_the_table_falls_back_to_the_papers_and_says_why():
    """ShuffleNet v1 g=8 widths 64/128/192 are valid at 1x; at 0.25 stage 2 and 3 both round
    to 32: the page names the cell, the counts are the paper's, and 1x brings the edit back."""
    at = run_app({"arch": "shufflenet_v1", "groups": "8"}, page="design")
    key = editor_key("shufflenet_v1", 8)
    at.session_state[key] = {"edited_rows": {0: {"widths": 64}, 1: {"widths": 128},
                                             2: {"widths": 192}},
                             "added_rows": [], "deleted_rows": []}
    at.run()
    edited = exact_design(at)
    assert "settings" in at.query_params
    at.slider(key="alpha").set_value(0.25).run()
    assert not at.exception
    assert "the counts show the paper's table" in at.error[0].value
    assert "widths stage3 128 (at alpha 0.25: 32) must be wider than stage2 (32)" in at.error[0].value
    p = lightviz.profile("shufflenet_v1", 0.25, groups=8)
    assert exact_design(at) == (p.params, p.macs) and "settings" not in at.query_params
    at.slider(key="alpha").set_value(1.0).run()
    assert_clean(at)
    assert exact_design(at) == edited and "settings" in at.query_params
