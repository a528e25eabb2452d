"""One measurement at a time per host.

Two measurements running at once time each other: they share cores, caches, memory bandwidth
and the GPU. :class:`HostLock` serialises them across threads (the app's sessions), across
processes (a second server, the CLI) and across users, with ``fcntl.flock`` on a file in a
shared directory (``$LIGHTVIZ_LOCK_DIR``, else the temp directory):

* ``flock`` locks belong to an open file description, so two threads of one process that each
  open the file exclude each other just as two processes do;
* the kernel drops the lock when its holder's process dies (even on ``kill -9``): no stale lock;
* waiters queue in FIFO order: each writes a small ticket into ``lightviz-bench.queue/`` and
  only the oldest live ticket tries the lock; tickets carry a heartbeat, so the ticket of a
  waiter that died is skipped after a few seconds;
* a waiting caller sees who holds the host and how many requests are ahead of it
  (``on_wait(QueueStatus)``); a timeout is the last resort (:class:`LockTimeout`).

The lock is re-entrant per thread: a measurement that times the whole network and then its
layers holds it once for both. Where ``fcntl`` is missing (Windows) the lock falls back to a
process-wide lock and says so in :attr:`HostLock.scope`.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

ENV_DIR = "LIGHTVIZ_LOCK_DIR"
LOCK_FILE = "lightviz-bench.lock"
HOLDER_FILE = "lightviz-bench.holder.json"
QUEUE_DIR = "lightviz-bench.queue"
DEFAULT_TIMEOUT_S = 600.0
POLL_S = 0.02
WAITER_POLL_S = 0.1
NOTIFY_EVERY_S = 0.5
HEARTBEAT_S = 0.5
STALE_TICKET_S = 10.0

_HOST = socket.gethostname()
_local = threading.local()  # .held: {lock path: [fd, depth]} for this thread
_fallback_locks: dict[str, threading.Lock] = {}
_fallback_guard = threading.Lock()


class LockTimeout(TimeoutError):
    """Waited longer than the timeout for the host's measurement lock."""


@dataclass(frozen=True)
class QueueStatus:
    """What a waiting caller knows: who holds the host, how many wait before it, for how long."""

    holder: dict | None
    ahead: int
    waited_s: float

    def describe(self) -> str:
        who = "another measurement"
        if self.holder:
            label = self.holder.get("label") or "a measurement"
            since = self.holder.get("since")
            for_s = f", running for {time.time() - since:.0f} s" if since else ""
            who = f"{label} (pid {self.holder.get('pid')}{for_s})"
        queue = f"; {self.ahead} more request{'s' if self.ahead != 1 else ''} ahead of yours" if self.ahead else ""
        return (f"Queued: one measurement at a time per host, and {who} is timing now{queue}. "
                f"Waiting {self.waited_s:.0f} s so far.")


def default_dir() -> str:
    return os.environ.get(ENV_DIR) or tempfile.gettempdir()


def _pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError, OverflowError):
        return True  # another user's process, or not a pid we can check: assume alive
    return True


class HostLock:
    """The host-wide measurement lock in ``directory`` (see the module doc)."""

    def __init__(self, directory: str | os.PathLike | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S):
        self.directory = os.path.abspath(os.fspath(directory) if directory is not None else default_dir())
        self.timeout = timeout
        self.path = os.path.join(self.directory, LOCK_FILE)
        self.holder_path = os.path.join(self.directory, HOLDER_FILE)
        self.queue_path = os.path.join(self.directory, QUEUE_DIR)
        self.scope = "host (fcntl.flock)" if fcntl else "this process only (no fcntl here)"

    # -- public API ------------------------------------------------------------------------

    @contextmanager
    def hold(self, label: str = "", timeout: float | None = None,
             on_wait: Callable[[QueueStatus], None] | None = None) -> Iterator[float]:
        """Hold the lock for the ``with`` body; yields the seconds spent waiting."""
        waited = self.acquire(label, timeout, on_wait)
        try:
            yield waited
        finally:
            self.release()

    def held(self) -> bool:
        """Whether the calling thread holds this lock."""
        return self.path in self._held()

    def acquire(self, label: str = "", timeout: float | None = None,
                on_wait: Callable[[QueueStatus], None] | None = None) -> float:
        """Take the lock (re-entrant per thread); return the seconds waited. ``on_wait`` is
        called when the lock is busy and then every half second while waiting; it may raise
        to abandon the wait (the ticket is withdrawn)."""
        held = self._held()
        if self.path in held:
            held[self.path][1] += 1
            return 0.0
        timeout = self.timeout if timeout is None else timeout
        os.makedirs(self.directory, exist_ok=True)
        if fcntl is None:  # pragma: no cover - Windows
            return self._acquire_fallback(timeout, on_wait)
        fd = self._open()
        t0 = time.monotonic()
        try:
            if not self._queue_live() and self._try(fd):
                return self._got(fd, label, 0.0)
            ticket = self._enqueue(label)
            try:
                next_notify = next_beat = 0.0
                while True:
                    now = time.monotonic()
                    if now >= next_beat:
                        self._touch(ticket)
                        next_beat = now + HEARTBEAT_S
                    queue = self._queue_live()
                    first = not queue or queue[0] == os.path.basename(ticket)
                    if first and self._try(fd):
                        return self._got(fd, label, time.monotonic() - t0)
                    waited = now - t0
                    if waited > timeout:
                        holder = self.holder()
                        who = (f" by {holder.get('label') or 'a measurement'} (pid {holder.get('pid')})"
                               if holder else "")
                        raise LockTimeout(
                            f"the host stayed busy{who} for {timeout:g} s; no measurement was made "
                            f"(lock {self.path})")
                    if on_wait is not None and now >= next_notify:
                        mine = os.path.basename(ticket)
                        ahead = queue.index(mine) if mine in queue else len(queue)
                        on_wait(QueueStatus(self.holder(), ahead, waited))
                        next_notify = now + NOTIFY_EVERY_S
                    # the head of the queue polls fast; the others only watch their place
                    time.sleep(POLL_S if first else WAITER_POLL_S)
            finally:
                _remove(ticket)
        except BaseException:
            if self.path not in held:
                os.close(fd)
            raise

    def release(self) -> None:
        held = self._held()
        entry = held.get(self.path)
        if entry is None:
            raise RuntimeError(f"release of {self.path} without a matching acquire")
        entry[1] -= 1
        if entry[1] > 0:
            return
        del held[self.path]
        if fcntl is None:  # pragma: no cover - Windows
            _fallback_locks[self.path].release()
            return
        fd = entry[0]
        holder = self.holder(check_alive=False)
        if holder and holder.get("token") == getattr(_local, "token", None):
            _remove(self.holder_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def holder(self, check_alive: bool = True) -> dict | None:
        """Who holds the lock now, as written by the holder (None when free or unknown)."""
        try:
            with open(self.holder_path, encoding="utf-8") as fh:
                info = json.load(fh)
        except (OSError, ValueError):
            return None
        if not isinstance(info, dict):
            return None
        if check_alive and info.get("host") == _HOST and not _pid_alive(info.get("pid")):
            return None  # its process died; the kernel already dropped the lock
        return info

    def status(self) -> dict:
        """The holder (or None) and how many requests wait, for a status line."""
        return {"holder": self.holder(), "waiting": len(self._queue_live()),
                "lock": self.path, "scope": self.scope}

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _held() -> dict:
        held = getattr(_local, "held", None)
        if held is None:
            held = _local.held = {}
        return held

    def _open(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o666)
        except PermissionError:
            fd = os.open(self.path, os.O_RDONLY)
        try:  # let other users share the lock (umask may have narrowed the mode)
            os.fchmod(fd, 0o666)
        except OSError:
            pass
        return fd

    @staticmethod
    def _try(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, InterruptedError):
            return False
        return True

    def _got(self, fd: int, label: str, waited: float) -> float:
        self._held()[self.path] = [fd, 1]
        token = uuid.uuid4().hex
        _local.token = token
        info = {"pid": os.getpid(), "host": _HOST, "thread": threading.current_thread().name,
                "label": label, "since": time.time(), "token": token}
        tmp = f"{self.holder_path}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(info, fh)
            os.replace(tmp, self.holder_path)
        except OSError:  # informative only (e.g. another user's file in a sticky /tmp)
            _remove(tmp)
        return waited

    def _enqueue(self, label: str) -> str:
        try:
            os.makedirs(self.queue_path, exist_ok=True)
            os.chmod(self.queue_path, 0o1777)
        except OSError:
            pass
        name = f"{time.time_ns():020d}-{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}"
        path = os.path.join(self.queue_path, name)
        try:
            with open(path, "w", encoding="utf-8") as fh:
                json.dump({"pid": os.getpid(), "host": _HOST, "label": label}, fh)
        except OSError:
            return ""  # no queue directory: still correct (flock), only not FIFO
        return path

    @staticmethod
    def _touch(ticket: str) -> None:
        if ticket:
            try:
                os.utime(ticket)
            except OSError:
                pass

    def _queue_live(self) -> list[str]:
        """Live tickets, oldest first; tickets of dead waiters are removed."""
        try:
            names = sorted(os.listdir(self.queue_path))
        except OSError:
            return []
        live = []
        now = time.time()
        for name in names:
            path = os.path.join(self.queue_path, name)
            try:
                age = now - os.stat(path).st_mtime
            except OSError:
                continue
            parts = name.split("-")
            dead = age > STALE_TICKET_S or (len(parts) > 1 and not _pid_alive(parts[1]))
            if dead:
                _remove(path)
            else:
                live.append(name)
        return live

    def _acquire_fallback(self, timeout, on_wait) -> float:  # pragma: no cover - Windows
        with _fallback_guard:
            lock = _fallback_locks.setdefault(self.path, threading.Lock())
        t0 = time.monotonic()
        while not lock.acquire(timeout=NOTIFY_EVERY_S):
            waited = time.monotonic() - t0
            if waited > timeout:
                raise LockTimeout(f"the host stayed busy for {timeout:g} s; no measurement was made")
            if on_wait is not None:
                on_wait(QueueStatus(None, 0, waited))
        self._held()[self.path] = [None, 1]
        return time.monotonic() - t0


def _remove(path: str) -> None:
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass
