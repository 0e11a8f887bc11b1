"""``worldcereal-explorer serve`` with failure-play options and environment variables, as a real process."""

from __future__ import annotations

import os
import subprocess
import sys

import requests

from tests.conftest import free_port
from worldcereal_explorer.server.net import wait_until_answering

PUBLIC_ID = "2021_bel_lpisdemo_poly_110"
OTHER_ID = "2021_usa_cornbeltdemo_point_110"


def test_serve_plays_failures_from_options_and_environment(demo_catalog):
    port = free_port()
    env = {**os.environ, "WORLDCEREAL_SERVER_FAILING_DOWNLOAD_IDS": OTHER_ID}
    proc = subprocess.Popen(
        [sys.executable, "-m", "worldcereal_explorer.cli", "serve", str(demo_catalog), "--port", str(port),
         "--flaky-ids", PUBLIC_ID, "--flaky-failures", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/", timeout_s=60, alive=lambda: proc.poll() is None)
        assert requests.get(f"{url}/collections/{PUBLIC_ID}", timeout=30).status_code == 503
        assert requests.get(f"{url}/collections/{PUBLIC_ID}", timeout=30).status_code == 200
        assert requests.get(f"{url}/collections/{OTHER_ID}/download", timeout=30).status_code == 500
        assert requests.get(f"{url}/collections/{PUBLIC_ID}/download", timeout=30).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_refuses_bad_failure_play_settings(demo_catalog):
    done = subprocess.run(
        [sys.executable, "-m", "worldcereal_explorer.cli", "serve", str(demo_catalog), "--port", str(free_port()),
         "--max-bytes-per-s", "0"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "max_bytes_per_s=0.0 is not allowed" in done.stderr
