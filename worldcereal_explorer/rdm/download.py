"""Streamed, resumable, atomic file downloads.

A download goes to a temp file beside the destination, is checked (size against Content-Length, and
for Parquet the footer magic), and only then renamed into place, so a failed or interrupted download
never leaves a half-written file at the destination. A dropped connection is resumed with a Range
request from the bytes already received.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import requests

from ..errors import DownloadError, QueryCancelledError
from ..geoparquet import atomic_target

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
PARQUET_MAGIC = b"PAR1"


def validate_parquet_file(path: Path) -> None:
    """Raise :class:`DownloadError` unless ``path`` starts and ends with the Parquet magic bytes."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(max(size - 4, 0))
        tail = fh.read(4)
    if size < 12 or head != PARQUET_MAGIC or tail != PARQUET_MAGIC:
        raise DownloadError(f"downloaded file is not a valid Parquet file (size {size} bytes, bad magic/footer)")


def download_file(
    session: requests.Session,
    url: str,
    dst: str | os.PathLike,
    *,
    timeout: float | tuple[float, float] = (5, 60),
    max_resumes: int = 5,
    validate_parquet: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    cancel_event: threading.Event | None = None,
    headers: dict[str, str] | None = None,
) -> Path:
    """Download ``url`` to ``dst`` atomically, resuming dropped connections with Range requests.

    Parameters
    ----------
    session
        The session to use (carries retries, timeouts policy and auth).
    url
        File URL.
    dst
        Destination file path.
    timeout
        ``(connect, read)`` timeouts per request.
    max_resumes
        How many times a dropped connection may be resumed before giving up.
    validate_parquet
        Check the Parquet magic bytes at both ends before renaming.
    progress
        Called as ``progress(bytes_done, total_or_None)`` after each chunk.
    cancel_event
        When set, the download stops promptly with :class:`QueryCancelledError` and leaves nothing behind.
    headers
        Extra request headers.

    Returns
    -------
    pathlib.Path
        ``dst``, complete and validated.
    """
    final, tmp = atomic_target(dst)
    received = 0
    total: int | None = None
    resumes = 0
    try:
        with open(tmp, "wb") as out:
            while True:
                request_headers = dict(headers or {})
                if received:
                    request_headers["Range"] = f"bytes={received}-"
                try:
                    with session.get(url, stream=True, timeout=timeout, headers=request_headers) as response:
                        if response.status_code >= 400:
                            raise DownloadError(f"download of {_safe_url(url)} failed with HTTP {response.status_code}")
                        if received and response.status_code != 206:
                            # The server ignored the Range header: start over from scratch.
                            out.seek(0)
                            out.truncate()
                            received = 0
                        if total is None or not received:
                            total = _total_size(response, received)
                        for chunk in response.iter_content(CHUNK_SIZE):
                            if cancel_event is not None and cancel_event.is_set():
                                raise QueryCancelledError(f"download of {_safe_url(url)} was cancelled")
                            out.write(chunk)
                            received += len(chunk)
                            if progress is not None:
                                progress(received, total)
                except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                    if resumes >= max_resumes:
                        raise DownloadError(
                            f"download of {_safe_url(url)} dropped {resumes + 1} times; gave up at {received} bytes"
                        ) from exc
                    resumes += 1
                    logger.info("connection dropped at %d bytes; resuming (%d/%d)", received, resumes, max_resumes)
                    continue
                if total is not None and received < total:
                    if resumes >= max_resumes:
                        raise DownloadError(f"download of {_safe_url(url)} incomplete: {received} of {total} bytes")
                    resumes += 1
                    continue
                break
        if total is not None and received != total:
            raise DownloadError(f"download of {_safe_url(url)} has {received} bytes, server announced {total}")
        if validate_parquet:
            validate_parquet_file(tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final


def _total_size(response: requests.Response, offset: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range:
        size = content_range.rsplit("/", 1)[1]
        if size.isdigit():
            return int(size)
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and response.headers.get("Content-Encoding") in (None, "identity"):
        return int(length) + (offset if response.status_code == 206 else 0)
    return None


def _safe_url(url: str) -> str:
    """The URL without its query string: signed URLs carry credentials that must not be logged."""
    return url.split("?", 1)[0]
