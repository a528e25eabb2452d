"""The module and the counts come from one spec; these checks guard the one place they could
disagree: the flow run on tensors versus on shapes."""

import pytest
import torch
import torchinfo
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import lightviz

CONFIGS = [
    (arch, alpha, res, {})
    for arch in lightviz.ARCHS if arch != "shufflenet_v1"
    for alpha, res in ((1.0, 96), (0.35, 65), (1.6, 128))
] + [("shufflenet_v1", alpha, 96, {"groups": g}) for g in (1, 2, 3, 4, 8) for alpha in (0.25, 1.0)]


def _ids(c):
    return f"{c[0]}-{c[1]}-{c[2]}-{c[3]}"


@pytest.mark.parametrize("arch,alpha,res,opts", CONFIGS, ids=map(_ids, CONFIGS))
def test_macs_equal_flop_counter_and_params_equal_the_module(arch, alpha, res, opts):
    p = lightviz.profile(arch, alpha, resolution=res, **opts)
    model = lightviz.build(arch, alpha, **opts).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        out = model(torch.randn(1, 3, res, res))
    assert counter.get_total_flops() == 2 * p.macs
    assert sum(t.numel() for t in model.parameters()) == p.params
    assert tuple(out.shape) == (1, 1000)


@pytest.mark.parametrize("arch,opts", [(a, {}) for a in lightviz.ARCHS if a != "shufflenet_v1"]
                         + [("shufflenet_v1", {"groups": 8})])
def test_module_names_are_the_profile_paths(arch, opts):
    p = lightviz.profile(arch, 0.5, **opts)
    model = lightviz.build(arch, 0.5, **opts)
    leaves = {name for name, m in model.named_modules() if not list(m.children())}
    module_rows = set(p.layers.path[p.layers.op.isin(
        ["conv2d", "batch_norm", "relu", "relu6", "hardsigmoid", "max_pool", "avg_pool",
         "global_avg_pool", "flatten", "linear"])])
    assert leaves == module_rows


@pytest.mark.parametrize("arch,opts", [("mobilenet_v2", {}), ("ghostnet", {}), ("resnet50", {}),
                                       ("shufflenet_v1", {"groups": 3}), ("shufflenet_v2", {})])
def test_per_layer_macs_agree_with_torchinfo(arch, opts):
    """torchinfo counts a bias as multiply-adds too: its figure = our MACs + bias adds."""
    res = 160
    p = lightviz.profile(arch, 0.75, resolution=res, **opts)
    model = lightviz.build(arch, 0.75, **opts).eval()
    info = torchinfo.summary(model, input_size=(1, 3, res, res), verbose=0)
    names = {id(m): name for name, m in model.named_modules()}
    theirs = {names[id(layer.module)]: layer.macs for layer in info.summary_list
              if isinstance(layer.module, (nn.Conv2d, nn.Linear))}
    rows = p.layers[p.layers.op.isin(["conv2d", "linear"])]
    ours = dict(zip(rows.path, rows.macs + rows.elementwise_flops))
    assert ours == theirs


def test_block_shapes_match_the_running_module():
    """Output shape of every block, traced by hooks on the real module, equals the profile's."""
    p = lightviz.profile("ghostnet", 1.3, resolution=150)
    model = lightviz.build("ghostnet", 1.3).eval()
    seen = {}
    for name, m in model.named_modules():
        if name.count(".") == 1 and name.startswith("stage"):
            m.register_forward_hook(lambda mod, i, o, name=name: seen.__setitem__(name, tuple(o.shape[1:])))
    with torch.inference_mode():
        model(torch.randn(1, 3, 150, 150))
    last = p.layers.groupby("block", sort=False).tail(1).set_index("block")
    for block, shape in seen.items():
        row = last.loc[block]
        assert shape == (row.out_c, row.out_h, row.out_w), block
