"""A conv kind's model per conv path (issue 19): oneDNN and ATen's native im2col + GEMM are
different code with their own cost per MAC and per weight, so where a calibration timed enough of
a kind on each path, each path gets its own base, slope and residuals. One base over both was set
by whichever path the calibration timed most."""

from __future__ import annotations

import copy
import json
import math

import pytest

from lightviz.latency.devices import devicefile
from lightviz.latency.predictor import kernel_fit as KF
from lightviz.latency.predictor import kernel_model as KM
from lightviz.latency.predictor.kernels import Kernel, conv_path

NETWORK = {"fixed": 0.0, "scale": 1.0, "per_call": 0.0}


def conv(c: int, hw: int) -> Kernel:
    return Kernel("convkxk", "conv2d", c, hw, hw, c, hw, hw, 3, 1, 1, True, 1)


def law(k: Kernel) -> float:
    """ms: oneDNN (path 0) at 30 GMAC/s and 0.5 ms per M weights; the native paths at 20 GMAC/s
    and 5 ms per M weights (they read the weights again for every block of columns)."""
    weights = k.c_in * k.c_out * k.k * k.k
    if conv_path(k, 1, 1) == 0:
        return 0.01 + k.macs / 30e6 + weights / 2e6
    return 0.02 + k.macs / 20e6 + weights / 2e5


def fitted(sizes=(16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512),
           sides=(4, 5, 6, 7, 8, 10, 12, 14, 20, 28, 40, 56)) -> dict:
    samples = {(conv(c, hw), 3.0): law(conv(c, hw)) for c in sizes for hw in sides}
    return {"kernel_version": KM.VERSION, "threads": 1, "network": NETWORK,
            "kinds": KF.fit_kinds(samples, 1, 1)}


def ratio(model: KM.KernelModel, k: Kernel) -> float:
    return float(model.kernel_ms([k], KM.CONTEXT_REF)[0][0]) / law(k)


SHAPES = [conv(c, hw) for c in (40, 160, 320) for hw in (9, 24, 48)]  # none of them timed


def test_each_path_timed_enough_gets_its_own_base_and_predicts_its_own_law():
    data = fitted()
    kind = data["kinds"]["convkxk"]
    on = {str(p): sum(conv_path(conv(c, hw), 1, 1) == p for c in (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
                      for hw in (4, 5, 6, 7, 8, 10, 12, 14, 20, 28, 40, 56)) for p in (0, 1, 2)}
    assert set(kind["paths"]) == {p for p, n in on.items() if n >= KF.PATH_MIN} and len(kind["paths"]) >= 2
    assert {conv_path(k, 1, 1) for k in SHAPES} == {0, 1}
    own = KM.KernelModel(data)
    one = KM.KernelModel(dict(data, kinds={"convkxk": {k: v for k, v in kind.items() if k != "paths"}}))
    for k in SHAPES:
        assert ratio(own, k) == pytest.approx(1.0, abs=0.03), k
    worst_one = max(abs(math.log(ratio(one, k))) for k in SHAPES)
    assert worst_one > 0.08 > max(abs(math.log(ratio(own, k))) for k in SHAPES)


def test_a_path_timed_too_little_is_costed_by_the_kind():
    """Eight kernels on oneDNN (fewer than PATH_MIN): no model of their own; the kind's costs
    them, and the native paths keep theirs."""
    data = fitted(sizes=(16, 24, 32, 48, 64, 96, 128), sides=(4, 5, 6, 7, 8, 10, 12, 14, 20, 28, 40, 56))
    kind = data["kinds"]["convkxk"]
    assert "0" not in kind["paths"] and "1" in kind["paths"]
    model = KM.KernelModel(data)
    big = conv(128, 48)
    assert conv_path(big, 1, 1) == 0
    alone = KM.KindModel({k: v for k, v in kind.items() if k != "paths"})
    T, z = big.terms(1, 0)[None, :], KM.describe(big, 1, 1)[None, :]
    assert model.kinds["convkxk"].predict(T, z)[0][0] == pytest.approx(alone.predict(T, z)[0][0])


def test_the_paths_round_trip_through_json_and_a_model_without_them_reads_as_before():
    data = fitted()
    again = KM.KernelModel(json.loads(json.dumps(data)))
    model = KM.KernelModel(data)
    for k in SHAPES:
        assert again.kernel_ms([k], 2.0)[0][0] == pytest.approx(model.kernel_ms([k], 2.0)[0][0], rel=1e-12)
    v6 = copy.deepcopy(data)
    v6["kernel_version"] = 6
    del v6["kinds"]["convkxk"]["paths"]
    old = KM.KernelModel(v6)
    kind = KM.KindModel(v6["kinds"]["convkxk"])
    for k in SHAPES:  # the kind's one base, correction and slope, as a version-6 model predicted
        T, z = k.terms(1, conv_path(k, 1, 1))[None, :], KM.describe(k, 1, 1)[None, :]
        ms, per, _, slope = kind.predict(T, z)
        expect = (ms[0] + per[0] * float(KM.read_octaves(2.0))) * math.exp(float(KM.context_x(2.0)) * kind.slope)
        assert slope[0] == kind.slope and old.kernel_ms([k], 2.0)[0][0] == pytest.approx(expect, rel=1e-12)


def test_a_device_file_checks_the_paths():
    data = fitted()
    devicefile._kernel(data, "model.kernel")
    kind = data["kinds"]["convkxk"]
    p = next(iter(kind["paths"]))
    bad = [
        (dict(data, kernel_version=6), "paths"),  # a version-6 model has none
        ({**data, "kinds": {"convkxk": {**kind, "paths": {"3": kind["paths"][p]}}}}, "unknown conv path"),
        ({**data, "kinds": {"convkxk": {**kind, "paths": {p: {**kind["paths"][p], "r": kind["paths"][p]["r"][1:]}}}}},
         r"paths\.\d\.r"),
        ({**data, "kinds": {"convkxk": {**kind, "paths": {p: {**kind["paths"][p], "slope": "steep"}}}}}, "slope"),
    ]
    for model, match in bad:
        with pytest.raises(ValueError, match=match):
            devicefile._kernel(model, "model.kernel")
