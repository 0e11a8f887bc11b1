"""Old home of :mod:`worldcereal_explorer.transport.scopes`, kept for importers being migrated.

The HTTP layer moved below the legend and the client (the legend downloads through it, and the client
imports the legend), so that imports only point down. Import from :mod:`worldcereal_explorer.transport.scopes`.
"""

from ..transport.scopes import (  # noqa: F401
    AnyEvent,
    CallScope,
    Cancellable,
    current_connections,
    current_scope,
    wait_for_idle,
)

__all__ = ["AnyEvent", "CallScope", "Cancellable", "current_connections", "current_scope", "wait_for_idle"]
