"""DOT pictures drawn from the profile rows, so a diagram carries exactly the counted numbers.

Every picture here reads :attr:`lightviz.Profile.layers` (one row per op with its ``inputs``, the
dataflow edges) and, for names only, the resolved spec. Nothing is drawn per family by hand: a
block's diagram is the subgraph of its rows, an overview is the chain of its blocks.

* :func:`block_dot` one block (or one sub-unit of it, such as a ghost module): one node per op, or
  with ``ops=False`` (the default) a conv and the BN and activation that follow it folded into one
  node; edges carry the consumer's input shape, node fill the op's share of the block's MACs.
* :func:`overview_dot` the whole network: stages as clusters, equal consecutive blocks folded
  into one node "x n".
* :func:`shuffle_dot` how ``g`` groups of channels interleave in a channel shuffle.
* :func:`to_svg` runs Graphviz's ``dot`` where it is installed (the app does not need it:
  ``st.graphviz_chart`` lays the DOT out in the browser).

Colours: nodes are light fills with dark text and edges a mid grey, so a picture reads on the
app's light and dark themes (the browser draws it on a transparent background); labels on edges
sit on a light pill for the same reason. ``background="white"`` gives slides a solid page.
"""

from __future__ import annotations

import html
import math
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..config import Config
from ..counting import Profile, count
from ..zoo import resolve

# ---------------------------------------------------------------------------------------------
# Style: light fills + dark text, a mid-grey ink that reads on white and on Streamlit's dark bg.
# ---------------------------------------------------------------------------------------------

FONT = "Helvetica,Arial,sans-serif"
TEXT = "#1f2933"        # dark text, only ever drawn on light fills
INK = "#8591a0"         # edges and borders: readable on #ffffff and on #0e1117
PILL = "#eef1f5"        # background of edge labels and titles
IO_FILL = "#d6e6f7"     # block input / output
MOVE_FILL = "#e9ecf1"   # ops that only move data (concat, split, add, pool, ...)
SHUFFLE_FILL = "#e2d9f6"
CLUSTER_FILL = "#f6f8fb"
# share of MACs 0 -> 1 (normalised to the largest node): pale yellow to orange, all dark-text safe
RAMP = ("#fffbea", "#fff0c2", "#fedd94", "#fdc472", "#fca75a", "#f7894a")
GROUP_COLORS = ("#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6", "#ffffb3", "#e5d8bd",
                "#fddaec")
# the same hues, saturated enough for lines on white and on a dark page
GROUP_INK = ("#e0605a", "#4f8fd1", "#3c9a3a", "#a05ec9", "#d9741a", "#9a8c0a", "#a5804a", "#e05aa8")
WEIGHTS = ("macs", "params")

_ACT_NAMES = {"relu": "ReLU", "relu6": "ReLU6", "hardsigmoid": "hard sigmoid"}
_FOLDABLE = {"batch_norm", "relu", "relu6", "hardsigmoid"}
_DATA_OPS = {"add", "cat", "split", "channel_shuffle", "narrow", "mul", "flatten"}


def ramp(t: float) -> str:
    """Fill colour for a share ``t`` in [0, 1] (0 = palest)."""
    t = min(1.0, max(0.0, float(t)))
    pos = t * (len(RAMP) - 1)
    i = min(int(pos), len(RAMP) - 2)
    f = pos - i
    a, b = RAMP[i], RAMP[i + 1]
    mix = [round(int(a[k:k + 2], 16) * (1 - f) + int(b[k:k + 2], 16) * f) for k in (1, 3, 5)]
    return "#" + "".join(f"{v:02x}" for v in mix)


def fmt_count(n: float) -> str:
    """4360704 -> '4.36M', 3456 -> '3.46K', 96 -> '96'."""
    n = float(n)
    for unit, div in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= div:
            v = n / div
            return f"{v:.3g}{unit}" if v < 100 else f"{v:.0f}{unit}"
    return f"{n:g}"


def _pct(part: float, whole: float) -> str:
    if whole <= 0 or part == 0:
        return "0%"
    p = 100.0 * part / whole
    if 0 < p < 0.1:
        return "<0.1%"
    return f"{p:.1f}%" if p < 99.95 else "100%"


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _q(text) -> str:
    """A double-quoted DOT string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


MIN_POINTS = 10


def _html_lines(lines: Sequence[Tuple[str, int, bool]]) -> str:
    """An HTML-like label: ``(text, point size, bold)`` per line, text escaped here.

    Sizes are never below MIN_POINTS: Streamlit draws every text of a graphviz chart in its body
    font at 9.6 px whatever the DOT says, and Graphviz sizes the boxes from the DOT's font size,
    so a smaller size there would let the text overflow its box in the app."""
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{_rows(lines)}</table>>'


def _rows(lines: Sequence[Tuple[str, int, bool]], color: str = "") -> str:
    """The table rows of a label: one line each, escaped, never below MIN_POINTS."""
    rows = []
    for text, size, bold in lines:
        t = _esc(text)
        if bold:
            t = f"<b>{t}</b>"
        c = f' color="{color}"' if color else ""
        rows.append(f'<tr><td><font point-size="{max(size, MIN_POINTS)}"{c}>{t}</font></td></tr>')
    return "".join(rows)


def _pill(lines: Sequence[Tuple[str, int, bool]], bg: str = PILL) -> str:
    return (f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="2" bgcolor="{bg}">'
            f'{_rows(lines, TEXT)}</table>>')


def _header(name: str, background: Optional[str], rankdir: str = "TB") -> List[str]:
    bg = background or "transparent"
    return [
        f"digraph {_q(name)} {{",
        f'  graph [rankdir={rankdir}, bgcolor="{bg}", fontname="{FONT}", fontcolor="{TEXT}", '
        f'nodesep=0.3, ranksep=0.32, pad=0.2, labelloc=t, labeljust=c, ordering=in];',
        f'  node [shape=box, style="rounded,filled", fontname="{FONT}", fontsize=11, '
        f'fontcolor="{TEXT}", color="{INK}", penwidth=1.2, margin="0.14,0.05"];',
        f'  edge [color="{INK}", fontname="{FONT}", fontsize=10, fontcolor="{TEXT}", '
        f'penwidth=1.3, arrowsize=0.7];',
    ]


# ---------------------------------------------------------------------------------------------
# Profiles and block names
# ---------------------------------------------------------------------------------------------

ConfigOrProfile = Union[Config, Profile]


def as_profile(source: ConfigOrProfile) -> Profile:
    """A profile from a Config (counted) or a Profile (used as is)."""
    if isinstance(source, Profile):
        return source
    if isinstance(source, Config):
        return count(source)
    raise TypeError(f"expected a lightviz Config or Profile, got {type(source).__name__}")


def block_names(source: ConfigOrProfile) -> List[str]:
    """Every block in execution order: ``stem``, ``stage1.0``, ..., ``head``."""
    layers = as_profile(source).layers
    return list(dict.fromkeys(layers["block"]))


def stages(source: ConfigOrProfile) -> List[Tuple[str, List[str]]]:
    """``[(stage, [block, ...]), ...]`` in order, stem and head included."""
    layers = as_profile(source).layers
    out: Dict[str, List[str]] = {}
    for stage, block in dict.fromkeys(zip(layers["stage"], layers["block"])):
        out.setdefault(stage, []).append(block)
    return list(out.items())


def _ranges(stage: str, blocks: List[str]) -> str:
    if blocks == [stage]:
        return stage
    idx = [b.rsplit(".", 1)[1] for b in blocks]
    return f"{stage}.{idx[0]}" if len(idx) == 1 else f"{stage}.{idx[0]}-{idx[-1]}"


def block_choices(source: ConfigOrProfile) -> str:
    """The valid block names, compactly (``stem, stage1.0, stage2.0-1, ..., head``)."""
    return ", ".join(_ranges(s, b) for s, b in stages(source))


def block_parts(source: ConfigOrProfile, block: str) -> List[str]:
    """The sub-units of a block that hold two or more ops after folding (a ghost module, the SE,
    a ShuffleNet v2 branch, a shortcut): what ``part=`` of :func:`block_dot` accepts."""
    prof = as_profile(source)
    rows = _block_rows(prof, block, None)
    nodes = _fold(rows, ops=False)
    return [c for c in _clusterable(prof.config, block, nodes)]


def _clusterable(cfg: Config, block: str, nodes) -> List[str]:
    """Sub-units worth a frame: two or more drawn nodes, and not a conv-BN-act triple."""
    seen: Dict[str, int] = {}
    for n in nodes:
        comp = n.component
        if comp:
            seen[comp] = seen.get(comp, 0) + 1
    return [c for c, k in seen.items() if k >= 2 and child_type(cfg, block, c) != "ConvBNAct"]


def parse_block(source: ConfigOrProfile, text: str) -> Tuple[str, Optional[str]]:
    """``"stage2.0"`` -> ``("stage2.0", None)``; ``"stage3.0.ghost1"`` -> ``("stage3.0", "ghost1")``.
    Also accepts ``2.0`` for ``stage2.0``. ValueError naming the valid blocks otherwise."""
    prof = as_profile(source)
    names = block_names(prof)
    text = str(text).strip()
    for candidate in (text, f"stage{text}"):
        if candidate in names:
            return candidate, None
        head, _, part = candidate.rpartition(".")
        if head in names and part and not part.isdigit():
            parts = block_parts(prof, head)
            if part in parts:
                return head, part
            raise ValueError(f"block {head} of {prof.config.label} has no part {part!r}: "
                             f"choose one of {', '.join(parts) or '(none)'}")
    raise ValueError(f"unknown block {text!r} for {prof.config.label}: choose one of "
                     f"{block_choices(prof)}")


def spec_of(cfg: Config, block: str):
    """The spec object of ``block`` (a frozen dataclass such as ``InvertedResidual``)."""
    net = dict(resolve(cfg).items)
    if "." not in block:
        return net[block]
    stage, idx = block.rsplit(".", 1)
    return dict(net[stage].items)[idx]


def child_type(cfg: Config, block: str, child: str) -> str:
    """The spec class name of a block's child (``GhostModule``, ``SqueezeExcite``), or ``""``
    for plain sequences and for stem/head."""
    if block in ("stem", "head"):
        return ""
    try:
        name = type(dict(spec_of(cfg, block).children())[child]).__name__
    except (KeyError, AttributeError):
        return ""
    return "" if name == "Sequence" else name


# ---------------------------------------------------------------------------------------------
# Folding rows into nodes
# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One profile row, as plain Python values."""

    index: int
    path: str
    op_name: str
    kind: str
    op: str
    kernel: Optional[int]
    stride: Optional[int]
    groups: Optional[int]
    in_shapes: List[str]
    out_shape: str
    out_c: int
    out_h: int
    out_w: int
    params: int
    macs: int
    inputs: List[int]


@dataclass
class Node:
    """One drawn node: a head row and the BN / activation rows folded into it."""

    rows: List[Row]
    consumers: List[int] = field(default_factory=list)  # row indices reading its output

    @property
    def head(self) -> Row:
        return self.rows[0]

    @property
    def last(self) -> Row:
        return self.rows[-1]

    @property
    def id(self) -> str:
        return f"n{self.head.index}"

    @property
    def params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def component(self) -> str:
        """The first part of the op name when the op sits inside a unit of the block
        (``ghost1``, ``se``, ``branch2``, but also ``conv_dw`` for ``conv_dw.conv``), else ``""``.
        Only units that are not a conv-BN-act triple and hold two or more drawn nodes become
        clusters (see :func:`_clusterable`)."""
        parts = self.head.op_name.split(".")
        return parts[0] if len(parts) >= 2 else ""


def _int(v) -> Optional[int]:
    try:
        if v is None or v != v:  # NaN
            return None
    except (TypeError, ValueError):
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _block_rows(prof: Profile, block: str, part: Optional[str]) -> List[Row]:
    layers = prof.layers
    sel = layers[layers["block"] == block]
    if part:
        sel = sel[sel["op_name"].str.startswith(part + ".")]
    if sel.empty:
        raise ValueError(f"unknown block {block!r}{'.' + part if part else ''} for "
                         f"{prof.config.label}: choose one of {block_choices(prof)}")
    rows = []
    for idx, r in sel.iterrows():
        rows.append(Row(
            index=int(idx), path=r["path"], op_name=r["op_name"], kind=r["kind"], op=r["op"],
            kernel=_int(r["kernel"]), stride=_int(r["stride"]), groups=_int(r["groups"]),
            in_shapes=str(r["in_shape"]).split(" + "), out_shape=r["out_shape"],
            out_c=int(r["out_c"]), out_h=int(r["out_h"]), out_w=int(r["out_w"]),
            params=int(r["params"]), macs=int(r["macs"]), inputs=[int(i) for i in r["inputs"]],
        ))
    return rows


def _fold(rows: List[Row], ops: bool) -> List[Node]:
    """Nodes in execution order. Unless ``ops``, a BN or activation whose only input is the
    output of the node before it (read by nothing else) joins that node."""
    consumers: Dict[int, List[int]] = {}
    for r in rows:
        for src in r.inputs:
            consumers.setdefault(src, []).append(r.index)
    nodes: List[Node] = []
    owner: Dict[int, Node] = {}
    for r in rows:
        if not ops and r.op in _FOLDABLE and len(r.inputs) == 1:
            src = r.inputs[0]
            node = owner.get(src)
            if node is not None and node.last.index == src and consumers.get(src) == [r.index] \
                    and node.head.op not in ("split", "channel_shuffle", "narrow", "flatten"):
                node.rows.append(r)
                owner[r.index] = node
                continue
        node = Node([r])
        nodes.append(node)
        owner[r.index] = node
    for n in nodes:
        n.consumers = consumers.get(n.last.index, [])
    return nodes


def _spatial(shape: str) -> str:
    return "x".join(shape.split("x")[1:])


def _channels(shape: str) -> int:
    return int(shape.split("x")[0])


def op_title(r: Row) -> str:
    """What an op is, the way a lecture names it: '3x3 depthwise conv', 'channel shuffle', ..."""
    k = r.kernel
    if r.op == "conv2d":
        kind = r.kind if r.kind.endswith("conv") else ("pointwise conv" if k == 1 else "conv")
        if kind == "standard conv":
            kind = "conv"
        title = f"{k}x{k} {kind}"
        return title + " (SE)" if r.kind == "squeeze-excite" else title
    return {
        "linear": "fully connected",
        "batch_norm": "batch norm",
        "relu": "ReLU",
        "relu6": "ReLU6",
        "hardsigmoid": "hard sigmoid" + (" (SE gate)" if r.kind == "squeeze-excite" else ""),
        "add": "add",
        "mul": "scale channels (SE)",
        "cat": "concat",
        "split": "channel split",
        "channel_shuffle": "channel shuffle",
        "narrow": "slice",
        "flatten": "flatten",
        "global_avg_pool": "global avg pool" + (" (SE)" if r.kind == "squeeze-excite" else ""),
        "max_pool": f"{k}x{k} max pool",
        "avg_pool": f"{k}x{k} avg pool",
    }.get(r.op, r.op)


def _suffix(node: Node) -> str:
    """'+ BN + ReLU6', '+ BN, linear' or '+ ReLU' for the folded rows."""
    folded = node.rows[1:]
    if not folded:
        return ""
    names = ["BN" if r.op == "batch_norm" else _ACT_NAMES.get(r.op, r.op) for r in folded]
    text = " + " + " + ".join(names)
    if node.head.op == "conv2d" and all(r.op == "batch_norm" for r in folded):
        text += ", linear"
    return text


def _node_lines(node: Node, rows_by_index: Dict[int, Row], weight: str, total: float,
                compact: bool = False) -> List[Tuple[str, int, bool]]:
    h, last = node.head, node.last
    where = h.op_name.rsplit(".", 1)[0] if h.op == "conv2d" and "." in h.op_name else h.op_name
    title = op_title(h) + _suffix(node)
    lines: List[Tuple[str, int, bool]] = [(title, 12, True)]
    if where.rsplit(".", 1)[-1].lower() not in title.lower():
        lines.insert(0, (where, 9, False))  # the name in the profile table (conv_pw, downsample)
    if h.op == "conv2d":
        lines.append((f"stride {h.stride} · groups {h.groups}", 10, False))
    elif h.op in ("max_pool", "avg_pool"):
        lines.append((f"stride {h.stride}", 10, False))
    elif h.op == "channel_shuffle":
        lines.append((f"groups {h.groups}", 10, False))
    if h.op in ("conv2d", "max_pool", "avg_pool", "linear"):
        cin = _channels(h.in_shapes[0])
        sp_in, sp_out = _spatial(h.in_shapes[0]), f"{last.out_h}x{last.out_w}"
        spatial = sp_out if sp_in == sp_out else f"{sp_in}→{sp_out}"
        if h.op == "linear":
            lines.append((f"{cin}→{last.out_c} features", 10, False))
        else:
            lines.append((f"{cin}→{last.out_c} ch · {spatial}", 10, False))
    elif h.op == "cat":
        parts = "+".join(str(_channels(s)) for s in h.in_shapes)
        lines.append((f"{parts}→{last.out_c} ch · {last.out_h}x{last.out_w}", 10, False))
    elif h.op == "split":
        outs = [rows_by_index[c] for c in node.consumers if c in rows_by_index]
        sizes = [_channels(c.in_shapes[c.inputs.index(h.index)]) for c in outs]
        halves = " | ".join(str(s) for s in sizes) if sizes else str(last.out_c)
        lines.append((f"{last.out_c}→{halves} ch · {last.out_h}x{last.out_w}", 10, False))
    elif h.op == "narrow":
        lines.append((f"{_channels(h.in_shapes[0])}→{last.out_c} ch · {last.out_h}x{last.out_w}", 10, False))
    elif h.op == "global_avg_pool":
        lines.append((f"{last.out_c} ch · {_spatial(h.in_shapes[0])}→1x1", 10, False))
    else:
        lines.append((f"{last.out_c} ch · {last.out_h}x{last.out_w}", 10, False))
    value = node.macs if weight == "macs" else node.params
    if node.macs or node.params:
        share = _pct(value, total)
        if compact:
            lines.append((f"{fmt_count(node.macs)} MACs · {fmt_count(node.params)} params ({share})", 10, False))
        else:
            lines.append((f"{fmt_count(node.macs)} MACs · {fmt_count(node.params)} params", 10, False))
            lines.append((f"{share} of the {'MACs' if weight == 'macs' else 'params'}", 10, False))
    return lines


def _node_style(node: Node, value: float, top: float) -> str:
    h = node.head
    if node.macs == 0 and node.params == 0:
        if h.op == "channel_shuffle":
            return f'fillcolor="{SHUFFLE_FILL}", style="rounded,filled,bold"'
        if h.op in ("add", "cat", "mul", "split", "narrow"):
            return f'fillcolor="{MOVE_FILL}", shape=box, style="rounded,filled,dashed"'
        return f'fillcolor="{MOVE_FILL}"'
    t = value / top if top > 0 else 0.0
    width = 1.2 + 1.6 * t
    return f'fillcolor="{ramp(t)}", penwidth={width:.2f}'


def _edge_label(shape: str, note: str = "") -> str:
    lines = [(shape, 10, False)]
    if note:
        lines.insert(0, (note, 9, True))
    return _pill(lines)


def block_dot(source: ConfigOrProfile, block: str, part: Optional[str] = None, *,
              weight: str = "macs", ops: bool = False, background: Optional[str] = None,
              title: bool = True) -> str:
    """The DOT of one block (``stage2.0``, ``stem``, ``head``) or of one of its sub-units
    (``part="ghost1"``), drawn from its profile rows.

    ``weight``: colour nodes by their share of the block's ``"macs"`` or ``"params"``.
    ``ops``: one node per profile row (BN and activations apart) instead of folding them.
    ``background``: ``None`` (transparent, for the app) or a colour such as ``"white"``.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {', '.join(WEIGHTS)}, got {weight!r}")
    prof = as_profile(source)
    cfg = prof.config
    if part is None and "." in block and block not in set(prof.layers["block"]):
        block, part = parse_block(prof, block)
    rows = _block_rows(prof, block, part)
    nodes = _fold(rows, ops)
    by_index = {r.index: r for r in rows}
    owner = {r.index: n for n in nodes for r in n.rows}
    values = [(n.macs if weight == "macs" else n.params) for n in nodes]
    total = float(sum(values))
    top = float(max(values)) if values else 0.0
    block_type = str(prof.layers.loc[rows[0].index, "block_type"])
    first = rows[0].index

    name = block + (f".{part}" if part else "")
    out = _header(name, background)
    if title:
        bm = sum(n.macs for n in nodes)
        bp = sum(n.params for n in nodes)
        what = f"{name} · {block_type}" if block_type != block else name
        if part:
            sub = child_type(cfg, block, part)
            what = f"{name} · {sub} of a {block_type}" if sub else f"{name} (in a {block_type})"
        lines = [
            (what, 13, True),
            (f"{cfg.label} · {fmt_count(bm)} MACs ({_pct(bm, prof.macs)} of the network) · "
             f"{fmt_count(bp)} params", 11, False),
            (f"fill: share of the {'MACs' if weight == 'macs' else 'params'} (deepest = largest); "
             f"edges: tensor CxHxW", 10, False),
            ("MACs = multiply-accumulates", 10, False),
        ]
        out.append(f"  label={_pill(lines)};")

    # the block's input: every edge from outside the rows (the previous block, or the image)
    ext_in = sorted({src for r in rows for src in r.inputs if src not in by_index})
    in_ids = {}
    for k, src in enumerate(ext_in):
        shape = next(r.in_shapes[r.inputs.index(src)] for r in rows if src in r.inputs)
        nid = "in" if len(ext_in) == 1 else f"in{k}"
        in_ids[src] = nid
        label = "input image" if src < 0 else ("input" if src < first else "input")
        out.append(f'  {nid} [label={_html_lines([(label, 11, True), (shape, 11, False)])}, '
                   f'fillcolor="{IO_FILL}", id={_q(name + ":" + nid)}];')

    # nodes, grouped into clusters by sub-unit
    framed = set() if part else set(_clusterable(cfg, block, nodes))
    clusters: Dict[str, List[Node]] = {}
    for n in nodes:
        clusters.setdefault(n.component if n.component in framed else "", []).append(n)
    for comp, members in clusters.items():
        indent = "  "
        if comp:
            kind = child_type(cfg, block, comp)
            label = comp + (f" · {kind}" if kind and kind != "Sequence" else "")
            out.append(f"  subgraph {_q('cluster_' + comp)} {{")
            out.append(f'    graph [label={_html_lines([(label, 11, True)])}, style="rounded,filled,dashed", '
                       f'fillcolor="{CLUSTER_FILL}", color="{INK}", fontcolor="{TEXT}", margin=10];')
            indent = "    "
        for n in members:
            value = n.macs if weight == "macs" else n.params
            lines = _node_lines(n, by_index, weight, total)
            tip = " → ".join(r.path for r in n.rows)
            out.append(f"{indent}{n.id} [label={_html_lines(lines)}, {_node_style(n, value, top)}, "
                       f"id={_q(n.head.path)}, tooltip={_q(tip)}];")
        if indent == "    ":
            out.append("  }")

    # edges: each input of each node's head row, labelled with the shape that node reads
    for n in nodes:
        h = n.head
        for pos, src in enumerate(h.inputs):
            shape = h.in_shapes[pos] if pos < len(h.in_shapes) else ""
            if src in in_ids:
                src_id, src_node = in_ids[src], None
            else:
                src_node = owner[src]
                src_id = src_node.id
            identity = h.op in ("add", "cat") and (src_node is None or src_node.head.op == "split") \
                and len(h.inputs) > 1
            note = "identity" if identity else ""
            style = ', style="dashed"' if identity else ""
            out.append(f"  {src_id} -> {n.id} [label={_edge_label(shape, note)}{style}];")
    last = nodes[-1]
    out.append(f'  out [label={_html_lines([("output", 11, True), (last.last.out_shape, 11, False)])}, '
               f'fillcolor="{IO_FILL}", id={_q(name + ":out")}];')
    out.append(f"  {last.id} -> out [label={_edge_label(last.last.out_shape)}];")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Whole-network overview
# ---------------------------------------------------------------------------------------------


def _short(n: Node) -> str:
    h = n.head
    if h.op == "conv2d":
        k = f"{h.kernel}x{h.kernel}"
        s = f"/{h.stride}" if h.stride and h.stride > 1 else ""
        if h.kind == "depthwise conv":
            return f"dw {k}{s}"
        if h.kind == "grouped conv":
            return f"g{h.groups} {k}{s}"
        return f"{k}{s}"
    if h.op in ("max_pool", "avg_pool"):
        return f"{h.op.split('_')[0]}pool {h.kernel}x{h.kernel}/{h.stride}"
    return {"linear": "FC", "add": "add", "cat": "concat", "split": "split",
            "channel_shuffle": f"shuffle g{h.groups}", "narrow": "slice", "mul": "scale",
            "global_avg_pool": "global pool", "flatten": "flatten"}.get(h.op, h.op)


def recipe(nodes: List[Node]) -> str:
    """A one-line summary of a block's ops in order; a sub-unit of 2+ nodes is named once."""
    counts: Dict[str, int] = {}
    for n in nodes:
        if n.component:
            counts[n.component] = counts.get(n.component, 0) + 1
    parts: List[str] = []
    for n in nodes:
        comp = n.component
        if comp and counts[comp] >= 2:
            if comp not in parts:
                parts.append(comp)
        elif n.head.op != "flatten":
            parts.append(_short(n) + (" + ReLU" if n.head.op in ("add", "cat") and n.rows[1:] else ""))
    return " → ".join(parts)


@dataclass
class BlockSummary:
    """One block (or a run of equal blocks) in the overview."""

    stage: str
    blocks: List[str]
    block_type: str
    in_shape: str
    out_shape: str
    macs: int
    params: int
    recipe: str
    signature: tuple


def summaries(source: ConfigOrProfile) -> List[BlockSummary]:
    """Per block, in order, with consecutive equal blocks of a stage folded together."""
    prof = as_profile(source)
    layers = prof.layers
    out: List[BlockSummary] = []
    for stage, blocks in stages(prof):
        for block in blocks:
            rows = _block_rows(prof, block, None)
            sig = tuple((r.op_name, r.kind, r.op, r.kernel, r.stride, r.groups, tuple(r.in_shapes),
                         r.out_shape, r.params, r.macs) for r in rows)
            first_row = rows[0]
            ext = [s for s, src in zip(first_row.in_shapes, first_row.inputs) if src not in {r.index for r in rows}]
            in_shape = ext[0] if ext else first_row.in_shapes[0]
            s = BlockSummary(stage, [block], str(layers.loc[first_row.index, "block_type"]), in_shape,
                             rows[-1].out_shape, sum(r.macs for r in rows), sum(r.params for r in rows),
                             recipe(_fold(rows, ops=False)), sig)
            prev = out[-1] if out else None
            if prev and prev.stage == stage and prev.signature == sig:
                prev.blocks.append(block)
            else:
                out.append(s)
    return out


def overview_dot(source: ConfigOrProfile, *, weight: str = "macs",
                 background: Optional[str] = None, title: bool = True) -> str:
    """The whole network: stem, stages as clusters, head; equal consecutive blocks folded "x n";
    node fill = share of the network's MACs (or params), deepest = largest node."""
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {', '.join(WEIGHTS)}, got {weight!r}")
    prof = as_profile(source)
    cfg = prof.config
    items = summaries(prof)
    total = float(prof.macs if weight == "macs" else prof.params)
    values = [len(s.blocks) * (s.macs if weight == "macs" else s.params) for s in items]
    top = max(values) if values else 0
    out = _header(cfg.arch, background)
    if title:
        n_blocks = sum(len(s.blocks) for s in items if s.stage not in ("stem", "head"))
        convs = int((prof.layers["op"] == "conv2d").sum()) + int((prof.layers["op"] == "linear").sum())
        out.append("  label=" + _pill([
            (f"{cfg.label} · {fmt_count(prof.macs)} MACs · {fmt_count(prof.params)} params", 13, True),
            (f"{n_blocks} blocks, {convs} conv/FC layers, {len(prof.layers)} ops · equal consecutive "
             f"blocks folded (x n)", 10, False),
            (f"fill: share of the network's {'MACs' if weight == 'macs' else 'params'} "
             f"(deepest = largest node) · edges: tensor CxHxW", 9, False),
        ]) + ";")
    first_shape = prof.layers.iloc[0]["in_shape"]
    out.append(f'  image [label={_html_lines([("input image", 11, True), (first_shape, 11, False)])}, '
               f'fillcolor="{IO_FILL}"];')
    ids = []
    current_stage = None
    for k, (s, value) in enumerate(zip(items, values)):
        if s.stage != current_stage:
            if current_stage is not None and current_stage not in ("stem", "head"):
                out.append("  }")
            current_stage = s.stage
            if s.stage not in ("stem", "head"):
                members = [x for x in items if x.stage == s.stage]
                nb = sum(len(x.blocks) for x in members)
                sm = sum(len(x.blocks) * (x.macs if weight == "macs" else x.params) for x in members)
                label = f"{s.stage} · {nb} block{'s' if nb != 1 else ''} · {_pct(sm, total)} of the " \
                        f"{'MACs' if weight == 'macs' else 'params'}"
                out.append(f"  subgraph {_q('cluster_' + s.stage)} {{")
                out.append(f'    graph [label={_html_lines([(label, 11, True)])}, style="rounded,filled", '
                           f'fillcolor="{CLUSTER_FILL}", color="{INK}", fontcolor="{TEXT}", margin=10];')
        n = len(s.blocks)
        if s.stage in ("stem", "head"):
            head = s.stage
        elif n == 1:
            head = f"{s.blocks[0]} · {s.block_type}"
        else:
            head = f"{s.blocks[0]}-{s.blocks[-1].rsplit('.', 1)[1]} · {s.block_type} × {n}"
        each = "each " if n > 1 else ""
        lines = [
            (head, 12, True),
            (s.recipe, 10, False),
            (f"{s.in_shape} → {s.out_shape}", 10, False),
            (f"{each}{fmt_count(s.macs)} MACs · {fmt_count(s.params)} params", 10, False),
        ]
        if n > 1:
            lines.append((f"× {n} = {fmt_count(n * s.macs)} MACs ({_pct(n * s.macs, prof.macs)})", 10, False))
        else:
            lines.append((f"{_pct(value, total)} of the {'MACs' if weight == 'macs' else 'params'}", 10, False))
        nid = f"b{k}"
        ids.append(nid)
        t = value / top if top else 0.0
        indent = "    " if s.stage not in ("stem", "head") else "  "
        out.append(f'{indent}{nid} [label={_html_lines(lines)}, fillcolor="{ramp(t)}", '
                   f'penwidth={1.2 + 1.6 * t:.2f}, id={_q(s.blocks[0])}, tooltip={_q(", ".join(s.blocks))}];')
    if current_stage is not None and current_stage not in ("stem", "head"):
        out.append("  }")
    prev = "image"
    for k, (nid, s) in enumerate(zip(ids, items)):
        shape = first_shape if k == 0 else items[k - 1].out_shape
        out.append(f"  {prev} -> {nid} [label={_edge_label(shape)}];")
        prev = nid
    last = items[-1].out_shape
    out.append(f'  logits [label={_html_lines([("output", 11, True), (last, 11, False)])}, fillcolor="{IO_FILL}"];')
    out.append(f"  {prev} -> logits [label={_edge_label(last)}];")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Channel shuffle
# ---------------------------------------------------------------------------------------------

MAX_SHOWN = 32


def shuffle_permutation(groups: int, per_group: int) -> List[int]:
    """Output position j holds input channel ``perm[j]``: reshape (g, n), transpose, flatten."""
    return [(j % groups) * per_group + j // groups for j in range(groups * per_group)]


def shuffle_dot(groups: int, channels: Optional[int] = None, per_group: Optional[int] = None, *,
                background: Optional[str] = None, where: str = "", title: bool = True) -> str:
    """How ``groups`` groups of channels interleave in a channel shuffle (reshape to (g, n),
    transpose, flatten): the input channels coloured by group, the output order, and the groups
    of the next grouped conv, each of which now gets channels from every group.

    The picture is an exact miniature with ``per_group`` channels per group (default g, so each
    next group gets one channel of each group; at most 64 boxes a row); ``channels``, when given,
    is the real layer's width, named in the title. Each row is one node (an HTML table with a
    port per channel), so the order of the boxes is fixed whatever the layout engine does."""
    groups = int(groups)
    if not 1 <= groups <= 16:
        raise ValueError(f"groups must be 1 to 16 for the picture, got {groups}")
    if channels is not None:
        channels = int(channels)
        if channels < 1 or channels % groups:
            raise ValueError(f"{channels} channels do not split into {groups} equal groups")
    n = int(per_group) if per_group else max(2, groups)
    if n < 1 or groups * n > 64:
        raise ValueError(f"too many boxes to draw: {groups} groups x {n} channels (at most 64)")
    perm = shuffle_permutation(groups, n)
    out = _header(f"shuffle_g{groups}", background)
    out[1] = out[1].replace("nodesep=0.3, ranksep=0.32", "nodesep=0.2, ranksep=1.2")
    if title:
        real = ""
        if channels is not None:
            real = f"this layer: {channels} channels = {groups} groups × {channels // groups}; "
        lines = [(f"channel shuffle, g = {groups}" + (f" · {where}" if where else ""), 13, True),
                 (f"{real}drawn: {groups} groups × {n} channels, the same rule", 11, False),
                 ("reshape to (g, n) → transpose to (n, g) → flatten:", 10, False),
                 ("each group of the next grouped conv gets channels from every group", 10, False)]
        out.append(f"  label={_pill(lines)};")

    def channel_label(c: int) -> str:
        return str(c)

    def row(port: str, order: List[int], caption: str, caption_on_top: bool) -> str:
        cells = []
        for g in range(groups):
            boxes = "".join(
                f'<td port="{port}{pos}" bgcolor="{GROUP_COLORS[(order[pos] // n) % len(GROUP_COLORS)]}" '
                f'width="30" height="24" fixedsize="true"><font point-size="10" color="{TEXT}">'
                f"{channel_label(order[pos])}</font></td>"
                for pos in range(g * n, (g + 1) * n))
            cap = (f'<tr><td colspan="{n}" border="0"><font point-size="10" color="{TEXT}">'
                   f"{_esc(caption.format(g + 1))}</font></td></tr>")
            inner = (f'<table border="1" cellborder="1" cellspacing="2" cellpadding="0" '
                     f'bgcolor="{CLUSTER_FILL}" color="{INK}" style="rounded">'
                     + (cap if caption_on_top else "") + f"<tr>{boxes}</tr>"
                     + ("" if caption_on_top else cap) + "</table>")
            cells.append(f"<td>{inner}</td>")
        return f'<<table border="0" cellborder="0" cellspacing="6">{"<tr>" + "".join(cells) + "</tr>"}</table>>'

    out.append(f'  before [shape=none, margin=0, style="", label='
               f'{row("a", list(range(groups * n)), "group {} out of the last grouped conv", True)}];')
    out.append(f'  after [shape=none, margin=0, style="", label='
               f'{row("b", perm, "group {} into the next grouped conv", False)}];')
    out.append("  edge [arrowsize=0.5, penwidth=1.2];")
    for pos, c in enumerate(perm):
        out.append(f'  before:a{c}:s -> after:b{pos}:n [color="{GROUP_INK[(c // n) % len(GROUP_INK)]}"];')
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# SVG
# ---------------------------------------------------------------------------------------------


class GraphvizMissing(RuntimeError):
    """Graphviz's ``dot`` is not on PATH."""


def dot_available() -> bool:
    return shutil.which("dot") is not None


def to_svg(dot_text: str, timeout: float = 30.0) -> str:
    """Lay out DOT with Graphviz's ``dot`` and return the SVG text (GraphvizMissing if absent;
    RuntimeError with dot's message if it rejects the input)."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing("SVG needs Graphviz's `dot` on PATH (Debian/Ubuntu: apt-get install "
                              "graphviz; macOS: brew install graphviz); DOT output needs nothing")
    proc = subprocess.run([exe, "-Tsvg"], input=dot_text.encode("utf-8"), capture_output=True,
                          timeout=timeout)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"dot failed: {msg[0] if msg else 'exit status ' + str(proc.returncode)}")
    return proc.stdout.decode("utf-8")
