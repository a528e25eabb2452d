"""``lightviz pareto --max-sram/--max-flash/--board``: rows within the microcontroller budget
(int8 SRAM and flash of lightviz.boards), none dominated over the budgeted quantities."""

import json

from cli_support import run_cli

from lightviz.boards import KB, MB, memory_columns
from lightviz.config import Config
from lightviz.pareto import front_of


def pareto_json(*args):
    code, out, err = run_cli(["pareto", *args, "--format", "json"])
    assert code == 0, err
    return json.loads(out)["rows"]


def assert_undominated(rows, costs):
    for r in rows:
        for o in rows:
            if o is not r:
                assert not (all(o[c] <= r[c] for c in costs) and o["top1"] >= r["top1"]), (r, o)


def test_board_budget_rows_fit_and_none_dominated():
    rows = pareto_json("--board", "stm32f746")
    assert rows and rows == pareto_json("--max-sram", "320K", "--max-flash", "1M")
    assert all(r["sram"] <= 320 * KB and r["flash"] <= 1 * MB for r in rows)
    assert_undominated(rows, ("sram", "flash"))
    # the memory is int8's, so is the top-1 ranked (the deployment a microcontroller runs)
    assert {r["precision"] for r in rows} == {"int8"} and all(r["quantization"] for r in rows)
    r = rows[-1]  # the columns are lightviz.boards' figures
    assert {k: r[k] for k in ("sram", "flash")} == memory_columns(
        Config(r["arch"], r["alpha"], r["resolution"], r["groups"]))


def test_memory_budget_with_a_macs_budget_and_the_table():
    rows = pareto_json("--max-macs", "30M", "--max-sram", "200K")
    assert rows and all(r["macs"] <= 30e6 and r["sram"] <= 200 * KB for r in rows)
    assert_undominated(rows, ("macs", "sram"))
    code, out, _ = run_cli(["pareto", "--max-flash", "600K", "--max-sram", "160K"])
    assert code == 0 and "SRAM" in out and "KiB" in out


def test_memory_budget_errors_are_one_line():
    for args in (["--max-sram", "lots"], ["--max-flash", "-1M"], ["--board", "pico9"], [],
                 ["--board", "stm32f746", "--dtype", "fp16"]):
        code, out, err = run_cli(["pareto", *args])
        assert code == 2 and err.count("\n") == 1 and not out, (args, err)


def test_front_of_several_costs():
    rows = [{"a": 1, "b": 5, "top1": 50.0}, {"a": 2, "b": 2, "top1": 60.0},
            {"a": 3, "b": 3, "top1": 55.0}, {"a": 1, "b": 1, "top1": 40.0}]
    assert [r["top1"] for r in front_of(rows, ("a", "b"))] == [60.0, 50.0, 40.0]
