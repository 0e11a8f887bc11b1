#!/usr/bin/env bash
# One command: install everything the tests need (Debian's Chromium for the browser tests, the package
# with its test extras into .venv), run ruff and mypy, then the whole test suite. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
scripts/setup-env.sh test
# Lint and types first: quick, and a failure there is as real as a failing test.
.venv/bin/ruff check worldcereal_explorer tests scripts benchmarks
.venv/bin/mypy
# The documentation site, strictly (a local RDM server for its executed notebooks; about a minute).
[ "${SKIP_DOCS:-}" = 1 ] || scripts/docs-build.sh test-artifacts/site
exec .venv/bin/python -m pytest "$@"
