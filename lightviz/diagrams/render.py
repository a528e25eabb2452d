"""DOT text of a block and of the whole network, drawn from the profile rows.

* :func:`block_dot` one block (or one sub-unit of it, such as a ghost module): one node per op, or
  with ``ops=False`` (the default) a conv and the BN and activation that follow it folded into one
  node; edges carry the consumer's input shape, node fill the op's share of the block's MACs.
* :func:`overview_dot` the whole network: stages as clusters, equal consecutive blocks folded
  into one node "x n".
* :func:`to_svg` runs Graphviz's ``dot`` where it is installed (the app does not need it:
  ``st.graphviz_chart`` lays the DOT out in the browser).

Counts are written by :func:`lightviz.units.fmt_count`, like everywhere else.
"""

from __future__ import annotations

import shutil
import subprocess

from ..config import Config
from ..configure import network_label
from ..counting import Profile, Row, shape_text
from ..units import fmt_count
from .fold import BlockSummary, Node, block_rows, clusterable, fold, parse_block, summaries
from .naming import ACT_NAMES, ConfigOrProfile, as_profile, block_names, child_type, op_title
from .palette import IO_FILL, MOVE_FILL, SHUFFLE_FILL, Line, cluster, edge_label, header, html_lines, pill, quote, ramp

WEIGHTS = ("macs", "params")
WEIGHT_NAMES = {"macs": "MACs", "params": "params"}


def pct(part: float, whole: float) -> str:
    """A share as the pictures write it: '12.3%', '<0.1%', '100%'."""
    if whole <= 0 or part == 0:
        return "0%"
    p = 100.0 * part / whole
    if 0 < p < 0.1:
        return "<0.1%"
    return f"{p:.1f}%" if p < 99.95 else "100%"


def _check_weight(weight: str) -> None:
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {', '.join(WEIGHTS)}, got {weight!r}")


# ---------------------------------------------------------------------------------------------
# One block
# ---------------------------------------------------------------------------------------------


def _suffix(node: Node) -> str:
    """'+ BN + ReLU6', '+ BN, linear' or '+ ReLU' for the folded rows."""
    folded = node.rows[1:]
    if not folded:
        return ""
    names = ["BN" if r.op == "batch_norm" else ACT_NAMES.get(r.op, r.op) for r in folded]
    text = " + " + " + ".join(names)
    if node.head.op == "conv2d" and all(r.op == "batch_norm" for r in folded):
        text += ", linear"
    return text


def _shape_line(node: Node, rows_by_index: dict[int, Row]) -> str | None:
    """Channels and spatial size of a node, the way its op changes them ('32→64 ch · 56x56')."""
    h, last = node.head, node.last
    size = f"{last.out_h}x{last.out_w}"
    if h.op in ("conv2d", "max_pool", "avg_pool", "linear"):
        cin, sp_in = h.in_shapes[0][0], f"{h.in_shapes[0][1]}x{h.in_shapes[0][2]}"
        if h.op == "linear":
            return f"{cin}→{last.out_c} features"
        return f"{cin}→{last.out_c} ch · {size if sp_in == size else f'{sp_in}→{size}'}"
    if h.op == "cat":
        return f"{'+'.join(str(s[0]) for s in h.in_shapes)}→{last.out_c} ch · {size}"
    if h.op == "split":
        outs = [rows_by_index[c] for c in node.consumers if c in rows_by_index]
        sizes = [c.in_shapes[c.inputs.index(h.index)][0] for c in outs]
        halves = " | ".join(str(s) for s in sizes) if sizes else str(last.out_c)
        return f"{last.out_c}→{halves} ch · {size}"
    if h.op == "narrow":
        return f"{h.in_shapes[0][0]}→{last.out_c} ch · {size}"
    if h.op == "global_avg_pool":
        return f"{last.out_c} ch · {h.in_shapes[0][1]}x{h.in_shapes[0][2]}→1x1"
    return f"{last.out_c} ch · {size}"


def _node_lines(node: Node, rows_by_index: dict[int, Row], weight: str, total: float) -> list[Line]:
    h = node.head
    where = h.op_name.rsplit(".", 1)[0] if h.op == "conv2d" and "." in h.op_name else h.op_name
    title = op_title(h) + _suffix(node)
    lines: list[Line] = [(title, 12, True)]
    if where.rsplit(".", 1)[-1].lower() not in title.lower():
        lines.insert(0, (where, 9, False))  # the name in the profile table (conv_pw, downsample)
    if h.op == "conv2d":
        lines.append((f"stride {h.stride} · groups {h.groups}", 10, False))
    elif h.op in ("max_pool", "avg_pool"):
        lines.append((f"stride {h.stride}", 10, False))
    elif h.op == "channel_shuffle":
        lines.append((f"groups {h.groups}", 10, False))
    lines.append((_shape_line(node, rows_by_index), 10, False))
    if node.macs or node.params:
        value = node.macs if weight == "macs" else node.params
        lines.append((f"{fmt_count(node.macs)} MACs · {fmt_count(node.params)} params", 10, False))
        lines.append((f"{pct(value, total)} of the {WEIGHT_NAMES[weight]}", 10, False))
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
    return f'fillcolor="{ramp(t)}", penwidth={1.2 + 1.6 * t:.2f}'


def _block_title(prof: Profile, name: str, block: str, part: str | None, block_type: str,
                 nodes: list[Node], weight: str) -> str:
    cfg = prof.config
    bm = sum(n.macs for n in nodes)
    bp = sum(n.params for n in nodes)
    what = f"{name} · {block_type}" if block_type != block else name
    if part:
        sub = child_type(cfg, block, part)
        what = f"{name} · {sub} of a {block_type}" if sub else f"{name} (in a {block_type})"
    return "  label=" + pill([
        (what, 13, True),
        (f"{network_label(cfg)} · {fmt_count(bm)} MACs ({pct(bm, prof.macs)} of the network) · "
         f"{fmt_count(bp)} params", 11, False),
        (f"fill: share of the {WEIGHT_NAMES[weight]} (deepest = largest); edges: tensor CxHxW",
         10, False),
        ("MACs = multiply-accumulates", 10, False),
    ]) + ";"


def _block_inputs(rows: list[Row]) -> dict[int, str]:
    """``{source row: node id}`` of every edge from outside the rows (the previous block, or the
    image): "in", or "in0", "in1", ... when there are several."""
    own = {r.index for r in rows}
    ext_in = sorted({src for r in rows for src in r.inputs if src not in own})
    return {src: ("in" if len(ext_in) == 1 else f"in{k}") for k, src in enumerate(ext_in)}


def _input_lines(rows: list[Row], in_ids: dict[int, str], name: str) -> list[str]:
    out = []
    for src, nid in in_ids.items():
        shape = next(shape_text(r.in_shapes[r.inputs.index(src)]) for r in rows if src in r.inputs)
        label = "input image" if src < 0 else "input"
        out.append(f'  {nid} [label={html_lines([(label, 11, True), (shape, 11, False)])}, '
                   f'fillcolor="{IO_FILL}", id={quote(name + ":" + nid)}];')
    return out


def _node_statements(cfg: Config, block: str, nodes: list[Node], framed: set,
                     rows_by_index: dict[int, Row], weight: str) -> list[str]:
    """The nodes, grouped into dashed clusters by sub-unit."""
    values = [(n.macs if weight == "macs" else n.params) for n in nodes]
    total = float(sum(values))
    top = float(max(values)) if values else 0.0
    clusters: dict[str, list[Node]] = {}
    for n in nodes:
        clusters.setdefault(n.component if n.component in framed else "", []).append(n)
    out = []
    for comp, members in clusters.items():
        indent = "  "
        if comp:
            kind = child_type(cfg, block, comp)
            out.append(f"  subgraph {quote('cluster_' + comp)} {{")
            out.append(cluster(comp + (f" · {kind}" if kind else ""), dashed=True))
            indent = "    "
        for n in members:
            value = n.macs if weight == "macs" else n.params
            lines = _node_lines(n, rows_by_index, weight, total)
            tip = " → ".join(r.path for r in n.rows)
            out.append(f"{indent}{n.id} [label={html_lines(lines)}, {_node_style(n, value, top)}, "
                       f"id={quote(n.head.path)}, tooltip={quote(tip)}];")
        if comp:
            out.append("  }")
    return out


def _edge_statements(nodes: list[Node], in_ids: dict[int, str]) -> list[str]:
    """Each input of each node's head row, labelled with the shape that node reads."""
    owner = {r.index: n for n in nodes for r in n.rows}
    out = []
    for n in nodes:
        h = n.head
        for pos, src in enumerate(h.inputs):
            shape = shape_text(h.in_shapes[pos]) if pos < len(h.in_shapes) else ""
            src_node = None if src in in_ids else owner[src]
            src_id = in_ids[src] if src_node is None else src_node.id
            identity = h.op in ("add", "cat") and len(h.inputs) > 1 \
                and (src_node is None or src_node.head.op == "split")
            note = "identity" if identity else ""
            style = ', style="dashed"' if identity else ""
            out.append(f"  {src_id} -> {n.id} [label={edge_label(shape, note)}{style}];")
    return out


def block_dot(source: ConfigOrProfile, block: str, part: str | None = None, *,
              weight: str = "macs", ops: bool = False, background: str | None = None,
              title: bool = True) -> str:
    """The DOT of one block (``stage2.0``, ``stem``, ``head``) or of one of its sub-units
    (``part="ghost1"``), drawn from its profile rows.

    ``weight``: colour nodes by their share of the block's ``"macs"`` or ``"params"``.
    ``ops``: one node per profile row (BN and activations apart) instead of folding them.
    ``background``: ``None`` (transparent, for the app) or a colour such as ``"white"``.
    """
    _check_weight(weight)
    prof = as_profile(source)
    cfg = prof.config
    if part is None and "." in block and block not in set(block_names(prof)):
        block, part = parse_block(prof, block)
    rows = block_rows(prof, block, part)
    nodes = fold(rows, ops)
    name = block + (f".{part}" if part else "")
    out = header(name, background)
    if title:
        out.append(_block_title(prof, name, block, part, rows[0].block_type, nodes, weight))
    in_ids = _block_inputs(rows)
    out += _input_lines(rows, in_ids, name)
    framed = set() if part else set(clusterable(cfg, block, nodes))
    out += _node_statements(cfg, block, nodes, framed, {r.index: r for r in rows}, weight)
    out += _edge_statements(nodes, in_ids)
    last = nodes[-1].last
    out.append(f'  out [label={html_lines([("output", 11, True), (last.out_shape, 11, False)])}, '
               f'fillcolor="{IO_FILL}", id={quote(name + ":out")}];')
    out.append(f"  {nodes[-1].id} -> out [label={edge_label(last.out_shape)}];")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Whole-network overview
# ---------------------------------------------------------------------------------------------


def _overview_title(prof: Profile, items: list[BlockSummary], weight: str) -> str:
    n_blocks = sum(len(s.blocks) for s in items if s.stage not in ("stem", "head"))
    convs = sum(1 for r in prof.rows if r.op in ("conv2d", "linear"))
    return "  label=" + pill([
        (f"{network_label(prof.config)} · {fmt_count(prof.macs)} MACs · {fmt_count(prof.params)} params", 13, True),
        (f"{n_blocks} blocks, {convs} conv/FC layers, {len(prof.rows)} ops · equal consecutive "
         f"blocks folded (x n)", 10, False),
        (f"fill: share of the network's {WEIGHT_NAMES[weight]} "
         f"(deepest = largest node) · edges: tensor CxHxW", 9, False),
    ]) + ";"


def _stage_cluster(stage: str, items: list[BlockSummary], weight: str, total: float) -> list[str]:
    members = [x for x in items if x.stage == stage]
    nb = sum(len(x.blocks) for x in members)
    sm = sum(len(x.blocks) * (x.macs if weight == "macs" else x.params) for x in members)
    label = f"{stage} · {nb} block{'s' if nb != 1 else ''} · {pct(sm, total)} of the " \
            f"{WEIGHT_NAMES[weight]}"
    return [f"  subgraph {quote('cluster_' + stage)} {{", cluster(label)]


def _summary_lines(s: BlockSummary, value: int, total: float, network_macs: int,
                   weight: str) -> list[Line]:
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
        lines.append((f"× {n} = {fmt_count(n * s.macs)} MACs ({pct(n * s.macs, network_macs)})", 10, False))
    else:
        lines.append((f"{pct(value, total)} of the {WEIGHT_NAMES[weight]}", 10, False))
    return lines


def overview_dot(source: ConfigOrProfile, *, weight: str = "macs",
                 background: str | None = None, title: bool = True) -> str:
    """The whole network: stem, stages as clusters, head; equal consecutive blocks folded "x n";
    node fill = share of the network's MACs (or params), deepest = largest node."""
    _check_weight(weight)
    prof = as_profile(source)
    items = summaries(prof)
    total = float(prof.macs if weight == "macs" else prof.params)
    values = [len(s.blocks) * (s.macs if weight == "macs" else s.params) for s in items]
    top = max(values) if values else 0
    out = header(prof.config.arch, background)
    if title:
        out.append(_overview_title(prof, items, weight))
    first_shape = prof.rows[0].in_shape
    out.append(f'  image [label={html_lines([("input image", 11, True), (first_shape, 11, False)])}, '
               f'fillcolor="{IO_FILL}"];')
    current_stage = None
    for k, (s, value) in enumerate(zip(items, values)):
        framed = s.stage not in ("stem", "head")
        if s.stage != current_stage:
            if current_stage not in (None, "stem", "head"):
                out.append("  }")
            current_stage = s.stage
            if framed:
                out += _stage_cluster(s.stage, items, weight, total)
        lines = _summary_lines(s, value, total, prof.macs, weight)
        t = value / top if top else 0.0
        out.append(f'{"    " if framed else "  "}b{k} [label={html_lines(lines)}, fillcolor="{ramp(t)}", '
                   f'penwidth={1.2 + 1.6 * t:.2f}, id={quote(s.blocks[0])}, tooltip={quote(", ".join(s.blocks))}];')
    if current_stage not in (None, "stem", "head"):
        out.append("  }")
    prev = "image"
    for k in range(len(items)):
        shape = first_shape if k == 0 else items[k - 1].out_shape
        out.append(f"  {prev} -> b{k} [label={edge_label(shape)}];")
        prev = f"b{k}"
    last = items[-1].out_shape
    out.append(f'  logits [label={html_lines([("output", 11, True), (last, 11, False)])}, fillcolor="{IO_FILL}"];')
    out.append(f"  {prev} -> logits [label={edge_label(last)}];")
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
