"""What the Latency page's panels share: its widget keys, the checked setup its widgets
describe, a bench's ``should_stop`` for a closed tab, the queued notice, and running a
measurement with its failure shown in one line.
"""

from __future__ import annotations

import logging

import streamlit as st
import torch

from ...latency.host.cpu import usable_cores
from ...latency.lab.lock import LockTimeout
from ...latency.setup import MeasurementError, Setup, setup_from
from .. import keys, predicted
from .words import for_page

log = logging.getLogger(__name__)

K = keys.LATENCY  # the prefix of this page's widget and state keys
DEFAULT_THREADS = max(1, min(torch.get_num_threads(), usable_cores()))
LOCK_TIMEOUT_S = 300.0


def page_setup(budget: float) -> Setup | None:
    """The page's setup, checked (:func:`~lightviz.latency.setup.setup_from`); None when the
    choice is not valid here."""
    try:
        return setup_from(dict({"threads": DEFAULT_THREADS}, **predicted.page_choices()), budget)
    except ValueError:
        return None


def tab_closed():
    """A ``should_stop`` for :class:`Bench`: "the browser tab was closed" once Streamlit no
    longer counts this script run's session as active (a closed tab's websocket is gone and its
    session has been asked to stop); None where there is no server (AppTest, bare mode)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id

    def closed() -> str | None:
        return None if runtime.is_active_session(session_id) else "the browser tab was closed"

    return closed


class ServedMeanwhile(Exception):
    """Raised by a queued notice's wait to leave the queue: another session stored a result
    this one can show (``record``)."""

    def __init__(self, record: dict):
        super().__init__("served from another session's measurement")
        self.record = record


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def waiting_text(status, predicted_ms: float | None = None) -> str:
    """The queued notice: the place in the queue, the prediction meanwhile (marked as one),
    then who holds the host (:meth:`~lightviz.latency.lab.lock.QueueStatus.describe`)."""
    place = f"{ordinal(status.ahead + 1)} in the queue"
    if predicted_ms is not None:
        place += (f"; predicted {predicted.fmt_ms(predicted_ms)} meanwhile (the latency model's "
                  f"estimate, not a measurement)")
    return f"{place}. {status.describe()}"


SERVED_CHECK_S = 2.0  # how often a queued session looks for another session's result


def queued_notice(placeholder, predicted_ms: float | None = None, served=None):
    """An ``on_wait`` that shows :func:`waiting_text`; with ``served`` (a call returning a
    stored record or None), every :data:`SERVED_CHECK_S` it looks whether another session has
    stored a result this one can show, and leaves the queue with it (:class:`ServedMeanwhile`)."""
    next_check = [0.0]

    def on_wait(status):
        if served is not None and status.waited_s >= next_check[0]:
            next_check[0] = status.waited_s + SERVED_CHECK_S
            rec = served()
            if rec is not None:
                raise ServedMeanwhile(rec)
        placeholder.info(waiting_text(status, predicted_ms), icon=":material/hourglass_top:")
    return on_wait


def attempt(what: str, notice, fn):
    """``fn()``, or None with the reason shown on the page (never a traceback: the server's log
    has it). A refusal or an out-of-memory error (its memory already freed) is an error; a host
    that stayed busy past the timeout is a warning."""
    try:
        return fn()
    except LockTimeout as exc:
        st.warning(f"Not measured: {exc}. Try again in a moment.")
    except (ValueError, MeasurementError) as exc:
        st.error(for_page(str(exc)))
    except Exception as exc:
        log.exception("%s failed", what)
        st.error(f"The {what} failed: {type(exc).__name__}: {exc}")
    finally:
        notice.empty()
    return None


def runtime_select(device: str) -> str:
    """The runtime widget: the runtimes that can run on ``device`` here; the others, with the
    reason and how to install them, in its help."""
    from ...latency.runtimes import RUNTIMES, unavailable

    missing = {r: unavailable(r, device) for r in RUNTIMES}
    offered = [r for r in RUNTIMES if missing[r] is None]
    why = "; ".join(w for w in missing.values() if w)
    return st.selectbox(
        "Runtime", offered, key=K + "runtime",
        help="what runs the network: eager PyTorch, torch.compile (inductor; the first call "
             "compiles, tens of seconds), ONNX Runtime on the exported ONNX file, TensorRT "
             "(trtexec). Same protocol and statistics for each." + (f" Not here: {why}" if why else ""))


def passport_now(setup: Setup) -> dict:
    from ...latency.host.passport import passport

    return passport(setup.device, setup.threads)
