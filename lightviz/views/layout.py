"""Page-wide layout fixes for small screens and projectors, injected once per run by app.py.

* **Diagrams scroll sideways instead of shrinking.** ``st.graphviz_chart`` caps the SVG at the
  column's width, so on a 390 px phone a block's 10 pt labels render at about 6 px. The SVG keeps
  its natural size (every label at least :data:`lightviz.diagrams.palette.MIN_POINTS` pt, 13 px)
  and its frame scrolls.
* **The configuration from the first screen.** On a phone the sidebar starts folded, so the first
  screen shows numbers without saying of what, or where to change it. A one-line button at the
  top of every page names the configuration and opens the sidebar (the same widgets: no second
  set of keys). It is shown only on narrow screens, where the sidebar is folded.
* **Plotly's toolbar** floats over a chart's top right corner, over long titles on a phone; touch
  screens cannot hover to use it anyway, so it is hidden there (pinch and double tap still zoom).
"""

from __future__ import annotations

import html

import streamlit as st

from ..config import Config
from ..configure import network_label

NARROW = 640  # px: Streamlit folds the sidebar below about this width

CSS = f"""
<style>
[data-testid="stGraphVizChart"] {{ overflow-x: auto; max-width: 100%; }}
[data-testid="stGraphVizChart"] svg {{ max-width: none; }}
.lv-config {{ display: none; }}
[data-testid="stElementContainer"]:has(.lv-config) {{ display: none; }}
@media (max-width: {NARROW}px) {{
  .lv-config {{ display: block; }}
  [data-testid="stElementContainer"]:has(.lv-config) {{ display: block; }}
  .js-plotly-plot .modebar-container {{ display: none !important; }}
}}
.lv-config button {{
  width: 100%; text-align: left; padding: 0.45rem 0.75rem; border-radius: 0.5rem;
  border: 1px solid rgba(128, 128, 128, 0.45); background: transparent; color: inherit;
  font: inherit; font-size: 0.95rem; cursor: pointer;
}}
</style>
"""

# Streamlit's own "open the sidebar" control, under its names of recent versions
OPEN_SIDEBAR = ("document.querySelector('[data-testid=\"stExpandSidebarButton\"]') || "
                "document.querySelector('[data-testid=\"stSidebarCollapsedControl\"] button')")


def config_button_html(label: str) -> str:
    """The phone's configuration line: ``label`` (the network's name, escaped here), and a tap
    opens the sidebar (a script wires the button: Streamlit sanitizes inline ``onclick``
    attributes away)."""
    return (f'<div class="lv-config"><button type="button" aria-label="Change the configuration">'
            f'<b>{html.escape(label)}</b> &middot; change &rsaquo;</button></div>'
            "<script>document.querySelectorAll('.lv-config button').forEach(function (b) {"
            "if (b.dataset.lv) return; b.dataset.lv = '1';"
            f"b.addEventListener('click', function () {{ var o = {OPEN_SIDEBAR}; if (o) o.click(); }});"
            "});</script>")


def page_chrome(cfg: Config) -> None:
    """The CSS above and, on a phone, the configuration button: call once, before the page."""
    st.html(CSS + config_button_html(network_label(cfg)), unsafe_allow_javascript=True)
