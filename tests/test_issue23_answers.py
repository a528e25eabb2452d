"""Issue 23, items 2, 5 and 6: one published top-1 and one rounding path everywhere, and the
small fixes of the command line (each checked through ``lightviz.cli.main``)."""

from __future__ import annotations

import json
import socket

import pytest
from cli_support import run_cli

from lightviz.accuracy import PUBLISHED, _published_top1s, estimate, published_top1
from lightviz.configure import arch_names, make_config
from lightviz.pareto import candidates, render_table
from lightviz.units import NO_ESTIMATE, fmt_top1, fmt_top1_range

PUBLISHED_KEYS = sorted(_published_top1s(), key=str)


# ----------------------------------------------------------------------------- one top-1

def test_fmt_top1_rounds_once_half_up():
    assert fmt_top1(75.2513204134249) == "75.3"  # GhostNet 1.2x: was 75.2 in `lightviz pareto`
    assert fmt_top1(75.25) == "75.3" and fmt_top1(60.6) == "60.6" and fmt_top1(71.85) == "71.9"
    assert fmt_top1(None) == NO_ESTIMATE == fmt_top1(float("nan")) == "none"
    assert fmt_top1(70.0, " %") == "70.0 %" and fmt_top1_range(74.44, 75.75, "-") == "74.4-75.8"


@pytest.mark.parametrize("key", PUBLISHED_KEYS, ids=str)
def test_every_published_configuration_has_one_top1(key):
    """Explore's estimate, Compare's column and its source are published_top1's."""
    from lightviz.views.accuracy_ui import top1_card
    from lightviz.views.compare import family_table

    arch, groups, alpha, res = key
    pub = published_top1(arch, alpha, res, groups)
    cfg = make_config(arch, alpha, resolution=res, groups=groups)
    e = estimate(cfg)
    assert (e.status, e.value, e.sources) == (PUBLISHED, pub.top1, (pub.source,))
    value, delta, _ = top1_card(cfg)  # Explore's and Design's card
    assert value == fmt_top1(pub.top1, " %") and pub.source in delta
    row = family_table(alpha, res, groups, 1000, False, tuple(arch_names()), arch)
    row = row[row["arch"] == arch].iloc[0]
    assert (row["top1"], row["top1_source"]) == (pub.top1, pub.source)


def test_pareto_grid_and_command_name_the_published_value_and_its_source():
    rows = candidates(True, stride=(1, 1))
    published = [r for r in rows if r["status"] == PUBLISHED]
    assert len(published) >= 50
    for r in published:
        pub = published_top1(r["arch"], r["alpha"], r["resolution"], r["groups"])
        assert pub is not None and r["source"] == pub.source
        assert fmt_top1(r["top1_exact"]) == fmt_top1(pub.top1)
    code, out, err = run_cli(["pareto", "--max-macs", "10G", "--extrapolate", "--format", "json"])
    assert code == 0 and err == ""
    shown = [r for r in json.loads(out)["rows"] if r["status"] == PUBLISHED]
    assert shown
    for r in shown:
        pub = published_top1(r["arch"], r["alpha"], r["resolution"], r["groups"])
        assert (r["top1"], r["source"]) == (round(pub.top1, 2), pub.source)


ALPHAS = (0.3, 0.45, 0.6, 0.8, 0.95, 1.1, 1.2, 1.35)


@pytest.mark.parametrize("arch", ["mobilenet_v1", "mobilenet_v2", "shufflenet_v2", "ghostnet"])
def test_cli_and_app_print_the_same_digits(arch):
    """A grid of estimates: the app's card text against `lightviz pareto`'s table and
    `lightviz profile --summary`."""
    from lightviz.views.accuracy_ui import top1_card

    grid = [r for r in candidates(True, stride=(1, 2)) if r["arch"] == arch
            and round(r["alpha"], 2) in ALPHAS]
    assert grid
    table = render_table(grid, False).splitlines()
    for r, line in zip(grid, table[1:]):
        cfg = make_config(arch, r["alpha"], resolution=r["resolution"], groups=r["groups"])
        value, delta, _ = top1_card(cfg)
        top1, interval = line[49:58].strip(), line[58:72].strip()  # the table's columns
        assert top1 + " %" == value, (line, value)
        if r["top1_high"] > r["top1_low"]:
            assert interval.replace("-", "\u2013") in delta
    r = grid[0]
    code, out, _ = run_cli(["profile", arch, "--alpha", str(r["alpha"]), "--resolution",
                            str(r["resolution"]), "--summary"])
    cfg = make_config(arch, r["alpha"], resolution=r["resolution"])
    assert code == 0 and f"top-1   {top1_card(cfg)[0]} (" in out


def test_no_estimate_is_one_word():
    from lightviz.views.accuracy_ui import top1_card

    custom = make_config("mobilenet_v2", settings={"layers": [[1, 16, 1, 1], [6, 24, 2, 2]]})
    for cfg in (make_config("resnet50", 0.5), custom):
        assert top1_card(cfg)[0] == NO_ESTIMATE
    code, out, _ = run_cli(["profile", "resnet50", "--alpha", "0.5", "--summary"])
    assert code == 0 and f"top-1   {NO_ESTIMATE} (" in out


# ----------------------------------------------------------------------------- profile --summary

def test_profile_summary_in_every_format():
    code, table, _ = run_cli(["profile", "ghostnet", "--alpha", "1.2", "--summary"])
    assert code == 0 and len(table.splitlines()) == 9 and "stem.conv.conv" not in table
    assert table.splitlines()[0].startswith("ghostnet  alpha 1.2")
    assert "top-1   75.3 % (interpolated, 74.4-75.7" in table
    code, out, _ = run_cli(["profile", "ghostnet", "--alpha", "1.2", "--summary", "--format", "json"])
    summary = json.loads(out)
    _, full, _ = run_cli(["profile", "ghostnet", "--alpha", "1.2", "--format", "json"])
    whole = json.loads(full)
    assert "layers" not in summary and summary == {k: v for k, v in whole.items() if k != "layers"}
    code, out, _ = run_cli(["profile", "ghostnet", "--alpha", "1.2", "--summary", "--format", "csv"])
    head, row, *rest = out.splitlines()
    assert code == 0 and not rest and head.startswith("arch,alpha,rho,resolution")
    assert dict(zip(head.split(","), row.split(",")))["top1"] == "75.25"


def test_profile_table_unchanged_by_summary_option():
    code, out, _ = run_cli(["profile", "mobilenet_v2"])
    assert code == 0 and out.splitlines()[0].lstrip().startswith("path")
    assert out.splitlines()[-1].startswith("peak activations")


# ----------------------------------------------------------------------------- small things

@pytest.mark.parametrize("arch, suggestion", [
    ("MobileNet_V2", "did you mean mobilenet_v2? (lightviz list shows all)"),
    ("mobilenet_v3", "did you mean mobilenet_v2 or mobilenet_v1?"),
    ("GHOSTNET", "did you mean ghostnet?"),
])
def test_unknown_architecture_says_what_was_meant(arch, suggestion):
    code, out, err = run_cli(["profile", arch])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err == f"lightviz: error: unknown architecture {arch!r}: {suggestion}\n" \
        or suggestion in err


def test_unknown_architecture_far_from_every_name_lists_them():
    with pytest.raises(ValueError, match="unknown architecture 'vgg16': choose one of resnet18"):
        make_config("vgg16")


def test_app_on_a_busy_port_says_so_and_names_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        code, out, err = run_cli(["app", "--port", str(port)])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"port {port} on 127.0.0.1 is busy" in err and "--port N" in err


def test_app_port_out_of_range():
    code, _, err = run_cli(["app", "--port", "70000"])
    assert code == 2 and "port 70000 is out of range: choose 1 to 65535" in err


def test_dsc_rows_line_up_even_when_a_label_is_long():
    code, out, _ = run_cli(["dsc", "--kernel", "3", "--in", "512", "--out", "512", "--size", "14",
                            "--alpha", "0.5", "--rho", "0.5"])
    assert code == 0
    lines = out.splitlines()
    table = lines[2:lines.index("", 2)]
    assert len(table) == 5 and len({len(line) for line in table}) == 1
    opens = [[i for i, c in enumerate(line) if c == "("] for line in table[1:]]
    assert len({o[-2] for o in opens}) == 1  # the exact MACs line up
    assert len({line.rindex("(") for line in table[1:]}) == 1  # and the exact params


def test_bare_lightviz_prints_help_and_exits_0():
    code, out, err = run_cli([])
    assert code == 0 and err == "" and "usage: lightviz" in out and "examples:" in out
