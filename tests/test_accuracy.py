"""The top-1 estimate: exact at the published points, monotone inside the hull, honest statuses
at and past the hull's edges, the published table as the sources print it."""

import json
import math

import pytest
from cli_support import run_cli

from lightviz import accuracy as A
from lightviz.configure import make_config
from lightviz.tradeoff import ALPHA_STOPS as GRID_ALPHAS
from lightviz.tradeoff import RESOLUTION_STOPS as GRID_RESOLUTIONS

POINTS = A.load_points()


def est(arch, alpha, res, groups=None, classes=1000):
    return A.estimate(make_config(arch, alpha, resolution=res, groups=groups, classes=classes))


def test_the_table_has_every_checkpoint():
    count = {}
    for p in POINTS:
        count[(p.arch, p.groups)] = count.get((p.arch, p.groups), 0) + 1
    assert count[("mobilenet_v1", None)] == 16 and count[("mobilenet_v2", None)] == 22
    assert count[("shufflenet_v2", None)] == 4 and count[("ghostnet", None)] == 3
    assert count[("shufflenet_v1", 3)] == 4 and count[("shufflenet_v1", 8)] == 4
    assert all(count[(r, None)] == 1 for r in ("resnet18", "resnet34", "resnet50"))
    # a few figures exactly as printed (tf-slim tables; megvii's error -> 100 - error)
    by = {(p.arch, p.groups, p.alpha, p.resolution): p for p in POINTS}
    assert by[("mobilenet_v1", None, 0.25, 128)].top1 == 41.5
    assert by[("mobilenet_v2", None, 1.4, 224)].macs == 582_000_000
    assert by[("shufflenet_v2", None, 0.5, 224)].top1 == 61.1
    assert by[("shufflenet_v1", 3, 2.0, 224)].top1 == 74.1
    assert by[("resnet50", None, 1.0, 224)].top1 == 76.13
    assert all(p.source and p.convention for p in POINTS)


@pytest.mark.parametrize("p", POINTS, ids=lambda p: f"{p.arch}-{p.groups}-{p.alpha}-{p.resolution}")
def test_estimate_is_the_published_value_at_every_published_point(p):
    e = est(p.arch, p.alpha, p.resolution, p.groups)
    assert e.status == A.PUBLISHED
    assert e.value == e.low == e.high == p.top1
    assert p.source in e.sources


@pytest.mark.parametrize("key", [k for k, f in A.families().items() if f.dims])
def test_published_points_are_monotone_and_the_fit_agrees_with_them(key):
    fam = A.families()[key]
    for a in fam.points:
        for b in fam.points:
            if b.alpha >= a.alpha and b.resolution >= a.resolution:
                assert b.top1 >= a.top1, (a, b)
    # the fitted surface passes through the published points (the envelope pins them)
    for (x, y), t in zip(fam.xy, fam.t):
        assert fam.fitted(x, y) == pytest.approx(t)


@pytest.mark.parametrize("key", [k for k, f in A.families().items() if f.dims])
def test_monotone_in_alpha_and_resolution_on_a_grid_inside_the_hull(key):
    arch, groups = key
    fam = A.families()[key]
    grid = {}
    for alpha in GRID_ALPHAS:
        for res in GRID_RESOLUTIONS:
            if fam.inside(math.log(alpha), math.log(res / 224)):
                e = est(arch, alpha, res, groups)
                assert e.status in (A.PUBLISHED, A.INTERPOLATED)
                assert e.low <= e.value <= e.high
                grid[(alpha, res)] = e.value
    assert len(grid) >= (4 if fam.dims == 1 else 100)
    for (alpha, res), v in grid.items():
        for nxt in ((round(alpha + 0.05, 2), res), (alpha, res + 8)):
            if nxt in grid:
                assert grid[nxt] >= v - 1e-9, ((alpha, res), nxt, v, grid[nxt])


def test_the_quadratic_fits_rise_at_every_hull_vertex():
    for fam in A.families().values():
        if fam.dims:
            for x, y in fam.hull:
                g = A.gradient_rows(x, y, fam.dims, fam.n_terms) @ fam.coef
                assert (g >= -1e-7).all()


def test_statuses_at_and_outside_the_hull_edges():
    # MobileNet v1: hull alpha 0.25-1 x 128-224 px
    assert est("mobilenet_v1", 0.6, 224).status == A.INTERPOLATED  # on the top edge
    assert est("mobilenet_v1", 0.25, 176).status == A.INTERPOLATED  # on the left edge
    assert est("mobilenet_v1", 1.05, 224).status == A.EXTRAPOLATED  # just past the corner
    assert est("mobilenet_v1", 0.5, 120).status == A.EXTRAPOLATED
    assert est("mobilenet_v1", 2.0, 224).status == A.EXTRAPOLATED  # 2x: the reach
    assert est("mobilenet_v1", 1.0, 456).status == A.NONE  # more than 2x the resolution
    assert est("mobilenet_v1", 0.25, 56).status == A.NONE
    # MobileNet v2: the hull's slanted edge from (1.0, 96 px) to (1.4, 224 px)
    assert est("mobilenet_v2", 1.2, 224).status == A.INTERPOLATED
    assert est("mobilenet_v2", 1.4, 96).status == A.EXTRAPOLATED
    # the 224-px lines: on the line interpolated, off it extrapolated, borrowed resolution term
    assert est("shufflenet_v2", 1.2, 224).status == A.INTERPOLATED
    off = est("shufflenet_v2", 1.0, 160)
    assert off.status == A.EXTRAPOLATED and "borrowed" in off.method
    assert off.value < 69.4 <= off.high and len(off.sources) == 2
    assert est("shufflenet_v2", 1.0, 96).status == A.NONE
    assert est("ghostnet", 0.75, 224).status == A.INTERPOLATED
    # a single point: published there, none elsewhere; unpublished groups; other classifiers
    assert est("resnet18", 1.0, 224).status == A.PUBLISHED
    assert est("resnet18", 0.5, 224).status == A.NONE
    assert est("resnet50", 1.0, 192).status == A.NONE
    # groups without a checkpoint table: the paper's own value where it printed one (issue 23:
    # the one published top-1, as on Compare), none elsewhere
    g1 = est("shufflenet_v1", 1.0, 224, groups=1)
    assert (g1.status, g1.value, g1.sources) == (A.PUBLISHED, 66.4, ("ShuffleNet paper Table 1/2",))
    assert est("shufflenet_v1", 0.5, 224, groups=1).status == A.NONE
    assert est("mobilenet_v1", 1.0, 224, classes=10).status == A.NONE


def test_extrapolated_intervals_are_wider_and_claim_no_gain_past_the_published():
    inside = est("mobilenet_v1", 0.9, 208)
    out = est("mobilenet_v1", 1.5, 224)
    assert out.high - out.low > inside.high - inside.low
    assert out.value == pytest.approx(70.9) and out.low >= 70.9  # flat past 1.0 x 224 px
    below = est("mobilenet_v1", 0.25, 96)
    assert below.value < 41.5 and below.high <= 41.5  # monotone bound from 0.25 x 128 px


def test_loo_goal_for_the_mobilenets():
    rows = {r["family"]: r for r in A.loo_summary()}
    for fam in ("mobilenet_v1", "mobilenet_v2"):
        assert rows[fam]["loo_mean"] <= 0.6
        assert rows[fam]["loo_mean"] < rows[fam]["line_macs_mean"]


def test_profile_json_carries_top1():
    code, out, err = run_cli(["profile", "mobilenet_v2", "--alpha", "0.8", "--resolution", "176",
                              "--format", "json"])
    assert code == 0, err
    top1 = json.loads(out)["top1"]
    assert set(top1) >= {"value", "low", "high", "status", "sources", "method"}
    assert top1["status"] == A.INTERPOLATED and top1["low"] <= top1["value"] <= top1["high"]
    assert "not a measurement of any weights" in top1["note"]
    code, out, _ = run_cli(["profile", "resnet34", "--alpha", "0.5", "--format", "json"])
    assert json.loads(out)["top1"]["status"] == A.NONE and json.loads(out)["top1"]["value"] is None
