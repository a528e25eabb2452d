"""Turn a resolved spec into a ``torch.nn.Module`` whose ``forward`` is the spec's own flow.

Module names follow the spec: ``stage2.0.conv_dw.conv`` is the depthwise conv of the first block
of stage 2, the same path as the profile row that counts it.
"""

from __future__ import annotations

import torch
from torch import nn

from . import spec as S

_CLASSES: dict = {}


class FlowModule(nn.Module):
    """An ``nn.Module`` built from a :class:`~lightviz.spec.Unit`: one child module per named
    child of the spec, ``forward`` = ``spec.flow`` run on tensors."""

    def __init__(self, unit: S.Unit):
        super().__init__()
        self.spec = unit
        for name, child in unit.children():
            self.add_module(name, module_for(child))

    def forward(self, x):
        return self.spec.flow(self, x)

    # The operations a flow is written against (see lightviz.spec).
    def call(self, name, x):
        return self._modules[name](x)

    def add(self, name, a, b):
        return a + b

    def mul(self, name, a, b):
        return a * b

    def cat(self, name, xs):
        return torch.cat(xs, 1)

    def split(self, name, x, sizes):
        return torch.split(x, sizes, 1)

    def shuffle(self, name, x, groups):
        n, c, h, w = x.shape
        return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)

    def narrow(self, name, x, channels):
        return x[:, :channels]

    def extra_repr(self) -> str:
        return ""


def _flow_class(unit_type) -> type:
    """A FlowModule subclass named like the spec (``InvertedResidual``), so ``print(model)``
    reads like the paper."""
    cls = _CLASSES.get(unit_type)
    if cls is None:
        cls = _CLASSES[unit_type] = type(unit_type.__name__, (FlowModule,), {"__module__": __name__})
    return cls


def _activation(fn: str) -> nn.Module:
    if fn == "relu":
        return nn.ReLU(inplace=True)
    if fn == "relu6":
        return nn.ReLU6(inplace=True)
    if fn == "hardsigmoid":
        return nn.Hardsigmoid()
    raise ValueError(f"unknown activation {fn!r}: choose one of {', '.join(S.ACTIVATIONS)}")


def module_for(node) -> nn.Module:
    """The ``nn.Module`` for one spec node (a leaf or a unit)."""
    if isinstance(node, S.Unit):
        return _flow_class(type(node))(node)
    if isinstance(node, S.Conv2d):
        return nn.Conv2d(node.in_ch, node.out_ch, node.kernel, node.stride, node.padding,
                         groups=node.groups, bias=node.bias)
    if isinstance(node, S.BatchNorm):
        return nn.BatchNorm2d(node.channels)
    if isinstance(node, S.Act):
        return _activation(node.fn)
    if isinstance(node, S.Pool):
        if node.mode == "global":
            return nn.AdaptiveAvgPool2d(1)
        if node.mode == "max":
            return nn.MaxPool2d(node.kernel, node.stride, node.padding)
        return nn.AvgPool2d(node.kernel, node.stride, node.padding)
    if isinstance(node, S.Flatten):
        return nn.Flatten(1)
    if isinstance(node, S.Linear):
        return nn.Linear(node.in_features, node.out_features, bias=node.bias)
    raise TypeError(f"no module for spec node {node!r}")


def init_weights(model: nn.Module) -> nn.Module:
    """Variance-preserving random weights (Kaiming fan-in convs, BN 1/0, small Linear), so
    activations neither vanish nor explode through 50 layers: latency runs see no denormals on
    the CPU and no fp16 overflow. (torchvision's fan-out rule shrinks depthwise layers by their
    width and drives MobileNet activations towards 1e-18.)"""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def build_module(network) -> nn.Module:
    """The ``nn.Module`` of a resolved network spec, initialised, in training mode (call
    ``.eval()`` for inference)."""
    return init_weights(module_for(network))


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, resolution: int = 64, batch: int = 2) -> nn.Module:
    """Set every BN layer's running statistics from one random batch, as training would, so
    that in ``eval()`` each layer's output has unit scale (like a trained network's) and deep
    residual stacks do not overflow fp16. Returns the model in eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one batch, the batch's statistics
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    model.train()
    model(torch.randn(batch, 3, resolution, resolution, device=device, dtype=dtype))
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    return model.eval()


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every batch norm into the convolution before it, as a deployment does at inference
    (TensorRT, ONNX Runtime, TFLite, ``torch.ao`` fusion), and return the model in eval mode.

    For each :class:`~lightviz.spec.ConvBNAct` unit (children ``conv`` and ``bn``), with
    ``s = gamma / sqrt(running_var + eps)`` per output channel: ``w' = w * s`` and
    ``b' = beta + (b - running_mean) * s`` (the conv gets a bias if it had none); ``bn`` becomes
    ``nn.Identity()``. Eval-mode outputs are unchanged up to fp32 rounding (call
    :func:`calibrate_batchnorm` first so the running statistics are realistic).

    This is a latency-time transformation only: the profile and its parameter counts describe
    the unfolded network, as the papers count it. The folded module's own parameters differ
    (the BN gammas and betas vanish, conv biases appear), so never count parameters on it.
    The model is changed in place."""
    model.eval()
    for unit in model.modules():
        if not (isinstance(unit, FlowModule) and isinstance(unit.spec, S.ConvBNAct)):
            continue
        conv, bn = unit._modules.get("conv"), unit._modules.get("bn")
        if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)):
            continue  # already folded
        w = conv.weight
        scale = bn.running_var.double().add(bn.eps).rsqrt()
        if bn.weight is not None:
            scale = scale * bn.weight.double()
        bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
        bias = (bias - bn.running_mean.double()) * scale
        if bn.bias is not None:
            bias = bias + bn.bias.double()
        w.copy_((w.double() * scale.view(-1, 1, 1, 1)).to(w.dtype))
        if conv.bias is None:
            conv.bias = nn.Parameter(bias.to(device=w.device, dtype=w.dtype),
                                     requires_grad=w.requires_grad)
        else:
            conv.bias.copy_(bias.to(conv.bias.dtype))
        unit.bn = nn.Identity()
    return model
