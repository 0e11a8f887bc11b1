"""Old home of :mod:`worldcereal_explorer.transport.http_policy`, kept for importers being migrated.

The HTTP layer moved below the legend and the client (the legend downloads through it, and the client
imports the legend), so that imports only point down. Import from :mod:`worldcereal_explorer.transport.http_policy`.
"""

from ..transport.http_policy import HttpPolicy  # noqa: F401

__all__ = ["HttpPolicy"]
