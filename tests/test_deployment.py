"""Deployment memory (lightviz.deployment): MCUNet's rule on hand-computed small networks, the
four published MobileNet v2 figures, and every architecture (paper and edited tables)."""

from __future__ import annotations

import pytest

from lightviz.config import Config
from lightviz.configure import arch_names, make_config
from lightviz.counting import count
from lightviz.deployment import deployment_memory, flash_bytes, memory_fields
from lightviz.zoo.table import current, table_of


@pytest.mark.parametrize("alpha, resolution, in_place, peak, block, op", [
    # MCUNet's rule, int8 (FACTS.md "Deployment"; MCUNetV2 Fig. 1 for 1,404,928 B = 1372 KiB)
    (1.0, 224, False, 1_505_280, "stage2.0", "depthwise"),  # 112*112*96 + 56*56*96
    (1.0, 224, True, 1_404_928, "stage2.0", "pointwise"),  # 112*112*(16 + 96), the expansion
    (0.35, 144, False, 311_040, "stage2.0", "depthwise"),  # 72*72*48 + 36*36*48
    (0.35, 144, True, 290_304, "stage2.0", "pointwise"),  # 72*72*(8 + 48)
])
def test_published_mobilenet_v2_figures(alpha, resolution, in_place, peak, block, op):
    prof = count(make_config("mobilenet_v2", alpha=alpha, resolution=resolution))
    mem = deployment_memory(prof, "int8", in_place=in_place)
    assert mem.peak_bytes == peak
    assert mem.peak_block == block
    assert mem.peak_op.startswith("block 2 (stage2.0.conv_") and op in mem.peak_op


# A tiny MobileNet v2 at 32 px (int8): stem 32 ch @ 16x16, block 1 (t 1, 32 -> 16), block 2
# (t 6, 16 -> 24, stride 2 -> 8x8), block 3 (24 -> 24 with a residual), head 1280 @ 8x8.
TINY = {"layers": [[1, 16, 1, 1], [6, 24, 2, 2]]}
HAND = {  # path: (without in-place, with in-place), worked out by hand
    "stem.conv": (3 * 32 * 32 + 32 * 256,) * 2,  # image + stem output
    "stage1.0.conv_dw": (2 * 32 * 256, 32 * 256 + 256),  # 2N, or N + one output channel
    "stage1.0.conv_pwl": (32 * 256 + 16 * 256,) * 2,
    "stage2.0.conv_pw": (16 * 256 + 96 * 256,) * 2,
    "stage2.0.conv_dw": (96 * 256 + 96 * 64, 96 * 256 + 64),  # stride 2: one 8x8 channel
    "stage2.0.conv_pwl": (96 * 64 + 24 * 64,) * 2,
    "stage2.1.conv_pw": (24 * 64 + 144 * 64,) * 2,  # the residual is this op's input
    "stage2.1.conv_dw": (2 * 144 * 64 + 24 * 64, 144 * 64 + 64 + 24 * 64),  # residual kept
    "stage2.1.conv_pwl": (144 * 64 + 24 * 64,) * 2,  # the add writes into the residual
    "head.conv": (24 * 64 + 1280 * 64,) * 2,
    "head.pool": (1280 * 64 + 1280,) * 2,
    "head.classifier": (1280 + 1000,) * 2,
}


@pytest.mark.parametrize("in_place", [False, True])
def test_hand_computed_tiny_table(in_place):
    prof = count(make_config("mobilenet_v2", resolution=32, settings=TINY))
    mem = deployment_memory(prof, "int8", in_place=in_place)
    assert {o.path: o.live_bytes for o in mem.ops} == {p: v[in_place] for p, v in HAND.items()}
    assert mem.peak_bytes == 24 * 64 + 1280 * 64 and mem.peak_op == "head.conv: 1x1 pointwise conv"
    fp32 = deployment_memory(prof, "fp32", in_place=in_place)
    assert fp32.peak_bytes == 4 * mem.peak_bytes and fp32.bytes_per_value == 4


def test_flash_counts_int8_weights_and_int32_biases():
    prof = count(make_config("mobilenet_v2", resolution=32, settings=TINY))
    weights = biases = 0
    for r in prof.rows:
        if r.op == "conv2d":
            weights += r.out_c * r.in_shapes[0][0] // r.groups * r.kernel ** 2
            biases += r.out_c
        elif r.op == "linear":
            weights += 1280 * 1000
            biases += 1000
    assert flash_bytes(prof.rows, "int8") == weights + 4 * biases
    assert flash_bytes(prof.rows, "fp16") == 2 * (weights + biases)
    mem = deployment_memory(prof, "int8")
    assert mem.weight_bytes == prof.params


def test_every_op_figure_scales_with_precision():
    prof = count(make_config("mobilenet_v2"))
    assert deployment_memory(prof, "fp32").every_op_peak_bytes == prof.peak_activation_bytes
    assert deployment_memory(prof, "int8").every_op_peak_bytes == prof.peak_activation_bytes // 4
    fields = memory_fields(prof, "fp16")
    assert fields["every_op_peak_bytes"] == prof.peak_activation_bytes // 2
    assert fields["deployment_peak_bytes"] == 2 * 1_505_280
    assert fields["deployment_peak_bytes_inplace"] == 2 * 1_404_928


def _configs():
    out = []
    for arch in arch_names():
        out.append(make_config(arch, alpha=0.5, resolution=64))
        cfg = make_config(arch, resolution=64)
        if table_of(cfg) is not None:  # an edited table: the paper's with its last row dropped
            table = current(cfg)
            key = next(k for k, v in table.items() if isinstance(v, list) and len(v) > 2)
            edited = {**table, key: table[key][:-1]}
            try:
                out.append(make_config(arch, resolution=64, settings=edited))
            except ValueError:
                pass
    return out


@pytest.mark.parametrize("cfg", _configs(), ids=lambda c: c.label)
def test_every_architecture(cfg: Config):
    prof = count(cfg)
    plain = deployment_memory(prof, "int8")
    inplace = deployment_memory(prof, "int8", in_place=True)
    assert inplace.peak_bytes <= plain.peak_bytes <= plain.every_op_peak_bytes
    assert plain.peak_bytes == max(o.live_bytes for o in plain.ops) > 0
    # a conv or classifier holds at least its input and output
    biggest = max(r.in_shapes[0][0] * r.in_shapes[0][1] * r.in_shapes[0][2]
                  + r.out_c * r.out_h * r.out_w for r in prof.rows if r.op in ("conv2d", "linear"))
    assert plain.peak_bytes >= biggest
    assert {r.block for r in prof.rows} >= {o.block for o in plain.ops}
    assert plain.flash_bytes > prof.params * 0.9


def test_profile_dtype_option(capsys):
    import json

    from lightviz.cli import main

    argv = ["profile", "mobilenet_v2", "--alpha", "0.35", "--resolution", "144"]
    assert main([*argv, "--dtype", "int8", "--summary", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["dtype"], d["deployment_peak_bytes"], d["deployment_peak_bytes_inplace"]) == \
        ("int8", 311_040, 290_304)
    assert d["weight_bytes"] == d["params"] == 1_677_128 and d["peak_activation_bytes"] == 4 * \
        d["every_op_peak_bytes"]  # the fp32 figure stays under its old name
    assert main([*argv, "--dtype", "fp16"]) == 0
    out = capsys.readouterr().out
    assert "deployment peak 608 KiB (622,080 bytes, fp16" in out and "(580,608 bytes)" in out
    assert out.splitlines()[-1].startswith("peak activations")
    assert main([*argv, "--dtype", "int8", "--format", "csv"]) == 0
    head, first = capsys.readouterr().out.splitlines()[:2]
    row = dict(zip(head.split(","), first.split(",")))
    assert (row["dtype"], row["weight_bytes"], row["activation_bytes"]) == ("int8", "432", "82944")
    assert main([*argv, "--dtype", "int4"]) == 2
    assert "unknown precision 'int4'" in capsys.readouterr().err


def test_a_plugin_family_without_the_registry():
    """tests/fixtures/tinynet (grouped 1x1, shuffle, depthwise, add): its rows are enough."""
    import sys
    from pathlib import Path

    from lightviz.counting import Profile, trace

    sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "tinynet"))
    try:
        import tinynet
    finally:
        sys.path.pop(0)
    cfg = Config("tinynet", 1.0, 64, 2)
    prof = Profile(cfg, tuple(trace(tinynet.spec(cfg), cfg)))
    plain, inplace = (deployment_memory(prof, "int8", in_place=f) for f in (False, True))
    live = {o.path: o.live_bytes for o in plain.ops}
    assert live["stem.conv"] == 3 * 64 * 64 + 16 * 32 * 32  # image + stem output
    # block 1 (16 ch @ 32x32): the grouped 1x1 and the shuffle (a copy) hold input + output
    assert live["stage1.0.gconv"] == live["stage1.0.shuffle"] == 2 * 16 * 32 * 32
    assert plain.peak_bytes == 2 * 16 * 32 * 32 and plain.peak_block == "stage1.0"
    assert inplace.peak_bytes == plain.peak_bytes  # the depthwise conv is not the peak here
