"""Raw values to a checked :class:`~lightviz.config.Config`, against the registry: the one door.

:func:`make_config` is the one place where raw values are checked (the Python API, the CLI and
the app's URL all come through it); every message names the value and what is allowed. The
architecture names, and which variant options (``groups``) each takes with which values, come
from the registry (:mod:`lightviz.zoo`: the built-in families and the ``lightviz.archs`` entry
points): :func:`arch_names` gives the current tuple, :data:`ARCHS` reads it when asked for.
:func:`network_label` names a network for the pages (the family's label from its ``Arch``) and
for the command line.

This module sits above the zoo; :mod:`lightviz.config` (the Config, its limits and the value
checks that need no architecture) sits below it and imports nothing of lightviz.
"""

from __future__ import annotations

from .config import (
    ALPHA_MAX,
    ALPHA_MIN,
    BASE_RESOLUTION,
    CLASSES_MAX,
    CLASSES_MIN,
    RESOLUTION_MAX,
    RESOLUTION_MIN,
    RHO_MAX,
    RHO_MIN,
    Config,
    in_range,
    number,
)
from .zoo import REGISTRY
from .zoo.table import check_settings


def arch_names() -> tuple[str, ...]:
    """Every registered architecture name, built-in ones first, in the registry's order."""
    return tuple(REGISTRY)


def __getattr__(name: str):
    if name == "ARCHS":  # computed on use, so architectures from plugins are in it
        return arch_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def network_label(cfg: Config, style: str = "page") -> str:
    """One network's name, the one rule for every page, picture and command line.

    ``"page"`` (the app and the diagrams): ``MobileNet v2 \u03b1 1 \u00b7 224 px``,
    ``ShuffleNet v1 g=3 \u03b1 0.5 \u00b7 224 px``, with the family's label from its ``Arch``.
    ``"cli"`` (terminal output and files, typed back as arguments): ``mobilenet_v2 1x @ 224``,
    ``shufflenet_v1 0.5x g=3 @ 224``, the same as :attr:`Config.label`. An edited table adds
    ``custom`` to both.
    """
    if style == "cli":
        return cfg.label
    if style == "page":
        g = f" g={cfg.groups}" if cfg.groups is not None else ""
        name = REGISTRY[cfg.arch].label if cfg.arch in REGISTRY else cfg.arch
        edited = " \u00b7 custom" if cfg.settings is not None else ""  # an edited table says so
        return f"{name}{g} \u03b1 {cfg.alpha:g} \u00b7 {cfg.resolution} px{edited}"
    raise ValueError(f"style must be 'page' or 'cli', got {style!r}")


ARCH_LIST_HINT = " (lightviz list shows all)"  # the CLI's pointer; the app's menu lists them


def unknown_architecture(arch) -> str:
    """The one-line message for a name that is not registered: the names it is close to
    (case aside, then :func:`difflib.get_close_matches`) with :data:`ARCH_LIST_HINT`, or every
    name where none is close."""
    import difflib

    names = arch_names()
    if isinstance(arch, str):
        same = [n for n in names if n.lower() == arch.strip().lower()]
        close = same or difflib.get_close_matches(arch.strip().lower(), names, n=3, cutoff=0.6)
        if close:
            which = " or ".join([", ".join(close[:-1]), close[-1]] if len(close) > 1 else close)
            return (f"unknown architecture {arch!r}: did you mean {which}?"
                    f"{ARCH_LIST_HINT}")
    return f"unknown architecture {arch!r}: choose one of {', '.join(names)}"


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
    if not isinstance(arch, str) or arch not in REGISTRY:
        raise ValueError(unknown_architecture(arch))
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
