"""A raw-socket HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose, chosen per request path and count.

Every connection gets its own thread; the server tracks its threads and sockets and :meth:`FaultServer.stop`
closes every socket, wakes every behaviour that waits (hang, trickle) and joins every thread within a bound.

Behaviours are callables ``behaviour(ctx) -> bool`` (``True``: keep the connection open for another request).
``ctx`` is a :class:`Exchange`: the parsed request, the per-path request number ``ctx.n`` (1-based) and helpers
to answer. Factories below build the usual faults (:func:`hang`, :func:`trickle`, :func:`drop_mid_body`, ...).
Paths not overridden are answered by :class:`RdmRoutes`, a tiny but valid RDM API (two public collections, their
metadata, code statistics, items, download routes, and signed file URLs pointing back at this server).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

SECRET_SIG = "SECRETSIG123"
SIGNED_QUERY = f"?expires=1&sig={SECRET_SIG}"
COLLECTION_IDS = ("2021_bel_faulttest_poly_110", "2020_ken_faulttest_point_111")
MAX_CONNECTIONS = 128
MAX_HEADER_BYTES = 1024 * 1024
JOIN_TIMEOUT_S = 5.0

Behaviour = Callable[["Exchange"], bool]


@dataclass
class Request:
    method: str
    target: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    line_length: int  # bytes of the request line (what a URL length limit applies to)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class Exchange:
    server: FaultServer
    conn: socket.socket
    request: Request
    n: int  # how many requests this path has seen, this one included

    @property
    def stopped(self) -> threading.Event:
        return self.server.stopping

    def send_raw(self, data: bytes) -> None:
        self.conn.sendall(data)

    def send_head(self, status: int, headers: dict[str, str] | list[tuple[str, str]], reason: str = "") -> None:
        items = headers.items() if isinstance(headers, dict) else headers
        lines = [f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in items]
        self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def respond(self, status: int, body: bytes = b"", content_type: str = "application/json",
                extra: dict[str, str] | None = None) -> bool:
        headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
        headers.update(extra or {})
        self.send_head(status, headers)
        if self.request.method != "HEAD":
            self.send_raw(body)
        return True

    def json(self, obj: object, status: int = 200) -> bool:
        return self.respond(status, json.dumps(obj).encode())

    def wait(self, seconds: float) -> bool:
        """Pace the answer (server side); False when the server is stopping."""
        return not self.server.stopping.wait(seconds)


_REASONS = {200: "OK", 206: "Partial Content", 302: "Found", 404: "Not Found", 416: "Range Not Satisfiable",
            500: "Internal Server Error", 503: "Service Unavailable"}


# -- behaviours -----------------------------------------------------------------------------------------


def hang() -> Behaviour:
    """Accept the request and never answer (until the server stops)."""

    def run(ctx: Exchange) -> bool:
        ctx.server.hanging.set()
        ctx.stopped.wait()
        return False

    return run


def trickle(body: bytes | None = None, *, interval: float = 0.5, content_type: str = "application/json") -> Behaviour:
    """Send headers at once, then the body one byte per ``interval`` seconds."""

    def run(ctx: Exchange) -> bool:
        payload = body if body is not None else json.dumps([{"x": "y" * 200}]).encode()
        ctx.send_head(200, {"Content-Type": content_type, "Content-Length": str(len(payload))})
        for i in range(len(payload)):
            ctx.send_raw(payload[i : i + 1])
            if not ctx.wait(interval):
                return False
        return True

    return run


def status(code: int, body: bytes = b'{"error": {"message": "server fault"}}', headers: dict | None = None) -> Behaviour:
    def run(ctx: Exchange) -> bool:
        return ctx.respond(code, body, extra=headers)

    return run


def burst(code: int, times: int, then: Behaviour | None = None, headers: dict | None = None) -> Behaviour:
    """Answer ``code`` for the first ``times`` requests of the path, then ``then`` (default: the RDM route)."""

    def run(ctx: Exchange) -> bool:
        if ctx.n <= times:
            return ctx.respond(code, b'{"error": {"message": "busy"}}', extra=headers)
        return (then or ctx.server.rdm)(ctx)

    return run


def drop_mid_body(body: bytes | Callable[[Exchange], bytes], *, times: int | None = 1,
                  content_type: str = "application/json", then: Behaviour | None = None) -> Behaviour:
    """Announce the whole body, send half of it and close the connection.

    ``times=1``: only the path's first request drops, later ones get ``then`` (default: the body, whole).
    ``times=None``: every request drops.
    """

    def run(ctx: Exchange) -> bool:
        payload = body(ctx) if callable(body) else body
        if times is None or ctx.n <= times:
            ctx.send_head(200, {"Content-Type": content_type, "Content-Length": str(len(payload))})
            ctx.send_raw(payload[: len(payload) // 2])
            _hard_close(ctx.conn)
            return False
        if then is not None:
            return then(ctx)
        return ctx.respond(200, payload, content_type)

    return run


def redirect_loop() -> Behaviour:
    def run(ctx: Exchange) -> bool:
        target = f"{ctx.server.url}{ctx.request.path}?hop={ctx.n}"
        return ctx.respond(302, b"", "text/plain", {"Location": target})

    return run


def corrupt_gzip() -> Behaviour:
    def run(ctx: Exchange) -> bool:
        good = gzip.compress(b'[{"collectionId": "x", "accessType": "Public"}]' * 20)
        bad = good[:10] + bytes(b ^ 0x5A for b in good[10:])
        return ctx.respond(200, bad, "application/json", {"Content-Encoding": "gzip"})

    return run


def huge_length(announced: int = 10_000_000_000) -> Behaviour:
    """Announce ``announced`` bytes of JSON, then stream ``[`` and spaces for as long as the client reads."""

    def run(ctx: Exchange) -> bool:
        ctx.send_head(200, {"Content-Type": "application/json", "Content-Length": str(announced)})
        ctx.server.huge_started.set()
        chunk = b"[" + b" " * (256 * 1024 - 1)
        sent = 0
        deadline = time.monotonic() + 30
        while sent < 2 * 1024**3 and time.monotonic() < deadline and not ctx.stopped.is_set():
            ctx.send_raw(chunk)
            sent += len(chunk)
            chunk = b" " * len(chunk)
        ctx.server.huge_sent = sent
        return False

    return run


def file_payload(data: bytes, content_type: str = "application/octet-stream") -> Behaviour:
    """A file with Range support (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``)."""

    def run(ctx: Exchange) -> bool:
        span = parse_range(ctx.request.header("range"), len(data))
        if span is None:
            return ctx.respond(200, data, content_type, {"Accept-Ranges": "bytes"})
        first, last = span
        return ctx.respond(206, data[first : last + 1], content_type,
                           {"Content-Range": f"bytes {first}-{last}/{len(data)}", "Accept-Ranges": "bytes"})

    return run


def drop_then_wrong_range(data: bytes, content_type: str = "application/octet-stream", *,
                          wrong_start: int | None = None) -> Behaviour:
    """First request: drop mid-body. A later Range request: a 206 whose Content-Range starts elsewhere.

    ``wrong_start=None``: always from byte 0 (a server that restarts the file); an int: that offset
    (or, when it happens to be the asked offset, one past it).
    """
    plain = file_payload(data, content_type)

    def run(ctx: Exchange) -> bool:
        if ctx.n == 1:
            ctx.send_head(200, {"Content-Type": content_type, "Content-Length": str(len(data))})
            ctx.send_raw(data[: len(data) // 2])
            _hard_close(ctx.conn)
            return False
        span = parse_range(ctx.request.header("range"), len(data))
        if span is None:
            return plain(ctx)
        asked = span[0]
        start = 0 if wrong_start is None else wrong_start
        if start == asked:
            start += 1
        body = data[start:]
        ctx.server.wrong_ranges.append((asked, start))
        return ctx.respond(206, body, content_type,
                           {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})

    return run


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The ``(first, last)`` bytes (inclusive) of a ``Range: bytes=...`` header's first range in a body of
    ``size`` bytes, or ``None`` for a header that is not a byte range."""
    if not header.startswith("bytes="):
        return None
    spec = header[len("bytes="):].split(",")[0].strip()
    first_s, _, last_s = spec.partition("-")
    if first_s == "":
        n = int(last_s)
        return max(size - n, 0), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    return first, min(last, size - 1)


def _hard_close(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()


# -- the RDM API ----------------------------------------------------------------------------------------


def collection_json(ref_id: str) -> dict:
    """A collection object in the live API's shape (see ../shared/data/api-examples)."""
    return {
        "collectionId": ref_id,
        "title": f"Fault test collection {ref_id}",
        "featureCount": 3,
        "type": "Polygon" if "poly" in ref_id else "Point",
        "accessType": "Public",
        "typeOfObservationMethod": "Unknown",
        "confidenceLandCover": 80,
        "confidenceCropType": 70,
        "confidenceIrrigationType": 0,
        "ewocCodes": [1101010001, 1201000000],
        "irrTypes": [0],
        "extent": {
            "spatial": {"bbox": [[3.0, 50.0, 5.0, 51.0]], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
            "temporal": {"interval": [["2021-01-01T00:00:00", "2021-12-31T00:00:00"]],
                         "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"},
        },
        "additionalData": "",
        "crs": ["http://www.opengis.net/def/crs/EPSG/0/4326"],
        "lastModificationTime": "2024-08-08T13:09:07.877871",
        "lastModifierId": None,
        "creationTime": "2024-06-26T10:17:34.739508",
        "creatorId": None,
        "id": "3a136639-d113-d738-b5f1-26bd436edfff",
    }


class RdmRoutes:
    """The default behaviour: valid answers for the RDM routes and the file routes."""

    def __init__(self, server: FaultServer, payloads: dict[str, tuple[bytes, str]]):
        self.server = server
        self.payloads = payloads  # "parquet" / "xlsx" / "pdf" -> (bytes, content type)

    def file_url(self, ref_id: str, name: str) -> str:
        return f"{self.server.url}/files/{ref_id}/{name}{SIGNED_QUERY}"

    def metadata_items(self, ref_id: str) -> list[dict]:
        stats = {"LcStats": [{"Code": 11, "Count": 3}],
                 "EwocStats": [{"Code": 1101010001, "Count": 2}, {"Code": 1201000000, "Count": 1}],
                 "IrrStats": [{"Code": 0, "Count": 3}]}
        return [
            {"id": 1, "name": "codeStats", "value": json.dumps(stats), "type": "String"},
            {"id": 2, "name": "GeoParquetDownloadUrl", "value": self.file_url(ref_id, f"{ref_id}.geoparquet"),
             "type": "String"},
            {"id": 3, "name": "SampleDownloadUrl", "value": self.file_url(ref_id, f"sample_{ref_id}.parquet"),
             "type": "String"},
            {"id": 4, "name": "CuratedDataSet:Harmonization:Pdf",
             "value": self.file_url(ref_id, f"{ref_id}_harmonization.pdf"), "type": "String"},
        ]

    def __call__(self, ctx: Exchange) -> bool:
        path = ctx.request.path
        parts = [p for p in path.split("/") if p]
        if path == "/collections/search":
            return ctx.json([collection_json(c) for c in self.server.search_ids])
        if path == "/collections":
            ids = list(COLLECTION_IDS)
            return ctx.json({"totalCount": len(ids), "items": [collection_json(c) for c in ids]})
        if len(parts) >= 2 and parts[0] == "collections":
            ref_id = parts[1]
            if ref_id not in COLLECTION_IDS:
                return ctx.json({"error": {"message": f"no collection {ref_id}"}}, status=404)
            rest = "/".join(parts[2:])
            if rest == "":
                return ctx.json(collection_json(ref_id))
            if rest == "metadata/items":
                return ctx.json(self.metadata_items(ref_id))
            if rest == "items/codestats":
                return ctx.json({"lcStats": [{"code": 11, "count": 3}],
                                 "ewocStats": [{"code": 1101010001, "count": 2}, {"code": 1201000000, "count": 1}],
                                 "irrStats": [{"code": 0, "count": 3}]})
            if rest == "download":
                return ctx.respond(200, self.file_url(ref_id, f"{ref_id}.geoparquet").encode(), "text/plain")
            if rest == "sample/download":
                return ctx.respond(200, self.file_url(ref_id, f"sample_{ref_id}.parquet").encode(), "text/plain")
            if rest == "metadata/download":
                return file_payload(*self.payloads["xlsx"])(ctx)
            if rest == "items":
                feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [4.0, 50.5]},
                           "properties": {"sample_id": "s1", "ewoc_code": 1101010001,
                                          "valid_time": "2021-06-01T00:00:00"}}
                return ctx.json({"type": "FeatureCollection", "features": [feature], "NumberMatched": 1,
                                 "NumberReturned": 1, "UtcTimeStamp": "2024-01-01T00:00:00Z", "SkipCount": 0})
        if len(parts) == 3 and parts[0] == "files":
            name = parts[2]
            kind = "pdf" if name.endswith(".pdf") else "xlsx" if name.endswith(".xlsx") else "parquet"
            return file_payload(*self.payloads[kind])(ctx)
        return ctx.json({"error": {"message": f"no route {path}"}}, status=404)


# -- the server -----------------------------------------------------------------------------------------


@dataclass
class FaultServer:
    """``routes`` maps a request path (no query) to a behaviour; ``default`` answers the rest."""

    payloads: dict[str, tuple[bytes, str]]
    routes: dict[str, Behaviour] = field(default_factory=dict)
    default: Behaviour | None = None
    search_ids: tuple[str, ...] = COLLECTION_IDS

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self.hanging = threading.Event()  # set when a request reached a hang() behaviour
        self.huge_started = threading.Event()
        self.huge_sent = 0
        self.wrong_ranges: list[tuple[int, int]] = []
        self.requests: list[Request] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._seen = threading.Condition(self._lock)
        self._threads: set[threading.Thread] = set()
        self._conns: set[socket.socket] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.rdm = RdmRoutes(self, self.payloads)
        self._acceptor = threading.Thread(target=self._accept_loop, name="fault-server-accept", daemon=True)

    # lifecycle ------------------------------------------------------------------------------------
    def start(self) -> FaultServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            conns = list(self._conns)
            self._seen.notify_all()
        for conn in conns:
            _hard_close(conn)
        self._acceptor.join(JOIN_TIMEOUT_S)
        self._listener.close()
        with self._lock:
            threads = list(self._threads)
        end = time.monotonic() + JOIN_TIMEOUT_S
        for thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        if alive or self._acceptor.is_alive():
            raise RuntimeError(f"fault server threads still running after stop: {alive}")

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # configuration and inspection -----------------------------------------------------------------
    def set(self, path: str, behaviour: Behaviour) -> None:
        self.routes[path] = behaviour

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return len(self.requests) if path is None else self._counts.get(path, 0)

    def seen(self, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait (on a condition, no polling sleep) until ``predicate()`` holds for the request log."""
        with self._seen:
            return self._seen.wait_for(lambda: self.stopping.is_set() or predicate(), timeout)

    # internals ------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                if len(self._threads) >= MAX_CONNECTIONS or self.stopping.is_set():
                    _hard_close(conn)
                    continue
                self._conns.add(conn)
                thread = threading.Thread(target=self._serve, args=(conn,), name="fault-server-conn", daemon=True)
                self._threads.add(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(0.2)
            buffer = b""
            while not self.stopping.is_set():
                request, buffer = self._read_request(conn, buffer)
                if request is None:
                    return
                with self._lock:
                    n = self._counts.get(request.path, 0) + 1
                    self._counts[request.path] = n
                    self.requests.append(request)
                    self._seen.notify_all()
                behaviour = self.routes.get(request.path) or self.default or self.rdm
                conn.settimeout(None)
                keep = behaviour(Exchange(self, conn, request, n))
                conn.settimeout(0.2)
                if not keep or request.header("connection").lower() == "close":
                    return
        except OSError:
            return
        finally:
            _hard_close(conn)
            with self._lock:
                self._conns.discard(conn)
                self._threads.discard(threading.current_thread())

    def _read_request(self, conn: socket.socket, buffer: bytes) -> tuple[Request | None, bytes]:
        idle_until = time.monotonic() + 10.0  # an idle keep-alive connection is closed after 10 s
        while b"\r\n\r\n" not in buffer:
            if self.stopping.is_set() or time.monotonic() > idle_until or len(buffer) > MAX_HEADER_BYTES:
                return None, b""
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return None, b""
            buffer += data
        head, _, rest = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(rest) < length:
            data = conn.recv(65536)
            if not data:
                return None, b""
            rest += data
        parts = urlsplit(target)
        request = Request(method, target, parts.path, parse_qsl(parts.query, keep_blank_values=True), headers,
                          len(lines[0]))
        return request, rest[length:]
