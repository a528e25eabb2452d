"""The interface every runtime adapter implements; the protocol (:mod:`..protocol`) asks it to
prepare the network, run it once, synchronise, and name itself (version and provider).

The protocol builds the module (BN calibrated and folded, on the device and in the dtype asked)
and the input, then hands both to :meth:`Runtime.prepare`, which returns the call to time. The
cold call, the warm-up, the timed runs, the statistics, the lock and the passport are the
protocol's, the same for every runtime. A runtime that times itself in its own process
(TensorRT's ``trtexec``) sets ``own_loop`` and implements :meth:`Runtime.timed` instead.
"""

from __future__ import annotations

from collections.abc import Callable


class Runtime:
    """One way of running the prepared network."""

    name = ""
    #: True when one call returns only once its work is done (ONNX Runtime's ``run``): the
    #: protocol then times it with ``time.perf_counter`` whatever the device.
    wall_clock = False
    #: True when the runtime times itself (:meth:`timed`) rather than being called per run.
    own_loop = False
    #: True when :meth:`sync` must follow each call (the protocol then times call + sync).
    needs_sync = False
    #: How a sample is taken, for the result's ``timer`` field (None: the protocol's Timer says).
    timer_method: str | None = None

    def prepare(self, model, x, setup) -> Callable[[], object]:
        """Turn the prepared ``model`` and input ``x`` into one call (the thing timed).
        ``setup`` has the :class:`~lightviz.latency.setup.Setup` fields that decide the
        preparation (``device``, ``dtype``, ``batch``, ``threads`` resolved, ``channels_last``,
        ``mode``, ``fold_bn``, ``runtime``)."""
        raise NotImplementedError

    def sync(self) -> None:
        """Wait for the work of the last call to finish. The protocol's Timer already
        synchronises torch's own devices; a runtime with work of its own in flight after its call
        returns sets ``needs_sync`` and the protocol times each call followed by this."""

    def version(self) -> dict:
        """``{"name", "version", "provider", ...}`` for the passport and the JSON."""
        raise NotImplementedError

    def notes(self, setup) -> list:
        """Lines the result should carry about how this runtime ran."""
        return []

    def release(self) -> None:
        """Drop what :meth:`prepare` made (sessions, compiled code, temporary files)."""

    def timed(self, budget_s: float, min_runs: int, stop):
        """``own_loop`` runtimes: warm up and time in the runtime's own loop; return
        ``(warm-up calls, lightviz.latency.lab.timing.Timed)``."""
        raise NotImplementedError
