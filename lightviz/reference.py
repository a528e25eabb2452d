"""The papers' published figures next to lightviz's counts: the data of the Paper check page.

``assets/published_figures.csv`` (a copy of the project's reference table; sources in
``assets/SOURCES.md``) has one row per published configuration: arch, variant, alpha, resolution,
groups, params, macs (multiply-accumulates, whatever the paper calls them), top1, source, note.

A published figure is a rounded number: "4.2M" stands for anything from 4.15 M to 4.25 M. A row
*matches* when every figure it gives is within half a unit of its last printed digit
(:func:`printed_unit`). Otherwise the difference is *explained* when its cause is known
(:data:`EXPLANATIONS`), *close* when it is under 2 %, and *differs* otherwise. A row about a
network lightviz does not build is marked *other network*.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Tuple

import pandas as pd

from .config import make_config
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
EXPLANATIONS: Dict[Tuple[str, str], str] = {
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
    ("resnet34", "paper"):
        "The paper's Table 1 prints 3.6 x 10^9 for 3.66 G (torchvision: 3.66 GMACs); the "
        "parameters equal torchvision's exactly.",
    ("resnet50", "paper"):
        "The paper's 3.8 G is the original bottleneck (stride 2 on the first 1x1 conv); "
        "torchvision's ResNet-50, which lightviz follows, is v1.5 (stride on the 3x3 conv): "
        "4.09 GMACs. The parameters are the same for both and equal torchvision's exactly.",
}
OTHER_NETWORK = {("mobilenet_v1", "conv-mobilenet-224")}


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


def _status(row, ours: Dict[str, int]) -> str:
    key = (row.arch, row.variant)
    if key in OTHER_NETWORK:
        return OTHER
    rel, within = [], True
    for field in ("params", "macs"):
        pub = getattr(row, field)
        if pd.isna(pub):
            continue
        diff = ours[field] - pub
        rel.append(abs(diff) / pub)
        if abs(diff) > printed_unit(pub, field) / 2:
            within = False
    if within:
        return MATCH
    if key in EXPLANATIONS:
        return EXPLAINED
    return CLOSE_STATUS if max(rel) < CLOSE else DIFFERS


def paper_check(published: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """One row per published configuration: the published params/MACs/top-1, lightviz's counts
    at the same arch, alpha, resolution and groups (1000 classes), the relative differences, a
    status (see the module doc), the explanation (:data:`EXPLANATIONS`, or "") and the source's
    own note."""
    df = load_published() if published is None else published
    out = []
    for row in df.itertuples(index=False):
        groups = None if pd.isna(row.groups) else int(row.groups)
        cfg = make_config(row.arch, row.alpha, resolution=int(row.resolution), groups=groups)
        prof = count(cfg)
        ours = {"params": prof.params, "macs": prof.macs}
        explanation = EXPLANATIONS.get((row.arch, row.variant), "")
        out.append({
            "arch": row.arch, "family": row.family, "variant": row.variant, "alpha": row.alpha,
            "resolution": int(row.resolution), "groups": groups,
            "params_published": row.params, "params_lightviz": prof.params,
            "params_diff": (prof.params - row.params) / row.params if pd.notna(row.params) else None,
            "macs_published": row.macs, "macs_lightviz": prof.macs,
            "macs_diff": (prof.macs - row.macs) / row.macs if pd.notna(row.macs) else None,
            "top1": row.top1, "status": _status(row, ours),
            "explanation": explanation, "note": row.note, "source": row.source,
        })
    t = pd.DataFrame(out)
    t["groups"] = t["groups"].astype("Int64")
    for col in ("params_diff", "macs_diff", "params_published", "macs_published", "top1"):
        t[col] = t[col].astype("float64")
    return t


def same_configuration(table: pd.DataFrame, arch: str, alpha: float, resolution: int,
                       groups: Optional[int]) -> pd.Series:
    """The rows of a :func:`paper_check` table that describe exactly this configuration."""
    same_groups = (table["groups"] == groups).fillna(False) if groups is not None \
        else table["groups"].isna()
    return ((table["arch"] == arch) & ((table["alpha"] - alpha).abs() < 1e-9)
            & (table["resolution"] == resolution) & same_groups)


def published_top1(table: pd.DataFrame, arch: str, alpha: float, resolution: int,
                   groups: Optional[int]) -> Optional[float]:
    """The published top-1 of exactly this configuration (the paper's row first), or None."""
    rows = table[same_configuration(table, arch, alpha, resolution, groups)
                 & table["top1"].notna() & (table["status"] != OTHER)]
    return None if rows.empty else float(rows["top1"].iloc[0])
