"""The README's code layout (the tree in a fenced block of its "Design" section) names every
module and package of lightviz/, each with a line saying what it is, and nothing that is not
there.

The tree is read the way it is drawn: an entry is a line whose first word is a module
(``name.py``) or a folder (``name/``), indented two spaces per level below its folder; a line
indented further continues the description above it. ``__init__.py`` and ``__main__.py`` need
no line of their own (a package's line says what its ``__init__`` holds)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "lightviz"
OPTIONAL = {"__init__.py", "__main__.py"}
ENTRY = re.compile(r"^( *)([A-Za-z0-9_.-]+(?:\.py|/))(?=\s|$)(.*)$")


def in_tree() -> tuple[set[str], set[str]]:
    """(what the layout must name, what it may name), as paths inside lightviz/: modules as
    ``latency/setup.py``, packages as ``latency/lab/``."""
    required, optional = set(), set()
    for path in (ROOT / PACKAGE).rglob("*"):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(ROOT / PACKAGE).as_posix()
        if path.is_dir() and (path / "__init__.py").is_file():
            required.add(rel + "/")
        elif path.is_file() and path.suffix == ".py":
            (optional if path.name in OPTIONAL else required).add(rel)
    return required, optional


def layout_block() -> list[str]:
    """The lines of the README's fenced block that draws the tree (the one with a
    ``lightviz/`` entry at the left margin)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S):
        lines = block.splitlines()
        if any(re.match(rf"{PACKAGE}/(\s|$)", line) for line in lines):
            return lines
    raise AssertionError(f"README.md has no fenced block with a `{PACKAGE}/` line at the left "
                         "margin: the code layout section is gone")


def in_readme(lines: list[str]) -> dict[str, str]:
    """Path inside lightviz/ -> its description, for every entry under the ``lightviz/`` line."""
    named: dict[str, str] = {}
    stack: list[tuple[int, str | None]] = []  # open folders: (indent, path inside lightviz/)
    for line in lines:
        m = ENTRY.match(line)
        if not m:
            continue
        indent, name, rest = len(m.group(1)), m.group(2), m.group(3).strip()
        if indent % 2 or indent > (stack[-1][0] + 2 if stack else 0):
            continue  # a continuation of the description above
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if indent == 0:
            parent = "" if name == f"{PACKAGE}/" else None
            if name.endswith("/"):
                stack.append((0, parent))
            continue
        if not stack or stack[-1][0] != indent - 2:
            continue
        parent = stack[-1][1]
        if parent is None:  # inside a folder that is not lightviz/
            if name.endswith("/"):
                stack.append((indent, None))
            continue
        path = parent + name
        named[path] = rest
        if name.endswith("/"):
            stack.append((indent, path))
    return named


def test_the_layout_names_every_module_and_nothing_else():
    required, optional = in_tree()
    named = in_readme(layout_block())
    missing = sorted(required - named.keys())
    extra = sorted(named.keys() - required - optional)
    problems = []
    if missing:
        problems.append("not named (add one line each, saying what it is): "
                        + ", ".join(f"{PACKAGE}/{n}" for n in missing))
    if extra:
        problems.append("named but not in the tree (remove or rename): "
                        + ", ".join(f"{PACKAGE}/{n}" for n in extra))
    if problems:
        pytest.fail("README.md's code layout (section Design):\n" + "\n".join(problems),
                    pytrace=False)


def test_every_module_line_says_what_it_is():
    named = in_readme(layout_block())
    bare = sorted(n for n, text in named.items() if n.endswith(".py") and not text)
    assert not bare, ("README.md's code layout: a module line without a description: "
                      + ", ".join(f"{PACKAGE}/{n}" for n in bare))


def test_the_reader_follows_the_drawing():
    """The parser itself, on a small drawing: nesting, continuation lines, folders outside."""
    lines = ["app.py          the entry", "lightviz/", "  a.py          first",
             "                continued: b.py is not an entry", "  sub/          a package",
             "    c.py        in sub", "      d.py      deeper than an entry: a continuation",
             "  e.py          back at the top", "tests/          not the package",
             "  f.py          outside"]
    assert in_readme(lines) == {"a.py": "first", "sub/": "a package", "sub/c.py": "in sub",
                                "e.py": "back at the top"}
