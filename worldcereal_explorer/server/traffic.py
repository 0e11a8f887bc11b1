"""Traffic counters and the outermost middleware: query-name canonicalisation, added latency, byte counts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from .params import canonical_query

__all__ = ["TrafficStats", "TrafficMiddleware"]


class TrafficStats:
    """Request and response-body byte counters, per path and in total (for benchmarks).

    ``app.state.stats`` holds one; read it with :meth:`snapshot`, zero it with :meth:`reset`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero all counters."""
        with self._lock:
            self.requests = 0
            self.bytes_sent = 0
            self.by_path: dict[str, dict[str, int]] = {}

    def record(self, path: str, nbytes: int) -> None:
        """Count one response of ``nbytes`` body bytes for ``path``."""
        with self._lock:
            self.requests += 1
            self.bytes_sent += nbytes
            entry = self.by_path.setdefault(path, {"requests": 0, "bytes": 0})
            entry["requests"] += 1
            entry["bytes"] += nbytes

    def snapshot(self) -> dict[str, Any]:
        """A copy: ``{"requests", "bytes_sent", "by_path": {path: {"requests", "bytes"}}}``."""
        with self._lock:
            return {
                "requests": self.requests,
                "bytes_sent": self.bytes_sent,
                "by_path": {k: dict(v) for k, v in self.by_path.items()},
            }


class TrafficMiddleware:
    """Counts response bytes per path, canonicalises query parameter names and, for benchmarks, delays
    every request by ``latency_s``.

    Parameters
    ----------
    app
        The wrapped ASGI app.
    stats
        Where to count.
    latency_s
        Extra delay before each request is handled.
    """

    def __init__(self, app: Any, stats: TrafficStats, latency_s: float) -> None:
        self.app = app
        self.stats = stats
        self.latency_s = latency_s

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = {**scope, "query_string": canonical_query(scope.get("query_string", b""))}
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        sent = 0

        async def counting_send(message: dict) -> None:
            nonlocal sent
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.stats.record(scope.get("path", ""), sent)
