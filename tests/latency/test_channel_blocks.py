"""oneDNN's channel blocks (issue 19, kernel model version 8): a float conv on oneDNN computes
whole blocks of channels (16 with AVX-512, 8 with AVX2), so a conv of 24 channels costs about
what one of 32 does. A model with conv paths costs its oneDNN convs in whole blocks; one
without (version 7 and before, or no paths) reads and predicts as it did."""

from __future__ import annotations

import json
import math

import pytest

from lightviz.latency.devices import devicefile
from lightviz.latency.predictor import kernel_fit as KF
from lightviz.latency.predictor import kernel_model as KM
from lightviz.latency.predictor.kernels import CHANNEL_BLOCKS, Kernel, block_waste, conv_path, host_channel_block

NETWORK = {"fixed": 0.0, "scale": 1.0, "per_call": 0.0}


def conv(c_in: int, c_out: int, hw: int, k: int = 3, groups: int = 1, kind: str = "convkxk") -> Kernel:
    return Kernel(kind, "conv2d", c_in, hw, hw, c_out, hw, hw, k, 1, groups, True, k // 2)


def test_a_conv_costs_whole_blocks_in_and_out_but_a_stem_and_other_kinds_do_not():
    assert block_waste(conv(24, 24, 49), 16) == pytest.approx((32 / 24) ** 2)
    assert block_waste(conv(32, 48, 49), 16) == 1.0 and block_waste(conv(40, 40, 25), 8) == 1.0
    assert block_waste(conv(3, 24, 194, 7), 16) == pytest.approx(32 / 24)  # the stem's 3 in: not blocked
    assert block_waste(conv(72, 72, 13, 3, 72, "dwconv"), 16) == pytest.approx(80 / 72)  # once
    assert block_waste(conv(96, 96, 28, 1, 4, "gconv"), 16) == pytest.approx((32 / 24) ** 2)  # per group
    relu = Kernel("relu", "relu", 24, 49, 49, 24, 49, 49)
    assert block_waste(relu, 16) == 1.0
    k = conv(24, 24, 49)
    assert k.terms(1, 0, 16)[1] == pytest.approx(k.terms(1, 0)[1] * (32 / 24) ** 2)
    assert (k.terms(1, 1, 16) == k.terms(1, 1)).all()  # the native paths are not blocked
    assert host_channel_block() in (None, *CHANNEL_BLOCKS.values())


def blocked_law(k: Kernel) -> float:
    """A fake oneDNN: 40 G MAC/s on whole blocks of 16 channels, plus a cost per call."""
    return 0.01 + k.macs * block_waste(k, 16) / 40e6


def fitted(block: int | None) -> dict:
    shapes = [conv(c, c, hw) for c in (16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128) for hw in (40, 48, 56, 64, 80)]
    assert {conv_path(k, 1, 1) for k in shapes} == {0}
    samples = {(k, 3.0): blocked_law(k) for k in shapes}
    data = {"kernel_version": KM.VERSION, "threads": 1, "network": NETWORK, "kinds": KF.fit_kinds(samples, 1, 1, block)}
    return dict(data, channel_block=block) if block else data


def test_a_model_costed_in_blocks_predicts_misaligned_widths_it_never_timed():
    """Widths between the timed ones, some on a block and some off it: the smooth correction
    over log channels cannot tell 44 channels from 48, whole blocks can."""
    untimed = [conv(c, c, hw) for c in (44, 60, 72, 88, 104, 120) for hw in (44, 60, 72)]
    with_blocks, without = KM.KernelModel(fitted(16)), KM.KernelModel(fitted(None))

    def worst(model):
        return max(abs(math.log(float(model.kernel_ms([k], KM.CONTEXT_REF)[0][0]) / blocked_law(k))) for k in untimed)

    assert worst(with_blocks) < 0.03 < 0.08 < worst(without)


def test_the_block_round_trips_and_a_device_file_checks_it():
    data = fitted(16)
    again = KM.KernelModel(json.loads(json.dumps(data)))
    assert again.block == 16
    k = conv(44, 44, 48)
    assert again.kernel_ms([k])[0][0] == pytest.approx(KM.KernelModel(data).kernel_ms([k])[0][0], rel=1e-12)
    devicefile._kernel(data, "model.kernel")
    devicefile._kernel(fitted(None), "model.kernel")  # no block: as version 7 was
    for bad in (dict(data, channel_block=12), dict(data, channel_block=True), dict(data, kernel_version=7),
                {key: v for key, v in data.items() if key != "threads"}):
        with pytest.raises(ValueError, match="channel_block"):
            devicefile._kernel(bad, "model.kernel")
