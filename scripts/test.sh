#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian/Ubuntu machine, then run them.
#   bash scripts/test.sh [pytest options]
# System packages: chromium (browser tests, driven by Playwright) and graphviz (`dot` validates
# the diagrams). Python packages go into .venv unless a virtual environment is already active.
# torch: a CPU build is installed first when torch is missing (TORCH_SPEC, default torch==2.13.0;
# set PIP_EXTRA_INDEX_URL / TORCH_INDEX_URL to take it from PyTorch's CPU-only index elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "scripts/test.sh: installing ${need[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" fonts-dejavu-core >/dev/null
fi

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if ! python -c "import torch" >/dev/null 2>&1; then
  python -m pip install -q ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "${TORCH_SPEC:-torch==2.13.0}"
fi
python -m pip install -q -e '.[test]'

# Lint and type-check first (configuration in pyproject.toml: [tool.ruff], and [tool.mypy] with
# the files it checks): a new finding fails the run like a failed test.
python -m ruff check --no-cache .
python -m mypy

set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "scripts/test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
