"""scripts/install.sh, the torch step the quick start's two commands share: which index it takes
torch from, that it says so in one line, and that an index that does not answer costs seconds,
not pip's retries. pip is replaced by a function that prints its arguments, and `python -c
"import torch"` fails as in a fresh virtual environment, so nothing is installed."""

from __future__ import annotations

import http.server
import shlex
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install.sh"


def torch_step(cpu_index: str, **env) -> tuple[subprocess.CompletedProcess, float]:
    """Run lightviz_torch_install with PyTorch's CPU index at ``cpu_index``: (result, seconds)."""
    py = shlex.quote(sys.executable)
    program = (f". {shlex.quote(str(SCRIPT))}\n"
               f"LIGHTVIZ_CPU_INDEX={shlex.quote(cpu_index)}\n"
               # python runs the index probe (`python - URL TIMEOUT`), and nothing imports torch
               f'python() {{ [ "$1" = - ] || return 1; {py} "$@"; }}\n'
               'lightviz_pip() { echo "pip $*"; }\n'
               "lightviz_torch_install\n")
    base = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    t0 = time.monotonic()
    r = subprocess.run(["bash", "-c", program], cwd=ROOT, capture_output=True, text=True,
                       env={**base, **env}, timeout=60)
    return r, time.monotonic() - t0


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cpu_index():
    """A local stand-in for PyTorch's CPU index that answers."""
    class Index(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(200 if self.path == "/whl/cpu/torch/" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/whl/cpu"
    server.shutdown()


def test_the_cpu_index_when_it_answers(cpu_index):
    r, _ = torch_step(cpu_index)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"pip install -q --index-url {cpu_index} torch==2.13.0"
    assert r.stderr.strip() == (f"lightviz: installing torch==2.13.0, CPU build, from PyTorch's "
                                f"CPU index ({cpu_index})")


def test_the_usual_index_when_it_does_not_and_quickly():
    unreachable = f"http://127.0.0.1:{closed_port()}/whl/cpu"
    r, seconds = torch_step(unreachable, TORCH_SPEC="torch==2.12.0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "pip install -q torch==2.12.0"
    assert r.stderr.strip() == ("lightviz: installing torch==2.12.0 from pip's default package "
                                f"index (PyTorch's CPU index {unreachable} did not answer)")
    assert seconds < 5


def test_an_index_that_never_answers_costs_the_timeout():
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        r, seconds = torch_step(f"http://127.0.0.1:{silent.getsockname()[1]}/whl/cpu",
                                TORCH_INDEX_TIMEOUT="1")
    assert r.returncode == 0 and r.stdout.strip() == "pip install -q torch==2.13.0", r.stderr
    assert 1 <= seconds < 4


def test_torch_index_url_wins(cpu_index):
    r, _ = torch_step(cpu_index, TORCH_INDEX_URL="https://example.invalid/simple")
    assert r.stdout.strip() == ("pip install -q --index-url https://example.invalid/simple "
                                "torch==2.13.0")
    assert "(TORCH_INDEX_URL)" in r.stderr


def test_both_quick_start_commands_share_it():
    for name in ("app.sh", "test.sh"):
        text = (ROOT / "scripts" / name).read_text()
        assert ". scripts/install.sh" in text and "lightviz_install" in text, name
        assert "pip install" not in text.replace("lightviz_pip install", ""), name
    for name in ("install.sh", "app.sh", "test.sh"):
        r = subprocess.run(["bash", "-n", str(ROOT / "scripts" / name)], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
