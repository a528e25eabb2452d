"""Plotly's look at numpy, pandas and PIL, made safe while another session imports them.

Plotly asks whether numpy, pandas or PIL.Image are loaded with
``_plotly_utils.optional_imports.get_module(name, should_load=False)``, which is
``sys.modules.get(name)``: while another thread is importing that module for the first time,
it finds it half-initialized (``AttributeError: partially initialized module 'numpy' has no
attribute 'ndarray'``), in the JSON encoder of every chart and in the figure validators. The
app's first page imports none of them (its figures are drawn from the profile's rows, so a
server's first page does not wait half a second for pandas), so a session that opens a
table, the Compare page or the Diagrams page imports them while other sessions draw charts.

Importing this module replaces plotly's ``get_module`` in the modules that use it with one
that, for a module still initializing in another thread, waits for the import to complete
(``importlib.import_module`` takes the module's import lock; in the importing thread itself it
returns at once). Nothing else changes: a module not imported yet is still reported absent.
The app imports this module before any page runs (app.py), so every session's charts use it.
"""

from __future__ import annotations

import importlib
import sys

from _plotly_utils import optional_imports

_original = optional_imports.get_module
PEEKING_MODULES = ("plotly.io._json", "_plotly_utils.utils", "_plotly_utils.basevalidators",
                   "plotly.basedatatypes")


def get_module(name, should_load=True):
    """``_plotly_utils.optional_imports.get_module``, waiting for a module that another thread
    is still importing instead of returning it half-initialized."""
    if should_load:
        return _original(name, should_load)
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    if module is not None and getattr(spec, "_initializing", False):
        return importlib.import_module(name)
    return module


def install() -> None:
    """Replace ``get_module`` where plotly peeks (idempotent)."""
    optional_imports.get_module = get_module
    for name in PEEKING_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "get_module", None) is not None:
            module.get_module = get_module


install()
