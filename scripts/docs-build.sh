#!/usr/bin/env bash
# Build the documentation site strictly, as CI does: the synthetic demo catalogue is generated into a
# temporary folder, the local RDM server serves it on a free port of 127.0.0.1, the widget screenshots are
# taken (scripts/docs-screenshots.py, Voila + headless Chromium), then `mkdocs build --strict` executes the
# example notebooks against that server. The server is stopped however the build ends.
#
# Usage: scripts/docs-build.sh [SITE_DIR]      (default: test-artifacts/site, git-ignored; needs .venv with the docs extra)
#        scripts/docs-build.sh --serve [ADDR]   live preview with `mkdocs serve` (default 127.0.0.1:8001), same server
#        DOCS_SKIP_SCREENSHOTS=1 scripts/docs-build.sh   keeps the screenshots already in docs/assets/screenshots
set -euo pipefail
cd "$(dirname "$0")/.."
serve=""
if [ "${1:-}" = "--serve" ]; then
  serve="${2:-127.0.0.1:8001}"
fi
site_dir="${1:-test-artifacts/site}"
py=.venv/bin/python
work="$(mktemp -d "${TMPDIR:-/tmp}/wce-docs.XXXXXX")"
server_pid=""

cleanup() {
  status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$status" != 0 ] && [ -f "$work/server.log" ]; then
    echo "docs build failed; the local RDM server's log:" >&2
    tail -n 40 "$work/server.log" >&2 || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
.venv/bin/worldcereal-explorer make-demo-catalog "$work/catalog" >/dev/null
port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
.venv/bin/worldcereal-explorer serve "$work/catalog" --port "$port" >"$work/server.log" 2>&1 &
server_pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
  if "$py" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2).close()" \
      "$url/collections?MaxResultCount=1" 2>/dev/null; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { echo "the local RDM server exited" >&2; exit 1; }
  sleep 0.2
done

# Everything the notebooks and screenshots read comes from the local server; no login, no user settings.
export WORLDCEREAL_RDM_URL="$url"
export WORLDCEREAL_LEGEND_URL="$url/legend.csv"
export WORLDCEREAL_IRRIGATION_LEGEND_URL="$url/legend_irrigation.csv"
export WORLDCEREAL_CONFIG="$work/no-config.toml"
export WORLDCEREAL_TOKEN_CACHE="$work/tokens.json"
unset WORLDCEREAL_RDM_TOKEN WORLDCEREAL_RDM_REFRESH_TOKEN
export NO_MKDOCS_2_WARNING=1

if [ "${DOCS_SKIP_SCREENSHOTS:-}" != 1 ]; then
  "$py" scripts/docs-screenshots.py
fi
if [ -n "$serve" ]; then
  .venv/bin/mkdocs serve --dev-addr "$serve"   # Ctrl-C stops it, and the trap stops the RDM server
  exit 0
fi
.venv/bin/mkdocs build --strict --site-dir "$site_dir"
"$py" scripts/docs-check-notebooks.py "$site_dir"
echo "docs: built $site_dir in $(( $(date +%s) - start )) s"
