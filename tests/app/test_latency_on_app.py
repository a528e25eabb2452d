"""The sidebar's "Latency on" selector (issue 22) in Streamlit's AppTest, on every page that shows
latency: Explore's card and sweeps, Compare's ranking, Pareto view and Devices tab, the Design
page's card. Each figure says its device, runtime, precision and status; the URL parameter
``on`` selects the device (a wrong one gets a note and this host)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_app import assert_clean, run_app

from lightviz.cli import main
from lightviz.configure import make_config
from lightviz.latency.devices import sources
from lightviz.latency.devices.figure import THIS_HOST
from lightviz.units import fmt_ms
from lightviz.views.explore import TABS

sys.path.insert(0, str(Path(__file__).parents[1] / "latency"))
from test_kernel_model import ONE, fake_ops  # noqa: E402

P3 = "Pixel 3 (TFLite CPU, 4 threads)"
V1 = {"arch": "mobilenet_v1", "alpha": "0.75", "rho": str(160 / 224)}  # published on the Pixel 3


def specs(at) -> list:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def device_table(at):
    """Compare's device view (device, runtime, precision, ms, interval, status, source)."""
    return next(t.value for t in at.table if list(t.value.columns)[:2] == ["runtime", "precision"])


def latency_cards(at) -> dict:
    return {m.label: m.value for m in at.metric if m.label.startswith("Latency on")}


@pytest.fixture
def imported_box(tmp_path, cache):
    """A calibration made in another store (a fake per-op timer, 14 networks), exported and
    imported here as "lab box"; this host itself stays uncalibrated."""
    import os

    from lightviz.latency.predictor import store
    from lightviz.latency.predictor.calibrate import calibrate

    os.environ["LIGHTVIZ_CACHE_DIR"] = str(tmp_path / "elsewhere")
    store.clear_caches()
    calibrate(ONE, budget_s=600, measure_ops=lambda c, s: fake_ops(c, s), max_points=14)
    assert main(["devices", "export", "--threads", "1", "-o", str(tmp_path / "box.json"), "--name", "lab box"]) == 0
    os.environ["LIGHTVIZ_CACHE_DIR"] = str(cache)
    store.clear_caches()
    assert main(["devices", "import", str(tmp_path / "box.json")]) == 0
    return "lab box"


def test_explore_card_caption_and_sweeps_follow_the_selector():
    at = run_app({**V1, "on": P3})
    assert_clean(at)
    assert at.selectbox(key="on").value == P3 and at.query_params["on"] in (P3, [P3])
    assert latency_cards(at) == {"Latency on Pixel 3 (published)": "8.20 ms"}
    assert any(f"**{P3} \u00b7 TFLite CPU \u00b7 fp32**: 8.20 ms (published)" in c.value for c in at.caption)
    at.session_state["explore_tab"] = TABS[3]
    at.run()
    curves = [t for s in specs(at)[:2] for t in s["data"] if t.get("name") == f"latency on {P3}"]
    assert len(curves) == 2 and all("published" in json.dumps(t["customdata"]) for t in curves)
    # back to this host: the URL drops the parameter, the card asks for a calibration
    at.selectbox(key="on").set_value(THIS_HOST).run()
    assert_clean(at)
    assert "on" not in at.query_params and not latency_cards(at)


def test_the_precision_is_asked_of_the_device_and_none_is_said():
    at = run_app({**V1, "on": P3, "dtype": "int8"})
    assert latency_cards(at) == {"Latency on Pixel 3 (published)": "4.70 ms"}
    at = run_app({"arch": "resnet18", "on": P3})
    assert_clean(at)
    assert latency_cards(at) == {"Latency on Pixel 3 (none)": "none"}
    assert any("none (" in c.value and P3 in c.value for c in at.caption)


def test_an_unknown_device_in_the_link_is_named_and_this_host_used():
    at = run_app({**V1, "on": "Pixel 99"})
    assert_clean(at)
    assert at.selectbox(key="on").value == THIS_HOST
    assert any("unknown device 'Pixel 99'" in c.value and THIS_HOST in c.value for c in at.caption)


def test_compare_ranks_by_the_device_and_lists_every_device():
    at = run_app({**V1, "on": P3}, "compare")
    assert_clean(at)
    table = next(d.value for d in at.dataframe if "latency_status" in d.value.columns)
    v1 = table[table["label"] == "MobileNet v1"].iloc[0]
    assert v1["latency_ms"] == 8.2 and v1["latency_status"] == "published"
    assert set(table["latency_status"]) == {"published", "none"}
    assert any(f"Latency on **{P3} \u00b7 TFLite CPU \u00b7 fp32**" in c.value for c in at.caption)
    devices = device_table(at)
    assert P3 in set(devices.index) and set(devices["status"]) <= {"published", "interpolated between published points"}
    at.segmented_control(key="pareto_axis").set_value("latency").run()
    assert_clean(at)
    pareto = next(s for s in specs(at) if "Estimated top-1" in s["layout"]["title"]["text"])
    axis = pareto["layout"]["xaxis"]["title"]["text"]
    assert axis == f"latency on {P3} \u00b7 TFLite CPU \u00b7 fp32, ms (log scale)"
    drawn = {t["name"] for t in pareto["data"] if t.get("customdata")}
    assert "MobileNet v1" in drawn and drawn <= {"MobileNet v1", "MobileNet v2"}  # what it published
    assert any("are left out" in c.value for c in at.caption)


def test_design_page_card_follows_the_selector():
    at = run_app({**V1, "on": P3}, "design")
    assert_clean(at)
    assert latency_cards(at) == {"Latency on Pixel 3 (published)": "8.20 ms"}
    at.selectbox(key="on").set_value(THIS_HOST).run()
    assert latency_cards(at) == {"Latency on this host (none)": "none"}  # not calibrated: no number


def test_an_imported_device_on_every_page(imported_box):
    cfg = make_config("mobilenet_v1", 0.75, resolution=160)
    want = sources.latency_on(imported_box, cfg, "fp32")
    at = run_app({**V1, "on": imported_box})
    assert_clean(at)
    assert latency_cards(at) == {"Latency on lab box (predicted, imported)": fmt_ms(want.ms, " ms")}
    at = run_app({**V1, "on": "LAB BOX"}, "compare")  # any case, as the CLI
    assert_clean(at)
    row = device_table(at).loc["lab box"]
    assert row["status"] == "predicted from an imported calibration" and row["runtime"] == "torch eager on cpu"
    at = run_app({**V1, "on": imported_box}, "design")
    assert latency_cards(at) == {"Latency on lab box (predicted, imported)": fmt_ms(want.ms, " ms")}


def test_this_host_follows_the_sidebar_precision(cache):
    """With an fp32 calibration here, Explore's card on this host in int8 is none (with the
    command that calibrates int8), never the fp32 model's figure shown as int8's; back in fp32
    it is the prediction again."""
    from lightviz.latency.predictor import store
    from lightviz.latency.predictor.calibrate import calibrate

    store.clear_caches()
    calibrate(ONE, budget_s=600, measure_ops=lambda c, s: fake_ops(c, s), max_points=14)
    at = run_app({"arch": "mobilenet_v2", "dtype": "int8"})
    assert_clean(at)
    cards = latency_cards(at)
    assert list(cards.values()) == ["none"], cards
    card = next(m for m in at.metric if m.label.startswith("Latency on"))
    assert "--dtype int8" in card.proto.help
    at.segmented_control(key="dtype").set_value("fp32").run()
    assert_clean(at)
    assert any(label == "Latency on this host (predicted)" and value != "none"
               for label, value in latency_cards(at).items()), latency_cards(at)
