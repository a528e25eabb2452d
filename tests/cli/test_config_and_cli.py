"""Every door (Python API, CLI) gets the same checks and the same one-line messages."""

import dataclasses
import json
import subprocess
import sys

import pytest

import lightviz
from lightviz.cli import main

BAD = [
    (["profile", "resnet101"], "unknown architecture 'resnet101'"),
    (["profile", "resnet18", "--alpha", "3"], "alpha 3 is out of range: allowed 0.25 to 2"),
    (["profile", "resnet18", "--alpha", "-1"], "alpha -1 is out of range"),
    (["profile", "resnet18", "--alpha", "nan"], "alpha must be a finite number"),
    (["profile", "resnet18", "--alpha", "inf"], "alpha must be a finite number"),
    (["profile", "resnet18", "--alpha", "wide"], "alpha must be a number, got 'wide'"),
    (["profile", "resnet18", "--resolution", "16"], "resolution 16 is out of range: allowed 32 to 512"),
    (["profile", "resnet18", "--resolution", "100000"], "resolution 100000 is out of range"),
    (["profile", "resnet18", "--resolution", "100.5"], "resolution must be a whole number"),
    (["profile", "resnet18", "--rho", "0.01"], "collapse"),
    (["profile", "resnet18", "--rho", "1e308"], "rho 1e+308 is out of range"),
    (["profile", "shufflenet_v1", "--groups", "5"],
     "groups 5 is not allowed for shufflenet_v1: choose one of 1, 2, 3, 4, 8"),
    (["profile", "resnet18", "--groups", "3"], "groups applies only to shufflenet_v1"),
    (["profile", "resnet18", "--classes", "0"], "classes 0 is out of range"),
    (["profile", "resnet18", "--format", "xml"], "invalid choice: 'xml'"),
    (["profile", "resnet18", "--rho", "1", "--resolution", "224"], "not allowed with argument"),
    (["nonsense"], "invalid choice"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) or "empty" for a, _ in BAD])
def test_cli_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("lightviz: error: ")
    assert message in err


def test_bare_command_shows_the_commands_and_examples(capsys):
    """A bare `lightviz` asks what it can do: the help on stdout, exit 0 (issue 23)."""
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    for command in ("list", "profile", "diagram", "dsc", "bench", "app", "examples:"):
        assert command in out


@pytest.mark.parametrize("kwargs,message", [
    (dict(arch="vgg16"), "unknown architecture 'vgg16'"),
    (dict(arch="mobilenet_v2", alpha=0.1), "alpha 0.1 is out of range"),
    (dict(arch="mobilenet_v2", resolution=600), "resolution 600 is out of range"),
    (dict(arch="mobilenet_v2", rho=0.1), "collapse"),
    (dict(arch="shufflenet_v1", groups=6), "groups 6 is not allowed"),
    (dict(arch="mobilenet_v2", alpha=True), "alpha must be a number"),
])
def test_python_api_raises_value_error_with_the_same_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lightviz.profile(**kwargs)


def test_build_checks_too():
    with pytest.raises(ValueError, match="groups 7 is not allowed"):
        lightviz.build("shufflenet_v1", groups=7)


def test_config_is_frozen_hashable_and_resolution_wins_over_rho():
    a = lightviz.make_config("mobilenet_v2", 0.5, rho=0.5)
    b = lightviz.make_config("mobilenet_v2", "0.5", resolution=112)
    assert a == b and hash(a) == hash(b) and a.resolution == 112 and a.rho == 0.5
    assert lightviz.make_config("shufflenet_v1").groups == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.alpha = 1.0


def test_profile_json_has_the_promised_keys(capsys):
    assert main(["profile", "mobilenet_v2", "--alpha", "0.75", "--rho", "0.5", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    p = lightviz.profile("mobilenet_v2", 0.75, 0.5)
    assert (d["arch"], d["alpha"], d["resolution"]) == ("mobilenet_v2", 0.75, 112)
    assert (d["params"], d["macs"], d["flops"]) == (p.params, p.macs, p.flops)
    assert d["rho"] == 0.5 and len(d["layers"]) == len(p.layers)


def test_profile_table_and_csv(capsys):
    assert main(["profile", "shufflenet_v1", "--groups", "8"]) == 0
    out = capsys.readouterr().out
    assert "channel shuffle" in out and "MACs" in out and "params" in out and "M multiply-accumulates" in out
    assert main(["profile", "ghostnet", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("path,stage,block") and len(lines) == len(lightviz.profile("ghostnet").layers) + 1


def test_list_and_the_installed_entry_point():
    r = subprocess.run([sys.executable, "-m", "lightviz.cli", "list"], capture_output=True, text=True)
    assert r.returncode == 0
    for arch in lightviz.ARCHS:
        assert arch in r.stdout
    r = subprocess.run([sys.executable, "-m", "lightviz.cli", "profile", "resnet18", "--alpha", "9"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
