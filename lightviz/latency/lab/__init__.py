"""The lab: measures a configuration on this host now, and keeps nothing.

:mod:`.protocol` (:class:`~.protocol.Bench`, ``measure``, ``sweep``: the measurement protocol),
:mod:`.result` (:class:`~.result.Result`: one measurement, torch-free),
:mod:`.timing` (synchronised per-iteration timers and statistics), :mod:`.layers` (per-block
and per-op times, intensity, roofline), :mod:`.lock` (one measurement at a time per host),
:mod:`.memory` (will it fit?), :mod:`.hold` (will it hold the host too long?), :mod:`.oom`,
:mod:`.cudagraph`, :mod:`.remarks` (a result's warnings and notes).

The lab never imports the predictor: a result leaves through the bench's ``on_result``
listener, which each door wires (``lightviz bench`` and the Latency page store and learn).
"""
