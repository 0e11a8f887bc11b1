"""Old home of :mod:`worldcereal_explorer.transport.http` (see :mod:`worldcereal_explorer.transport`), kept for importers being migrated."""

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
