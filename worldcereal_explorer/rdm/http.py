"""Old home of :mod:`worldcereal_explorer.transport.http`, kept for importers being migrated.

The HTTP layer moved below the legend and the client (the legend downloads through it, and the client
imports the legend), so that imports only point down. Import from :mod:`worldcereal_explorer.transport.http`.
"""

from ..transport.http import (  # noqa: F401
    RETRY_STATUSES,
    AnyEvent,
    BufferedResponse,
    CallScope,
    Cancellable,
    HttpPolicy,
    HttpTransport,
    Secret,
    current_connections,
    current_scope,
    redact,
    safe_url,
    wait_for_idle,
)

__all__ = [
    "AnyEvent", "BufferedResponse", "CallScope", "Cancellable", "HttpPolicy", "HttpTransport",
    "RETRY_STATUSES", "Secret", "current_connections", "current_scope", "redact", "safe_url",
    "wait_for_idle",
]
