"""Where a latency comes from: one registry of the devices a figure can be for (Streamlit-free).

The names, in the order every selector lists them: ``this host`` (:data:`~.figure.THIS_HOST`),
each imported device (:mod:`.imported`, by name) and each reference device (:mod:`.reference`,
in its file's order). :func:`latency_on` gives one :class:`~.figure.DeviceLatency` for any of
them, always labelled with its device, runtime and precision and with how it is known:

- **this host**: ``measured here`` where the store holds a measurement of the configuration with
  the setup, else ``predicted from this host's calibration`` (the rule of
  :func:`lightviz.tradeoff.latency_cost`, which the Pareto front uses too), else ``none`` naming
  the ``lightviz calibrate`` command;
- **an imported device**: ``predicted from an imported calibration``, for the precision it was
  calibrated in only (``none`` for another: a model is never carried to another precision);
- **a reference device**: ``published``, ``interpolated between published points`` or ``none``
  (:func:`lightviz.latency.devices.reference.reference_latency`).

``lightviz predict --on``, ``lightviz pareto --max-ms --on`` and the app's "Latency on" selector
(URL parameter ``on``) all read this module.
"""

from __future__ import annotations

from collections.abc import Callable

from ...config import Config, parse_precision
from ..predictor import model as M
from ..setup import Setup
from . import imported, reference
from .figure import MEASURED, NONE, PREDICTED_HERE, PREDICTED_IMPORTED, THIS_HOST, DeviceLatency, no_figure

KIND_HOST, KIND_IMPORTED, KIND_REFERENCE = "this host", "imported", "reference"


def names() -> list[str]:
    """Every device a figure can be for: this host, the imported ones, the reference ones."""
    return [THIS_HOST, *imported.names(), *reference.reference_names()]


def kind_of(name: str) -> str:
    """``this host``, ``imported`` or ``reference``: where ``name``'s figures come from."""
    if name == THIS_HOST:
        return KIND_HOST
    return KIND_REFERENCE if name in reference.reference_names() else KIND_IMPORTED


def check_on(name) -> str:
    """``name`` as a known device (exact, else without case); ValueError listing the names."""
    text = str(name).strip() if name is not None else ""
    known = names()
    if text in known:
        return text
    folded = {n.casefold(): n for n in known}
    if text.casefold() in folded:
        return folded[text.casefold()]
    shown = text if len(text) <= 60 else text[:59] + "\u2026"
    raise ValueError(f"unknown device {shown!r} for --on: choose one of "
                     + ", ".join(repr(n) for n in known))


def host_setup(precision: str) -> Setup | None:
    """This host's most recently calibrated setup in ``precision`` (any device), or None."""
    for device in ("cpu", "cuda"):
        for s in M.calibrated_setups(device):
            if s.dtype == precision:
                return s
    return None


def _extrapolated(p) -> str:
    said = M.extrapolated_text(p)
    return f"; {said}" if said else ""


def _on_host(cfg: Config, setup: Setup | None, precision: str) -> DeviceLatency:
    from ...tradeoff import MEASURED as WAS_MEASURED
    from ...tradeoff import latency_cost

    if setup is None:
        return no_figure(THIS_HOST, "-", precision,
                         f"this host has no latency model in {precision}: run `lightviz calibrate "
                         f"--dtype {precision}` (int8 with --runtime onnxruntime) or import a device")
    runtime = imported.runtime_label(setup)
    try:
        c = latency_cost(cfg, setup)
    except ValueError as exc:  # NotCalibrated: its message names the command
        return no_figure(THIS_HOST, runtime, setup.dtype, str(exc))
    if c.status == WAS_MEASURED:
        return DeviceLatency(THIS_HOST, runtime, setup.dtype, MEASURED, c.ms, c.low_ms, c.high_ms,
                             source=f"measured on this host ({setup.label}), latest stored median "
                                    "with its p10 to p90", batch=setup.batch)
    p = M.predict(cfg, setup)
    return DeviceLatency(THIS_HOST, runtime, setup.dtype, PREDICTED_HERE, c.ms, c.low_ms, c.high_ms,
                         source=f"this host's calibration ({setup.label}): {_model_text(p.model)}"
                                + _extrapolated(p), batch=setup.batch)


def _model_text(m: dict) -> str:
    cov = (m.get("interval") or {}).get("coverage", 0.9)
    return (f"{m.get('measurements')} networks, held-out RMSPE {(m.get('heldout_rmspe') or 0):.1%}, "
            f"{cov:.0%} interval from its held-out errors")


def _on_imported(name: str, cfg: Config, precision: str) -> DeviceLatency:
    device = imported.get(name)
    if device is None:
        return no_figure(name, "-", precision, f"no imported device called {name!r}")
    if device.setup.dtype != precision:
        return no_figure(device.name, device.runtime, precision,
                         f"{device.name} was calibrated in {device.setup.dtype} only, not {precision} "
                         "(a model is not carried to another precision)")
    try:
        p = imported.predict(device, cfg)
    except (ValueError, KeyError, TypeError) as exc:
        return no_figure(device.name, device.runtime, precision, f"its model cannot predict this: {exc}")
    return DeviceLatency(device.name, device.runtime, precision, PREDICTED_IMPORTED, p.predicted_ms,
                         p.low_ms, p.high_ms, source=f"{device.source}: {_model_text(p.model)}"
                         + _extrapolated(p), batch=device.setup.batch)


def latency_on(name: str, cfg: Config, setup_or_precision: Setup | str) -> DeviceLatency:
    """The latency of ``cfg`` on the device ``name`` (see the module doc). ``setup_or_precision``:
    this host's setup (its dtype is the precision asked of the other devices), or a precision
    (this host then uses its latest calibrated setup in it). ValueError for an unknown name."""
    return _latency_on(check_on(name), cfg, setup_or_precision)


def _latency_on(name: str, cfg: Config, setup_or_precision: Setup | str) -> DeviceLatency:
    """:func:`latency_on` of a checked name."""
    if isinstance(setup_or_precision, Setup):
        setup: Setup | None = M.resolve(setup_or_precision)
        precision = setup_or_precision.dtype
    else:
        precision = parse_precision(setup_or_precision)
        setup = None
    kind = kind_of(name)
    if kind == KIND_HOST:
        return _on_host(cfg, setup if setup is not None else host_setup(precision), precision)
    if kind == KIND_IMPORTED:
        return _on_imported(name, cfg, precision)
    try:
        return reference.reference_latency(name, cfg, precision)
    except ValueError as exc:  # a precision no reference device knows (bf16)
        return no_figure(name, reference.reference_device(name).runtime, precision, str(exc))


def figures(name: str, setup_or_precision: Setup | str) -> Callable[[Config], DeviceLatency]:
    """:func:`latency_on` for one device and setup, remembered per configuration (a front's
    worth: the Pareto view and ``lightviz pareto --on``)."""
    name = check_on(name)
    seen: dict[Config, DeviceLatency] = {}

    def at(cfg: Config) -> DeviceLatency:
        if cfg not in seen:
            seen[cfg] = _latency_on(name, cfg, setup_or_precision)
        return seen[cfg]
    return at


def everywhere(cfg: Config, setup_or_precision: Setup | str) -> tuple[list[DeviceLatency], int]:
    """(the figure of ``cfg`` on every device that can say something about it, the number of
    devices that cannot): Compare's device view."""
    out, silent = [], 0
    for n in names():
        f = latency_on(n, cfg, setup_or_precision)
        if f.status == NONE:
            silent += 1
        else:
            out.append(f)
    return out, silent
