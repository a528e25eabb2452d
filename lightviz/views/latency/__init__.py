"""The Latency page: the current configuration measured live on this host (:mod:`.page`), its
runtimes and export (:mod:`.runtimes`), sweeps (:mod:`.sweeps`); what the panels share is in
:mod:`.helpers`."""

from .page import render

__all__ = ["render"]
