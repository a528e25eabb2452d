"""``?rho=`` with hundreds of digits clamps to the largest input with a notice, in the URL's
parser and in the app (issue 13, point 4; split out of the former test_findings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightviz.state import RHO_STOPS, parse_query

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw, expect", [("9" * 400, max(RHO_STOPS)), ("9" * 5000, max(RHO_STOPS)),
                                         ("-" + "9" * 400, min(RHO_STOPS)),
                                         ("1e400", max(RHO_STOPS))])
def test_rho_with_hundreds_of_digits_clamps_with_a_notice(raw, expect):
    state, notices = parse_query({"rho": [raw]})
    assert state.rho == expect
    (notice,) = notices
    text = notice.message
    assert "is out of range: allowed 0.1429 (32 px) to 2.2857 (512 px)" in text
    assert "using the nearest allowed value" in text and len(text) < 300
    # nan and inf are not numbers a URL means: the default, as before
    state, (notice,) = parse_query({"rho": ["inf"]})
    assert state.rho == 1.0 and "using the default" in notice.message


def test_the_app_clamps_a_huge_rho_with_a_notice():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["rho"] = "9" * 400
    at.run()
    assert not at.exception
    assert at.select_slider(key="rho").value == max(RHO_STOPS)
    shown = " ".join(w.value for w in at.warning) + " ".join(c.value for c in at.caption)
    assert "is out of range" in shown and "2.2857 (512 px)" in shown
