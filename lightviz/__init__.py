"""lightviz: see and measure lightweight CNNs.

``build(arch, alpha)`` gives the ``nn.Module``; ``profile(arch, alpha, rho)`` gives exact per-op
params and MACs from the same resolved spec, without running the network; ``export(arch, path)``
writes it as ONNX or a ``torch.export`` program (random weights, BN folded as deployed).

The architectures are the registry's (:mod:`lightviz.zoo`): the built-in families and any
installed package's ``lightviz.archs`` entry points. :mod:`lightviz.spec`,
:mod:`lightviz.zoo.common` and :class:`lightviz.zoo.Arch` are the public API to write a family.
"""

from __future__ import annotations

from .config import Config
from .configure import make_config
from .counting import KINDS, Profile, count
from .version import __version__ as __version__  # the package's version, kept where it always was
from .zoo import REGISTRY, resolve


def __getattr__(name: str):
    if name == "ARCHS":  # every registered name, plugins included (see lightviz.zoo)
        return tuple(REGISTRY)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build(arch: str, alpha: float = 1.0, **options):
    """The ``torch.nn.Module`` of ``arch`` at width ``alpha`` (options: ``groups``, ``classes``,
    ``settings``, the edited table as in :func:`make_config`; ``rho``/``resolution`` are
    accepted and checked but do not change the module)."""
    from .builder import build_module

    cfg = make_config(arch, alpha, **options)
    return build_module(resolve(cfg))


def export(target, path, format: str = "onnx", alpha: float = 1.0, rho: float = 1.0,
           resolution=None, seed=0, fold_bn: bool = True, batch=1, opset=None, **options):
    """Write ``target`` (an architecture name configured as :func:`make_config` takes it, a
    Config, or an ``nn.Module`` of your own) to ``path`` as ONNX (``format="onnx"``) or a
    ``torch.export`` program (``"pt2"``): batch norms calibrated and folded as the latency lab
    times them, random weights from ``seed`` (not trained). See :mod:`lightviz.exporter`."""
    from .exporter import export as _export

    return _export(target, path, format, alpha, rho, resolution, seed, fold_bn, batch, opset, **options)


def profile(arch: str, alpha: float = 1.0, rho: float = 1.0, resolution=None,
            elementwise: bool = False, **options) -> Profile:
    """Per-op params, MACs and FLOPs of ``arch`` at width ``alpha`` and input
    ``resolution`` (or ``round(224 * rho)``); options: ``groups``, ``classes``, ``settings``
    (the edited table: a dict in the paper's terms such as ``{"layers": [2, 2, 4, 2]}`` for a
    ResNet, or its JSON text; see :mod:`lightviz.zoo.table`)."""
    return count(make_config(arch, alpha, rho, resolution, **options), elementwise=elementwise)


__all__ = ["ARCHS", "KINDS", "REGISTRY", "Config", "Profile", "build", "count", "export", "make_config",
           "profile", "resolve"]
