"""Old home of :mod:`worldcereal_explorer.transport.http_scoped` (see :mod:`worldcereal_explorer.transport`), kept for importers being migrated."""

from ..transport.http_scoped import ScopedAdapter, ScopedRetry, ScopeStopped  # noqa: F401

__all__ = ["ScopeStopped", "ScopedAdapter", "ScopedRetry"]
