#!/usr/bin/env bash
# Install lightviz into .venv with a CPU build of PyTorch: the steps scripts/app.sh and
# scripts/test.sh share (they source this file), or on its own:
#   bash scripts/install.sh [EXTRAS]          # e.g. `bash scripts/install.sh test`
#
# torch comes first, so that pip keeps it when it installs lightviz (`torch>=2.1`): a bare
# requirement would take whatever the index serves, which on PyPI for Linux x86-64 is a CUDA
# build (several GB of nvidia-* packages) for an app that runs on the CPU.
#   - torch already importable (a Jetson's NVIDIA wheel, your own build): kept, and pinned
#     while lightviz installs.
#   - TORCH_INDEX_URL set: torch from that index.
#   - otherwise PyTorch's CPU-only index (https://download.pytorch.org/whl/cpu) when it answers
#     within TORCH_INDEX_TIMEOUT seconds (default 5), else the package index pip is configured
#     with (PyPI unless PIP_INDEX_URL or pip.conf says otherwise).
# TORCH_SPEC names the version (default torch==2.13.0). One line says which index was used.
# On a Jetson, torch must come from NVIDIA first (README: "Self-hosting on a Jetson"); the
# virtual environment then sees the system's packages and NumPy stays below 2.

LIGHTVIZ_CPU_INDEX=https://download.pytorch.org/whl/cpu
LIGHTVIZ_CONSTRAINTS=""

lightviz_say() { echo "lightviz: $*" >&2; }

lightviz_is_jetson() { [ -f /etc/nv_tegra_release ]; }

# Activate .venv (created when missing) unless a virtual environment is already active.
lightviz_venv() {
  [ -n "${VIRTUAL_ENV:-}" ] && return 0
  local new=""
  if [ ! -x .venv/bin/python ]; then
    new=1
    if lightviz_is_jetson; then  # the environment sees NVIDIA's torch
      "${PYTHON:-python3}" -m venv --system-site-packages .venv || return
    else
      "${PYTHON:-python3}" -m venv .venv || return
    fi
  fi
  # shellcheck disable=SC1091
  . .venv/bin/activate
  [ -z "$new" ] || python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
}

# Does URL answer within TORCH_INDEX_TIMEOUT seconds? (Python, so no curl is needed; proxies
# in the environment are honoured.)
lightviz_reachable() {
  python - "$1" "${TORCH_INDEX_TIMEOUT:-5}" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
req = urllib.request.Request(sys.argv[1].rstrip("/") + "/torch/", method="HEAD")
urllib.request.urlopen(req, timeout=float(sys.argv[2]))
EOF
}

# The installed torch's version, if it imports (its distribution's version: what pip pins).
# -W ignore: torch warns on import when NumPy is not installed yet.
lightviz_torch_version() {
  python -W ignore -c "import importlib.metadata as m, torch; print(m.version('torch'))"
}

# pip, in one place (the tests replace it to watch the choice without installing).
lightviz_pip() { python -m pip "$@"; }

# Install torch if it is missing, saying from which index.
lightviz_torch_install() {
  local spec="${TORCH_SPEC:-torch==2.13.0}" version
  if version=$(lightviz_torch_version 2>/dev/null); then
    lightviz_say "torch $version is already installed: keeping it"
  elif lightviz_is_jetson; then
    lightviz_say "no torch here: on a Jetson install NVIDIA's PyTorch wheel first (README," \
                 "\"Self-hosting on a Jetson\"); PyPI's aarch64 torch has no CUDA"
    return 1
  elif [ -n "${TORCH_INDEX_URL:-}" ]; then
    lightviz_say "installing $spec from $TORCH_INDEX_URL (TORCH_INDEX_URL)"
    lightviz_pip install -q --index-url "$TORCH_INDEX_URL" "$spec"
  elif lightviz_reachable "$LIGHTVIZ_CPU_INDEX"; then
    lightviz_say "installing $spec, CPU build, from PyTorch's CPU index ($LIGHTVIZ_CPU_INDEX)"
    lightviz_pip install -q --index-url "$LIGHTVIZ_CPU_INDEX" "$spec"
  else
    lightviz_say "installing $spec from pip's default package index" \
                 "(PyTorch's CPU index $LIGHTVIZ_CPU_INDEX did not answer)"
    lightviz_pip install -q "$spec"
  fi
}

# torch installed or kept, and LIGHTVIZ_CONSTRAINTS set to a file that pins it (with NumPy
# below 2 on a Jetson), so that installing lightviz never replaces it.
lightviz_torch() {
  local version
  lightviz_torch_install || return
  version=$(lightviz_torch_version) || {
    lightviz_say "torch does not import: see the error above"
    return 1
  }
  LIGHTVIZ_CONSTRAINTS="$VIRTUAL_ENV/lightviz-constraints.txt"
  echo "torch==$version" > "$LIGHTVIZ_CONSTRAINTS"
  if lightviz_is_jetson; then  # NVIDIA's JetPack wheels are built against NumPy 1.x
    echo "numpy<2" >> "$LIGHTVIZ_CONSTRAINTS"
  fi
}

# venv, torch, then lightviz itself (editable) with EXTRAS (e.g. "test").
lightviz_install() {
  local target=.
  [ -n "${1:-}" ] && target=".[$1]"
  lightviz_venv || return
  lightviz_torch || return
  lightviz_pip install -q -c "$LIGHTVIZ_CONSTRAINTS" -e "$target" || return
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  lightviz_install "${1:-}"
  lightviz_say "installed into ${VIRTUAL_ENV}: activate it with \`. .venv/bin/activate\`"
fi
