"""Calibrations that travel (issue 22): a calibration made here, exported and imported into a
fresh store under another name, predicts exactly what it predicted here; importing it again
replaces it; 30 bad device files are each refused in one line with the store unchanged; the
registry of devices (this host, imported, reference) labels every figure; ``lightviz predict
--on`` and ``lightviz pareto --max-ms --on``."""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import pytest

from lightviz import make_config
from lightviz.cli import main
from lightviz.latency.devices import devicefile as D
from lightviz.latency.devices import imported, sources
from lightviz.latency.devices.figure import (
    MEASURED,
    NONE,
    PREDICTED_HERE,
    PREDICTED_IMPORTED,
    PUBLISHED,
    THIS_HOST,
)
from lightviz.latency.predictor import model as M
from lightviz.latency.predictor import store
from lightviz.latency.predictor.calibrate import calibrate

sys.path.insert(0, str(Path(__file__).parent))
from test_kernel_model import ONE, fake_ops  # noqa: E402

CONFIGS = [make_config("mobilenet_v2", 0.75, resolution=160), make_config("resnet18", 0.5, resolution=128),
           make_config("ghostnet", 1.3, resolution=224), make_config("shufflenet_v1", 0.5, resolution=96, groups=8)]
P3 = "Pixel 3 (TFLite CPU, 4 threads)"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(the device file's path, this host's predictions of CONFIGS): a fast calibration with a
    fake per-op timer (14 networks, under a second), exported."""
    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("LIGHTVIZ_CACHE_DIR")
    os.environ["LIGHTVIZ_CACHE_DIR"] = str(home / "cache")
    store.clear_caches()
    try:
        calibrate(ONE, budget_s=600, measure_ops=lambda c, s: fake_ops(c, s), max_points=14)
        here = {c: M.predict(c, ONE) for c in CONFIGS}
        path = home / "box.json"
        assert main(["devices", "export", "--threads", "1", "-o", str(path), "--name", "lab box"]) == 0
    finally:
        if old is None:
            os.environ.pop("LIGHTVIZ_CACHE_DIR", None)
        else:
            os.environ["LIGHTVIZ_CACHE_DIR"] = old
        store.clear_caches()
    return path, here


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def test_an_imported_calibration_predicts_exactly_what_it_predicted_here(exported, cache):
    path, here = exported
    assert main(["devices", "import", str(path), "--name", "Jetson at school"]) == 0
    assert imported.names() == ["Jetson at school"]
    for cfg, p in here.items():
        fig = sources.latency_on("Jetson at school", cfg, "fp32")
        assert fig.status == PREDICTED_IMPORTED and fig.device == "Jetson at school"
        assert (fig.ms, fig.low, fig.high) == (p.predicted_ms, p.low_ms, p.high_ms)  # exactly
        assert fig.runtime == "torch eager on cpu" and fig.precision == "fp32"
        assert "imported" in fig.source
    # another precision: none, never the fp32 model carried over
    assert sources.latency_on("Jetson at school", CONFIGS[0], "int8").status == NONE
    # this host has no model of its own: importing never made one
    assert store.load_model(M.resolve(ONE)) is None and not (cache / "latency").exists()
    assert sources.latency_on(THIS_HOST, CONFIGS[0], ONE).status == NONE


def test_importing_again_replaces_and_remove_forgets(exported, cache, capsys):
    path, _ = exported
    assert main(["devices", "import", str(path)]) == 0  # the file's own name
    first = snapshot(cache)
    assert main(["devices", "import", str(path), "--name", "LAB BOX"]) == 0  # same name, any case
    assert "replaced" in capsys.readouterr().out
    assert imported.names() == ["LAB BOX"] and len(list((cache / "devices").iterdir())) == 1
    assert set(snapshot(cache)) == set(first)
    assert main(["devices", "list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["devices"]
    assert [d["name"] for d in listed] == ["LAB BOX"] and listed[0]["networks"] == 14
    assert main(["devices", "remove", "lab box"]) == 0 and imported.names() == []
    assert main(["devices", "remove", "lab box"]) == 2


def _bad_files(good: dict) -> list:
    """(id, bytes) of 30 bad device files built from a good one."""
    text = D.dumps(good)

    def edit(fn):
        doc = copy.deepcopy(good)
        fn(doc)
        return json.dumps(doc).encode()

    kinds = good["model"]["kernel"]["kinds"]
    kind = next(iter(kinds))
    out = [
        ("truncated", text[: len(text) // 2].encode()),
        ("empty", b""),
        ("not-utf8", b"\xff\xfe{}"),
        ("nan", text.replace('"heldout_rmspe": ', '"heldout_rmspe": NaN, "x": ', 1).encode()),
        ("infinity", edit(lambda d: d["model"]["kernel"]["network"].update(fixed=1)).replace(
            b'"fixed": 1', b'"fixed": Infinity')),
        ("huge", b" " * (D.MAX_BYTES + 1)),
        ("a-list", b"[1, 2, 3]"),
        ("a-string", b'"lightviz"'),
        ("a-measurement", json.dumps({"kind": "measurement", "schema": 1}).encode()),
        ("a-store-model", json.dumps({**good["model"], "kind": "model", "schema": 1}).encode()),
        ("future-schema", edit(lambda d: d.update(schema=99))),
        ("no-schema", edit(lambda d: d.pop("schema"))),
        ("path-in-name", edit(lambda d: d.update(name="../../etc/passwd"))),
        ("backslash-name", edit(lambda d: d.update(name="a\\b"))),
        ("control-in-name", edit(lambda d: d.update(name="box\x1b[31m"))),
        ("long-name", edit(lambda d: d.update(name="x" * 200))),
        ("negative-coef", edit(lambda d: d["model"]["kernel"]["kinds"][kind]["coef"].__setitem__(0, -1.0))),
        ("negative-scale", edit(lambda d: d["model"]["kernel"]["network"].update(scale=-2.0))),
        ("unknown-kind", edit(lambda d: d["model"]["kernel"]["kinds"].update(warp=kinds[kind]))),
        ("unknown-field", edit(lambda d: d["model"].update(code="import os"))),
        ("linear-model", edit(lambda d: d["model"].update(model_kind="whole-network"))),
        ("old-kernel-version", edit(lambda d: d["model"]["kernel"].update(kernel_version=0))),
        ("short-descriptor", edit(lambda d: d["model"]["kernel"]["kinds"][kind]["z"].__setitem__(0, [1.0]))),
        ("residuals-mismatch", edit(lambda d: d["model"]["kernel"]["kinds"][kind]["r"].append(0.1))),
        ("string-number", edit(lambda d: d["model"].update(measurements="14"))),
        ("coverage-out-of-range", edit(lambda d: d["model"]["interval"].update(coverage=7))),
        ("bad-device", edit(lambda d: d["setup"].update(device="tpu:0"))),
        ("int8-on-unknown-runtime", edit(lambda d: d["setup"].update(runtime="tvm"))),
        ("repeated-key", text.replace('"kind": "lightviz device"',
                                      '"kind": "lightviz device", "kind": "lightviz device"', 1).encode()),
        ("deep-nesting", edit(lambda d: d["passport"].update(cpu=None)).replace(
            b'"cpu": null', b'"cpu": ' + b"[" * 5000 + b"]" * 5000)),
    ]
    assert len(out) == 30
    return out


GOOD: dict = {}


def _good(exported) -> dict:
    if not GOOD:
        GOOD.update(D.read(str(exported[0])))
    return GOOD


@pytest.mark.parametrize("which", range(30))
def test_a_bad_device_file_is_refused_in_one_line_and_changes_nothing(which, exported, cache, tmp_path, capsys):
    name, data = _bad_files(_good(exported))[which]
    assert main(["devices", "import", str(exported[0]), "--name", "kept"]) == 0
    before = snapshot(cache)
    capsys.readouterr()
    bad = tmp_path / f"{name}.json"
    bad.write_bytes(data)
    assert main(["devices", "import", str(bad), "--name", "other"]) == 2, name
    err = capsys.readouterr().err
    assert err.startswith("lightviz: error: refused ") and err.count("\n") == 1, (name, err)
    assert "Traceback" not in err and len(err) < 400, (name, err)
    assert snapshot(cache) == before, name
    assert imported.names() == ["kept"]


def test_a_hostile_name_on_the_command_line_is_refused(exported, cache, capsys):
    for name in ("../x", "a/b", "this host", P3, "", "x" * 65, "tab\there"):
        assert main(["devices", "import", str(exported[0]), "--name", name]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert not (cache / "devices").exists() or not list((cache / "devices").iterdir())


def test_a_stored_device_that_was_tampered_with_is_left_out(exported, cache):
    assert main(["devices", "import", str(exported[0])]) == 0
    path = imported.path_of("lab box")
    doc = json.loads(Path(path).read_text())
    doc["model"]["kernel"]["network"]["scale"] = float("inf")
    Path(path).write_text(json.dumps(doc))  # Infinity
    assert imported.names() == []


# ----------------------------------------------------------------------------- the registry

def test_the_names_and_each_figures_label_and_status(exported, cache):
    main(["devices", "import", str(exported[0])])
    names = sources.names()
    assert names[0] == THIS_HOST and names[1] == "lab box" and P3 in names
    with pytest.raises(ValueError, match="unknown device 'nope' for --on: choose one of 'this host'"):
        sources.check_on("nope")
    assert sources.check_on("LAB BOX") == "lab box"
    cfg = make_config("mobilenet_v1", 0.75, resolution=160)
    pub = sources.latency_on(P3, cfg, "int8")
    assert (pub.status, pub.ms, pub.precision) == (PUBLISHED, 4.7, "int8") and P3 in pub.label
    assert sources.latency_on(P3, make_config("resnet18"), "fp32").status == NONE
    figs, silent = sources.everywhere(cfg, "fp32")
    assert {f.device for f in figs} >= {"lab box", P3} and silent >= 1


def test_this_host_is_measured_where_stored_else_predicted(exported, cache):
    calibrate(ONE, budget_s=600, measure_ops=lambda c, s: fake_ops(c, s), max_points=14)
    cfg = CONFIGS[0]
    fig = sources.latency_on(THIS_HOST, cfg, ONE)
    assert fig.status == PREDICTED_HERE and fig.ms == M.predict(cfg, ONE).predicted_ms
    assert fig.label == "this host \u00b7 torch eager on cpu \u00b7 fp32"
    store.add(cfg, M.resolve(ONE), 3.25, p10_ms=3.0, p90_ms=3.5)
    fig = sources.latency_on(THIS_HOST, cfg, "fp32")  # its latest calibrated setup in fp32
    assert (fig.status, fig.ms, fig.low, fig.high) == (MEASURED, 3.25, 3.0, 3.5)


# ----------------------------------------------------------------------------- the commands

def test_predict_on_says_device_runtime_precision_and_status(exported, cache, capsys):
    main(["devices", "import", str(exported[0])])
    capsys.readouterr()
    cfg = CONFIGS[0]
    assert main(["predict", "mobilenet_v2", "--alpha", "0.75", "--resolution", "160", "--on", "lab box",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == PREDICTED_IMPORTED and out["ms"] == exported[1][cfg].predicted_ms
    assert out["label"] == "lab box \u00b7 torch eager on cpu \u00b7 fp32"
    assert main(["predict", "mobilenet_v2", "--on", "Nowhere"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'this host', 'lab box'" in err and P3 in err


def _dominated(rows) -> list:
    return [r for r in rows for o in rows if o is not r and o["ms"] <= r["ms"] and o["top1"] > r["top1"] + 1e-9]


@pytest.mark.parametrize("on,dtype,budget", [(P3, "int8", 6.0), ("lab box", "fp32", 4.0)])
def test_pareto_on_a_device_rows_within_budget_none_dominated(on, dtype, budget, exported, cache, capsys):
    main(["devices", "import", str(exported[0])])
    capsys.readouterr()
    assert main(["pareto", "--max-ms", str(budget), "--on", on, "--dtype", dtype, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["rows"]
    assert rows and all(r["ms"] <= budget + 1e-9 for r in rows) and not _dominated(rows)
    assert {r["device"].split(" \u00b7 ")[0] for r in rows} == {on}
    assert all(r["device"].endswith(dtype) for r in rows)
    if on == P3:  # the Pixel 3 knows MobileNet v1 only (and v2 1.0 @ 224, over budget): the
        # other configurations with an int8 top-1 (ShuffleNet v2, MobileNet v2, ...) left out, counted
        assert {r["arch"] for r in rows} == {"mobilenet_v1"} and out["left_out_none"] > 0
        assert {r["ms_status"] for r in rows} <= {"published", "interpolated between published points"}
    else:
        assert {r["ms_status"] for r in rows} == {PREDICTED_IMPORTED} and out["left_out_none"] == 0


def test_pareto_on_needs_a_latency_budget(cache, capsys):
    assert main(["pareto", "--max-macs", "300M", "--on", P3]) == 2
    assert "--max-ms" in capsys.readouterr().err


def test_a_whole_network_calibration_travels_too(cache, tmp_path, capsys):
    """int8 and the runtimes other than eager PyTorch calibrate the whole-network model (a
    graph cannot be timed op by op): its device file predicts exactly as here too, and its
    local correction and coefficients are checked like the kernel model's."""
    from dataclasses import replace

    from lightviz.counting import count

    int8 = replace(ONE, dtype="int8", runtime="onnxruntime")
    calibrate(int8, budget_s=600, measure=lambda c, s: 0.05 + count(c).macs / 1e7, max_points=14)
    assert store.load_model(int8).get("model_kind", "whole-network") == "whole-network"
    here = {c: M.predict(c, int8) for c in CONFIGS}
    path = tmp_path / "int8.json"
    assert main(["devices", "export", "--threads", "1", "--dtype", "int8", "--runtime", "onnxruntime",
                 "-o", str(path), "--name", "int8 box"]) == 0
    assert main(["devices", "import", str(path)]) == 0
    for cfg, p in here.items():
        fig = sources.latency_on("int8 box", cfg, "int8")
        assert fig.status == PREDICTED_IMPORTED and fig.precision == "int8"
        assert (fig.ms, fig.low, fig.high) == (p.predicted_ms, p.low_ms, p.high_ms)  # exactly
    assert sources.latency_on("int8 box", CONFIGS[0], "fp32").status == NONE
    good = D.read(str(path))
    n = len(good["model"]["coef"])
    for name, fn in (("short-coef", lambda d: d["model"].update(coef=d["model"]["coef"][:-1])),
                     ("huge-coef", lambda d: d["model"]["coef"].__setitem__(0, 1e300)),
                     ("features-renamed", lambda d: d["model"].update(features=["x"] * n)),
                     ("unknown-field", lambda d: d["model"].update(code="import os")),
                     ("local-mismatch", lambda d: d["model"].update(local={
                         "bandwidth": 0.3, "prior": 1.0, "log_residual": [0.1, 0.2],
                         "points": {"arch": ["resnet18"], "groups": [0], "ln_alpha": [0.0],
                                    "ln_res": [5.4], "paper": [True]}}))):
        doc = copy.deepcopy(good)
        fn(doc)
        with pytest.raises(D.DeviceFileError) as e:
            D.check(doc)
        assert "\n" not in str(e.value), name
