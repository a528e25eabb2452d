"""The registry: every architecture by name, with its family's spec builder and its paper."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from ..config import ARCHS, Config
from . import ghostnet, mobilenet_v1, mobilenet_v2, resnet, shufflenet_v1, shufflenet_v2
from .common import Network, Stage, make_divisible


@dataclass(frozen=True)
class Arch:
    name: str
    family: str
    paper: str
    spec: Callable[[Config], Network]


REGISTRY = {
    a.name: a
    for a in (
        Arch("resnet18", "ResNet", "He et al., Deep Residual Learning, CVPR 2016", resnet.spec),
        Arch("resnet34", "ResNet", "He et al., Deep Residual Learning, CVPR 2016", resnet.spec),
        Arch("resnet50", "ResNet", "He et al., Deep Residual Learning, CVPR 2016", resnet.spec),
        Arch("mobilenet_v1", "MobileNet v1", "Howard et al., MobileNets, 2017", mobilenet_v1.spec),
        Arch("mobilenet_v2", "MobileNet v2", "Sandler et al., MobileNetV2, CVPR 2018", mobilenet_v2.spec),
        Arch("shufflenet_v1", "ShuffleNet v1", "Zhang et al., ShuffleNet, CVPR 2018", shufflenet_v1.spec),
        Arch("shufflenet_v2", "ShuffleNet v2", "Ma et al., ShuffleNet V2, ECCV 2018", shufflenet_v2.spec),
        Arch("ghostnet", "GhostNet", "Han et al., GhostNet, CVPR 2020", ghostnet.spec),
    )
}
assert tuple(REGISTRY) == ARCHS


@lru_cache(maxsize=256)
def resolve(cfg: Config) -> Network:
    """The resolved spec of a checked :class:`Config` (cached: specs are small and frozen)."""
    return REGISTRY[cfg.arch].spec(cfg)


__all__ = ["REGISTRY", "Arch", "Network", "Stage", "make_divisible", "resolve"]
