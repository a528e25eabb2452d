"""The app, run in-process by Streamlit's AppTest: every architecture and page renders, the shown
numbers equal the CLI's, the URL round-trips, and malformed URLs give a notice, not a traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from lightviz import ARCHS, make_config
from lightviz.config import PRECISIONS
from lightviz.state import (
    ALPHA_STOPS,
    PARAMS,
    RHO_STOPS,
    AppState,
    nearest,
    parse_query,
)
from lightviz.views import fmt_count
from lightviz.views.explore import TABS
from lightviz.zoo.shufflenet_v1 import GROUPS as SHUFFLENET_V1_GROUPS

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 60  # seconds per run: generous, the machine is shared
RESOLUTION_128 = RHO_STOPS.index(0.5714)  # the rho stop of a 128 px input
EXACT = re.compile(r"\*\*([\d,]+)\*\* params \u00b7 \*\*([\d,]+)\*\* MACs \u00b7 "
                   r"\*\*([\d,]+)\*\* FLOPs")


def run_app(query=None, page: str = "") -> AppTest:
    """The app after its first run with these query parameters, on ``page`` (a url path)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    if page:
        # st.Page(callable, url_path=...) is identified by the hash of its url path; AppTest's
        # switch_page() only takes files, so select the page the way a URL path would.
        at._page_hash = calc_hash(page)
    return at.run()


def assert_clean(at: AppTest) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def exact_numbers(at: AppTest) -> tuple:
    """(params, MACs, FLOPs) as the Explore page prints them exactly."""
    for c in at.caption:
        m = EXACT.search(c.value)
        if m:
            return tuple(int(g.replace(",", "")) for g in m.groups())
    raise AssertionError("no 'Exact:' caption on the page")


def cli_profile(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "lightviz.cli", "profile", *args, "--format",
                          "json"], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def notices(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


# ----------------------------------------------------------------------------- rendering

@pytest.mark.parametrize("arch", ARCHS)
def test_every_architecture_renders(arch):
    at = run_app({"arch": arch})
    assert_clean(at)
    assert not at.warning
    labels = [m.label for m in at.metric]
    # first row: what it costs and how accurate (latency joins them once calibrated)
    assert labels[:3] == ["Params", "MACs", "Top-1 (estimate)"]
    assert labels[3:] == ["FLOPs", "Peak activations", "Weights fp32", "Deployment peak fp32"]
    assert at.get("plotly_chart"), "the per-layer chart is drawn"
    p = cli_profile(arch)
    assert exact_numbers(at) == (p["params"], p["macs"], p["flops"])


@pytest.mark.parametrize("query", [
    {"arch": "shufflenet_v1", "groups": "8", "alpha": "0.5", "rho": "0.5714"},
    {"arch": "ghostnet", "alpha": "1.3", "unit": "flops", "elementwise": "1"},
    {"arch": "resnet18", "alpha": "0.25", "rho": "0.1429", "classes": "10"},
])
def test_every_explore_tab_renders(query):
    at = run_app(query)
    for tab in TABS:
        at.session_state["explore_tab"] = tab
        at.run()
        assert_clean(at)
        assert at.get("plotly_chart") or at.dataframe, tab
    # the table's filters and grouping. AppTest does not report the open tab back with the
    # other widgets, so each run names it again (a browser does this by itself).
    def run_on_table():
        at.session_state["explore_tab"] = TABS[-1]
        at.run()

    run_on_table()
    at.multiselect(key="table_kinds").set_value(["pointwise conv"])
    run_on_table()
    assert set(at.dataframe[0].value["kind"]) == {"pointwise conv"}
    for by in ("block", "stage", "kind"):
        at.selectbox(key="table_group").set_value(by)
        run_on_table()
        assert_clean(at)
        assert by in at.dataframe[0].value.columns
    assert len(at.get("download_button")) == 2


@pytest.mark.parametrize("page", ["compare", "paper"])
@pytest.mark.parametrize("query", [
    {"arch": "mobilenet_v2"},
    {"arch": "shufflenet_v1", "groups": "2", "alpha": "0.75", "rho": "1.4286"},
    {"arch": "resnet50", "alpha": "0.5", "classes": "100", "unit": "flops"},
])
def test_other_pages_render(page, query):
    at = run_app(query, page)
    assert_clean(at)
    assert at.dataframe
    if page == "paper":
        at.toggle(key="paper_only_arch").set_value(True).run()
        assert_clean(at)


def test_compare_ab_across_families_and_its_url():
    at = run_app({"arch": "mobilenet_v2", "b_arch": "resnet18", "b_alpha": "0.5"}, "compare")
    assert_clean(at)
    assert at.selectbox(key="b_arch").value == "resnet18"
    assert at.slider(key="b_alpha").value == 0.5
    assert at.query_params["b_arch"] == "resnet18"
    # different stage names: rows are aligned by feature-map scale
    table = at.dataframe[-1].value
    assert list(table.columns)[0] == "scale"
    assert table["scale"].iloc[0] == "stem" and table["scale"].iloc[-1] == "head"
    at.selectbox(key="b_arch").set_value("mobilenet_v2").run()
    assert_clean(at)
    assert list(at.dataframe[-1].value.columns)[0] == "stage"
    assert at.query_params["b_arch"] == "mobilenet_v2"


def test_compare_b_with_a_bad_url_value_gives_a_notice():
    at = run_app({"b_alpha": "nan", "b_arch": "resnet99"}, "compare")
    assert_clean(at)
    text = notices(at)
    assert "b_alpha" in text and "b_arch" in text


# ----------------------------------------------------------------------------- numbers = CLI

def test_slider_change_shows_the_cli_numbers():
    at = run_app({"arch": "mobilenet_v2"})
    before = exact_numbers(at)
    at.slider(key="alpha").set_value(0.35).run()
    at.select_slider(key="rho").set_value(RHO_STOPS[RESOLUTION_128]).run()
    assert_clean(at)
    p = cli_profile("mobilenet_v2", "--alpha", "0.35", "--rho", str(RHO_STOPS[RESOLUTION_128]))
    assert p["resolution"] == 128
    shown = exact_numbers(at)
    assert shown != before
    assert shown == (p["params"], p["macs"], p["flops"])
    metric = {m.label: m.value for m in at.metric}
    assert metric["Params"] == fmt_count(p["params"]) == "1.68 M"
    assert metric["MACs"] == fmt_count(p["macs"])
    assert at.query_params["alpha"] == "0.35" and at.query_params["rho"] == "0.5714"



def test_groups_and_counting_options_show_the_cli_numbers():
    at = run_app({"arch": "shufflenet_v1"})
    assert at.get("button_group")[0].value == 3  # the default groups
    at.get("button_group")[0].set_value(8).run()
    at.toggle(key="elementwise").set_value(True).run()
    at.radio(key="unit").set_value("flops").run()
    assert_clean(at)
    p = cli_profile("shufflenet_v1", "--groups", "8", "--elementwise")
    assert exact_numbers(at) == (p["params"], p["macs"], p["flops"])
    assert at.query_params["groups"] == "8"
    assert at.query_params["elementwise"] == "1" and at.query_params["unit"] == "flops"


def test_arch_change_drops_groups_from_the_url():
    at = run_app({"arch": "shufflenet_v1", "groups": "4"})
    assert at.query_params["groups"] == "4"
    at.selectbox(key="arch").set_value("ghostnet").run()
    assert_clean(at)
    assert "groups" not in at.query_params
    p = cli_profile("ghostnet")
    assert exact_numbers(at)[:2] == (p["params"], p["macs"])


# ----------------------------------------------------------------------------- the URL

def test_query_params_round_trip():
    query = {"arch": "shufflenet_v1", "alpha": "0.5", "rho": "0.7143", "groups": "8",
             "classes": "10", "unit": "flops", "elementwise": "1", "dtype": "int8"}
    at = run_app(query)
    assert_clean(at)
    assert not at.warning
    assert {k: at.query_params[k] for k in query} == query
    assert at.selectbox(key="arch").value == "shufflenet_v1"
    assert at.slider(key="alpha").value == 0.5
    assert at.select_slider(key="rho").value == 0.7143
    assert at.number_input(key="classes").value == 10
    assert at.segmented_control(key="dtype").value == "int8"
    p = cli_profile("shufflenet_v1", "--alpha", "0.5", "--rho", "0.7143", "--groups", "8",
                    "--classes", "10", "--elementwise")
    assert exact_numbers(at) == (p["params"], p["macs"], p["flops"])
    # a link made from this URL opens the same state
    again = run_app(dict(at.query_params))
    assert exact_numbers(again) == exact_numbers(at)
    assert dict(again.query_params) == dict(at.query_params)


def test_defaults_are_written_into_the_url():
    at = run_app()
    assert_clean(at)
    assert dict(at.query_params) == {"arch": "mobilenet_v2", "alpha": "1", "rho": "1"}


def test_resolution_param_like_the_cli():
    at = run_app({"arch": "mobilenet_v1", "resolution": "160"})
    assert_clean(at)
    assert not at.warning
    assert at.query_params["rho"] == "0.7143" and "resolution" not in at.query_params
    p = cli_profile("mobilenet_v1", "--resolution", "160")
    assert exact_numbers(at)[:2] == (p["params"], p["macs"])


def test_other_pages_params_are_left_alone():
    at = run_app({"arch": "resnet18", "block": "stage2.0"})
    assert_clean(at)
    assert at.query_params["block"] == "stage2.0"


MALFORMED = [
    ({"alpha": "nan"}, "alpha", "alpha must be a finite number", {"alpha": "1"}),
    ({"alpha": "NaN"}, "alpha", "finite number", {"alpha": "1"}),
    ({"alpha": "inf"}, "alpha", "finite number", {"alpha": "1"}),
    ({"rho": "-inf"}, "rho", "finite number", {"rho": "1"}),
    ({"alpha": "1e308"}, "alpha", "out of range", {"alpha": "2"}),
    ({"alpha": "-0.5"}, "alpha", "out of range", {"alpha": "0.25"}),
    ({"rho": "1e9"}, "rho", "out of range", {"rho": "2.2857"}),
    ({"rho": "-1"}, "rho", "out of range", {"rho": "0.1429"}),
    ({"rho": "0.3"}, "rho", "between the slider", {"rho": "0.2857"}),
    ({"alpha": "0.33"}, "alpha", "between the slider", {"alpha": "0.35"}),
    ({"classes": "1e12"}, "classes", "out of range", {"classes": "100000"}),
    ({"classes": "-3"}, "classes", "out of range", {"classes": "1"}),
    ({"classes": "2.5"}, "classes", "whole number", {"classes": "2"}),
    ({"arch": "resnet101"}, "arch", "unknown architecture", {"arch": "mobilenet_v2"}),
    ({"arch": "ResNet-50"}, "arch", "read as resnet50", {"arch": "resnet50"}),
    ({"arch": "r\u00e9snet50"}, "arch", "unknown architecture", {"arch": "mobilenet_v2"}),
    ({"alpha": "\u0660.\u0665"}, "alpha", "not a plain number", {"alpha": "1"}),
    ({"alpha": "\uff10.\uff15"}, "alpha", "not a plain number", {"alpha": "1"}),
    ({"alpha": "1_0"}, "alpha", "not a plain number", {"alpha": "1"}),
    ({"alpha": ["0.5", "0.75"]}, "alpha", "given 2 times", {"alpha": "0.75"}),
    ({"arch": ["resnet18", "bogus"]}, "arch", "given 2 times", {"arch": "mobilenet_v2"}),
    ({"alpha": ""}, "alpha", "must be a number", {"alpha": "1"}),
    ({"alpha": "x" * 5000}, "alpha", "must be a number", {"alpha": "1"}),
    ({"arch": "resnet50", "groups": "4"}, "groups", "applies only to shufflenet_v1",
     {"arch": "resnet50"}),
    ({"arch": "shufflenet_v1", "groups": "5"}, "groups", "not allowed", {"groups": "4"}),
    ({"arch": "shufflenet_v1", "groups": "nan"}, "groups", "finite number", {"groups": "3"}),
    ({"arch": "shufflenet_v1", "groups": "1e400"}, "groups", "out of range", {"groups": "8"}),
    ({"rho": "9" * 400}, "rho", "out of range: allowed 0.1429 (32 px) to 2.2857", {"rho": "2.2857"}),
    ({"rho": "0.5", "resolution": "96"}, "resolution", "both rho and resolution",
     {"rho": "0.5"}),
    ({"resolution": "9999"}, "resolution", "out of range", {"rho": "2.2857"}),
    ({"unit": "watts"}, "unit", "not one of", {}),
    ({"elementwise": "maybe"}, "elementwise", "not 1 or 0", {}),
]


@pytest.mark.parametrize("query,param,text,expect", MALFORMED,
                         ids=[f"{i}-{m[1]}" for i, m in enumerate(MALFORMED)])
def test_malformed_url_gives_a_notice_not_a_traceback(query, param, text, expect):
    at = run_app(query)
    assert_clean(at)
    shown = notices(at)
    assert text in shown, shown
    assert param in shown
    assert len(shown) < 1000  # long values are shortened in the notice
    assert exact_numbers(at)  # and the page is there, with numbers
    for name, value in expect.items():
        assert at.query_params[name] == value
    # the URL now holds valid values only: reopening it gives no notice
    again = run_app({k: v for k, v in at.query_params.items() if k in PARAMS})
    assert not again.warning


def test_notice_goes_once_the_user_moves_a_widget():
    at = run_app({"alpha": "nan"})
    assert at.warning
    at.slider(key="alpha").set_value(0.75).run()
    assert not at.warning
    assert at.query_params["alpha"] == "0.75"


# ----------------------------------------------------------------------------- parse_query

valid_states = hs.builds(
    lambda arch, alpha, rho, g, classes, unit, ew, dtype: AppState(
        arch, alpha, rho, g if arch == "shufflenet_v1" else None, classes, unit, ew, dtype=dtype),
    hs.sampled_from(ARCHS), hs.sampled_from(ALPHA_STOPS), hs.sampled_from(RHO_STOPS),
    hs.sampled_from(SHUFFLENET_V1_GROUPS), hs.integers(1, 100_000),
    hs.sampled_from(("macs", "flops")), hs.booleans(), hs.sampled_from(PRECISIONS))


@settings(max_examples=200, deadline=None)
@given(valid_states)
def test_parse_query_round_trips_every_valid_state(state):
    query = {k: [v] for k, v in state.to_query().items()}
    parsed, notes = parse_query(query)
    assert parsed == state and notes == []
    cfg = parsed.config()
    assert cfg == make_config(state.arch, state.alpha, state.rho, groups=state.groups,
                              classes=state.classes)


@settings(max_examples=300, deadline=None)
@given(hs.dictionaries(hs.sampled_from(PARAMS + ("resolution", "other")),
                       hs.lists(hs.text(max_size=30), min_size=1, max_size=3)))
def test_parse_query_never_fails_and_always_gives_a_valid_state(query):
    state, notes = parse_query(query)
    state.config()  # valid
    assert state.alpha in ALPHA_STOPS and state.rho in RHO_STOPS
    assert all(n.message for n in notes)


@settings(max_examples=200, deadline=None)
@given(hs.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300))
def test_out_of_range_alpha_goes_to_the_nearest_stop(x):
    state, _ = parse_query({"alpha": [repr(x)]})
    assert state.alpha == nearest(x, ALPHA_STOPS)


# ----------------------------------------------------------------------------- plain functions

def test_paper_check_statuses_and_explanations():
    from lightviz.reference import EXPLAINED, MATCH, OTHER, paper_check, printed_unit

    t = paper_check().set_index(["arch", "variant"])
    assert t.loc[("mobilenet_v2", "torchvision mobilenet_v2"), "status"] == MATCH
    assert t.loc[("resnet18", "paper"), "status"] == MATCH  # 1.814 G prints as 1.8 G
    # the MobileNetV2 paper counts params without BN and truncates: a match in its convention
    assert t.loc[("mobilenet_v2", "1.0-224"), "status"] == MATCH
    for key in [("resnet50", "paper"), ("mobilenet_v2", "1.4-224")]:
        assert t.loc[key, "status"] == EXPLAINED, key
        assert t.loc[key, "explanation"]
    assert "4.09" in t.loc[("resnet50", "paper"), "explanation"]
    # the stem scales with the width as in megvii's 0.5x model: Table 2's 38M and 13M match
    assert t.loc[("shufflenet_v1", "0.5x g=3"), "status"] == MATCH
    assert t.loc[("shufflenet_v1", "0.25x g=3"), "status"] == MATCH
    assert t.loc[("mobilenet_v1", "conv-mobilenet-224"), "status"] == OTHER
    assert (t["params_lightviz"] > 0).all() and (t["macs_lightviz"] > 0).all()
    # printed precision: "4.2M" params, "569M" and "140M" MACs, "3.8G"
    assert printed_unit(4_200_000, "params") == 1e5
    assert printed_unit(569_000_000, "macs") == 1e6
    assert printed_unit(140_000_000, "macs") == 1e6
    assert printed_unit(3_800_000_000, "macs") == 1e8
    assert printed_unit(3_504_872, "params") == 1


def test_mobilenet_v1_cost_sits_in_the_pointwise_convs():
    from lightviz import count
    from lightviz.charts import kind_summary

    s = kind_summary(count(make_config("mobilenet_v1")).layers).set_index("kind")
    assert s.index[0] == "pointwise conv"
    assert abs(s.loc["pointwise conv", "cost_share"] - 0.9486) < 0.001  # Table 2: 94.86 %
    assert abs(s["cost_share"].sum() - 1) < 1e-9 and abs(s["params_share"].sum() - 1) < 1e-9


def test_stage_diff_aligns_by_stage_or_by_scale():
    from lightviz import count
    from lightviz.charts import stage_diff

    a = count(make_config("mobilenet_v2")).layers
    b = count(make_config("mobilenet_v2", 0.5)).layers
    t, how = stage_diff(a, b, 224, 224)
    assert how == "stage" and list(t["stage"]) == list(dict.fromkeys(a["stage"]))
    assert t["cost_a"].sum() == a["macs"].sum() and t["cost_b"].sum() == b["macs"].sum()
    r = count(make_config("resnet50", resolution=160)).layers
    t, how = stage_diff(a, r, 224, 160)
    assert how == "scale"
    assert list(t["scale"]) == ["stem", "1/2", "1/4", "1/8", "1/16", "1/32", "head"]
    assert t["cost_b"].sum() == r["macs"].sum() and t["params_a"].sum() == a["params"].sum()
