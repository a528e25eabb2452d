"""Shared fixtures: a real ``streamlit run app.py`` server and Debian's Chromium via Playwright.

* ``streamlit_server`` (session): starts the app on a free loopback port with the repository's
  ``.streamlit/config.toml``, waits for its health endpoint and yields the base URL
  (``http://127.0.0.1:PORT``). The server's output is kept in ``artifacts/streamlit_server.log``.
* ``browser`` (session): Playwright's Chromium driving ``/usr/bin/chromium`` (override with
  ``LIGHTVIZ_CHROMIUM``). Browser tests are skipped when Chromium or Playwright is missing,
  unless ``LIGHTVIZ_REQUIRE_BROWSER=1`` (CI), which turns the skip into a failure.
* ``new_page``: a factory ``new_page(width=1280, height=900, color_scheme="light")`` giving a
  page in a fresh browser context (closed after the test); ``page`` is one default page.
* ``artifacts``: the ``artifacts/`` folder for screenshots and logs (ignored by git).
* ``wait_for_app(page)``: returns once the Streamlit script has finished its run.
* ``cache``: a latency store and host lock of the test's own (the latency model's tests).

The whole session runs with its own ``LIGHTVIZ_LOCK_DIR`` and ``LIGHTVIZ_CACHE_DIR`` (a fresh
temporary directory, removed at exit), so nothing else on the machine can queue or feed the tests.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("LIGHTVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_START_TIMEOUT = 60.0

# The suite never shares the host's measurement lock or the user's cache: a measurement started by
# another program on this machine must not queue the tests, and the tests must not teach a
# latency model or leave measurements in ~/.cache. Servers and CLI subprocesses inherit these.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="lightviz-tests-"))
os.environ["LIGHTVIZ_LOCK_DIR"] = str(_SESSION_DIR / "lock")
os.environ["LIGHTVIZ_CACHE_DIR"] = str(_SESSION_DIR / "cache")
atexit.register(shutil.rmtree, _SESSION_DIR, ignore_errors=True)  # servers are stopped by then


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(port: int, log_path: Path, extra_args=()) -> subprocess.Popen:
    """``streamlit run app.py`` on 127.0.0.1:port, from the repository root."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false", *extra_args]
    log = open(log_path, "wb")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)


def wait_healthy(base_url: str, proc: subprocess.Popen, timeout: float = SERVER_START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {proc.returncode} before it was up")
        try:
            with urllib.request.urlopen(base_url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"streamlit did not answer on {base_url} within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def streamlit_server(artifacts):
    """The base URL of a real Streamlit server running app.py for this test session."""
    port = free_port()
    proc = start_streamlit(port, artifacts / "streamlit_server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield base
    finally:
        stop(proc)


def _browser_missing() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    return ""


@pytest.fixture(scope="session")
def browser():
    missing = _browser_missing()
    if missing:
        if os.environ.get("LIGHTVIZ_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser):
    """A factory of pages, each in its own context (own cookies and session)."""
    contexts = []

    def make(width: int = 1280, height: int = 900, color_scheme: str = "light", **options):
        ctx = browser.new_context(viewport={"width": width, "height": height},
                                  color_scheme=color_scheme, **options)
        ctx.set_default_timeout(30_000)
        # expect() has its own 5 s default: on a loaded 2-core machine a rerun can take longer.
        from playwright.sync_api import expect

        expect.set_options(timeout=30_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(new_page):
    return new_page()


def _wait_for_app(page, timeout: float = 30_000) -> None:
    """Wait until the app's script run is over (Streamlit marks the root element)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           timeout=timeout)


@pytest.fixture
def wait_for_app():
    return _wait_for_app


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path_factory, monkeypatch):
    """Every measurement goes to the latency store: each test gets its own, out of the user's
    cache (``$LIGHTVIZ_CACHE_DIR``, inherited by the servers and subprocesses it starts), so
    one test's measurement is never another's shared result."""
    monkeypatch.setenv("LIGHTVIZ_CACHE_DIR", str(tmp_path_factory.mktemp("lightviz-cache")))


@pytest.fixture(scope="session", autouse=True)
def _private_session_cache_dir(tmp_path_factory):
    """The same for session fixtures (the Streamlit server starts before any test's own)."""
    old = os.environ.get("LIGHTVIZ_CACHE_DIR")
    os.environ["LIGHTVIZ_CACHE_DIR"] = str(tmp_path_factory.mktemp("lightviz-session-cache"))
    yield
    if old is None:
        os.environ.pop("LIGHTVIZ_CACHE_DIR", None)
    else:
        os.environ["LIGHTVIZ_CACHE_DIR"] = old


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A latency store and host lock of the test's own (``$LIGHTVIZ_CACHE_DIR`` and
    ``$LIGHTVIZ_LOCK_DIR`` under its temporary directory), the store's in-process caches cleared
    before and after."""
    from lightviz.latency.predictor import store

    monkeypatch.setenv("LIGHTVIZ_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LIGHTVIZ_LOCK_DIR", str(tmp_path / "lock"))
    store.clear_caches()
    yield tmp_path / "cache"
    store.clear_caches()
