"""One network at fp32, fp16 and int8 (lightviz.precisions, Explore's lesson): every figure from
the rule that owns it, none where nothing is known, never fp32 scaled."""

from __future__ import annotations

from lightviz.accuracy_int8 import estimate_for
from lightviz.configure import make_config
from lightviz.counting import count
from lightviz.deployment import deployment_memory
from lightviz.latency.devices.figure import NONE, PUBLISHED
from lightviz.precisions import side_by_side

PIXEL3 = "Pixel 3 (TFLite CPU, 4 threads)"


def test_each_precision_from_its_own_rule(cache):
    prof = count(make_config("mobilenet_v1", 0.5, resolution=160))
    rows = side_by_side(prof, PIXEL3)
    assert [r.precision for r in rows] == ["fp32", "fp16", "int8"]
    for r in rows:
        mem = deployment_memory(prof, r.precision)
        assert (r.weight_bytes, r.peak_bytes) == (mem.weight_bytes, mem.peak_bytes)
        assert r.top1 == estimate_for(prof.config, r.precision)
    fp32, fp16, int8 = rows
    assert fp32.peak_bytes == 4 * int8.peak_bytes and fp32.weight_bytes == 4 * int8.weight_bytes
    # the Pixel 3 published MobileNet v1 0.5 @ 160 in fp32 and int8, nothing in fp16
    assert (fp32.latency.status, fp32.latency.ms) == (PUBLISHED, 4.4)
    assert (int8.latency.status, int8.latency.ms) == (PUBLISHED, 2.6)
    assert fp16.latency.status == NONE and fp16.latency.ms is None
    assert int8.top1.value == 57.7 and fp16.top1.value == fp32.top1.value


def test_without_a_calibration_or_int8_data_it_says_none(cache):
    rows = side_by_side(count(make_config("resnet34", 1.0)))
    assert all(r.latency.status == NONE and "calibrate" in r.latency.reason for r in rows)
    assert rows[0].top1.value is not None and rows[2].top1.value is None
