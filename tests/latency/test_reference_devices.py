"""Reference devices (lightviz/latency/devices/reference.py): the published points come back
exactly, interpolation only inside a family's published grid on one device and precision, with
a leave-one-out interval that covers, and none (with a reason) everywhere else. The data are
fixed, so the leave-one-out figures are deterministic and asserted (loosely) here."""

import csv
import math

import pytest

from lightviz.config import Config
from lightviz.latency.devices import figure as F
from lightviz.latency.devices import interpolate as I
from lightviz.latency.devices import reference as R

P3 = "Pixel 3 (TFLite CPU, 4 threads)"
P1 = "Pixel 1 (TF-Lite, 1 large core; tf-slim table)"
V3P1 = "Pixel 1 (TFLite, 1 large core; MobileNetV3 paper)"
NANO = "Jetson Nano (TensorRT via torch2trt)"
XAVIER = "Jetson AGX Xavier (TensorRT via torch2trt)"
SD810 = "Snapdragon 810 (NEON, 1 thread; ShuffleNet V2 paper)"


def cfg_of(p) -> Config:
    return Config(p.family, p.alpha, p.resolution, p.groups)


def test_devices_are_named_once_with_precisions_and_sources():
    devices = R.reference_devices()
    names = [d.name for d in devices]
    assert names == [P3, P1, V3P1, NANO, XAVIER, SD810]
    by = {d.name: d for d in devices}
    assert by[P3].precisions == ("fp32", "int8") and by[P3].threads == 4
    assert by[NANO].precisions == ("fp16",) and by[NANO].families == ("resnet18", "resnet34",
                                                                         "resnet50")
    assert all(d.sources for d in devices)
    with pytest.raises(ValueError, match="unknown reference device 'Pixel 9'.*Pixel 3"):
        R.reference_latency("Pixel 9", Config("mobilenet_v1"), "fp32")
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        R.reference_latency(P3, Config("mobilenet_v1"), "fp8")


def test_every_row_is_sourced_batch_one_and_a_lightviz_config():
    with open(R.DEVICE_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(R.load_device_points()) == 88
    for r in rows:
        assert r["source"] and r["batch"] == "1" and float(r["ms"]) > 0
        assert 0.25 <= float(r["alpha"]) <= 2.0  # MobileNet v2 0.15 (Table 8) is left out
    table8 = [r for r in rows if r["source"] == "ShuffleNet V2 paper Table 8"]
    assert len(table8) == 17
    for r in table8:  # images/s at batch 1 -> ms, the throughput kept in the note
        ips = float(r["note"].split(" images/s")[0].split("/ ")[1])
        assert float(r["ms"]) == pytest.approx(1000 / ips, abs=0.006)


def test_published_points_come_back_exactly_with_their_source():
    for p in R.load_device_points():
        fig = R.reference_latency(p.reference, cfg_of(p), p.precision)
        assert fig.status == F.PUBLISHED, p
        assert fig.ms == fig.low == fig.high == p.ms
        assert fig.source.startswith(p.source) and fig.device == p.reference
        assert fig.precision == p.precision and fig.batch == 1
    fig = R.reference_latency(P1, Config("mobilenet_v2", 1.0, 224), "fp32")
    assert fig.ms == 73.8 and fig.runtime == "TF-Lite CPU, 1 large core"
    assert R.reference_latency(V3P1, Config("mobilenet_v2", 1.0, 224), "fp32").ms == 64.0
    shuffle = R.reference_latency(SD810, Config("shufflenet_v1", 1.0, 224, groups=3), "fp32")
    assert shuffle.ms == pytest.approx(1000 / 21.8, abs=0.005) and "21.8 images/s" in shuffle.source


def test_interpolated_inside_the_grid_with_interval_and_source():
    fig = R.reference_latency(P3, Config("mobilenet_v1", 0.6, 200), "fp32")
    assert fig.status == F.INTERPOLATED
    assert 6.0 < fig.low < fig.ms < fig.high < 14.6  # between 0.5/192 (6.0) and 0.75/224 (14.6)
    assert "leave-one-out" in fig.source and I.RULE in fig.source
    int8 = R.reference_latency(P3, Config("mobilenet_v1", 0.6, 200), "int8")
    assert int8.status == F.INTERPOLATED and int8.ms < fig.ms
    v2 = R.reference_latency(P1, Config("mobilenet_v2", 0.6, 176), "fp32")
    assert v2.status == F.INTERPOLATED and 14.9 < v2.ms < 41.6
    assert v2.high / v2.ms == pytest.approx(math.exp(R.grids()[(P1, "mobilenet_v2", None,
                                                                "fp32")].half))


def rising(rule: str) -> bool:
    """Whether every grid's estimate rises (or stays) with alpha at each resolution and with
    the resolution at each alpha, on a fine lattice inside its hull."""
    for (_, family, groups, _), g in R.grids(rule).items():
        lines = [[(a / 100, r) for a in range(25, 141, 3)] for r in range(96, 225, 8)]
        lines += [[(a / 100, r) for r in range(96, 225, 8)] for a in range(25, 141, 3)]
        for line in lines:
            ln = [g.predict_ln(R.Query(family, a, r, groups)) for a, r in line if g.inside(a, r)]
            if any(b < a - 1e-12 for a, b in zip(ln, ln[1:])):
                return False
    return True


def test_interpolation_rises_with_alpha_and_resolution_inside_the_hull():
    assert rising(I.RULE)
    # the log-linear rule fits the published points better but amplifies the jumps of widths
    # rounded to 8 between them (MobileNet v1 at alpha 0.3 slower than at 0.35): not shipped
    assert not rising("ln MACs + ln alpha + ln rho")
    grid = R.grids()[(P3, "mobilenet_v1", None, "fp32")]
    assert grid.inside(0.25, 128) and grid.inside(1.0, 224) and not grid.inside(1.05, 224)
    ms = [R.reference_latency(P3, Config("mobilenet_v1", a, 160), "fp32").ms
          for a in (0.25, 0.3, 0.35, 0.5)]
    assert ms[0] == 1.7 and ms[0] < ms[1] <= ms[2] < ms[3]


@pytest.mark.parametrize("name, cfg, precision, reason", [
    (P3, Config("mobilenet_v1", 1.0, 256), "fp32", "outside the published grid"),
    (P3, Config("mobilenet_v1", 1.25, 224), "fp32", "outside the published grid"),
    (P1, Config("mobilenet_v2", 1.2, 128), "fp32", "outside the published grid"),  # off the hull
    (P3, Config("mobilenet_v1", 1.0, 224), "fp16", "fp32, int8 only, not fp16"),
    (P1, Config("mobilenet_v2", 1.0, 224), "int8", "fp32 only, not int8"),
    (P1, Config("mobilenet_v1", 1.0, 224), "fp32", "mobilenet_v2 only, not mobilenet_v1"),
    (P3, Config("ghostnet", 1.0, 224), "fp32", "not ghostnet"),
    (P3, Config("mobilenet_v2", 0.75, 224), "fp32", "a few points only"),
    (V3P1, Config("mobilenet_v2", 0.5, 224), "int8", "a few points only"),
    (NANO, Config("resnet18", 1.0, 192), "fp16", "a few points only"),
    (NANO, Config("resnet18", 1.0, 224), "fp32", "fp16 only"),
    (NANO, Config("mobilenet_v2", 1.0, 224), "fp16", "not mobilenet_v2"),
    (XAVIER, Config("shufflenet_v2", 0.75, 224), "fp16", "a few points only"),
    (SD810, Config("shufflenet_v1", 1.0, 224, groups=8), "fp32", "a few points only"),
    (SD810, Config("mobilenet_v1", 0.5, 224), "int8", "fp32 only"),
    (P3, Config("mobilenet_v1", 1.0, 224, classes=10), "fp32", "1000 classes, not 10"),
])
def test_none_elsewhere_with_a_reason(name, cfg, precision, reason):
    fig = R.reference_latency(name, cfg, precision)
    assert fig.status == F.NONE and fig.ms is None and fig.low is None
    assert reason in fig.reason, fig.reason
    assert fig.device == name and fig.precision == precision


def test_an_edited_table_is_never_a_published_point():
    from lightviz.configure import make_config

    edited = make_config("mobilenet_v1", alpha=1.0, resolution=224, settings={"stem": 48})
    assert edited.custom
    for precision in ("fp32", "int8"):
        fig = R.reference_latency(P3, edited, precision)
        assert fig.status == F.NONE and "edited" in fig.reason
    inside = make_config("mobilenet_v1", alpha=0.6, resolution=200, settings={"stem": 48})
    assert R.reference_latency(P3, inside, "fp32").status == F.NONE


def test_every_device_answers_for_any_configuration():
    figs = R.reference_latencies(Config("mobilenet_v2", 1.0, 224), "fp32")
    assert [f.device for f in figs] == [d.name for d in R.reference_devices()]
    assert [f.status for f in figs] == [F.PUBLISHED, F.PUBLISHED, F.PUBLISHED, F.NONE, F.NONE,
                                        F.PUBLISHED]


def test_leave_one_out_goal_and_interval_coverage():
    rows = {(r["device"], r["precision"]): r for r in R.loo_summary()}
    assert set(rows) == {(P3, "fp32"), (P3, "int8"), (P1, "fp32")}
    # goal (issue 22): mean within 5% on Pixel 1 MobileNet v2 and Pixel 3 MobileNet v1 fp32;
    # measured 4.3% and 2.3% (int8 5.8%); asserted loosely since the data are fixed
    assert rows[(P1, "fp32")]["loo_mean"] < 8 and rows[(P3, "fp32")]["loo_mean"] < 8
    assert rows[(P3, "int8")]["loo_mean"] < 10
    covered = sum(r["covered"] for r in rows.values())
    interior = sum(r["interior"] for r in rows.values())
    assert interior == 42 and covered / interior >= 0.9  # measured 40 / 42
    for r in rows.values():
        assert r["interval"] >= r["inside_worst"] - 1e-9  # the interval spans its own LOO


def test_the_shipped_rule_has_the_lowest_mean_of_the_rising_rules():
    def pooled(rule):
        rows = R.loo_summary(rule)
        return sum(r["loo_mean"] * r["points"] for r in rows) / sum(r["points"] for r in rows)

    shipped = pooled(I.RULE)  # measured 4.17% over the 54 points
    assert shipped < 5
    assert all(shipped < pooled(rule) for rule in ("ln MACs", "plane", "quadratic"))
    with pytest.raises(ValueError, match="unknown interpolation rule"):
        I.features("cubic", [])
    with pytest.raises(ValueError, match="unknown interpolation rule"):
        R.loo_summary("cubic")
