"""The configuration of a network: the ground every other module of lightviz stands on.

A :class:`Config` is frozen and hashable, so caches can key on it. This module holds it, the
limits of its values (:data:`ALPHA_MIN` ... :data:`CLASSES_MAX`), the value checks that need
no architecture (:func:`number`, :func:`in_range`) and the frozen form of an edited table
(:func:`freeze`, :func:`thaw`); it imports nothing of lightviz, so anything may import it.

Raw values become a Config in :func:`lightviz.configure.make_config`, which checks them against
the registry (:mod:`lightviz.zoo`); the architecture names and the pages' name of a network
(:func:`lightviz.configure.network_label`) live there too, above the zoo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The Config fields an architecture may declare as a variant (lightviz.zoo.Variant); each is
# also a make_config keyword, a CLI option and a URL parameter of the same name.
VARIANT_OPTIONS = ("groups",)

BASE_RESOLUTION = 224
# The precision a network is deployed in: it changes weight and activation bytes, the deployment
# memory, latency and top-1, never params or MACs. The app's sidebar, the URL (``dtype``) and the
# commands' ``--dtype`` name it the same way.
PRECISIONS = ("fp32", "fp16", "int8")
PRECISION_BYTES = {"fp32": 4, "fp16": 2, "int8": 1}
PRECISION_ALIASES = {"float32": "fp32", "float": "fp32", "float16": "fp16", "half": "fp16",
                     "qint8": "int8"}
DEFAULT_PRECISION = "fp32"
ALPHA_MIN, ALPHA_MAX = 0.25, 2.0
RESOLUTION_MIN, RESOLUTION_MAX = 32, 512
RHO_MIN, RHO_MAX = RESOLUTION_MIN / BASE_RESOLUTION, RESOLUTION_MAX / BASE_RESOLUTION
CLASSES_MIN, CLASSES_MAX = 1, 100_000


@dataclass(frozen=True)
class Config:
    """One network configuration.

    ``alpha`` is the width multiplier, ``resolution`` the side of the square input in pixels
    (``rho = resolution / 224``), ``groups`` a variant option: the group count of the
    architectures that declare it (ShuffleNet v1), None for the others.
    """

    arch: str
    alpha: float = 1.0
    resolution: int = BASE_RESOLUTION
    groups: int | None = None
    classes: int = 1000
    settings: tuple | None = None  # the edited table as nested tuples; None = the paper's

    @property
    def rho(self) -> float:
        return self.resolution / BASE_RESOLUTION

    @property
    def custom(self) -> bool:
        """Whether the table is edited (not a published network)."""
        return self.settings is not None

    @property
    def settings_json(self):
        """The edited table as JSON values (dicts and lists), None for the paper's table."""
        if self.settings is None:
            return None
        return thaw(self.settings)

    @property
    def label(self) -> str:
        """The command line's name, typed back as arguments: ``mobilenet_v2 1x @ 224``,
        ``shufflenet_v1 0.5x g=3 @ 224``, with ``custom`` after the name for an edited table.
        The pages' name needs the registry: :func:`lightviz.configure.network_label`."""
        g = f" g={self.groups}" if self.groups is not None else ""
        custom = " custom" if self.settings is not None else ""
        return f"{self.arch}{custom} {self.alpha:g}x{g} @ {self.resolution}"


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


def freeze(value):
    """A JSON value as nested tuples: a dict becomes a tuple of (key, value) pairs (the form of
    :attr:`Config.settings`, so a Config with an edited table stays hashable)."""
    if isinstance(value, dict):
        return tuple((k, freeze(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def _is_pairs(value) -> bool:
    return (isinstance(value, tuple) and len(value) > 0 and
            all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in value))


def thaw(value):
    """The JSON value of :func:`freeze`'s tuples (a top-level tuple of pairs is a dict)."""
    if _is_pairs(value):
        return {k: _thaw_list(v) for k, v in value}
    return _thaw_list(value)


def _thaw_list(value):
    if isinstance(value, tuple):
        return [_thaw_list(v) for v in value]
    return value


def parse_precision(value) -> str:
    """A deployment precision (``fp32``, ``fp16``, ``int8``; ``float32``/``float16``/``half``
    accepted); ValueError in one line naming what is allowed."""
    text = str(value).strip().lower() if value is not None else ""
    text = PRECISION_ALIASES.get(text, text)
    if text not in PRECISIONS:
        raise ValueError(f"unknown precision {value!r}: choose one of {', '.join(PRECISIONS)}")
    return text
