"""Call scopes: a public call's deadline and cancel event, and the watcher that enforces them.

A :class:`CallScope` bounds one public call: every request made in it registers its connection, and the
watcher thread shuts those sockets down when the scope is cancelled or its deadline passes, so a request
blocked before headers or inside a body returns at once instead of after its read timeout. The HTTP layer
(:mod:`.http`) creates scopes and wires the connections in; nothing else needs this module directly.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Protocol

from urllib3.connection import HTTPConnection

from ..errors import QueryCancelledError, RdmTimeoutError
from .redaction import redact

__all__ = ["AnyEvent", "CallScope", "Cancellable", "current_scope", "wait_for_idle"]

# -- cancellation events ------------------------------------------------------------------------------


class Cancellable(Protocol):
    """Anything with ``is_set()``: a :class:`threading.Event` or an :class:`AnyEvent`."""

    def is_set(self) -> bool: ...


class AnyEvent:
    """Set when any of the given events is set (``None`` entries are ignored)."""

    def __init__(self, *events: Cancellable | None):
        self._events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)

    def __repr__(self) -> str:
        return f"AnyEvent(set={self.is_set()})"


# -- call scopes --------------------------------------------------------------------------------------

_current = threading.local()


def current_scope() -> CallScope | None:
    """The scope the calling thread's request runs in (set by :meth:`CallScope.active`)."""
    return getattr(_current, "scope", None)


def current_connections() -> list[HTTPConnection] | None:
    """The list this thread's request registers its connections in (set by :meth:`CallScope.tracking`)."""
    return getattr(_current, "connections", None)


class CallScope:
    """One public call's budget: a deadline and a cancel event, and the connections it has in flight.

    Use :meth:`HttpTransport.scope`. Scopes are shared by the worker threads of one call (pass the scope to
    every request); the watcher thread shuts the sockets of a scope down when it is cancelled or expires.
    """

    def __init__(self, *, deadline_s: float | None, cancel_event: Cancellable | None, what: str = "request",
                 parent: CallScope | None = None):
        now = time.monotonic()
        self.what = what
        self.started = now
        self.deadline_s = deadline_s
        self.deadline = now + deadline_s if deadline_s is not None else None
        self.parent = parent
        if parent is not None and parent.deadline is not None:
            self.deadline = parent.deadline if self.deadline is None else min(self.deadline, parent.deadline)
        self.cancel_event: AnyEvent = AnyEvent(cancel_event, parent.cancel_event if parent else None)
        self.reason: str | None = None
        self._connections: set[HTTPConnection] = set()
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"CallScope({redact(self.what)!r}, remaining={self.remaining()}, reason={self.reason!r})"

    # state ------------------------------------------------------------------------------------------
    def remaining(self) -> float | None:
        """Seconds left before the deadline (``None``: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _trip_reason(self) -> str | None:
        if self.reason is None:
            if self.cancel_event.is_set():
                self.reason = "cancelled"
            elif self.deadline is not None and time.monotonic() >= self.deadline:
                self.reason = "deadline"
            elif self.parent is not None and self.parent._trip_reason():
                self.reason = self.parent.reason
        return self.reason

    @property
    def tripped(self) -> bool:
        """True once the scope was cancelled or ran out of time."""
        return self._trip_reason() is not None

    def error(self) -> Exception:
        """The exception that describes why the scope stopped."""
        if self.reason == "cancelled":
            return QueryCancelledError(f"{redact(self.what)} was cancelled")
        budget = f"{self.deadline_s:g} s" if self.deadline_s is not None else "its time budget"
        return RdmTimeoutError(
            f"{redact(self.what)} did not finish within {budget} (deadline; retries and slow transfers included)"
        )

    def check(self) -> None:
        """Raise :class:`QueryCancelledError` or :class:`RdmTimeoutError` when the scope stopped."""
        if self._trip_reason() is not None:
            raise self.error()

    def timeout(self, connect: float, read: float) -> tuple[float, float]:
        """``(connect, read)`` for the next request, shortened to the time left."""
        self.check()
        left = self.remaining()
        if left is None:
            return connect, read
        left = max(left, 0.05)
        return min(connect, left), min(read, left)

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds``, waking at once on cancellation; raise if the scope stops meanwhile."""
        end = time.monotonic() + max(seconds, 0.0)
        left_total = self.remaining()
        if left_total is not None and left_total < seconds:
            # Sleeping past the deadline only to fail afterwards wastes the user's time.
            self.reason = self.reason or "deadline"
            raise self.error()
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

    # connections ------------------------------------------------------------------------------------
    def _register(self, conn: HTTPConnection) -> None:
        with self._lock:
            self._connections.add(conn)
        if self.tripped:
            _shutdown(conn)
        _WATCHER.watch(self)

    def _unregister(self, connections: list[HTTPConnection]) -> None:
        with self._lock:
            self._connections.difference_update(connections)
            empty = not self._connections
        if empty:
            _WATCHER.unwatch(self)

    def _abort(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            _shutdown(conn)

    @contextlib.contextmanager
    def active(self) -> Iterator[CallScope]:
        """Make this scope the current one of this thread (requests register their connections with it)."""
        previous = getattr(_current, "scope", None)
        _current.scope = self
        try:
            yield self
        finally:
            _current.scope = previous

    @contextlib.contextmanager
    def tracking(self) -> Iterator[None]:
        """Register the connections this thread uses until the block ends, then let them go."""
        previous = getattr(_current, "connections", None)
        mine: list[HTTPConnection] = []
        _current.connections = mine
        try:
            with self.active():
                yield
        finally:
            _current.connections = previous
            self._unregister(mine)


def _shutdown(conn: HTTPConnection) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Watcher:
    """One daemon thread that aborts the connections of scopes that were cancelled or ran out of time.

    It runs only while some scope has a request in flight and ends as soon as none has, so an idle
    process (or a closed dashboard) keeps no thread of ours.
    """

    POLL_S = 0.05

    def __init__(self) -> None:
        self._scopes: dict[int, CallScope] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, scope: CallScope) -> None:
        with self._changed:
            self._scopes[id(scope)] = scope
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wce-http-watcher", daemon=True)
                self._thread.start()

    def unwatch(self, scope: CallScope) -> None:
        with self._changed:
            self._scopes.pop(id(scope), None)
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the watcher thread has ended (no request in flight); ``True`` when it has."""
        with self._changed:
            thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._scopes:
                    self._thread = None
                    return
                scopes = list(self._scopes.values())
            for scope in scopes:
                if scope.tripped:
                    scope._abort()
            with self._changed:
                if self._scopes:
                    self._changed.wait(self.POLL_S)


_WATCHER = _Watcher()


def wait_for_idle(timeout: float = 1.0) -> bool:
    """Wait until no request of the package is in flight and its watcher thread has ended."""
    return _WATCHER.wait_idle(timeout)
