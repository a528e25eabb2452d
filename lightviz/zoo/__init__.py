"""The registry: every architecture by name, as an :class:`Arch` declared in its family module.

Built-in families live in ``lightviz/zoo/<family>.py``; each ends with ``ARCHS = (Arch(...),
...)``. A family from another package registers itself through the ``lightviz.archs``
entry-point group: the entry point names a module attribute that is an :class:`Arch` or a
tuple of them, e.g. in that package's ``pyproject.toml``::

    [project.entry-points."lightviz.archs"]
    tinynet = "tinynet:ARCHS"

and then works in every door (the API, ``lightviz list/profile/diagram/bench``, the app's
pages). The public API to write one is :mod:`lightviz.spec` (leaves, units, the :class:`Flow`
protocol), :mod:`lightviz.zoo.common` (:class:`Network`, :class:`Stage`, :func:`make_divisible`,
:func:`pooled_classifier`) and :class:`Arch` with :class:`Variant`, :class:`CalculatorUnit`
and :class:`BlockFacts` (see ``lightviz/zoo/arch.py``); an editable table is a :class:`Table`
with its :class:`Column`\\ s, checked with :class:`Rows` (see ``lightviz/zoo/table.py``).

Plugins are read the first time a name that is not built in is looked up or the registry is
listed, so commands on the built-in networks never scan the installed packages. A plugin that
fails to import, is not an :class:`Arch`, whose spec fails on its default Config, or whose name
is taken (a plugin cannot replace a built-in name) is skipped with one warning line on the
``lightviz`` logger and kept in :attr:`Registry.problems`; it never stops the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from functools import lru_cache

from ..config import BASE_RESOLUTION, VARIANT_OPTIONS, Config
from ..spec import Unit
from . import ghostnet, mobilenet_v1, mobilenet_v2, resnet, shufflenet_v1, shufflenet_v2
from .arch import Arch, BlockFacts, CalculatorUnit, Variant
from .common import Network, Stage, make_divisible, pooled_classifier
from .table import TABLED, Column, Problem, Rows, Table

ENTRY_POINT_GROUP = "lightviz.archs"


def _tables(archs: Mapping[str, Arch]) -> None:
    """Tell the table module which accepted architectures have a table (it cannot import us)."""
    TABLED.clear()
    TABLED.update((n, a) for n, a in archs.items() if a.table is not None)

BUILTIN = (resnet.ARCHS + mobilenet_v1.ARCHS + mobilenet_v2.ARCHS + shufflenet_v1.ARCHS
           + shufflenet_v2.ARCHS + ghostnet.ARCHS)
log = logging.getLogger("lightviz")


class Registry(Mapping):
    """Architecture name -> :class:`Arch`: the built-in ones, then the plugins' (read lazily,
    see the module docstring). Safe to read from several threads (the app's sessions)."""

    def __init__(self, builtin):
        self._archs: dict[str, Arch] = {a.name: a for a in builtin}
        _tables(self._archs)
        self._builtin = frozenset(self._archs)
        self.builtin = tuple(self._archs)  # the built-in names, in order
        self.loaded = False  # whether the plugins' entry points have been read
        self._loading = False
        self._lock = threading.RLock()
        self.problems: list[str] = []  # one line per skipped plugin

    def _all(self) -> dict[str, Arch]:
        if not self.loaded:
            with self._lock:
                # _loading: a plugin's module that reads the registry while it is imported
                # sees the built-in names, instead of loading the plugins again
                if not self.loaded and not self._loading:
                    self.load_plugins()
        return self._archs

    def __getitem__(self, name: str) -> Arch:
        if isinstance(name, str) and name in self._builtin:
            return self._archs[name]
        return self._all()[name]

    def __contains__(self, name) -> bool:
        if not isinstance(name, str):
            return False
        return name in self._builtin or name in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._all()))

    def __len__(self) -> int:
        return len(self._all())

    def load_plugins(self) -> None:
        """(Re)read the ``lightviz.archs`` entry points: drop the plugins' architectures read
        before, add the ones installed now (call it after changing ``sys.path``). Each plugin
        skipped gives one warning line."""
        with self._lock:
            self._loading = True
            try:
                archs, problems = self._read_plugins()
            finally:
                self._loading = False
            self._archs, self.problems, self.loaded = archs, problems, True
            _tables(archs)
            resolve.cache_clear()  # a reloaded plugin may change a spec under the same name
        for line in problems:
            log.warning("lightviz: warning: %s", line)

    def _read_plugins(self) -> tuple[dict[str, Arch], list[str]]:
        from importlib.metadata import entry_points

        archs = {n: a for n, a in self._archs.items() if n in self._builtin}
        problems: list[str] = []
        seen = set()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
            if (ep.name, ep.value) in seen:  # the same distribution on sys.path twice
                continue
            seen.add((ep.name, ep.value))
            try:
                found = ep.load()
            except Exception as exc:  # any error in someone else's module: skip it, say why
                problems.append(_skipped(ep, f"cannot be loaded ({type(exc).__name__}: {exc})"))
                continue
            for arch in (found if isinstance(found, (tuple, list)) else (found,)):
                problem = self._check(arch, archs)
                if problem:
                    problems.append(_skipped(ep, problem))
                else:
                    archs[arch.name] = arch
        return archs, problems

    def _check(self, arch, archs) -> str | None:
        """Why ``arch`` cannot be registered beside ``archs``, or None."""
        if not isinstance(arch, Arch):
            return f"gives {type(arch).__name__}, not a lightviz.zoo.Arch"
        if arch.name in self._builtin:
            return f"cannot replace the built-in architecture {arch.name}"
        if arch.name in archs:
            return f"architecture {arch.name} is already registered by another plugin"
        options = {v.name: v.default for v in arch.variants}
        cfg = Config(arch.name, 1.0, BASE_RESOLUTION, options.get("groups"), 1000)
        try:
            net = arch.spec(cfg)
        except Exception as exc:
            return f"spec of {arch.name} fails on its default configuration ({type(exc).__name__}: {exc})"
        if not isinstance(net, Unit):
            return f"spec of {arch.name} returns {type(net).__name__}, not a Network"
        return None

    @property
    def families(self) -> dict[str, list[Arch]]:
        """Family -> its architectures, in registry order."""
        out: dict[str, list[Arch]] = {}
        for a in self.values():
            out.setdefault(a.family, []).append(a)
        return out


def _skipped(ep, why: str) -> str:
    return " ".join(f"plugin {ep.name} ({ep.value}) skipped: {why}".split())  # one line


REGISTRY = Registry(BUILTIN)
assert set(VARIANT_OPTIONS) == {"groups"}  # Config's fields; a new option needs a new field


class ArchField(Mapping):
    """A read-only view name -> one field of each :class:`Arch` (``ArchField("label")``),
    always current with the registry."""

    def __init__(self, field: str):
        self.field = field

    def __getitem__(self, name):
        return getattr(REGISTRY[name], self.field)

    def __iter__(self):
        return iter(REGISTRY)

    def __len__(self):
        return len(REGISTRY)


class FamilyColours(Mapping):
    """Family -> colour, the colour of its first architecture, always current."""

    def _table(self):
        return {f: archs[0].colour for f, archs in REGISTRY.families.items()}

    def __getitem__(self, family):
        return self._table()[family]

    def __iter__(self):
        return iter(self._table())

    def __len__(self):
        return len(self._table())


@lru_cache(maxsize=256)
def resolve(cfg: Config) -> Network:
    """The resolved spec of a checked :class:`Config` (cached: specs are small and frozen)."""
    return REGISTRY[cfg.arch].spec(cfg)


__all__ = ["ENTRY_POINT_GROUP", "REGISTRY", "Arch", "ArchField", "BlockFacts", "CalculatorUnit",
           "Column", "FamilyColours", "Network", "Problem", "Registry", "Rows", "Stage", "Table",
           "Variant", "make_divisible", "pooled_classifier", "resolve"]
