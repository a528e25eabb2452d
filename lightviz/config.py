"""The configuration of a network, checked once for every door (Python API, CLI, the app's URL).

A :class:`Config` is frozen and hashable, so caches can key on it. :func:`make_config` is the one
place where raw values are checked; every message names the value and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

ARCHS = (
    "resnet18",
    "resnet34",
    "resnet50",
    "mobilenet_v1",
    "mobilenet_v2",
    "shufflenet_v1",
    "shufflenet_v2",
    "ghostnet",
)

BASE_RESOLUTION = 224
ALPHA_MIN, ALPHA_MAX = 0.25, 2.0
RESOLUTION_MIN, RESOLUTION_MAX = 32, 512
RHO_MIN, RHO_MAX = RESOLUTION_MIN / BASE_RESOLUTION, RESOLUTION_MAX / BASE_RESOLUTION
CLASSES_MIN, CLASSES_MAX = 1, 100_000
SHUFFLENET_V1_GROUPS = (1, 2, 3, 4, 8)
SHUFFLENET_V1_DEFAULT_GROUPS = 3


@dataclass(frozen=True)
class Config:
    """One network configuration.

    ``alpha`` is the width multiplier, ``resolution`` the side of the square input in pixels
    (``rho = resolution / 224``), ``groups`` the group count of ShuffleNet v1 (None elsewhere).
    """

    arch: str
    alpha: float = 1.0
    resolution: int = BASE_RESOLUTION
    groups: Optional[int] = None
    classes: int = 1000

    @property
    def rho(self) -> float:
        return self.resolution / BASE_RESOLUTION

    @property
    def label(self) -> str:
        g = f" g={self.groups}" if self.groups is not None else ""
        return f"{self.arch} {self.alpha:g}x{g} @ {self.resolution}"


def number(name: str, value, integer: bool = False) -> float:
    """``value`` as a finite number, or a ValueError naming ``name``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be a number, got {value!r}") from None
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if integer and value != int(value):
        raise ValueError(f"{name} must be a whole number, got {value:g}")
    return value


def in_range(name: str, value: float, lo: float, hi: float, extra: str = "") -> None:
    """A ValueError naming ``name``, its value and the allowed range when ``value`` is outside
    ``lo`` to ``hi`` (``extra`` is appended to the message, e.g. a unit)."""
    if not lo <= value <= hi:
        raise ValueError(f"{name} {value:g} is out of range: allowed {lo:g} to {hi:g}{extra}")


def make_config(
    arch,
    alpha=1.0,
    rho=1.0,
    resolution=None,
    groups=None,
    classes=1000,
) -> Config:
    """Check raw values and return a :class:`Config`; raise ``ValueError`` naming what was wrong
    and what is allowed. ``resolution``, when given, wins over ``rho``
    (``resolution = round(224 * rho)`` otherwise)."""
    if not isinstance(arch, str) or arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}: choose one of {', '.join(ARCHS)}")
    alpha = number("alpha", alpha)
    in_range("alpha", alpha, ALPHA_MIN, ALPHA_MAX)
    if resolution is None:
        rho = number("rho", rho)
        pixels = BASE_RESOLUTION * rho
        if not RESOLUTION_MIN - 0.5 <= pixels < RESOLUTION_MAX + 0.5:
            raise ValueError(
                f"rho {rho:g} is out of range: allowed {RHO_MIN:.3f} to {RHO_MAX:.3f} "
                f"(input {RESOLUTION_MIN} to {RESOLUTION_MAX} pixels; rho x 224 = {pixels:.4g}, "
                f"and below {RESOLUTION_MIN} the stride-32 networks collapse to nothing)"
            )
        res = round(pixels)
    else:
        res = number("resolution", resolution, integer=True)
        in_range("resolution", res, RESOLUTION_MIN, RESOLUTION_MAX,
                  f" pixels (below {RESOLUTION_MIN} the stride-32 networks collapse to nothing)")
    if arch == "shufflenet_v1":
        if groups is None:
            groups = SHUFFLENET_V1_DEFAULT_GROUPS
        g = number("groups", groups, integer=True)
        if int(g) not in SHUFFLENET_V1_GROUPS:
            allowed = ", ".join(map(str, SHUFFLENET_V1_GROUPS))
            raise ValueError(f"groups {g:g} is not allowed for shufflenet_v1: choose one of {allowed}")
        groups = int(g)
    elif groups is not None:
        raise ValueError(f"groups applies only to shufflenet_v1, not to {arch}")
    classes = number("classes", classes, integer=True)
    in_range("classes", classes, CLASSES_MIN, CLASSES_MAX)
    return Config(arch, alpha, int(res), groups, int(classes))
