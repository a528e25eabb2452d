"""Diagrams: every block of every architecture (several alpha, every ShuffleNet v1 group) compiles
with Debian's Graphviz ``dot``, and what ``dot`` draws carries the profile's numbers.

The checks read the SVG that ``dot`` lays out (node and edge texts), not the DOT source, and
compare them with the profile rows of the block: every row appears in exactly one node, every
dataflow edge is drawn with the shape its consumer reads, and every node shows its op's kernel,
stride, groups, channels and spatial size.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from functools import cache

import pytest

import lightviz
from lightviz.diagrams import dot as D
from lightviz.diagrams import notes

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot is not installed (apt-get install graphviz)")

ALPHAS = (0.35, 1.0, 1.5)
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def configs(alphas=ALPHAS):
    for arch in lightviz.ARCHS:
        groups = lightviz.zoo.shufflenet_v1.GROUPS if arch == "shufflenet_v1" else (None,)
        for g in groups:
            for a in alphas:
                yield lightviz.make_config(arch, a, groups=g)


def compile_all(texts):
    """Lay out many graphs with one ``dot`` process; fail on any warning; return the SVGs."""
    proc = subprocess.run(["dot", "-Tsvg"], input="".join(texts).encode(), capture_output=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[:2000]
    assert proc.stderr == b"", proc.stderr.decode()[:2000]
    parts = proc.stdout.decode().split("<?xml")[1:]
    assert len(parts) == len(texts)
    return ["<?xml" + p for p in parts]


def parse_svg(svg):
    """``({node name: (texts, tooltip)}, [(tail, head, texts)])`` of a dot SVG."""
    root = ET.fromstring(svg.encode())
    nodes, edges = {}, []
    for g in root.iter(SVG + "g"):
        cls = g.get("class")
        if cls not in ("node", "edge"):
            continue
        title = g.find(SVG + "title").text
        texts = [t.text or "" for t in g.iter(SVG + "text")]
        tips = [a.get(XLINK + "title") for a in g.iter(SVG + "a") if a.get(XLINK + "title")]
        if cls == "node":
            nodes[title] = (texts, tips[0] if tips else "")
        else:
            tail, head = title.split("->")
            edges.append((tail, head, texts))
    return nodes, edges


@cache
def profile(cfg):
    return lightviz.count(cfg)


def block_rows(prof, block):
    layers = prof.layers
    return layers[layers["block"] == block]


# ---------------------------------------------------------------------------------------------
# Block diagrams: compile, and the labels carry the rows
# ---------------------------------------------------------------------------------------------


def check_block(prof, block, svg):
    rows = block_rows(prof, block)
    nodes, edges = parse_svg(svg)
    text_of = {name: "\n".join(t) for name, (t, _) in nodes.items()}
    # every row in exactly one node; folded rows are BN/activations
    covered = []
    head_of = {}
    for name, (_, tip) in nodes.items():
        if name in ("in", "out"):
            continue
        paths = tip.split(" → ")
        idx = int(name[1:])
        assert rows.loc[idx, "path"] == paths[0]
        for p in paths:
            ridx = int(rows.index[rows["path"] == p][0])
            head_of[ridx] = name
            covered.append(p)
        for p in paths[1:]:
            assert rows.loc[rows["path"] == p, "op"].iloc[0] in ("batch_norm", "relu", "relu6", "hardsigmoid")
    assert sorted(covered) == sorted(rows["path"]), f"{block}: rows missing from the picture"

    # every node shows its op's numbers
    for name, text in text_of.items():
        if name in ("in", "out"):
            continue
        r = rows.loc[int(name[1:])]
        last = rows.loc[max(i for i, n in head_of.items() if n == name)]
        assert f"{last['out_h']}x{last['out_w']}" in text or r["op"] == "linear", (block, name, text)
        assert str(last["out_c"]) in text, (block, name, text)
        if r["op"] == "conv2d":
            k, s, g = int(r["kernel"]), int(r["stride"]), int(r["groups"])
            in_c = int(r["in_shape"].split("x")[0])
            assert f"{k}x{k}" in text and f"stride {s}" in text and f"groups {g}" in text, text
            assert f"{in_c}→{last['out_c']} ch" in text, text
            kind = r["kind"] if r["kind"] != "squeeze-excite" else ""
            assert kind.replace("standard ", "") in text, (kind, text)
            if int(r["macs"]):
                assert D.fmt_count(int(r["macs"])) in text

    # every dataflow edge, labelled with the shape the consumer reads
    want = []
    for name in text_of:
        if name in ("in", "out"):
            continue
        r = rows.loc[int(name[1:])]
        shapes = r["in_shape"].split(" + ")
        for pos, src in enumerate(r["inputs"]):
            tail = head_of.get(src, "in")
            want.append((tail, name, shapes[pos]))
    want.append((head_of[int(rows.index[-1])], "out", rows.iloc[-1]["out_shape"]))
    got = [(t, h, texts[-1]) for t, h, texts in edges]
    assert sorted(got) == sorted(want), block
    # block input and output are nodes with their shapes
    first = rows.iloc[0]
    ext = [s for s, src in zip(first["in_shape"].split(" + "), first["inputs"]) if src not in rows.index]
    assert ext and ext[0] in text_of["in"]
    assert rows.iloc[-1]["out_shape"] in text_of["out"]
    # the title carries the block's totals
    title = "\n".join(t.text or "" for t in ET.fromstring(svg.encode()).iter(SVG + "text"))
    assert D.fmt_count(int(rows["macs"].sum())) + " MACs" in title


@needs_dot
@pytest.mark.parametrize("arch", lightviz.ARCHS)
def test_every_block_compiles_and_matches_rows(arch):
    cases = []
    for cfg in configs():
        if cfg.arch != arch:
            continue
        prof = profile(cfg)
        for block in D.block_names(prof):
            cases.append((prof, block, D.block_dot(prof, block)))
    svgs = compile_all([c[2] for c in cases])
    for (prof, block, _), svg in zip(cases, svgs):
        check_block(prof, block, svg)
    assert len(cases) >= 3 * 10


@needs_dot
@pytest.mark.parametrize("arch", lightviz.ARCHS)
def test_one_node_per_op_and_params_coloring(arch):
    texts, expected = [], []
    for cfg in configs(alphas=(0.5,)):
        if cfg.arch != arch:
            continue
        prof = profile(cfg)
        for block in D.block_names(prof):
            texts.append(D.block_dot(prof, block, ops=True, weight="params", background="white"))
            expected.append({f"n{i}" for i in block_rows(prof, block).index} | {"in", "out"})
    for svg, want in zip(compile_all(texts), expected):
        nodes, _ = parse_svg(svg)
        assert set(nodes) == want


@needs_dot
def test_ghost_module_and_other_parts():
    cfg = lightviz.make_config("ghostnet", 1.0)
    prof = profile(cfg)
    assert D.block_parts(prof, "stage3.0") == ["ghost1", "se", "ghost2", "shortcut"]
    assert D.block_parts(prof, "stage2.1") == ["ghost1", "ghost2"]  # identity shortcut, no SE
    texts, cases = [], []
    for cfg in configs(alphas=(0.5, 1.3)):
        prof = profile(cfg)
        for block in D.block_names(prof):
            for part in D.block_parts(prof, block):
                texts.append(D.block_dot(prof, block, part))
                cases.append((prof, block, part))
    assert any(p == "ghost1" for _, _, p in cases) and any(p == "branch1" for _, _, p in cases)
    for (prof, block, part), svg in zip(cases, compile_all(texts)):
        nodes, _ = parse_svg(svg)
        rows = block_rows(prof, block)
        rows = rows[rows["op_name"].str.startswith(part + ".")]
        drawn = {int(n[1:]) for n in nodes if n not in ("in", "out")}
        assert drawn <= set(rows.index) and min(rows.index) in drawn
    # the ghost module picture: primary conv, cheap depthwise op, concat, with the live widths
    prof = profile(lightviz.make_config("ghostnet", 1.0))
    text = D.block_dot(prof, "stage3.0", "ghost1")
    assert "GhostModule" in text and "24→36 ch" in text and "36→36 ch" in text and "36+36→72 ch" in text


def test_block_names_choices_and_errors():
    prof = profile(lightviz.make_config("mobilenet_v2"))
    assert D.block_choices(prof) == ("stem, stage1.0, stage2.0-1, stage3.0-2, stage4.0-3, "
                                     "stage5.0-2, stage6.0-2, stage7.0, head")
    assert D.parse_block(prof, "stage2.1") == ("stage2.1", None)
    assert D.parse_block(prof, "2.1") == ("stage2.1", None)
    with pytest.raises(ValueError, match=r"unknown block 'stage9\.0'.*stage2\.0-1"):
        D.parse_block(prof, "stage9.0")
    gprof = profile(lightviz.make_config("ghostnet"))
    assert D.parse_block(gprof, "stage3.0.ghost1") == ("stage3.0", "ghost1")
    with pytest.raises(ValueError, match="choose one of ghost1, se, ghost2, shortcut"):
        D.parse_block(gprof, "stage3.0.nope")
    with pytest.raises(ValueError, match="weight"):
        D.block_dot(prof, "stage2.1", weight="flops")


# ---------------------------------------------------------------------------------------------
# What each block type must show
# ---------------------------------------------------------------------------------------------


def titles(prof, block, **kw):
    return D.block_dot(prof, block, **kw)


def test_inverted_residual_shortcut_only_when_stride_1_and_widths_match():
    prof = profile(lightviz.make_config("mobilenet_v2", 1.0))
    spec = lightviz.resolve(prof.config)
    for stage, st_ in spec.stages:
        for idx, b in st_.items:
            text = D.block_dot(prof, f"{stage}.{idx}")
            assert ("identity" in text) == (b.stride == 1 and b.in_ch == b.out_ch)
            assert "linear" in text  # the projection has no activation
            if b.expand_ratio != 1:
                assert f"{b.in_ch}→{b.hidden} ch" in text and "ReLU6" in text
    text = D.block_dot(prof, "stage2.1")
    assert "1x1 pointwise conv + BN + ReLU6" in text and "3x3 depthwise conv + BN + ReLU6" in text
    assert "1x1 pointwise conv + BN, linear" in text


def test_shufflenet_v1_units():
    for g in lightviz.zoo.shufflenet_v1.GROUPS:
        prof = profile(lightviz.make_config("shufflenet_v1", 1.0, groups=g))
        s2 = D.block_dot(prof, "stage3.0")  # stride 2: avg-pooled shortcut, concat
        assert "3x3 avg pool" in s2 and "concat + ReLU" in s2
        s1 = D.block_dot(prof, "stage3.1")
        assert "add + ReLU" in s1 and "identity" in s1
        if g > 1:
            assert "channel shuffle" in s1 and f"groups {g}" in s1 and "1x1 grouped conv" in s1
        else:
            assert "channel shuffle" not in s1
    first = D.block_dot(profile(lightviz.make_config("shufflenet_v1", groups=3)), "stage2.0")
    assert "1x1 pointwise conv" in first  # stage 2's first 1x1 is not grouped


def test_shufflenet_v2_units():
    prof = profile(lightviz.make_config("shufflenet_v2", 1.0))
    s1 = D.block_dot(prof, "stage2.1")
    assert "channel split" in s1 and "116→58 | 58 ch" in s1 and "58+58→116 ch" in s1
    assert "channel shuffle" in s1 and "groups 2" in s1 and "identity" in s1
    s2 = D.block_dot(prof, "stage2.0")
    assert "cluster_branch1" in s2 and "cluster_branch2" in s2 and "channel split" not in s2


def test_ghost_bottleneck_and_resnet_blocks():
    prof = profile(lightviz.make_config("ghostnet", 1.0))
    t = D.block_dot(prof, "stage3.0")
    assert "5x5 depthwise conv + BN, linear" in t and "stride 2" in t
    assert "SqueezeExcite" in t and "hard sigmoid" in t and "cluster_shortcut" in t
    t = D.block_dot(prof, "stage2.1")
    assert "identity" in t and "SqueezeExcite" not in t
    r18 = profile(lightviz.make_config("resnet18"))
    t = D.block_dot(r18, "conv3_x.0")
    assert "downsample" in t and "add + ReLU" in t and t.count("3x3 conv") == 2
    assert "identity" in D.block_dot(r18, "conv3_x.1")
    r50 = profile(lightviz.make_config("resnet50"))
    t = D.block_dot(r50, "conv3_x.0")
    assert "256→128 ch" in t and "128→512 ch" in t and "stride 2" in t


def test_mobilenet_v1_block():
    prof = profile(lightviz.make_config("mobilenet_v1", 0.75))
    t = D.block_dot(prof, "stage4.1")
    assert "3x3 depthwise conv + BN + ReLU6" in t and "1x1 pointwise conv + BN + ReLU6" in t
    assert "groups 384" in t and "384→384 ch · 14x14" in t


def test_node_color_follows_share():
    prof = profile(lightviz.make_config("mobilenet_v2"))
    text = D.block_dot(prof, "stage2.1")
    fills = dict(re.findall(r'\n  (n\d+) \[label=.*?fillcolor="(#[0-9a-f]{6})"', text))
    rows = block_rows(prof, "stage2.1")
    heads = {int(n[1:]): f for n, f in fills.items()}
    biggest = max(heads, key=lambda i: rows.loc[i, "macs"])
    assert heads[biggest] == D.RAMP[-1]
    dw = rows.index[rows["kind"] == "depthwise conv"][0]
    assert heads[dw] != D.RAMP[-1]


def test_describe_every_block():
    for cfg in configs(alphas=(1.0,)):
        prof = profile(cfg)
        for block in D.block_names(prof):
            text = notes.describe(prof, block)
            assert "MACs" in text
    prof = profile(lightviz.make_config("mobilenet_v2"))
    assert "t = 6" in notes.describe(prof, "stage2.1") and "24 -> 144" in notes.describe(prof, "stage2.1")
    assert "No shortcut (stride 2)" in notes.describe(prof, "stage2.0")
    assert "1/N + 1/9" in notes.describe(profile(lightviz.make_config("mobilenet_v1")), "stage2.0")


# ---------------------------------------------------------------------------------------------
# Overview
# ---------------------------------------------------------------------------------------------


@needs_dot
def test_overview_folds_repeats_and_stays_small():
    cases, texts = [], []
    for cfg in configs():
        prof = profile(cfg)
        cases.append(prof)
        texts.append(D.overview_dot(prof))
    for prof, svg in zip(cases, compile_all(texts)):
        nodes, edges = parse_svg(svg)
        blocks = D.block_names(prof)
        drawn = []
        summary_nodes = sorted((n for n in nodes if re.fullmatch(r"b\d+", n)), key=lambda n: int(n[1:]))
        assert len(summary_nodes) <= 26, (prof.config.label, len(summary_nodes))
        for n in summary_nodes:
            members = nodes[n][1].split(", ")
            drawn += members
            text = "\n".join(nodes[n][0])
            macs = {int(block_rows(prof, b)["macs"].sum()) for b in members}
            assert len(macs) == 1  # only equal blocks fold
            if len(members) > 1:
                assert f"× {len(members)}" in text
            first = block_rows(prof, members[0])
            assert first.iloc[-1]["out_shape"] in text
        assert drawn == blocks
        # chain of edges with the shapes between blocks
        labels = {(t, h): texts[-1] for t, h, texts in edges}
        for a, b in zip(summary_nodes, summary_nodes[1:]):
            last_block = nodes[a][1].split(", ")[-1]
            assert labels[(a, b)] == block_rows(prof, last_block).iloc[-1]["out_shape"]
    r50 = D.overview_dot(profile(lightviz.make_config("resnet50")))
    assert "conv2_x.1-2 · Bottleneck × 2" in r50 and "conv4_x.1-5 · Bottleneck × 5" in r50
    assert "cluster_conv4_x" in r50


# ---------------------------------------------------------------------------------------------
# Channel shuffle
# ---------------------------------------------------------------------------------------------


def test_shuffle_permutation_is_channel_shuffle():
    torch = pytest.importorskip("torch")
    for g in (1, 2, 3, 4, 8):
        for n in (1, 2, 3, 5):
            x = torch.arange(g * n)
            ref = x.view(g, n).t().reshape(-1).tolist()  # ShuffleNet: reshape, transpose, flatten
            assert D.shuffle_permutation(g, n) == ref
            # torch's own op agrees where present
            if hasattr(torch.nn, "ChannelShuffle"):
                y = torch.nn.ChannelShuffle(g)(x.view(1, g * n, 1, 1).float()).view(-1).long().tolist()
                assert y == ref


@needs_dot
def test_shuffle_pictures_compile():
    texts = [D.shuffle_dot(g, g * 40) for g in (1, 2, 3, 4, 8)]
    texts.append(D.shuffle_dot(3, None, 5, background="white"))
    svgs = compile_all(texts)
    nodes, edges = parse_svg(svgs[2])  # g = 3, 3 per group
    assert set(nodes) == {"before", "after"} and len(edges) == 9
    assert "240 channels = 3 groups × 80" in D.shuffle_dot(3, 240)
    # the arrows follow the permutation: before:a{c} -> after:b{pos}
    text = D.shuffle_dot(3, None, 3)
    pairs = re.findall(r"before:a(\d+):s -> after:b(\d+):n", text)
    assert [int(c) for c, _ in sorted(pairs, key=lambda p: int(p[1]))] == D.shuffle_permutation(3, 3)
    with pytest.raises(ValueError):
        D.shuffle_dot(3, 100)
    with pytest.raises(ValueError):
        D.shuffle_dot(8, None, 9)


# ---------------------------------------------------------------------------------------------
# Readable on light and dark pages
# ---------------------------------------------------------------------------------------------


def _lum(h):
    c = [int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def contrast(a, b):
    hi, lo = sorted((_lum(a), _lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_colors_read_on_light_and_dark_pages():
    fills = [D.ramp(t / 10) for t in range(11)] + [D.IO_FILL, D.MOVE_FILL, D.SHUFFLE_FILL, D.PILL,
                                                  D.CLUSTER_FILL, *D.GROUP_COLORS]
    for f in fills:
        assert contrast(f, D.TEXT) >= 4.5, f  # WCAG AA for text on every fill
    for page in ("#ffffff", "#0e1117"):  # Streamlit's light and dark backgrounds
        assert contrast(D.INK, page) >= 3.0, page  # WCAG non-text contrast for lines
        for ink in D.GROUP_INK:
            assert contrast(ink, page) >= 3.0, (ink, page)
    # text is only ever drawn on a fill: every font colour in a diagram is the dark TEXT
    text = D.block_dot(profile(lightviz.make_config("ghostnet")), "stage3.0")
    assert set(re.findall(r'fontcolor="(#[0-9a-f]{6})"', text)) == {D.TEXT}
    assert 'bgcolor="transparent"' in text
    assert 'bgcolor="white"' in D.overview_dot(profile(lightviz.make_config("resnet18")), background="white")


@needs_dot
def test_to_svg_and_missing_dot(monkeypatch):
    svg = D.to_svg(D.shuffle_dot(2, 4))
    assert "<svg" in svg
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert not D.dot_available()
    with pytest.raises(D.GraphvizMissing, match="apt-get install graphviz"):
        D.to_svg("digraph { a }")


# ---------------------------------------------------------------------------------------------
# The page, in-process (AppTest): every architecture, every tab, the stem and the head
# ---------------------------------------------------------------------------------------------

PAGE = """
import streamlit as st
import lightviz
from lightviz.views import diagrams
q = st.query_params
diagrams.render(lightviz.make_config(q.get("arch", "mobilenet_v2"), float(q.get("alpha", 1.0)),
                                     groups=q.get("groups")))
"""


@pytest.mark.parametrize("arch", lightviz.ARCHS)
def test_view_renders(arch):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(PAGE, default_timeout=60)
    at.query_params["arch"] = arch
    at.query_params["alpha"] = "0.5"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    charts = at.get("graphviz_chart")
    assert len(charts) == 3  # block, overview, shuffle
    prof = profile(lightviz.make_config(arch, 0.5))
    block = D.default_block(prof)  # the page opens on the family's unit, shortcut and all
    assert at.query_params["block"] in (block, [block])
    rows = block_rows(prof, block)
    assert at.metric[0].value == D.fmt_count(int(rows["macs"].sum()))
    for s in ("stem", "head"):
        at.selectbox(key=f"diagram_stage:{arch}:{prof.config.groups}").set_value(s).run()
        assert not at.exception and not at.error
        assert f'digraph "{s}"' in at.get("graphviz_chart")[0].proto.spec
    assert len(at.latex) >= 5 and any("1/N" in m.value or "N}" in m.value for m in at.latex)


@pytest.mark.parametrize("arch,block", [
    ("resnet18", "conv2_x.0"), ("mobilenet_v2", "stage2.1"), ("shufflenet_v1", "stage2.1"),
    ("ghostnet", "stage1.0"), ("shufflenet_v2", "stage2.1"), ("mobilenet_v1", "stage2.1")])
def test_default_block_is_the_families_unit_whole(arch, block):
    """The first block at stride 1 with its residual add (ShuffleNet v1's grouped unit, not the
    paper's ungrouped stage2.0); without an add, the first stride-1 repeat."""
    prof = profile(lightviz.make_config(arch, groups=3 if arch == "shufflenet_v1" else None))
    assert D.default_block(prof) == block
    rows = [r for r in prof.rows if r.block == block]
    assert all((r.stride or 1) == 1 for r in rows)
    assert any(r.op == "add" for r in rows) == (arch not in ("shufflenet_v2", "mobilenet_v1"))
    if arch == "shufflenet_v1":
        assert rows[0].op == "conv2d" and rows[0].groups == 3


def test_view_follows_the_block_in_the_url():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(PAGE, default_timeout=60)
    at.query_params["arch"] = "ghostnet"
    at.query_params["block"] = "stage4.3"
    at.run()
    assert 'digraph "stage4.3"' in at.get("graphviz_chart")[0].proto.spec
    part = at.selectbox(key="diagram_part:ghostnet:None:stage4.3")
    part.set_value("ghost2").run()
    assert 'digraph "stage4.3.ghost2"' in at.get("graphviz_chart")[0].proto.spec
    at.toggle(key="diagram_ops").set_value(True).run()
    assert "batch norm" in at.get("graphviz_chart")[0].proto.spec
    at.toggle(key="diagram_wide").set_value(True).run()
    assert not at.exception and len(at.get("graphviz_chart")) == 3
