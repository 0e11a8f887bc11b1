#!/usr/bin/env bash
# One command: install worldcereal-explorer into .venv and run the dashboard on the embedded demo
# (local RDM server + generated synthetic demo catalogue; no network needed). Extra args go to `demo`.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup-env.sh demo
exec .venv/bin/worldcereal-explorer demo "$@"
