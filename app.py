"""lightviz, the web app: `streamlit run app.py` (or `lightviz app`).

The sidebar holds the configuration (architecture, alpha, rho, groups, classes, counting
options), read from the URL's query parameters on a session's first run and written back on every
run, so the address bar is always a shareable link. Each page is a module in lightviz.views with
``render(cfg)``, imported when its page is opened; a page whose module is not installed is left
out.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os

# Imported before any page runs: plotly's JSON encoder and validators look numpy, pandas and
# PIL.Image up in sys.modules without importing them, so while one session imports them for the
# first time (a table, the Compare or Diagrams page: the first page needs none of them), another
# session's chart could find a module half-initialized (the classroom sweep saw one page in a
# few hundred fail). module_peeks makes those lookups wait for an import in progress; PIL.Image
# is small and imported here as well.
import PIL.Image  # noqa: F401
import streamlit as st

import lightviz.views.module_peeks  # noqa: F401
from lightviz import state
from lightviz.views import latency_on, layout

# The favicon is a local file: a ":material/...:" or emoji icon makes the browser fetch it from a
# Google or CDN host, and the app must be complete on a network without internet.
ICON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "icon.png")
st.set_page_config(page_title="lightviz", page_icon=ICON, layout="wide",
                   menu_items={"About": "lightviz: see and measure lightweight CNNs."})

log = logging.getLogger("lightviz.app")

# (module, title, url path, icon); the first is the default page, at `/` and at its own path.
PAGES = (
    ("explore", "Explore", "explore", ":material/insights:"),
    ("compare", "Compare", "compare", ":material/compare_arrows:"),
    ("paper", "Paper check", "paper", ":material/fact_check:"),
    ("diagrams", "Diagrams", "diagrams", ":material/account_tree:"),
    ("latency", "Latency", "latency", ":material/timer:"),
    ("design", "Design", "design", ":material/edit_square:"),
)


def view_exists(name: str) -> bool:
    """Whether ``lightviz.views.<name>`` is installed, without importing it: a page's module is
    imported when the page is opened, so a heavy import (torch, for Latency) costs nothing on
    the other pages and at start-up."""
    return importlib.util.find_spec(f"lightviz.views.{name}") is not None


def page(name: str, title: str):
    """The page function of view ``name``. Bad input that reaches a view (a ValueError) is shown
    as an error box with its one-line message; any other exception is a bug and is left to
    Streamlit (logged in full, shown per client.showErrorDetails)."""
    def run():
        view = importlib.import_module(f"lightviz.views.{name}")
        try:
            view.render(cfg)
        except ValueError as exc:
            log.warning("%s page: %s", title, exc, exc_info=True)
            st.error(str(exc))
    run.__name__ = f"render_{name}"
    return run


def navigation_pages() -> list:
    """The st.Page of every installed view. The first is the default page, served at `/`; but
    Streamlit serves a default page at `/` only (its url_path just names it: `/explore` would be
    "Page not found"), so it is registered as `<path>-home` and a hidden twin, the same view,
    takes its path. `/` and `/explore` show the same page; the sidebar lists it once."""
    pages = []
    for name, title, url_path, icon in PAGES:
        if not view_exists(name):
            continue
        run = page(name, title)
        if pages:
            pages.append(st.Page(run, title=title, url_path=url_path, icon=icon))
        else:
            pages += [st.Page(run, title=title, url_path=f"{url_path}-home", icon=icon,
                              default=True),
                      st.Page(run, title=title, url_path=url_path, icon=icon,
                              visibility="hidden")]
    return pages


cfg, _, notices = state.sidebar(latency_on.selector)  # "Latency on": key, URL and --on are `on`
layout.page_chrome(cfg)  # diagrams scroll on a phone; there, a button opens the folded sidebar
if notices:
    st.warning("Some values in the link could not be used as they were:\n\n"
               + "\n".join(f"- {n.message}" for n in notices), icon=":material/link:")
st.navigation(navigation_pages(), position="sidebar").run()
with st.sidebar:
    st.caption("The address bar holds this configuration: copy it to share this view.")
