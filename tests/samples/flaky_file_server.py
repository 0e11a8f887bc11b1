"""A real loopback HTTP file server that misbehaves on purpose: drops connections mid-body, ignores
Range, answers errors, hangs. Used to test resumable downloads, range reads and cancellation."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FlakyFileServer

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        server = self.server
        with server.lock:
            server.requests.append({"path": self.path, "range": self.headers.get("Range")})
            drop_after = server.drops.pop(0) if server.drops else None
            status_override = server.statuses.pop(0) if server.statuses else None
        if server.hang == "headers":
            self._hang()  # never answers: the client waits for the status line
            return
        if status_override is not None:
            body = b"server error"
            self.send_response(status_override)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        data = server.payload
        start, end, status = 0, len(data), 200
        requested = self.headers.get("Range")
        if requested:
            first, _, last = requested.split("=", 1)[1].partition("-")
            kind = "suffix" if first == "" else "open_ended" if last == "" else "explicit"
            if kind in server.refuse and server.refuse_status == 416:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if kind in server.refuse:  # answered like Azure Blob does: the whole file, 200
                requested = None
        if requested and not server.ignore_range:
            if first == "":
                start = max(0, len(data) - int(last))
            else:
                start = int(first)
                end = min(int(last) + 1, len(data)) if last else len(data)
            status = 206
        body = data[start:end]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.end_headers()
        if server.hang == "body":
            self.wfile.write(body[: min(len(body) // 2, 1024)])
            self.wfile.flush()
            self._hang()  # headers and a little of the body, then silence
            return
        if drop_after is not None and drop_after < len(body):
            # Send part of the promised body, then cut the connection hard.
            self.wfile.write(body[:drop_after])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


    def _hang(self) -> None:
        server = self.server
        with server.lock:
            server.hanging += 1
        server.hung.set()
        server.release.wait(server.hang_s)
        self.close_connection = True


class FlakyFileServer(ThreadingHTTPServer):
    """Serves ``payload`` at any path on 127.0.0.1 with Range support, and faults on demand.

    ``drops``: for each coming request in turn, the number of body bytes sent before the connection
    is cut (``None`` = no drop). ``statuses``: error statuses answered to the coming requests.
    ``ignore_range``: answer 200 with the whole body even when a Range is asked.
    ``refuse``: range forms ({"suffix", "open_ended"}) answered with ``refuse_status`` (200 = the
    whole file, as Azure Blob storage does for forms it does not support; or 416).
    ``hang``: ``"headers"`` never answers a request; ``"body"`` sends the headers and a little of the body,
    then goes silent. Either lasts until the server stops (or ``hang_s``); ``hung`` is set once a request
    hangs, ``hanging`` counts them.
    """

    daemon_threads = True

    def __init__(self, payload: bytes, *, drops: list[int | None] | None = None,
                 statuses: list[int] | None = None, ignore_range: bool = False,
                 refuse: set[str] | None = None, refuse_status: int = 200, hang: str | None = None,
                 hang_s: float = 60.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.payload = payload
        self.drops = list(drops or [])
        self.statuses = list(statuses or [])
        self.ignore_range = ignore_range
        self.refuse = set(refuse or ())
        self.refuse_status = refuse_status
        if hang not in (None, "headers", "body"):
            raise ValueError(f"hang={hang!r}; use None, 'headers' or 'body'")
        self.hang = hang
        self.hang_s = hang_s
        self.hanging = 0
        self.hung = threading.Event()
        self.release = threading.Event()
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, name="flaky-file-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/files/public/2021_flaky_test_point_110/FLAKY.geoparquet"

    def __enter__(self) -> FlakyFileServer:
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.release.set()  # let hanging handlers finish
        self.shutdown()
        self.server_close()
        self._thread.join(10)
