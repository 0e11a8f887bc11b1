#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv and install the package into it.
# Usage: scripts/setup-env.sh [EXTRAS]   e.g. scripts/setup-env.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install -q -e ".[$extras]"
else
  .venv/bin/python -m pip install -q -e .
fi
