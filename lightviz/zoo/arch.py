"""What lightviz knows about one architecture: :class:`Arch`, declared in its family's module.

A family module (``lightviz/zoo/<family>.py``, or a module of another package registered
through the ``lightviz.archs`` entry-point group) holds the table of the paper, its blocks, a
``spec(cfg) -> Network`` function and one :class:`Arch` per architecture name. Everything
else in lightviz (the CLI, the app's pages, the charts, the diagram notes, the calculator)
reads the :class:`Arch`; nothing outside the family module names the family.

Only ``name``, ``family``, ``paper`` and ``spec`` are required::

    ARCHS = (Arch(name="tinynet", family="TinyNet", paper="Doe, TinyNet, 2031", spec=spec),)
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from ..config import VARIANT_OPTIONS, Config

if TYPE_CHECKING:  # annotations only: arch.py is imported before the families and the table
    from ..spec import Node, Unit
    from .common import Network
    from .table import Table

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
# Fallback colours for an Arch that declares none (Tableau 10, like the built-in ones).
PALETTE = ("#4C78A8", "#F58518", "#E45756", "#72B7B2", "#54A24B", "#EECA3B", "#B279A2",
           "#FF9DA6", "#9D755D", "#BAB0AC")


@dataclass(frozen=True)
class Variant:
    """A choice inside one architecture that changes its widths, such as ShuffleNet v1's group
    count: the :class:`~lightviz.config.Config` field ``name`` (one of
    :data:`lightviz.config.VARIANT_OPTIONS`, the CLI option ``--name`` and the URL parameter
    ``name``), its allowed ``values`` and its ``default``. ``label`` and ``help`` are for the
    app's control."""

    name: str
    values: tuple[int, ...]
    default: int
    label: str = ""
    help: str = ""

    def __post_init__(self):
        if self.name not in VARIANT_OPTIONS:
            raise ValueError(f"variant {self.name!r} is not a Config option: choose one of "
                             f"{', '.join(VARIANT_OPTIONS)}")
        if not self.values or self.default not in self.values:
            raise ValueError(f"variant {self.name}: default {self.default!r} is not one of "
                             f"its values {self.values!r}")
        object.__setattr__(self, "values", tuple(self.values))
        if not self.label:
            object.__setattr__(self, "label", self.name)


class BlockFacts(NamedTuple):
    """What :attr:`Arch.describe` gets besides the block spec: the block's MACs and output side
    (from the profile rows), the Config, and ``fmt`` to write a count the way the page does."""

    macs: int
    out_hw: int
    config: Config
    fmt: Callable[[float], str]


@dataclass(frozen=True)
class CalculatorUnit:
    """One stride-1 unit of the family with C input and C output channels, for the calculator's
    "one unit of each family" table (:func:`lightviz.diagrams.calculator.family_units`).

    ``build(c, t, g)`` returns the block spec for width ``c``, expansion ``t`` and group count
    ``g`` (use the ones the unit has); ``description`` is formatted with ``hidden`` (round(t C)),
    ``t`` and ``g``; ``needs(c, t, g)`` says why width ``c`` does not fit (None when it does)."""

    name: str
    description: str
    build: Callable[[int, float, int], Unit]
    needs: Callable[[int, float, int], str | None] | None = None


@dataclass(frozen=True)
class Arch:
    """One architecture name and everything the package knows about it.

    Required: ``name`` (the zoo name used by the API, the CLI and the URL: lower case, digits,
    underscores), ``family`` (for people: "MobileNet v2"), ``paper`` (the citation shown with
    its numbers) and ``spec`` (``spec(cfg) -> Network``, the resolved spec of a checked Config).

    Optional: ``label`` (display name, default the family: "ResNet-50"), ``colour`` (hex, one
    per architecture in every chart; the family's colour is its first architecture's; default
    a palette colour picked from the name), ``variants`` (:class:`Variant`\\ s such as
    ShuffleNet v1's groups), ``describe(block, facts) -> str | None`` (a teacher's words for one
    block of the network, with :class:`BlockFacts`; None falls back to a generic line),
    ``units`` (:class:`CalculatorUnit`\\ s for the calculator's family table), and ``table``
    (a :class:`lightviz.zoo.table.Table`: the paper's table as editable settings with their
    validator; None, the default, means the architecture's table cannot be edited).
    """

    name: str
    family: str
    paper: str
    spec: Callable[[Config], Network]
    label: str = ""
    colour: str = ""
    variants: tuple[Variant, ...] = ()
    describe: Callable[[Node, BlockFacts], str | None] | None = field(default=None,
                                                                              compare=False)
    units: tuple[CalculatorUnit, ...] = ()
    table: Table | None = field(default=None, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not NAME_PATTERN.fullmatch(self.name):
            raise ValueError(f"Arch name {self.name!r} is not allowed: use 1 to 32 lower-case "
                             f"letters, digits and underscores, starting with a letter")
        if not callable(self.spec):
            raise ValueError(f"Arch {self.name}: spec must be a function spec(cfg) -> Network")
        object.__setattr__(self, "variants", tuple(self.variants))
        object.__setattr__(self, "units", tuple(self.units))
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"Arch {self.name}: a variant is declared twice ({', '.join(names)})")
        if not self.label:
            object.__setattr__(self, "label", self.family)
        if not self.colour:
            object.__setattr__(self, "colour", PALETTE[zlib.crc32(self.name.encode()) % len(PALETTE)])

    def variant(self, option: str) -> Variant | None:
        """The :class:`Variant` called ``option`` (e.g. "groups"), or None if it has none."""
        return next((v for v in self.variants if v.name == option), None)

    def pick(self, option: str, preferred: int | None = None) -> int | None:
        """A valid value of ``option`` for this architecture: ``preferred`` when allowed, else
        the variant's default; None when the architecture has no such variant."""
        v = self.variant(option)
        if v is None:
            return None
        return preferred if preferred in v.values else v.default
