"""``lightviz pareto``: every row within the budget, none dominated, best first; budgets with
suffixes; --max-ms without a calibration is a one-line usage error."""

import json

import pytest
from cli_support import run_cli

from lightviz.pareto import front, parse_count


def pareto_json(*args):
    code, out, err = run_cli(["pareto", *args, "--format", "json"])
    assert code == 0, err
    return json.loads(out)["rows"]


def assert_front(rows, cost):
    assert rows
    for r in rows:
        assert {"arch", "alpha", "resolution", "macs", "params", "top1", "status"} <= set(r)
        for o in rows:
            dominated = (o[cost] <= r[cost] and o["top1"] >= r["top1"]
                         and (o[cost] < r[cost] or o["top1"] > r["top1"]))
            assert not dominated, (r, o)
    assert [r["top1"] for r in rows] == sorted((r["top1"] for r in rows), reverse=True)


@pytest.mark.parametrize("budget,cost,limit", [("300M", "macs", 300e6), ("60M", "macs", 60e6),
                                               ("3.5M", "params", 3.5e6)])
def test_rows_within_budget_and_none_dominated(budget, cost, limit):
    rows = pareto_json(f"--max-{cost}", budget)
    assert all(r[cost] <= limit for r in rows)
    assert all(r["status"] in ("published", "interpolated") for r in rows)
    assert_front(rows, cost)


def test_extrapolate_lets_more_in_and_says_so():
    rows = pareto_json("--max-macs", "100M", "--extrapolate")
    assert_front(rows, "macs")
    assert all(r["macs"] <= 100e6 for r in rows)


def test_table_and_csv():
    code, out, _ = run_cli(["pareto", "--max-macs", "50M"])
    assert code == 0 and "top-1" in out and "not a measurement of any weights" in out
    code, out, _ = run_cli(["pareto", "--max-params", "1.5M", "--format", "csv"])
    assert code == 0 and out.splitlines()[0].startswith("arch,groups,alpha,resolution,macs")


def test_budget_errors_are_one_line():
    for args in (["--max-macs", "lots"], ["--max-macs", "-3M"], ["--max-params", "0"]):
        code, out, err = run_cli(["pareto", *args])
        assert code == 2 and err.count("\n") == 1 and not out
    code, _, err = run_cli(["pareto", "--max-macs", "1M", "--max-params", "1M"])
    assert code == 2
    code, out, err = run_cli(["pareto", "--max-macs", "1k"])
    assert code == 0 and "No configuration" in out


def test_max_ms_without_a_calibration_exits_2_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_CACHE_DIR", str(tmp_path))
    code, out, err = run_cli(["pareto", "--max-ms", "10"])
    assert code == 2 and err.count("\n") == 1 and not out
    assert "calibrat" in err or "not available" in err


def test_parse_count_and_front():
    assert parse_count("n", "300M") == 300e6 and parse_count("n", "1.5g") == 1.5e9
    assert parse_count("n", "800k") == 800e3 and parse_count("n", "4e6") == 4e6
    rows = [{"macs": 1, "top1": 50}, {"macs": 2, "top1": 49}, {"macs": 3, "top1": 60},
            {"macs": 3, "top1": 55}]
    assert front(rows, "macs") == [{"macs": 3, "top1": 60}, {"macs": 1, "top1": 50}]
