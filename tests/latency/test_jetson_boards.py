"""Every board's fake tree (tests/fixtures/sysfs/*/, each with a SOURCES.md): the clocks' state as
NVIDIA's jetson_clocks sets it, the rails and which make the module total, the JetPack version,
energy per image (the module input and the rise over idle) from fake rails whose values change
during the run, the settle wait before the idle baseline, and the L4T R32 board's one clear line."""

import io
import os
import shutil
import threading
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from lightviz.cli import main
from lightviz.latency.cli import render_energy
from lightviz.latency.host import energy, jetson
from lightviz.latency.host import passport as P
from lightviz.latency.host import rails as host_rails

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sysfs"
NANO_RAILS = ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
AGX_RAILS = ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"]
AGX_TOTAL = ["VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"]
CARRIER = ["CVB_ATX_12V", "CVB_ATX_3V3", "CVB_ATX_5V"]

# board -> (L4T line, power mode, clocks state, clocks detail, rails, total rails)
BOARDS = {
    "orin_nano": ("R36.4.3 (JetPack 6.2)", "MAXN_SUPER (mode 2)", "off",
                  "CPU cpu0-5 min 729.6 MHz below the power mode's cap 1728 MHz; GPU min 306 MHz below max 1020 MHz",
                  NANO_RAILS, ["VDD_IN"]),
    "orin_nano_15w_clocks_off": (
        "R36.4.7 (JetPack 6.2.1)", "15W (mode 0)", "off",
        ("CPU cpu0-5 min 729.6 MHz below the power mode's cap 1497.6 MHz (silicon max 1728 MHz); "
         "GPU min 306 MHz below max 612 MHz"), NANO_RAILS, ["VDD_IN"]),
    "orin_nano_15w_clocks_on": (
        "R36.4.7 (JetPack 6.2.1)", "15W (mode 0)", "on",
        "CPU cpu0-5 min = max = 1497.6 MHz, the power mode's cap (silicon max 1728 MHz); GPU min 612 MHz = max 612 MHz",
        NANO_RAILS, ["VDD_IN"]),
    "orin_nano_7w_clocks_off": (
        "R36.4.7 (JetPack 6.2.1)", "7W (mode 3)", "off",
        ("CPU cpu0-3 min 729.6 MHz below the power mode's cap 960 MHz (silicon max 1728 MHz); cpu4-5 offline "
         "(skipped); GPU min 306 MHz below max 408 MHz"), NANO_RAILS, ["VDD_IN"]),
    "orin_nano_7w_clocks_on": (
        "R36.4.7 (JetPack 6.2.1)", "7W (mode 3)", "on",
        ("CPU cpu0-3 min = max = 960 MHz, the power mode's cap (silicon max 1728 MHz); cpu4-5 offline (skipped); "
         "GPU min 408 MHz = max 408 MHz"), NANO_RAILS, ["VDD_IN"]),
    "orin_nx": ("R36.4.4 (JetPack 6.2.1)", "MAXN (mode 0)", "on",
                "CPU cpu0-7 min = max = 1984 MHz, the power mode's cap; GPU min 918 MHz = max 918 MHz",
                NANO_RAILS, ["VDD_IN"]),
    "agx_orin": ("R35.4.1 (JetPack 5.1.2)", "MAXN (mode 0)", "on",
                 "CPU cpu0-11 min = max = 2201.6 MHz, the power mode's cap; GPU min 1300.5 MHz = max 1300.5 MHz",
                 AGX_RAILS, AGX_TOTAL),
    "agx_orin_industrial": (
        "R36.5.0 (JetPack 6.2.2)", "MAXN (mode 0)", "off",
        "CPU cpu0-11 min 729.6 MHz below the power mode's cap 2201.6 MHz; GPU min 306 MHz below max 1185.75 MHz",
        AGX_RAILS + CARRIER, AGX_TOTAL),
    "xavier_nx_jp5": (
        "R35.5.0 (JetPack 5.1.3)", "MODE_20W_6CORE (mode 8)", "on",
        ("CPU cpu0-5 min = max = 1420.8 MHz, the power mode's cap (silicon max 1907.2 MHz); "
         "GPU min 1109.25 MHz = max 1109.25 MHz"), NANO_RAILS, ["VDD_IN"]),
    "nano_r32": ("R32.7.1 (JetPack 4.6.1)", "MAXN (mode 0)", "off",
                 "CPU cpu0-3 min 102 MHz below the power mode's cap 1479 MHz; GPU min 76.8 MHz below max 921.6 MHz",
                 [], []),
}
WITH_RAILS = [b for b, v in BOARDS.items() if v[4]]


def root_of(board):
    return str(FIXTURES / board)


def test_every_fixture_folder_is_a_tested_board_with_its_sources():
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))}
    assert folders == set(BOARDS) | {"orin_nano_faulty"}
    for name in folders:
        sources = (FIXTURES / name / "SOURCES.md").read_text()
        assert sources.startswith("# ") and sources.count("\n- ") >= 1, name


@pytest.mark.parametrize("board", BOARDS)
def test_release_power_mode_and_clocks(board):
    l4t, mode, state, detail, _, _ = BOARDS[board]
    root = root_of(board)
    assert jetson.is_jetson(root)
    assert jetson.l4t_release(root) == l4t
    assert jetson.nvpmodel_mode(root) == mode
    clocks = jetson.clocks_state(root)
    assert (clocks["state"], clocks["detail"]) == (state, detail)


@pytest.mark.parametrize("board", ["orin_nano_15w_clocks_on", "orin_nano_7w_clocks_on", "xavier_nx_jp5"])
def test_clocks_locked_below_the_silicon_maximum_are_on(board):
    """jetson_clocks locks at the power mode's cap: comparing with cpuinfo_max_freq (the silicon's
    maximum) would call every one of these "off" (issue 15)."""
    cpu = jetson.clocks_state(root_of(board))["cpu"]
    assert cpu["min_khz"] == cpu["max_khz"] < cpu["hw_max_khz"]


def test_offline_cpus_are_skipped():
    """In 7 W mode cpu4 and cpu5 are offline and keep stale figures (min below max): skipped."""
    clocks = jetson.clocks_state(root_of("orin_nano_7w_clocks_on"))
    assert clocks["cpu"]["online"] == 4 and clocks["cpu"]["offline"] == ["cpu4", "cpu5"]
    assert clocks["cpu"]["unlocked"] == [] and clocks["state"] == "on"
    assert clocks["short"] == "CPU min 960/max 960 MHz, 4 online, GPU min 408/max 408 MHz"


def test_gpu_not_locked_means_off(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(root_of("orin_nano_15w_clocks_on"), root)
    (root / "sys/class/devfreq/17000000.gpu/min_freq").write_text("306000000\n")
    clocks = jetson.clocks_state(root)
    assert clocks["state"] == "off" and clocks["detail"].endswith("GPU min 306 MHz below max 612 MHz")
    shutil.rmtree(root / "sys/class/devfreq")  # no GPU devfreq readable: judged on the CPUs
    clocks = jetson.clocks_state(root)
    assert clocks["state"] == "on" and clocks["detail"].endswith("GPU devfreq not readable (judged on the CPUs)")


@pytest.mark.parametrize("board", BOARDS)
def test_rails_and_total(board):
    *_, rails, total = BOARDS[board]
    scan = host_rails.find_rails(root_of(board))
    assert [r.label for r in scan.rails] == rails
    assert scan.notes == []  # NC channels, disabled channels and the ina219 are no problem
    plan = host_rails.total_plan(rails)
    assert list(plan.summed) == total
    info = jetson.jetson_info(root_of(board))
    assert info["power_rails"] == rails and info["power_total_rails"] == total
    assert info["power_total"] == plan.covers
    if total:
        assert all(v is not None for v in host_rails.read_power(scan.rails).values())


def test_agx_orin_nc_channels_and_the_industrial_carrier_rails():
    hw = FIXTURES / "agx_orin/sys/bus/i2c/drivers/ina3221/1-0041/hwmon/hwmon4"
    assert (hw / "in1_label").read_text().strip() == "NC" and (hw / "in3_label").read_text().strip() == "NC"
    with pytest.raises(OSError):
        (hw / "in1_input").read_text()  # unreadable, as on the board
    plan = host_rails.total_plan(AGX_RAILS + CARRIER)
    assert plan.covers == (
        "VDD_GPU_SOC + VDD_CPU_CV + VIN_SYS_5V0: AGX Orin has no sensor on its input, so the total is its "
        "three supply branches (as energymon sums them); VDDQ_VDD2_1V8AO is fed from VIN_SYS_5V0, so it is "
        "not added again; regulator losses on the module are not seen; carrier-board rails CVB_ATX_12V, "
        "CVB_ATX_3V3, CVB_ATX_5V reported apart")
    assert {plan.roles[c] for c in CARRIER} == {"carrier board: not in the module total"}
    # the ina219 at 7-0044 is reachable as /sys/class/hwmon/hwmon4 but is another driver
    assert (FIXTURES / "agx_orin_industrial/sys/class/hwmon/hwmon4/name").read_text().strip() == "ina219"


def test_other_rail_sets():
    xavier = host_rails.total_plan(["GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"])
    assert len(xavier.summed) == 6 and "in parallel" in xavier.covers
    unknown = host_rails.total_plan(["VDD_A", "VDD_B"])
    assert unknown.summed == ("VDD_A", "VDD_B") and "counted twice" in unknown.covers
    nano = host_rails.total_plan(["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"])
    assert nano.summed == ("POM_5V_IN",) and nano.roles["POM_5V_GPU"] == "inside POM_5V_IN"


@pytest.mark.parametrize("version,jetpack", [
    ("36.5.0", "6.2.2"), ("36.4.7", "6.2.1"), ("36.4.4", "6.2.1"), ("36.4.3", "6.2"), ("36.4.0", "6.1"),
    ("36.3.0", "6.0"), ("35.6.2", "5.1.5"), ("35.6.1", "5.1.5"), ("35.6.0", "5.1.4"), ("35.5.0", "5.1.3"),
    ("35.4.1", "5.1.2"), ("35.3.1", "5.1.1"), ("35.2.1", "5.1"), ("35.1.0", "5.0.2"), ("35.1", "5.0.2"),
    ("32.7.1", "4.6.1"), ("36.9.0", "6.x"), ("35.7.0", "5.x"), ("32.4.4", "4.x"), ("38.2.0", "7.x"), ("39.2.1", "7.x"),
    ("99.1.0", None),
])
def test_jetpack_table(version, jetpack):
    assert jetson.jetpack_for(version) == jetpack


def _set(path, value):
    """Replace a fake sysfs file at once (a sysfs read is atomic; a truncate-then-write is not)."""
    tmp = f"{path}.new"
    Path(tmp).write_text(f"{value}\n")
    os.replace(tmp, path)


def _copy(board, tmp_path):
    dst = tmp_path / board
    shutil.copytree(root_of(board), dst, symlinks=True)
    return dst


@pytest.mark.parametrize("board", WITH_RAILS)
def test_energy_full_and_rise_from_rails_that_change_during_the_run(board, tmp_path):
    """Each summed rail draws 1000-1200 mA more under load, a different value at each step;
    the rails inside the total and the carrier's stay at idle."""
    root = _copy(board, tmp_path)
    rails = {r.label: r for r in host_rails.find_rails(root).rails}
    total = BOARDS[board][5]
    idle = host_rails.read_power(list(rails.values()))
    idle_ma = {x: int(Path(rails[x].current_path).read_text()) for x in total}
    steps = []

    def step():
        for x in total:
            _set(rails[x].current_path, idle_ma[x] + 1000 + 100 * (len(steps) % 3))
        steps.append(1)

    e = energy.measure_energy(step, 2, root, idle_s=0.1, run_s=0.3, interval_s=0.01, settle_s=0.02)
    t, per = e["total"], e["run_s"] / e["inferences"]
    assert e["inferences"] == 2 * len(steps) and e["settle_s"] == 0.02 and t["rails"] == total
    assert t["idle_mw"] == pytest.approx(sum(idle[x] for x in total))
    volts = sum(int(Path(rails[x].voltage_path).read_text()) for x in total) / 1000
    assert 0 < t["rise_mw"] <= 1200 * volts + 1e-6
    assert t["full_mj_per_image"] == pytest.approx(t["load_mw"] * per)
    assert t["rise_mj_per_image"] == pytest.approx(t["rise_mw"] * per)
    assert t["full_mj_per_image"] - t["rise_mj_per_image"] == pytest.approx(t["idle_mw"] * per)
    for row in e["rails"]:
        if row["rail"] not in total:
            assert row["rise_mw"] == pytest.approx(0, abs=1e-9), row["rail"]
    text = render_energy(e)
    assert "module input" in text and "rise on idle" in text and f"settled {e['settle_s']:g} s" in text


@pytest.mark.parametrize("board", WITH_RAILS)
def test_the_settle_wait_keeps_the_latency_runs_heat_out_of_the_idle_baseline(board, tmp_path):
    """Right after the latency run every summed rail draws 2000 mA more and falls back to idle
    0.15 s later (the clocks dropping): with a settle wait the baseline sees only the idle draw;
    without one it is inflated."""
    root = _copy(board, tmp_path)
    rails = {r.label: r for r in host_rails.find_rails(root).rails}
    total = BOARDS[board][5]
    idle = host_rails.read_power(list(rails.values()))
    idle_ma = {x: int(Path(rails[x].current_path).read_text()) for x in total}

    def heat(extra):
        for x in total:
            _set(rails[x].current_path, idle_ma[x] + extra)

    def run(settle_s):
        heat(2000)
        timer = threading.Timer(0.15, heat, (0,))
        timer.start()
        try:
            return energy.measure_energy(lambda: None, 1, root, idle_s=0.3, run_s=0.05,
                                         interval_s=0.01, settle_s=settle_s)
        finally:
            timer.join()

    settled = run(0.6)
    assert settled["settle_s"] == 0.6
    assert settled["total"]["idle_mw"] == pytest.approx(sum(idle[x] for x in total))
    rushed = run(0)
    assert rushed["settle_s"] == 0
    assert rushed["total"]["idle_mw"] > 1.05 * sum(idle[x] for x in total)


def test_an_l4t_r32_board_gets_one_clear_line(tmp_path, monkeypatch):
    root = root_of("nano_r32")
    line = ("NVIDIA Jetson Nano Developer Kit runs L4T R32.7.1 (JetPack 4.6.1): lightviz needs JetPack 5 or "
            "later (L4T R35+, hwmon power sensors) and Python 3.10; L4T R32 ships Python 3.6; its power "
            "sensors (6-0040/iio:device0) use the ina3221x iio driver, which lightviz does not read")
    assert jetson.unsupported_reason(root) == line
    assert jetson.jetson_info(root)["unsupported"] == line
    with pytest.raises(energy.NoPowerSensors) as exc:
        energy.require_rails(root)
    assert str(exc.value) == line
    for board in WITH_RAILS:
        assert jetson.unsupported_reason(root_of(board)) is None
    monkeypatch.setenv("LIGHTVIZ_SYSFS_ROOT", root)
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        rc = main(["bench", "mobilenet_v2", "--energy", "5"])
    assert rc == 2 and err.getvalue() == f"lightviz: error: {line}\n"
    assert "energy needs a Jetson" not in err.getvalue()


@pytest.mark.parametrize("board", BOARDS)
def test_the_passport_states_mode_clocks_figures_and_total(board):
    p = P.passport("cpu", 1, root_of(board))
    j = p["jetson"]
    assert j["nvpmodel"] == BOARDS[board][1] and j["jetson_clocks"]["detail"] == BOARDS[board][3]
    line = P.summary(p)
    assert f"jetson_clocks {BOARDS[board][2]} ({j['jetson_clocks']['short']})" in line
    assert f"power mode {BOARDS[board][1]}" in line


def test_cli_settle_must_be_a_number(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_SYSFS_ROOT", root_of("orin_nx"))
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        rc = main(["bench", "mobilenet_v2", "--energy", "5", "--settle", "-1"])
    assert rc == 2
    assert err.getvalue() == "lightviz: error: --settle must be 0 or a positive number of seconds, got '-1'\n"


PANEL = """
from lightviz import make_config
from lightviz.views import latency
latency.render(make_config("mobilenet_v2", 0.25, resolution=32))
"""
SHOW = """
from lightviz.latency.host import energy
from lightviz.views.latency.page import show_energy
e = energy.measure_energy(lambda: None, 1, idle_s=0.05, run_s=0.05, interval_s=0.01, settle_s=0.01)
show_energy(e)
"""


def test_the_app_states_clocks_and_total_and_shows_both_energy_figures(tmp_path, monkeypatch):
    """The Latency page on a fake Orin Nano in 15 W with jetson_clocks on (AppTest, no browser):
    the energy panel's caption, and a measured result shown as module input and rise over idle."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LIGHTVIZ_SYSFS_ROOT", root_of("orin_nano_15w_clocks_on"))
    monkeypatch.setenv("LIGHTVIZ_LOCK_DIR", str(tmp_path / "lock"))
    page = tmp_path / "page.py"
    page.write_text(PANEL)
    at = AppTest.from_file(str(page), default_timeout=60)
    at.run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert ("power mode 15W (mode 0) · jetson_clocks on (CPU min 1497.6/max 1497.6 MHz, GPU min 612/max 612 MHz) "
            "· rails: VDD_IN, VDD_CPU_GPU_CV, VDD_SOC · total: VDD_IN") in captions
    show = tmp_path / "show.py"
    show.write_text(SHOW)
    at = AppTest.from_file(str(show), default_timeout=60)
    at.run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["Energy per image (module input)", "Rise over idle per image", "Throughput during the run"]
    assert any("the board settled 0.01 s after the latency run" in c.value for c in at.caption)
