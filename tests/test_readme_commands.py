"""Every `lightviz ...` line in the README's code blocks runs here and exits 0 (the ones this
machine can run: not the app server, CUDA or a Jetson's power rails), and the README's error
transcript (`$ lightviz ...` followed by its output) is what the command prints."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
NEEDS_ELSEWHERE = ("lightviz app", "--device cuda", "--energy", "--list-setups")  # a server, a GPU, a Jetson


def code_lines():
    """(line, the next line) of every fenced code block, in order."""
    out = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", README, flags=re.S | re.M):
        lines = block.splitlines()
        out += list(zip(lines, lines[1:] + [""]))
    return out


COMMANDS = [line.split("  #")[0].strip() for line, _ in code_lines()
            if line.startswith("lightviz ") and not any(n in line for n in NEEDS_ELSEWHERE)]
TRANSCRIPTS = [(line[2:], after) for line, after in code_lines() if line.startswith("$ lightviz ")]


def run(command: str, cwd: Path, env=None) -> subprocess.CompletedProcess:
    """``command`` through bash with ``lightviz`` as this interpreter's module (redirections
    such as ``> block.dot`` work and land in ``cwd``)."""
    lightviz = f"{shlex.quote(sys.executable)} -m lightviz"
    return subprocess.run(["bash", "-c", lightviz + command[len("lightviz"):]], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


def test_the_readme_has_commands():
    assert len(COMMANDS) >= 10 and TRANSCRIPTS


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    """The README's `lightviz calibrate` lines, with a short budget (the full one measures for
    2.5 minutes), run once into a cache directory of their own that the `lightviz predict`
    lines then read, and the `lightviz devices` lines export and import: (results by command,
    that directory)."""
    cache = tmp_path_factory.mktemp("readme-cache")
    env = dict(os.environ, LIGHTVIZ_CACHE_DIR=str(cache))
    results = {command: run(command + " --budget 20", cache, env)
               for command in COMMANDS if command.startswith("lightviz calibrate")}
    run("lightviz devices export --threads 1 -o jetson.json", cache, env)  # what the imports read
    return results, cache


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(command, tmp_path, calibration):
    results, cache = calibration
    if command in results:
        result = results[command]
    elif command.startswith("lightviz predict"):
        result = run(command, tmp_path, dict(os.environ, LIGHTVIZ_CACHE_DIR=str(cache)))
    elif command.startswith("lightviz devices"):  # export the calibration, import it: in order
        result = run(command, cache, dict(os.environ, LIGHTVIZ_CACHE_DIR=str(cache)))
    else:
        result = run(command, tmp_path)
    assert result.returncode == 0, f"{command}\n{result.stderr[-2000:]}"


@pytest.mark.parametrize("command,expected", TRANSCRIPTS)
def test_readme_transcript_is_what_the_command_prints(command, expected, tmp_path):
    result = run(command, tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == expected.strip()
