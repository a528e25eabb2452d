"""The look of every chart, defined once: each architecture's (and variant's) colour and marker
symbol, and one line style per meaning. Plain data, no imports of lightviz or plotly (the zoo
reads its colours here, and the first page must stay light).

Colours: every one keeps at least 3:1 contrast against both of Streamlit's backgrounds (light
``#FFFFFF``, dark ``#0E1117``; WCAG's figure for graphics), so a mark reads on either theme. No
two entries share a colour and a marker, so a reader who cannot tell two hues apart still tells
the points apart by their shape (the three ResNets, ShuffleNet v1's groups, GhostNet and
MobileNet v2 differ in both).

Line styles (:data:`LINES`): measured and counted values are solid, estimates (interpolated top-1,
a model's predicted latency) dashed, extrapolations dotted, reference laws (alpha^2, the roof)
dash-dot in :data:`NEUTRAL`; each series keeps its own colour (:data:`SERIES`) on every chart.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple


class Style(NamedTuple):
    colour: str
    marker: str  # a plotly marker symbol; its "-open" form marks extrapolated points


# (arch, variant value) -> style; variant None is the architecture itself (its default variant
# when it has variants). ShuffleNet v1's variant is its group count.
STYLES: dict[tuple[str, int | None], Style] = {
    ("resnet18", None): Style("#2E86C1", "circle"),
    ("resnet34", None): Style("#5C6BD6", "square"),
    ("resnet50", None): Style("#9B59B6", "diamond"),
    ("mobilenet_v1", None): Style("#D9700A", "triangle-up"),
    ("mobilenet_v2", None): Style("#E0474C", "triangle-down"),
    ("shufflenet_v1", None): Style("#2E9E4F", "star"),  # = its default, g=3
    ("shufflenet_v1", 1): Style("#8F8A1B", "pentagon"),
    ("shufflenet_v1", 2): Style("#5E9F2A", "hexagon"),
    ("shufflenet_v1", 3): Style("#2E9E4F", "star"),
    ("shufflenet_v1", 4): Style("#13978C", "cross"),
    ("shufflenet_v1", 8): Style("#6F9A5E", "x"),
    ("shufflenet_v2", None): Style("#A0704F", "triangle-left"),
    ("ghostnet", None): Style("#D0459A", "hexagram"),
}

# Markers left for architectures from plugins (their colour is their Arch's ``colour``).
SPARE_MARKERS = ("triangle-right", "star-square", "star-diamond", "diamond-wide", "square-x",
                 "circle-cross", "hourglass", "bowtie", "octagon", "star-triangle-up")

# Marks that are not an architecture: grey #8A8A8A is 3.45:1 on white and 5.47:1 on #0E1117.
NEUTRAL = "#8A8A8A"
FRONT = dict(color=NEUTRAL, width=2.5)  # the Pareto front
RING = dict(color=NEUTRAL, width=3)  # the current configuration's ring

# One colour per quantity, on every chart that draws it (3:1 or more on both backgrounds).
SERIES = {
    "macs": "#E45756",
    "params": "#4C78A8",
    "top1": "#2CA02C",
    "latency measured": "#4C78A8",
    "latency predicted": "#B0479E",
}

# One dash per meaning.
LINES = {
    "measured": "solid",
    "counted": "solid",
    "estimated": "dash",
    "predicted": "dash",
    "extrapolated": "dot",
    "reference": "dashdot",
}


def style(arch: str, variant: int | None = None, colour: str = "") -> Style:
    """The style of ``arch`` (at ``variant``, e.g. ShuffleNet v1's groups): the table's, else the
    architecture's own; an architecture outside the table (a plugin) gets ``colour`` (its Arch's)
    and a spare marker picked from its name."""
    found = STYLES.get((arch, variant)) or STYLES.get((arch, None))
    if found is not None:
        return found
    spare = SPARE_MARKERS[zlib.crc32(arch.encode()) % len(SPARE_MARKERS)]
    return Style(colour or NEUTRAL, spare)


def colour(arch: str) -> str:
    """The colour of a built-in architecture (the zoo's ``Arch.colour``)."""
    return STYLES[(arch, None)].colour


def restyle_predicted_latency(fig):
    """Give the predicted-latency curve of a sweep figure (drawn by
    :func:`lightviz.views.predicted.add_sweep_curve`) its meaning's style: its own colour, dashed
    like every estimate (it was green dotted, like the extrapolated top-1). Returns ``fig``."""
    for t in fig.data:
        if t.name == "latency (predicted)" or (t.name or "").startswith("latency on "):
            t.line.color, t.line.dash = SERIES["latency predicted"], LINES["predicted"]
            t.marker.color = SERIES["latency predicted"]
        elif (t.hovertemplate or "").startswith("current: latency"):
            t.marker.color = SERIES["latency predicted"]
    return fig
