#!/usr/bin/env bash
# Quick start, command 1: install lightviz into .venv (a CPU build of PyTorch first, see
# scripts/install.sh) and start the app. It ends in a running server: open the URL it prints,
# Ctrl-C stops it. Arguments go to `lightviz app` (`--lan`, `--port N`).
#   bash scripts/app.sh [--lan] [--port 8501]
# Run again, it starts at once: the install is repeated only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/install.sh
. scripts/install.sh

lightviz_venv
stamp="$VIRTUAL_ENV/lightviz-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] \
   || ! python -c "import lightviz, torch" >/dev/null 2>&1; then
  lightviz_say "installing lightviz into $VIRTUAL_ENV (the first time takes a few minutes)"
  lightviz_install
  touch "$stamp"
fi
lightviz_say "starting the app: open the URL below in a browser; Ctrl-C stops it"
exec lightviz app "$@"
