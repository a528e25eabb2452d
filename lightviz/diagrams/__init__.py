"""Block diagrams, the whole-network overview, the channel-shuffle picture (DOT drawn from the
profile rows) and the depthwise-separable calculator."""

from .calculator import dsc, family_units, ghost_module, separable_conv, standard_conv
from .dot import (
                  block_choices,
                  block_dot,
                  block_names,
                  block_parts,
                  dot_available,
                  overview_dot,
                  parse_block,
                  shuffle_dot,
                  stages,
                  to_svg,
)

__all__ = ["block_choices", "block_dot", "block_names", "block_parts", "dot_available", "dsc",
           "family_units", "ghost_module", "overview_dot", "parse_block", "separable_conv",
           "shuffle_dot", "stages", "standard_conv", "to_svg"]
