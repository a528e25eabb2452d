"""The channel-shuffle picture: how ``g`` groups of channels interleave (ShuffleNet v1, Sec. 3.1:
reshape to (g, n), transpose, flatten), drawn as an exact miniature."""

from __future__ import annotations

from .palette import CLUSTER_FILL, GROUP_COLORS, GROUP_INK, INK, TEXT, esc, header, pill


def shuffle_permutation(groups: int, per_group: int) -> list[int]:
    """Output position j holds input channel ``perm[j]``: reshape (g, n), transpose, flatten."""
    return [(j % groups) * per_group + j // groups for j in range(groups * per_group)]


def _row(port: str, order: list[int], groups: int, n: int, caption: str, caption_on_top: bool) -> str:
    """One row of channel boxes (an HTML table with a port per channel), framed by group."""
    cells = []
    for g in range(groups):
        boxes = "".join(
            f'<td port="{port}{pos}" bgcolor="{GROUP_COLORS[(order[pos] // n) % len(GROUP_COLORS)]}" '
            f'width="30" height="24" fixedsize="true"><font point-size="10" color="{TEXT}">'
            f"{order[pos]}</font></td>"
            for pos in range(g * n, (g + 1) * n))
        # a short caption with room around it: the browser's font is wider than Graphviz's
        # estimate, and a caption as wide as its frame spilled out of it
        cap = (f'<tr><td colspan="{n}" border="0" cellpadding="3"><font point-size="10" '
               f'color="{TEXT}">{esc(caption.format(g + 1))}</font></td></tr>')
        inner = (f'<table border="1" cellborder="1" cellspacing="2" cellpadding="0" '
                 f'bgcolor="{CLUSTER_FILL}" color="{INK}" style="rounded">'
                 + (cap if caption_on_top else "") + f"<tr>{boxes}</tr>"
                 + ("" if caption_on_top else cap) + "</table>")
        cells.append(f"<td>{inner}</td>")
    return f'<<table border="0" cellborder="0" cellspacing="6">{"<tr>" + "".join(cells) + "</tr>"}</table>>'


def _check(groups: int, channels: int | None, per_group: int | None) -> int:
    """ValueError unless the picture can be drawn; the channels drawn per group otherwise."""
    if not 1 <= groups <= 16:
        raise ValueError(f"groups must be 1 to 16 for the picture, got {groups}")
    if channels is not None and (channels < 1 or channels % groups):
        raise ValueError(f"{channels} channels do not split into {groups} equal groups")
    n = int(per_group) if per_group else max(2, groups)
    if n < 1 or groups * n > 64:
        raise ValueError(f"too many boxes to draw: {groups} groups x {n} channels (at most 64)")
    return n


def shuffle_dot(groups: int, channels: int | None = None, per_group: int | None = None, *,
                background: str | None = None, where: str = "", title: bool = True) -> str:
    """How ``groups`` groups of channels interleave in a channel shuffle (reshape to (g, n),
    transpose, flatten): the input channels coloured by group, the output order, and the groups
    of the next grouped conv, each of which now gets channels from every group.

    The picture is an exact miniature with ``per_group`` channels per group (default g, so each
    next group gets one channel of each group; at most 64 boxes a row); ``channels``, when given,
    is the real layer's width, named in the title. Each row is one node (an HTML table with a
    port per channel), so the order of the boxes is fixed whatever the layout engine does."""
    groups = int(groups)
    channels = None if channels is None else int(channels)
    n = _check(groups, channels, per_group)
    perm = shuffle_permutation(groups, n)
    out = header(f"shuffle_g{groups}", background)
    out[1] = out[1].replace("nodesep=0.3, ranksep=0.32", "nodesep=0.2, ranksep=1.2")
    if title:
        real = ""
        if channels is not None:
            real = f"this layer: {channels} channels = {groups} groups × {channels // groups}; "
        lines = [(f"channel shuffle, g = {groups}" + (f" · {where}" if where else ""), 13, True),
                 (f"{real}drawn: {groups} groups × {n} channels, the same rule", 11, False),
                 ("top: the groups out of the last grouped conv; bottom: the groups into the next",
                  10, False),
                 ("reshape to (g, n) → transpose to (n, g) → flatten:", 10, False),
                 ("each group of the next grouped conv gets channels from every group", 10, False)]
        out.append(f"  label={pill(lines)};")
    before = _row("a", list(range(groups * n)), groups, n, "out, group {}", True)
    after = _row("b", perm, groups, n, "in, group {}", False)
    out.append(f'  before [shape=none, margin=0, style="", label={before}];')
    out.append(f'  after [shape=none, margin=0, style="", label={after}];')
    out.append("  edge [arrowsize=0.5, penwidth=1.2];")
    for pos, c in enumerate(perm):
        out.append(f'  before:a{c}:s -> after:b{pos}:n [color="{GROUP_INK[(c // n) % len(GROUP_INK)]}"];')
    out.append("}")
    return "\n".join(out) + "\n"
