"""Bridges to the client and range reader from before the HTTP layer, while those are being rewritten.

Delete this module (and call the new interfaces directly) once ``RdmClient.transport`` and
``HttpRangeReader(transport, url, *, scope, ...)`` have landed: every function here then takes its first branch.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ...errors import BadParameterError
from ..http import CallScope, HttpPolicy, HttpTransport

__all__ = ["as_transport", "bearer_token", "range_reader", "transport_of"]


@dataclass
class _SessionTransport(HttpTransport):
    """An :class:`HttpTransport` over an existing ``requests.Session`` (the old client's)."""

    legacy: Any = field(default=None, repr=False)

    @property
    def session(self) -> Any:  # type: ignore[override]
        return self.legacy


def as_transport(transport: Any, policy: HttpPolicy | None = None) -> HttpTransport:
    """``transport`` itself, or a transport wrapping a ``requests.Session`` given in its place."""
    if isinstance(transport, HttpTransport):
        return transport
    if hasattr(transport, "request") and hasattr(transport, "prepare_request"):  # a requests.Session
        return _SessionTransport(policy=policy or HttpPolicy(), legacy=transport)
    raise BadParameterError(f"{type(transport).__name__} is not an HttpTransport")


def transport_of(client: Any) -> HttpTransport:
    """The client's :class:`HttpTransport` (``client.transport``; the old client's session wrapped)."""
    transport = getattr(client, "transport", None)
    if isinstance(transport, HttpTransport):
        return transport
    session = getattr(client, "session", None)
    if session is None:
        raise BadParameterError(f"{type(client).__name__} has no HTTP transport (client.transport)")
    timeout = getattr(client, "download_timeout", None) or getattr(client, "timeout", None)
    return as_transport(session, HttpPolicy.from_timeout(timeout))


@functools.lru_cache(maxsize=4)
def _takes_scope(cls: type) -> bool:
    return "scope" in inspect.signature(cls.__init__).parameters


class _Tripped:
    """``is_set()`` of a scope: cancelled or out of time (for the old reader's ``cancel_event``)."""

    def __init__(self, scope: CallScope):
        self._scope = scope

    def is_set(self) -> bool:
        return self._scope.tripped


def range_reader(transport: HttpTransport, url: str, *, scope: CallScope,
                 on_bytes: Callable[[int], None] | None = None,
                 request_slots: threading.Semaphore | None = None) -> Any:
    """An :class:`~worldcereal_explorer.rdm.download.HttpRangeReader` for ``url`` within ``scope``."""
    from ..download import HttpRangeReader

    if _takes_scope(HttpRangeReader):
        return HttpRangeReader(transport, url, scope=scope, on_bytes=on_bytes, request_slots=request_slots)
    policy = transport.policy
    return HttpRangeReader(transport.session, url, timeout=(policy.connect_timeout, policy.download_read_timeout),
                           cancel_event=_Tripped(scope), on_bytes=on_bytes, request_slots=request_slots)


def bearer_token(transport: HttpTransport, url: str) -> str | None:
    """The bearer token the transport would send with a request to ``url`` (``None``: none is sent)."""
    if isinstance(transport, _SessionTransport):
        import requests

        value = transport.session.prepare_request(requests.Request("GET", url)).headers.get("Authorization", "")
        return value.split(" ", 1)[1] if value.lower().startswith("bearer ") else None
    if transport.token is None or urlsplit(url).netloc not in transport.token_hosts:
        return None
    return transport.token()
