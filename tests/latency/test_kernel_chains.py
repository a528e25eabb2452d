"""Kernel chains (issue 19): kernels timed on a designed spread of shapes that belongs to no
family, so a family left out of the calibration still finds its kernels timed; and the lab's
steady memory (freed memory kept while measuring), which makes an op's time its own and not the
allocator's history."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from test_kernel_model import fake_ops, kernel_cost  # beside this file

from lightviz import make_config
from lightviz.latency.lab.allocator import state, steady_memory
from lightviz.latency.predictor import model as M
from lightviz.latency.predictor.calibrate import calibrate
from lightviz.latency.predictor.chains import MAX_LAYERS, MAX_VALUES, chains, random_chain
from lightviz.latency.predictor.kernels import KINDS, network_kernels
from lightviz.latency.setup import Setup

ONE = Setup(threads=1)


def fake_chain(chain, setup=ONE):
    return {path: kernel_cost(k) for path, k in chain.kernels(setup.fold_bn)}


def test_chains_cover_every_kind_of_conv_and_flow_op_within_the_designed_ranges():
    seen, gen = set(), chains(seed=0)
    for _ in range(120):
        chain = next(gen)
        rows = chain.rows()
        assert 32 <= chain.resolution <= 512 and len(rows) > 0
        assert all(r.out_c * r.out_h * r.out_w <= MAX_VALUES for r in rows)
        assert sum(r.op == "conv2d" for r in rows) <= MAX_LAYERS + 1 + 2  # layers, stem, SE's pair
        kernels = [k for _, k in chain.kernels()]
        assert {k.kind for k in kernels} <= set(KINDS) and all(k.known for k in kernels)
        assert all(8 <= k.c_out <= 4096 for k in kernels if k.kind in ("conv1x1", "convkxk", "dwconv", "gconv")
                   and k.c_in != 3)
        seen |= {k.kind for k in kernels}
    assert {"conv1x1", "convkxk", "dwconv", "gconv", "add", "cat", "shuffle", "mul", "pool", "avgpool",
            "gap", "linear", "relu", "relu6", "hardsigmoid", "call"} <= seen


def test_a_chain_is_seeded_and_its_budget_holds():
    a, b = next(chains(seed=3)), next(chains(seed=3))
    assert a == b and a != next(chains(seed=4))
    for seed in range(20):  # the stem alone may be over; past it, every layer and the head fit
        chain = random_chain(random.Random(seed), max_macs=2e7, deep=False)
        assert chain.macs() <= 2e7 or len(chain.rows()) <= 3


def test_chains_time_the_kernels_a_left_out_family_needs(cache):
    """Calibrated on MobileNet v2 alone, ResNet-18's wide dense 3x3 convs are shapes no network
    timed: extrapolated without chains, inside the timed range with them."""
    cfg = make_config("resnet18", 1.0, resolution=160)
    plain = calibrate(ONE, budget_s=600, measure_ops=lambda c, s: fake_ops(c, s), max_points=14,
                      archs=["mobilenet_v2"])
    without = M.predict(cfg, ONE)
    with_chains = calibrate(ONE, budget_s=600, measure_ops=lambda c, s: fake_ops(c, s), max_points=14,
                            archs=["mobilenet_v2"], measure_chain=fake_chain)
    assert plain.chains == [] and len(with_chains.chains) >= 6
    assert with_chains.model["kernel"]["chains"] == len(with_chains.chains)
    assert with_chains.model["calibration"]["chains"] == len(with_chains.chains)
    p = M.predict(cfg, ONE)
    assert without.status == "extrapolated" and p.extrapolated_share < without.extrapolated_share
    truth = 1.1 * sum(kernel_cost(k) for k in network_kernels(cfg)[0])
    assert abs(p.predicted_ms / truth - 1) < abs(without.predicted_ms / truth - 1)


def test_the_lab_times_a_chain_op_by_op_in_place(cache):
    from lightviz.latency.lab.protocol import Bench

    chain = random_chain(random.Random(5), max_macs=5e6, side=48)
    ops = Bench().spec_op_times(chain.spec, chain.resolution, ONE, 0.05, chain.label)
    paths = [p for p, _ in chain.kernels()]
    assert set(paths) <= set(ops) and all(math.isfinite(ops[p]) and ops[p] > 0 for p in paths)


def test_a_network_and_its_ops_are_timed_in_the_setups_own_mode(cache):
    """``op_times`` times the whole network in the setup's mode (a CUDA graph's kernel model is
    fitted to graph replays, not to eager runs) and its ops in place; asking for device time (a
    CUDA graph's kernels, each behind a GPU spin) changes nothing on a CPU, where every op is
    timed where it runs."""
    import torch

    from lightviz.latency.lab import layers as L
    from lightviz.latency.lab.protocol import Bench
    from lightviz.latency.lab.timing import Timer

    cfg, bench = make_config("mobilenet_v2", 0.35, resolution=64), Bench()
    try:
        whole, ops = bench.op_times(cfg, ONE, 0.05)
        assert whole.setup.mode == ONE.mode and whole.setup.runtime == "torch" and len(ops) > 20
        model, x = bench.model, torch.randn(1, 3, 64, 64)
        with torch.inference_mode():
            plain = L.time_instrumented(model, x, Timer("cpu"), "ops", None, 0.02)
            spun = L.time_instrumented(model, x, Timer("cpu"), "ops", None, 0.02, device_time=True)
    finally:
        bench.release()
    assert set(plain.samples) == set(spun.samples) == set(ops)
    assert min(plain.passes, spun.passes) >= L.MIN_PASSES and spun.pass_ms > 0


def test_a_cuda_graphs_parts_are_each_launched_behind_a_spin_longer_than_the_cpus_step(monkeypatch):
    """Device time (a CUDA graph's kernels, no launch gaps): before each part the probe enqueues
    a GPU spin twice the CPU's 90th-percentile step of the last pass (and 20 us), within 5 ms, and
    the pass reports the spin it enqueued so the wall time leaves it out. No GPU here: the spin
    itself (``torch.cuda._sleep``) is recorded instead of run; the bookkeeping is the real one."""
    import time

    from lightviz.latency.lab import cudagraph
    from lightviz.latency.lab import layers as L
    from lightviz.latency.lab.timing import Timer

    spins: list[float] = []
    monkeypatch.setattr(cudagraph, "gpu_busy", lambda device, ms: spins.append(ms))
    probe = L._Probe(Timer("cpu"), device_time=True)
    probe._spin = True  # what a CUDA timer turns on

    def one_pass(step_s):
        for i in range(5):
            probe.start(f"op{i}")
            time.sleep(step_s)
            probe.stop(f"op{i}")
        return probe.end_pass()

    assert one_pass(0.002) == pytest.approx(5 * 0.5) and spins == [0.5] * 5  # before any step is known
    assert 2 * 2.0 + 0.02 <= probe._spin_ms <= 5.0  # twice the step of 2 ms, and 20 us
    assert one_pass(0.0) == pytest.approx(5 * spins[-1]) and probe._spin_ms < 1.0  # a fast step, a short spin
    one_pass(0.004)
    assert probe._spin_ms == L._Probe.SPIN_MS[1]  # a slow CPU spins 5 ms at most
    assert set(probe.samples) == {f"op{i}" for i in range(5)}


def test_steady_memory_nests_and_says_what_held():
    with steady_memory() as outer:
        with steady_memory() as inner:
            assert inner == outer
        x = np.ones(1 << 20)  # allocations still work
        assert x.sum() == 1 << 20
    assert ("glibc" in state()) == outer


@pytest.mark.parametrize("arch", ["mobilenet_v2"])
def test_a_measurement_passport_names_its_allocator(cache, arch):
    from dataclasses import replace

    from lightviz.latency.lab.protocol import Bench

    r = Bench().run(make_config(arch, 0.35, resolution=64), replace(ONE, budget_s=0.05))
    assert r.passport["allocator"] == state()
