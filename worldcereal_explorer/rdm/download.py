"""Streamed, resumable, verified file downloads (random access by HTTP Range is in :mod:`.range_reader`).

:func:`download_file`: a download goes to a temp file beside the destination, is checked (every resumed
answer's ``Content-Range`` against what was asked, the size against what the server announced, and the
content against the kind of file: Parquet footer, xlsx zip, PDF header), and only then renamed into place,
so a failed, cancelled or interrupted download never leaves a file (or a new folder) behind. A dropped
connection is resumed with a Range request from the bytes already received.

:class:`HttpRangeReader` / :class:`RangeFile`: read parts of a remote file (what pyarrow needs of a
Parquet file) with explicit ``bytes=start-end`` ranges, fetched in parallel and cached up to a bound;
suffix ranges are used for the footer where the server honours them.

All requests go through :class:`~worldcereal_explorer.transport.http.HttpTransport` inside a call scope, so
the scope's deadline and cancel event bound every byte of it.
"""

from __future__ import annotations

import logging
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import (
    AuthenticationError,
    BadParameterError,
    DownloadError,
    QueryCancelledError,
    RdmConnectionError,
    RdmTimeoutError,
)
from ..files import atomic_path
from ..transport.http import AnyEvent, CallScope, HttpTransport, safe_url
from .range_reader import HttpRangeReader, RangeFile, parse_content_range

__all__ = ["AnyEvent", "FILE_KINDS", "HttpRangeReader", "RangeFile", "download_file", "validate_file"]

logger = logging.getLogger(__name__)

#: Bytes per read: a dropped connection loses at most the chunk being read, so keep it modest.
CHUNK_SIZE = 64 * 1024
PARQUET_MAGIC = b"PAR1"
#: What :func:`validate_file` can check.
FILE_KINDS = ("parquet", "xlsx", "pdf")


def validate_file(path: Path, kind: str | None, *, source: str = "") -> None:
    """Raise :class:`DownloadError` unless ``path`` is a complete file of ``kind`` (``None``: no check).

    Parquet: magic bytes at both ends and a footer that parses. xlsx: a zip archive whose directory
    reads. PDF: the ``%PDF-`` header and an ``%%EOF`` marker near the end.
    """
    if kind is None:
        return
    if kind not in FILE_KINDS:
        raise BadParameterError(f"file kind {kind!r} is not allowed; use one of {FILE_KINDS} or None")
    size = path.stat().st_size
    where = f" from {source}" if source else ""
    with open(path, "rb") as fh:
        head = fh.read(8)
        fh.seek(max(size - 1024, 0))
        tail = fh.read(1024)
    if kind == "parquet":
        if size < 12 or head[:4] != PARQUET_MAGIC or tail[-4:] != PARQUET_MAGIC:
            raise DownloadError(f"the file{where} is not a valid Parquet file ({size} bytes, bad magic/footer)")
        import pyarrow.parquet as pq

        try:
            pq.read_metadata(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError subclasses for damaged footers
            raise DownloadError(f"the file{where} has a damaged Parquet footer ({size} bytes): {exc}") from None
    elif kind == "xlsx":
        if head[:2] != b"PK" or not zipfile.is_zipfile(path):
            raise DownloadError(f"the file{where} is not an xlsx workbook ({size} bytes, not a zip archive)")
    elif kind == "pdf" and (head[:5] != b"%PDF-" or b"%%EOF" not in tail):
        raise DownloadError(f"the file{where} is not a complete PDF ({size} bytes)")


def download_file(
    transport: HttpTransport,
    url: str,
    dst: str | os.PathLike,
    *,
    scope: CallScope,
    kind: str | None = None,
    max_resumes: int = 5,
    progress: Callable[[int, int | None], None] | None = None,
    what: str = "",
) -> Path:
    """Download ``url`` to ``dst`` atomically, resuming dropped connections with verified Range requests.

    Parameters
    ----------
    transport
        The HTTP layer (retries, timeouts, authentication for the RDM host).
    url
        File URL (a signed query string is never shown in messages).
    dst
        Destination file path; missing folders are created (and removed again on failure).
    scope
        The call's scope: its deadline and cancel event bound the whole download.
    kind
        ``"parquet"``, ``"xlsx"``, ``"pdf"`` or ``None``: the content check before the rename.
    max_resumes
        How many times a dropped connection may be resumed before giving up.
    progress
        Called as ``progress(bytes_done, total_or_None)`` after each chunk.
    what
        What is downloaded, for messages (for example ``"samples of collection 'x'"``).

    Returns
    -------
    pathlib.Path
        ``dst``, complete and validated.

    Raises
    ------
    DownloadError
        HTTP error, wrong ``Content-Range`` on a resumed answer, size mismatch, failed content check.
    QueryCancelledError, RdmTimeoutError
        The scope was cancelled or its deadline passed.
    """
    if kind is not None and kind not in FILE_KINDS:
        raise BadParameterError(f"kind={kind!r} is not allowed; use one of {FILE_KINDS} or None")
    label = what or safe_url(url)
    source = f"{label} ({safe_url(url)})" if what else safe_url(url)
    final = Path(dst)
    with atomic_path(final) as tmp:
        _transfer(transport, url, tmp, scope=scope, max_resumes=max_resumes, progress=progress, source=source)
        validate_file(tmp, kind, source=source)
    return final


def _transfer(transport: HttpTransport, url: str, tmp: Path, *, scope: CallScope, max_resumes: int,
              progress: Callable[[int, int | None], None] | None, source: str) -> None:
    received = 0
    total: int | None = None
    resumes = 0
    started = time.monotonic()
    min_rate = transport.policy.min_download_rate
    grace = transport.policy.read_timeout
    with open(tmp, "wb") as out:
        while True:
            headers = {}
            if received:
                # An explicit end where the size is known: some stores (Azure Blob without a recent
                # x-ms-version) honour only "bytes=start-end".
                headers["Range"] = f"bytes={received}-{total - 1 if total else ''}"
            try:
                with transport.open(url, scope=scope, headers=headers, download=True) as response:
                    status = response.status_code
                    if status in (401, 403):
                        raise AuthenticationError(f"download of {source} refused (HTTP {status})", status=status,
                                                  url=safe_url(url))
                    if status >= 400:
                        raise DownloadError(f"download of {source} failed with HTTP {status}")
                    if received and status == 206:
                        _check_content_range(response.headers.get("Content-Range", ""), received, total, source)
                    elif received:
                        # The server ignored the Range header: start over from scratch.
                        out.seek(0)
                        out.truncate()
                        received = 0
                    if not received:
                        total = _total_size(response.headers, status)
                    for chunk in _available_chunks(response):
                        scope.check()
                        out.write(chunk)
                        received += len(chunk)
                        if total is not None and received > total:
                            raise DownloadError(f"download of {source} sent more than the {total} bytes announced")
                        if progress is not None:
                            progress(received, total)
                        elapsed = time.monotonic() - started
                        if elapsed > grace and received / elapsed < min_rate:
                            raise RdmTimeoutError(
                                f"download of {source} stalled: {received:,} bytes in {elapsed:.0f} s, below the "
                                f"minimum rate of {min_rate:,.0f} bytes/s (HttpPolicy.min_download_rate)"
                            )
            except (QueryCancelledError, DownloadError):
                raise
            except RdmConnectionError as exc:
                if scope.tripped:
                    raise scope.error() from None
                if isinstance(exc, RdmTimeoutError) and "stalled" in str(exc):
                    raise
                if resumes >= max_resumes:
                    raise DownloadError(
                        f"download of {source} dropped {resumes + 1} times; gave up at {received:,} bytes ({exc})"
                    ) from None
                resumes += 1
                logger.info("download of %s dropped at %d bytes; resuming (%d/%d)", source, received, resumes,
                            max_resumes)
                continue
            if total is not None and received < total:
                if resumes >= max_resumes:
                    raise DownloadError(f"download of {source} incomplete: {received:,} of {total:,} bytes")
                resumes += 1
                continue
            return


def _available_chunks(response: Any) -> Any:
    """Body chunks of at most ``CHUNK_SIZE`` as they arrive (``read1``), not once 64 KiB have piled up.

    A server trickling a few bytes a second never trips a read timeout; handing back what has arrived lets
    the caller's stall check (``HttpPolicy.min_download_rate``) run.
    """
    raw = response.raw
    if not hasattr(raw, "read1"):
        yield from response.iter_content(CHUNK_SIZE)
        return
    while True:
        chunk = raw.read1(CHUNK_SIZE, decode_content=True)
        if not chunk:
            return
        yield chunk


def _check_content_range(content_range: str, start: int, total: int | None, source: str) -> None:
    """A resumed answer must start at ``start`` and describe the same file (``total``)."""
    got = parse_content_range(content_range)
    if got is None:
        raise DownloadError(f"download of {source}: resumed answer lacks a valid Content-Range ({content_range!r})")
    got_start, _got_end, got_total = got
    if got_start != start or (total is not None and got_total is not None and got_total != total):
        raise DownloadError(
            f"download of {source}: asked for bytes from {start} of {total}, the server sent {content_range!r}"
        )


def _total_size(headers: Any, status: int) -> int | None:
    get = headers.get
    if status == 206:
        parsed = parse_content_range(get("Content-Range", "") or "")
        return parsed[2] if parsed else None
    length = get("Content-Length")
    if length and str(length).isdigit() and get("Content-Encoding") in (None, "identity"):
        return int(length)
    return None
