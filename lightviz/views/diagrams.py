"""The Diagrams page: a block of the current configuration drawn from its profile rows, the whole
network with repeated blocks folded, the channel shuffle, and the depthwise-separable calculator.

Every picture is DOT laid out in the browser by ``st.graphviz_chart`` (no system Graphviz needed);
the DOT can be downloaded, and SVG too where Graphviz's ``dot`` is installed.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .. import charts
from ..config import ALPHA_MAX, ALPHA_MIN, RHO_MAX, RHO_MIN, Config
from ..counting import Profile
from ..diagrams import calculator, dot, notes
from ..state import show_value
from ..units import fmt_count
from . import cached_profile, keys, nice_label

TABLE3 = {keys.DSC_KERNEL: 3, keys.DSC_IN: 512, keys.DSC_OUT: 512, keys.DSC_SIZE: 14,
          keys.DSC_ALPHA: 0.75, keys.DSC_RHO: 0.714}
COLOR_BY = {"MACs": "macs", "params": "params"}
# exact counts in tables carry thousands separators (lightviz.units)
_EXACT = {c: st.column_config.NumberColumn(format="localized") for c in ("macs", "params", "MACs")}


# ---------------------------------------------------------------------------------------------
# Cached work (all keyed on the frozen Config and plain values)
# ---------------------------------------------------------------------------------------------


@st.cache_data(max_entries=256, show_spinner=False)
def _block_dot(cfg: Config, block: str, part: str | None, weight: str, ops: bool,
               background: str | None) -> str:
    return dot.block_dot(cached_profile(cfg), block, part, weight=weight, ops=ops, background=background)


@st.cache_data(max_entries=64, show_spinner=False)
def _overview_dot(cfg: Config, weight: str, background: str | None) -> str:
    return dot.overview_dot(cached_profile(cfg), weight=weight, background=background)


@st.cache_data(max_entries=128, show_spinner=False)
def _svg(dot_text: str) -> str | None:
    try:
        return dot.to_svg(dot_text)
    except (dot.GraphvizMissing, RuntimeError, OSError):
        return None


# ---------------------------------------------------------------------------------------------
# Small pieces
# ---------------------------------------------------------------------------------------------


def _downloads(dot_light: str, stem: str, key: str) -> None:
    """DOT always; SVG where Graphviz's ``dot`` is installed (both on a white page, for slides)."""
    c1, c2, _ = st.columns([1, 1, 2])
    c1.download_button("Download DOT", dot_light, file_name=f"{stem}.dot", mime="text/vnd.graphviz",
                       key=f"{key}_dot")
    if dot.dot_available():
        svg = _svg(dot_light)
        if svg is not None:
            c2.download_button("Download SVG", svg, file_name=f"{stem}.svg", mime="image/svg+xml",
                               key=f"{key}_svg")
    else:
        c2.caption("SVG download needs Graphviz's `dot` on the server (apt-get install graphviz); "
                   "the DOT file opens in any Graphviz tool.")


def _chart(dot_text: str) -> None:
    """The DOT laid out by the browser; wide (the page's width) when the projector toggle is on."""
    wide = bool(st.session_state.get(keys.DIAGRAM_WIDE, False))
    st.graphviz_chart(dot_text, width="stretch" if wide else "content")


def _block_from_url(blocks_by_stage) -> tuple[str | None, str | None]:
    """The ``?block=`` of the URL if it names a block of this configuration, else None; and the
    raw value when it names none (a typo, a block of another architecture)."""
    try:
        want = st.query_params.get("block")
    except Exception:  # no query params outside a running app
        return None, None
    if want is None:
        return None, None
    for _, blocks in blocks_by_stage:
        if want in blocks:
            return want, None
    return None, want


# ---------------------------------------------------------------------------------------------
# Tabs
# ---------------------------------------------------------------------------------------------


def _choose_block(cfg: Config, prof: Profile) -> tuple[str, str | None]:
    """The stage, block and part selectors (seeded from ``?block=``): the block and its part."""
    by_stage = dot.stages(prof)
    stage_names = [s for s, _ in by_stage]
    blocks_of = dict(by_stage)
    wanted, unknown = _block_from_url(by_stage)
    if wanted is None:  # the first block showing the family's unit whole (shortcut, stride 1)
        wanted = dot.default_block(prof)
    default_stage = next(s for s, bl in by_stage if wanted in bl)
    if unknown is not None:
        st.warning(f"block {show_value(unknown)} is not a block of {nice_label(cfg)}: showing "
                   f"{wanted}. Blocks are named STAGE.INDEX, e.g. "
                   f"{by_stage[min(1, len(by_stage) - 1)][1][0]}.", icon=":material/link:")

    sig = f"{cfg.arch}:{cfg.groups}"
    c1, c2, c3 = st.columns([2, 2, 3])
    stage = c1.selectbox(
        "Stage", stage_names, index=stage_names.index(default_stage), key=f"diagram_stage:{sig}",
        format_func=lambda s: f"{s} ({len(blocks_of[s])} block{'s' if len(blocks_of[s]) != 1 else ''})"
        if s not in ("stem", "head") else s,
        help="Stages group the blocks that work at one resolution.")
    blocks = blocks_of[stage]
    if len(blocks) > 1:
        idx_default = blocks.index(wanted) if wanted in blocks else 0
        block = c2.selectbox("Block", blocks, index=idx_default, key=f"diagram_block:{sig}:{stage}",
                             format_func=lambda b: f"{b.rsplit('.', 1)[1]}  ({b})",
                             help="Block 0 of a stage changes the shape (stride 2 or new width); "
                                  "the others repeat it.")
    else:
        block = blocks[0]
        c2.text_input("Block", block, disabled=True, key=f"diagram_block_fixed:{sig}:{stage}")
    parts = dot.block_parts(prof, block)
    part_label = {"": "the whole block"}
    for p in parts:
        sub = dot.child_type(cfg, block, p)
        part_label[p] = f"{p} ({sub})" if sub else p
    part = c3.selectbox("Show", ["", *parts], format_func=lambda p: part_label[p],
                        key=f"diagram_part:{sig}:{block}",
                        help="Zoom into one unit of the block, such as a Ghost module.") or None
    return block, part


def _block_numbers(prof: Profile, rows) -> None:
    """The block's MACs, params and share as cards, and its input and output shapes."""
    macs, params = sum(r.macs for r in rows), sum(r.params for r in rows)
    m1, m2, m3 = st.columns(3)
    m1.metric("MACs", fmt_count(macs), help=f"{macs:,} multiply-accumulates of the convolutions "
                                            "(and classifier) in this block")
    m2.metric("Parameters", fmt_count(params),
              help=f"{params:,} weights, biases, batch-norm gamma and beta")
    m3.metric("Share of the network's MACs", f"{100 * macs / prof.macs:.1f} %")
    first_in, last_out = rows[0].in_shape.split(" + ")[0], rows[-1].out_shape
    st.caption(f"Input {first_in.replace('x', '×')} → output {last_out.replace('x', '×')} "
               f"(channels × height × width, batch 1)")


def _block_tab(cfg: Config, prof: Profile) -> None:
    block, part = _choose_block(cfg, prof)
    o1, o2 = st.columns([2, 3])
    weight = COLOR_BY[o1.radio("Color by share of", list(COLOR_BY), horizontal=True,
                               key=keys.DIAGRAM_COLOR)]
    ops = o2.toggle("One node per op (batch norm and activations apart)", key=keys.DIAGRAM_OPS)
    o2.toggle("Fit the page width (for a projector)", key=keys.DIAGRAM_WIDE,
              help="Draw the diagrams as wide as the page. The expand button at a diagram's "
                   "top right shows it full screen.")
    try:
        if st.query_params.get("block") != block:
            st.query_params["block"] = block
    except Exception:
        pass

    rows = dot.block_rows(prof, block, part)
    _block_numbers(prof, rows)
    st.markdown(notes.describe(prof, block))

    _chart(_block_dot(cfg, block, part, weight, ops, None))
    name = f"{cfg.arch}_{cfg.alpha:g}x_{cfg.resolution}_{block}{'.' + part if part else ''}"
    _downloads(_block_dot(cfg, block, part, weight, ops, "white"), name, "diagram_block_dl")
    with st.expander("The profile rows behind this picture"):
        cols = ["path", "kind", "op", "kernel", "stride", "groups", "in_shape", "out_shape",
                "params", "macs"]
        st.dataframe(prof.layers.iloc[[r.index for r in rows]][cols], hide_index=True,
                     column_config=_EXACT)


def _overview_tab(cfg: Config, prof: Profile) -> None:
    items = dot.summaries(prof)
    n_blocks = sum(len(s.blocks) for s in items if s.stage not in ("stem", "head"))
    folded = sum(1 for s in items if len(s.blocks) > 1)
    st.markdown(f"{nice_label(cfg)}: {n_blocks} blocks in {len(dot.stages(prof)) - 2} stages, "
                f"{len(prof.rows)} ops. Stages are frames; consecutive blocks with identical "
                f"shapes and counts are folded into one node \"× n\" ({folded} folds here).")
    weight = COLOR_BY[st.radio("Color by share of", list(COLOR_BY), horizontal=True,
                               key=keys.OVERVIEW_COLOR)]
    _chart(_overview_dot(cfg, weight, None))
    _downloads(_overview_dot(cfg, weight, "white"), f"{cfg.arch}_{cfg.alpha:g}x_{cfg.resolution}_overview",
               "diagram_overview_dl")


def _shuffle_tab(cfg: Config, prof: Profile) -> None:
    shuffles = [r for r in prof.rows if r.op == "channel_shuffle"]
    if shuffles:
        r = shuffles[0]
        g_cfg, channels, where = r.groups, r.out_c, r.path
        st.markdown(f"In {nice_label(cfg)}, the first channel shuffle is `{where}`: {channels} channels in "
                    f"{g_cfg} groups ({len(shuffles)} shuffles in the network).")
    else:
        g_cfg, channels, where = 3, None, ""
        st.markdown(f"{cfg.arch} has no channel shuffle: ShuffleNet v1 and v2 do. Try the groups "
                    f"below.")
    c1, c2 = st.columns(2)
    g = c1.select_slider("Groups g", options=[1, 2, 3, 4, 8], value=g_cfg if g_cfg in (1, 2, 3, 4, 8) else 3,
                         key=f"shuffle_groups:{cfg.arch}:{cfg.groups}")
    n = c2.slider("Channels drawn per group", 1, max(1, 64 // g), min(max(2, g), 64 // g),
                  key=f"shuffle_per_group:{g}")
    real = channels if (channels is not None and g == g_cfg) else None
    st.markdown(notes.shuffle_note(g))
    text = dot.shuffle_dot(g, real, n, where=where if real else "")
    _chart(text)
    _downloads(dot.shuffle_dot(g, real, n, where=where if real else "", background="white"),
               f"channel_shuffle_g{g}", "diagram_shuffle_dl")


def _dsc_table(res: dict) -> None:
    """The calculator's rows in the layout of MobileNets' Table 3, rounded and exact."""
    table = pd.DataFrame([{
        "layer": row["layer"], "M → N": f"{row['in']} → {row['out']}",
        "D_F": row["size"], "MACs": fmt_count(row["macs"]), "params": fmt_count(row["params"]),
        "MACs (exact)": row["macs"], "params (exact)": row["params"],
    } for row in res["table"]])
    st.markdown("**As MobileNets' Table 3** (one layer; the paper's example is K = 3, M = N = 512, "
                "D_F = 14: 462 M / 2.36 M standard, 52.3 M / 0.27 M separable, 29.6 M / 0.15 M at "
                "alpha 0.75, 15.1 M / 0.15 M at rho 0.714)")
    st.dataframe(table, hide_index=True, column_config={
        "MACs": st.column_config.TextColumn(alignment="right"),
        "params": st.column_config.TextColumn(alignment="right"),
        **{c: st.column_config.NumberColumn(format="localized") for c in ("MACs (exact)", "params (exact)")}})


def _dsc_section() -> tuple[int, int, int, int] | None:
    """Standard against depthwise separable for the K, M, N, D_F chosen here: (K, M, N, D_F), or
    None (with the reason shown) when they cannot be counted."""
    st.markdown("One K × K convolution from M to N channels on a D_F × D_F map (stride 1), as a "
                "**standard** convolution and as a **depthwise separable** one: a K × K depthwise "
                "conv (one filter per input channel) followed by a 1 × 1 pointwise conv. "
                "**MACs** are multiply-accumulates (the papers' Mult-Adds; 1 MAC = 2 FLOPs); "
                "**params** are weights, without bias or batch norm, as in MobileNets' Table 3.")
    for k, v in ((keys.DSC_KERNEL, 3), (keys.DSC_IN, 512), (keys.DSC_OUT, 512), (keys.DSC_SIZE, 14),
                 (keys.DSC_ALPHA, 1.0), (keys.DSC_RHO, 1.0)):
        st.session_state.setdefault(k, v)

    def load_table3():
        st.session_state.update(TABLE3)

    c = st.columns(6)
    k = c[0].number_input("K (kernel)", 1, calculator.KERNEL_MAX, step=1, key=keys.DSC_KERNEL)
    m = c[1].number_input("M (in channels)", 1, calculator.CHANNELS_MAX, step=1, key=keys.DSC_IN)
    n = c[2].number_input("N (out channels)", 1, calculator.CHANNELS_MAX, step=1, key=keys.DSC_OUT)
    d = c[3].number_input("D_F (map side)", 1, calculator.SIZE_MAX, step=1, key=keys.DSC_SIZE)
    a = c[4].number_input("alpha (width)", float(ALPHA_MIN), float(ALPHA_MAX), step=0.05,
                          format="%.2f", key=keys.DSC_ALPHA)
    r = c[5].number_input("rho (resolution)", float(round(RHO_MIN, 3)), float(round(RHO_MAX, 3)),
                          step=0.01, format="%.3f", key=keys.DSC_RHO)
    st.button("MobileNets Table 3 example (alpha 0.75, rho 0.714)", on_click=load_table3,
              key="dsc_table3")
    try:
        res = calculator.dsc(k, m, n, d, a, r)
    except ValueError as exc:
        st.error(str(exc))
        return None
    std, sep = res["standard"], res["separable"]
    e = res["effective"]
    scaled = (res["inputs"]["alpha"], res["inputs"]["rho"]) != (1.0, 1.0)
    if scaled:
        st.caption(f"At alpha {a:g} and rho {r:g}: M' = {e['in']}, N' = {e['out']}, D_F' = {e['size']} "
                   f"(rounded to whole channels and pixels).")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Standard MACs", fmt_count(std["macs"]), help=f"{std['macs']:,} multiply-accumulates")
    m2.metric("Separable MACs", fmt_count(sep["macs"]),
              delta=f"{100 * (res['ratio'] - 1):.1f} %", delta_color="inverse",
              help=f"{sep['macs']:,} = depthwise {sep['depthwise']['macs']:,} + pointwise "
                   f"{sep['pointwise']['macs']:,}")
    m3.metric("Standard params", fmt_count(std["params"]), help=f"{std['params']:,} weights")
    m4.metric("Separable params", fmt_count(sep["params"]),
              delta=f"{100 * (res['ratio'] - 1):.1f} %", delta_color="inverse",
              help=f"{sep['params']:,} weights")
    for line in calculator.dsc_latex(res):
        st.latex(line)
    _dsc_table(res)
    return k, m, n, d


def _ghost_section(k: int, m: int, n: int, d: int) -> None:
    st.subheader("Ghost module")
    st.markdown("GhostNet makes n output maps with an ordinary k × k conv for only n/s of them and "
                "a cheap d × d depthwise conv for the other (s − 1)·n/s ('ghosts'). Same M, N, K "
                "and D_F as above (alpha and rho not applied).")
    g1, g2 = st.columns(2)
    s = g1.slider("s (ratio)", 2, 6, 2, key=keys.GHOST_RATIO)
    dk = g2.select_slider("d (cheap kernel)", options=[1, 3, 5, 7], value=3, key=keys.GHOST_D)
    gh = calculator.ghost_module(m, n, d, kernel=k, cheap_kernel=dk, ratio=s)
    h1, h2, h3 = st.columns(3)
    h1.metric("Ordinary conv MACs", fmt_count(gh["ordinary"]["macs"]))
    h2.metric("Ghost module MACs", fmt_count(gh["ghost"]["macs"]),
              help=f"primary {gh['ghost']['primary']['channels']} maps: "
                   f"{gh['ghost']['primary']['macs']:,}; cheap {gh['ghost']['cheap']['channels']} "
                   f"maps: {gh['ghost']['cheap']['macs']:,}")
    h3.metric("Speed-up", f"{gh['speedup']:.2f}×", help=f"params: {gh['compression']:.2f}× fewer")
    st.latex(gh["formulas"]["speedup"] + rf" = \frac{{{s}\cdot{m}}}{{{s}+{m}-1}} = {gh['paper_approx']:.2f}"
             + rf"\quad(\text{{exact here: }}{gh['speedup']:.2f})")
    st.caption("GhostNet's own modules use a 1 × 1 primary conv (k = 1) with d = 3: set K = 1 to "
               "see that the saving is then less than s, because the cheap op is not cheaper than "
               "the primary one.")


def _family_section(cfg: Config) -> None:
    st.subheader("One unit of each family at equal widths")
    st.markdown("Stride-1 units with C input and C output channels on a D_F × D_F map, counted by the "
                "same spec and counter as the networks (params include batch norm here, as in every "
                "profile of the app).")
    f1, f2, f3, f4 = st.columns(4)
    width = f1.number_input("C (width)", 8, 4096, 240, step=12, key=keys.FAMILY_WIDTH,
                            help="240 works for every unit; ShuffleNet v1 needs C/4 divisible by g")
    size = f2.number_input("D_F", 1, 512, 28, key=keys.FAMILY_SIZE)
    t = f3.number_input("expansion t (MobileNetV2, Ghost)", 1.0, 12.0, 6.0, step=0.5, key=keys.FAMILY_T)
    groups = f4.selectbox("groups g (ShuffleNet v1)", [1, 2, 3, 4, 8],
                          index=[1, 2, 3, 4, 8].index(cfg.groups if cfg.groups in (1, 2, 3, 4, 8) else 3),
                          key=keys.FAMILY_G)
    try:
        units = calculator.family_units(width, size, expansion=t, groups=groups)
    except ValueError as exc:
        st.error(str(exc))
        return
    df = pd.DataFrame([{
        "family": u["family"], "unit": u["unit"], "what": u["description"],
        "MACs": u["macs"], "params": u["params"],
        "MACs vs 3x3 conv": None if u["relative_macs"] is None else round(u["relative_macs"], 3),
        "note": u["note"],
    } for u in units])
    st.dataframe(df, hide_index=True, column_config=_EXACT)
    st.plotly_chart(charts.unit_macs_figure(df))


def _calculator_tab(cfg: Config) -> None:
    chosen = _dsc_section()
    if chosen is not None:
        _ghost_section(*chosen)
        _family_section(cfg)


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


def render(cfg: Config) -> None:
    """The Diagrams page for one configuration."""
    st.header("Block diagrams")
    st.caption("Drawn from the same profile rows as the counts: every channel count, shape and "
               "MAC on a picture is the one in the tables. Node fill = the op's share of the "
               "block's MACs (or params); edges carry tensor shapes C×H×W.")
    try:
        prof = cached_profile(cfg)
    except ValueError as exc:
        st.error(str(exc))
        return
    t_block, t_net, t_shuffle, t_calc = st.tabs(
        ["Block", "Whole network", "Channel shuffle", "Depthwise separable calculator"])
    for tab, fn in ((t_block, lambda: _block_tab(cfg, prof)), (t_net, lambda: _overview_tab(cfg, prof)),
                    (t_shuffle, lambda: _shuffle_tab(cfg, prof)), (t_calc, lambda: _calculator_tab(cfg))):
        with tab:
            try:
                fn()
            except ValueError as exc:
                st.error(str(exc))
