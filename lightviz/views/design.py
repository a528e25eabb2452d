"""Design your own: the architecture's table in an editor, and what the edit costs.

The table is the family's settings (:mod:`lightviz.zoo.table`), pre-filled with the paper's (or
the link's) and checked on every edit by the same validator as the CLI and the API; the
problems are listed beside the table, naming the row and the column. A valid edit becomes the
session's configuration: the sidebar, the URL (``settings=v1.<base64url JSON>``) and every page
(Explore, Diagrams, Latency) follow the edited network. Reset brings the paper's table back.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from ..config import Config, thaw
from ..configure import make_config
from ..state import ARCH_LABELS, precision, set_settings
from ..zoo import REGISTRY
from ..zoo.table import Problem, SettingsError, current, differences, encode_url
from . import (
    cached_profile,
    delta_arrow,
    fmt_bytes,
    fmt_count,
    fmt_delta,
    keys,
    latency_on,
    nice_label,
    predicted,
)
from .accuracy_ui import top1_card, top1_label  # Explore's card: never two numbers

RESET = "_design_reset"
BASES = "_design_bases"


def editor_key(arch: str, groups, generation: int = 0) -> str:
    """The data editor's widget key: one per architecture and group count, renewed by Reset
    (tests seed its edit state under this key)."""
    g = f"_g{groups}" if groups is not None else ""
    return f"design_{arch}{g}" + (f"_{generation}" if generation else "")


def _column_config(table):
    config = {}
    for c in table.columns:
        if c.kind == "text":
            config[c.name] = st.column_config.TextColumn(c.header, help=c.help, disabled=True)
        else:
            fmt = "%g" if c.kind == "float" else "%d"
            config[c.name] = st.column_config.NumberColumn(
                c.header, help=c.help, step=0.01 if c.kind == "float" else 1, format=fmt,
                default=c.default)
    return config


def _base(ss, key: str, table, cfg: Config):
    """The rows the editor starts from: fixed while its widget lives, so edits apply to the
    same table; a new editor starts from the Config's table (the link's, or the paper's)."""
    bases = ss.setdefault(BASES, {})
    if key not in ss or key not in bases:
        bases[key] = table.rows(current(cfg))
    return bases[key]


def _problem_lines(problems, table) -> list:
    cols = {c.name for c in table.columns}
    out = []
    for p in problems:
        where = []
        if p.row is not None:
            where.append(f"row {p.row + 1}")
        if p.field and (p.field in cols or p.field in table.scalars):
            where.append(p.field)
        dot = " \u00b7 "
        prefix = f"**{dot.join(where)}**: " if where else ""
        out.append(prefix + p.message.removeprefix("settings: "))
    return out


def render(cfg: Config) -> None:
    ss = st.session_state
    arch = REGISTRY[cfg.arch]
    st.header(f"Design your own \u00b7 {ARCH_LABELS[cfg.arch]}")
    table = arch.table
    if table is None:
        st.info(f"{arch.label} has no editable table (its family declares none).")
        return
    st.caption(f"{table.help} \u03b1 {cfg.alpha:g} and the resolution ({cfg.resolution} px) "
               f"apply on top, with the family's usual rounding. Edit a cell: the counts below, "
               f"and Explore, Diagrams and Latency, follow the edited network; the address bar "
               f"holds it, so the link shares the ablation.")

    left, right = st.columns([3, 2])
    with left:
        edited, values = _editor(ss, table, cfg)
    shown, problems = _edited_config(cfg, table, edited, values)
    with right:
        _verdict(cfg, table, problems)
        _differences(shown)
    if not problems and shown.settings != cfg.settings:
        _keep(ss, cfg, shown)
    _costs(shown)


def _editor(ss, table, cfg: Config) -> tuple[pd.DataFrame, dict]:
    """The scalar inputs, the editable table and its reset button: the edited rows and scalars."""
    generation = ss.get(RESET, 0)
    key = editor_key(cfg.arch, cfg.groups, generation)
    rows, scalars = _base(ss, key, table, cfg)
    values = {}
    if table.scalars:
        with st.container(horizontal=True):
            for name in table.scalars:
                values[name] = st.number_input(
                    name, min_value=0, max_value=100_000, step=1, value=int(scalars[name]),
                    key=f"{key}_{name}", help=f"{name} width (1 to 4096)")
    frame = pd.DataFrame(rows, columns=[c.name for c in table.columns])
    edited = st.data_editor(
        frame, key=key, num_rows="dynamic" if table.dynamic else "fixed",
        column_config=_column_config(table), hide_index=True, width="stretch")
    if st.button("Reset to the paper's table", key=keys.DESIGN_RESET_BUTTON,
                 icon=":material/restart_alt:"):
        ss[RESET] = generation + 1
        set_settings(ss, None, cfg.arch, cfg.groups)
        if "settings" in st.query_params:
            del st.query_params["settings"]
        st.rerun()
    return edited, values


def _edited_config(cfg: Config, table, edited: pd.DataFrame, values: dict) -> tuple[Config, list]:
    """The configuration of the edited table, or ``cfg`` with the problems that keep it from being built."""
    raw, problems = table.from_rows(edited.to_dict("records"), values)
    shown = cfg
    if not problems:
        try:
            shown = make_config(cfg.arch, cfg.alpha, resolution=cfg.resolution, groups=cfg.groups,
                                classes=cfg.classes, settings=raw)
        except SettingsError as exc:
            problems = exc.problems
        except ValueError as exc:  # a one-line message from make_config
            problems = [Problem(None, "", str(exc))]
    return shown, problems


def _verdict(cfg: Config, table, problems: list) -> None:
    """Every cell valid, or what keeps the edited table from being built."""
    if problems:
        shows = "the last valid table" if cfg.custom else "the paper's table"
        st.error(f"The edited table cannot be built; the counts show {shows}.\n\n"
                 + "\n".join(f"- {line}" for line in _problem_lines(problems, table)),
                 icon=":material/error:")
    else:
        st.success("Every cell is valid.", icon=":material/check_circle:")


def _keep(ss, cfg: Config, shown: Config) -> None:
    """The edited table kept for the other pages and in the address bar."""
    set_settings(ss, shown.settings, cfg.arch, cfg.groups)
    if shown.settings is None:
        if "settings" in st.query_params:
            del st.query_params["settings"]
    else:
        st.query_params["settings"] = encode_url(shown.settings, shown)


def _differences(cfg: Config) -> None:
    if cfg.settings is None:
        st.markdown("**The paper's table**: a published network.")
        return
    lines = differences(cfg)
    st.markdown("**custom** (not a published network): what differs from the paper\n\n"
                + "\n".join(f"- {line}" for line in lines))


def _costs(cfg: Config) -> None:
    paper = make_config(cfg.arch, cfg.alpha, resolution=cfg.resolution, groups=cfg.groups,
                        classes=cfg.classes)
    prof, base = cached_profile(cfg), cached_profile(paper)
    st.subheader(nice_label(cfg))
    same = cfg == paper
    with st.container(horizontal=True):
        for label, now, then, text in (
                ("Params", prof.params, base.params, fmt_count(prof.params)),
                ("MACs", prof.macs, base.macs, fmt_count(prof.macs)),
                ("Peak activations", prof.peak_activation_bytes, base.peak_activation_bytes,
                 fmt_bytes(prof.peak_activation_bytes))):
            delta = None if same else fmt_delta(now, then)
            st.metric(label, text, delta=delta, delta_arrow=delta_arrow(delta), delta_color="off",
                      delta_description=None if same else "vs the paper's table", border=True)
        value, delta, why = top1_card(cfg, precision())
        st.metric(top1_label(precision()), value, delta=delta, delta_color="off", delta_arrow="off",
                  border=True, help=why)
        latency_on.metric(latency_on.figure(cfg, setup=predicted.chosen_setup()))  # the sidebar's device
    st.caption(f"Exact: **{prof.params:,}** params \u00b7 **{prof.macs:,}** MACs "
               f"(the paper's table: {base.params:,} params, {base.macs:,} MACs).")
    a = prof.layers.groupby("stage", sort=False)[["params", "macs"]].sum()
    b = base.layers.groupby("stage", sort=False)[["params", "macs"]].sum()
    stages = pd.DataFrame({"MACs (yours)": a["macs"], "MACs (paper)": b["macs"],
                           "params (yours)": a["params"], "params (paper)": b["params"]})
    stages = stages.reindex(list(dict.fromkeys(list(a.index) + list(b.index))))
    st.dataframe(stages.map(lambda v: "\u2013" if pd.isna(v) else f"{int(v):,}"),
                 width="stretch")
    if cfg.custom:
        text = json.dumps(thaw(cfg.settings), separators=(",", ":"))
        g = f" --groups {cfg.groups}" if cfg.groups is not None else ""
        st.markdown(f"The same network in a terminal: `lightviz profile {cfg.arch} --alpha "
                    f"{cfg.alpha:g} --resolution {cfg.resolution}{g} --settings '{text}'`  \n"
                    f"[Compare it with the paper's table, stage by stage]({compare_link(cfg)}) "
                    f"(Compare's A/B: A is yours, B the paper's).")


def compare_link(cfg: Config) -> str:
    """A relative link to Compare with A = this edited network and B = the paper's table at
    the same alpha and resolution."""
    from urllib.parse import urlencode

    rho = f"{cfg.resolution / 224:.4g}"
    q = {"arch": cfg.arch, "alpha": f"{cfg.alpha:g}", "rho": rho,
         "settings": encode_url(cfg.settings, cfg),
         "b_arch": cfg.arch, "b_alpha": f"{cfg.alpha:g}", "b_rho": rho}
    if cfg.groups is not None:
        q.update(groups=str(cfg.groups), b_groups=str(cfg.groups))
    if cfg.classes != 1000:
        q["classes"] = str(cfg.classes)
    return "./compare?" + urlencode(q)
