"""Reading small system files (sysfs, procfs, /etc) through a configurable root.

Every file the latency lab reads about the host (CPU model, Jetson power rails, thermal zones,
nvpmodel mode) goes through :class:`Root`, so tests point it at a fake tree laid out like the
real one (``tests/fixtures/sysfs/``) and a container can point it at a bind-mounted host tree.
The root comes from the ``root`` argument, else ``$LIGHTVIZ_SYSFS_ROOT``, else ``/``.

Reads never raise for a missing or unreadable file: they return ``None`` (sysfs attributes of
powered-down sensors fail with EAGAIN or ENODATA, and that is a normal state, not an error).
"""

from __future__ import annotations

import glob
import os
import re

ENV_ROOT = "LIGHTVIZ_SYSFS_ROOT"


class Root:
    """A directory that stands for ``/`` when reading system files."""

    def __init__(self, root: str | os.PathLike | Root | None = None):
        if isinstance(root, Root):
            root = root.path
        self.path = os.fspath(root) if root is not None else os.environ.get(ENV_ROOT) or "/"

    @property
    def is_real(self) -> bool:
        """True when this root is the machine's own ``/`` (commands may then be run)."""
        return os.path.realpath(self.path) == "/"

    def join(self, path: str) -> str:
        """``path`` (absolute, as on the real system) under this root."""
        return os.path.join(self.path, path.lstrip("/"))

    def glob(self, pattern: str) -> list[str]:
        """Matches of an absolute ``pattern`` under this root in natural order
        (``thermal_zone2`` before ``thermal_zone10``)."""
        return sorted(glob.glob(self.join(pattern)), key=_natural)

    def glob_unique(self, patterns) -> list[tuple[str, str]]:
        """``(pattern, path)`` for the matches of several patterns, each real directory once
        (sysfs reaches one device through several links: /sys/class/... and /sys/devices/...)."""
        seen, out = set(), []
        for pattern in patterns:
            for path in self.glob(pattern):
                real = os.path.realpath(path)
                if real not in seen:
                    seen.add(real)
                    out.append((pattern, path))
        return out

    def exists(self, path: str) -> bool:
        return os.path.exists(self.join(path))

    def read(self, path: str, limit: int = 1 << 16) -> str | None:
        """The text of ``path`` stripped of surrounding whitespace and NULs (device-tree
        strings end in one), or None when it is missing or unreadable."""
        return read_file(self.join(path), limit)

    def __repr__(self) -> str:
        return f"Root({self.path!r})"


def _natural(path: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def read_file(full_path: str, limit: int = 1 << 16) -> str | None:
    """The stripped text of a file at a full path, or None when it cannot be read."""
    try:
        with open(full_path, "rb") as fh:
            data = fh.read(limit)
    except OSError:
        return None
    return data.decode("utf-8", "replace").strip().strip("\x00").strip()


def read_int(full_path: str) -> int | None:
    """A sysfs integer attribute, or None when missing, unreadable or malformed."""
    text = read_file(full_path, 64)
    if text is None:
        return None
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return None
