"""The Latency page's lesson panel: a teacher pastes the links shared with the class and
measures them before class (as ``lightviz lesson`` does), with the page's setup, so the
students' clicks on Measure are served from this host's store (:mod:`lightviz.latency.lesson`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ...latency import lesson
from ...latency.setup import BUDGET_DEFAULT_S
from .helpers import LOCK_TIMEOUT_S, K, page_setup, queued_notice, tab_closed


@st.fragment
def lesson_panel() -> None:
    with st.expander("Lesson: measure the shared configurations before class",
                     icon=":material/school:"):
        st.caption("One shared link (or `ARCH --alpha A --rho R`) a line. Each is measured "
                   "with the settings above (Per layer as ticked) and stored: a student who "
                   "presses Measure on one of them is shown it, marked as shared, instead of "
                   "queueing. One already stored with a trusted result is not measured again.")
        text = st.text_area("The lesson's links", key=K + "lesson_links", height=120,
                            placeholder="http://this-host:8501/?arch=resnet18&alpha=0.5&rho=0.5714")
        clicked = st.button("Measure the lesson's configurations", key=K + "lesson_run",
                            icon=":material/playlist_play:")
        if clicked:
            _run(text)
        rows = st.session_state.get(K + "lesson_rows")
        if rows:
            st.dataframe(pd.DataFrame(rows)[["label", "status", "median_ms", "spread", "layers",
                                             "warnings", "error"]], hide_index=True)


def _run(text: str) -> None:
    try:
        configs = lesson.parse(text)
    except ValueError as exc:
        st.error(str(exc))
        return
    setup = page_setup(float(st.session_state.get(K + "budget", BUDGET_DEFAULT_S)))
    if setup is None:
        st.error("Choose valid settings above first: the lesson is measured with them.")
        return
    layers = bool(st.session_state.get(K + "per_layer", True))
    bar = st.progress(0.0, text=f"{len(configs)} configurations on {setup.label}")
    notice = st.empty()

    def on_point(i, cfg, what):
        notice.empty()
        bar.progress(i / len(configs), text=f"{i + 1} of {len(configs)}: {what} {cfg.label}")

    rows = lesson.measure(configs, setup, layers, source=lesson.SOURCE_PAGE,
                          lock_timeout=LOCK_TIMEOUT_S, on_wait=queued_notice(notice),
                          on_point=on_point, should_stop=tab_closed())
    bar.empty()
    notice.empty()
    st.session_state[K + "lesson_rows"] = rows
    measured = sum(r["status"] == "measured" for r in rows)
    failed = [r for r in rows if r["status"] == "failed"]
    st.success(f"{measured} measured, {len(rows) - measured - len(failed)} already stored, "
               f"{len(failed)} failed, on {setup.label}.", icon=":material/check:")
    for r in failed:
        st.error(f"{r['label']}: {r['error']}")
