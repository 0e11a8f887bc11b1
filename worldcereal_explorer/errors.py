"""One exception hierarchy for the whole package.

Every error the package raises on purpose derives from :class:`WorldCerealExplorerError`, so callers
can catch everything with one ``except`` and still tell the cases apart. Input errors also derive
from :class:`ValueError` and lookup errors from :class:`LookupError`, so generic handlers keep working.
"""

from __future__ import annotations


class WorldCerealExplorerError(Exception):
    """Base class of every error raised by worldcereal-explorer."""


class RdmError(WorldCerealExplorerError):
    """An error while talking to the RDM (or the local stand-in)."""


class InvalidInputError(WorldCerealExplorerError, ValueError):
    """A value given by the caller is not allowed; the message names it and what is allowed."""


class BadExtentError(InvalidInputError):
    """A spatial extent (bbox or polygon) is invalid."""


class BadTemporalExtentError(InvalidInputError):
    """A temporal extent is invalid (unparseable date, start after end, ...)."""


class BadEwocCodeError(InvalidInputError):
    """An ewoc code is not an integer of the legend's shape (0 or 10 digits)."""


class BadParameterError(InvalidInputError):
    """Any other invalid argument (unknown stats type, bad column name, bad path, ...)."""


class FetchTooLargeError(InvalidInputError):
    """A query would return more samples than fit the client's memory budget (``memory_budget_bytes``).

    Attributes ``estimated_bytes``, ``budget_bytes`` and ``samples`` carry the numbers the message gives.
    """

    def __init__(self, message: str, *, estimated_bytes: int = 0, budget_bytes: int = 0, samples: int = 0):
        self.estimated_bytes = estimated_bytes
        self.budget_bytes = budget_bytes
        self.samples = samples
        super().__init__(message)

    def __reduce__(self):
        return (_rebuild_too_large, (type(self), str(self), self.estimated_bytes, self.budget_bytes, self.samples))


class UnknownCollectionError(RdmError, LookupError):
    """The RDM does not know the collection id (or does not show it to this user)."""

    def __init__(self, ref_id: str, detail: str = ""):
        self.ref_id = ref_id
        self.detail = detail
        msg = f"unknown collection id {ref_id!r}"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)

    def __reduce__(self):  # pickles (Dask, multiprocessing) rebuild the same error, not a nested message
        return (type(self), (self.ref_id, self.detail))


class RdmHttpError(RdmError):
    """The RDM answered with an HTTP error status (after retries, where retrying applies)."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        self.status = status
        self.url = url
        super().__init__(message)

    def __reduce__(self):
        return (_rebuild_http_error, (type(self), str(self), self.status, self.url))


class RdmConnectionError(RdmError):
    """The RDM could not be reached (connection refused, DNS, timeout) after retries."""


class RdmTimeoutError(RdmConnectionError):
    """A call ran out of time: a socket timeout after retries, or the call's total deadline passed."""


class RdmResponseError(RdmError):
    """The RDM answered 200 but with a body that is not what the API promises (not JSON, wrong shape)."""


class ResponseTooLargeError(RdmResponseError):
    """A JSON or text answer is larger than the client accepts (``HttpPolicy.max_body_bytes``)."""


class AuthenticationError(RdmHttpError):
    """Authentication is required or was refused (HTTP 401/403, failed login)."""


class DownloadError(RdmError):
    """A file download failed or produced a file that does not validate."""


class LegendError(WorldCerealExplorerError):
    """The WorldCereal legend could not be loaded or parsed."""


class QueryCancelledError(WorldCerealExplorerError):
    """A long-running query was cancelled by the caller."""


def _rebuild_http_error(cls: type, message: str, status: int | None, url: str | None) -> RdmHttpError:
    return cls(message, status=status, url=url)


def _rebuild_too_large(cls: type, message: str, estimated: int, budget: int, samples: int) -> FetchTooLargeError:
    return cls(message, estimated_bytes=estimated, budget_bytes=budget, samples=samples)
