"""The depthwise-separable lesson in numbers: pure functions that return plain dicts.

* :func:`dsc` one K x K convolution of M -> N channels on a D_F x D_F map, standard against
  depthwise separable, at width multiplier alpha and resolution multiplier rho (MobileNets,
  Howard et al. 2017, section 3 and Table 3). Weights only, no bias, no BN, as in the paper;
  stride 1 with "same" padding, so the output map is D_F x D_F.
* :func:`ghost_module` an ordinary convolution against a Ghost module with ratio s (GhostNet,
  Han et al. 2020, eq. 2-5).
* :func:`family_units` one unit of each family at equal input and output widths, counted by the
  same spec and counter as the whole networks (so BN parameters are included there, as in every
  profile of the app). The units are the ones each family declares on its
  :class:`~lightviz.zoo.Arch` (``units``), so a family from a plugin has its row too.

Units: **MACs** are multiply-accumulates ("Mult-Adds" in the paper; 1 MAC = 2 FLOPs);
**params** are weights.
"""

from __future__ import annotations

import math

from ..config import ALPHA_MAX, ALPHA_MIN, RHO_MAX, RHO_MIN, Config
from ..zoo import REGISTRY
from ..zoo.common import Network, Stage

KERNEL_MAX = 15
CHANNELS_MAX = 100_000
SIZE_MAX = 4096
GHOST_RATIO_MAX = 16

FORMULAS = {
    "standard": r"D_K \cdot D_K \cdot M \cdot N \cdot D_F \cdot D_F",
    "separable": r"D_K \cdot D_K \cdot M \cdot D_F \cdot D_F + M \cdot N \cdot D_F \cdot D_F",
    "ratio": r"\frac{D_K^2 M D_F^2 + M N D_F^2}{D_K^2 M N D_F^2} = \frac{1}{N} + \frac{1}{D_K^2}",
    "scaled": r"D_K \cdot D_K \cdot \alpha M \cdot \rho D_F \cdot \rho D_F "
              r"+ \alpha M \cdot \alpha N \cdot \rho D_F \cdot \rho D_F",
    "standard_params": r"D_K \cdot D_K \cdot M \cdot N",
    "separable_params": r"D_K \cdot D_K \cdot M + M \cdot N",
}

UNITS = {
    "macs": "multiply-accumulates (the paper's Mult-Adds; 1 MAC = 2 FLOPs)",
    "params": "weights (no bias, no batch norm), as in the paper's Table 3",
}


# ---------------------------------------------------------------------------------------------
# Checking raw input (CLI strings, app widgets): one-line ValueErrors naming the value
# ---------------------------------------------------------------------------------------------


def _number(name: str, value) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return v


def _whole(name: str, value, lo: int, hi: int) -> int:
    v = _number(name, value)
    if v != int(v):
        raise ValueError(f"{name} must be a whole number, got {v:g}")
    if not lo <= v <= hi:
        raise ValueError(f"{name} {v:g} is out of range: allowed {lo} to {hi}")
    return int(v)


def _ranged(name: str, value, lo: float, hi: float) -> float:
    v = _number(name, value)
    if not lo <= v <= hi:
        raise ValueError(f"{name} {v:g} is out of range: allowed {lo:.3g} to {hi:.3g}")
    return v


def _round(x: float) -> int:
    """Round half up, never below 1 (a layer has at least one channel and one pixel)."""
    return max(1, int(math.floor(x + 0.5)))


# ---------------------------------------------------------------------------------------------
# Standard against depthwise separable
# ---------------------------------------------------------------------------------------------


def standard_conv(kernel: int, in_ch: int, out_ch: int, size: int) -> dict[str, int]:
    """A K x K convolution, M -> N channels, D_F x D_F output: K*K*M*N weights,
    K*K*M*N*D_F*D_F MACs."""
    params = kernel * kernel * in_ch * out_ch
    return {"params": params, "macs": params * size * size}


def separable_conv(kernel: int, in_ch: int, out_ch: int, size: int) -> dict:
    """A K x K depthwise conv (one filter per input channel) then a 1x1 pointwise conv M -> N."""
    dw = kernel * kernel * in_ch
    pw = in_ch * out_ch
    area = size * size
    return {
        "params": dw + pw,
        "macs": (dw + pw) * area,
        "depthwise": {"params": dw, "macs": dw * area},
        "pointwise": {"params": pw, "macs": pw * area},
    }


def dsc(kernel, in_ch, out_ch, size, alpha=1.0, rho=1.0) -> dict:
    """Standard against depthwise separable for one layer (MobileNets section 3, Table 3).

    ``alpha`` thins both channel counts (alpha*M, alpha*N), ``rho`` shrinks the map (rho*D_F); each
    is rounded to the nearest whole channel / pixel. Returns ``standard`` and ``separable`` at
    the given alpha and rho (each with ``params`` and ``macs``), their ``ratio`` (separable /
    standard, the same for MACs and params: exactly 1/N' + 1/K^2), the ``effective`` sizes,
    and ``table``: the rows of the paper's Table 3 for these inputs.
    """
    k = _whole("kernel", kernel, 1, KERNEL_MAX)
    m = _whole("in (input channels M)", in_ch, 1, CHANNELS_MAX)
    n = _whole("out (output channels N)", out_ch, 1, CHANNELS_MAX)
    d = _whole("size (feature map D_F)", size, 1, SIZE_MAX)
    a = _ranged("alpha", alpha, ALPHA_MIN, ALPHA_MAX)
    r = _ranged("rho", rho, RHO_MIN, RHO_MAX)
    m2, n2, d2 = _round(a * m), _round(a * n), _round(r * d)
    std = standard_conv(k, m2, n2, d2)
    sep = separable_conv(k, m2, n2, d2)
    ratio = sep["macs"] / std["macs"]

    def row(name, std_or_sep, aa, rr, mm, nn, dd):
        fn = standard_conv if std_or_sep == "standard" else separable_conv
        c = fn(k, mm, nn, dd)
        return {"layer": name, "alpha": aa, "rho": rr, "in": mm, "out": nn, "size": dd,
                "macs": c["macs"], "params": c["params"]}

    table = [row("standard convolution", "standard", 1.0, 1.0, m, n, d),
             row("depthwise separable", "separable", 1.0, 1.0, m, n, d)]
    if a != 1.0:
        table.append(row(f"alpha = {a:g}", "separable", a, 1.0, m2, n2, d))
    if r != 1.0:
        name = f"alpha = {a:g}, rho = {r:g}" if a != 1.0 else f"rho = {r:g}"
        table.append(row(name, "separable", a, r, m2, n2, d2))
    return {
        "inputs": {"kernel": k, "in": m, "out": n, "size": d, "alpha": a, "rho": r},
        "effective": {"in": m2, "out": n2, "size": d2},
        "standard": std,
        "separable": sep,
        "ratio": ratio,
        "ratio_formula": 1.0 / n2 + 1.0 / (k * k),
        "saving": std["macs"] / sep["macs"],
        "table": table,
        "units": UNITS,
        "formulas": FORMULAS,
    }


def _n(v: int) -> str:
    """A whole number with thin thousands separators, for LaTeX."""
    return f"{v:,}".replace(",", "{,}")


def dsc_latex(result: dict) -> list[str]:
    """The formulas of :func:`dsc` with this result's numbers put in: one LaTeX block each,
    broken over short lines so that they fit a narrow page or a projector."""
    e, i = result["effective"], result["inputs"]
    k, m, n, d = i["kernel"], e["in"], e["out"], e["size"]
    std, sep = result["standard"], result["separable"]
    out = [
        r"\begin{aligned}\text{standard} &= " + FORMULAS["standard"]
        + rf" \\ &= {k}\cdot{k}\cdot{m}\cdot{n}\cdot{d}\cdot{d} = {_n(std['macs'])}\ \text{{MACs}}"
        + r"\end{aligned}",
        r"\begin{aligned}\text{separable} &= " + FORMULAS["separable"]
        + rf" \\ &= {k}\cdot{k}\cdot{m}\cdot{d}\cdot{d} + {m}\cdot{n}\cdot{d}\cdot{d}"
        + rf" \\ &= {_n(sep['depthwise']['macs'])} + {_n(sep['pointwise']['macs'])}"
        + rf" = {_n(sep['macs'])}\ \text{{MACs}}\end{{aligned}}",
        r"\begin{aligned}\frac{\text{separable}}{\text{standard}} &= " + FORMULAS["ratio"]
        + rf" \\ &= \frac{{1}}{{{n}}} + \frac{{1}}{{{k * k}}} = {result['ratio']:.4f}"
        + rf"\quad(\text{{{result['saving']:.1f}}}\times\text{{ fewer MACs and params}})\end{{aligned}}",
    ]
    out.append(
        r"\begin{aligned}\text{params: standard} &= " + FORMULAS["standard_params"]
        + rf" = {_n(std['params'])} \\ \text{{separable}} &= " + FORMULAS["separable_params"]
        + rf" = {k}\cdot{k}\cdot{m} + {m}\cdot{n} = {_n(sep['params'])}\end{{aligned}}"
    )
    if i["alpha"] != 1.0 or i["rho"] != 1.0:
        a, r, m0, n0, d0 = i["alpha"], i["rho"], i["in"], i["out"], i["size"]
        out.append(
            rf"\begin{{aligned}}\alpha = {a:g},\ \rho = {r:g}:\quad "
            rf"&\alpha M = {a:g}\cdot{m0} \to {m},\ \alpha N = {a:g}\cdot{n0} \to {n},\ "
            rf"\rho D_F = {r:g}\cdot{d0} \to {d} \\ "
            + r"\text{separable} &= " + FORMULAS["scaled"]
            + rf" \\ &= {k}\cdot{k}\cdot{m}\cdot{d}\cdot{d} + {m}\cdot{n}\cdot{d}\cdot{d}"
            + rf" = {_n(sep['macs'])}\ \text{{MACs}}\end{{aligned}}"
        )
    return out


# ---------------------------------------------------------------------------------------------
# Ghost module
# ---------------------------------------------------------------------------------------------


def ghost_module(in_ch, out_ch, size, kernel=3, cheap_kernel=3, ratio=2) -> dict:
    """An ordinary k x k conv c -> n against a Ghost module (GhostNet eq. 2-5): a primary k x k
    conv makes m = ceil(n / s) intrinsic maps, a cheap d x d depthwise op makes m (s - 1) ghosts,
    the concat is cut to n. Speed-up ~ s*c / (s + c - 1) ~ s when d ~ k (eq. 4)."""
    c = _whole("in (input channels c)", in_ch, 1, CHANNELS_MAX)
    n = _whole("out (output channels n)", out_ch, 1, CHANNELS_MAX)
    d_f = _whole("size (feature map)", size, 1, SIZE_MAX)
    k = _whole("kernel (primary k)", kernel, 1, KERNEL_MAX)
    d = _whole("cheap kernel (d)", cheap_kernel, 1, KERNEL_MAX)
    s = _whole("ratio (s)", ratio, 2, GHOST_RATIO_MAX)
    primary_ch = -(-n // s)
    cheap_ch = primary_ch * (s - 1)
    area = d_f * d_f
    ordinary = standard_conv(k, c, n, d_f)
    primary = {"channels": primary_ch, "params": k * k * c * primary_ch,
               "macs": k * k * c * primary_ch * area}
    cheap = {"channels": cheap_ch, "params": d * d * cheap_ch, "macs": d * d * cheap_ch * area}
    ghost = {"params": primary["params"] + cheap["params"], "macs": primary["macs"] + cheap["macs"],
             "primary": primary, "cheap": cheap}
    return {
        "inputs": {"in": c, "out": n, "size": d_f, "kernel": k, "cheap_kernel": d, "ratio": s},
        "ordinary": ordinary,
        "ghost": ghost,
        "speedup": ordinary["macs"] / ghost["macs"],
        "compression": ordinary["params"] / ghost["params"],
        "paper_approx": s * c / (s + c - 1),
        "units": {"macs": UNITS["macs"], "params": "weights (no bias, no batch norm)"},
        "formulas": {
            "ordinary": r"n \cdot h' \cdot w' \cdot c \cdot k \cdot k",
            "ghost": r"\frac{n}{s} \cdot h' \cdot w' \cdot c \cdot k \cdot k + (s-1) \cdot \frac{n}{s} "
                     r"\cdot h' \cdot w' \cdot d \cdot d",
            "speedup": r"r_s = \frac{c \cdot k \cdot k}{\frac{1}{s} c \cdot k \cdot k + \frac{s-1}{s} d "
                       r"\cdot d} \approx \frac{s \cdot c}{s + c - 1} \approx s",
        },
    }


# ---------------------------------------------------------------------------------------------
# One unit of each family at equal widths
# ---------------------------------------------------------------------------------------------

REFERENCE_UNIT = ("reference", "3x3 conv", "one standard 3x3 convolution C -> C (+ BN, ReLU)")


def calculator_units():
    """``(family, CalculatorUnit)`` for every unit the registered families declare
    (:attr:`lightviz.zoo.Arch.units`), each unit name once, in registry order."""
    out, seen = [], set()
    for arch in REGISTRY.values():
        for unit in arch.units:
            if unit.name not in seen:
                seen.add(unit.name)
                out.append((arch.family, unit))
    return out


def _count_unit(unit, width: int, size: int) -> dict[str, int]:
    """Params and MACs of one block spec on a width x size x size input, by the same counter as
    the networks (:func:`lightviz.counting.trace`)."""
    from ..counting import trace
    from ..spec import Conv2d, Sequence

    cfg = Config("unit", 1.0, size, None, 1000)  # only the resolution is read by trace
    net = Network((("stem", Sequence((("conv", Conv2d(3, width, 1)),))),
                   ("stage1", Stage.of([unit]))), cfg)
    rows = trace(net, cfg)
    mine = [r for r in rows if r.block == "stage1.0"]
    return {"params": sum(r.params for r in mine), "macs": sum(r.macs for r in mine),
            "ops": len(mine), "convs": sum(1 for r in mine if r.op == "conv2d")}


def family_units(width, size, expansion=6, groups=3) -> list[dict]:
    """One stride-1 unit of each family with C input and C output channels on a D_F x D_F map:
    ``[{"family", "unit", "description", "params", "macs", "relative_macs", "note"}, ...]``,
    relative to one standard 3x3 conv C -> C. ``expansion`` t is used by MobileNetV2 and the
    Ghost bottleneck (hidden width round(t C)); ``groups`` by ShuffleNet v1. A unit that cannot
    take width C (ShuffleNet v1 needs C/4 divisible by g, ShuffleNet v2 an even C, the ResNet
    bottleneck C divisible by 4) has ``params``/``macs`` None and a ``note``."""
    from ..spec import ConvBNAct

    c = _whole("width C", width, 1, 8192)
    d = _whole("size D_F", size, 1, 1024)
    t = _ranged("expansion t", expansion, 1, 12)
    g = _whole("groups g", groups, 1, 64)
    hidden = int(round(c * t))
    family, name, desc = REFERENCE_UNIT
    rows = [(family, name, desc, ConvBNAct(c, c, 3), None)]
    for family, unit in calculator_units():
        note = unit.needs(c, t, g) if unit.needs else None
        rows.append((family, unit.name, unit.description.format(hidden=hidden, t=t, g=g),
                     None if note else unit.build(c, t, g), note))
    out = []
    base: dict[str, int] | None = None
    for family, name, desc, unit, note in rows:
        row = {"family": family, "unit": name, "description": desc, "width": c, "size": d,
               "params": None, "macs": None, "relative_macs": None, "relative_params": None,
               "note": note or ""}
        if note is None:
            counted = _count_unit(unit, c, d)
            row.update(params=counted["params"], macs=counted["macs"])
            if base is None:
                base = counted
            row["relative_macs"] = counted["macs"] / base["macs"]
            row["relative_params"] = counted["params"] / base["params"]
        out.append(row)
    return out
