"""The registry: every built-in Arch declares what the app used to keep in other files, the
checks of Arch and Variant, the lazily computed ARCHS, and the Flow protocol of both runners."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lightviz
from lightviz import charts, configure
from lightviz.diagrams import notes
from lightviz.spec import Flow
from lightviz.state import ARCH_LABELS
from lightviz.zoo import REGISTRY, Arch, Variant

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = ("resnet18", "resnet34", "resnet50", "mobilenet_v1", "mobilenet_v2", "shufflenet_v1",
           "shufflenet_v2", "ghostnet")


def test_builtin_names_labels_and_colours():
    assert REGISTRY.builtin == BUILTIN
    assert tuple(REGISTRY)[:len(BUILTIN)] == BUILTIN
    assert configure.ARCHS == lightviz.ARCHS == tuple(REGISTRY) == configure.arch_names()
    assert [ARCH_LABELS[a] for a in BUILTIN] == [
        "ResNet-18", "ResNet-34", "ResNet-50", "MobileNet v1", "MobileNet v2", "ShuffleNet v1",
        "ShuffleNet v2", "GhostNet"]
    assert dict(charts.ARCH_COLORS) == {  # lightviz.styles' table
        "resnet18": "#2E86C1", "resnet34": "#5C6BD6", "resnet50": "#9B59B6",
        "mobilenet_v1": "#D9700A", "mobilenet_v2": "#E0474C", "shufflenet_v1": "#2E9E4F",
        "shufflenet_v2": "#A0704F", "ghostnet": "#D0459A"}
    assert dict(charts.FAMILY_COLORS) == {
        "ResNet": "#2E86C1", "MobileNet v1": "#D9700A", "MobileNet v2": "#E0474C",
        "ShuffleNet v1": "#2E9E4F", "ShuffleNet v2": "#A0704F", "GhostNet": "#D0459A"}
    assert charts.ARCH_COLORS.get("nonet", "#888888") == "#888888"


def test_variants_are_declared_on_the_arch():
    v = REGISTRY["shufflenet_v1"].variant("groups")
    assert (v.values, v.default) == ((1, 2, 3, 4, 8), 3)
    assert [a for a in BUILTIN if REGISTRY[a].variants] == ["shufflenet_v1"]
    assert REGISTRY["shufflenet_v1"].pick("groups", 8) == 8
    assert REGISTRY["shufflenet_v1"].pick("groups", 5) == 3
    assert REGISTRY["resnet18"].pick("groups", 3) is None
    assert lightviz.make_config("shufflenet_v1").groups == 3
    with pytest.raises(ValueError, match=r"^groups 5 is not allowed for shufflenet_v1: choose one of 1, 2, 3, 4, 8$"):
        lightviz.make_config("shufflenet_v1", groups=5)
    with pytest.raises(ValueError, match=r"^groups applies only to shufflenet_v1, not to ghostnet$"):
        lightviz.make_config("ghostnet", groups=3)


def test_every_block_has_its_familys_note():
    """No block of a built-in network falls back to the generic one-liner."""
    for arch in BUILTIN:
        prof = lightviz.profile(arch, 0.5)
        for block in prof.layers["block"].unique():
            if block in ("stem", "head"):
                continue
            text = notes.describe(prof, block)
            assert not re.match(r"^\*\*\w+\*\*: [\d.]+\w? MACs\.$", text), (arch, block, text)


def test_every_family_has_a_calculator_unit():
    from lightviz.diagrams.calculator import calculator_units

    families = {f for f, _ in calculator_units()}
    assert {REGISTRY[a].family for a in BUILTIN} <= families


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="Bad-Name"), "Arch name 'Bad-Name' is not allowed"),
    (dict(name="x" * 33), "is not allowed"),
    (dict(name="ok", spec="not callable"), "spec must be a function"),
])
def test_arch_checks(kwargs, message):
    base = dict(name="ok", family="F", paper="P", spec=lambda cfg: None)
    with pytest.raises(ValueError, match=re.escape(message)):
        Arch(**{**base, **kwargs})


def test_arch_defaults():
    a = Arch(name="plain", family="Plain Net", paper="P", spec=lambda cfg: None)
    assert a.label == "Plain Net" and re.fullmatch(r"#[0-9A-F]{6}", a.colour)
    assert a.variants == () and a.units == () and a.describe is None
    hash(a)  # frozen and hashable, like the Config


def test_variant_checks():
    with pytest.raises(ValueError, match="variant 'depth' is not a Config option: choose one of groups"):
        Variant("depth", (18, 34), 18)
    with pytest.raises(ValueError, match="default 5 is not one of its values"):
        Variant("groups", (1, 2), 5)
    assert Variant("groups", [1, 2], 2).values == (1, 2)


def test_flow_protocol_is_met_by_both_runners():
    from lightviz.builder import FlowModule
    from lightviz.counting import _Recorder, _Scope

    cfg = lightviz.make_config("shufflenet_v2")
    net = lightviz.resolve(cfg)
    shapes = _Scope(_Recorder(cfg), net, "", None, 0)
    tensors = FlowModule(net.children()[1][1].children()[0][1])
    for runner in (shapes, tensors):
        assert isinstance(runner, Flow)
        for name in ("call", "add", "mul", "cat", "split", "shuffle", "narrow"):
            want = list(inspect.signature(getattr(Flow, name)).parameters)[1:]
            got = list(inspect.signature(getattr(runner, name)).parameters)
            assert got == want, (type(runner).__name__, name, got, want)


def test_no_plugin_scan_for_builtin_names():
    """Looking up a built-in name never reads the installed packages (the CLI's start-up)."""
    code = ("import lightviz\n"
            "lightviz.profile('mobilenet_v2')\n"
            "from lightviz.cli import build_parser; build_parser()\n"
            "print(lightviz.zoo.REGISTRY.loaded)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False"]
