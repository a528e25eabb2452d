"""The host's drift during a calibration taken out of its measurements, max and average
pooling as kinds of their own, and deep kernel chains (issue 19): what a family left out takes
with it (ResNet's wide dense 3x3 convs on a few pixels, ShuffleNet v1's average pools) is still
timed, and a slow stretch of the host does not make the whole model slow."""

from __future__ import annotations

import itertools
import json
import math
import random

import numpy as np
import pytest
from test_kernel_model import kernel_calibration  # beside this file

from lightviz import make_config
from lightviz.counting import count
from lightviz.latency.devices import devicefile
from lightviz.latency.predictor import heldout as H
from lightviz.latency.predictor import kernel_fit as KF
from lightviz.latency.predictor import kernel_model as KM
from lightviz.latency.predictor import model as M
from lightviz.latency.predictor import probe as P
from lightviz.latency.predictor import store
from lightviz.latency.predictor.chains import chains, random_chain
from lightviz.latency.predictor.drift import DEADBAND, MAX_FACTOR, Drift, deflate, states
from lightviz.latency.predictor.kernels import kernel_of, network_kernels
from lightviz.latency.setup import Setup

ONE = Setup(threads=1)


def probes(*totals, every=10.0):
    d = Drift()
    for i, ms in enumerate(totals):
        d.add(i * every, {"dense": ms * 0.75, "elementwise": ms * 0.25})
    return d


def test_a_slow_stretch_between_two_slow_probes_is_scaled_back_to_the_undisturbed_host():
    d = probes(2.0, 2.02, 1.98, 2.6, 2.6, 2.0, 2.01)
    assert d.reference() == pytest.approx(2.0, rel=0.01)
    assert d.factor(5.0) == 1.0  # between two quiet probes
    assert d.factor(35.0) == pytest.approx(1.3, rel=0.02)  # both neighbours slow
    assert d.factor(25.0) == 1.0 and d.factor(45.0) == 1.0  # one neighbour quiet: not a phase
    assert d.factor(1e6) == 1.0  # after the last probe: the last one alone


def test_a_host_slow_for_most_of_a_campaign_is_still_scaled_back_and_a_lone_fast_probe_is_noise():
    """The undisturbed state is the lower tail of the probes (a campaign quiet for its first
    probes only, slow after, as one on this machine was), but never the one fastest probe."""
    d = probes(2.0, 2.0, 2.0, *[2.4] * 13)
    assert d.reference() == pytest.approx(2.0) and d.factor(85.0) == pytest.approx(1.2)
    lone = probes(1.6, *[2.0] * 15)  # one fast probe (a boost at the start): not the host's state
    assert lone.reference() == pytest.approx(2.0) and lone.factor(85.0) == 1.0


def test_drift_within_the_probe_noise_or_without_probes_is_left_alone():
    assert probes(2.0, 2.0 * DEADBAND * 0.99, 2.0 * DEADBAND * 0.99, 2.0).factor(15.0) == 1.0
    assert probes(2.0, 2.6).factor(5.0) == 1.0  # fewer than 3 probes: no reference
    assert probes(1.0, 1.0, 1.0, 9.0, 9.0).factor(35.0) == MAX_FACTOR
    assert Drift().due(0.0) and not probes(1.0).due(5.0) and probes(1.0).due(10.0)


def test_deflate_divides_each_op_and_the_summary_says_what_moved():
    ops = [("a", 2.0), ("b", 4.0)]
    assert deflate(ops, 2.0) == [("a", 1.0), ("b", 2.0)] and deflate(ops, 1.0) == ops
    s = probes(2.0, 2.0, 2.0, 2.8, 2.8).summary([1.0, 1.4], [1.4], [12.5, 33.0], [34.0])
    assert s["probes"] == 5 and s["scaled"] == 1 and s["of"] == 2 and s["max_factor"] == 1.4
    # enough to try another rule on a kept campaign: when each probe was taken, each group's ms,
    # and what each network and chain was divided by
    assert s["probe_at_s"] == [0.0, 10.0, 20.0, 30.0, 40.0] and s["chain_factors"] == [1.4]
    assert s["network_at_s"] == [12.5, 33.0] and s["chain_at_s"] == [34.0]
    assert s["probe_groups_ms"] == {"dense": [1.5, 1.5, 1.5, 2.1, 2.1], "elementwise": [0.5, 0.5, 0.5, 0.7, 0.7]}
    devicefile._drift(json.loads(json.dumps(s)), "calibration.drift")  # a device file carries it
    assert set(devicefile.PROBE_GROUPS) == set(P.GROUPS)
    with pytest.raises(ValueError, match="probe_groups_ms"):
        devicefile._drift(dict(s, probe_groups_ms={"dense": [-1.0]}), "calibration.drift")


def test_max_and_average_pooling_are_kinds_of_their_own():
    rows = {r.op: r for r in count(make_config("shufflenet_v1", 1.0, resolution=224, groups=3)).rows}
    assert kernel_of(rows["max_pool"]).kind == "pool" and kernel_of(rows["avg_pool"]).kind == "avgpool"


def test_a_model_from_before_average_pooling_was_a_kind_costs_it_as_it_was_timed(cache):
    cal = kernel_calibration(points=40)
    model = json.loads(json.dumps(cal.model))
    kinds = model["kernel"]["kinds"]
    assert "avgpool" in kinds  # ShuffleNet v1's shortcut pools were timed as their own kind
    pools = [k for cfg, _, _ in cal.networks if cfg.arch == "shufflenet_v1"
             for k in network_kernels(cfg)[0] if k.kind == "avgpool"]  # shapes it timed
    assert pools
    old = dict(model["kernel"], kernel_version=2, kinds={**kinds, "pool": kinds.pop("avgpool")})
    ms, extra = KM.KernelModel(old).kernel_ms(pools)
    assert not extra.any() and (ms > 0).all()  # a version-2 model timed them as "pool"
    new = dict(model["kernel"], kinds=kinds)  # version 3 without the kind: a stand-in, said
    assert KM.KernelModel(new).kernel_ms(pools)[1].all()


def test_deep_chains_time_wide_dense_convs_on_a_few_pixels_and_average_pools():
    deep = [random_chain(random.Random(i), i, deep=True) for i in range(30)]
    kernels = [k for ch in deep for _, k in ch.kernels()]
    wide = [k for k in kernels if k.kind == "convkxk" and k.c_in >= 128 and k.out_h * k.out_w <= 256]
    assert len(wide) >= 10
    assert all(k.out_h <= 32 for ch in deep for p, k in ch.kernels() if p.startswith("widen"))
    seen = {k.kind for ch in itertools.islice(chains(seed=0), 80) for _, k in ch.kernels()}
    assert {"pool", "avgpool", "linear"} <= seen


def test_small_chains_time_every_kind_at_its_narrowest():
    small = [random_chain(random.Random(i), i, small=True, deep=False) for i in range(30)]
    assert all(32 <= ch.resolution <= 160 for ch in small)
    assert sum(ch.macs() <= 1e7 for ch in small) >= 25  # the stem alone may be over
    kernels = [k for ch in small for _, k in ch.kernels()]
    assert {"gconv", "dwconv", "conv1x1"} <= {k.kind for k in kernels if k.c_in <= 32}
    convs = [k for k in kernels if k.kind in ("conv1x1", "convkxk", "gconv", "dwconv")]
    assert max(k.c_out for k in convs) <= 512  # narrow (256, a concatenation doubling it): no 8-4096 draws


def test_thin_chains_time_few_channels_on_large_maps():
    """A narrow network's first stages (a TinyNet's grouped convs, shuffles and depthwise convs
    of 8-32 channels on 89-177 px ran 1.5-3x faster than a calibration without them said)."""
    thin = [random_chain(random.Random(i), i, thin=True, deep=False, small=False) for i in range(40)]
    assert all(96 <= ch.resolution <= 384 for ch in thin)
    kernels = [k for ch in thin for _, k in ch.kernels()]
    convs = [k for k in kernels if k.kind in ("conv1x1", "convkxk", "gconv", "dwconv")]
    assert max(k.c_out for k in convs) <= 128  # 64 at most, a concatenation doubling it
    few_on_large = {k.kind for k in kernels if k.c_in <= 32 and k.out_h >= 48}
    assert {"gconv", "shuffle", "dwconv", "conv1x1"} <= few_on_large


def test_grouped_chains_time_grouped_convs_and_shuffles():
    """ShuffleNet v1 is the only family with grouped convs: left out of a calibration, the chains
    are all that times them (62 in seed 21's, its grouped convs 35% over). A grouped chain
    draws one for 40% of its layers, on top of its share of the rest."""
    def kinds(grouped: bool) -> list[str]:
        made = [random_chain(random.Random(i), i, deep=False, grouped=grouped) for i in range(30)]
        return [k.kind for ch in made for _, k in ch.kernels()]
    grouped, plain = kinds(True), kinds(False)
    assert grouped.count("gconv") / len(grouped) >= 2.5 * plain.count("gconv") / len(plain)
    assert grouped.count("shuffle") > plain.count("shuffle")


def test_a_calibration_records_its_drift_and_the_model_survives_a_device_file(cache):
    cal = kernel_calibration(points=20)  # a fake timer: no probe, nothing scaled
    drift = cal.model["calibration"]["drift"]
    assert drift["probes"] == 0 and drift["scaled"] == 0 and drift["of"] == len(cal.networks)
    devicefile._calibration(json.loads(json.dumps(cal.model["calibration"])), "model.calibration")
    store.clear_caches()
    assert M.predict(make_config("resnet18", 1.0, resolution=160), ONE).predicted_ms > 0


def test_the_undisturbed_state_is_each_group_s_median_over_the_quiet_probes():
    d = Drift()
    for i, (dense, elem) in enumerate([(1.5, 0.5), (1.6, 0.5), (2.4, 1.0), (1.4, 0.5), (1.5, 0.6)]):
        d.add(10.0 * i, {"dense": dense, "elementwise": elem})
    assert d.state() == {"dense": 1.5, "elementwise": 0.5}  # the slow probe (3.4 ms) left out
    assert probes(1.0, 1.0).state() is None


def test_a_prediction_says_which_host_state_it_is_for(cache):
    cfg = make_config("mobilenet_v2", 1.0, resolution=160)
    model = json.loads(json.dumps(kernel_calibration(points=20).model))  # a fake timer: never probed
    assert M.predict_kernel(cfg, M.resolve(ONE), model).model["host_state"] == "as calibrated"
    model["calibration"]["drift"].update(probes=16)
    p = M.predict_kernel(cfg, M.resolve(ONE), model)
    assert p.model["host_state"] == "undisturbed"
    from lightviz.latency.model_cli import render_prediction

    assert "for the host undisturbed" in render_prediction(cfg, p)


def test_both_doors_say_the_same_of_a_family_never_calibrated(cache):
    from lightviz.latency.model_cli import render_prediction
    from lightviz.views.predicted import interval_text

    model = kernel_calibration(points=24, archs=["mobilenet_v2", "mobilenet_v1", "resnet18"]).model
    cfg = make_config("ghostnet", 1.0, resolution=160)
    p = M.predict_kernel(cfg, M.resolve(ONE), model)
    said = M.unseen_family_text(p.model)
    assert said.startswith("GhostNet was never calibrated here")
    assert said in render_prediction(cfg, p) and said in interval_text(p)
    assert M.unseen_family_text(M.predict_kernel(make_config("resnet18", 1.0, resolution=160),
                                                 M.resolve(ONE), model).model) == ""


def test_a_deep_chains_map_wide_pool_travels_in_a_device_file():
    """A deep chain's average pool spans most of its map (an 83 x 83 window, stride 83, on 166
    px): its descriptor's kernel was refused by the device file's range (at most 64), so a
    calibration that had timed one could not be exported."""
    from lightviz.latency.predictor.kernels import Kernel

    def avgpool(k, side):
        out = side // k
        return Kernel("avgpool", op="avg_pool2d", c_in=32, h=side, w=side, c_out=32, out_h=out,
                      out_w=out, k=k, stride=k, groups=1, bias=False, pad=0)

    pools = [avgpool(83, 166), avgpool(3, 56), avgpool(2, 112), avgpool(40, 160)]
    kind = KF.fit_kind(pools, [3.0] * len(pools), [0.05, 0.02, 0.03, 0.04], 1)
    assert max(z[3] for z in kind["z"]) == 83
    devicefile._kind(json.loads(json.dumps(kind)), "model.kernel.kinds.avgpool")


def test_the_host_states_are_the_probes_slowdowns_within_the_deadband_and_the_cap():
    d = probes(2.0, 2.0, 2.0, 2.0 * DEADBAND * 0.99, 2.4, 9.0)
    assert d.states() == pytest.approx([0.0, 0.0, 0.0, 0.0, math.log(1.2), math.log(MAX_FACTOR)])
    assert states([2.0, 2.4], 2.0) == pytest.approx([0.0, math.log(1.2)])
    assert probes(2.0, 2.4).states() == [] and states([2.0], None) == []  # no reference: no states


def test_the_interval_holds_a_later_measurement_in_the_host_states_the_probes_met():
    """The model predicts the undisturbed host; a measurement made later meets the host in one
    of the states the campaign's probes sampled (here half of them 8% slower, a tenth 20%): the
    high bound holds the held-out errors in each, the low bound stays where the host is
    undisturbed."""
    rng = np.random.default_rng(0)
    host = [0.0] * 7 + [math.log(1.08)] * 7 + [math.log(1.2)] * 2
    held_out = rng.normal(0.0, 0.05, 200)
    later = rng.normal(0.0, 0.05, 4000) + rng.choice(host, 4000)
    lo, hi = H.bounds(held_out)
    lo_h, hi_h = H.bounds(held_out, host)
    assert lo_h == lo and hi_h > hi
    assert np.mean((later >= lo) & (later <= hi)) < 0.85  # the undisturbed interval misses
    assert 0.88 <= np.mean((later >= lo_h) & (later <= hi_h)) <= 0.95
    assert H.bounds(held_out, [0.0] * 16) == (lo, hi)  # a quiet campaign's interval is as it was


def test_a_model_fitted_in_the_host_states_says_so_and_travels_in_a_device_file(cache):
    cal = kernel_calibration(points=20)
    model = M.kernel_model(cal.networks, M.resolve(ONE), cal.chains, host=[0.0, 0.0, math.log(1.3)])
    iv, plain = model["interval"], cal.model["interval"]
    assert iv["host_states"] == 3 and iv["log_low"] == plain["log_low"]
    assert iv["log_high"] > iv["undisturbed_log_high"] == pytest.approx(plain["log_high"])
    assert "3 host states" in iv["from"]
    # both doors say it, in the same sentence
    from lightviz.latency.model_cli import render_prediction
    from lightviz.views.predicted import interval_text

    cfg = make_config("ghostnet", 1.0, resolution=160)
    p = M.predict_kernel(cfg, M.resolve(ONE), json.loads(json.dumps(model)))
    said = M.host_states_text(p.model)
    assert "3 probes" in said and said in render_prediction(cfg, p) and said in interval_text(p)
    assert M.host_states_text(M.predict_kernel(cfg, M.resolve(ONE), cal.model).model) == ""
    devicefile._interval(json.loads(json.dumps(iv)), "model.interval")
    for bad in (iv["log_high"] + 0.1, None):
        with pytest.raises(ValueError, match="undisturbed_log_high"):
            devicefile._interval(dict(iv, undisturbed_log_high=bad), "model.interval")
    assert M.host_states_text({"interval": dict(iv, undisturbed_log_high=None)}) == ""
