"""Retry, timeout, deadline and size limits of the HTTP layer (:mod:`.http`): the one place they are set."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..errors import BadParameterError

__all__ = ["HttpPolicy"]


@dataclass(frozen=True)
class HttpPolicy:
    """Retry, timeout, deadline and size limits: the one place they are configured.

    Parameters
    ----------
    connect_timeout, read_timeout
        Seconds to connect, and of silence allowed while waiting for bytes, per request.
    retries
        How often a failed request (connection error, dropped body, 429, 5xx) is retried.
    backoff_factor, backoff_max
        Exponential back-off between retries (``Retry-After`` wins when sent, capped at ``max_retry_after``).
    deadline
        Total seconds one API call may take, retries and back-off included. Default: four read timeouts.
    download_read_timeout
        Read timeout for file transfers (a file store may pause longer than the API).
    download_deadline
        Total seconds one file download or sample read may take. Default: one hour.
    min_download_rate
        Bytes per second below which a download counts as stalled once it has run for ``read_timeout``;
        a trickling server is cut off instead of holding a download for hours.
    max_body_bytes
        Largest JSON or text body read into memory.
    max_range_cache_bytes
        Largest amount of one remote file a range reader keeps in memory.
    pool_maxsize
        Connections kept per host (at least the number of parallel workers).
    """

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 5
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 30.0
    deadline: float | None = None
    download_read_timeout: float = 120.0
    download_deadline: float = 3600.0
    min_download_rate: float = 1024.0
    max_body_bytes: int = 64 * 1024 * 1024
    max_range_cache_bytes: int = 1024 * 1024 * 1024
    pool_maxsize: int = 16
    user_agent: str = "worldcereal-explorer"

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "download_read_timeout", "download_deadline"):
            _positive(name, getattr(self, name))
        if self.deadline is not None:
            _positive("deadline", self.deadline)
        for name in ("backoff_factor", "backoff_max", "max_retry_after", "min_download_rate"):
            value = getattr(self, name)
            if not _is_number(value) or value < 0:
                raise BadParameterError(f"{name}={value!r} is not allowed; use a number >= 0")
        for name in ("retries", "pool_maxsize", "max_body_bytes", "max_range_cache_bytes"):
            value = getattr(self, name)
            low = 0 if name == "retries" else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise BadParameterError(f"{name}={value!r} is not allowed; use a whole number >= {low}")

    @classmethod
    def from_timeout(cls, timeout: float | tuple[float, float] | None = None, **kwargs: Any) -> HttpPolicy:
        """A policy from a requests-style ``timeout`` (a number or ``(connect, read)``) plus other fields."""
        if timeout is not None:
            connect, read = _timeout_pair(timeout)
            kwargs.setdefault("connect_timeout", connect)
            kwargs.setdefault("read_timeout", read)
        return cls(**kwargs)

    @property
    def api_deadline(self) -> float:
        """The total seconds of one API call (``deadline`` or four read timeouts plus a connect)."""
        return self.deadline if self.deadline is not None else 4 * self.read_timeout + self.connect_timeout

    def with_(self, **changes: Any) -> HttpPolicy:
        """A copy with some fields changed."""
        return replace(self, **changes)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and value != float("inf")


def _positive(name: str, value: Any) -> None:
    if not _is_number(value) or value <= 0:
        raise BadParameterError(f"{name}={value!r} is not allowed; use a number of seconds > 0")


def _timeout_pair(timeout: Any) -> tuple[float, float]:
    if isinstance(timeout, (tuple, list)) and len(timeout) == 2:
        connect, read = timeout
    else:
        connect = read = timeout
    _positive("connect timeout", connect)
    _positive("read timeout", read)
    return float(connect), float(read)
