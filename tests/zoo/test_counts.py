"""Golden numbers by recomputation: totals, the reference builders' grid, the papers' tables."""

import json
from pathlib import Path

import pytest

import lightviz

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "golden" / "reference_counts.json").read_text())

# The exact totals at alpha 1.0, 224 x 224, 1000 classes (torchvision / timm).
EXACT = {
    "resnet18": (11_689_512, 1_814_073_344),
    "resnet34": (21_797_672, 3_663_761_408),
    "resnet50": (25_557_032, 4_089_184_256),
    "mobilenet_v1": (4_231_976, 568_740_352),
    "mobilenet_v2": (3_504_872, 300_774_272),
    "shufflenet_v2": (2_278_604, 144_907_992),
    "ghostnet": (5_182_508, 141_150_512),
}


@pytest.mark.parametrize("arch", sorted(EXACT))
def test_exact_totals_at_224(arch):
    p = lightviz.profile(arch)
    assert (p.params, p.macs) == EXACT[arch]
    assert p.flops == 2 * p.macs
    assert p.resolution == 224 and p.rho == 1.0


# ShuffleNet paper Table 1 complexity at 1x (MFLOPs = mega multiply-adds).
SHUFFLENET_V1_PAPER = {1: 143e6, 2: 140e6, 3: 137e6, 4: 133e6, 8: 137e6}


@pytest.mark.parametrize("groups", sorted(SHUFFLENET_V1_PAPER))
def test_shufflenet_v1_matches_table_1(groups):
    p = lightviz.profile("shufflenet_v1", groups=groups)
    assert abs(p.macs / SHUFFLENET_V1_PAPER[groups] - 1) < 0.015


def test_shufflenet_v1_params_match_the_released_models():
    assert abs(lightviz.profile("shufflenet_v1", groups=3).params - 1.9e6) < 0.1e6
    assert abs(lightviz.profile("shufflenet_v1", groups=8).params - 2.4e6) < 0.1e6
    assert abs(lightviz.profile("shufflenet_v1", 0.5, groups=3).params - 0.7e6) < 0.1e6


def _golden_id(e):
    return f"{e['arch']}-{e['alpha']}-{e['resolution']}-{e['classes']}"


@pytest.mark.parametrize("entry", GOLDEN["entries"], ids=_golden_id)
def test_reference_builders_grid(entry):
    """Counts pinned once from torchvision 0.29.1 / timm 1.0.31 (tests/golden/make_golden.py)."""
    p = lightviz.profile(entry["arch"], entry["alpha"], resolution=entry["resolution"],
                         classes=entry["classes"])
    assert (p.params, p.macs) == (entry["params"], entry["macs"]), entry["builder"]


def test_golden_grid_covers_every_family_at_several_widths():
    archs = {e["arch"] for e in GOLDEN["entries"]}
    assert archs == set(lightviz.ARCHS) - {"shufflenet_v1"}  # no reference builder for v1
    for arch in archs:
        assert len({e["alpha"] for e in GOLDEN["entries"] if e["arch"] == arch}) >= 4


# MobileNets paper Tables 6 and 7 (and 9): (alpha, resolution) -> (params, Mult-Adds), rounded
# as the paper rounds them (params to 0.1 M, MACs to 1 M).
MOBILENET_V1_PAPER = {
    (1.0, 224): (4.2e6, 569e6),
    (0.75, 224): (2.6e6, 325e6),
    (0.5, 224): (1.3e6, 149e6),
    (0.25, 224): (0.5e6, 41e6),
    (1.0, 192): (4.2e6, 418e6),
    (1.0, 160): (4.2e6, 290e6),
    (1.0, 128): (4.2e6, 186e6),
    (0.5, 160): (1.32e6, 76e6),
}


@pytest.mark.parametrize("alpha,resolution", sorted(MOBILENET_V1_PAPER))
def test_mobilenet_v1_tables_6_and_7(alpha, resolution):
    params, macs = MOBILENET_V1_PAPER[(alpha, resolution)]
    p = lightviz.profile("mobilenet_v1", alpha, resolution=resolution)
    assert round(p.macs / 1e6) == pytest.approx(macs / 1e6, abs=1)
    assert abs(p.params - params) <= 0.05e6 + 1e4


def test_mobilenet_v1_table_2_where_the_cost_sits():
    """Table 2: 1x1 convs hold 94.86% of the Mult-Adds and 74.59% of the parameters."""
    p = lightviz.profile("mobilenet_v1")
    df = p.layers
    weights = p.params - df[df.kind == "batch norm"].params.sum()  # the paper counts weights
    share = lambda kind, col, total: 100 * df[df.kind == kind][col].sum() / total  # noqa: E731
    assert share("pointwise conv", "macs", p.macs) == pytest.approx(94.86, abs=0.05)
    assert share("depthwise conv", "macs", p.macs) == pytest.approx(3.06, abs=0.05)
    assert share("linear", "macs", p.macs) == pytest.approx(0.18, abs=0.05)
    # The paper prints 1.19% for the 3x3 stem: the digits of 1.91%, which is what sums to 100.
    assert share("standard conv", "macs", p.macs) == pytest.approx(1.91, abs=0.05)
    assert share("pointwise conv", "params", weights) == pytest.approx(74.59, abs=0.1)
    assert share("depthwise conv", "params", weights) == pytest.approx(1.06, abs=0.05)
    assert share("linear", "params", weights) == pytest.approx(24.33, abs=0.1)


def test_params_scale_as_alpha_squared_and_macs_as_alpha_squared_rho_squared():
    """At alpha 0.5 every MobileNet v1 width halves exactly and at half the resolution every map halves: the
    1x1 convs (M x N weights) fall by alpha^2 in params and alpha^2 rho^2 in MACs; the depthwise
    convs (M weights each) by alpha and alpha rho^2."""
    # 256 and 128 pixels: every stride-2 map halves exactly (at 224 -> 112 the 7x7 map -> 4x4).
    base = lightviz.profile("mobilenet_v1", 1.0, resolution=256).layers
    half = lightviz.profile("mobilenet_v1", 0.5, resolution=128).layers
    total = lambda df, kind, col: df[df.kind == kind][col].sum()  # noqa: E731
    assert total(half, "pointwise conv", "macs") * 16 == total(base, "pointwise conv", "macs")
    assert total(half, "pointwise conv", "params") * 4 == total(base, "pointwise conv", "params")
    assert total(half, "depthwise conv", "macs") * 8 == total(base, "depthwise conv", "macs")
    assert total(half, "depthwise conv", "params") * 2 == total(base, "depthwise conv", "params")


def test_elementwise_option_adds_stated_work():
    plain = lightviz.profile("mobilenet_v2")
    full = lightviz.profile("mobilenet_v2", elementwise=True)
    assert plain.macs == full.macs and plain.params == full.params
    assert full.flops == 2 * full.macs + full.elementwise_flops
    assert full.elementwise_flops > 0
    df = full.layers
    bn = df[df.kind == "batch norm"].iloc[0]
    assert bn.elementwise_flops == 2 * bn.out_c * bn.out_h * bn.out_w
    relu6 = df[df.op == "relu6"].iloc[0]
    assert relu6.elementwise_flops == 2 * relu6.out_c * relu6.out_h * relu6.out_w
    add = df[df.kind == "residual add"].iloc[0]
    assert add.elementwise_flops == add.out_c * add.out_h * add.out_w
    assert (df.flops == 2 * df.macs + df.elementwise_flops).all()


def test_counting_cost_does_not_depend_on_resolution():
    small = lightviz.profile("resnet50", resolution=96).layers
    large = lightviz.profile("resnet50", resolution=448).layers
    assert len(small) == len(large)
    assert (small.params == large.params).all()


def test_shufflenet_v1_width_multipliers_match_table_2():
    """Table 2 at g=3: 0.5x 38M, 0.25x 13M, 2x 524M; the stem scales with the width as in
    megvii's released 0.5x model (12 channels)."""
    for alpha, paper in ((0.5, 38e6), (0.25, 13e6), (2.0, 524e6)):
        assert abs(lightviz.profile("shufflenet_v1", alpha, groups=3).macs / paper - 1) < 0.025
    stem = lightviz.profile("shufflenet_v1", 0.5, groups=8).layers.iloc[0]
    assert stem.out_c == 16  # megvii 0.5x g=8; every width divides by g
