"""Width rounding and the containers every family shares: part of the public API for writing a
family (with :mod:`lightviz.spec` and :class:`lightviz.zoo.Arch`).

A family's ``spec(cfg)`` returns a :class:`Network` whose items are named ``stem``, then one
:class:`Stage` per row group of the paper's table, then ``head``; the profile's ``stage`` and
``block`` columns, the diagrams and the latency lab's per-block times read that layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..config import Config
from ..spec import Children, Flatten, Linear, Node, Pool, Sequence


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (never below ``min_value``, which
    defaults to ``divisor``), adding ``divisor`` if rounding dropped more than 10%.

    This is the rule of the TensorFlow MobileNet releases that torchvision and timm copy.
    """
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


@dataclass(frozen=True)
class Stage(Sequence):
    """A run of blocks named ``"0"``, ``"1"``, ...; its blocks are the rows of the paper's table."""

    @classmethod
    def of(cls, blocks: Iterable[Node]) -> Stage:
        return cls(tuple((str(i), b) for i, b in enumerate(blocks)))


@dataclass(frozen=True)
class Network(Sequence):
    """A whole network: ``stem``, the stages, ``head``, run in that order."""

    config: Config = None  # type: ignore[assignment]

    @property
    def stages(self) -> tuple[tuple[str, Stage], ...]:
        return tuple((n, s) for n, s in self.items if isinstance(s, Stage))


def pooled_classifier(in_ch: int, classes: int, name: str = "fc") -> Children:
    """Global average pool, flatten, linear: how every family's head ends."""
    return (("pool", Pool("global")), ("flatten", Flatten()), (name, Linear(in_ch, classes)))
