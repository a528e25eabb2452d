"""DOT pictures drawn from the profile rows, so a diagram carries exactly the counted numbers.

Every picture reads :attr:`lightviz.Profile.rows` (one :class:`~lightviz.counting.Row` per op,
with its ``inputs``, the dataflow edges) and, for names only, the resolved spec. Nothing is drawn
per family by hand: a block's diagram is the subgraph of its rows, an overview is the chain of its
blocks. The work is split by job; this module gathers the public names:

* :mod:`.palette` colours, fonts and the DOT label pieces;
* :mod:`.naming` block and stage names, the spec behind a block, op titles;
* :mod:`.fold` a block's rows folded into nodes, its parts, the overview's block summaries;
* :mod:`.render` :func:`block_dot`, :func:`overview_dot` and :func:`to_svg`;
* :mod:`.shuffle` :func:`shuffle_dot`, the channel-shuffle picture.
"""

from __future__ import annotations

from ..units import fmt_count
from .fold import BlockSummary, Node, block_parts, block_rows, fold, parse_block, recipe, summaries
from .naming import (
                     ConfigOrProfile,
                     as_profile,
                     block_choices,
                     block_names,
                     child_type,
                     default_block,
                     op_title,
                     spec_of,
                     stages,
)
from .palette import (
                     CLUSTER_FILL,
                     FONT,
                     GROUP_COLORS,
                     GROUP_INK,
                     INK,
                     IO_FILL,
                     MIN_POINTS,
                     MOVE_FILL,
                     PILL,
                     RAMP,
                     SHUFFLE_FILL,
                     TEXT,
                     ramp,
)
from .render import WEIGHTS, GraphvizMissing, block_dot, dot_available, overview_dot, to_svg
from .shuffle import shuffle_dot, shuffle_permutation

__all__ = [
    "CLUSTER_FILL", "FONT", "GROUP_COLORS", "GROUP_INK", "INK", "IO_FILL", "MIN_POINTS",
    "MOVE_FILL", "PILL", "RAMP", "SHUFFLE_FILL", "TEXT", "WEIGHTS", "BlockSummary",
    "ConfigOrProfile", "GraphvizMissing", "Node", "as_profile", "block_choices", "block_dot",
    "block_names", "block_parts", "block_rows", "child_type", "default_block", "dot_available",
    "fmt_count", "fold", "op_title", "overview_dot", "parse_block", "ramp", "recipe", "shuffle_dot",
    "shuffle_permutation", "spec_of", "stages", "summaries", "to_svg",
]
