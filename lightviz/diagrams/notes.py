"""What each block does, in a teacher's words, with the numbers of the chosen configuration.

The text is per block type; every number in it comes from the resolved spec (widths, stride,
expansion, groups) or from the profile rows (MACs), never from a table written here.
"""

from __future__ import annotations

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
    kind = type(b).__name__
    macs = _block_macs(prof, block)
    hw = _out_hw(prof, block)
    s = getattr(b, "stride", 1)
    if kind == "BasicBlock":
        short = ("an identity shortcut (stride 1, widths match)" if s == 1 and b.in_ch == b.out_ch
                 else f"a 1x1 projection shortcut with stride {s} (the shape changes: "
                      f"{b.in_ch} -> {b.out_ch} channels)")
        return (f"**ResNet basic block**: two 3x3 convolutions, {b.in_ch} -> {b.out_ch} -> "
                f"{b.out_ch} channels, with {short}; ReLU after the add. The 3x3 convs carry "
                f"almost all of its {fmt_count(macs)} MACs: a 3x3 conv costs 9 x M x N per pixel.")
    if kind == "Bottleneck":
        short = ("identity shortcut" if s == 1 and b.in_ch == b.out_ch
                 else f"1x1 projection shortcut (stride {s})")
        return (f"**ResNet bottleneck**: a 1x1 conv reduces {b.in_ch} -> {b.width} channels, the "
                f"3x3 works on the narrow {b.width} (with the stride: torchvision's v1.5), a 1x1 "
                f"expands to {b.out_ch} = 4 x {b.width}; {short}. Narrowing before the expensive "
                f"3x3 is the first answer to \"make convolutions cheap\". {fmt_count(macs)} MACs.")
    if kind == "DepthwiseSeparable":
        std = 9 * b.in_ch * b.out_ch * hw * hw
        return (f"**Depthwise separable convolution** (MobileNet v1): a 3x3 depthwise conv filters "
                f"each of the {b.in_ch} channels on its own (stride {s}), then a 1x1 pointwise conv "
                f"mixes them into {b.out_ch}. A standard 3x3 conv with the same shapes would cost "
                f"{fmt_count(std)} MACs; this block costs {fmt_count(macs)} "
                f"({macs / std:.3f} = 1/N + 1/9 = 1/{b.out_ch} + 1/9 of it, BN and ReLU6 aside).")
    if kind == "InvertedResidual":
        t = b.expand_ratio
        exp = (f"a 1x1 conv expands {b.in_ch} -> {b.hidden} channels (t = {t:g}) with ReLU6, "
               if t != 1 else f"no expansion (t = 1: the first block), ")
        short = (f"the shortcut adds the input back (stride 1 and {b.in_ch} = {b.out_ch})"
                 if b.use_shortcut else
                 f"no shortcut ({'stride ' + str(s) if s != 1 else 'widths differ: ' + str(b.in_ch) + ' -> ' + str(b.out_ch)})")
        return (f"**Inverted residual with linear bottleneck** (MobileNetV2): {exp}a 3x3 depthwise "
                f"conv (stride {s}) with ReLU6 works on the wide tensor, and a **linear** 1x1 conv "
                f"projects back to {b.out_ch} channels: no activation on the narrow bottleneck, "
                f"where a ReLU would destroy information. {short[0].upper() + short[1:]}. "
                f"{fmt_count(macs)} MACs.")
    if kind == "ShuffleUnit":
        g = b.groups
        first = ("grouped" if b.first_grouped else
                 "**not** grouped (its input has only a few channels, as in the paper)")
        if s == 2:
            tail = (f"At stride 2 the shortcut is a 3x3 average pool, **concatenated** to the main "
                    f"branch, which therefore makes only {b.main_out} = {b.out_ch} - {b.in_ch} channels.")
        else:
            tail = "At stride 1 the input is added back (identity shortcut)."
        return (f"**ShuffleNet unit** (g = {g}): the first 1x1 conv ({b.in_ch} -> {b.bottleneck}) "
                f"is {first}; a **channel shuffle** then interleaves the {g} groups so that the next "
                f"grouped conv sees channels from every group; a 3x3 depthwise conv (stride {s}, no "
                f"ReLU) and a grouped 1x1 conv (g = {g}) follow. Grouping divides the 1x1 convs' "
                f"cost by g. {tail} {fmt_count(macs)} MACs.")
    if kind == "ShuffleV2Unit":
        if s == 1:
            body = (f"a **channel split** keeps {b.in_ch - b.branch_ch} channels as they are and "
                    f"sends {b.branch_ch} through 1x1 -> 3x3 depthwise -> 1x1 (equal widths in "
                    f"and out, no grouped convs: the paper's guidelines for speed, not just MACs)")
        else:
            body = (f"at stride 2 there is no split: both branches read all {b.in_ch} channels "
                    f"(3x3 depthwise + 1x1, and 1x1 + 3x3 depthwise + 1x1), so the width doubles "
                    f"to {b.out_ch}")
        return (f"**ShuffleNet v2 unit**: {body}; the halves are **concatenated** (no add) and a "
                f"**channel shuffle** with 2 groups mixes them for the next unit. "
                f"{fmt_count(macs)} MACs.")
    if kind == "GhostBottleneck":
        from ..spec import GhostModule

        g1 = GhostModule(b.in_ch, b.mid_ch)
        parts = [f"ghost module 1 expands {b.in_ch} -> {b.mid_ch} channels: a primary 1x1 conv "
                 f"makes {g1.primary_ch}, a cheap 3x3 depthwise conv makes {g1.cheap_ch} 'ghosts' "
                 f"from them, and the two are concatenated"]
        if s > 1:
            parts.append(f"a {b.kernel}x{b.kernel} depthwise conv with stride {s} halves the map")
        if b.se_ratio:
            parts.append("a squeeze-excite reweights the channels (global pool, 1x1 reduce, ReLU, "
                         "1x1 expand, hard sigmoid)")
        parts.append(f"ghost module 2 (no ReLU) projects to {b.out_ch}")
        short = ("the input is added back (identity)" if b.identity_shortcut else
                 f"the shortcut is a {b.kernel}x{b.kernel} depthwise (stride {s}) + 1x1 conv, since "
                 f"the shape changes")
        return (f"**Ghost bottleneck** (GhostNet): " + "; ".join(parts) + f"; {short}. Half of each "
                f"ghost module's maps cost a depthwise conv instead of a full one. "
                f"{fmt_count(macs)} MACs.")
    return f"**{kind}**: {fmt_count(macs)} MACs."


def shuffle_note(groups: int) -> str:
    return (f"A grouped convolution with g = {groups} splits its channels into {groups} groups that "
            f"never see each other: stacking two of them would keep the groups apart forever. The "
            f"shuffle reshapes the channels to ({groups}, n), transposes to (n, {groups}) and "
            f"flattens, so each group of the next grouped conv gets channels from every group. It "
            f"costs no MACs and no parameters, only memory traffic.")
