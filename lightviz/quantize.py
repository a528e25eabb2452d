"""The network as deployed in reduced precision: an int8 ONNX graph by static quantization, and
the calibration data it is quantized with.

**int8** (ONNX Runtime's post-training static quantization,
https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html):

1. ``quant_pre_process`` on the fp32 export: ONNX shape inference and ONNX Runtime's graph
   optimisations (Conv+BatchNormalization fusion where batch norms were kept), the
   pre-processing the docs ask for before quantizing;
2. ``quantize_static`` in the **QDQ** format (QuantizeLinear/DequantizeLinear pairs around each
   quantized op, which ONNX Runtime fuses into int8 kernels and TensorRT reads as explicit
   quantization), **per-channel int8 weights**, **int8 activations** (S8S8: the default and the
   fast combination on x86 CPUs; S8S8 in the QOperator format is the slow one), activation
   ranges by **MinMax** calibration.

Calibration data: by default :data:`CALIBRATION_IMAGES` random inputs drawn from N(0, 1) (seeded:
an ImageNet-normalised image has roughly that scale), the same distribution lightviz times with;
or JPEG/PNG images from a directory (:func:`image_batches`: the shorter side resized to
resolution / 0.875, the centre crop, ImageNet mean and std, torchvision's evaluation transform).
Random calibration is what random weights allow: it fixes the ranges a random input reaches, not
those of real images. The file says which it was (:func:`quantization_meta`).

**fp16** is the network halved in PyTorch before export (weights and activations fp16, input and
output fp16), see :func:`lightviz.exporter.export`.

Needs ``onnx`` and ``onnxruntime`` (``pip install 'lightviz[onnx]'``); images need Pillow.
"""

from __future__ import annotations

import math
import os
import tempfile

CALIBRATION_IMAGES = 16  # random inputs by default: enough for MinMax ranges, a few seconds at 224 px
CALIBRATION_MAX = 1024
METHOD = "MinMax"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's ImageNet normalisation
IMAGENET_STD = (0.229, 0.224, 0.225)
CROP_RATIO = 0.875  # resize to 256 for a 224 crop
SCHEME = ("static QDQ, per-channel int8 weights, int8 activations (S8S8), MinMax calibration, "
          "quant_pre_process first")


def random_batches(shape: tuple[int, ...], images: int = CALIBRATION_IMAGES, seed: int = 0) -> list:
    """``ceil(images / batch)`` float32 arrays of ``shape`` (batch first) drawn from N(0, 1)
    with ``seed``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape, dtype=np.float32) for _ in range(math.ceil(images / shape[0]))]


def image_files(directory) -> list[str]:
    """The JPEG and PNG files directly in ``directory``, sorted; ValueError (one line) when it is
    not a directory or holds none."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"--calibration-images {directory!r} is not a directory: give a folder of "
                         f"JPEG or PNG images")
    files = sorted(os.path.join(directory, f) for f in os.listdir(directory)
                   if f.lower().endswith(IMAGE_SUFFIXES) and os.path.isfile(os.path.join(directory, f)))
    if not files:
        raise ValueError(f"--calibration-images {directory!r} holds no JPEG or PNG image "
                         f"({', '.join(IMAGE_SUFFIXES)})")
    return files


def load_image(path: str, resolution: int):
    """One image as a 3 x resolution x resolution float32 array: RGB, the shorter side resized to
    ``resolution / 0.875``, centre crop, ImageNet normalisation (torchvision's evaluation
    transform)."""
    import numpy as np

    try:
        from PIL import Image
    except ImportError:
        raise ValueError("--calibration-images needs Pillow to read JPEG and PNG: pip install "
                         "pillow") from None
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            short = max(resolution, int(round(resolution / CROP_RATIO)))
            w, h = im.size
            scale = short / min(w, h)
            im = im.resize((max(resolution, round(w * scale)), max(resolution, round(h * scale))),
                           Image.BILINEAR)
            w, h = im.size
            left, top = (w - resolution) // 2, (h - resolution) // 2
            im = im.crop((left, top, left + resolution, top + resolution))
            arr = np.asarray(im, dtype=np.float32) / 255.0
    except OSError as exc:
        raise ValueError(f"--calibration-images: cannot read {path!r} as an image ({exc})") from None
    arr = (arr - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    return arr.transpose(2, 0, 1).copy()


def image_batches(directory, shape: tuple[int, ...], images: int | None = None) -> list:
    """Batches of ``shape`` from the images in ``directory`` (at most ``images`` of them, default
    all up to :data:`CALIBRATION_MAX`); a last partial batch is filled by repeating images."""
    import numpy as np

    files = image_files(directory)[: images or CALIBRATION_MAX]
    arrays = [load_image(f, shape[-1]) for f in files]
    batch = shape[0]
    while len(arrays) % batch:
        arrays.append(arrays[len(arrays) % len(files)])
    return [np.stack(arrays[i:i + batch]) for i in range(0, len(arrays), batch)]


def calibration(shape: tuple[int, ...], images_dir=None, images: int | None = None,
                seed: int = 0) -> tuple[list, dict]:
    """(batches, what they were) for :func:`quantize_file`: images from ``images_dir``, else
    ``images`` random inputs (default :data:`CALIBRATION_IMAGES`) from ``seed``."""
    from .config import in_range, number

    if images is not None:
        images = int(number("calibration images", images, integer=True))
        in_range("calibration images", images, 1, CALIBRATION_MAX)
    if images_dir is not None:
        batches = image_batches(images_dir, shape, images)
        n = min(len(image_files(images_dir)), images or CALIBRATION_MAX)
        folder = os.path.basename(os.path.normpath(images_dir))
        return batches, {"calibration": f"{n} image{'s' if n != 1 else ''} from {folder}",
                         "calibration_images": n, "calibration_method": METHOD}
    n = images or CALIBRATION_IMAGES
    return random_batches(shape, n, seed), {
        "calibration": f"random inputs, N(0, 1), seed {seed} (no images given)",
        "calibration_images": n, "calibration_method": METHOD}


class _Reader:
    """An ``onnxruntime.quantization.CalibrationDataReader``: one feed per batch."""

    def __init__(self, name: str, batches: list):
        self._feeds = iter([{name: b} for b in batches])

    def get_next(self):
        return next(self._feeds, None)


def quantize_file(src: str, dst: str, input_name: str, batches: list) -> str:
    """Quantize the fp32 ONNX file ``src`` to int8 at ``dst`` (see the module doc) calibrated on
    ``batches``; returns onnxruntime's version."""
    import logging

    import onnxruntime
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    reader = type("Reader", (_Reader, CalibrationDataReader), {})(input_name, batches)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_static logs a line per hint at WARNING
    try:
        with tempfile.TemporaryDirectory(prefix="lightviz-quant-") as tmp:
            pre = os.path.join(tmp, "pre.onnx")
            quant_pre_process(src, pre, skip_symbolic_shape=True)
            quantize_static(pre, dst, reader, quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax,
                            calibration_providers=["CPUExecutionProvider"])
    finally:
        root.setLevel(level)
    return onnxruntime.__version__


def quantization_meta(info: dict, ort_version: str) -> dict:
    """The ONNX metadata an int8 file carries: precision, scheme, calibration source, number of
    images, method."""
    return {"precision": "int8", "quantization": f"{SCHEME} (onnxruntime.quantization {ort_version})",
            **{k: str(v) for k, v in info.items()}}


def set_metadata(path: str, meta: dict, producer: str | None = None) -> None:
    """Write ``meta`` into the ``metadata_props`` of the ONNX file at ``path`` (replacing keys)."""
    import json

    import onnx

    proto = onnx.load(path)
    keep = [(p.key, p.value) for p in proto.metadata_props if p.key not in meta]
    del proto.metadata_props[:]
    for key, value in keep + [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in meta.items()]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    if producer:
        proto.producer_name = producer
    onnx.save(proto, path)


def quantize_onnx(src: str, dst: str, input_name: str, shape: tuple[int, ...], images_dir=None,
                  images: int | None = None, seed: int = 0) -> dict:
    """``src`` (fp32 ONNX) quantized to int8 at ``dst``, its metadata written; returns the
    metadata (:func:`quantization_meta`)."""
    batches, info = calibration(tuple(shape), images_dir, images, seed)
    meta = quantization_meta(info, quantize_file(src, dst, input_name, batches))
    set_metadata(dst, meta, "lightviz (torch.onnx + onnxruntime.quantization)")
    return meta
