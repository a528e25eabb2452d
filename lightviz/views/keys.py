"""The pages' widget and state keys, in one place (Streamlit- and torch-free).

The sidebar's keys are the query parameters' names (:data:`lightviz.state.PARAMS`, owned by
:mod:`lightviz.state`); Compare's B configuration prefixes them with :data:`B`. Every other page
keeps its widgets under the names below, which tests and links drive too: change one here and
the page and its readers change together.
"""

from __future__ import annotations

# Explore
EXPLORE_TAB = "explore_tab"
STAGE_SIZE = "stage_size"
TABLE_STAGES = "table_stages"
TABLE_KINDS = "table_kinds"
TABLE_GROUP = "table_group"
EXPLORE_CALIBRATE = "explore_cal"

# Compare: the B configuration, the latency ranking, the Pareto view
B = "b_"  # prefix of the B configuration's widget keys and query parameters
COMPARE_RANK_LATENCY = "compare_rank_latency"
PARETO_AXIS = "pareto_axis"
PARETO_EXTRAPOLATE = "pareto_extrapolate"
PARETO_CHART = "pareto_chart"

# Latency: every widget and state key of the page starts with this prefix; its setup widgets
# are the prefix + a field of lightviz.latency.setup.SETUP_FIELDS (the setup Explore and Compare
# predict for: lightviz.views.predicted.page_choices reads them)
LATENCY = "latency_"


def latency(name: str) -> str:
    """The Latency page's key ``name`` (a setup field, or one of its panels' widgets)."""
    return LATENCY + name


# Diagrams
DIAGRAM_COLOR = "diagram_color"
DIAGRAM_OPS = "diagram_ops"
DIAGRAM_WIDE = "diagram_wide"
OVERVIEW_COLOR = "overview_color"
DSC_KERNEL = "dsc_kernel"
DSC_IN = "dsc_in"
DSC_OUT = "dsc_out"
DSC_SIZE = "dsc_size"
DSC_ALPHA = "dsc_alpha"
DSC_RHO = "dsc_rho"
GHOST_RATIO = "ghost_ratio"
GHOST_D = "ghost_d"
FAMILY_WIDTH = "family_width"
FAMILY_SIZE = "family_size"
FAMILY_T = "family_t"
FAMILY_G = "family_g"

# Paper check
PAPER_STATUS = "paper_status"
PAPER_ONLY_ARCH = "paper_only_arch"

# Design
DESIGN_RESET_BUTTON = "design_reset_button"
