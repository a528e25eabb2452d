"""The Jetson readers against fake sysfs trees in the real formats (tests/fixtures/sysfs/):
an Orin Nano (one INA3221), an AGX Orin (two INA3221, no input rail, two NC channels) and a
faulty Orin Nano (a missing sensor, malformed values). Every reader gives a clear result and
never crashes. Every board's tree (clocks, rails, total, JetPack, energy, the settle wait) is in
tests/latency/test_jetson_boards.py."""

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from lightviz import make_config
from lightviz.cli import main
from lightviz.latency import Bench, HostLock, make_setup
from lightviz.latency.host import energy, jetson
from lightviz.latency.host import passport as P
from lightviz.latency.host import rails as host_rails
from lightviz.latency.lab.memory import MemoryRefused, check_fits

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sysfs"
NANO, AGX, FAULTY = (str(FIXTURES / n) for n in ("orin_nano", "agx_orin", "orin_nano_faulty"))


def labels(root):
    return [r.label for r in host_rails.find_rails(root).rails]


def test_orin_nano_rails_and_power():
    scan = host_rails.find_rails(NANO)
    assert [(r.label, r.device, r.channel) for r in scan.rails] == [
        ("VDD_IN", "1-0040", 1), ("VDD_CPU_GPU_CV", "1-0040", 2), ("VDD_SOC", "1-0040", 3)]
    assert scan.notes == []
    power = host_rails.read_power(scan.rails)
    assert power == {"VDD_IN": 5080 * 1432 / 1000, "VDD_CPU_GPU_CV": 5072 * 312 / 1000,
                     "VDD_SOC": 5080 * 560 / 1000}
    total, covers = host_rails.rails_total(power)
    assert total == "VDD_IN"
    assert "input" in covers and "VDD_SOC" in covers


def test_agx_orin_two_ina3221_and_no_input_rail():
    scan = host_rails.find_rails(AGX)
    assert [(r.label, r.device) for r in scan.rails] == [
        ("VDD_GPU_SOC", "1-0040"), ("VDD_CPU_CV", "1-0040"), ("VIN_SYS_5V0", "1-0040"),
        ("VDDQ_VDD2_1V8AO", "1-0041")]
    assert scan.notes == []  # NC channels (unreadable inputs) are not rails, not problems
    assert host_rails.read_power(scan.rails)["VDD_GPU_SOC"] == pytest.approx(843 * 6170 / 1000)
    total, covers = host_rails.rails_total(labels(AGX))
    assert total is None and covers.startswith("VDD_GPU_SOC + VDD_CPU_CV + VIN_SYS_5V0: AGX Orin has no sensor")
    plan = host_rails.total_plan(labels(AGX))
    assert plan.summed == ("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0")
    assert plan.roles["VDDQ_VDD2_1V8AO"].startswith("inside VIN_SYS_5V0")


def test_faulty_tree_missing_sensor_and_malformed_value():
    scan = host_rails.find_rails(FAULTY)
    assert [r.label for r in scan.rails] == ["VDD_IN", "VDD_SOC"]
    assert scan.notes == ["VDD_CPU_GPU_CV (1-0040 channel 2): curr2_input missing, rail skipped"]
    soc = scan.rails[1]
    mw, why = host_rails.read_rail(soc)
    assert mw is None and why == "VDD_SOC: curr3_input unreadable or not a number"
    assert host_rails.read_power(scan.rails) == {"VDD_IN": 5080 * 1432 / 1000, "VDD_SOC": None}


def test_thermal_zones():
    nano = jetson.thermal_zones(NANO)
    assert nano["cpu-thermal"] == 48.5 and nano["tj-thermal"] == 48.5
    assert nano["cv0-thermal"] is None  # no temp file (EAGAIN on a board)
    agx = jetson.thermal_zones(AGX)
    assert list(agx)[:3] == ["cpu-thermal", "gpu-thermal", "cv0-thermal"]  # zone order, 10 after 9
    assert agx["cv1-thermal"] is None  # -256000: no reading
    assert agx["tdiode-thermal"] == 39.75
    faulty = jetson.thermal_zones(FAULTY)
    assert faulty == {"cpu-thermal": None, "gpu-thermal": 47.218, "soc0-thermal": None}


def test_identity_power_mode_and_clocks():
    assert jetson.is_jetson(NANO) and jetson.is_jetson(AGX) and jetson.is_jetson(FAULTY)
    assert jetson.l4t_release(NANO) == "R36.4.3 (JetPack 6.2)"
    assert jetson.l4t_release(AGX) == "R35.4.1 (JetPack 5.1.2)"
    assert jetson.l4t_release(FAULTY).startswith("unrecognised (garbage")
    assert jetson.nvpmodel_mode(NANO) == "MAXN_SUPER (mode 2)"
    assert jetson.nvpmodel_mode(AGX) == "MAXN (mode 0)"
    assert jetson.nvpmodel_mode(FAULTY) is None
    nano, agx = jetson.clocks_state(NANO), jetson.clocks_state(AGX)
    assert nano["state"] == "off"
    assert nano["detail"] == ("CPU cpu0-5 min 729.6 MHz below the power mode's cap 1728 MHz; "
                              "GPU min 306 MHz below max 1020 MHz")
    assert agx["state"] == "on"
    assert jetson.clocks_state(FAULTY)["state"] == "unknown"


def test_not_a_jetson(tmp_path):
    assert not jetson.is_jetson(tmp_path)
    assert jetson.jetson_info(tmp_path) is None
    assert host_rails.find_rails(tmp_path).rails == []
    assert jetson.thermal_zones(tmp_path) == {}
    with pytest.raises(energy.NoPowerSensors, match="no readable INA3221 power rail"):
        energy.require_rails(tmp_path)


@pytest.mark.parametrize("root", [NANO, AGX, FAULTY])
def test_passport_reads_the_jetson_through_the_root(root):
    p = P.passport("cpu", 1, root)
    json.dumps(p)  # JSON-ready
    assert p["cpu"]["model"] == "Cortex-A78AE"
    assert p["device"]["name"] == "Cortex-A78AE"
    j = p["jetson"]
    assert j["model"].startswith("NVIDIA Jetson")
    assert set(j) >= {"l4t", "nvpmodel", "jetson_clocks", "power_rails", "power_total"}
    assert "gpu-thermal" in p["temperatures_c"]
    line = P.summary(p)
    assert "jetson_clocks" in line and "power mode" in line


def test_passport_on_this_machine_has_no_jetson(tmp_path):
    p = P.passport("cpu", None, tmp_path)
    assert p["jetson"] is None and p["temperatures_c"] is None
    assert p["threads"] >= 1 and p["torch"]


def _copy(root, tmp_path):
    dst = tmp_path / "root"
    shutil.copytree(root, dst)
    return dst


def test_energy_per_inference_subtracts_the_idle_baseline(tmp_path):
    root = _copy(NANO, tmp_path)
    curr = root / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/curr1_input"
    calls = []

    def step():  # the "inference": the load draws 1000 mA more on VDD_IN
        if not calls:
            curr.write_text("2432\n")
        calls.append(1)

    e = energy.measure_energy(step, images_per_step=4, root=root, idle_s=0.2, run_s=0.4, interval_s=0.01,
                              settle_s=0.01)
    vin = next(r for r in e["rails"] if r["rail"] == "VDD_IN")
    assert vin["idle_mw"] == pytest.approx(5080 * 1432 / 1000)
    assert 0 < vin["rise_mw"] <= 5080 * 1000 / 1000 + 1e-6
    assert vin["rise_mj_per_image"] == pytest.approx(vin["rise_mw"] * e["run_s"] / e["inferences"])
    assert vin["full_mj_per_image"] == pytest.approx(vin["load_mw"] * e["run_s"] / e["inferences"])
    assert e["inferences"] == 4 * len(calls)
    assert e["total"]["rise_mj_per_image"] == vin["rise_mj_per_image"]  # VDD_IN is the total
    assert e["total"]["full_mj_per_image"] == vin["full_mj_per_image"]
    assert e["total"]["rails"] == ["VDD_IN"] and e["covers"].startswith("VDD_IN")
    soc = next(r for r in e["rails"] if r["rail"] == "VDD_SOC")
    assert soc["rise_mw"] == pytest.approx(0, abs=1e-9) and soc["role"] == "inside VDD_IN"
    assert any("distinct readings" in w for w in e["warnings"])  # a short run says so


def test_energy_with_a_malformed_rail_and_a_summed_total(tmp_path):
    faulty = energy.measure_energy(lambda: None, 1, FAULTY, idle_s=0.05, run_s=0.1, interval_s=0.01, settle_s=0)
    soc = next(r for r in faulty["rails"] if r["rail"] == "VDD_SOC")
    assert soc["idle_mw"] is None and soc["rise_mj_per_image"] is None and soc["full_mj_per_image"] is None
    assert any("VDD_SOC: no valid reading" in w for w in faulty["warnings"])
    assert any("curr2_input missing" in w for w in faulty["warnings"])
    agx = energy.measure_energy(lambda: None, 1, AGX, idle_s=0.05, run_s=0.1, interval_s=0.01, settle_s=0)
    power = host_rails.read_power(host_rails.find_rails(AGX).rails)
    assert agx["total"]["idle_mw"] == pytest.approx(power["VDD_GPU_SOC"] + power["VDD_CPU_CV"] + power["VIN_SYS_5V0"])
    assert [r["role"] for r in agx["rails"]] == ["summed into the total"] * 3 + [
        "inside VIN_SYS_5V0: not added (it would count twice)"]
    assert any("did not raise the power" in w for w in agx["warnings"])


def test_bench_energy_on_a_fake_agx_with_a_real_model(tmp_path):
    root = _copy(AGX, tmp_path)
    bench = Bench(HostLock(tmp_path / "lock"), root=root)
    cfg = make_config("mobilenet_v2", 0.25, resolution=32)
    out = bench.energy(cfg, make_setup("cpu", threads=1, budget_s=0.1), run_s=0.3, idle_s=0.05, settle_s=0.05)
    bench.release()
    assert out["inferences"] > 0 and out["latency"]["median_ms"] > 0
    assert out["passport"]["jetson"]["model"] == "NVIDIA Jetson AGX Orin Developer Kit"


def test_memory_check_reads_meminfo_through_the_root():
    cfg = make_config("resnet50", 1.0)
    check_fits(cfg, 1, "fp32", "cpu", NANO)  # 5.1 GB available: fits
    with pytest.raises(MemoryRefused) as exc:
        check_fits(cfg, 512, "fp32", "cpu", NANO)
    msg = str(exc.value)
    assert "resnet50 1x @ 224 at batch 512 in fp32 needs about" in msg
    assert "4.88 GiB free (MemAvailable in /proc/meminfo)" in msg  # lightviz.units: 3 digits
    assert "or less would fit" in msg and "\n" not in msg


def test_cli_energy_needs_rails(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_SYSFS_ROOT", str(tmp_path))
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        rc = main(["bench", "mobilenet_v2", "--energy", "5"])
    assert rc == 2
    assert err.getvalue().startswith("lightviz: error: no readable INA3221 power rail")
    assert err.getvalue().count("\n") == 1


def test_cli_energy_on_a_fake_orin_nano(tmp_path, monkeypatch):
    root = _copy(NANO, tmp_path)
    monkeypatch.setenv("LIGHTVIZ_SYSFS_ROOT", str(root))
    monkeypatch.setenv("LIGHTVIZ_LOCK_DIR", str(tmp_path / "lock"))
    out = io.StringIO()
    with redirect_stdout(out):
        rc = main(["bench", "mobilenet_v2", "--alpha", "0.25", "--resolution", "32", "--threads", "1",
                   "--budget", "0.1", "--energy", "0.4", "--settle", "0.05", "--format", "json"])
    assert rc == 0
    data = json.loads(out.getvalue())
    assert data["energy"]["covers"].startswith("VDD_IN") and data["energy"]["settle_s"] == 0.05
    assert data["energy"]["total"]["full_mj_per_image"] > data["energy"]["total"]["rise_mj_per_image"]
    assert data["passport"]["jetson"]["l4t"] == "R36.4.3 (JetPack 6.2)"
    assert any("jetson_clocks is off" in w for w in data["warnings"])


def test_a_device_reached_through_two_links_counts_once(tmp_path):
    """On a board /sys/class/hwmon/hwmonN links to the I2C device's hwmon folder; another
    hwmon driver there (not an ina3221) is no rail."""
    root = _copy(NANO, tmp_path)
    cls = root / "sys/class/hwmon"
    cls.mkdir(parents=True)
    (cls / "hwmon1").symlink_to(root / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1")
    other = cls / "hwmon0"
    other.mkdir()
    (other / "name").write_text("tegra_fan\n")
    (other / "in1_label").write_text("FAN\n")
    assert labels(root) == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
