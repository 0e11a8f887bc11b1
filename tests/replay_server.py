"""A small real HTTP server on 127.0.0.1 that answers scripted responses.

It stands in for the live RDM where the local RDM server cannot: replaying the recorded real responses
of ``../shared/data/api-examples`` and injecting faults (503 with Retry-After, HTML, non-JSON).
Every request is recorded (path, query, headers) so tests can assert the exact wire format.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


@dataclass
class Recorded:
    path: str
    query: list[tuple[str, str]]
    raw_query: str
    headers: dict[str, str]


class ReplayServer:
    """Serve scripted replies by path. A path may hold a queue of replies; the last one repeats."""

    def __init__(self) -> None:
        self.routes: dict[str, deque[Reply]] = defaultdict(deque)
        self.requests: list[Recorded] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                parts = urlsplit(self.path)
                server.requests.append(
                    Recorded(parts.path, parse_qsl(parts.query, keep_blank_values=True), parts.query, dict(self.headers))
                )
                queue = server.routes.get(parts.path)
                if not queue:
                    reply = Reply(404, b'{"error":{"code":null,"message":"not found"}}')
                else:
                    reply = queue.popleft() if len(queue) > 1 else queue[0]
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, path: str, *replies: Reply) -> None:
        self.routes[path].extend(replies)

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
