"""lightviz, the web app: `streamlit run app.py` (or `lightviz app`).

The sidebar holds the configuration (architecture, alpha, rho, groups, classes, counting
options), read from the URL's query parameters on a session's first run and written back on every
run, so the address bar is always a shareable link. Each page is a module in lightviz.views with
``render(cfg)``; pages whose module is not installed are left out.
"""

from __future__ import annotations

import importlib
import logging

import streamlit as st

from lightviz import state

st.set_page_config(page_title="lightviz", page_icon=":material/layers:", layout="wide",
                   menu_items={"About": "lightviz: see and measure lightweight CNNs."})

log = logging.getLogger("lightviz.app")

# (module, title, url path, icon); the first is the default page.
PAGES = (
    ("explore", "Explore", "explore", ":material/insights:"),
    ("compare", "Compare", "compare", ":material/compare_arrows:"),
    ("paper", "Paper check", "paper", ":material/fact_check:"),
    ("diagrams", "Diagrams", "diagrams", ":material/account_tree:"),
    ("latency", "Latency", "latency", ":material/timer:"),
)


def optional_view(name: str):
    """``lightviz.views.<name>``, or None when that module does not exist. An error raised
    while importing a module that does exist is not hidden."""
    full = f"lightviz.views.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name == full:
            return None
        raise


def page(view, title: str):
    def run():
        try:
            view.render(cfg)
        except ValueError as exc:  # bad input that reached a view: say what, not where
            log.warning("%s page: %s", title, exc, exc_info=True)
            st.error(str(exc))
    run.__name__ = f"render_{view.__name__.rsplit('.', 1)[-1]}"
    return run


cfg, current, notices = state.sidebar()
if notices:
    st.warning("Some values in the link could not be used as they were:\n\n"
               + "\n".join(f"- {n.message}" for n in notices), icon=":material/link:")

pages = []
for module, title, url_path, icon in PAGES:
    view = optional_view(module)
    if view is not None:
        pages.append(st.Page(page(view, title), title=title, url_path=url_path, icon=icon,
                             default=not pages))
st.navigation(pages, position="sidebar").run()
with st.sidebar:
    st.caption("The address bar holds this configuration: copy it to share this view.")
