"""Folding a block's profile rows into the nodes of its picture, and blocks into the overview.

A block's rows are the :class:`~lightviz.counting.Row` s with its name; a node is a head row and
the batch norm and activation rows folded into it (``ops=False``); a sub-unit (a ghost module,
the SE, a ShuffleNet v2 branch) that keeps two or more nodes is a *part* a picture can zoom into.
The overview folds equal consecutive blocks of a stage into one :class:`BlockSummary`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import Config
from ..counting import Profile, Row, shape_text
from .naming import ConfigOrProfile, as_profile, block_choices, block_names, child_type, short_title, stages

FOLDABLE = {"batch_norm", "relu", "relu6", "hardsigmoid"}
NO_FOLD_AFTER = ("split", "channel_shuffle", "narrow", "flatten")  # views and moves keep no BN


@dataclass
class Node:
    """One drawn node: a head row and the BN / activation rows folded into it."""

    rows: list[Row]
    consumers: list[int] = field(default_factory=list)  # row indices reading its output

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
        clusters (see :func:`clusterable`)."""
        parts = self.head.op_name.split(".")
        return parts[0] if len(parts) >= 2 else ""


def block_rows(prof: Profile, block: str, part: str | None = None) -> list[Row]:
    """The rows of ``block`` (or of its sub-unit ``part``), in order; ValueError if none."""
    prefix = part + "." if part else ""
    rows = [r for r in prof.rows if r.block == block and r.op_name.startswith(prefix)]
    if not rows:
        raise ValueError(f"unknown block {block!r}{'.' + part if part else ''} for "
                         f"{prof.config.label}: choose one of {block_choices(prof)}")
    return rows


def fold(rows: list[Row], ops: bool) -> list[Node]:
    """Nodes in execution order. Unless ``ops``, a BN or activation whose only input is the
    output of the node before it (read by nothing else) joins that node."""
    consumers: dict[int, list[int]] = {}
    for r in rows:
        for src in r.inputs:
            consumers.setdefault(src, []).append(r.index)
    nodes: list[Node] = []
    owner: dict[int, Node] = {}
    for r in rows:
        if not ops and r.op in FOLDABLE and len(r.inputs) == 1:
            src = r.inputs[0]
            node = owner.get(src)
            if node is not None and node.last.index == src and consumers.get(src) == [r.index] \
                    and node.head.op not in NO_FOLD_AFTER:
                node.rows.append(r)
                owner[r.index] = node
                continue
        node = Node([r])
        nodes.append(node)
        owner[r.index] = node
    for n in nodes:
        n.consumers = consumers.get(n.last.index, [])
    return nodes


def clusterable(cfg: Config, block: str, nodes: list[Node]) -> list[str]:
    """Sub-units worth a frame: two or more drawn nodes, and not a conv-BN-act triple."""
    seen: dict[str, int] = {}
    for n in nodes:
        comp = n.component
        if comp:
            seen[comp] = seen.get(comp, 0) + 1
    return [c for c, k in seen.items() if k >= 2 and child_type(cfg, block, c) != "ConvBNAct"]


def block_parts(source: ConfigOrProfile, block: str) -> list[str]:
    """The sub-units of a block that hold two or more ops after folding (a ghost module, the SE,
    a ShuffleNet v2 branch, a shortcut): what ``part=`` of ``block_dot`` accepts."""
    prof = as_profile(source)
    return clusterable(prof.config, block, fold(block_rows(prof, block), ops=False))


def parse_block(source: ConfigOrProfile, text: str) -> tuple[str, str | None]:
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


def recipe(nodes: list[Node]) -> str:
    """A one-line summary of a block's ops in order; a sub-unit of 2+ nodes is named once."""
    counts: dict[str, int] = {}
    for n in nodes:
        if n.component:
            counts[n.component] = counts.get(n.component, 0) + 1
    parts: list[str] = []
    for n in nodes:
        comp = n.component
        if comp and counts[comp] >= 2:
            if comp not in parts:
                parts.append(comp)
        elif n.head.op != "flatten":
            parts.append(short_title(n.head) + (" + ReLU" if n.head.op in ("add", "cat") and n.rows[1:] else ""))
    return " → ".join(parts)


@dataclass
class BlockSummary:
    """One block (or a run of equal blocks) in the overview."""

    stage: str
    blocks: list[str]
    block_type: str
    in_shape: str
    out_shape: str
    macs: int
    params: int
    recipe: str
    signature: tuple


def _summary(stage: str, block: str, rows: list[Row]) -> BlockSummary:
    sig = tuple((r.op_name, r.kind, r.op, r.kernel, r.stride, r.groups,
                 tuple(map(shape_text, r.in_shapes)), r.out_shape, r.params, r.macs) for r in rows)
    first, own = rows[0], {r.index for r in rows}
    ext = [s for s, src in zip(first.in_shapes, first.inputs) if src not in own]
    in_shape = shape_text(ext[0] if ext else first.in_shapes[0])
    return BlockSummary(stage, [block], first.block_type, in_shape, rows[-1].out_shape,
                        sum(r.macs for r in rows), sum(r.params for r in rows),
                        recipe(fold(rows, ops=False)), sig)


def summaries(source: ConfigOrProfile) -> list[BlockSummary]:
    """Per block, in order, with consecutive equal blocks of a stage folded together."""
    prof = as_profile(source)
    by_block: dict[str, list[Row]] = {}
    for r in prof.rows:
        by_block.setdefault(r.block, []).append(r)
    out: list[BlockSummary] = []
    for stage, blocks in stages(prof):
        for block in blocks:
            s = _summary(stage, block, by_block[block])
            prev = out[-1] if out else None
            if prev and prev.stage == stage and prev.signature == s.signature:
                prev.blocks.append(block)
            else:
                out.append(s)
    return out
