"""The configuration of a network, checked once for every door (Python API, CLI, the app's URL).

A :class:`Config` is frozen and hashable, so caches can key on it. :func:`make_config` is the one
place where raw values are checked; every message names the value and what is allowed.

The architecture names, and which variant options (``groups``) each takes with which values,
come from the registry (:mod:`lightviz.zoo`: the built-in families and the ``lightviz.archs``
entry points). :data:`ARCHS` is read from it when first asked for (the zoo imports this module,
so it cannot be a constant here); :func:`arch_names` gives the current tuple.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The Config fields an architecture may declare as a variant (lightviz.zoo.Variant); each is
# also a make_config keyword, a CLI option and a URL parameter of the same name.
VARIANT_OPTIONS = ("groups",)

BASE_RESOLUTION = 224
ALPHA_MIN, ALPHA_MAX = 0.25, 2.0
RESOLUTION_MIN, RESOLUTION_MAX = 32, 512
RHO_MIN, RHO_MAX = RESOLUTION_MIN / BASE_RESOLUTION, RESOLUTION_MAX / BASE_RESOLUTION
CLASSES_MIN, CLASSES_MAX = 1, 100_000


def arch_names() -> tuple[str, ...]:
    """Every registered architecture name, built-in ones first, in the registry's order."""
    from .zoo import REGISTRY

    return tuple(REGISTRY)


def __getattr__(name: str):
    if name == "ARCHS":  # computed on use, so architectures from plugins are in it
        return arch_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        from .zoo.table import thaw

        return thaw(self.settings)

    @property
    def label(self) -> str:
        """The command line's name: ``mobilenet_v2 1x @ 224`` (see :func:`network_label`)."""
        return network_label(self, "cli")

    @property
    def title(self) -> str:
        """The pages' and pictures' name: ``MobileNet v2 \u03b1 1 \u00b7 224 px``."""
        return network_label(self, "page")


def network_label(cfg: Config, style: str = "page") -> str:
    """One network's name, the one rule for every page, picture and command line.

    ``"page"`` (the app and the diagrams): ``MobileNet v2 \u03b1 1 \u00b7 224 px``,
    ``ShuffleNet v1 g=3 \u03b1 0.5 \u00b7 224 px``, with the family's label from its ``Arch``.
    ``"cli"`` (terminal output and files, typed back as arguments): ``mobilenet_v2 1x @ 224``,
    ``shufflenet_v1 0.5x g=3 @ 224``. An edited table adds ``custom`` to both.
    """
    g = f" g={cfg.groups}" if cfg.groups is not None else ""
    custom = cfg.settings is not None  # an edited table (the Design page) says so in both
    if style == "cli":
        return f"{cfg.arch}{' custom' if custom else ''} {cfg.alpha:g}x{g} @ {cfg.resolution}"
    if style == "page":
        from .zoo import REGISTRY

        name = REGISTRY[cfg.arch].label if cfg.arch in REGISTRY else cfg.arch
        edited = " \u00b7 custom" if custom else ""
        return f"{name}{g} \u03b1 {cfg.alpha:g} \u00b7 {cfg.resolution} px{edited}"
    raise ValueError(f"style must be 'page' or 'cli', got {style!r}")


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
    settings=None,
) -> Config:
    """Check raw values and return a :class:`Config`; raise ``ValueError`` naming what was wrong
    and what is allowed. ``resolution``, when given, wins over ``rho``
    (``resolution = round(224 * rho)`` otherwise). ``settings`` edits the architecture's table
    (a dict in the paper's terms, its JSON text, or a Config's ``settings``; keys left out keep
    the paper's values), checked by the family's validator
    (:func:`lightviz.zoo.table.check_settings`); a table equal to the paper's is stored as None."""
    from .zoo import REGISTRY

    if not isinstance(arch, str) or arch not in REGISTRY:
        raise ValueError(f"unknown architecture {arch!r}: choose one of {', '.join(REGISTRY)}")
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
    groups = _variant(REGISTRY, arch, "groups", groups)
    classes = number("classes", classes, integer=True)
    in_range("classes", classes, CLASSES_MIN, CLASSES_MAX)
    cfg = Config(arch, alpha, int(res), groups, int(classes))
    if settings is None:
        return cfg
    from .zoo.table import check_settings

    return Config(arch, alpha, int(res), groups, int(classes), check_settings(settings, cfg))


def _variant(registry, arch: str, option: str, value) -> int | None:
    """``value`` of variant ``option`` checked against ``arch``'s declared values (its default
    when None), or None for an architecture without that variant (where a value is an error)."""
    v = registry[arch].variant(option)
    if v is None:
        if value is not None:
            having = [a.name for a in registry.values() if a.variant(option) is not None]
            raise ValueError(f"{option} applies only to {', '.join(having) or 'no architecture'}, "
                             f"not to {arch}")
        return None
    if value is None:
        return v.default
    n = number(option, value, integer=True)
    if int(n) not in v.values:
        allowed = ", ".join(map(str, v.values))
        raise ValueError(f"{option} {n:g} is not allowed for {arch}: choose one of {allowed}")
    return int(n)
