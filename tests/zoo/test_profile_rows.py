"""The profile's rows: one per op, in order, with its place, kind and shapes; nothing silently zero."""

import pytest

import lightviz
from lightviz.counting import COLUMNS

EVERY_CONFIG = [(a, {}) for a in lightviz.ARCHS if a != "shufflenet_v1"] + [
    ("shufflenet_v1", {"groups": g}) for g in (1, 2, 3, 4, 8)
]


@pytest.mark.parametrize("arch,opts", EVERY_CONFIG)
def test_rows_are_complete_and_consistent(arch, opts):
    p = lightviz.profile(arch, 0.75, rho=0.8, **opts)
    df = p.layers
    assert list(df.columns) == list(COLUMNS)
    assert df.params.sum() == p.params and df.macs.sum() == p.macs
    assert set(df.kind) <= set(lightviz.KINDS)
    assert df.stage.iloc[0] == "stem" and df.stage.iloc[-1] == "head"
    assert df.path.is_unique
    # Every op that moves data has its row: adds, concats, shuffles are not silently dropped.
    assert (df.out_bytes > 0).all()
    convs = df[df.op == "conv2d"]
    assert (convs.macs > 0).all() and (convs.params > 0).all()
    assert df.iloc[-1].out_shape == "1000x1x1"
    # The dataflow edges point backwards only.
    for i, inputs in enumerate(df.inputs):
        assert inputs and all(-1 <= j < i for j in inputs)


def test_kinds_name_what_the_papers_talk_about():
    kinds = lambda arch, **o: set(lightviz.profile(arch, **o).layers.kind)  # noqa: E731
    assert {"depthwise conv", "pointwise conv", "residual add"} <= kinds("mobilenet_v2")
    assert {"grouped conv", "channel shuffle", "concat", "pooling"} <= kinds("shufflenet_v1")
    assert {"channel split", "channel shuffle", "concat"} <= kinds("shufflenet_v2")
    # widths are multiples of 4: no slice needed
    assert {"squeeze-excite", "concat", "depthwise conv"} <= kinds("ghostnet")
    assert "grouped conv" not in kinds("shufflenet_v1", groups=1)


def test_mobilenet_v2_block_structure():
    df = lightviz.profile("mobilenet_v2").layers
    first = df[df.block == "stage1.0"]
    assert list(first.op_name[first.op == "conv2d"]) == ["conv_dw.conv", "conv_pwl.conv"]
    block = df[df.block == "stage3.1"]  # t=6, 32 -> 32, stride 1: expansion and shortcut
    assert list(block.op_name) == [
        "conv_pw.conv", "conv_pw.bn", "conv_pw.act", "conv_dw.conv", "conv_dw.bn", "conv_dw.act",
        "conv_pwl.conv", "conv_pwl.bn", "add",
    ]
    assert block.iloc[0].out_shape == "192x28x28"
    assert set(block.block_type) == {"InvertedResidual"}


def test_ghost_module_and_shufflenet_v1_stride_2_unit():
    df = lightviz.profile("ghostnet").layers
    g1 = df[df.path.str.startswith("stage2.0.ghost1.")]
    assert list(g1.op_name) == [
        "ghost1.primary_conv.conv", "ghost1.primary_conv.bn", "ghost1.primary_conv.act",
        "ghost1.cheap_operation.conv", "ghost1.cheap_operation.bn", "ghost1.cheap_operation.act",
        "ghost1.concat",
    ]
    df = lightviz.profile("shufflenet_v1", groups=3).layers
    unit = df[df.block == "stage3.0"]
    cat = unit[unit.op == "cat"].iloc[0]
    assert cat.in_shape == "240x14x14 + 240x14x14" and cat.out_shape == "480x14x14"
    gconv2 = unit[unit.op_name == "gconv2.conv"].iloc[0]
    assert gconv2.out_c == 480 - 240 and gconv2.groups == 3 and gconv2.kind == "grouped conv"


def test_peak_activation_memory_is_plausible():
    p = lightviz.profile("mobilenet_v2")
    biggest = p.layers.out_bytes.max()
    assert biggest <= p.peak_activation_bytes <= 4 * biggest
    assert lightviz.profile("mobilenet_v2", rho=2).peak_activation_bytes > 3.5 * p.peak_activation_bytes


def test_json_export_is_valid_and_complete():
    import json

    d = json.loads(lightviz.profile("shufflenet_v1", groups=8).to_json())
    for key in ("arch", "alpha", "rho", "resolution", "params", "macs", "flops", "layers", "conventions"):
        assert key in d
    assert d["groups"] == 8 and len(d["layers"]) > 100
    row = d["layers"][0]
    assert set(row) == set(COLUMNS)
    flatten = next(r for r in d["layers"] if r["op"] == "flatten")
    assert flatten["kernel"] is None


def test_rows_are_typed_and_the_table_is_built_from_them():
    from lightviz.counting import Row

    p = lightviz.profile("shufflenet_v2")
    assert all(isinstance(r, Row) for r in p.rows) and [r.index for r in p.rows] == list(range(len(p.rows)))
    with pytest.raises(AttributeError):
        p.rows[0].macs = 0  # frozen
    df = p.layers
    for name in ("path", "block", "op_name", "kind", "op", "in_shape", "out_shape", "params", "macs",
                 "out_bytes"):
        assert list(df[name]) == [getattr(r, name) for r in p.rows], name
    assert list(df["inputs"]) == [list(r.inputs) for r in p.rows]
    concat = next(r for r in p.rows if r.op == "cat")
    assert concat.in_shape == " + ".join(f"{c}x{h}x{w}" for c, h, w in concat.in_shapes)


def test_the_diagrams_read_the_rows_not_the_data_frame(monkeypatch):
    from cli_support import run_cli

    from lightviz.counting import Profile
    from lightviz.diagrams import dot

    def no_frame(self):
        raise AssertionError("the diagrams went through Profile.layers")

    cfg = lightviz.make_config("shufflenet_v2", 0.5)
    monkeypatch.setattr(Profile, "layers", property(no_frame))
    prof = lightviz.counting.count(cfg)
    for block in dot.block_names(prof):
        dot.block_dot(prof, block)
        dot.block_dot(prof, block, ops=True, weight="params")
        for part in dot.block_parts(prof, block):
            dot.block_dot(prof, block, part)
    assert dot.parse_block(prof, "stage2.0.branch1") == ("stage2.0", "branch1")
    assert dot.overview_dot(prof).startswith('digraph "shufflenet_v2"')
    code, out, err = run_cli(["diagram", "shufflenet_v2", "--alpha", "0.5", "--shuffle", "--format", "dot"])
    assert code == 0 and "channel shuffle, g = 2" in out, err
