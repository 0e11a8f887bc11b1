"""Old home of :mod:`worldcereal_explorer.transport.http_scoped`, kept for importers being migrated.

The HTTP layer moved below the legend and the client (the legend downloads through it, and the client
imports the legend), so that imports only point down. Import from :mod:`worldcereal_explorer.transport.http_scoped`.
"""

from ..transport.http_scoped import ScopedAdapter, ScopedRetry, ScopeStopped  # noqa: F401

__all__ = ["ScopeStopped", "ScopedAdapter", "ScopedRetry"]
