"""Old home of :mod:`worldcereal_explorer.transport.scopes` (see :mod:`worldcereal_explorer.transport`), kept for importers being migrated."""

from ..transport.scopes import (  # noqa: F401
    AnyEvent,
    CallScope,
    Cancellable,
    current_connections,
    current_scope,
    wait_for_idle,
)

__all__ = ["AnyEvent", "CallScope", "Cancellable", "current_connections", "current_scope", "wait_for_idle"]
