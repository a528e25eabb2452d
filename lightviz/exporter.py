"""Export the configured network: an ONNX file or a ``torch.export`` program (``.pt2``).

What is exported is what the latency lab times (:mod:`lightviz.latency.lab.protocol`): the module
:mod:`lightviz.builder` makes from the spec, its batch norms calibrated on one random batch
(:func:`~lightviz.builder.calibrate_batchnorm`) and folded into the convs before them
(:func:`~lightviz.builder.fold_batchnorm`, unless ``fold_bn=False``), in eval mode, with a fixed
input shape (batch x 3 x resolution x resolution).

**The weights are random, not trained**: drawn from ``seed`` (default 0) by
:func:`~lightviz.builder.init_weights`, so the same seed gives the same weights in every format
and in ``lightviz bench`` (which builds with seed 0). No trained weights ship with lightviz: an
exported file is for latency, memory and deployment tests (TensorRT, ONNX Runtime), not for
predictions. The file says so itself (ONNX ``metadata_props``; a ``lightviz.json`` extra file in
the ``.pt2`` archive).

* ``onnx``: ``torch.onnx.export``. Opset 17 (the default) is written by the TorchScript-based
  exporter (``dynamo=False``): it is the opset TensorRT 8.6 (JetPack 5 and 6.0) parses, and the
  dynamo exporter cannot always convert its opset-18+ graph down to it. Opset 18 and above use the
  dynamo exporter (``dynamo=True``, which needs ``onnxscript``). The file records its opset
  (``opset_import``) and :class:`Exported` reports it. ONNX: https://onnx.ai/onnx/ (operator sets);
  PyTorch: https://docs.pytorch.org/docs/stable/onnx.html.
* ``pt2``: ``torch.export.export`` then ``torch.export.save``; load it back with
  ``torch.export.load(path).module()``. PyTorch: https://docs.pytorch.org/docs/stable/export.html.

**Precision** (``dtype``): ``fp32`` (default); ``fp16``, the module halved before export
(weights, activations, input and output in fp16); ``int8``, ONNX only: the fp32 export quantized
by ONNX Runtime's static quantization (QDQ, per-channel int8 weights, calibrated on random inputs
or ``calibration_images``: :mod:`lightviz.quantize`). The file's metadata says which
(``precision``; for int8 the scheme, the calibration source, the number of images and the method).

Needs ``onnx`` (``pip install 'lightviz[onnx]'``) for ONNX, and ``onnxruntime`` for int8; a
missing package is refused in one line (:class:`MissingPackage`, a ``ValueError``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from dataclasses import asdict, dataclass, field

from .config import BASE_RESOLUTION, Config, in_range, number, parse_precision
from .configure import make_config
from .zoo import resolve

FORMATS = ("onnx", "pt2")
DEFAULT_OPSET = 17
OPSET_MIN, OPSET_MAX = 13, 23
DYNAMO_FROM_OPSET = 18
INPUT_NAME, OUTPUT_NAME = "input", "logits"
WEIGHTS_NOTE = ("random weights (seed {seed}), not trained: for latency and deployment tests, "
                "not for predictions")
INSTALL_ONNX = "pip install 'lightviz[onnx]' (or: pip install onnx onnxruntime)"


class MissingPackage(ValueError):
    """An optional package the request needs is not installed (the message says how to get it)."""


@dataclass
class Exported:
    """What was written: the file, its format and opset, the network and the weights' seed."""

    path: str
    format: str
    bytes: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    label: str
    seed: int | None
    fold_bn: bool
    opset: int | None = None
    exporter: str = ""
    config: dict = field(default_factory=dict)
    dtype: str = "fp32"
    quantization: dict = field(default_factory=dict)  # int8: scheme and calibration (metadata)

    @property
    def weights(self) -> str:
        if self.seed is None:
            return "the given module's own weights"
        return WEIGHTS_NOTE.format(seed=self.seed)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["weights"] = self.weights
        out["input_shape"], out["output_shape"] = list(self.input_shape), list(self.output_shape)
        return out

    def describe(self) -> str:
        op = f", ONNX opset {self.opset} ({self.exporter})" if self.opset else f" ({self.exporter})"
        bn = "BN folded" if self.fold_bn else "BN unfolded"
        shape = "x".join(map(str, self.input_shape))
        name = f" {INPUT_NAME!r}" if self.format == "onnx" else ""
        q = f", calibrated on {self.quantization['calibration']}" if self.quantization else ""
        return (f"wrote {self.path}: {self.label} as {self.format} {self.dtype}{op}, input{name} "
                f"{shape}, {bn}{q}, {self.bytes / 1e6:.2f} MB; {self.weights}")


def require(package: str, why: str) -> None:
    """Refuse in one line when ``package`` is not importable (how to install it)."""
    import importlib.util

    if importlib.util.find_spec(package) is None:
        raise MissingPackage(f"{why} needs the {package} package, which is not installed: {INSTALL_ONNX}")


def deployable(cfg, seed: int | None = 0, fold_bn: bool = True):
    """The module of ``cfg`` as deployed and timed: built with weights from ``seed`` (``None``:
    the global generator, unseeded), batch norms calibrated on one random batch and folded
    (unless ``fold_bn=False``), eval mode, no gradients. Seeding happens in a forked generator,
    so the caller's random state is untouched."""
    import torch

    from .builder import build_module, calibrate_batchnorm, fold_batchnorm

    rng = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
    with rng, torch.inference_mode(False), torch.no_grad():
        if seed is not None:
            torch.manual_seed(seed)
        model = calibrate_batchnorm(build_module(resolve(cfg)))
        if fold_bn:
            model = fold_batchnorm(model)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def example_input(resolution: int, batch: int = 1, seed: int = 0):
    """A fixed random input of shape ``batch x 3 x resolution x resolution`` (from ``seed``)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, resolution, resolution, generator=g)


def _check(fmt: str, batch, opset, dtype="fp32") -> tuple[str, int, int, str]:
    from .latency.setup import BATCH_MAX, BATCH_MIN

    fmt = str(fmt).strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    batch = number("batch", batch, integer=True)
    in_range("batch", batch, BATCH_MIN, BATCH_MAX)
    opset = number("opset", DEFAULT_OPSET if opset is None else opset, integer=True)
    in_range("opset", opset, OPSET_MIN, OPSET_MAX)
    dtype = parse_precision(dtype)
    if dtype == "int8" and fmt != "onnx":
        raise ValueError(f"dtype int8 is exported as a quantized ONNX graph, not {fmt}: use --format onnx")
    return fmt, int(batch), int(opset), dtype


def export(target, path, format: str = "onnx", alpha=1.0, rho=1.0, resolution=None, seed=0,
           fold_bn: bool = True, batch=1, opset=None, dtype="fp32", calibration_images=None,
           calibration_count=None, **options) -> Exported:
    """Write the network to ``path`` as ONNX or a ``torch.export`` program; return what was
    written (:class:`Exported`).

    ``target`` is an architecture name (configured by ``alpha``, ``rho``/``resolution`` and
    ``options`` such as ``groups``, ``classes``, exactly as :func:`lightviz.make_config`), a
    :class:`~lightviz.config.Config`, or an ``nn.Module`` of your own, exported as given (eval
    mode, its own weights; ``resolution`` sets the input side, default 224). ``seed`` draws the
    weights of a built network (random, not trained; see the module doc). ``dtype`` fp16 or int8
    (int8: ``calibration_images``, a folder of JPEG/PNG, or ``calibration_count`` random inputs;
    see :mod:`lightviz.quantize`)."""
    fmt, batch, opset, dtype = _check(format, batch, opset, dtype)
    if calibration_images is not None and dtype != "int8":
        raise ValueError("--calibration-images calibrates an int8 export: add --dtype int8")
    if fmt == "onnx":
        require("onnx", "ONNX export")
        if dtype == "int8":
            require("onnxruntime", "int8 export (ONNX Runtime's static quantization)")
            from .quantize import image_files

            if calibration_images is not None:
                image_files(calibration_images)  # a bad folder refused before anything is built
        if opset >= DYNAMO_FROM_OPSET:
            require("onnxscript", f"ONNX export at opset {opset} (the dynamo exporter)")
    import torch
    from torch import nn

    if isinstance(target, nn.Module):
        model, cfg = target.eval(), None
        res = BASE_RESOLUTION if resolution is None else int(resolution)
        label, seed, folded = type(target).__name__, None, bool(fold_bn)
    else:
        if seed is not None:
            seed = int(number("seed", seed, integer=True))
        cfg = target if isinstance(target, Config) else make_config(target, alpha, rho, resolution, **options)
        model, res, label, folded = deployable(cfg, seed, fold_bn), cfg.resolution, cfg.label, bool(fold_bn)
    x = example_input(res, batch)
    if dtype == "fp16":
        model, x = model.half(), x.half()
    with torch.no_grad():
        out_shape = tuple(model(x).shape)
    path = os.fspath(path)
    meta = {"lightviz": _version(), "network": label, "input": INPUT_NAME, "precision": dtype,
            "input_shape": list(x.shape), "fold_bn": folded, "seed": seed,
            "weights": WEIGHTS_NOTE.format(seed=seed) if seed is not None else "the given module's own weights"}
    if cfg is not None:
        meta["config"] = _config_dict(cfg)
    quantized: dict = {}
    if fmt == "onnx" and dtype == "int8":
        exporter, quantized = _write_int8(model, x, path, opset, meta, calibration_images,
                                          calibration_count, seed or 0)
        written_opset = onnx_opset(path)
    elif fmt == "onnx":
        exporter = write_onnx(model, x, path, opset, meta)
        written_opset = onnx_opset(path)
    else:
        exporter, written_opset = write_pt2(model, x, path, meta), None
    return Exported(path, fmt, os.path.getsize(path), tuple(x.shape), out_shape, label, seed, folded,
                    written_opset, exporter, meta.get("config", {}), dtype, quantized)


def _write_int8(model, x, path: str, opset: int, meta: dict, images, count, seed: int):
    """The fp32 export quantized to int8 at ``path`` (:func:`lightviz.quantize.quantize_onnx`):
    (exporter's name, the quantization metadata)."""
    import tempfile

    from .quantize import quantize_onnx

    with tempfile.TemporaryDirectory(prefix="lightviz-int8-") as tmp:
        fp32 = os.path.join(tmp, "fp32.onnx")
        exporter = write_onnx(model, x, fp32, opset, {**meta, "precision": "fp32"})
        quantized = quantize_onnx(fp32, path, INPUT_NAME, tuple(x.shape), images, count, seed)
    return f"{exporter} + onnxruntime.quantization", quantized


def _version() -> str:
    from .version import __version__

    return __version__


def _config_dict(cfg) -> dict:
    out = {"arch": cfg.arch, "alpha": cfg.alpha, "resolution": cfg.resolution, "rho": cfg.rho,
           "groups": cfg.groups, "classes": cfg.classes}
    settings = getattr(cfg, "settings_json", None)  # an edited table, where Config carries one
    if settings is not None:
        out["settings"] = settings
    return out


@contextlib.contextmanager
def _quiet():
    """The exporters' progress lines and deprecation warnings, kept off the caller's terminal."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def write_onnx(model, x, path: str, opset: int = DEFAULT_OPSET, meta: dict | None = None) -> str:
    """Export ``model`` at input ``x`` to an ONNX file (fixed shapes), its metadata in
    ``metadata_props``; returns the exporter used (see the module doc). The graph is the
    module's own: the TorchScript exporter would fold eval-mode batch norms into the convs by
    itself, so it runs with ``TrainingMode.PRESERVE`` and an unfolded network keeps its
    ``BatchNormalization`` nodes (ONNX Runtime and TensorRT fold them when they load it)."""
    import logging

    import torch

    from .quantize import set_metadata  # the ONNX metadata writer int8 files use too

    dynamo = opset >= DYNAMO_FROM_OPSET
    with _quiet(), torch.no_grad():
        level = logging.getLogger("torch.onnx").level
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        try:
            torch.onnx.export(model, (x,), path, dynamo=dynamo, opset_version=opset,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              **({"verbose": False} if dynamo else
                                 {"training": torch.onnx.TrainingMode.PRESERVE}))
        finally:
            logging.getLogger("torch.onnx").setLevel(level)
    set_metadata(path, meta or {}, "lightviz (torch.onnx)")
    return "torch.onnx dynamo" if dynamo else "torch.onnx TorchScript"


def onnx_opset(path: str) -> int | None:
    """The default-domain opset an ONNX file declares."""
    import onnx

    proto = onnx.load(path, load_external_data=False)
    return next((int(o.version) for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)


def onnx_metadata(path: str) -> dict:
    """The ``metadata_props`` of an ONNX file, as a dict of strings."""
    import onnx

    return {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}


def write_pt2(model, x, path: str, meta: dict | None = None) -> str:
    """``torch.export.export(model, (x,))`` saved to ``path`` with ``lightviz.json`` beside it in
    the archive; returns the exporter's name."""
    import torch

    with _quiet(), torch.no_grad():
        program = torch.export.export(model, (x,))
        torch.export.save(program, path, extra_files={"lightviz.json": json.dumps(meta or {})})
    return f"torch.export (torch {torch.__version__.split('+')[0]})"


def pt2_metadata(path: str) -> dict:
    """The ``lightviz.json`` a ``.pt2`` archive carries."""
    import torch

    extra = {"lightviz.json": ""}
    with _quiet():
        torch.export.load(path, extra_files=extra)
    return json.loads(extra["lightviz.json"] or "{}")
