"""Imported devices: calibrations made on other machines, kept as *named* devices.

They live in their own area of the store, ``<cache>/devices/<hash of the name>.json``, apart
from this host's models (``<cache>/latency/<host key>/...``): a device file is never filed
under a host key, so an imported model can never pass as this host's, whatever passport it
carries. One file per name (the name compared without case): importing a name again replaces
its device atomically, never a second copy. Each stored file is checked again when read
(:func:`lightviz.latency.devices.devicefile.check`); one that no longer passes is left out with
one warning line.

``lightviz devices export|import|list|remove`` (:mod:`.cli`) and the "Latency on" selector read
this; a prediction from an imported model is the same computation as on the host that made it
(:func:`lightviz.latency.predictor.model.predict_kernel` or `predict_whole`, without the host's probe), so it
gives exactly the milliseconds it gave there.
"""

from __future__ import annotations

import glob
import hashlib
import os
import time
from dataclasses import dataclass

from ..predictor import model as M
from ..predictor import store
from ..setup import Setup
from . import devicefile as D
from .figure import THIS_HOST


@dataclass(frozen=True)
class Device:
    """An imported device: its name, the setup its model was calibrated for, the file's content
    (checked) and where it is stored."""

    name: str
    setup: Setup
    doc: dict
    path: str

    @property
    def runtime(self) -> str:
        return runtime_label(self.setup)

    @property
    def source(self) -> str:
        p = self.doc.get("passport") or {}
        host = p.get("hostname") or "another host"
        what = p.get("gpu_name") if p.get("device_kind") == "cuda" else p.get("cpu")
        when = time.strftime("%Y-%m-%d", time.gmtime(self.doc["calibrated_at"]))
        return (f"calibration of {host}" + (f" ({what})" if what else "") + f", {when}, "
                f"{self.setup.label}; imported")


def runtime_label(setup: Setup) -> str:
    """A setup's runtime as the figures name it: ``torch eager on cpu``, ``onnxruntime on cuda``."""
    rt = f"{setup.runtime} {setup.mode}" if setup.runtime == "torch" else setup.runtime
    return f"{rt} on {setup.device}"


def devices_dir() -> str:
    return os.path.join(store.cache_dir(), "devices")


def path_of(name: str) -> str:
    """Where the device ``name`` is stored: a hash of its name, so no name can reach a path."""
    key = hashlib.sha256(name.strip().casefold().encode()).hexdigest()[:20]
    return os.path.join(devices_dir(), f"d-{key}.json")


def reserved_names() -> tuple[str, ...]:
    """Names an imported device may not take: this host's and the reference devices'."""
    from .reference import reference_names

    try:
        return (THIS_HOST, *reference_names())
    except OSError:  # the published table is missing: only this host's name is taken
        return (THIS_HOST,)


def add(doc: dict, name: str | None = None) -> Device:
    """Store a checked device file's content as the device ``name`` (default: the file's own
    name), replacing a device of that name; returns it."""
    name = D.check_name(doc["name"] if name is None else name)
    taken = {n.casefold(): n for n in reserved_names()}
    if name.casefold() in taken:
        raise D.DeviceFileError(f"device name {name!r} is taken by {taken[name.casefold()]!r}: "
                                "import it with --name NAME")
    stored = dict(doc, name=name, imported_at=time.time())
    D.check(stored)
    path = path_of(name)
    store.write_json(path, stored)
    return Device(name, D.check_setup(stored["setup"]), stored, path)


_loaded: dict[str, tuple] = {}


def load(path: str) -> Device | None:
    """The device stored at ``path``, or None (one warning line) when it does not pass; checked
    once per version of the file (cached on its mtime and size, so the pages' many figures
    cost a ``stat`` each)."""
    return store.stat_cached(_loaded, path, _load)


def _load(path: str) -> Device | None:
    try:
        doc = D.read(path)
    except D.DeviceFileError as exc:
        store.warn_once(path, str(exc))
        return None
    if path_of(doc["name"]) != path:
        store.warn_once(path, "its name does not match its file")
        return None
    return Device(doc["name"], D.check_setup(doc["setup"]), doc, path)


def devices() -> list[Device]:
    """Every imported device, by name."""
    found = [load(p) for p in glob.glob(os.path.join(devices_dir(), "d-*.json"))]
    return sorted((d for d in found if d is not None), key=lambda d: d.name.casefold())


def names() -> list[str]:
    return [d.name for d in devices()]


def get(name: str) -> Device | None:
    """The imported device called ``name`` (without case), or None."""
    return load(path_of(name))


def remove(name: str) -> bool:
    """Forget the device ``name``; False when there was none."""
    try:
        os.unlink(path_of(name))
    except FileNotFoundError:
        return False
    return True


def predict(device: Device, cfg) -> M.Prediction:
    """The imported model's prediction of ``cfg`` for its own setup (its interval and status
    as on the host that made it)."""
    model = device.doc["model"]
    if model.get("model_kind") == M.KERNEL:
        return M.predict_kernel(cfg, device.setup, model)
    return M.predict_whole(cfg, device.setup, model)
