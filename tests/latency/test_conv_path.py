"""Which of eager PyTorch's CPU paths runs a conv kernel (issue 19): oneDNN, or the native
im2col + GEMM, where a kernel's rate jumps by up to 5x. The rule is checked against torch's own
dispatcher, and kernels on two paths are never each other's neighbours in a kernel model."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from lightviz.latency.devices import devicefile
from lightviz.latency.predictor import kernel_fit as KF
from lightviz.latency.predictor import kernel_model as KM
from lightviz.latency.predictor import kernels as K
from lightviz.latency.predictor.kernels import NATIVE_MAX_VALUES, Kernel, conv_path


def conv(c_in, c_out, hw, k=3, stride=1, groups=1) -> Kernel:
    out = (hw + 2 * (k // 2) - k) // stride + 1
    kind = ("dwconv" if groups == c_in == c_out and groups > 1 else "gconv" if groups > 1
            else "conv1x1" if k == 1 else "convkxk")
    return Kernel(kind, "conv2d", c_in, hw, hw, c_out, out, out, k, stride, groups, True, k // 2)


def test_the_conv_path_is_the_one_torch_dispatches_to():
    """Random convs of every kind, one and two threads, batch 1 and 2: oneDNN exactly where
    ATen's dispatcher picks it (the native paths: slow_conv2d and its kin)."""
    select = getattr(torch._C, "_select_conv_backend", None)
    if select is None:
        pytest.skip("this torch does not expose its conv dispatcher")
    rng = random.Random(19)
    before = torch.get_num_threads()
    try:
        for _ in range(400):
            k, stride = rng.choice((1, 1, 3, 3, 5, 7)), rng.choice((1, 1, 2))
            c_in = rng.choice((8, 16, 24, 64, 96, 256, 512, 1024, 2048))
            groups = rng.choice((1, 1, 1, 2, 4, c_in))
            c_out = c_in if groups == c_in else groups * rng.choice((2, 4, 8, 32, 64))
            hw = rng.choice((1, 2, 3, 4, 5, 7, 8, 14, 28, 56))
            threads, batch = rng.choice((1, 2)), rng.choice((1, 1, 2))
            kernel = conv(c_in, c_out, hw, k, stride, groups)
            torch.set_num_threads(threads)
            backend = select(torch.empty(batch, c_in, hw, hw), torch.empty(c_out, c_in // groups, k, k), None,
                             [stride] * 2, [k // 2] * 2, [1, 1], False, [0, 0], groups, None)
            onednn = "Mkldnn" in str(backend)
            assert (conv_path(kernel, batch, threads) == 0) == onednn, (kernel, batch, threads, backend)
    finally:
        torch.set_num_threads(before)


def test_the_native_path_on_few_output_pixels_is_a_path_of_its_own():
    assert conv_path(conv(256, 256, 3)) == 2 and conv_path(conv(256, 256, 4)) == 1  # 9 and 16 pixels
    assert conv_path(conv(2048, 512, 4)) == 0  # 32,768 input values: oneDNN
    assert 2048 * 16 > NATIVE_MAX_VALUES >= 1024 * 16
    assert conv_path(conv(96, 96, 28, 1)) == 1 and conv_path(conv(96, 96, 28, 1), threads=2) == 0
    assert conv_path(conv(96, 96, 28, 3, groups=96)) == 0  # depthwise: oneDNN
    assert conv_path(Kernel("relu", "relu", 96, 28, 28, 96, 28, 28)) == 0


def _slow_under_four_pixels(threads):
    """A kind fitted on 3x3 convs timed at a fifth of their MAC rate on 3 x 3 maps and at the
    full rate on 4 x 4 and larger (as this project's machine runs them)."""
    kernels, ms = [], []
    for c in (64, 96, 128, 192, 256, 384, 512, 768, 1024):
        for hw in (2, 3, 4, 6, 8):
            k = conv(c, c, hw)
            kernels.append(k)
            ms.append(k.macs / (5e6 if hw <= 3 else 25e6))
    return KM.KindModel(KF.fit_kind(kernels, [3.0] * len(ms), ms, 1, threads))


def test_kernels_on_two_paths_are_never_neighbours():
    """A 952-channel 3x3 conv on 4 x 4 px (convs of other widths timed on 2-8 px): smoothed
    across the paths it takes some of the 3 x 3 maps' slowness (1.5x over here), on its own path
    it does not."""
    k = conv(952, 952, 4)
    truth = k.macs / 25e6
    T = np.stack([k.terms()])
    with_path = _slow_under_four_pixels(1).predict(T, np.stack([KM.describe(k, 1, 1)]))[0][0]
    without = _slow_under_four_pixels(None).predict(T, np.stack([KM.describe(k, 1, None)]))[0][0]
    assert abs(math.log(with_path / truth)) < abs(math.log(without / truth))
    assert with_path / truth < 1.15


def _before_v6(kind: dict) -> dict:
    """A kind as a model before version 6 stored it: five terms (no group calls)."""
    return dict(kind, coef=kind["coef"][:5], pool=kind["pool"][:5]) if "pool" in kind else dict(
        kind, coef=kind["coef"][:5])


def test_a_model_before_the_paths_still_predicts_as_it_did_and_a_device_file_checks_the_width():
    old = _slow_under_four_pixels(None)
    assert old.z.shape[1] == 6 and _slow_under_four_pixels(1).z.shape[1] == 7
    kind = _before_v6(KF.fit_kind([conv(64, 64, 8), conv(128, 128, 8), conv(256, 256, 8)], [3.0] * 3,
                                       [1.0, 2.0, 4.0], 1))
    network = {"fixed": 0.0, "scale": 1.0, "per_call": 0.0}
    v4 = {"kernel_version": 4, "kinds": {"convkxk": kind}, "network": network}
    assert KM.KernelModel(v4).kernel_ms([conv(96, 96, 8)])[0][0] > 0  # six numbers a descriptor, no path
    devicefile._kernel(v4, "model.kernel")
    devicefile._kernel(dict(v4, kernel_version=5), "model.kernel")  # no paths: a GPU's, or fp16
    for bad in (dict(v4, threads=1), dict(v4, kernel_version=5, threads=None)):
        with pytest.raises(ValueError, match="threads"):
            devicefile._kernel(bad, "model.kernel")
    with pytest.raises(ValueError, match="expected 7 numbers"):
        devicefile._kernel(dict(v4, kernel_version=5, threads=1), "model.kernel")
    v5 = {"kernel_version": 5, "threads": 1, "network": network,
          "kinds": {"convkxk": _before_v6(KF.fit_kind([conv(64, 64, 8), conv(128, 128, 8), conv(256, 256, 8)],
                                                           [3.0] * 3, [1.0, 2.0, 4.0], 1, 1))}}
    devicefile._kernel(v5, "model.kernel")
    assert KM.KernelModel(v5).kernel_ms([conv(96, 96, 8)])[0][0] > 0


def test_only_a_cpu_in_fp32_has_conv_paths():
    """ATen's rule is for CPU float convs: a GPU's, a half-precision or a channels-last model's
    descriptors carry no path (and older readers' six numbers)."""
    assert KM.paths_threads("cpu", "fp32", False, 2) == 2
    assert KM.paths_threads("cuda", "fp32", False, 2) is None
    assert KM.paths_threads("cpu", "fp16", False, 1) is None and KM.paths_threads("cpu", "fp32", True, 1) is None
    kind = KF.fit_kind([conv(64, 64, 8), conv(128, 128, 8), conv(256, 256, 8)], [3.0] * 3, [1.0, 2.0, 4.0], 1)
    network = {"fixed": 0.0, "scale": 1.0, "per_call": 0.0}
    gpu = {"kernel_version": 6, "kinds": {"convkxk": kind}, "network": network}
    assert KM.KernelModel(gpu).threads is None and KM.KernelModel(gpu).kernel_ms([conv(96, 96, 8)])[0][0] > 0


def test_a_grouped_conv_on_a_native_path_costs_a_call_per_group():
    """ATen runs a grouped conv one group at a time where the backend has no groups of its own
    (the native paths); oneDNN takes them in one call: the group calls term counts them."""
    g4 = K.Kernel("gconv", "conv2d", 64, 16, 16, 64, 16, 16, groups=4)
    dw1 = K.Kernel("dwconv", "conv2d", 256, 14, 14, 256, 14, 14, groups=256)
    dw3 = dw1._replace(k=3, pad=1)
    assert K.conv_path(g4, 1, 1) == 1 and K.group_calls(g4, 1) == 4.0
    assert K.conv_path(g4, 1, 2) == 0 and K.group_calls(g4, 0) == 0.0  # two threads: oneDNN
    assert KM.terms(dw1, 1, 1)[-1] == 256.0 and KM.terms(dw3, 1, 1)[-1] == 0.0
    assert KM.terms(g4, 1, None)[-1] == 0.0  # no paths known (a GPU's model): no group calls
    assert K.TERMS[-1] == "group calls" and len(KM.terms(g4, 1, 1)) == len(K.TERMS)
    # a per-group cost is learnt: 4 us a group on top of 10 us a call, on grouped 1x1 convs
    kernels = [K.Kernel("gconv", "conv2d", c, 8, 8, c, 8, 8, groups=g) for c in (32, 64, 128) for g in (2, 4, 8)]
    ms = [0.010 + 0.004 * k.groups + k.macs / 20e6 for k in kernels]
    kind = KF.fit_kind(kernels, [3.0] * len(ms), ms, 1, 1)
    assert kind["coef"][-1] == pytest.approx(0.004, rel=0.05) and len(kind["coef"]) == len(K.TERMS)
    model = KM.KernelModel({"kernel_version": 6, "threads": 1, "kinds": {"gconv": kind},
                            "network": {"fixed": 0.0, "scale": 1.0, "per_call": 0.0}})
    g6 = K.Kernel("gconv", "conv2d", 96, 8, 8, 96, 8, 8, groups=6)  # a group count never timed
    assert model.kernel_ms([g6], 3.0)[0][0] == pytest.approx(0.010 + 0.004 * 6 + g6.macs / 20e6, rel=0.05)


def test_a_model_before_the_group_calls_predicts_as_it_did():
    """A version-5 model's five coefficients read the group calls as costing nothing; a device
    file's coefficients are as many as its version's terms."""
    kernels = [K.Kernel("gconv", "conv2d", c, 8, 8, c, 8, 8, groups=g) for c in (32, 64, 128) for g in (2, 4, 8)]
    kind = KF.fit_kind(kernels, [3.0] * 9, [0.02 + k.macs / 20e6 for k in kernels], 1, 1)
    v5 = _before_v6(kind)
    network = {"fixed": 0.0, "scale": 1.0, "per_call": 0.0}
    old = KM.KernelModel({"kernel_version": 5, "threads": 1, "network": network, "kinds": {"gconv": v5}})
    same = KM.KernelModel({"kernel_version": 6, "threads": 1, "network": network,
                           "kinds": {"gconv": dict(v5, coef=v5["coef"] + [0.0])}})
    g = K.Kernel("gconv", "conv2d", 48, 8, 8, 48, 8, 8, groups=4)
    assert old.kernel_ms([g])[0][0] == pytest.approx(same.kernel_ms([g])[0][0])
    devicefile._kernel({"kernel_version": 5, "threads": 1, "network": network, "kinds": {"gconv": v5}}, "k")
    devicefile._kernel({"kernel_version": 6, "threads": 1, "network": network, "kinds": {"gconv": kind}}, "k")
    for version, coef in ((6, v5["coef"]), (5, kind["coef"])):
        with pytest.raises(ValueError, match="coef"):
            devicefile._kernel({"kernel_version": version, "threads": 1, "network": network,
                                "kinds": {"gconv": dict(kind, coef=coef)}}, "k")
