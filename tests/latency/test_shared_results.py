"""Shared results (issue 23): a stored result keeps its warnings, budget and per-layer report
and the Latency page shows them; the reuse rule by the result's own quality when it was taken;
``lightviz lesson``; the queued notice with the place in the queue and the prediction.
Real measurements only of a tiny network with short budgets; every test has its own cache and
lock directories, and the host's load is set where the rule reads it."""

from __future__ import annotations

import json
import time

import pytest
from cli_support import run_cli

from lightviz import make_config
from lightviz.latency import shared as S
from lightviz.latency.lab.lock import QueueStatus
from lightviz.latency.predictor import reuse, store
from lightviz.latency.setup import Setup

TINY = make_config("mobilenet_v2", 0.25, resolution=64)
OTHER = make_config("mobilenet_v2", 0.35, resolution=64)
ONE = Setup(threads=1)
NOISY = ("spread too wide to trust: the IQR (1 ms) is 50% of the median (limit 10%). Something "
         "else is using this host")
LATENCY_PAGE = """
from lightviz import make_config
from lightviz.views import latency
latency.render(make_config("mobilenet_v2", 0.25, resolution=64))
"""


def load_now(monkeypatch, value):
    monkeypatch.setattr(store, "load_1min", lambda: value)


def add(cfg=TINY, setup=ONE, *, spread=0.02, warnings=(), load=0.5, age=0.0, layers=False,
        source="lightviz bench"):
    extra = {"spread": spread, "warnings": list(warnings)}
    if layers:
        extra["layers"] = {"blocks": [], "ops": []}
    return store.add(cfg, setup, 2.0, load=load, taken_at=time.time() - age, source=source,
                     extra=extra)


# ----------------------------------------------------------------------------- the reuse rule

def test_a_trusted_result_is_reused_whatever_the_load_now(cache, monkeypatch):
    add(load=0.2)
    load_now(monkeypatch, 12.0)  # a class arrived: the old rule refused this all lesson
    rec = store.shared(TINY, ONE)
    assert rec is not None and rec["trusted"] and rec["doubts"] == []
    assert store.shared(TINY, ONE, max_age_s=60) is not None  # within the window ...
    add(cfg=OTHER, age=3 * 3600)
    assert store.shared(OTHER, ONE) is None  # ... and not beyond the lesson window


def test_a_flagged_result_is_reused_only_while_the_host_is_no_quieter(cache, monkeypatch):
    add(spread=0.5, warnings=[NOISY], load=3.0)
    load_now(monkeypatch, 3.2)
    rec = store.shared(TINY, ONE)
    assert rec is not None and not rec["trusted"] and rec["doubts"] == [NOISY]
    load_now(monkeypatch, 0.3)  # quieter now: measuring again would be steadier
    assert store.shared(TINY, ONE) is None
    load_now(monkeypatch, None)  # unknown load: not reused
    assert store.shared(TINY, ONE) is None


def test_a_trusted_result_wins_over_a_newer_flagged_one(cache, monkeypatch):
    add(load=0.1, age=600)  # the teacher's, before class
    add(spread=0.4, warnings=[NOISY], load=5.0)  # a student's, in class
    load_now(monkeypatch, 6.0)
    rec = store.shared(TINY, ONE)
    assert rec["trusted"] and rec["age_s"] >= 599


def test_a_spread_beyond_the_limit_is_a_doubt_even_without_warnings(cache, monkeypatch):
    add(spread=0.3, load=1.0)  # a record from an older lightviz: no warnings kept
    load_now(monkeypatch, 0.0)
    assert store.shared(TINY, ONE) is None


def test_what_the_page_asks_for_and_the_record_lacks_is_not_reused(cache, monkeypatch):
    load_now(monkeypatch, 0.0)
    budget_setup = Setup(threads=1, budget_s=0.5)
    add(setup=budget_setup)
    assert store.shared(TINY, budget_setup, layers=True) is None  # no per-layer report
    assert store.shared(TINY, budget_setup, budget_s=2.0) is None  # a shorter budget
    assert store.shared(TINY, budget_setup, budget_s=0.2) is not None  # a longer one is fine
    add(cfg=OTHER, layers=True, source="per-layer pass")  # part of a longer measurement
    assert store.shared(OTHER, ONE) is None
    add(cfg=OTHER, layers=True)
    assert store.shared(OTHER, ONE, layers=True) is not None
    reason = reuse.lacks({"setup": {"budget_s": 0.5}}, reuse.Need(budget_s=2.0))
    assert reason == "it was taken with a 0.5 s budget, less than the 2 s asked"


def test_shared_text_says_it_is_shared_when_how_and_why():
    from lightviz.views.predicted import shared_text

    base = {"taken_at": time.time() - 180, "age_s": 180, "source": "lightviz lesson",
            "setup": {"budget_s": 2.0}, "layers": {"ops": []}, "load_1min": 0.4}
    text = shared_text(dict(base, spread=0.03, trusted=True))
    assert text.startswith("Shown: measured 3 min ago by lightviz lesson with a 2 s budget, "
                           "per layer included, not measured again for you")
    assert "3% of the median" in text and "whatever the load now" in text
    text = shared_text(dict(base, spread=0.4, trusted=False))
    assert "Its spread was too wide to trust (its spread was 40% of the median" in text
    assert "no quieter now" in text


# ----------------------------------------------------------------------------- one record, shown as taken

def test_bench_stores_its_warnings_budget_notes_and_per_layer_report(cache):
    code, out, err = run_cli(["bench", "mobilenet_v2", "--alpha", "0.25", "--resolution", "64",
                              "--threads", "1", "--budget", "0.2", "--layers", "--format", "json"])
    assert code == 0, err
    median = json.loads(out)["median_ms"]
    recs = store.measurements(ONE, TINY)
    mine = [r for r in recs if r["source"] == "lightviz bench"]
    parts = [r for r in recs if r["source"] == "per-layer pass"]
    assert len(mine) == 1 and len(parts) == 1  # the per-layer pass's own run is stored apart
    rec = mine[0]
    assert rec["median_ms"] == median and rec["setup"]["budget_s"] == 0.2
    assert rec["notes"] and rec["result"]["warnings"] == rec["warnings"]
    assert rec["layers"]["ops"] and "passport" not in rec["layers"]
    result = S.result_of(rec)
    report = S.report_of(rec, result)
    assert result.median_ms == median and result.passport == rec["result"]["passport"]
    assert report.whole_ms > 0 and len(report.ops) == len(rec["layers"]["ops"])


def _flag(path: str, load: float) -> None:
    """Make a stored record one whose spread was too wide to trust, taken at ``load``."""
    with open(path) as fh:
        rec = json.load(fh)
    rec.update(spread=0.5, warnings=[NOISY], load_1min=load)
    rec["result"].update(warnings=[NOISY])
    with open(path, "w") as fh:
        json.dump(rec, fh)


def test_the_page_shows_a_shared_result_with_its_warning_and_per_layer_report(cache, monkeypatch):
    from streamlit.testing.v1 import AppTest

    code, out, err = run_cli(["bench", "mobilenet_v2", "--alpha", "0.25", "--resolution", "64",
                              "--threads", "1", "--budget", "0.2", "--layers", "--format", "json"])
    assert code == 0, err
    [path] = [p for p in cache.rglob("m-*.json") if json.loads(p.read_text())["source"] == "lightviz bench"]
    _flag(str(path), load=2.0)
    load_now(monkeypatch, 2.1)  # the host no quieter now: the flagged result is shown
    at = AppTest.from_string(LATENCY_PAGE, default_timeout=120)
    at.run()
    at.slider(key="latency_threads").set_value(1)
    at.slider(key="latency_budget").set_value(0.2)
    at.button(key="latency_measure").click().run()
    assert not at.exception and not at.error
    info = " ".join(i.value for i in at.info)
    assert "Shown: measured just now by lightviz bench with a 0.2 s budget, per layer included" in info
    assert "spread was too wide to trust" in info
    assert any(w.value == NOISY for w in at.warning)  # its warning, as when it was taken
    assert "Where the time goes" in " ".join(m.value for m in at.markdown)
    assert len(store.measurements(ONE, TINY)) == 2  # nothing measured again


def test_the_page_measures_afresh_when_the_shared_result_lacks_the_per_layer_report(cache, monkeypatch):
    from streamlit.testing.v1 import AppTest

    code, _, err = run_cli(["bench", "mobilenet_v2", "--alpha", "0.25", "--resolution", "64",
                            "--threads", "1", "--budget", "0.2", "--format", "json"])
    assert code == 0, err
    load_now(monkeypatch, 99.0)  # reusable by its load whatever its spread: only "Per layer" refuses
    assert store.shared(TINY, ONE) is not None
    at = AppTest.from_string(LATENCY_PAGE, default_timeout=120)
    at.run()
    at.slider(key="latency_threads").set_value(1)
    at.slider(key="latency_budget").set_value(0.2)
    at.button(key="latency_measure").click().run()  # "Per layer" is ticked by default
    assert not at.exception and not at.error
    assert not any(i.value.startswith("Shown:") for i in at.info)
    assert "Where the time goes" in " ".join(m.value for m in at.markdown)
    assert [r["source"] for r in store.measurements(ONE, TINY)].count("the Latency page") == 1


# ----------------------------------------------------------------------------- lightviz lesson

def test_lesson_measures_what_is_not_stored_with_a_trusted_result(cache, tmp_path):
    add(layers=True, load=0.1)  # TINY: stored before, trusted, with its per-layer report
    lesson = tmp_path / "lesson.txt"
    lesson.write_text("# the links of today's lesson\n"
                      "http://127.0.0.1:8501/?arch=mobilenet_v2&alpha=0.25&rho=0.2857\n\n"
                      "mobilenet_v2 --alpha 0.35 --resolution 64\n"
                      "arch=mobilenet_v2&alpha=0.35&rho=0.2857\n")  # the same again: once
    code, out, err = run_cli(["lesson", str(lesson), "--threads", "1", "--budget", "0.2",
                              "--no-layers", "--format", "json"])
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert [(r["label"], r["status"]) for r in rows] == [(TINY.label, "stored"), (OTHER.label, "measured")]
    assert rows[1]["median_ms"] > 0 and rows[1]["layers"] is False
    rec = store.measurements(ONE, OTHER)[-1]
    assert rec["source"] == "lightviz lesson" and rec["setup"]["budget_s"] == 0.2
    code, out, _ = run_cli(["lesson", str(lesson), "--threads", "1", "--format", "csv"])
    assert code == 0 and out.splitlines()[0].startswith("label,arch,alpha,resolution")


@pytest.mark.parametrize("line, says", [
    ("foo --alpha 2", "line 1 ('foo --alpha 2'): unknown architecture 'foo'"),
    ("?arch=resnet18&alpha=9", "alpha 9 is out of range"),
    ("# nothing but a comment", "no configuration in it"),
])
def test_lesson_refuses_a_bad_line_in_one_line(cache, tmp_path, line, says):
    lesson = tmp_path / "lesson.txt"
    lesson.write_text(line + "\n")
    code, out, err = run_cli(["lesson", str(lesson)])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("lightviz: error: ") and says in err
    assert not list(cache.rglob("m-*.json"))


def test_lesson_refuses_a_missing_file_and_a_bad_budget(cache, tmp_path):
    code, _, err = run_cli(["lesson", str(tmp_path / "nope.txt")])
    assert code == 2 and "cannot read the lesson file" in err and err.count("\n") == 1
    lesson = tmp_path / "lesson.txt"
    lesson.write_text("mobilenet_v2\n")
    code, _, err = run_cli(["lesson", str(lesson), "--budget", "soon"])
    assert code == 2 and err.count("\n") == 1


# ----------------------------------------------------------------------------- the queued notice

def test_the_queued_notice_shows_the_place_in_the_queue_and_the_prediction():
    from lightviz.views.latency.helpers import ordinal, waiting_text

    holder = {"label": "resnet18 on cpu (app)", "pid": 42, "since": time.time() - 4}
    text = waiting_text(QueueStatus(holder, 2, 3.0), 7.2)
    assert text.startswith("3rd in the queue; predicted 7.20 ms meanwhile (the latency model's "
                           "estimate, not a measurement). Queued: one measurement at a time")
    assert "resnet18 on cpu (app) (pid 42" in text and "2 more requests ahead of yours" in text
    assert waiting_text(QueueStatus(None, 0, 1.0)).startswith("1st in the queue. Queued:")
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]


def test_a_queued_session_leaves_the_queue_when_another_one_stored_the_result():
    from lightviz.views.latency.helpers import ServedMeanwhile, queued_notice

    class Placeholder:
        shown = []

        def info(self, text, icon=None):
            self.shown.append(text)

    found = []
    on_wait = queued_notice(Placeholder(), 5.0, lambda: found[0] if found else None)
    on_wait(QueueStatus(None, 1, 0.0))
    assert Placeholder.shown[-1].startswith("2nd in the queue; predicted 5.00 ms")
    found.append({"median_ms": 4.0})
    on_wait(QueueStatus(None, 0, 1.0))  # looked again only every 2 s
    with pytest.raises(ServedMeanwhile) as exc:
        on_wait(QueueStatus(None, 0, 2.5))
    assert exc.value.record == {"median_ms": 4.0}
