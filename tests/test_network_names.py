"""One name per network for the pages and one for the CLI (lightviz.configure.network_label;
issue 14, split out of the former test_polish.py)."""

from __future__ import annotations

import pytest

import lightviz
from lightviz.configure import network_label


def test_one_name_for_the_pages_and_one_for_the_cli():
    cfg = lightviz.make_config("shufflenet_v1", 0.5, groups=3)
    assert network_label(cfg) == network_label(cfg, "page") == "ShuffleNet v1 g=3 \u03b1 0.5 \u00b7 224 px"
    assert cfg.label == network_label(cfg, "cli") == "shufflenet_v1 0.5x g=3 @ 224"
    assert network_label(lightviz.make_config("mobilenet_v2")) == "MobileNet v2 \u03b1 1 \u00b7 224 px"
    with pytest.raises(ValueError, match="style must be 'page' or 'cli'"):
        network_label(cfg, "html")


def test_pictures_use_the_pages_name():
    from lightviz.diagrams import dot

    cfg = lightviz.make_config("mobilenet_v2")
    for text in (dot.block_dot(cfg, dot.default_block(cfg)), dot.overview_dot(cfg)):
        assert "MobileNet v2 \u03b1 1 \u00b7 224 px" in text and "mobilenet_v2 1x @ 224" not in text
