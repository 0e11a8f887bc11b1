"""Streamed, resumable, atomic file downloads, and random access to remote files by HTTP Range.

:func:`download_file`: a download goes to a temp file beside the destination, is checked (size against
Content-Length, and for Parquet the magic bytes and a parseable footer), and only then renamed into
place, so a failed or interrupted download never leaves a half-written file at the destination. A
dropped connection is resumed with a Range request from the bytes already received.

:class:`HttpRangeReader` / :class:`RangeFile`: read parts of a remote file (what pyarrow needs of a
Parquet file) with explicit ``bytes=start-end`` ranges, fetched in parallel and cached; suffix ranges
are used for the footer where the server honours them.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import requests

from ..errors import AuthenticationError, DownloadError, QueryCancelledError
from ..geoparquet import atomic_target

logger = logging.getLogger(__name__)

#: Bytes per read: a dropped connection loses at most the chunk being read, so keep it modest.
#: Hosts seen ignoring suffix ranges (``bytes=-N``), e.g. Azure Blob storage where the live RDM files are.
_HOSTS_WITHOUT_SUFFIX_RANGES: set[str] = set()
_HOSTS_LOCK = threading.Lock()

CHUNK_SIZE = 64 * 1024
PARQUET_MAGIC = b"PAR1"


def validate_parquet_file(path: Path) -> None:
    """Raise :class:`DownloadError` unless ``path`` is a Parquet file whose footer parses.

    The magic bytes at both ends catch truncation cheaply; parsing the footer (schema and row-group
    metadata) catches a damaged tail that still happens to end in ``PAR1``.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(max(size - 4, 0))
        tail = fh.read(4)
    if size < 12 or head != PARQUET_MAGIC or tail != PARQUET_MAGIC:
        raise DownloadError(f"downloaded file is not a valid Parquet file (size {size} bytes, bad magic/footer)")
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError subclasses for damaged footers
        raise DownloadError(f"downloaded file has a damaged Parquet footer ({size} bytes): {exc}") from exc


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
                    # An explicit end where the size is known: some stores (Azure Blob without a recent
                    # x-ms-version) honour only "bytes=start-end".
                    end = f"{total - 1}" if total else ""
                    request_headers["Range"] = f"bytes={received}-{end}"
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


class _Cancellable:
    """Anything with ``is_set()``: a :class:`threading.Event` or a combination of them."""

    def is_set(self) -> bool:  # pragma: no cover - protocol only
        raise NotImplementedError


class AnyEvent(_Cancellable):
    """Set when any of the given events is set (``None`` entries are ignored)."""

    def __init__(self, *events: threading.Event | _Cancellable | None):
        self._events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)


class HttpRangeReader:
    """Random access to one remote file through HTTP Range requests, keeping what it fetched.

    Only the byte ranges asked for are transferred: first the file's tail (where Parquet keeps its
    footer), then whatever :meth:`prefetch` or :meth:`read_at` needs. Fetched ranges stay cached, so
    pyarrow re-reading a range costs nothing. A server that ignores ``Range`` (answers 200) is
    tolerated: the whole body is then cached and no further request is made.

    Parameters
    ----------
    session
        Session used for every request (it carries retries and authentication).
    url
        File URL (may carry a signed query string; it is never logged).
    timeout
        ``(connect, read)`` timeouts per request.
    cancel_event
        Checked before each request and between chunks; when set, :class:`QueryCancelledError` is raised.
    on_bytes
        Called with the number of bytes received after each chunk (used for progress and accounting).
    tail_size
        Bytes fetched from the end on :meth:`open`; big enough for most Parquet footers.
    max_resumes
        How often a range whose connection drops mid-body is resumed before giving up.
    headers
        Extra request headers (for example an ``Authorization`` header prepared elsewhere).
    max_parallel
        How many ranges :meth:`prefetch` fetches at the same time.
    request_slots
        A semaphore shared by the readers of one query, bounding the requests in flight to what the
        session's connection pool holds.
    """

    #: Smallest request :meth:`read_at` makes on a cache miss (pyarrow reads footers in small pieces).
    MIN_FETCH = 64 * 1024
    CHUNK = 256 * 1024

    def __init__(
        self,
        session: requests.Session,
        url: str,
        *,
        timeout: float | tuple[float, float] = (5, 60),
        cancel_event: threading.Event | _Cancellable | None = None,
        on_bytes: Callable[[int], None] | None = None,
        tail_size: int = 64 * 1024,
        max_resumes: int = 3,
        headers: dict[str, str] | None = None,
        max_parallel: int = 8,
        request_slots: threading.Semaphore | None = None,
    ):
        self.session = session
        self.headers = dict(headers or {})
        self.max_parallel = max(1, max_parallel)
        self.request_slots = request_slots
        self.url = url
        self.timeout = timeout
        self.cancel_event = cancel_event
        self.on_bytes = on_bytes
        self.tail_size = tail_size
        self.max_resumes = max_resumes
        self.size: int | None = None
        self.bytes_received = 0
        self.requests_made = 0
        self._starts: list[int] = []
        self._pieces: list[bytes] = []
        self._lock = threading.Lock()

    @property
    def safe_url(self) -> str:
        """The URL without its query string (signed URLs carry secrets)."""
        return _safe_url(self.url)

    def _check_cancel(self) -> None:
        if self.cancel_event is not None and self.cancel_event.is_set():
            raise QueryCancelledError(f"reading {self.safe_url} was cancelled")

    def open(self) -> HttpRangeReader:
        """Fetch the file's tail and learn its size. Returns ``self``."""
        if self.size is not None:
            return self
        host = urlsplit(self.url).netloc
        if host in _HOSTS_WITHOUT_SUFFIX_RANGES:
            return self._open_with_explicit_ranges(None)
        try:
            data, status, total = self._get(f"bytes=-{self.tail_size}", max_whole_body=4 * self.tail_size)
        except _SuffixRangeRefused as refused:
            # Suffix ranges ("the last N bytes") are not universal (Azure Blob ignores them): remember the
            # host, so its other files skip the wasted request, and ask with explicit offsets.
            with _HOSTS_LOCK:
                _HOSTS_WITHOUT_SUFFIX_RANGES.add(host)
            return self._open_with_explicit_ranges(refused.size)
        if status == 200:
            self.size = len(data)
            self._store(0, data)
        else:
            if total is None:
                raise DownloadError(f"{self.safe_url}: the server did not report the file size (Content-Range)")
            self.size = total
            self._store(total - len(data), data)
        return self

    def _open_with_explicit_ranges(self, size: int | None) -> HttpRangeReader:
        """Learn the size from a first explicit range (unless known), then fetch the tail by offsets."""
        if size is None:
            head, head_status, size = self._get(f"bytes=0-{self.tail_size - 1}", expect_start=0)
            if head_status == 200:  # no Range support at all: that was the whole file
                size = len(head)
            if size is None:
                raise DownloadError(f"{self.safe_url}: the server reports no file size") from None
            self._store(0, head)
        self.size = size
        start = max(0, size - self.tail_size)
        if self.missing(start, size):
            self._fetch(start, size)
        return self

    def _store(self, start: int, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            index = bisect.bisect_left(self._starts, start)
            self._starts.insert(index, start)
            self._pieces.insert(index, data)

    def missing(self, start: int, end: int) -> list[tuple[int, int]]:
        """The sub-ranges of ``[start, end)`` not cached yet."""
        gaps: list[tuple[int, int]] = []
        position = start
        with self._lock:
            for piece_start, piece in zip(self._starts, self._pieces, strict=True):
                piece_end = piece_start + len(piece)
                if piece_end <= position:
                    continue
                if piece_start >= end:
                    break
                if piece_start > position:
                    gaps.append((position, piece_start))
                position = max(position, piece_end)
                if position >= end:
                    break
        if position < end:
            gaps.append((position, end))
        return gaps

    def prefetch(self, ranges: list[tuple[int, int]], *, max_gap: int = 64 * 1024) -> None:
        """Fetch ``[start, end)`` ranges not cached yet, merging ranges closer than ``max_gap`` bytes."""
        self.open()
        assert self.size is not None
        wanted: list[tuple[int, int]] = []
        for start, end in sorted(ranges):
            start, end = max(0, start), min(end, self.size)
            if start < end:
                wanted.extend(self.missing(start, end))
        merged: list[list[int]] = []
        for start, end in sorted(wanted):
            if merged and start - merged[-1][1] <= max_gap:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        jobs = [gap for start, end in merged for gap in self.missing(start, end)]
        parallel = min(self.max_parallel, len(jobs))
        if parallel <= 1:
            for start, end in jobs:
                self._fetch(start, end)
            return
        # Ranges are independent: fetch them side by side, so latency is paid about once, not per range.
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="wce-samples-range") as pool:
            futures = [pool.submit(self._fetch, start, end) for start, end in jobs]
            for future in futures:
                future.result()

    def _fetch(self, start: int, end: int) -> None:
        data, status, _ = self._get(f"bytes={start}-{end - 1}", expect_start=start)
        if status == 200:  # the server ignored Range: keep the whole file
            with self._lock:
                self._starts, self._pieces = [0], [data]
            self.size = len(data)
        else:
            self._store(start, data)

    def read_at(self, offset: int, length: int) -> bytes:
        """Return ``length`` bytes from ``offset`` (fewer at the end of the file)."""
        self.open()
        assert self.size is not None
        end = min(offset + length, self.size)
        if offset >= end:
            return b""
        for gap_start, gap_end in self.missing(offset, end):
            self._fetch(gap_start, min(max(gap_end, gap_start + self.MIN_FETCH), self.size))
        out = bytearray()
        position = offset
        with self._lock:
            # Pieces are sorted by start and may overlap, so scan from the first one.
            for piece_start, piece in zip(self._starts, self._pieces, strict=True):
                piece_end = piece_start + len(piece)
                if piece_end <= position:
                    continue
                if piece_start > position:
                    break
                take = min(piece_end, end) - position
                out += piece[position - piece_start : position - piece_start + take]
                position += take
                if position >= end:
                    break
        if position != end:  # only if the server sent less than it promised
            raise DownloadError(f"{self.safe_url}: could not read bytes {offset}-{end - 1} (got {position - offset})")
        return bytes(out)

    def _get(self, range_header: str, *, expect_start: int | None = None,
             max_whole_body: int | None = None) -> tuple[bytes, int, int | None]:
        """GET one range, resuming a dropped body; returns ``(body, status, total_size)``.

        With ``max_whole_body``, a 200 answer (Range ignored) announcing more bytes than that, or a 416
        answer, raises :class:`_SuffixRangeRefused` before any body byte is read.
        """
        body = bytearray()
        resumes = 0
        first, last = None, None
        if expect_start is not None:
            first, last = (int(v) for v in range_header[len("bytes=") :].split("-"))
        while True:
            self._check_cancel()
            header = range_header if first is None else f"bytes={first + len(body)}-{last}"
            self.requests_made += 1
            slot = self.request_slots if self.request_slots is not None else contextlib.nullcontext()
            try:
                with slot, self.session.get(
                    self.url, headers={**self.headers, "Range": header}, stream=True, timeout=self.timeout
                ) as response:
                    status = response.status_code
                    if status in (401, 403):
                        raise AuthenticationError(
                            f"{self.safe_url}: access refused (HTTP {status})", status=status, url=self.safe_url
                        )
                    if max_whole_body is not None:
                        length = response.headers.get("Content-Length", "")
                        if status == 416:
                            raise _SuffixRangeRefused(None)
                        if status == 200 and length.isdigit() and int(length) > max_whole_body:
                            raise _SuffixRangeRefused(int(length))
                    if status >= 400:
                        raise DownloadError(f"{self.safe_url}: HTTP {status}")
                    total = _total_size(response, 0) if status == 206 else None
                    if status == 206:
                        content_range = response.headers.get("Content-Range", "")
                        got_start = _range_start(content_range)
                        wanted = None if first is None else first + len(body)
                        if wanted is not None and got_start is not None and got_start != wanted:
                            raise DownloadError(
                                f"{self.safe_url}: asked for bytes from {wanted}, the server sent from {got_start}"
                            )
                    elif body:  # a resumed range came back whole: start again from the full body
                        body.clear()
                    for chunk in response.iter_content(self.CHUNK):
                        self._check_cancel()
                        body += chunk
                        self.bytes_received += len(chunk)
                        if self.on_bytes is not None:
                            self.on_bytes(len(chunk))
                    if status == 206 and first is not None and first + len(body) <= last:
                        raise requests.exceptions.ChunkedEncodingError("range body shorter than requested")
                    return bytes(body), status, total
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                if first is None or resumes >= self.max_resumes:
                    raise DownloadError(f"{self.safe_url}: connection failed: {type(exc).__name__}") from exc
                resumes += 1
                logger.info("range read of %s dropped; resuming (%d/%d)", self.safe_url, resumes, self.max_resumes)


class _SuffixRangeRefused(Exception):
    """The server did not honour ``Range: bytes=-N``; ``size`` is the file size when it said so."""

    def __init__(self, size: int | None):
        super().__init__(size)
        self.size = size


def _range_start(content_range: str) -> int | None:
    # "bytes 100-199/1000"
    try:
        return int(content_range.split(" ", 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return None


class RangeFile(io.RawIOBase):
    """A read-only, seekable file object over an :class:`HttpRangeReader`, for pyarrow."""

    def __init__(self, reader: HttpRangeReader):
        super().__init__()
        self.reader = reader.open()
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        size = self.reader.size or 0
        if whence == io.SEEK_SET:
            self._position = offset
        elif whence == io.SEEK_CUR:
            self._position += offset
        elif whence == io.SEEK_END:
            self._position = size + offset
        else:
            raise ValueError(f"whence={whence!r} is not allowed; use 0, 1 or 2")
        self._position = max(self._position, 0)
        return self._position

    def read(self, size: int = -1) -> bytes:
        total = self.reader.size or 0
        if size is None or size < 0:
            size = total - self._position
        data = self.reader.read_at(self._position, size)
        self._position += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def size(self) -> int:
        return self.reader.size or 0
