"""The calibration's short networks (issue 19): the papers' tables cut to a few blocks, so the
network term and the kinds' contexts are fitted on networks of a millisecond too (a plugin's toy
family, a student's cut-down table), not only on the zoo's, which run for 2 ms or more."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from lightviz import make_config
from lightviz.counting import count
from lightviz.latency.predictor.calibrate import design
from lightviz.latency.predictor.design import SHORT_MACS, SHORT_SIDE, kernel_design, short_settings
from lightviz.latency.predictor.kernels import network_kernels
from lightviz.zoo import REGISTRY


@pytest.mark.parametrize("arch", REGISTRY.builtin)
def test_a_short_network_is_a_table_the_design_page_accepts_cut_to_a_few_blocks(arch):
    rng = random.Random(7)
    for _ in range(5):
        cfg = short_settings(arch, rng)
        assert cfg is not None and cfg.arch == arch and cfg.settings is not None
        again = make_config(arch, cfg.alpha, resolution=cfg.resolution, groups=cfg.groups,
                            settings=cfg.settings)  # what the Design page would build from it
        assert again == cfg
        assert SHORT_SIDE[0] <= cfg.resolution <= SHORT_SIDE[1]
        paper = make_config(arch, cfg.alpha, resolution=cfg.resolution, groups=cfg.groups)
        assert len(network_kernels(cfg)[0]) < len(network_kernels(paper)[0])
        assert count(cfg).macs <= SHORT_MACS[1]


def test_a_family_without_a_table_has_no_short_network(monkeypatch):
    monkeypatch.setitem(REGISTRY._archs, "mobilenet_v2", replace(REGISTRY["mobilenet_v2"], table=None))
    assert short_settings("mobilenet_v2", random.Random(0)) is None


def test_the_design_puts_a_short_network_of_the_same_architecture_after_every_third_point():
    zoo = design(per_arch=3, seed=4)
    with_short = list(kernel_design(zoo, seed=4))
    without = list(kernel_design(zoo, seed=4, short_every=0))
    plain = set(without)
    short = [c for c in with_short if c not in plain]
    assert [c for c in with_short if c in plain] == without  # the rest unchanged, in order
    assert len(short) == len(zoo) // 3
    for cfg in short:
        before = with_short[with_short.index(cfg) - 1]
        assert cfg.arch == before.arch and cfg.groups == before.groups
    assert list(kernel_design(zoo, seed=4)) == with_short  # seeded
