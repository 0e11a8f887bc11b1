"""urllib3 made to answer to the current :class:`~.scopes.CallScope` (used only by :mod:`.http`).

Connections register with the scope that opened them, so cancelling the scope can shut their sockets
down; retries stop as soon as the scope has stopped, and their back-off and ``Retry-After`` sleeps wait
on the scope (cancel and deadline wake them) instead of ``time.sleep``.
"""

from __future__ import annotations

import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from ..errors import QueryCancelledError, RdmTimeoutError
from .scopes import CallScope, current_connections, current_scope

__all__ = ["ScopeStopped", "ScopedAdapter", "ScopedRetry"]


class ScopeStopped(Exception):
    """Raised inside urllib3 when the current scope stopped; translated by :class:`HttpTransport`."""


class _TrackedConnectionMixin:
    def request(self, *args: Any, **kwargs: Any) -> Any:
        scope: CallScope | None = current_scope()
        mine: list[HTTPConnection] | None = current_connections()
        if scope is not None and mine is not None:
            mine.append(self)  # type: ignore[arg-type]
            scope._register(self)  # type: ignore[arg-type]
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _TrackedHTTPConnection(_TrackedConnectionMixin, HTTPConnection):
    pass


class _TrackedHTTPSConnection(_TrackedConnectionMixin, HTTPSConnection):
    pass


class _TrackedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


class ScopedRetry(Retry):
    """urllib3 ``Retry`` that sleeps interruptibly within the current scope and caps ``Retry-After``."""

    max_retry_after = 30.0

    def new(self, **kw: Any) -> ScopedRetry:
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        return retry

    def increment(self, *args: Any, **kwargs: Any) -> ScopedRetry:
        scope: CallScope | None = current_scope()
        if scope is not None and scope.tripped:
            raise ScopeStopped()
        return super().increment(*args, **kwargs)

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.max_retry_after)

    def _wait(self, seconds: float) -> None:
        scope: CallScope | None = current_scope()
        if scope is None:
            time.sleep(seconds)
            return
        try:
            scope.wait(seconds)
        except (QueryCancelledError, RdmTimeoutError):
            raise ScopeStopped() from None

    def sleep_for_retry(self, response: Any) -> bool:
        seconds = self.get_retry_after(response) if response is not None else None
        if seconds:
            self._wait(seconds)
            return True
        return False

    def _sleep_backoff(self) -> None:
        backoff = self.get_backoff_time()
        if backoff > 0:
            self._wait(backoff)


class ScopedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _TrackedHTTPConnectionPool,
            "https": _TrackedHTTPSConnectionPool,
        }
