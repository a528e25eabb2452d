"""Latency predicted from what was measured on this host, torch-free: :mod:`.store`
(measurements and models on disk, keyed by the passport), :mod:`.features` (what a profile
costs, per op class), :mod:`.model` (fit and ``predict``, ``learn`` for the doors that store
and refit), :mod:`.local` (the per-architecture correction), :mod:`.calibrate` (a timed
campaign, then one fit).
"""
