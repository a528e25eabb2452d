"""Names in the diagrams: the blocks of a profile (``stem``, ``stage1.0``, ..., ``head``), their
stages, the spec behind a block, and what an op is called the way a lecture names it.

Everything reads the profile's :class:`~lightviz.counting.Row` s and, for class names only, the
resolved spec.
"""

from __future__ import annotations

from ..config import Config
from ..counting import Profile, Row, count
from ..zoo import resolve

ConfigOrProfile = Config | Profile

ACT_NAMES = {"relu": "ReLU", "relu6": "ReLU6", "hardsigmoid": "hard sigmoid"}


def as_profile(source: ConfigOrProfile) -> Profile:
    """A profile from a Config (counted) or a Profile (used as is)."""
    if isinstance(source, Profile):
        return source
    if isinstance(source, Config):
        return count(source)
    raise TypeError(f"expected a lightviz Config or Profile, got {type(source).__name__}")


def block_names(source: ConfigOrProfile) -> list[str]:
    """Every block in execution order: ``stem``, ``stage1.0``, ..., ``head``."""
    return list(as_profile(source).blocks)


def stages(source: ConfigOrProfile) -> list[tuple[str, list[str]]]:
    """``[(stage, [block, ...]), ...]`` in order, stem and head included."""
    out: dict[str, list[str]] = {}
    for stage, block in dict.fromkeys((r.stage, r.block) for r in as_profile(source).rows):
        out.setdefault(stage, []).append(block)
    return list(out.items())


def default_block(source: ConfigOrProfile) -> str:
    """The block a lesson opens on: the first that shows the family's characteristic unit whole,
    with its shortcut, at stride 1 (MobileNetV2's inverted residual with its add, not the
    stride-2 stage2.0; ShuffleNet v1's grouped unit, not stage2.0 whose first 1x1 conv the paper
    leaves ungrouped; a ResNet basic block; a Ghost bottleneck). Families without an add
    (MobileNet v1, ShuffleNet v2) open on their first stride-1 block that repeats a stage's
    shape; a network of neither on its first block after the stem."""
    prof = as_profile(source)
    by_block: dict[str, list[Row]] = {}
    for r in prof.rows:
        by_block.setdefault(r.block, []).append(r)
    inner = [b for b in by_block if b not in ("stem", "head")]

    def stride1(b: str) -> bool:
        return all((r.stride or 1) == 1 for r in by_block[b])

    for b in inner:
        if stride1(b) and any(r.op == "add" for r in by_block[b]):
            return b
    for b in inner:
        if stride1(b) and not b.endswith(".0"):
            return b
    return inner[0] if inner else next(iter(by_block))


def _ranges(stage: str, blocks: list[str]) -> str:
    if blocks == [stage]:
        return stage
    idx = [b.rsplit(".", 1)[1] for b in blocks]
    return f"{stage}.{idx[0]}" if len(idx) == 1 else f"{stage}.{idx[0]}-{idx[-1]}"


def block_choices(source: ConfigOrProfile) -> str:
    """The valid block names, compactly (``stem, stage1.0, stage2.0-1, ..., head``)."""
    return ", ".join(_ranges(s, b) for s, b in stages(source))


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


def op_title(r: Row) -> str:
    """What an op is, the way a lecture names it: '3x3 depthwise conv', 'channel shuffle', ..."""
    k = r.kernel
    if r.op == "conv2d":
        kind = "conv" if r.conv_kind == "standard conv" else r.conv_kind
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


def short_title(h: Row) -> str:
    """An op in a few characters, for a block's one-line recipe: 'dw 3x3/2', 'g3 1x1', 'FC'."""
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
