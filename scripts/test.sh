#!/usr/bin/env bash
# Quick start, command 2: install everything the tests need on a fresh Debian/Ubuntu machine,
# then lint, type-check and run them.
#   bash scripts/test.sh [pytest options]
# System packages: chromium (browser tests, driven by Playwright) and graphviz (`dot` validates
# the diagrams), with apt-get only when one is missing. Python packages go into .venv unless a
# virtual environment is already active, torch first (scripts/install.sh: a CPU build).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/install.sh
. scripts/install.sh

echo "scripts/test.sh: installs Chromium and Graphviz with apt-get if missing (needs root or" \
     "sudo) and lightviz with a CPU build of PyTorch into .venv, then about 14 minutes of lint," \
     "type checks and about 1,500 tests on 2 cores" >&2

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
      echo "scripts/test.sh: ${need[*]} missing, and neither root nor sudo to install them:" \
           "run \`apt-get install -y ${need[*]}\` as root, then this again" >&2
      exit 1
    }
    sudo="sudo"
  fi
  echo "scripts/test.sh: installing ${need[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" fonts-dejavu-core >/dev/null
fi

lightviz_install test

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
