"""A Jetson board's natural setups (lightviz/latency/natural.py) on the recorded sysfs trees
(tests/fixtures/sysfs/): a Nano, a Xavier NX, an Orin Nano, an AGX Orin (no compatible list:
named from its model), with and without trtexec; ``lightviz calibrate --list-setups`` and
``--setup NAME`` as the board offers them."""

import io
import json
import os
from argparse import Namespace
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from lightviz.cli import main
from lightviz.latency import natural as N
from lightviz.latency.host import jetson as J
from lightviz.latency.setup import Setup

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sysfs"
TREES = {"nano": "nano_r32", "xavier": "xavier_nx_jp5", "orin": "orin_nano", "agx": "agx_orin"}


def root(board: str) -> str:
    return str(FIXTURES / TREES[board])


@pytest.fixture
def trtexec(tmp_path, monkeypatch):
    """A stand-in trtexec (an executable file) where lightviz looks first."""
    fake = tmp_path / "trtexec"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("LIGHTVIZ_TRTEXEC", str(fake))
    return fake


@pytest.fixture
def no_trtexec(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_TRTEXEC", str(tmp_path / "missing"))


def cli(args, board, monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_SYSFS_ROOT", root(board))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("board, soc, family, int8", [
    ("nano", "tegra210", "Nano", False), ("xavier", "tegra194", "Xavier", True),
    ("orin", "tegra234", "Orin", True), ("agx", "tegra234", "Orin", True)])
def test_the_board_from_sysfs(board, soc, family, int8):
    b = J.jetson_board(root(board))
    assert (b.soc, b.family, b.int8) == (soc, family, int8)
    assert "Jetson" in b.model


def test_not_a_jetson_and_model_names():
    assert J.jetson_board(str(FIXTURES / "no_such_tree")) is None
    assert J.board_for("NVIDIA Jetson Orin Nano Developer Kit").family == "Orin"  # not a Nano
    assert J.board_for("Jetson AGX Xavier").int8 and not J.board_for("Jetson TX2").int8
    assert J.board_for("Raspberry Pi 5") is None
    with pytest.raises(ValueError, match="unknown Jetson board 'Pi'"):
        N.natural_setups("Pi", True)


@pytest.mark.parametrize("board, present, names", [
    ("nano", True, ["cuda-fp16", "cuda-graph", "tensorrt-fp16"]),
    ("nano", False, ["cuda-fp16", "cuda-graph"]),
    ("xavier", True, ["cuda-fp16", "cuda-graph", "tensorrt-fp16", "tensorrt-int8"]),
    ("orin", True, ["cuda-fp16", "cuda-graph", "tensorrt-fp16", "tensorrt-int8"]),
    ("orin", False, ["cuda-fp16", "cuda-graph"]),
])
def test_natural_setups(board, present, names):
    b = J.jetson_board(root(board))
    setups = N.natural_setups(b, present)
    assert all(isinstance(s, Setup) for s in setups)
    assert N.natural_names(b, present) == names
    got = [(s.device, s.dtype, s.mode, s.runtime) for s in setups]
    expected = {"cuda-fp16": ("cuda", "fp16", "eager", "torch"),
                "cuda-graph": ("cuda", "fp16", "cudagraph", "torch"),
                "tensorrt-fp16": ("cuda", "fp16", "eager", "tensorrt"),
                "tensorrt-int8": ("cuda", "int8", "eager", "tensorrt")}
    assert got == [expected[n] for n in names]
    assert all(s.batch == 1 and s.fold_bn for s in setups)


def test_list_setups_on_an_orin_with_trtexec(monkeypatch, trtexec):
    code, out, err = cli(["calibrate", "--list-setups"], "orin", monkeypatch)
    assert code == 0 and err == ""
    assert out.splitlines()[0].startswith("NVIDIA Jetson Orin Nano")
    assert "R36.4.3 (JetPack 6.2)" in out and "MAXN_SUPER" in out
    assert "lightviz calibrate --setup NAME" in out and "not offered" not in out
    rows = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert rows == ["cuda-fp16", "cuda-graph", "tensorrt-fp16", "tensorrt-int8"]
    assert "--device cuda --dtype int8 --runtime tensorrt" in out
    assert "--device cuda --dtype fp16 --mode cudagraph" in out


def test_list_setups_json_on_a_nano(monkeypatch, trtexec):
    code, out, _ = cli(["calibrate", "--list-setups", "--format", "json"], "nano", monkeypatch)
    info = json.loads(out)
    assert code == 0 and info["soc"] == "tegra210"
    assert [s["name"] for s in info["setups"]] == ["cuda-fp16", "cuda-graph", "tensorrt-fp16"]
    assert info["setups"][2]["options"] == "--device cuda --dtype fp16 --runtime tensorrt"
    assert info["setups"][2]["command"] == "lightviz calibrate --setup tensorrt-fp16"
    assert "no int8 path in TensorRT" in info["not_offered"]["tensorrt-int8"]
    assert "Python 3.6" in info["unsupported"]  # L4T R32: lightviz itself does not run there


def test_list_setups_without_trtexec_says_why(monkeypatch, no_trtexec):
    code, out, _ = cli(["calibrate", "--list-setups"], "xavier", monkeypatch)
    assert code == 0
    assert "not offered: tensorrt-fp16: trtexec not found" in out
    assert "--runtime tensorrt" not in out


def test_list_setups_elsewhere_is_one_line(monkeypatch):
    monkeypatch.setenv("LIGHTVIZ_SYSFS_ROOT", str(FIXTURES / "no_such_tree"))
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(["calibrate", "--list-setups"])
    assert code == 2
    assert err.getvalue().count("\n") == 1 and "not a Jetson board" in err.getvalue()


def args_of(**kw):
    base = {"device": "cpu", "dtype": "fp32", "mode": "eager", "runtime": "torch"}
    return Namespace(**{**base, **kw})


def test_setup_option_sets_the_four_options(monkeypatch):
    args = args_of(setup="tensorrt-int8")
    N.apply_setup_option(args, True, root("xavier"))
    assert (args.device, args.dtype, args.mode, args.runtime) == ("cuda", "int8", "eager", "tensorrt")
    args = args_of(setup="cuda-graph")
    N.apply_setup_option(args, False, root("orin"))
    assert (args.device, args.dtype, args.mode, args.runtime) == ("cuda", "fp16", "cudagraph", "torch")


@pytest.mark.parametrize("board, kw, present, message", [
    ("nano", {"setup": "tensorrt-int8"}, True, "not offered on NVIDIA Jetson Nano"),
    ("orin", {"setup": "tensorrt-fp16"}, False, "trtexec not found"),
    ("orin", {"setup": "cuda-graph", "dtype": "int8"}, True, "drop --dtype"),
    ("orin", {"setup": "cuda-fp16", "device": "cpu", "runtime": "onnxruntime"}, True,
     "drop --runtime"),
    ("orin", {"setup": "fast"}, True, "unknown setup 'fast'"),
])
def test_setup_option_refused_in_one_line(board, kw, present, message):
    with pytest.raises(ValueError, match=message) as exc:
        N.apply_setup_option(args_of(**kw), present, root(board))
    assert "\n" not in str(exc.value)


def test_calibrate_setup_not_offered_exits_2(monkeypatch, trtexec):
    code, out, err = cli(["calibrate", "--setup", "tensorrt-int8"], "nano", monkeypatch)
    assert code == 2 and out == "" and "fp16 only" in err
    assert os.environ["LIGHTVIZ_TRTEXEC"] == str(trtexec)
