"""Old home of :mod:`worldcereal_explorer.transport.redaction` (see :mod:`worldcereal_explorer.transport`), kept for importers being migrated."""

from ..transport.redaction import REDACTED, RedactingFilter, Secret, install_log_redaction, redact, safe_url  # noqa: F401

__all__ = ["REDACTED", "RedactingFilter", "Secret", "install_log_redaction", "redact", "safe_url"]
