"""The int8 top-1 estimate: the published int8 value at each published point of a family's
source, none where a family has no int8 point (never a guessed constant), the method it stands
for named, leave-one-out figures of the drop fit, and ``lightviz pareto --dtype int8``."""

import json
import math

import pytest
from cli_support import run_cli

from lightviz import accuracy_int8 as Q
from lightviz.accuracy import INTERPOLATED, NONE, PUBLISHED, estimate
from lightviz.configure import make_config
from lightviz.tradeoff import ALPHA_STOPS, RESOLUTION_STOPS

POINTS = Q.load_int8_points()
CHOSEN = [p for p in POINTS if (p.source, p.method) == Q.chosen_method(p.arch)]


def est(arch, alpha, res=224, **kw):
    return Q.estimate_int8(make_config(arch, alpha, resolution=res, **kw))


def test_the_table_as_its_sources_print_it():
    by = {(p.arch, p.alpha, p.resolution, p.source): p for p in POINTS}
    v1 = [p for p in POINTS if p.arch == "mobilenet_v1"]
    assert len(v1) == 16 and {p.method for p in v1} == {"qat"}
    assert by[("mobilenet_v1", 0.25, 128, "tf-slim mobilenet_v1.md (_quant)")].int8_top1 == 39.9
    assert by[("mobilenet_v1", 1.0, 224, "tf-slim mobilenet_v1.md (_quant)")].fp32_top1 == 70.9
    tv = by[("shufflenet_v2", 0.5, 224, "torchvision quantized weights")]
    assert (tv.fp32_top1, tv.int8_top1, tv.method) == (60.552, 57.972, "ptq")
    assert by[("mobilenet_v2", 1.0, 224, "torchvision quantized weights")].int8_top1 == 71.658
    assert by[("mobilenet_v2", 1.0, 224, "MobileNetV3 paper Table 4")].int8_top1 == 70.9
    assert all(p.source and p.method in Q.METHOD_WORDS and p.backend for p in POINTS)


def test_one_source_and_method_per_family_by_the_stated_rule():
    assert Q.chosen_method("mobilenet_v1") == ("tf-slim mobilenet_v1.md (_quant)", "qat")
    # MobileNet v2: the MobileNetV3 paper has two points (torchvision's QAT and MCUNet one each)
    assert Q.chosen_method("mobilenet_v2") == ("MobileNetV3 paper Table 4", "unstated")
    # GhostNet: a tie (with and without fine-tuning, one point each) goes to post-training
    assert Q.chosen_method("ghostnet") == ("MindSpore ghostnet_quant Readme", "ptq")
    assert Q.chosen_method("resnet34") is None and Q.chosen_method("shufflenet_v1") is None


@pytest.mark.parametrize("p", CHOSEN, ids=lambda p: f"{p.arch}-{p.alpha}-{p.resolution}")
def test_the_estimate_is_the_published_int8_value_at_each_published_point(p):
    e = est(p.arch, p.alpha, p.resolution)
    assert e.status == PUBLISHED and e.value == e.low == e.high == p.int8_top1
    assert e.sources == (p.source,) and e.precision == "int8"
    assert Q.METHOD_WORDS[p.method] in e.quantization and p.backend in e.quantization


@pytest.mark.parametrize("arch,alpha,res,why", [
    ("resnet34", 1.0, 224, "no published int8"),
    ("shufflenet_v1", 1.0, 224, "no published int8"),
    ("ghostnet", 0.5, 224, "one point gives no trend"),
    ("resnet18", 1.0, 192, "no fp32 estimate"),
    ("mobilenet_v1", 1.0, 456, "no fp32 estimate"),
])
def test_none_without_int8_data_and_never_a_guessed_constant(arch, alpha, res, why):
    e = est(arch, alpha, res)
    assert e.status == NONE and e.value is None and why in e.method


def test_none_for_edited_tables_and_other_classifiers():
    custom = make_config("mobilenet_v2", settings={"layers": [[1, 16, 1, 1], [6, 24, 2, 2]]})
    assert Q.estimate_int8(custom).status == NONE and "custom table" in Q.estimate_int8(custom).method
    assert est("mobilenet_v1", 1.0, classes=10).status == NONE


def test_between_the_points_the_fp32_estimate_minus_the_fitted_drop():
    cfg = make_config("mobilenet_v1", 0.6, resolution=176)
    e, fp = Q.estimate_int8(cfg), estimate(cfg)
    drop = Q.drop_fits()["mobilenet_v1"].drop_at(math.log(0.6))
    assert e.status == INTERPOLATED and e.value == pytest.approx(fp.value - drop)
    assert e.low < e.value < e.high and e.high - e.low > fp.high - fp.low  # wider than fp32's
    assert "quantization-aware training" in e.method and "leave-one-out" in e.method
    # off the 224-px line of a family quantized at 224 px only: extrapolated, wider
    off, on = est("mobilenet_v2", 0.75, 160), est("mobilenet_v2", 0.75, 224)
    assert on.status == INTERPOLATED and off.status == "extrapolated"
    assert off.high - off.low > on.high - on.low


def test_monotone_in_alpha_and_resolution_inside_mobilenet_v1s_grid():
    grid = {}
    for a in ALPHA_STOPS:
        for r in RESOLUTION_STOPS:
            if 0.25 <= a <= 1.0 and 128 <= r <= 224:
                e = est("mobilenet_v1", a, r)
                assert e.status in (PUBLISHED, INTERPOLATED) and e.low <= e.value <= e.high
                assert e.value <= estimate(make_config("mobilenet_v1", a, resolution=r)).value
                grid[(a, r)] = e.value
    for (a, r), v in grid.items():
        for nxt in ((round(a + 0.05, 2), r), (a, r + 8)):
            if nxt in grid:
                assert grid[nxt] >= v - 1e-9, ((a, r), nxt)


def test_leave_one_out_of_the_drop_fit():
    rows = {r["family"]: r for r in Q.loo_summary_int8()}
    v1 = rows["mobilenet_v1"]
    assert v1["points"] == 16 and v1["drop_loo_mean"] < 0.3 < v1["const_loo_mean"]
    assert v1["drop_loo_worst"] < 1.3 and v1["int8_loo_mean"] < 0.3
    # the interval of an interpolation holds every interior point's leave-one-out error
    fit = Q.drop_fits()["mobilenet_v1"]
    assert (abs(fit.loo[fit.interior]) <= fit.worst_inside + 1e-9).all()
    assert rows["shufflenet_v2"]["drop_loo_mean"] < rows["shufflenet_v2"]["const_loo_mean"]


def test_other_sources_points_fall_inside_the_interval_where_the_method_agrees():
    # MCUNet's post-training int8 MobileNet v2 0.35 @ 144 (49.0) is not the chosen source's point
    e = est("mobilenet_v2", 0.35, 144)
    assert e.status == "extrapolated" and e.low <= 49.0 <= e.high


def test_fp16_is_the_fp32_figure_said_to_be_assumed():
    cfg = make_config("mobilenet_v2", 0.8, resolution=176)
    e, fp = Q.estimate_for(cfg, "fp16"), estimate(cfg)
    assert (e.value, e.low, e.high, e.status) == (fp.value, fp.low, fp.high, fp.status)
    assert "assumed unchanged" in e.method and e.to_dict()["precision"] == "fp16"
    assert Q.estimate_for(cfg, "fp32").value == fp.value
    with pytest.raises(ValueError, match="fp32, fp16, int8"):
        Q.estimate_for(cfg, "int4")


def test_pareto_dtype_int8_ranks_by_the_int8_estimate():
    code, out, err = run_cli(["pareto", "--max-macs", "300M", "--dtype", "int8", "--format", "json"])
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert rows and all(r["precision"] == "int8" and r["quantization"] for r in rows)
    assert {r["arch"] for r in rows} <= {"mobilenet_v1", "mobilenet_v2", "shufflenet_v2",
                                         "ghostnet", "resnet18", "resnet50"}
    for r in rows:
        e = est(r["arch"], r["alpha"], r["resolution"])
        assert r["top1"] == round(e.value, 2) and r["status"] == e.status
        for o in rows:
            assert not (o["macs"] <= r["macs"] and o["top1"] > r["top1"]), (r, o)
    assert [r["top1"] for r in rows] == sorted((r["top1"] for r in rows), reverse=True)
    code, out, _ = run_cli(["pareto", "--max-macs", "50M", "--dtype", "int8"])
    assert code == 0 and "top-1 at int8" in out and "post-training quantization" in out
    code, out, err = run_cli(["pareto", "--max-macs", "50M", "--dtype", "int4"])
    assert code == 2 and err.count("\n") == 1 and "fp32, fp16, int8" in err
