"""What each block does, in a teacher's words, with the numbers of the chosen configuration.

The stem and the head are described here; a block by its family's ``describe`` (declared on
its :class:`~lightviz.zoo.Arch`, beside the block), with a generic line where it has none. Every
number in the text comes from the resolved spec (widths, stride, expansion, groups) or from the
profile rows (MACs), never from a table written here.
"""

from __future__ import annotations

from ..zoo import REGISTRY, BlockFacts
from .dot import as_profile, fmt_count, spec_of


def _block_macs(prof, block: str) -> int:
    layers = prof.layers
    return int(layers.loc[layers["block"] == block, "macs"].sum())


def _out_hw(prof, block: str) -> int:
    layers = prof.layers
    return int(layers.loc[layers["block"] == block, "out_h"].iloc[-1])


def describe(source, block: str) -> str:
    """Markdown: what ``block`` of the configuration does and why, with its live numbers."""
    prof = as_profile(source)
    cfg = prof.config
    if block in ("stem", "head"):
        macs = _block_macs(prof, block)
        what = ("The stem turns the image into the first feature maps and brings the resolution "
                "down early, where maps are largest." if block == "stem" else
                "The head pools the last feature maps to one vector and classifies it "
                f"into {cfg.classes} classes.")
        return f"{what} Here: {fmt_count(macs)} MACs."
    b = spec_of(cfg, block)
    macs = _block_macs(prof, block)
    arch = REGISTRY[cfg.arch]
    text = None
    if arch.describe is not None:
        text = arch.describe(b, BlockFacts(macs, _out_hw(prof, block), cfg, fmt_count))
    return text or f"**{type(b).__name__}**: {fmt_count(macs)} MACs."


def shuffle_note(groups: int) -> str:
    return (f"A grouped convolution with g = {groups} splits its channels into {groups} groups that "
            f"never see each other: stacking two of them would keep the groups apart forever. The "
            f"shuffle reshapes the channels to ({groups}, n), transposes to (n, {groups}) and "
            f"flattens, so each group of the next grouped conv gets channels from every group. It "
            f"costs no MACs and no parameters, only memory traffic.")
