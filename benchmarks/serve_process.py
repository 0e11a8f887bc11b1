"""Serve a catalogue with the local RDM server app in its own process (as a remote RDM would be), plus
two benchmark-only routes: ``GET /_bench/stats`` (traffic counters) and ``GET /_bench/reset``.

    python benchmarks/serve_process.py CATALOG_DIR LATENCY_S

Prints the base URL on the first line of stdout once the server answers.

The listening socket is created with ``IPPROTO_TCP`` so that asyncio sets ``TCP_NODELAY`` on accepted
connections: without it every response on a kept-alive connection waits ~40 ms for a delayed ACK
(Nagle), which would measure a local-server artefact rather than the client.
"""

from __future__ import annotations

import sys
import threading

import common  # noqa: F401  (puts the source checkout on sys.path when the package is not installed)
import uvicorn
from fastapi.responses import JSONResponse

from worldcereal_explorer.server import create_app
from worldcereal_explorer.server.net import bind_loopback


def main() -> None:
    catalog, latency = sys.argv[1], float(sys.argv[2])
    sock = bind_loopback(0, backlog=256)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(catalog, public_base_url=url, latency_s=latency)
    stats = app.state.stats

    @app.get("/_bench/stats", include_in_schema=False)
    def bench_stats() -> JSONResponse:
        return JSONResponse(stats.snapshot())

    @app.get("/_bench/reset", include_in_schema=False)
    def bench_reset() -> JSONResponse:
        stats.reset()
        return JSONResponse({"ok": True})

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    from worldcereal_explorer.server.net import wait_until_answering

    wait_until_answering(f"{url}/_bench/stats", timeout_s=30, alive=thread.is_alive, what="benchmark server")
    print(url, flush=True)
    thread.join()  # serve until the parent terminates this process


if __name__ == "__main__":
    main()
