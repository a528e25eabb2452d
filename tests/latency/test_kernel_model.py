"""The kernel latency model (issue 19): kernels read from the profile rows of every family and of
edited tables, the prediction's breakdown adding up to its total, the model's JSON round trip, an
untimed kind marked ``extrapolated`` with a wider interval, and the interval's coverage on
networks the calibration never saw, with a fake per-op timer whose cost law is known and
additive. One real calibration with a tiny budget checks the protocol's per-op pass feeds it."""

from __future__ import annotations

import json
import math
import random
import time
import zlib

import numpy as np
import pytest

from lightviz import make_config
from lightviz.configure import ARCHS
from lightviz.counting import count
from lightviz.latency.predictor import heldout as H
from lightviz.latency.predictor import kernel_fit as KF
from lightviz.latency.predictor import kernel_model as KM
from lightviz.latency.predictor import model as M
from lightviz.latency.predictor import store
from lightviz.latency.predictor.calibrate import calibrate
from lightviz.latency.predictor.design import random_settings
from lightviz.latency.predictor.kernels import KINDS, kernel_of, network_kernels, timed_kernels
from lightviz.latency.setup import Setup

ONE = Setup(threads=1)
VIEWS = ("split", "narrow", "flatten")


def kernel_cost(k) -> float:
    """The fake device: a cost per call, per MAC, per value moved, and per depthwise call."""
    return (0.004 + k.macs / 2e7 + (k.values_in + k.values_out) / 4e8
            + (0.02 if k.kind == "dwconv" else 0.0))


def fake_ops(cfg, setup=ONE, noise=0.03):
    """(whole ms, {op path: ms}) from the fake device: the whole network is 1.1 x its ops, a
    cost per module call and a fixed cost, with a seeded lognormal noise."""
    rng = np.random.default_rng(zlib.crc32(cfg.label.encode() + repr(cfg.settings).encode()))
    ops = {row.path: kernel_cost(k) * float(np.exp(rng.normal(0, noise)))
           for row in count(cfg).rows if (k := kernel_of(row)) is not None}
    whole = 1.1 * sum(ops.values()) + 0.003 * network_kernels(cfg)[3] + 0.05
    return whole * float(np.exp(rng.normal(0, noise))), ops


def truth(cfg) -> float:
    ks, _, _, calls = network_kernels(cfg)
    return 1.1 * sum(kernel_cost(k) for k in ks) + 0.003 * calls + 0.05


def kernel_calibration(points=60, archs=None, noise=0.03):
    return calibrate(ONE, budget_s=600, measure_ops=lambda c, s: fake_ops(c, s, noise),
                     max_points=points, archs=archs)


# ----------------------------------------------------------------------------- kernels

@pytest.mark.parametrize("arch", ARCHS)
def test_every_row_but_a_view_is_one_kernel_of_a_known_kind(arch):
    rng = random.Random(arch)
    for cfg in (make_config(arch, 0.75, resolution=160), random_settings(arch, rng, 1.25, 96)):
        rows = count(cfg).rows
        kernels, blocks, order, calls = network_kernels(cfg)
        assert len(kernels) == sum(r.op not in VIEWS for r in rows) == len(blocks)
        assert {k.kind for k in kernels} <= set(KINDS) and all(k.known for k in kernels)
        assert set(blocks) <= set(order) and calls > 0
        convs = [k for k in kernels if k.kind in ("conv1x1", "convkxk", "dwconv", "gconv")]
        assert sum(k.macs for k in convs) == sum(r.macs for r in rows if r.op == "conv2d")


def test_a_folded_batch_norm_is_a_call_and_an_unfolded_one_its_kernel():
    row = next(r for r in count(make_config("resnet18")).rows if r.op == "batch_norm")
    assert kernel_of(row, fold_bn=True).kind == "call"
    assert kernel_of(row, fold_bn=False).kind == "bn"


def test_timed_kernels_pair_each_op_path_with_its_kernel():
    cfg = make_config("shufflenet_v2", 0.5, resolution=96)
    _, ops = fake_ops(cfg)
    pairs = timed_kernels(cfg, ops)
    assert len(pairs) == len(ops) and all(ms > 0 for _, ms in pairs)


# ----------------------------------------------------------------------------- the model

def test_the_breakdown_adds_up_and_the_model_survives_json(cache):
    cal = kernel_calibration()
    assert cal.model["model_kind"] == "kernel" and cal.model["kernel"]["timed_kernels"] > 100
    cfg = random_settings("ghostnet", random.Random(3), 0.8, 160)
    p = M.predict(cfg, ONE)
    assert sum(ms for _, ms in p.breakdown) == pytest.approx(p.predicted_ms, rel=1e-9)
    ops = M.predict_ops(cfg, ONE)  # the Latency page's op-by-op column adds up to the blocks
    assert len(ops) == len(network_kernels(cfg)[0])
    assert sum(ops.values()) == pytest.approx(sum(ms for b, ms in p.breakdown if b != M.FIXED), rel=1e-9)
    assert p.low_ms < p.predicted_ms < p.high_ms and p.status == "predicted"
    again = KM.KernelModel(json.loads(json.dumps(cal.model["kernel"])), 1, True)
    assert again.predict(cfg)[0] == pytest.approx(p.predicted_ms, rel=1e-12)
    assert p.to_dict()["status"] == "predicted" and p.model["model_kind"] == "kernel"


def test_the_fake_device_is_learnt_on_tables_and_families_never_measured(cache):
    kernel_calibration(points=70)
    rng = random.Random(7)
    errors, inside = [], []
    for i in range(40):
        arch = ARCHS[i % len(ARCHS)]
        alpha, res = round(rng.uniform(0.3, 1.9), 2), rng.choice(range(64, 385, 8))
        cfg = random_settings(arch, rng, alpha, res) if i % 2 else make_config(arch, alpha, resolution=res)
        measured = fake_ops(cfg)[0]
        p = M.predict(cfg, ONE)
        errors.append((p.predicted_ms - measured) / measured)
        inside.append(p.low_ms <= measured <= p.high_ms)
    assert math.sqrt(np.mean(np.square(errors))) < 0.06
    assert np.mean(inside) >= 0.8  # the 90% interval, on 40 networks it never saw


def test_a_kind_never_timed_is_extrapolated_with_a_wider_interval(cache):
    model = json.loads(json.dumps(kernel_calibration().model))
    cfg = make_config("mobilenet_v2", 1.0, resolution=160)
    timed = M.predict(cfg, ONE)
    model["kernel"]["kinds"].pop("dwconv")
    store.save_model(M.resolve(ONE), model)
    store.clear_caches()
    p = M.predict(cfg, ONE)
    assert p.status == "extrapolated" and p.extrapolated_share > 0.1
    assert p.high_ms / p.low_ms > timed.high_ms / timed.low_ms
    assert p.to_dict()["status"] == "extrapolated"


def test_every_door_says_the_same_of_an_extrapolated_prediction(cache):
    from lightviz.latency.devices.sources import _extrapolated
    from lightviz.latency.model_cli import render_prediction
    from lightviz.views.predicted import interval_text

    model = json.loads(json.dumps(kernel_calibration().model))
    model["kernel"]["kinds"].pop("dwconv")
    cfg = make_config("mobilenet_v2", 1.0, resolution=160)
    p = M.predict_kernel(cfg, M.resolve(ONE), model)
    said = M.extrapolated_text(p)
    assert said.startswith("extrapolated: ") and "outside or far from the shapes timed" in said
    assert said in render_prediction(cfg, p) and said in interval_text(p) and said in _extrapolated(p)
    model = kernel_calibration().model
    assert M.extrapolated_text(M.predict_kernel(cfg, M.resolve(ONE), model)) == ""


def test_a_new_measurement_refits_the_network_term_only(cache):
    cal = kernel_calibration()
    kinds = json.dumps(cal.model["kernel"]["kinds"], sort_keys=True)
    cfg = make_config("resnet18", 0.5, resolution=128)
    store.add(cfg, ONE, truth(cfg) * 1.5, source="bench")
    model = M.refit(ONE)
    assert json.dumps(model["kernel"]["kinds"], sort_keys=True) == kinds
    assert model["measurements_in_network_term"] == len(cal.measured) + 1


def test_a_whole_network_model_still_predicts_and_says_it_is_the_previous_one(cache):
    calibrate(ONE, budget_s=600, measure=lambda c, s: fake_ops(c, s)[0], max_points=30)
    p = M.predict(make_config("mobilenet_v2", 0.5), ONE)
    assert p.model["model_kind"] == "whole-network" and "lightviz calibrate" in p.model["note"]


def test_the_host_probe_is_reported_beside_a_prediction_and_scales_it_only_when_asked(cache):
    from lightviz.latency.predictor import probe as P

    s = M.resolve(ONE)
    model = json.loads(json.dumps(kernel_calibration().model))
    model["probe"] = {"ms": {group: 1.0 for group in P.GROUPS}, "at": time.time() - 60}
    store.save_model(s, model)
    store.clear_caches()
    cfg = make_config("ghostnet", 0.5, resolution=128)
    before = M.predict(cfg, ONE)
    assert "host_ratio" not in before.model  # no probe since the calibration
    P.save_state(s, {"dense": 1.25, "depthwise": 1.25, "elementwise": 1.25, "calls": 1.25})
    p = M.predict(cfg, ONE)
    assert p.model["host_ratio"] == pytest.approx(1.25) and p.predicted_ms == pytest.approx(before.predicted_ms)
    scaled = M.predict_kernel(cfg, s, store.load_model(s), scale_to_host=True)
    net = model["kernel"]["network"]
    calls = network_kernels(cfg)[3]
    kernels = before.predicted_ms - net["fixed"] - net["per_call"] * calls
    assert scaled.predicted_ms == pytest.approx(net["fixed"] + 1.25 * (kernels + net["per_call"] * calls))
    # by group: only the depthwise convs slowed down
    P.save_state(s, {"dense": 1.0, "depthwise": 2.0, "elementwise": 1.0, "calls": 1.0})
    dw = M.predict_kernel(cfg, s, store.load_model(s), scale_to_host=True)
    assert before.predicted_ms < dw.predicted_ms < 2 * before.predicted_ms
    assert 1.0 < dw.model["host_ratio"] < 2.0 and dw.model["host_ratios"]["depthwise"] == 2.0


def test_the_widening_stays_finite_when_a_network_missed_without_extrapolating():
    """A left-out network outside the interval with nothing extrapolated needs an infinite
    widening: the quantile must not interpolate inf - inf into a NaN (which made every interval
    of the model NaN)."""
    log_ratio = np.array([0.0] * 7 + [0.9, -0.8, 0.5])
    share = np.zeros(10)
    w = H._widening(log_ratio, share, -0.1, 0.1)
    assert math.isfinite(w) and H.WIDEN <= w <= math.log(4.0)


def test_a_kernel_inside_the_range_on_every_axis_but_far_from_every_timed_one_is_extrapolated():
    """The range check alone passed a 1x1 conv of 560 channels on 165 x 165 px (wide, and large,
    but never both at once in a calibration): it ran 27% slower than predicted, unflagged."""
    from lightviz.latency.predictor.kernels import Kernel

    def conv(c, side):
        return Kernel("conv1x1", op="conv2d", c_in=c, h=side, w=side, c_out=c, out_h=side,
                      out_w=side, k=1, stride=1, groups=1, bias=True, pad=0)

    timed = [conv(c, side) for c, side in ((16, 160), (24, 128), (32, 112), (512, 8), (640, 10), (560, 12))]
    ms = [0.001 * k.macs / 1e5 + 0.01 for k in timed]
    kind = KM.KindModel(KF.fit_kind(timed, [3.0] * len(timed), ms, 1))
    far, near = conv(560, 165), conv(24, 140)
    z = np.stack([far.descriptor(), near.descriptor()])
    assert kind.inside(z).all()  # within the timed range on every axis ...
    _, _, timed_near, _ = kind.predict(np.stack([far.terms(), near.terms()]), z)
    assert list(timed_near) == [False, True]  # ... but only one is near a timed kernel


def _relu(c, side):
    from lightviz.latency.predictor.kernels import Kernel
    return Kernel("relu", op="relu", c_in=c, h=side, w=side, c_out=c, out_h=side, out_w=side)


def test_reading_costs_more_in_a_longer_network_and_the_fit_finds_by_how_much():
    """Each value read costs 0.02 ms per million more per octave of the network's own time past
    1 ms (a fake law): the fit recovers it, and a kernel's time follows its network's."""
    rng = np.random.default_rng(0)
    timed = [_relu(int(c), int(s)) for c, s in zip(rng.integers(8, 512, 300), rng.integers(4, 160, 300))]
    contexts = rng.uniform(-0.5, 5.0, len(timed))  # log2 ms: inside and past the 1-16 ms clip

    def law(k, ctx):
        return 0.004 + k.values_in / 1e6 * (0.05 + 0.02 * KM.read_octaves(ctx))

    fitted = KF.fit_kind(timed, contexts, [law(k, c) for k, c in zip(timed, contexts)], 1)
    assert fitted["read_context"] == pytest.approx(0.02, rel=0.02)
    model = KM.KernelModel({"kinds": {"relu": fitted}, "network": {"fixed": 0.0, "scale": 1.0, "per_call": 0.0}})
    k = _relu(64, 56)
    for ctx in (0.0, 2.0, 4.0, 6.0):  # 1, 4, 16 and 64 ms (clipped at 16)
        assert model.kernel_ms([k], ctx)[0][0] == pytest.approx(law(k, ctx), rel=0.03)


def test_a_model_from_before_the_read_term_predicts_as_it_did():
    """A version-3 model (no ``read_context``): each kernel its base times its kind's slope
    factor, whatever the network's context."""
    rng = np.random.default_rng(1)
    timed = [_relu(int(c), int(s)) for c, s in zip(rng.integers(8, 512, 60), rng.integers(4, 160, 60))]
    fitted = KF.fit_kind(timed, [3.0] * 60, [0.004 + k.values_in / 2e7 for k in timed], 1)
    old = {key: v for key, v in fitted.items() if key != "read_context"} | {"slope": 0.05}
    model = KM.KernelModel({"kinds": {"relu": old}, "network": {"fixed": 0.0, "scale": 1.0, "per_call": 0.0},
                            "kernel_version": 3})
    k = _relu(64, 56)
    ref = model.kernel_ms([k])[0][0]
    for ctx in (0.0, 1.0, 5.0):
        assert model.kernel_ms([k], ctx)[0][0] == pytest.approx(ref * math.exp(0.05 * float(KM.context_x(ctx))))


def test_a_network_faster_than_every_calibrated_one_is_extrapolated_and_says_so(cache):
    """Its context lies below what the network term and the context terms were fitted on (the
    plugin family's 1 ms networks, under every calibration network's 2 ms): the number stays,
    the interval widens, and the sentence says why."""
    cal = kernel_calibration(points=20)
    kernel = cal.model["kernel"]
    assert 0 < kernel["fastest_network_ms"] == pytest.approx(min(n[1] for n in cal.networks), rel=1e-3)
    cfg = make_config("mobilenet_v2", 0.35, resolution=96)
    plain = M.predict_kernel(cfg, ONE, cal.model)
    fast = M.predict_kernel(cfg, ONE, dict(cal.model, kernel=dict(kernel, fastest_network_ms=4 * plain.predicted_ms)))
    assert fast.predicted_ms == plain.predicted_ms and fast.extrapolated_share == 1.0
    assert fast.status == "extrapolated" and fast.low_ms < plain.low_ms and fast.high_ms > plain.high_ms
    assert "faster than every network its calibration measured" in M.extrapolated_text(fast)
    # scaled to a host now four times slower, it is still the calibration's context it lies below
    from lightviz.latency.predictor import probe as P

    probed = dict(cal.model, kernel=dict(kernel, fastest_network_ms=4 * plain.predicted_ms),
                  probe={"ms": {group: 1.0 for group in P.GROUPS}, "at": time.time() - 60})
    P.save_state(M.resolve(ONE), {group: 4.0 for group in P.GROUPS})
    now = M.predict_kernel(cfg, ONE, probed, scale_to_host=True)
    assert now.predicted_ms > 2 * plain.predicted_ms and now.extrapolated_share == 1.0
    assert "faster than every network its calibration measured" in M.extrapolated_text(now)
    slower = dict(kernel, fastest_network_ms=plain.predicted_ms / 2)  # not below it: nothing changes
    assert M.predict_kernel(cfg, ONE, dict(cal.model, kernel=slower)).high_ms == plain.high_ms
