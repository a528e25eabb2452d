"""Editable tables: a family's table of the paper as settings the user may change.

Each family declares a :class:`Table` on its :class:`~lightviz.zoo.Arch` (optional: a plugin's
architecture without one simply has no editable table). The settings are JSON in the papers'
(and torchvision's / timm's) own terms, e.g. MobileNetV2's ``{"layers": [[t, c, n, s], ...]}``;
keys left out keep the paper's values. :func:`check_settings` (called by
:func:`lightviz.configure.make_config`, so every door gets the same one-line messages) validates
them against the limits below and returns them frozen as nested tuples (the
:class:`~lightviz.config.Config` stays hashable: :func:`~lightviz.config.freeze`,
:func:`~lightviz.config.thaw`), or None when they equal the paper's table.
A family's ``spec(cfg)`` reads :func:`current` instead of its module constant.

Limits (one-line messages naming the row and the field): strides 1 or 2 and the total stride at
most 32, widths 1 to 4096, at most 64 blocks in all, expansion at least 1 (at most 16), SE ratio
0 to 1, ShuffleNet widths divisible as the unit needs, and at most 500 M parameters once alpha is
applied (so building the module stays within memory).

:func:`encode_url` / :func:`decode_url` write and read the URL form, ``v1.<base64url of the
compact JSON of the keys that differ>``; :func:`load_settings` reads the CLI's ``FILE|JSON``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, overload

from ..config import Config, freeze, thaw

MAX_BLOCKS = 64
WIDTH_MIN, WIDTH_MAX = 1, 4096
MAX_TOTAL_STRIDE = 32
EXPANSION_MAX = 16
MAX_PARAMS = 500_000_000
MAX_TEXT = 64 * 1024  # characters of settings JSON (a table of 64 blocks is about 2 KB)
MAX_URL = 16 * 1024
URL_VERSION = "v1"

# The architectures that have a table, by name, in the registry's order. The registry
# (:class:`lightviz.zoo.Registry`) keeps it as it accepts built-ins and plugins: this module cannot
# ask the registry, which imports the families, which import this module.
TABLED: dict[str, Any] = {}  # name -> its lightviz.zoo.Arch (which imports this module)


class Problem(NamedTuple):
    """One thing wrong with a table: ``row`` (index into the editor's rows, None for the
    table as a whole or a scalar), ``field`` (the editor column or key) and the message."""

    row: int | None
    field: str
    message: str


class SettingsError(ValueError):
    """A table that cannot be used; ``str()`` is the first problem's one-line message and
    ``problems`` lists them all (the app shows them beside the table)."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__(self.problems[0].message if self.problems else "settings are not valid")


@dataclass(frozen=True)
class Column:
    """An editor column: ``name`` (key in a row dict), ``kind`` ("int", "float" or "text";
    text columns are read-only labels), ``help``, the ``default`` of a new row's cell and the
    ``title`` that spells out a paper's one-letter name (t: expansion) in the header."""

    name: str
    kind: str = "int"
    help: str = ""
    default: Any = None  # the value of a new row's cell
    title: str = ""

    @property
    def header(self) -> str:
        """The editor's header: ``t \u00b7 expansion`` for a one-letter name with a title."""
        return f"{self.name} \u00b7 {self.title}" if self.title else self.name


STAGE_COLUMN = Column("stage", "text", "the paper's name of the stage")


def whole_lists(*keys: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A ``normalize`` for tables of whole-number lists (ResNet, the ShuffleNets): each of
    ``keys`` as a list of ints."""
    return lambda table: {k: [int(v) for v in table[k]] for k in keys}


@dataclass(frozen=True)
class Table:
    """An architecture's editable table.

    ``default(cfg)`` gives the paper's table (JSON terms: a dict of lists and numbers) for the
    Config's architecture and variant; ``check(table, cfg)`` lists the :class:`Problem`\\ s of a
    complete table (every key present, values still raw JSON) at the Config's alpha and groups;
    ``normalize(table)`` gives the checked table with canonical number types (ints where whole).
    ``rows(table) -> (rows, scalars)`` gives the editor's rows (a list of dicts keyed by
    ``columns``) and the numbers edited beside it (named in ``scalars``);
    ``from_rows(rows, scalars) -> (table, problems)`` reads them back (raw values: the check
    does the rest; problems only for what the check cannot see, such as a GhostNet stage
    number that is not a number).
    ``fields`` gives, per list key, the names of a row's fields (for the messages and the list
    of differences).
    """

    default: Callable[[Config], dict[str, Any]]
    check: Callable[[dict[str, Any], Config], list[Problem]]
    normalize: Callable[[dict[str, Any]], dict[str, Any]]
    columns: tuple[Column, ...]
    rows: Callable[[dict[str, Any]], tuple[list[dict[str, Any]], dict[str, Any]]]
    from_rows: Callable[[list[dict[str, Any]], dict[str, Any]], tuple[dict[str, Any], list[Problem]]]
    scalars: tuple[str, ...] = ()
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dynamic: bool = True  # rows may be added and deleted
    help: str = ""


# --------------------------------------------------------------------------- the check

def table_of(cfg):
    """The architecture's :class:`Table`, or None."""
    arch = TABLED.get(cfg.arch)
    return arch.table if arch is not None else None


def current(cfg) -> dict:
    """The table the Config describes: its settings, or the paper's."""
    table = table_of(cfg)
    if cfg.settings is None:
        return table.default(cfg)
    return thaw(cfg.settings)


def check_settings(raw, cfg) -> tuple | None:
    """``raw`` settings (a dict, JSON text, or a Config's frozen tuples) checked for ``cfg``
    (its arch, alpha, groups): the frozen complete table, or None when it equals the paper's.
    Raises :class:`SettingsError` (a ValueError) with one line naming the row and field."""
    table = table_of(cfg)
    if raw is None:
        return None
    if table is None:
        having = list(TABLED)  # a plugin's name reaches here after the registry read the plugins
        raise SettingsError([Problem(None, "", f"settings apply only to {', '.join(having)}, "
                                                f"not to {cfg.arch}")])
    if isinstance(raw, str):
        raw = parse_json(raw)
    elif isinstance(raw, tuple):
        raw = thaw(raw)
    if not isinstance(raw, dict):
        raise SettingsError([Problem(None, "", f"settings must be a JSON object such as "
                                                f"{_example(table, cfg)}, got {_kind(raw)}")])
    default = table.default(cfg)
    unknown = [k for k in raw if k not in default]
    if unknown:
        raise SettingsError([Problem(None, str(unknown[0])[:40],
                                     f"settings: unknown key {str(unknown[0])[:40]!r} for "
                                     f"{cfg.arch}: allowed {', '.join(default)}")])
    full = {k: raw.get(k, v) for k, v in default.items()}
    problems = table.check(full, cfg)
    if problems:
        raise SettingsError(problems)
    full = table.normalize(full)
    frozen = freeze(full)
    if frozen == freeze(default):
        return None
    test = Config(cfg.arch, cfg.alpha, cfg.resolution, cfg.groups, cfg.classes, frozen)
    params = spec_params(_spec(test))
    if params > MAX_PARAMS:
        raise SettingsError([Problem(None, "", f"settings give {params / 1e6:,.0f} M parameters "
                                                f"at alpha {cfg.alpha:g}: at most "
                                                f"{MAX_PARAMS // 1_000_000} M allowed (the module "
                                                f"must fit in memory)")])
    return frozen


def _spec(cfg):
    return TABLED[cfg.arch].spec(cfg)


def spec_params(network) -> int:
    """The parameters of a resolved spec, from its leaves alone (no shapes needed), by the
    profile's own formula (:func:`lightviz.spec.leaf_params`)."""
    from ..spec import leaf_params, leaves

    return sum(leaf_params(leaf) for _, leaf in leaves(network))


def _kind(value) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false",
             type(None): "null", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _example(table, cfg) -> str:
    text = json.dumps(table.default(cfg), separators=(",", ":"))
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- value checks

class Rows:
    """Collects :class:`Problem`\\ s while a family's check walks its table."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, row: int | None, fld: str, message: str) -> None:
        self.problems.append(Problem(row, fld, f"settings: {message}"))

    @overload
    def number(self, value: Any, where: str, fld: str, lo: float, hi: float, row: int | None = None,
               integer: Literal[True] = True, choices: tuple[float, ...] | None = None,
               col: str | None = None) -> int | None: ...

    @overload
    def number(self, value: Any, where: str, fld: str, lo: float, hi: float, row: int | None = None,
               *, integer: bool, choices: tuple[float, ...] | None = None,
               col: str | None = None) -> float | None: ...

    def number(self, value: Any, where: str, fld: str, lo: float, hi: float, row: int | None = None,
               integer: bool = True, choices: tuple[float, ...] | None = None,
               col: str | None = None) -> float | None:
        """``value`` as a number within ``lo`` to ``hi`` (whole when ``integer``; one of
        ``choices`` when given), or None with a problem recorded (on the editor's column
        ``col``, default ``fld``)."""
        label = f"{where} {fld}".strip()
        fld = col or fld
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            shown = _show(value)
            self.add(row, fld, f"{label} must be a {'whole ' if integer else ''}number, got {shown}")
            return None
        if not math.isfinite(value):
            self.add(row, fld, f"{label} is empty or not finite ({value!r}): "
                               f"allowed {lo:g} to {hi:g}")
            return None
        if integer and value != int(value):
            self.add(row, fld, f"{label} must be a whole number, got {value:g}")
            return None
        if choices is not None and value not in choices:
            self.add(row, fld, f"{label} {value:g} is not allowed: use "
                               f"{' or '.join(f'{c:g}' for c in choices)}")
            return None
        if not lo <= value <= hi:
            self.add(row, fld, f"{label} {value:g} is out of range: allowed {lo:g} to {hi:g}")
            return None
        return int(value) if integer else float(value)

    def width(self, value: Any, where: str, fld: str, row: int | None = None,
              col: str | None = None) -> int | None:
        return self.number(value, where, fld, WIDTH_MIN, WIDTH_MAX, row, col=col)

    def stride(self, value: Any, where: str, fld: str, row: int | None = None) -> int | None:
        return self.number(value, where, fld, 1, 2, row, choices=(1, 2))

    def rows(self, value: Any, key: str, size: int, lo: int = 1, hi: int = MAX_BLOCKS) -> list | None:
        """``value`` as a list of ``lo`` to ``hi`` rows, each a list of ``size`` items (None
        with a problem when it is not)."""
        if not isinstance(value, list):
            self.add(None, key, f"{key} must be a list of rows, got {_kind(value)}")
            return None
        if not lo <= len(value) <= hi:
            self.add(None, key, f"{key} has {len(value)} rows: allowed {lo} to {hi}")
            return None
        for i, r in enumerate(value):
            if not isinstance(r, list) or len(r) != size:
                got = f"{len(r)} values" if isinstance(r, list) else _kind(r)
                self.add(i, key, f"{key} row {i + 1} must be a list of {size} values, got {got}")
                return None
        return value

    def numbers(self, value: Any, key: str, size: int) -> list | None:
        """``value`` as a list of exactly ``size`` items (None with a problem otherwise)."""
        if not isinstance(value, list) or len(value) != size:
            got = f"{len(value)} values" if isinstance(value, list) else _kind(value)
            self.add(None, key, f"{key} must be a list of {size} numbers, got {got}")
            return None
        return value

    def total_blocks(self, n: int) -> None:
        if n > MAX_BLOCKS:
            self.add(None, "", f"the table has {n} blocks in all: at most {MAX_BLOCKS} allowed")

    def total_stride(self, stride: int, fixed: int) -> None:
        if stride > MAX_TOTAL_STRIDE:
            self.add(None, "s", f"the total stride is {stride} (stem {fixed} x the blocks' "
                                f"strides): at most {MAX_TOTAL_STRIDE} allowed")


def _show(value) -> str:
    text = json.dumps(value) if isinstance(value, (str, list, dict)) or value is None else repr(value)
    return text if len(text) <= 30 else text[:29] + "\u2026"


def whole(x):
    """``x`` as an int when it is whole (JSON 6.0 and 6 are one table)."""
    return int(x) if isinstance(x, float) and x == int(x) else x


# --------------------------------------------------------------------------- text and URL

def parse_json(text: str):
    """JSON text as a value, or a one-line :class:`SettingsError`."""
    if len(text) > MAX_TEXT:
        raise SettingsError([Problem(None, "", f"settings: the JSON is {len(text):,} characters: "
                                                f"at most {MAX_TEXT:,} allowed")])
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError([Problem(None, "", f"settings are not valid JSON ({exc.msg} at line "
                                                f"{exc.lineno} column {exc.colno})")]) from None
    except (RecursionError, ValueError) as exc:  # too deep, or an integer of thousands of digits
        raise SettingsError([Problem(None, "", f"settings are not usable JSON "
                                                f"({type(exc).__name__})")]) from None


def load_settings(text: str):
    """The CLI's ``--settings FILE|JSON``: JSON text when it starts with ``{`` (or ``[``,
    to say that a list is not a table), else the file of that name (``/dev/stdin`` reads a
    pipe); at most :data:`MAX_TEXT` characters either way."""
    if text.lstrip()[:1] in ("{", "["):
        return parse_json(text)
    try:
        with open(text, encoding="utf-8") as f:
            content = f.read(MAX_TEXT + 1)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise SettingsError([Problem(None, "", f"settings: cannot read {text[:80]!r} ({why}): "
                                                f"give a JSON object or a file holding one")]) from None
    if len(content) > MAX_TEXT:
        raise SettingsError([Problem(None, "", f"settings file {text[:80]!r} is larger than "
                                                f"{MAX_TEXT:,} characters")])
    return parse_json(content)


def encode_url(settings, cfg) -> str:
    """The URL form of frozen settings: ``v1.`` + base64url (no padding) of the compact JSON
    of the keys that differ from the paper's table."""
    table, default = thaw(settings), table_of(cfg).default(cfg)
    diff = {k: v for k, v in table.items() if v != default.get(k)}
    text = json.dumps(diff, separators=(",", ":"))
    return f"{URL_VERSION}.{base64.urlsafe_b64encode(text.encode()).decode().rstrip('=')}"


def decode_url(raw: str):
    """The settings dict of a URL value (see :func:`encode_url`), or a one-line ValueError."""
    if len(raw) > MAX_URL:
        raise ValueError(f"settings in the link are {len(raw):,} characters: at most "
                         f"{MAX_URL:,} allowed")
    version, dot, body = raw.partition(".")
    if not dot or version != URL_VERSION:
        raise ValueError(f"settings in the link must start with {URL_VERSION}. (got "
                         f"{_show(raw[:12])})")
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        text = data.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValueError("settings in the link are not valid base64url JSON") from None
    return parse_json(text)


def differences(cfg, limit: int = 6) -> list:
    """What the Config's table changes from the paper's, for people: ``["layers row 2 t: 6 ->
    1", ...]`` (at most ``limit`` lines, then "and N more")."""
    if cfg.settings is None:
        return []
    table = table_of(cfg)
    new, old = thaw(cfg.settings), table.default(cfg)
    out = []
    for key, was in old.items():
        now = new.get(key, was)
        if now == was:
            continue
        names = table.fields.get(key)
        if isinstance(was, list) and names and all(isinstance(r, list) for r in was + now):
            out.extend(_row_diff(key, was, now, names))
        else:
            out.append(f"{key}: {_short(was)} \u2192 {_short(now)}")
    if len(out) > limit:
        out = out[:limit] + [f"and {len(out) - limit} more"]
    return out


def _row_diff(key, was, now, names):
    flat_was, flat_now = _flatten(was), _flatten(now)
    out = []
    if len(flat_was) != len(flat_now):
        out.append(f"{key}: {len(flat_was)} rows \u2192 {len(flat_now)}")
    for i, (a, b) in enumerate(zip(flat_was, flat_now)):
        changed = [f"{n} {_short(x)} \u2192 {_short(y)}" for n, x, y in zip(names, a, b) if x != y]
        if changed:
            out.append(f"{key} row {i + 1}: " + ", ".join(changed))
    return out


def _flatten(rows):
    """Rows, with GhostNet's stages of rows flattened into one list."""
    if rows and all(isinstance(r, list) and r and isinstance(r[0], list) for r in rows):
        return [x for stage in rows for x in stage]
    return rows


def _short(value) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 40 else text[:39] + "\u2026"


def cell(value):
    """An editor cell as a raw value: empty (None, NaN, pandas' NA) becomes NaN, numpy
    numbers become Python ones, so the check's messages read the same as for JSON."""
    if value is None:
        return math.nan
    try:
        if value != value:  # NaN, and pandas.NA raises TypeError here
            return math.nan
    except TypeError:
        return math.nan
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    return value
