"""A Streamlit session without a browser: the websocket protocol the frontend speaks.

``open_session(ws_base, page, query)`` connects to ``/_stcore/stream`` the way a new browser tab
does, asks for one script run of ``page`` (its url path; "" is the default page) with the URL's
``query`` string, reads the ForwardMsgs until ``script_finished`` and closes the socket (the
server then keeps the session as a disconnected one for ``server.disconnectedSessionTTL``, as
after a closed tab). It returns the run's time, the exceptions and error boxes the page sent,
and the text of its headings and metrics. Used by benchmarks/classroom_load.py (the memory
sweep) and tests/latency/test_measurement_faults.py; needs the ``websockets`` package (a Streamlit dependency).
"""

from __future__ import annotations

import asyncio
import time


async def open_session(ws_base: str, page: str = "", query: str = "",
                       timeout_s: float = 120.0) -> dict:
    import websockets
    from streamlit.proto.Alert_pb2 import Alert
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    out = {"errors": [], "seconds": None, "headings": [], "metrics": {}}
    t0 = time.perf_counter()
    async with websockets.connect(ws_base + "/_stcore/stream", subprotocols=["streamlit"],
                                  max_size=None, open_timeout=timeout_s) as ws:
        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = page
        await ws.send(msg.SerializeToString())
        deadline = time.monotonic() + timeout_s
        while True:
            raw = await asyncio.wait_for(ws.recv(), max(1.0, deadline - time.monotonic()))
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                what = el.WhichOneof("type")
                if what == "exception":
                    out["errors"].append(f"exception: {el.exception.type}: "
                                         f"{el.exception.message[:160]}")
                elif what == "alert" and el.alert.format == Alert.ERROR:
                    out["errors"].append(f"error box: {el.alert.body[:160]}")
                elif what == "heading":
                    out["headings"].append(el.heading.body)
                elif what == "metric":
                    out["metrics"][el.metric.label] = el.metric.body
            elif kind == "script_finished":
                out["seconds"] = time.perf_counter() - t0
                return out
