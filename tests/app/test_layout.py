"""Page-wide layout (lightviz.views.layout; issue 14, split out of the former test_polish.py):
the phone's configuration button names the configuration."""

from __future__ import annotations

import lightviz
from lightviz.configure import network_label


def test_phone_config_button_names_the_configuration():
    from lightviz.views import layout

    cfg = lightviz.make_config("ghostnet", 1.3)
    text = layout.config_button_html(network_label(cfg))
    assert "GhostNet \u03b1 1.3 \u00b7 224 px" in text and "stExpandSidebarButton" in text
    assert "onclick" not in text  # Streamlit sanitizes inline handlers: a script wires it
    assert "max-width: none" in layout.CSS and f"max-width: {layout.NARROW}px" in layout.CSS
