"""Paper check: the papers' tables next to lightviz's counts, with the differences and why."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from ..config import BASE_RESOLUTION, Config
from ..reference import CLOSE, CLOSE_STATUS, DIFFERS, EXPLAINED, MATCH, OTHER, STATUS_ORDER
from ..state import ARCH_LABELS
from ..units import fmt_top1
from . import as_text, cached_paper_check, keys

BADGE_COLORS = {MATCH: "green", EXPLAINED: "blue", CLOSE_STATUS: "orange", DIFFERS: "red",
                OTHER: "gray"}

ICONS = {
    MATCH: ":material/check_circle:",
    EXPLAINED: ":material/info:",
    CLOSE_STATUS: "\u2248",
    DIFFERS: ":material/warning:",
    OTHER: ":material/do_not_disturb_on:",
}
MEANING = {
    MATCH: "within the rounding of the printed figure (4.2M covers 4.15M to 4.25M)",
    EXPLAINED: "a known cause, given below",
    CLOSE_STATUS: f"under {CLOSE * 100:.0f} % apart; the source does not say what it counts "
                  f"differently",
    DIFFERS: "a larger gap without a known cause",
    OTHER: "the row describes a network lightviz does not build",
}


def explore_link(row) -> str:
    """A relative link that opens this configuration on the Explore page of the same server."""
    q = {"arch": row.arch, "alpha": f"{row.alpha:g}",
         "rho": f"{round(row.resolution / BASE_RESOLUTION, 4):g}"}
    if pd.notna(row.groups):
        q["groups"] = str(int(row.groups))
    return "./?" + urlencode(q)


RULE = (
    "**How the status is decided.** A printed figure stands for a range: half a unit of its last "
    "printed digit either side. *0.5M* covers 0.45M to 0.55M, *4.2M* covers 4.15M to 4.25M, "
    "*569M* covers 568.5M to 569.5M. A count inside the range is a **match** whatever its "
    "\u0394 %: MobileNet v1 0.25-224's 470,072 params against the printed 0.5M are \u22126.0 % "
    "and a match. A count outside it is **close** when under "
    f"{CLOSE * 100:.0f} % apart and no cause is known, however small the \u0394 % (+0.8 % "
    "against a figure printed to three digits is outside its range). The status compares the "
    "count made the source's way (the \"source's way\" columns); \u0394 % is lightviz's own "
    "count against the paper.")


def _pct(diff: pd.Series) -> pd.Series:
    """A relative difference in percent, rounded to the one decimal shown, without a "-0.0"."""
    return (diff * 100).round(1) + 0.0


def render(cfg: Config) -> None:
    st.header("Paper check")
    st.caption(
        "The papers' published figures next to what lightviz counts for the same architecture, "
        "width, resolution and groups (1000 classes). MACs are multiply-accumulates: the papers "
        "call them Mult-Adds, MAdds or FLOPs. Params are those of nn.Module.parameters(), BN "
        "\u03b3/\u03b2 included. Sources: assets/SOURCES.md in the repository.")
    table = cached_paper_check()
    _status_counts(table)

    st.markdown(RULE)
    shown = _filtered(table, cfg)
    _comparison_table(_view(shown))
    _conventions(shown)
    _int8_rows(shown)
    st.caption("\u0394 % = (lightviz \u2212 paper) / paper. \u2013: the source gives no figure. "
               "Top-1 is the source's ImageNet accuracy, for reference (int8 for tf-slim's 16 "
               "_quant checkpoints, listed with lightviz's int8 estimate below). Each row is also "
               "counted the way its source counts (\"source's way\"), and the status compares "
               "that: a row that differs only by convention is a match.")
    _why_they_differ(shown)


def _status_counts(table: pd.DataFrame) -> None:
    """One badge per status with its number of rows and what it means."""
    counts = table["status"].value_counts()
    st.markdown("  \n".join(
        f":{BADGE_COLORS[s]}-badge[{ICONS[s]} {int(counts.get(s, 0))} {s}] {MEANING[s]}."
        for s in STATUS_ORDER))


def _filtered(table: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """The rows of the statuses chosen, and of the current architecture when asked."""
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    statuses = c1.multiselect("Status", STATUS_ORDER, key=keys.PAPER_STATUS,
                              placeholder="every status")
    mine = c2.toggle(f"Only {ARCH_LABELS[cfg.arch]}", key=keys.PAPER_ONLY_ARCH)
    shown = table
    if mine:
        shown = shown[shown["arch"] == cfg.arch]
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    return shown


def _view(shown: pd.DataFrame) -> pd.DataFrame:
    """The rows as the table shows them: figures the source lacks as a dash, differences in %."""
    return pd.DataFrame({
        "configuration": [f"{ARCH_LABELS[a]} {v}" for a, v in zip(shown["arch"], shown["variant"])],
        "status": shown["status"],
        "params_published": as_text(shown["params_published"]),
        "params_lightviz": shown["params_lightviz"],
        "params_diff": as_text(_pct(shown["params_diff"]), "{:+.1f}"),
        "macs_published": as_text(shown["macs_published"]),
        "macs_lightviz": shown["macs_lightviz"],
        "macs_diff": as_text(_pct(shown["macs_diff"]), "{:+.1f}"),
        "params_source": shown["params_convention"],
        "macs_source": shown["macs_convention"],
        "convention": shown["convention"],
        "top1": ["\u2013" if pd.isna(v) else fmt_top1(v) for v in shown["top1"]],
        "alpha": shown["alpha"],
        "resolution": shown["resolution"],
        "groups": ["" if pd.isna(g) else str(int(g)) for g in shown["groups"]],
        "open": [explore_link(r) for r in shown.itertuples()],
        "source": shown["source"],
    })


# What the table shows, in order. Every figure fits a 1440 px page beside the sidebar (the grid
# is about 980 px wide there: the widths below add up to 958); the source comes last, a sideways
# scroll away, with the configuration pinned so a row keeps its name. The source's convention (a
# sentence per source) is said once under the table (:func:`_conventions`), not on every row;
# alpha, px and g are in the configuration's name.
SHOWN = ("configuration", "status", "params_published", "params_lightviz", "params_diff",
         "macs_published", "macs_lightviz", "macs_diff", "params_source", "macs_source", "top1",
         "open", "source")


def _comparison_table(view: pd.DataFrame) -> None:
    """The published figures next to lightviz's, one row per configuration."""
    st.dataframe(view, hide_index=True, width="stretch", height=min(36 * len(view) + 40, 640),
                 column_order=SHOWN, column_config={
        "configuration": st.column_config.TextColumn("configuration", width=166, pinned=True),
        "status": st.column_config.TextColumn("status", width=80),
        "params_published": st.column_config.TextColumn("params, paper", alignment="right",
                                                        width=76),
        "params_lightviz": st.column_config.NumberColumn("params, lightviz", format="localized",
                                                         width=76),
        "params_diff": st.column_config.TextColumn("params \u0394 %", alignment="right", width=58),
        "macs_published": st.column_config.TextColumn("MACs, paper", alignment="right", width=96),
        "macs_lightviz": st.column_config.NumberColumn("MACs, lightviz", format="localized",
                                                       width=96),
        "macs_diff": st.column_config.TextColumn("MACs \u0394 %", alignment="right", width=58),
        "params_source": st.column_config.NumberColumn(
            "params, source's way", format="localized", width=76,
            help="lightviz's count in the source's own convention (the status compares this; "
                 "the conventions are listed under the table)"),
        "macs_source": st.column_config.NumberColumn(
            "MACs, source's way", format="localized", width=96,
            help="lightviz's count in the source's own convention (the status compares this; "
                 "the conventions are listed under the table)"),
        "top1": st.column_config.TextColumn(
            "top-1 %", alignment="right", width=52,
            help="the source's ImageNet top-1; int8 for tf-slim's quantized (_quant) checkpoints"),
        "open": st.column_config.LinkColumn("explore", display_text="open", width=48,
                                            help="Open this configuration on the Explore page"),
        "source": st.column_config.TextColumn("source", width=170),
    })


def _int8_rows(shown: pd.DataFrame) -> None:
    """The int8 rows shown (tf-slim's _quant checkpoints): their published int8 top-1 beside
    lightviz's int8 estimate at that configuration (lightviz.accuracy_int8), which is that
    published value."""
    q = shown[shown["precision"] == "int8"]
    if q.empty:
        return
    same = int((q["top1"] == q["top1_lightviz"]).sum())
    with st.expander(f"int8 rows: {same} of {len(q)} estimates are the published int8 top-1"):
        st.caption("tf-slim's quantization-aware (_quant) MobileNet v1 checkpoints: the table "
                   "prints the float rows' MACs and params for them (checked above like the float "
                   "rows); their top-1 is the int8 one. lightviz's int8 estimate (the fp32 "
                   "estimate minus the fitted drop, exact at the published points) beside it.")
        st.dataframe(pd.DataFrame({
            "configuration": q["variant"],
            "top1": [fmt_top1(v) for v in q["top1"]],
            "top1_lightviz": ["\u2013" if pd.isna(v) else fmt_top1(v) for v in q["top1_lightviz"]],
        }), hide_index=True, column_config={
            "configuration": st.column_config.TextColumn("configuration"),
            "top1": st.column_config.TextColumn("int8 top-1 %, published", alignment="right"),
            "top1_lightviz": st.column_config.TextColumn("int8 top-1 %, lightviz",
                                                         alignment="right"),
        })


def _conventions(shown: pd.DataFrame) -> None:
    """Each source's counting convention once (the "source's way" columns follow it)."""
    pairs = dict.fromkeys(zip(shown["source"], shown["convention"]))
    by_conv: dict[str, list[str]] = {}
    for source, conv in pairs:
        by_conv.setdefault(conv, []).append(source)
    st.caption("Counted the source's way: " + " ".join(
        f"**{conv}** ({', '.join(sources)})." for conv, sources in by_conv.items()))


def _why_they_differ(shown: pd.DataFrame) -> None:
    """Each row shown that is not a match, with its differences and their cause, said once: a
    known cause (:data:`lightviz.reference.EXPLANATIONS`, written from the source's note) or
    what its status means; the sources' own notes follow, each once."""
    st.subheader("Why the numbers differ")
    notes = shown[shown["status"] != MATCH]
    if notes.empty:
        st.caption("Every row shown matches within the printed rounding.")
    left: dict[tuple[str, str], None] = {}
    for row in notes.itertuples():
        why = row.explanation or MEANING[row.status].capitalize() + "."
        if row.note and not row.explanation:
            left[(row.source, row.note)] = None
        st.markdown(f"{ICONS[row.status]} **{ARCH_LABELS[row.arch]} {row.variant}** "
                    f"({row.source}): {'; '.join(_differences(row))}.  \n{why}")
    if left:
        st.markdown("**The sources' notes**  \n" + "  \n".join(
            f"{source}: {note}." for source, note in left))


def _differences(row) -> list[str]:
    """The params and MACs against the published figures, where the source gives them."""
    diffs = []
    if pd.notna(row.params_published):
        diffs.append(f"params {row.params_lightviz:,} vs {row.params_published:,.0f} "
                     f"({round(row.params_diff * 100, 1) + 0.0:+.1f} %)")
    if pd.notna(row.macs_published):
        diffs.append(f"MACs {row.macs_lightviz:,} vs {row.macs_published:,.0f} "
                     f"({round(row.macs_diff * 100, 1) + 0.0:+.1f} %)")
    return diffs
