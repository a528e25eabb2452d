"""The latency store: every measurement made on this host, and the fitted latency models, as
JSON files under ``$LIGHTVIZ_CACHE_DIR`` (default ``$XDG_CACHE_HOME/lightviz``, else
``~/.cache/lightviz``). JSON only (no format that can carry code): a file from elsewhere is data.

Layout::

    <cache>/latency/<host key>/host.json                    what the key stands for
    <cache>/latency/<host key>/<setup key>/m-<config>-<time>-<pid>-<rand>.json   one measurement
    <cache>/latency/<host key>/<setup key>/model.json       the fitted model (lightviz.latency.predictor.model)

**The host key** is a hash of the passport's identity fields: host name and machine id, the
CPU model, the machine type, the torch version, and the device's name and driver (for CUDA from
``/proc/driver/nvidia``, on a Jetson its model and L4T release). It is computed **without
importing torch** (the torch version comes from ``importlib.metadata``), so the Explore page's
predicted latency starts without loading torch. Another machine or a torch upgrade gets another
key and never reuses a model. **The setup key** names device, dtype, batch, threads,
channels-last, mode and BN folding (not the time budget).

**Concurrent writers**: each measurement is its own file, written to a temporary name in the
same directory and renamed into place (``os.replace`` is atomic on POSIX), so two processes
adding measurements at once keep both, and a reader never sees half a file. A model is
replaced the same way. A corrupt file, or one that belongs to another host or schema, is
ignored with one warning line (once per file and process).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import re
import socket
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict
from functools import lru_cache

from ...config import Config
from ...configure import make_config
from ...units import json_value
from ..host.sysfs import Root
from ..setup import Setup

log = logging.getLogger(__name__)

ENV_DIR = "LIGHTVIZ_CACHE_DIR"
SCHEMA = 1
# when a stored result is reused (shared) instead of measuring again: lightviz.latency.shared
_warned: set = set()


# ---------------------------------------------------------------------------------------------
# Where, and for which host
# ---------------------------------------------------------------------------------------------


def cache_dir() -> str:
    """``$LIGHTVIZ_CACHE_DIR``, else ``$XDG_CACHE_HOME/lightviz``, else ``~/.cache/lightviz``."""
    env = os.environ.get(ENV_DIR)
    if env:
        return os.path.abspath(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "lightviz")


def torch_version() -> str:
    """The installed torch's version, read from its metadata (torch is not imported)."""
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _cpu_model(root: Root) -> str:
    info = root.read("/proc/cpuinfo", 1 << 20) or ""
    m = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
    if m:
        return m.group(1).strip()
    parts = sorted(set(re.findall(r"^CPU (?:implementer|part)\s*:\s*(\S+)", info, re.M)))
    return " ".join(parts) or platform.processor() or platform.machine() or "unknown CPU"


def _gpu(device: str, root: Root) -> dict[str, str | None]:
    """Name and driver of a CUDA device from procfs (torch-free)."""
    from ..host import jetson

    text = root.read("/proc/driver/nvidia/version") or ""
    m = re.search(r"Kernel Module(?: for \w+)?\s+([\d.]+)", text)
    driver = m.group(1) if m else (text.splitlines()[0][:80] if text else None)
    names = []
    for info in root.glob("/proc/driver/nvidia/gpus/*/information"):
        mm = re.search(r"^Model:\s*(.+)$", open(info, errors="replace").read(), re.M)
        names.append(mm.group(1).strip() if mm else "?")
    _, _, number = device.partition(":")
    index = int(number) if number.isdigit() else 0
    name = names[index] if index < len(names) else None
    if name is None and jetson.is_jetson(root):
        name = root.read("/proc/device-tree/model") or "Jetson"
        driver = driver or f"L4T {jetson.l4t_release(root) or '?'}"
    return {"name": name or "unknown GPU", "driver": driver}


def _machine_id(root: Root) -> str | None:
    return root.read("/etc/machine-id") or root.read("/var/lib/dbus/machine-id")


@lru_cache(maxsize=16)
def _identity(device_kind: str, device: str, root_path: str) -> tuple:
    root = Root(root_path)
    ident = {
        "hostname": socket.gethostname(),
        "machine_id": _machine_id(root),
        "machine": platform.machine(),
        "cpu": _cpu_model(root),
        "torch": torch_version(),
        "device_kind": device_kind,
    }
    if device_kind == "cuda":
        ident.update({f"gpu_{k}": v for k, v in _gpu(device, root).items()})
    elif device_kind == "mps":
        ident["macos"] = platform.mac_ver()[0]
    text = json.dumps(ident, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16], text


def host_identity(device: str = "cpu", root=None) -> dict:
    """The passport fields a model is keyed by (torch-free), with ``key`` their hash."""
    kind = device.split(":")[0]
    key, text = _identity(kind, device, Root(root).path)
    return {"key": key, **json.loads(text)}


def host_key(device: str = "cpu", root=None) -> str:
    return host_identity(device, root)["key"]


def setup_key(setup: Setup) -> str:
    """A readable file name for what a measurement depends on (the budget aside)."""
    threads = setup.threads if setup.threads else "auto"
    parts = [setup.device.replace(":", ""), setup.dtype, f"b{setup.batch}", f"t{threads}",
             setup.mode, "fold" if setup.fold_bn else "bn"]
    if setup.channels_last:
        parts.append("cl")
    runtime = getattr(setup, "runtime", "torch")
    if runtime != "torch":  # each runtime is its own setup (eager PyTorch keeps its old keys)
        parts.append(runtime)
    return "-".join(str(p) for p in parts)


def config_key(cfg: Config) -> str:
    """A file-name key of ``cfg``; an edited table (the Design page) adds a hash of the table, so
    a custom network never shares records with the paper's."""
    g = f"g{cfg.groups}" if cfg.groups is not None else ""
    custom = ""
    if cfg.settings is not None:
        text = json.dumps(cfg.settings_json, sort_keys=True, separators=(",", ":"))
        custom = "-s" + hashlib.sha1(text.encode()).hexdigest()[:12]
    return f"{cfg.arch}{g}-a{cfg.alpha:g}-r{cfg.resolution}-c{cfg.classes}{custom}"


def setup_dir(setup: Setup, root=None) -> str:
    return os.path.join(cache_dir(), "latency", host_key(setup.device, root), setup_key(setup))


def host_dir(device: str = "cpu", root=None) -> str:
    return os.path.join(cache_dir(), "latency", host_key(device, root))


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def write_json(path: str, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same directory, then
    ``os.replace``)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, default=json_value)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def warn_once(path: str, why: str) -> None:
    if path not in _warned:
        _warned.add(path)
        log.warning("lightviz: ignoring %s: %s", path, why)


def read_json(path: str, host: str, kind: str) -> dict | None:
    """A stored file of ``kind`` ("measurement" or "model") for host key ``host``, or None
    (with one warning line) when it is unreadable, corrupt, or another host's or schema's."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        warn_once(path, f"not a readable JSON file ({type(exc).__name__})")
        return None
    if not isinstance(data, dict) or data.get("kind") != kind:
        warn_once(path, f"not a lightviz {kind} file")
        return None
    if data.get("schema") != SCHEMA:
        warn_once(path, f"schema {data.get('schema')!r}, this lightviz reads {SCHEMA}")
        return None
    if data.get("host_key") != host:
        warn_once(path, f"made on another host or torch ({data.get('host_key')!r}, this is {host})")
        return None
    return data


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------


def load_1min() -> float | None:
    text = Root().read("/proc/loadavg")
    try:
        return float(text.split()[0]) if text else None
    except ValueError:
        return None


def config_dict(cfg: Config) -> dict:
    return {"arch": cfg.arch, "alpha": cfg.alpha, "resolution": cfg.resolution,
            "groups": cfg.groups, "classes": cfg.classes, "settings": cfg.settings_json}


def config_from_dict(d: dict) -> Config:
    """The Config of a stored record; an edited table is checked again (a record whose table
    no longer passes is refused with ValueError, like any malformed record)."""
    if d.get("settings") is not None:
        return make_config(d["arch"], float(d["alpha"]), resolution=int(d["resolution"]),
                           groups=d.get("groups"), classes=int(d.get("classes", 1000)),
                           settings=d["settings"])
    return Config(d["arch"], float(d["alpha"]), int(d["resolution"]), d.get("groups"),
                  int(d.get("classes", 1000)))


def add(cfg: Config, setup: Setup, median_ms: float, *, p10_ms=None, p90_ms=None, iqr_ms=None,
        runs=None, taken_at: float | None = None, load: float | None = None,
        source: str = "", extra: dict | None = None) -> str:
    """Store one measurement; return its path. ``setup.threads`` must be the resolved count."""
    host = host_key(setup.device)
    taken_at = time.time() if taken_at is None else taken_at
    record = {
        "kind": "measurement", "schema": SCHEMA, "host_key": host,
        "config": config_dict(cfg), "setup": asdict(setup), "setup_key": setup_key(setup),
        "median_ms": float(median_ms), "p10_ms": p10_ms, "p90_ms": p90_ms, "iqr_ms": iqr_ms,
        "runs": runs, "taken_at": taken_at, "load_1min": load if load is not None else load_1min(),
        "source": source, "pid": os.getpid(),
    }
    if extra:
        record.update(extra)
    name = f"m-{config_key(cfg)}-{int(taken_at * 1000)}-{os.getpid()}-{uuid.uuid4().hex[:6]}.json"
    path = os.path.join(setup_dir(setup), name)
    write_json(path, record)
    return path


def add_result(result, source: str = "") -> str | None:
    """Store a :class:`~lightviz.latency.lab.result.Result` (the hook the protocol calls after
    every measurement). Never raises: a store that cannot be written must not lose the
    measurement itself (the reason is logged)."""
    try:
        load = (result.passport or {}).get("cpu", {}).get("load_1min")
        return add(result.config, result.setup, result.median_ms, p10_ms=result.p10_ms,
                   p90_ms=result.p90_ms, iqr_ms=result.iqr_ms, runs=result.runs,
                   taken_at=result.finished_at, load=load, source=source,
                   extra={"min_ms": result.min_ms, "macs": result.macs, "throughput_ips": result.throughput_ips,
                          "spread": result.spread, "warnings": list(result.warnings),
                          "device_name": (result.passport or {}).get("device", {}).get("name"),
                          **_shown(result)})
    except Exception as exc:  # noqa: BLE001 - the store is a convenience, never a failure
        log.warning("lightviz: could not store the measurement: %s", exc)
        return None


def _shown(result) -> dict:
    """What the page shows of a result, so a shared one is shown as it was taken: its notes,
    the whole result (passport included, samples left out) and its per-layer report, when
    one was taken with it (set by :class:`lightviz.latency.shared.Keeper`)."""
    from .reuse import layers_dict

    out: dict = {"notes": list(getattr(result, "notes", []))}
    if hasattr(result, "to_dict"):  # a Result; a caller's own record of the figures has none
        out["result"] = result.to_dict()
    report = getattr(result, "layer_report", None)
    if report is not None:
        out["layers"] = layers_dict(report)
    return out


def measurements(setup: Setup, cfg: Config | None = None) -> list[dict]:
    """Every stored measurement for ``setup`` on this host (of ``cfg`` only, when given),
    oldest first."""
    host = host_key(setup.device)
    pattern = f"m-{config_key(cfg)}-*.json" if cfg is not None else "m-*.json"
    out = []
    for path in glob.glob(os.path.join(setup_dir(setup), pattern)):
        rec = read_json(path, host, "measurement")
        if rec is None or not _valid_measurement(rec, path):
            continue
        if cfg is not None and config_from_dict(rec["config"]) != cfg:
            continue
        out.append(rec)
    out.sort(key=lambda r: r["taken_at"])
    return out


def _valid_measurement(rec: dict, path: str) -> bool:
    try:
        config_from_dict(rec["config"])
        ok = float(rec["median_ms"]) > 0 and float(rec["taken_at"]) > 0
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        warn_once(path, "a measurement without a valid config, median_ms or taken_at")
    return ok


def measured(cfg: Config, setup: Setup, max_age_s: float | None = None) -> dict | None:
    """The latest stored measurement of ``cfg`` with ``setup`` on this host (``median_ms``,
    ``p10_ms``, ``p90_ms``, ``taken_at``, ``load_1min``, ``age_s``, ...), or None; with
    ``max_age_s``, only one at most that old."""
    recs = measurements(setup, cfg)
    if not recs:
        return None
    rec = dict(recs[-1])
    rec["age_s"] = max(0.0, time.time() - rec["taken_at"])
    if max_age_s is not None and rec["age_s"] > max_age_s:
        return None
    return rec


def shared(cfg: Config, setup: Setup, max_age_s: float | None = None, *, layers: bool = False,
           budget_s: float | None = None, since: float | None = None) -> dict | None:
    """A stored measurement to reuse instead of measuring again, by its own quality when it
    was taken (:func:`lightviz.latency.predictor.reuse.pick`): within ``max_age_s`` (default the lesson
    window), with a per-layer report when ``layers``, at least ``budget_s`` of budget; trusted,
    or flagged and the host no quieter now. None when there is none."""
    from .reuse import SHARED_FOR_S, Need, pick

    return pick(measurements(setup, cfg), Need(layers, budget_s), load_now=load_1min(),
                max_age_s=SHARED_FOR_S if max_age_s is None else max_age_s, since=since)


def describe_age(age_s: float) -> str:
    """ "just now", "1 min ago", "12 min ago", "2.5 h ago"."""
    if age_s < 60:
        return "just now"
    if age_s < 3600:
        return f"{age_s / 60:.0f} min ago"
    return f"{age_s / 3600:.1f} h ago"


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def model_path(setup: Setup) -> str:
    return os.path.join(setup_dir(setup), "model.json")


def save_model(setup: Setup, data: dict) -> str:
    path = model_path(setup)
    data = {**data, "kind": "model", "schema": SCHEMA, "host_key": host_key(setup.device),
            "setup": asdict(setup), "setup_key": setup_key(setup)}
    write_json(path, data)
    _model_cache.pop(path, None)
    return path


_model_cache: dict[str, tuple] = {}


def load_model(setup: Setup) -> dict | None:
    """The stored model for ``setup`` on this host, or None; cached on the file's mtime, so a
    warm call costs one ``stat``."""
    return stat_cached(_model_cache, model_path(setup),
                       lambda path: read_json(path, host_key(setup.device), "model"))


def stat_cached(cache: dict, path, read, bound: int = 256):
    """``read(path)``, kept in ``cache`` until the file's mtime or size changes (a warm call
    costs one ``stat``); None when the file is not there. At most ``bound`` files are kept."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    stamp = (st.st_mtime_ns, st.st_size)
    hit = cache.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    data = read(path)
    if len(cache) > bound:
        cache.clear()
    cache[path] = (stamp, data)
    return data


def clear_caches() -> None:
    """Forget the cached host identities, loaded models and warnings given (after the host, its
    torch or ``$LIGHTVIZ_CACHE_DIR`` changed in this process)."""
    _identity.cache_clear()
    _model_cache.clear()
    _warned.clear()


def models(device: str = "cpu") -> list[dict]:
    """Every model stored for this host and device kind, newest calibration first."""
    host = host_key(device)
    out = []
    for path in glob.glob(os.path.join(host_dir(device), "*", "model.json")):
        data = read_json(path, host, "model")
        if data is not None and str(data.get("setup", {}).get("device", "")).split(":")[0] == device.split(":")[0]:
            out.append(data)
    out.sort(key=lambda d: d.get("calibrated_at") or 0, reverse=True)
    return out


def setup_from_dict(d: dict) -> Setup:
    """The :class:`Setup` a stored dict describes (its fields that are there; the rest default)."""
    names = {f.name for f in dataclasses.fields(Setup)}
    return Setup(**{k: v for k, v in d.items() if k in names})


def clear(paths: Iterable[str]) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass
