"""Editable tables (issue 12): the settings are exact against torchvision / timm on random
tables, every door checks them with the same one-line message, and the Config stays hashable."""

import json
import random
from pathlib import Path

import pytest

import lightviz
from lightviz.config import Config, thaw
from lightviz.configure import make_config
from lightviz.zoo import REGISTRY
from lightviz.zoo.table import (
    MAX_BLOCKS,
    SettingsError,
    decode_url,
    differences,
    encode_url,
)

CUSTOM = json.loads((Path(__file__).resolve().parents[1] / "golden" / "custom_counts.json").read_text())


def test_golden_file_covers_every_referenced_family_100_times():
    families = {}
    for e in CUSTOM["entries"]:
        families.setdefault(REGISTRY[e["arch"]].family, []).append(e)
    assert {f: len(v) >= 100 for f, v in families.items()} == {
        "ResNet": True, "MobileNet v1": True, "MobileNet v2": True, "ShuffleNet v2": True,
        "GhostNet": True}


@pytest.mark.parametrize("family", ["ResNet", "MobileNet v1", "MobileNet v2", "ShuffleNet v2",
                                    "GhostNet"])
def test_random_tables_equal_torchvision_and_timm_exactly(family):
    """Params and MACs of 100 random tables per family, against the references computed once by
    tests/golden/make_golden.py --custom (torchvision 0.29.1 / timm 1.0.31)."""
    entries = [e for e in CUSTOM["entries"] if REGISTRY[e["arch"]].family == family]
    wrong = []
    for e in entries:
        p = lightviz.profile(e["arch"], e["alpha"], resolution=e["resolution"], groups=e["groups"],
                             settings=e["settings"])
        if (p.params, p.macs) != (e["params"], e["macs"]):
            wrong.append((e["arch"], e["alpha"], e["settings"], (p.params, p.macs)))
    assert not wrong
    assert sum(make_config(e["arch"], settings=e["settings"]).custom for e in entries) >= 95


def _random_table(arch, groups, rng):
    """A random valid table of ``arch`` (the families without a reference builder included)."""
    if arch == "shufflenet_v1":
        step = 4 * groups
        w1 = step * rng.randint(24 // step + 1, 24 // step + 20)
        w2 = w1 + step * rng.randint(1, 20)
        return {"repeats": [rng.randint(1, 5) for _ in range(3)],
                "widths": [w1, w2, w2 + step * rng.randint(1, 20)]}
    if arch == "shufflenet_v2":
        return {"repeats": [rng.randint(1, 4) for _ in range(3)],
                "widths": [rng.randint(1, 40)] + [2 * rng.randint(1, 150) for _ in range(3)]
                + [rng.randint(1, 1500)]}
    if arch.startswith("resnet"):
        return {"layers": [rng.randint(1, 3) for _ in range(4)],
                "widths": [rng.randint(1, 120) for _ in range(4)]}
    raise AssertionError(arch)


@pytest.mark.parametrize("arch,groups,alpha", [
    ("shufflenet_v1", 1, 1.0), ("shufflenet_v1", 3, 0.5), ("shufflenet_v1", 8, 1.0),
    ("shufflenet_v1", 4, 1.5), ("resnet18", None, 1.0), ("resnet50", None, 0.75),
    ("shufflenet_v2", None, 0.75), ("shufflenet_v2", None, 1.7)])
def test_edited_tables_without_a_reference_match_the_built_module(arch, groups, alpha):
    """ShuffleNet v1 (no torchvision/timm builder) and ResNet width edits: the built module
    counted by FlopCounterMode equals the profile."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    rng = random.Random(f"{arch}{groups}{alpha}")
    for _ in range(2):
        settings = _random_table(arch, groups, rng)
        p = lightviz.profile(arch, alpha, resolution=64, groups=groups, settings=settings)
        model = lightviz.build(arch, alpha, groups=groups, settings=settings).eval()
        counter = FlopCounterMode(display=False)
        with counter, torch.inference_mode():
            out = model(torch.randn(1, 3, 64, 64))
        assert counter.get_total_flops() == 2 * p.macs
        assert sum(t.numel() for t in model.parameters()) == p.params
        assert tuple(out.shape) == (1, 1000)


@pytest.mark.parametrize("arch", list(REGISTRY.builtin))
def test_the_papers_table_is_the_canonical_network(arch):
    groups = REGISTRY[arch].pick("groups")
    cfg = make_config(arch, groups=groups)
    table = REGISTRY[arch].table
    default = table.default(cfg)
    assert make_config(arch, groups=groups, settings=default) == cfg  # stored as None
    assert make_config(arch, groups=groups, settings=json.dumps(default)).settings is None
    rows, scalars = table.rows(default)
    back, problems = table.from_rows(rows, scalars)
    assert not problems and make_config(arch, groups=groups, settings=back).settings is None
    assert differences(cfg) == [] and "custom" not in cfg.label


def test_config_is_frozen_hashable_and_round_trips():
    cfg = make_config("mobilenet_v2", settings={"layers": [[1, 16, 1, 1], [6, 24, 2, 2]]})
    assert isinstance(cfg.settings, tuple) and hash(cfg) == hash(Config(**cfg.__dict__))
    assert make_config("mobilenet_v2", settings=cfg.settings) == cfg  # a Config's own tuples
    assert make_config("mobilenet_v2", settings=thaw(cfg.settings)) == cfg
    assert cfg.custom and cfg.label == "mobilenet_v2 custom 1x @ 224"
    assert differences(cfg)[0] == "layers: 7 rows \u2192 2"
    url = encode_url(cfg.settings, cfg)
    assert url.startswith("v1.") and len(url) < 80
    assert make_config("mobilenet_v2", settings=decode_url(url)) == cfg
    # 6.0 and 6 are one table, so one cache entry
    same = make_config("mobilenet_v2", settings={"layers": [[1.0, 16, 1, 1], [6.0, 24, 2, 2]]})
    assert same == cfg and hash(same) == hash(cfg)


def test_keys_left_out_keep_the_papers_values():
    cfg = make_config("resnet18", settings={"layers": [2, 2, 4, 2]})
    assert thaw(cfg.settings) == {"layers": [2, 2, 4, 2], "widths": [64, 128, 256, 512]}
    assert differences(cfg) == ["layers: [2,2,2,2] \u2192 [2,2,4,2]"]
    # resnet18 with resnet34's blocks per stage is resnet34
    assert lightviz.profile("resnet18", settings={"layers": [3, 4, 6, 3]}).macs == \
        lightviz.profile("resnet34").macs


@pytest.mark.parametrize("arch,settings,message", [
    ("mobilenet_v2", {"layers": [[6, 24, 2, 3]]}, "layers row 1 s 3 is not allowed: use 1 or 2"),
    ("mobilenet_v2", {"layers": [[0.5, 24, 2, 1]]}, "layers row 1 t 0.5 is out of range: allowed 1 to 16"),
    ("mobilenet_v2", {"layers": [[1, 0, 1, 1]]}, "layers row 1 c 0 is out of range: allowed 1 to 4096"),
    ("mobilenet_v2", {"layers": [[1, 4097, 1, 1]]}, "layers row 1 c 4097 is out of range"),
    ("mobilenet_v2", {"layers": [[1, 16, 1, 2]] * 5}, "the total stride is 64"),
    ("mobilenet_v2", {"layers": [[1, 16, 33, 1]] * 2}, "66 blocks in all: at most 64"),
    ("mobilenet_v2", {"layers": [[1, 16, 1.5, 1]]}, "layers row 1 n must be a whole number"),
    ("mobilenet_v2", {"layers": [[1, "16", 1, 1]]}, 'layers row 1 c must be a whole number, got "16"'),
    ("mobilenet_v2", {"layers": [[1, 16, 1]]}, "layers row 1 must be a list of 4 values"),
    ("mobilenet_v2", {"layers": []}, "layers has 0 rows: allowed 1 to 64"),
    ("mobilenet_v2", {"rows": []}, "unknown key 'rows' for mobilenet_v2: allowed layers"),
    ("mobilenet_v1", {"stem": True}, "stem must be a whole number, got True"),
    ("ghostnet", {"layers": [[[3, 16, 16, 1.5, 1]]]}, "layers stage 1 row 1 se 1.5 is out of range: allowed 0 to 1"),
    ("ghostnet", {"layers": [[[4, 16, 16, 0, 1]]]}, "k 4 is not allowed"),
    ("shufflenet_v1", {"widths": [240, 480, 961]}, "widths stage4 961 must be a multiple of 4 g = 12"),
    ("shufflenet_v1", {"widths": [240, 240, 960]}, "widths stage3 240 must be wider than stage2 (240)"),
    ("shufflenet_v2", {"widths": [24, 117, 232, 464, 1024]}, "widths stage2 117 must be even"),
    ("resnet50", {"layers": [3, 4, 0, 3]}, "layers stage 3 (conv4_x) 0 is out of range: allowed 1 to 64"),
    ("resnet50", {"widths": [4096] * 4, "layers": [16] * 4}, "at most 500 M allowed"),
])
def test_bad_tables_get_one_line_naming_the_row_and_field(arch, settings, message):
    with pytest.raises(ValueError) as err:
        make_config(arch, settings=settings)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, SettingsError) and err.value.problems


def test_shufflenet_v2_edits_scale_like_the_papers_table():
    """At a listed alpha an edit of the repeats keeps the paper's widths at that alpha."""
    for alpha in (0.5, 1.5, 2.0, 0.75):
        paper = lightviz.resolve(make_config("shufflenet_v2", alpha))
        edited = lightviz.resolve(make_config("shufflenet_v2", alpha,
                                              settings={"repeats": [4, 8, 5]}))
        widths = lambda net: [s.items[0][1].out_ch for _, s in net.stages]  # noqa: E731
        assert widths(paper) == widths(edited)
        head = lambda net: dict(net.items)["head"].items[0][1].out_ch  # noqa: E731
        assert head(paper) == head(edited)


def test_alpha_can_make_a_shufflenet_table_collide():
    settings = {"widths": [64, 128, 192]}  # multiples of 4 g = 32 for g = 8
    make_config("shufflenet_v1", 1.0, groups=8, settings=settings)
    with pytest.raises(ValueError, match=r"at alpha 0.25: 32\) must be wider than stage2 \(32\)"):
        make_config("shufflenet_v1", 0.25, groups=8, settings=settings)


def test_the_largest_allowed_table_is_bounded():
    """64 blocks, 2048 wide, no stride after the stem, at 512 px (the biggest activations a
    table can ask for; 268 M parameters, under the cap): counting stays small, since it runs
    on shapes (its time: benchmarks/largest_table.py); a wider table is refused before
    anything is built."""
    import tracemalloc

    settings = {"layers": [[1, 2048, MAX_BLOCKS, 1]]}
    tracemalloc.start()
    p = lightviz.profile("mobilenet_v2", 1.0, resolution=512, settings=settings)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert p.params < 500_000_000 and len(p.layers) < 64 * 12 + 20
    assert peak < 100 * 2**20
    with pytest.raises(ValueError, match="at most 500 M"):
        make_config("mobilenet_v2", 2.0, settings={"layers": [[16, 4096, MAX_BLOCKS, 1]]})


def test_a_plugin_without_a_table_works_and_refuses_settings():
    """tests/fixtures/tinynet declares no table: it keeps working, and --settings is refused."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "tests" / "fixtures" / "tinynet")])}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "lightviz", *args], capture_output=True,
                              text=True, env=env, cwd=root, timeout=240)

    assert run("profile", "tinynet", "--format", "json").returncode == 0
    r = run("profile", "tinynet", "--settings", "{}")
    assert r.returncode == 2
    assert r.stderr.startswith("lightviz: error: settings apply only to resnet18, resnet34")
    assert r.stderr.strip().endswith("not to tinynet") and r.stderr.count("\n") == 1


@pytest.mark.parametrize("args,message", [
    (["profile", "mobilenet_v2", "--settings", '{"layers": [[6, 24, 2, 3]]}'],
     "settings: layers row 1 s 3 is not allowed: use 1 or 2"),
    (["diagram", "ghostnet", "--settings", "{not json"], "settings are not valid JSON"),
    (["bench", "resnet18", "--settings", "/no/such/file.json"], "settings: cannot read"),
])
def test_cli_bad_table_exit_2_one_line(args, message, capsys):
    from lightviz.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("lightviz: error: ") and message in err and err.count("\n") == 1


def test_cli_profile_says_custom_and_what_differs(tmp_path, capsys):
    from lightviz.cli import main

    f = tmp_path / "t1.json"
    f.write_text('{"layers": [[1,16,1,1],[1,24,2,2],[6,32,3,2],[6,64,4,2],[6,96,3,1],'
                 '[6,160,3,2],[6,320,1,1]]}')
    assert main(["profile", "mobilenet_v2", "--settings", str(f)]) == 0
    out = capsys.readouterr().out
    assert "custom table (not a published network): layers row 2: t 6 \u2192 1" in out
    assert main(["profile", "mobilenet_v2", "--settings", str(f), "--format", "json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["settings"]["layers"][1] == [1, 24, 2, 2] and j["params"] < 3_504_872


def test_url_form_rejects_garbage_in_one_line():
    for raw in ("v2.abc", "abc", "v1.!!!", "v1." + "A" * 20000, "v1.bm90IGpzb24"):
        with pytest.raises(ValueError) as err:
            decode_url(raw)
        assert "\n" not in str(err.value)


def test_a_custom_table_has_no_top1_estimate():
    """Once lightviz.accuracy is there (another branch), a custom table is not a published
    network: its estimate must have status none (add the guard in accuracy.estimate)."""
    accuracy = pytest.importorskip("lightviz.accuracy")
    if Path(accuracy.__file__).parent != Path(lightviz.__file__).parent:
        pytest.skip("lightviz.accuracy is not part of this checkout (found elsewhere on the path)")
    cfg = make_config("mobilenet_v2", settings={"layers": [[1, 16, 1, 1], [6, 24, 2, 2]]})
    assert accuracy.estimate(cfg).status == "none"
    assert accuracy.estimate(make_config("mobilenet_v2")).status != "none"


def test_bench_measures_the_edited_network_and_says_so(capsys):
    """bench builds and times the edited module; its JSON carries the table and the label."""
    from lightviz.cli import main

    settings = {"layers": [[1, 16, 1, 1], [6, 24, 1, 2]]}
    code = main(["bench", "mobilenet_v2", "--resolution", "64", "--threads", "1", "--budget",
                 "0.3", "--settings", json.dumps(settings), "--format", "json"])
    assert code == 0
    j = json.loads(capsys.readouterr().out)
    p = lightviz.profile("mobilenet_v2", resolution=64, settings=settings)
    assert j["settings"] == settings and "custom" in j["label"]
    assert (j["macs"], j["params"]) == (p.macs, p.params)


def test_a_plugin_family_can_declare_a_table(monkeypatch):
    """The public API (lightviz.zoo: Table, Column, Rows; zoo.table.current) is enough for an
    outside family's editable table: make_config checks it, spec reads it, the profile follows."""
    from lightviz.spec import ConvBNAct, Sequence
    from lightviz.zoo import REGISTRY as REG
    from lightviz.zoo import Arch, Column, Network, Rows, Stage, Table, pooled_classifier
    from lightviz.zoo.table import TABLED, cell, current

    def spec(cfg):
        widths = current(cfg)["widths"]
        items, c = [("stem", Sequence((("conv", ConvBNAct(3, 8, 3, 2)),)))], 8
        for i, w in enumerate(widths):
            items.append((f"stage{i + 1}", Stage.of([ConvBNAct(c, w, 3, 2)])))
            c = w
        items.append(("head", Sequence(pooled_classifier(c, cfg.classes))))
        return Network(tuple(items), cfg)

    def check(table, cfg):
        r = Rows()
        for i, w in enumerate(r.numbers(table["widths"], "widths", 2) or ()):
            r.width(w, f"widths stage {i + 1}", "", i, col="widths")
        return r.problems

    table = Table(default=lambda cfg: {"widths": [16, 32]}, check=check,
                  normalize=lambda d: {"widths": [int(w) for w in d["widths"]]},
                  columns=(Column("widths"),),
                  rows=lambda d: ([{"widths": w} for w in d["widths"]], {}),
                  from_rows=lambda rows, sc: ({"widths": [cell(r["widths"]) for r in rows]}, []))
    mini = Arch(name="mininet", family="MiniNet", paper="-", spec=spec, table=table)
    monkeypatch.setattr(REG, "_archs", {**REG, "mininet": mini})
    monkeypatch.setitem(TABLED, "mininet", mini)  # what the registry does when it accepts one
    assert make_config("mininet", settings={"widths": [16, 32]}).settings is None
    p = lightviz.profile("mininet", resolution=64, settings={"widths": [24, 48]})
    assert p.params > lightviz.profile("mininet").params and p.config.custom
    with pytest.raises(ValueError, match="settings: widths stage 2 0 is out of range"):
        make_config("mininet", settings={"widths": [16, 0]})
