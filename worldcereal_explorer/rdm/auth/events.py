"""Session-change notifications: how a UI follows logins it did not start itself."""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["SESSION_EVENTS", "SessionEvents"]

log = logging.getLogger(__name__)

#: The events a session reports.
SESSION_EVENTS = ("login_started", "logged_in", "login_failed", "logged_out")


class SessionEvents:
    """Listeners called with the name of a session event (never with a token)."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[str], None]] = []

    def add_listener(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(event)`` when the session changes, whoever started the login (a widget, or the
        client asking for private data), so a UI can follow it.

        Events: ``"login_started"`` (see ``pending_authorization`` for the link and code),
        ``"logged_in"``, ``"login_failed"`` (see ``last_login_error``) and ``"logged_out"``.
        Callbacks run on the thread that changed the session; they receive no token.
        """
        if callback not in self._listeners:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[str], None]) -> None:
        """Stop calling a callback registered with :meth:`add_listener`."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _emit(self, event: str) -> None:
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:  # a broken UI callback must not break authentication
                log.exception("auth listener %r failed on %s", callback, event)
