"""Old home of :mod:`worldcereal_explorer.transport.redaction`, kept for importers being migrated.

The HTTP layer moved below the legend and the client (the legend downloads through it, and the client
imports the legend), so that imports only point down. Import from :mod:`worldcereal_explorer.transport.redaction`.
"""

from ..transport.redaction import REDACTED, RedactingFilter, Secret, install_log_redaction, redact, safe_url  # noqa: F401

__all__ = ["REDACTED", "RedactingFilter", "Secret", "install_log_redaction", "redact", "safe_url"]
