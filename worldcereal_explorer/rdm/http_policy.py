"""Old home of :mod:`worldcereal_explorer.transport.http_policy` (see :mod:`worldcereal_explorer.transport`), kept for importers being migrated."""

from ..transport.http_policy import HttpPolicy  # noqa: F401

__all__ = ["HttpPolicy"]
