"""A Jetson board's natural setups: what ``lightviz calibrate`` offers on the board
(``--list-setups``, ``--setup NAME``). Streamlit- and torch-free; the board is read from sysfs
(:mod:`lightviz.latency.host.jetson`'s root, so tests use recorded trees).

On a Jetson the network runs on the integrated GPU, so the setups worth a calibration are:

- ``cuda-fp16``: PyTorch eager in fp16 on CUDA (what a script on the board runs);
- ``cuda-graph``: the same replayed as a CUDA graph (batch-1 eager PyTorch is bound by kernel
  launches, which a graph removes);
- ``tensorrt-fp16``: TensorRT through ``trtexec`` (JetPack ships it), when trtexec is present;
- ``tensorrt-int8``: the same in int8, when trtexec is present and the GPU has an int8 path in
  TensorRT: Xavier (Volta, compute 7.2), Orin (Ampere, 8.7) and Thor; not the Nano (Maxwell,
  compute 5.3: fp16 only) nor the TX2 (Pascal, 6.2).

The SoC comes from ``/proc/device-tree/compatible`` (``nvidia,tegra234``), else from the model
name (``/proc/device-tree/model``).
"""

from __future__ import annotations

from .host.jetson import (
    Board,
    board_for,
    jetson_board,
    l4t_release,
    nvpmodel_mode,
    unsupported_reason,
)
from .host.sysfs import Root
from .setup import Setup, make_setup

# name -> (make_setup keywords, what it is)
NATURAL = {
    "cuda-fp16": ({"device": "cuda", "dtype": "fp16"}, "PyTorch eager, fp16 on the GPU"),
    "cuda-graph": ({"device": "cuda", "dtype": "fp16", "mode": "cudagraph"},
                   "the same replayed as a CUDA graph (no per-kernel launch cost)"),
    "tensorrt-fp16": ({"device": "cuda", "dtype": "fp16", "runtime": "tensorrt"},
                      "TensorRT engine built by trtexec, fp16"),
    "tensorrt-int8": ({"device": "cuda", "dtype": "int8", "runtime": "tensorrt"},
                      "TensorRT engine built by trtexec, int8"),
}
SETUP_OPTIONS = ("device", "dtype", "mode", "runtime")  # what --setup decides


def not_offered(board: Board, trtexec_present: bool) -> dict[str, str]:
    """The natural setups this board does not get, each with the reason."""
    out = {}
    if not trtexec_present:
        for name in ("tensorrt-fp16", "tensorrt-int8"):
            out[name] = ("trtexec not found (JetPack ships it at /usr/src/tensorrt/bin/trtexec; "
                         "or put it on PATH)")
    if not board.int8:
        out["tensorrt-int8"] = (f"the Jetson {board.family}'s GPU ({board.gpu}) has no int8 path "
                                "in TensorRT: fp16 only")
    return out


def natural_names(board: Board, trtexec_present: bool) -> list[str]:
    skip = not_offered(board, trtexec_present)
    return [n for n in NATURAL if n not in skip]


def natural_setups(board: Board | str, trtexec_present: bool) -> list[Setup]:
    """The setups ``lightviz calibrate`` offers on ``board`` (a :class:`Board`, or a model name
    such as ``"Jetson AGX Xavier"``), in order: CUDA fp16 eager, CUDA graph, then TensorRT fp16
    and int8 where trtexec is present (int8 not on a Nano or TX2). Checked setups, not probed:
    this host need not be the board."""
    return [natural_setup(n) for n in natural_names(_board(board), trtexec_present)]


def natural_setup(name: str) -> Setup:
    if name not in NATURAL:
        raise ValueError(f"unknown setup {name!r}: choose one of {', '.join(NATURAL)}")
    return make_setup(probe=False, **NATURAL[name][0])


def _board(board: Board | str) -> Board:
    if isinstance(board, Board):
        return board
    found = board_for(str(board))
    if found is None:
        raise ValueError(f"unknown Jetson board {board!r}: a model name with Nano, TX2, Xavier, "
                         "Orin or Thor in it")
    return found


def _here(root=None) -> Board:
    board = jetson_board(root)
    if board is None:
        raise ValueError("this host is not a Jetson board (its device tree names none): --setup "
                         "and --list-setups are a Jetson's natural setups; elsewhere choose "
                         "--device, --dtype, --mode and --runtime")
    return board


def apply_setup_option(args, trtexec_present: bool, root=None) -> None:
    """``lightviz calibrate --setup NAME``: set ``args``' device, dtype, mode and runtime from
    the board's natural setup NAME (ValueError in one line when the board does not offer it, or
    when one of those options was also given with another value)."""
    board = _here(root)
    skip = not_offered(board, trtexec_present)
    if args.setup in skip:
        raise ValueError(f"setup {args.setup} is not offered on {board.model}: {skip[args.setup]}")
    setup = natural_setup(args.setup)
    given = [o for o in SETUP_OPTIONS
             if getattr(args, o) not in (None, getattr(Setup, o), getattr(setup, o))]
    if given:
        raise ValueError(f"--setup {args.setup} sets --device, --dtype, --mode and --runtime: "
                         f"drop --{' --'.join(given)}")
    for option in SETUP_OPTIONS:
        setattr(args, option, getattr(setup, option))


def listing(trtexec_present: bool, root=None) -> dict:
    """What ``lightviz calibrate --list-setups`` prints (its JSON form)."""
    board = _here(root)
    root = Root(root)
    return {
        "board": board.model, "soc": board.soc, "family": board.family, "gpu": board.gpu,
        "l4t": l4t_release(root), "nvpmodel": nvpmodel_mode(root),
        "unsupported": unsupported_reason(root),
        "setups": [{"name": n, "label": natural_setup(n).label, "what": NATURAL[n][1],
                    "command": f"lightviz calibrate --setup {n}", "options": options(n)}
                   for n in natural_names(board, trtexec_present)],
        "not_offered": not_offered(board, trtexec_present),
    }


def options(name: str) -> str:
    """The setup options of natural setup ``name`` as the other latency commands take them
    (``lightviz predict``, ``lightviz devices export``): ``--device cuda --dtype fp16 ...``."""
    setup = natural_setup(name)
    return " ".join(f"--{o} {getattr(setup, o)}" for o in SETUP_OPTIONS
                    if getattr(setup, o) != getattr(Setup, o))


def render_listing(info: dict) -> str:
    head = f"{info['board']} ({info['soc']}: Jetson {info['family']}, {info['gpu']})"
    extra = ", ".join(x for x in (info["l4t"], info["nvpmodel"] and f"power mode {info['nvpmodel']}")
                      if x)
    lines = [head + (f", {extra}" if extra else ""),
             "natural setups (calibrate one: lightviz calibrate --setup NAME; then predict or "
             "export it with its options):"]
    lines += [f"  {s['name']:<14} {s['options']:<48} {s['what']}" for s in info["setups"]]
    lines += [f"  not offered: {n}: {why}" for n, why in info["not_offered"].items()]
    if info["unsupported"]:
        lines.append(f"note: {info['unsupported']}")
    return "\n".join(lines)
