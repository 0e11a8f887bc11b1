"""``python -m worldcereal_explorer.server`` as a real process."""

from __future__ import annotations

import subprocess
import sys
import time

import requests

from tests.conftest import free_port
from worldcereal_explorer.server.net import wait_until_answering

PUBLIC_ID = "2021_bel_lpisdemo_poly_110"


def test_python_m_server_serves_a_catalogue(demo_catalog, tmp_path):
    port = free_port()
    log_path = tmp_path / "server.log"
    # the log goes to a file, not a pipe: nobody would read a pipe while the server runs, and it must be closed
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "worldcereal_explorer.server", str(demo_catalog), "--port",
                                 str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until_answering(f"http://127.0.0.1:{port}/", timeout_s=60, alive=lambda: proc.poll() is None)
        except RuntimeError as exc:
            raise AssertionError(f"{exc}; its log: {log_path.read_text()[-2000:]}") from None
        reply = requests.get(f"http://127.0.0.1:{port}/collections/search", params={"Bbox": [-180, -90, 180, 90]},
                             timeout=30)
        assert reply.status_code == 200 and len(reply.json()) == 16  # the public demo collections
        url = requests.get(f"http://127.0.0.1:{port}/collections/{PUBLIC_ID}/download").text
        assert url.startswith(f"http://127.0.0.1:{port}/files/public/{PUBLIC_ID}/")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_latency_option_delays_every_request(demo_catalog):
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(demo_catalog, latency_s=0.25) as server:
        started = time.monotonic()
        reply = requests.get(f"{server.url}/collections/{PUBLIC_ID}")
        elapsed = time.monotonic() - started
    assert reply.status_code == 200
    assert elapsed >= 0.24  # a lower bound only: asyncio.sleep never returns early (up to clock resolution)
