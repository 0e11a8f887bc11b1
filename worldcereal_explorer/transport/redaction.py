"""Redaction: tokens, bearer headers and URL signatures out of every text the package shows or logs.

Used by the HTTP layer (:mod:`.http`) for its messages and attached as a log filter to urllib3's and the
package's loggers.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["REDACTED", "RedactingFilter", "Secret", "install_log_redaction", "redact", "safe_url"]


#: Query parameters whose values are credentials: URL signatures (our local server, Azure SAS, S3 presigned),
#: OAuth codes and tokens.
_SECRET_PARAMS = (
    "sig", "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token", "token", "access_token",
    "refresh_token", "id_token", "code", "device_code", "client_secret", "password", "code_verifier", "skoid",
    "sktid", "key", "apikey", "api_key",
)
_PARAM_RE = re.compile(r"(?i)((?:^|[?&;\s,(]|&amp;)(?:" + "|".join(re.escape(p) for p in _SECRET_PARAMS) + r")=)[^&\s'\"<>]*")
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_JWT_RE = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_FORM_RE = re.compile(
    r"(?i)([\"']?(?:access_token|refresh_token|id_token|device_code|client_secret|code_verifier|authorization)"
    r"[\"']?\s*[:=]\s*[\"']?)[^\"'&,\s}]+"
)
REDACTED = "REDACTED"


def redact(text: Any) -> str:
    """``text`` as a string with tokens, bearer headers and URL signatures replaced by ``REDACTED``.

    Examples
    --------
    >>> redact("https://h/files/x.parquet?expires=1&sig=abc")
    'https://h/files/x.parquet?expires=1&sig=REDACTED'
    """
    out = str(text)
    out = _PARAM_RE.sub(r"\1" + REDACTED, out)
    out = _BEARER_RE.sub(r"\1 " + REDACTED, out)
    out = _JWT_RE.sub(REDACTED, out)
    return _FORM_RE.sub(r"\1" + REDACTED, out)


def safe_url(url: str) -> str:
    """The URL without its query string: what error messages and logs show of a file URL."""
    return str(url).split("?", 1)[0]


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message through :func:`redact` (urllib3 logs full URLs at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not a reason to leak
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        return True


_REDACTING_FILTER = RedactingFilter()
_FILTERED_LOGGERS = (
    "urllib3", "urllib3.connectionpool", "urllib3.connection", "urllib3.response", "urllib3.poolmanager",
    "urllib3.util.retry", "requests", "worldcereal_explorer",
)


def install_log_redaction() -> None:
    """Attach the redacting filter to urllib3's and the package's loggers (idempotent).

    Filters do not inherit down the logger tree, so each logger that may carry a URL gets its own.
    """
    names = set(_FILTERED_LOGGERS) | {
        name for name in logging.Logger.manager.loggerDict if name.startswith("worldcereal_explorer")
    }
    for name in names:
        logger = logging.getLogger(name)
        if _REDACTING_FILTER not in logger.filters:
            logger.addFilter(_REDACTING_FILTER)


class Secret:
    """A credential that never shows itself: ``repr``/``str`` say ``<hidden>``; ``.value`` gives it.

    Pickling keeps the value (a Dask worker needs the token to read private files), so never log a pickle.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | None):
        self._value = value

    @property
    def value(self) -> str | None:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret(<hidden>)" if self._value else "Secret(None)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))


