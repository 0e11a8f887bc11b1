"""``python -m worldcereal_explorer.server`` as a real process."""

from __future__ import annotations

import subprocess
import sys
import time

import requests

from tests.conftest import free_port

PUBLIC_ID = "2021_bel_lpisdemo_poly_110"


def test_python_m_server_serves_a_catalogue(demo_catalog):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "worldcereal_explorer.server", str(demo_catalog), "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()
            try:
                reply = requests.get(f"http://127.0.0.1:{port}/collections/search",
                                     params={"Bbox": [-180, -90, 180, 90]}, timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)  # poll interval while the process starts
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
