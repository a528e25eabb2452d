"""The papers' published figures next to lightviz's counts: the data of the Paper check page.

``assets/published_figures.csv`` (a copy of the project's reference table; sources in
``assets/SOURCES.md``) has one row per published configuration: arch, variant, alpha, resolution,
groups, params, macs (multiply-accumulates, whatever the paper calls them), top1, source, note.

A published figure is a rounded number: "4.2M" stands for anything from 4.15 M to 4.25 M. A row
*matches* when every figure it gives is within half a unit of its last printed digit
(:func:`printed_unit`). Otherwise the difference is *explained* when its cause is known
(:data:`EXPLANATIONS`), *close* when it is under 2 %, and *differs* otherwise. A row about a
network lightviz does not build is marked *other network*.

tf-slim's 16 int8 (``_quant``) checkpoints of MobileNet v1 are rows too (``precision`` int8; the
table prints the float rows' MACs and params for them): their published int8 top-1 stands next to
lightviz's int8 estimate at that point (``top1_lightviz``, :func:`lightviz.accuracy_int8.estimate_for`),
which is that published value exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .accuracy import OTHER_NETWORK, PublishedTop1, published_top1  # noqa: F401 (re-exported)
from .configure import make_config
from .counting import count
from .zoo import REGISTRY

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PUBLISHED_CSV = ASSETS / "published_figures.csv"
CLOSE = 0.02  # relative difference under which an unexplained gap is "close"

MATCH, EXPLAINED, CLOSE_STATUS, DIFFERS, OTHER = (
    "match", "explained", "close", "differs", "other network")
STATUS_ORDER = (MATCH, EXPLAINED, CLOSE_STATUS, DIFFERS, OTHER)

# (arch, variant) -> why lightviz's count differs from the published one. Each was checked by
# recomputing (see the text); a gap without an entry here is reported as "close" or "differs".
EXPLANATIONS: dict[tuple[str, str], str] = {
    ("mobilenet_v1", "conv-mobilenet-224"):
        "The paper's Table 4 baseline with full 3x3 convolutions instead of depthwise-separable "
        "ones: not the network lightviz builds. Its point is the ratio: the standard-conv "
        "version needs about 8.6x the MACs and 7x the params of MobileNet.",
    ("mobilenet_v2", "1.0-224"):
        "Same network, different parameter conventions: without BN's gamma/beta (34,112) "
        "lightviz's 3,504,872 (= torchvision) becomes 3,470,760, TF-slim's 3.47M; the paper "
        "prints 3.4M.",
    ("mobilenet_v2", "1.4-224"):
        "The paper's 6.9M does not fit its own architecture: at width 1.4 the canonical count "
        "(torchvision, timm and TF-slim rules) is about 6.11M. The MACs agree within 0.5 %, so "
        "the network is the same.",
    ("mobilenet_v1", "1.0-160"):
        "The paper's Table 7 prints 290M for 290.68M: cut to the digit, not rounded (its "
        "other rows round: 568.74M prints as 569M).",
    ("mobilenet_v1", "0.5-160"):
        "The paper's Table 9 prints 76M for 76.52M: cut to the digit, not rounded.",
    ("mobilenet_v1", "MobileNet_v1_0.25_192"):
        "The table's 34M for 0.25_192 is out of line with its neighbours (41M at 224, 21M at "
        "160) and with the count, 30.2M without the stem conv: a typo in the table.",
    ("mobilenet_v1", "MobileNet_v1_0.50_224"):
        "149.498M (1001 classes) sits 0.002M below the rounding edge of the table's 150M; its "
        "counter must add a few thousand MACs lightviz leaves out (the classifier bias adds "
        "are 1001).",
    ("resnet34", "paper"):
        "The paper's Table 1 prints 3.6 x 10^9 for 3.66 G (torchvision: 3.66 GMACs); the "
        "parameters equal torchvision's exactly.",
    ("resnet50", "paper"):
        "The paper's 3.8 G is the original bottleneck (stride 2 on the first 1x1 conv); "
        "torchvision's ResNet-50, which lightviz follows, is v1.5 (stride on the 3x3 conv): "
        "4.09 GMACs. The parameters are the same for both and equal torchvision's exactly.",
}


# ----------------------------------------------------------------------------- conventions
# Each source counts in its own way (issue 10, item 6). The check recounts every row the way
# its source does, so a row that differs only by convention is an exact match under it.

@dataclass(frozen=True)
class Convention:
    """How a source counts: classifier outputs (TF-slim's checkpoints have a background class),
    which parameters (``all`` = nn.Module.parameters(); ``no_bn`` without BN's gamma/beta;
    ``tf_variables`` = TF's variables: beta and the moving mean and variance but no gamma), how
    figures are cut to their printed digits (``round`` or ``truncate``), whose layout
    (``torchvision``, or ``authors`` for megvii's ShuffleNet code, for MACs, params or both) and
    the widths whose MACs leave out the stem conv."""

    name: str
    classes: int = 1000
    params: str = "all"
    digits: str = "round"
    macs_layout: str = "torchvision"
    params_layout: str = "torchvision"
    no_stem_alphas: tuple[float, ...] = ()


LIGHTVIZ = Convention("lightviz: nn.Module.parameters(), torchvision layout, rounded")
_TF_V2 = Convention("TF-slim checkpoints: 1001 classes, params without BN, figures truncated",
                    classes=1001, params="no_bn", digits="truncate")
# source (a prefix of the ``source`` column) -> its convention; others count as lightviz does
SOURCE_CONVENTIONS: dict[str, Convention] = {
    "MobileNetV2 paper": Convention("MobileNetV2 paper: params without BN, figures truncated",
                                    params="no_bn", digits="truncate"),
    "TF-slim MobileNetV2 README": _TF_V2,
    "tf-slim mobilenet/README.md": _TF_V2,
    "tf-slim mobilenet_v1.md": Convention(
        "TF-slim v1 checkpoints: 1001 classes, TF variables (no BN gamma; beta, moving mean and "
        "variance), the 0.75 rows without the stem conv's MACs", classes=1001,
        params="tf_variables", no_stem_alphas=(0.75,)),
    "ShuffleNet V2 paper": Convention(
        "ShuffleNet V2 paper: MACs of the authors' code (megvii layout), params as torchvision",
        macs_layout="authors"),
    "megvii": Convention("megvii's code: its layout, no classifier bias", macs_layout="authors",
                         params_layout="authors"),
}


def convention_of(source: str) -> Convention:
    """The counting convention of a ``source`` (lightviz's own when none is known)."""
    for prefix, conv in SOURCE_CONVENTIONS.items():
        if source.startswith(prefix):
            return conv
    return LIGHTVIZ


MEGVII_V1_STEM = 24  # megvii ShuffleNetV1/network.py: 24 at 1.0x and 1.5x


def _authors_layout(arch: str, layers: pd.DataFrame, classes: int,
                    alpha: float = 1.0) -> tuple[int, int]:
    """(params, MACs) that megvii's ShuffleNet code adds to lightviz's (torchvision) layout.

    ShuffleNet V2 (megvii ShuffleNetV2/blocks.py): each stage's first unit keeps all ``in``
    input channels in its projection branch (1x1 in->in) and gives the main branch
    ``out - in`` outputs, where torchvision gives both branches ``out / 2 = b``: that adds
    ``(in - b)^2`` weights and ``(in - b)^2 H W`` MACs (BN widths cancel). ShuffleNet v1
    (megvii ShuffleNetV1/network.py): the 1.5x stem stays 24 wide where lightviz scales it to
    36. Both ShuffleNets' classifiers have no bias (network.py)."""
    params = -classes
    macs = 0
    stem = layers[layers["path"] == "stem.conv.conv"]
    if arch == "shufflenet_v1" and abs(alpha - 1.5) < 1e-9 \
            and int(stem["out_c"].iloc[0]) != MEGVII_V1_STEM:
        # megvii's 1.5x keeps the 24-wide stem: the stem conv, stage 2's first 1x1 conv (not
        # grouped, input = stem) and its last grouped 1x1 conv (out - stem outputs) change
        c, new = int(stem["out_c"].iloc[0]), MEGVII_V1_STEM
        g1 = layers[layers["path"] == "stage2.0.gconv1.conv"].iloc[0]
        g2 = layers[layers["path"] == "stage2.0.gconv2.conv"].iloc[0]
        mid, groups = int(g1["out_c"]), int(g2["groups"])
        d = new - c
        params += d * (27 + mid - mid // groups)  # conv weights; BN widths cancel (+2d, -2d)
        macs += d * (27 * int(stem["out_h"].iloc[0]) * int(stem["out_w"].iloc[0])
                     + mid * int(g1["out_h"]) * int(g1["out_w"])
                     - mid // groups * int(g2["out_h"]) * int(g2["out_w"]))
    if arch == "shufflenet_v2":
        first = layers[layers["path"].str.match(r"stage\d+\.0\.branch1\.conv_pw\.conv$")]
        for r in first.itertuples():
            b = int(r.out_c)
            c_in = int(r.params) // b
            params += (c_in - b) ** 2
            macs += (c_in - b) ** 2 * int(r.out_h) * int(r.out_w)
    return params, macs


def counts_in(conv: Convention, arch: str, alpha: float, resolution: int,
              groups: int | None) -> tuple[int, int]:
    """(params, MACs) of a configuration counted in the convention ``conv``."""
    prof = count(make_config(arch, alpha, resolution=resolution, groups=groups,
                             classes=conv.classes))
    layers = prof.layers
    params, macs = prof.params, prof.macs
    bn = int(layers.loc[layers["kind"] == "batch norm", "params"].sum())
    if conv.params == "no_bn":
        params -= bn
    elif conv.params == "tf_variables":
        params += bn // 2  # gamma/beta (2 a channel) -> beta, moving mean, moving variance (3)
    if any(abs(alpha - a) < 1e-9 for a in conv.no_stem_alphas):
        macs -= int(layers.loc[layers["path"].str.startswith("stem"), "macs"].sum())
    if "authors" in (conv.macs_layout, conv.params_layout) and arch.startswith("shufflenet"):
        d_params, d_macs = _authors_layout(arch, layers, conv.classes, alpha)
        params += d_params if conv.params_layout == "authors" else 0
        macs += d_macs if conv.macs_layout == "authors" else 0
    return params, macs


def within_printed(ours: float, published: float, field: str, digits: str = "round") -> bool:
    """Whether ``ours`` prints as ``published`` (rounded, or truncated, to its last digit)."""
    unit = printed_unit(published, field)
    if digits == "truncate":
        return 0 <= ours - published < unit
    return abs(ours - published) <= unit / 2


def printed_unit(value: float, field: str) -> float:
    """The unit of the last digit a paper printed for ``value``: papers print params in M with
    one or two decimals and MACs in whole M (or G with one decimal above 10^9), so the trailing
    zeros of the stored number are capped accordingly (140000000 is "140M", not "0.14G")."""
    v = int(round(value))
    tz = 0
    while v and v % 10 == 0 and tz < 12:
        v //= 10
        tz += 1
    unit = 10.0 ** tz
    if field == "params":
        return min(unit, 1e5)
    return unit if value >= 1e9 else min(unit, 1e6)


def load_published(path: Path = PUBLISHED_CSV) -> pd.DataFrame:
    """The published figures, with groups as a nullable integer and a family column."""
    if not path.exists():
        raise FileNotFoundError(f"published figures not found at {path} (the app ships them "
                                f"under assets/)")
    df = pd.read_csv(path)
    df["groups"] = df["groups"].astype("Int64")
    df["family"] = [REGISTRY[a].family for a in df["arch"]]
    for col in ("note", "source"):
        df[col] = df[col].fillna("")
    return df


# The checkpoint tables of assets/published_accuracy.csv (lightviz.accuracy) that the check
# adds: source there -> the source in published_figures.csv whose rows they replace (the same
# table, fewer columns) or None.
CHECKPOINT_TABLES = {
    "tf-slim mobilenet_v1.md": None,
    "tf-slim mobilenet/README.md": "TF-slim MobileNetV2 README",
    "megvii ShuffleNetV2/README.md": None,
    "megvii ShuffleNetV1/README.md": "megvii ShuffleNet-Series README",
}


def with_checkpoints(published: pd.DataFrame) -> pd.DataFrame:
    """``published`` plus every checkpoint of :data:`CHECKPOINT_TABLES` (params and MACs as
    their tables print them; the note is the table's convention), replacing the rows that
    quoted the same table."""
    from .accuracy import load_points

    rows = [{"arch": p.arch, "variant": p.variant, "alpha": p.alpha,
             "resolution": p.resolution, "groups": p.groups, "params": float(p.params),
             "macs": float(p.macs), "top1": p.top1, "source": p.source, "note": p.convention}
            for p in load_points() if p.source in CHECKPOINT_TABLES]
    replaced = {v for v in CHECKPOINT_TABLES.values() if v}
    extra = pd.concat([pd.DataFrame(rows), int8_rows()], ignore_index=True)
    extra["groups"] = extra["groups"].astype("Int64")
    extra["family"] = [REGISTRY[a].family for a in extra["arch"]]
    kept = published[~published["source"].isin(replaced)]
    return pd.concat([kept, extra], ignore_index=True)


# the int8 twins of the tf-slim v1 rows: the same table, the same figures, the same causes
INT8_TABLES = ("tf-slim mobilenet_v1.md (_quant)",)
EXPLANATIONS.update({(a, v + "_quant"): why for (a, v), why in list(EXPLANATIONS.items())
                     if a == "mobilenet_v1" and v.startswith("MobileNet_v1_")})


def int8_rows() -> pd.DataFrame:
    """The published int8 checkpoints of :data:`INT8_TABLES` as paper-check rows: params and
    MACs of the float checkpoint of the same table (it prints the same for both), top-1 the
    int8 one."""
    from .accuracy import load_points
    from .accuracy_int8 import load_int8_points

    floats = {(p.arch, p.alpha, p.resolution): p for p in load_points()}
    rows = []
    for q in load_int8_points():
        if q.source in INT8_TABLES:
            f = floats[(q.arch, q.alpha, q.resolution)]
            rows.append({"arch": q.arch, "variant": q.variant, "alpha": q.alpha,
                         "resolution": q.resolution, "groups": None, "params": float(f.params),
                         "macs": float(f.macs), "top1": q.int8_top1, "source": q.source,
                         "note": f"{f.convention}; int8: {q.note}", "precision": "int8"})
    return pd.DataFrame(rows)


def _status(row, ours: dict[str, int], conv: Convention = LIGHTVIZ) -> str:
    """``ours``: the counts in the row's source's convention ``conv``."""
    key = (row.arch, row.variant)
    if key in OTHER_NETWORK:
        return OTHER
    rel, within = [], True
    for field in ("params", "macs"):
        pub = getattr(row, field)
        if pd.isna(pub):
            continue
        rel.append(abs(ours[field] - pub) / pub)
        if not within_printed(ours[field], pub, field, conv.digits):
            within = False
    if within:
        return MATCH
    if key in EXPLANATIONS:
        return EXPLAINED
    return CLOSE_STATUS if max(rel) < CLOSE else DIFFERS


def paper_check(published: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per published configuration: the published params/MACs/top-1, lightviz's counts
    at the same arch, alpha, resolution and groups (1000 classes), the relative differences, a
    status (see the module doc), the explanation (:data:`EXPLANATIONS`, or "") and the source's
    own note; ``precision`` (fp32 or int8) of the top-1, and ``top1_lightviz``, lightviz's
    estimate at that configuration and precision (None where there is none)."""
    from .accuracy_int8 import estimate_for

    df = with_checkpoints(load_published()) if published is None else published
    if "precision" not in df:
        df = df.assign(precision="fp32")
    df = df.assign(precision=df["precision"].fillna("fp32"))
    out = []
    for row in df.itertuples(index=False):
        groups = None if pd.isna(row.groups) else int(row.groups)
        cfg = make_config(row.arch, row.alpha, resolution=int(row.resolution), groups=groups)
        prof = count(cfg)
        conv = convention_of(row.source)
        c_params, c_macs = counts_in(conv, row.arch, row.alpha, int(row.resolution), groups) \
            if conv != LIGHTVIZ else (prof.params, prof.macs)
        ours = {"params": c_params, "macs": c_macs}
        explanation = EXPLANATIONS.get((row.arch, row.variant), "")
        out.append({
            "arch": row.arch, "family": row.family, "variant": row.variant, "alpha": row.alpha,
            "resolution": int(row.resolution), "groups": groups,
            "params_published": row.params, "params_lightviz": prof.params,
            "params_diff": (prof.params - row.params) / row.params if pd.notna(row.params) else None,
            "macs_published": row.macs, "macs_lightviz": prof.macs,
            "macs_diff": (prof.macs - row.macs) / row.macs if pd.notna(row.macs) else None,
            "top1": row.top1, "status": _status(row, ours, conv), "precision": row.precision,
            "top1_lightviz": estimate_for(cfg, row.precision).value,
            "convention": conv.name, "params_convention": c_params, "macs_convention": c_macs,
            "explanation": explanation, "note": row.note, "source": row.source,
        })
    t = pd.DataFrame(out)
    t["groups"] = t["groups"].astype("Int64")
    for col in ("params_diff", "macs_diff", "params_published", "macs_published", "top1",
                "top1_lightviz"):
        t[col] = t[col].astype("float64")
    return t


def same_configuration(table: pd.DataFrame, arch: str, alpha: float, resolution: int,
                       groups: int | None) -> pd.Series:
    """The rows of a :func:`paper_check` table that describe exactly this configuration."""
    same_groups = (table["groups"] == groups).fillna(False) if groups is not None \
        else table["groups"].isna()
    return ((table["arch"] == arch) & ((table["alpha"] - alpha).abs() < 1e-9)
            & (table["resolution"] == resolution) & same_groups)
