"""The resolved description of a network: the one truth that the module, the counter and the
diagrams all read.

A spec is a tree. Its leaves are single operations with parameters or a shape rule
(:class:`Conv2d`, :class:`BatchNorm`, :class:`Act`, :class:`Pool`, :class:`Linear`, ...). Its
inner nodes are *units* (a conv-BN-activation triple, a squeeze-excite, a ghost module, a
block, a stage, the network): frozen dataclasses with ``children()``, their named sub-layers,
and ``flow(f, x)``, their dataflow written once against a small set of operations::

    f.call(name, x)            run the child called ``name``
    f.add(name, a, b)          elementwise sum (residual add)
    f.mul(name, a, b)          elementwise product (squeeze-excite scaling)
    f.cat(name, xs)            concatenate along channels
    f.split(name, x, sizes)    split along channels
    f.shuffle(name, x, g)      channel shuffle with g groups (ShuffleNet)
    f.narrow(name, x, c)       keep the first c channels (ghost module)

:mod:`lightviz.builder` runs ``flow`` on tensors (``nn.Module.forward``); :mod:`lightviz.counting`
runs the same ``flow`` on shapes and records one row per operation; the diagrams draw the same
record. So the numbers, the model and the pictures cannot disagree. :class:`Flow` is that
contract as a typing protocol: both runners satisfy it, and a new block needs nothing else.

Writing a family (the public API, used by the built-in families in :mod:`lightviz.zoo` and by
outside packages alike): build the network from the leaves and units here, with
:class:`~lightviz.zoo.common.Network`, :class:`~lightviz.zoo.common.Stage`,
:func:`~lightviz.zoo.common.make_divisible` and :func:`~lightviz.zoo.common.pooled_classifier`;
a new block is a frozen dataclass subclassing :class:`Unit` with ``children()`` (its named
sub-layers, in construction order) and ``flow(f, x)`` (written only with the operations of
:class:`Flow`); then declare the family with :class:`lightviz.zoo.Arch`. Typed, a block reads
``def children(self) -> Children`` and ``def flow(self, f: Flow[X], x: X) -> X`` (:data:`Leaf`,
:data:`Node` and :data:`Children` name a leaf, a leaf or a unit, and a unit's named children).
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

X = TypeVar("X")

# ---------------------------------------------------------------------------------------------
# Leaves: one row of the profile each.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conv2d:
    """A 2-D convolution, padding ``kernel // 2`` ("same" for odd kernels at stride 1)."""

    in_ch: int
    out_ch: int
    kernel: int = 1
    stride: int = 1
    groups: int = 1
    bias: bool = False

    @property
    def padding(self) -> int:
        return self.kernel // 2

    @property
    def fan_in(self) -> int:
        """Weights behind one output value, ``in_ch / groups x kernel x kernel``: the MACs of
        one output value and, times ``out_ch``, the weight count (``nn.Conv2d``'s weight is
        ``out_ch x in_ch/groups x k x k``)."""
        return self.in_ch // max(1, self.groups) * self.kernel * self.kernel


@dataclass(frozen=True)
class BatchNorm:
    """Batch normalisation over ``channels`` (affine: gamma and beta are parameters)."""

    channels: int


ACTIVATIONS = ("relu", "relu6", "hardsigmoid")


@dataclass(frozen=True)
class Act:
    """An elementwise activation: ``relu``, ``relu6`` or ``hardsigmoid`` (relu6(x + 3) / 6)."""

    fn: str


@dataclass(frozen=True)
class Pool:
    """Spatial pooling: ``max`` or ``avg`` with a window, or ``global`` average to 1 x 1."""

    mode: str
    kernel: int = 1
    stride: int = 1
    padding: int = 0


@dataclass(frozen=True)
class Flatten:
    """Flatten C x 1 x 1 to a vector of C features."""


@dataclass(frozen=True)
class Linear:
    """A fully connected layer (the classifier)."""

    in_features: int
    out_features: int
    bias: bool = True


LEAVES = (Conv2d, BatchNorm, Act, Pool, Flatten, Linear)
# One leaf of a spec (the types in LEAVES), for annotations.
Leaf = Conv2d | BatchNorm | Act | Pool | Flatten | Linear


def leaf_params(leaf) -> int:
    """The parameters of one leaf as ``nn.Module.parameters()`` counts them: a conv's
    ``out_ch x fan_in`` weights (+ ``out_ch`` bias), a batch norm's gamma and beta
    (``2 x channels``; the running statistics are buffers), a linear layer's
    ``in_features x out_features`` weights (+ ``out_features`` bias); 0 for the rest. The one
    formula behind the profile's ``params`` (:mod:`lightviz.counting`) and the settings' limit
    (:func:`lightviz.zoo.table.spec_params`)."""
    if isinstance(leaf, Conv2d):
        return leaf.out_ch * leaf.fan_in + (leaf.out_ch if leaf.bias else 0)
    if isinstance(leaf, BatchNorm):
        return 2 * leaf.channels
    if isinstance(leaf, Linear):
        return leaf.in_features * leaf.out_features + (leaf.out_features if leaf.bias else 0)
    return 0

# ---------------------------------------------------------------------------------------------
# The dataflow contract and the units written against it.
# ---------------------------------------------------------------------------------------------


@runtime_checkable
class Flow(Protocol[X]):
    """What ``Unit.flow(f, x)`` may do with ``f``: every operation names its row (``name`` is
    the child's name for :meth:`call`, a new name for the others) and returns the new value.

    ``X`` is what flows: a ``torch.Tensor`` in :class:`lightviz.builder.FlowModule`, a shape in
    :mod:`lightviz.counting`. A flow must not look inside ``X``: use the unit's own fields
    (widths, stride) for every decision, so that both runners take the same path.
    """

    def call(self, name: str, x: X) -> X:
        """Run the child called ``name`` on ``x``."""
        ...

    def add(self, name: str, a: X, b: X) -> X:
        """Elementwise sum of two equal shapes (a residual add)."""
        ...

    def mul(self, name: str, a: X, b: X) -> X:
        """Elementwise product, ``b`` broadcast over ``a`` (squeeze-excite scaling)."""
        ...

    def cat(self, name: str, xs: list[X]) -> X:
        """Concatenate along channels (equal spatial sizes)."""
        ...

    def split(self, name: str, x: X, sizes: Seq[int]) -> Seq[X]:
        """Split along channels into parts of ``sizes`` channels (they sum to x's channels)."""
        ...

    def shuffle(self, name: str, x: X, groups: int) -> X:
        """Channel shuffle with ``groups`` groups (ShuffleNet); channels divisible by groups."""
        ...

    def narrow(self, name: str, x: X, channels: int) -> X:
        """Keep the first ``channels`` channels."""
        ...


class Unit:
    """A composite spec: named children and a dataflow (see the module docstring).

    Subclass it as a frozen dataclass whose fields are the block's hyperparameters (widths,
    stride, ...); every field must be hashable, so specs can be cached and compared."""

    def children(self) -> Children:
        """The named sub-layers (leaves or units), in construction order: the module's
        children, the profile's row paths and the diagram's nodes use these names."""
        raise NotImplementedError

    def flow(self, f: Flow[X], x: X) -> X:
        """The dataflow, written once with the operations of :class:`Flow`."""
        raise NotImplementedError


# A node of a spec (a leaf or a unit), and a unit's named children (what ``children()`` gives).
Node = Leaf | Unit
Children = tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Sequence(Unit):
    """Children run one after the other (a stage, or a whole network)."""

    items: Children

    def children(self) -> Children:
        return self.items

    def flow(self, f: Flow[X], x: X) -> X:
        for name, _ in self.items:
            x = f.call(name, x)
        return x


@dataclass(frozen=True)
class ConvBNAct(Unit):
    """Convolution, batch norm and an optional activation: the workhorse of every family."""

    in_ch: int
    out_ch: int
    kernel: int = 1
    stride: int = 1
    groups: int = 1
    act: str | None = "relu"

    def children(self) -> Children:
        layers: list[tuple[str, Node]] = [
            ("conv", Conv2d(self.in_ch, self.out_ch, self.kernel, self.stride, self.groups)),
            ("bn", BatchNorm(self.out_ch)),
        ]
        if self.act:
            layers.append(("act", Act(self.act)))
        return tuple(layers)

    def flow(self, f: Flow[X], x: X) -> X:
        x = f.call("bn", f.call("conv", x))
        return f.call("act", x) if self.act else x


@dataclass(frozen=True)
class SqueezeExcite(Unit):
    """Squeeze-and-excitation (Hu et al. 2018) as GhostNet uses it: global pool, 1x1 reduce
    (with bias), ReLU, 1x1 expand (with bias), a gate, and a channel-wise scaling."""

    channels: int
    reduced: int
    gate: str = "hardsigmoid"

    def children(self) -> Children:
        return (
            ("pool", Pool("global")),
            ("conv_reduce", Conv2d(self.channels, self.reduced, bias=True)),
            ("act", Act("relu")),
            ("conv_expand", Conv2d(self.reduced, self.channels, bias=True)),
            ("gate", Act(self.gate)),
        )

    def flow(self, f: Flow[X], x: X) -> X:
        s = f.call("pool", x)
        s = f.call("act", f.call("conv_reduce", s))
        s = f.call("gate", f.call("conv_expand", s))
        return f.mul("scale", x, s)


@dataclass(frozen=True)
class GhostModule(Unit):
    """Ghost module (Han et al., GhostNet, CVPR 2020, Fig. 2b): a primary 1x1 conv makes
    ``ceil(out / ratio)`` intrinsic maps, a cheap depthwise conv makes the ghosts, the two are
    concatenated and cut to ``out_ch`` channels."""

    in_ch: int
    out_ch: int
    ratio: int = 2
    dw_kernel: int = 3
    relu: bool = True

    @property
    def primary_ch(self) -> int:
        return -(-self.out_ch // self.ratio)

    @property
    def cheap_ch(self) -> int:
        return self.primary_ch * (self.ratio - 1)

    def children(self) -> Children:
        act = "relu" if self.relu else None
        return (
            ("primary_conv", ConvBNAct(self.in_ch, self.primary_ch, 1, act=act)),
            ("cheap_operation", ConvBNAct(self.primary_ch, self.cheap_ch, self.dw_kernel,
                                          groups=self.primary_ch, act=act)),
        )

    def flow(self, f: Flow[X], x: X) -> X:
        x1 = f.call("primary_conv", x)
        x2 = f.call("cheap_operation", x1)
        out = f.cat("concat", [x1, x2])
        if self.primary_ch + self.cheap_ch > self.out_ch:
            out = f.narrow("slice", out, self.out_ch)
        return out


def leaves(spec: Unit, prefix: str = "") -> Iterator[tuple[str, Leaf]]:
    """Yield ``(qualified_name, leaf)`` for every leaf under ``spec`` in construction order."""
    for name, child in spec.children():
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(child, Unit):
            yield from leaves(child, path)
        else:
            yield path, child
