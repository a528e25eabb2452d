"""The look of every diagram: colours, fonts, and the DOT text pieces they are written with.

Nodes are light fills with dark text and edges a mid grey, so a picture reads on the app's light
and dark themes (the browser draws it on a transparent background); labels on edges sit on a
light pill for the same reason. ``background="white"`` gives slides a solid page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

FONT = "Helvetica,Arial,sans-serif"
TEXT = "#1f2933"        # dark text, only ever drawn on light fills
INK = "#8591a0"         # edges and borders: readable on #ffffff and on #0e1117
PILL = "#eef1f5"        # background of edge labels and titles
IO_FILL = "#d6e6f7"     # block input / output
MOVE_FILL = "#e9ecf1"   # ops that only move data (concat, split, add, pool, ...)
SHUFFLE_FILL = "#e2d9f6"
CLUSTER_FILL = "#f6f8fb"
# share of MACs 0 -> 1 (normalised to the largest node): pale yellow to orange, all dark-text safe
RAMP = ("#fffbea", "#fff0c2", "#fedd94", "#fdc472", "#fca75a", "#f7894a")
GROUP_COLORS = ("#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6", "#ffffb3", "#e5d8bd",
                "#fddaec")
# the same hues, saturated enough for lines on white and on a dark page
GROUP_INK = ("#e0605a", "#4f8fd1", "#3c9a3a", "#a05ec9", "#d9741a", "#9a8c0a", "#a5804a", "#e05aa8")
# Streamlit draws every text of a graphviz chart in its body font at 9.6 px whatever the DOT
# says, and Graphviz sizes the boxes from the DOT's font size, so a smaller size there would let
# the text overflow its box in the app: no label is written below this.
MIN_POINTS = 10

Line = tuple[str, int, bool]  # one line of a label: text, point size, bold


def ramp(t: float) -> str:
    """Fill colour for a share ``t`` in [0, 1] (0 = palest)."""
    t = min(1.0, max(0.0, float(t)))
    pos = t * (len(RAMP) - 1)
    i = min(int(pos), len(RAMP) - 2)
    f = pos - i
    a, b = RAMP[i], RAMP[i + 1]
    mix = [round(int(a[k:k + 2], 16) * (1 - f) + int(b[k:k + 2], 16) * f) for k in (1, 3, 5)]
    return "#" + "".join(f"{v:02x}" for v in mix)


def esc(text) -> str:
    """Text for an HTML-like label."""
    return html.escape(str(text), quote=True)


def quote(text) -> str:
    """A double-quoted DOT string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def html_lines(lines: Sequence[Line]) -> str:
    """An HTML-like label, one line per ``(text, point size, bold)``, text escaped here."""
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{table_rows(lines)}</table>>'


def table_rows(lines: Sequence[Line], color: str = "") -> str:
    """The table rows of a label: one line each, escaped, never below MIN_POINTS."""
    rows = []
    for text, size, bold in lines:
        t = esc(text)
        if bold:
            t = f"<b>{t}</b>"
        c = f' color="{color}"' if color else ""
        rows.append(f'<tr><td><font point-size="{max(size, MIN_POINTS)}"{c}>{t}</font></td></tr>')
    return "".join(rows)


def pill(lines: Sequence[Line], bg: str = PILL) -> str:
    """A label on a light pill (titles and edge labels), readable on light and dark pages."""
    return (f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="2" bgcolor="{bg}">'
            f'{table_rows(lines, TEXT)}</table>>')


def edge_label(shape: str, note: str = "") -> str:
    """The pill of an edge: the tensor shape, under an optional bold note ("identity")."""
    lines = [(shape, 10, False)]
    if note:
        lines.insert(0, (note, 9, True))
    return pill(lines)


def header(name: str, background: str | None) -> list[str]:
    """The first lines of a digraph: graph, node and edge defaults in this palette."""
    bg = background or "transparent"
    return [
        f"digraph {quote(name)} {{",
        f'  graph [rankdir=TB, bgcolor="{bg}", fontname="{FONT}", fontcolor="{TEXT}", '
        f'nodesep=0.3, ranksep=0.32, pad=0.2, labelloc=t, labeljust=c, ordering=in];',
        f'  node [shape=box, style="rounded,filled", fontname="{FONT}", fontsize=11, '
        f'fontcolor="{TEXT}", color="{INK}", penwidth=1.2, margin="0.14,0.05"];',
        f'  edge [color="{INK}", fontname="{FONT}", fontsize=10, fontcolor="{TEXT}", '
        f'penwidth=1.3, arrowsize=0.7];',
    ]


def cluster(label: str, dashed: bool = False) -> str:
    """The ``graph [...]`` line of a framed cluster (a stage, a sub-unit) with a bold label."""
    style = "rounded,filled,dashed" if dashed else "rounded,filled"
    return (f'    graph [label={html_lines([(label, 11, True)])}, style="{style}", '
            f'fillcolor="{CLUSTER_FILL}", color="{INK}", fontcolor="{TEXT}", margin=10];')
