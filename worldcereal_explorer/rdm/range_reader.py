"""Random access to remote files by HTTP Range: what pyarrow needs of a remote Parquet file.

:class:`HttpRangeReader` fetches only the byte ranges asked for (the footer first, then column chunks), checks
every 206 answer's ``Content-Range`` against the request, caches what it fetched up to a bound, and resumes a
range whose connection drops. :class:`RangeFile` is a seekable file object over it. Every request runs in the
caller's :class:`~worldcereal_explorer.transport.scopes.CallScope` (deadline and cancel).
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import io
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from ..errors import AuthenticationError, DownloadError, RdmConnectionError
from ..transport.http import CallScope, HttpTransport, safe_url

__all__ = ["HttpRangeReader", "PositionalFile", "RangeFile", "parse_content_range"]

logger = logging.getLogger(__name__)

#: Hosts seen ignoring suffix ranges (``bytes=-N``), e.g. Azure Blob storage where the live RDM files are.
_HOSTS_WITHOUT_SUFFIX_RANGES: set[str] = set()
_HOSTS_LOCK = threading.Lock()
#: Per host, the sizes of the last Parquet footers read there (with their 8-byte trailer). One publisher's
#: files have footers of about one size, so the next file's first request asks for about the largest of the
#: recent ones: neither the bytes of a fixed 64 KiB tail beyond a small footer, nor a second request for a
#: large one. The largest, not the last: where footers differ, a tail fitted to the last small footer would
#: cost the next large one a second request, and the tails would alternate.
_FOOTER_SIZES: dict[str, collections.deque[int]] = {}
#: How many recent footers per host the tail is sized on.
RECENT_FOOTERS = 8
#: The first tail asked of a host whose footers are not known yet; bounds of a learned tail.
DEFAULT_TAIL = 16 * 1024
MIN_TAIL, MAX_TAIL = 4 * 1024, 8 * 1024 * 1024


def tail_size_for(url: str) -> int:
    """Bytes to ask from the end of a Parquet file at ``url``'s host: the largest of its recent footers plus
    3 % and 1 KiB of slack, or :data:`DEFAULT_TAIL` before any footer was read there."""
    with _HOSTS_LOCK:
        recent = _FOOTER_SIZES.get(urlsplit(url).netloc)
        seen = max(recent) if recent else None
    if seen is None:
        return DEFAULT_TAIL
    return max(MIN_TAIL, min(MAX_TAIL, seen + seen // 32 + 1024))


def parse_content_range(content_range: str) -> tuple[int, int, int | None] | None:
    """``"bytes 100-199/1000"`` → ``(100, 199, 1000)``; ``"/*"`` total → ``None``; junk → ``None``."""
    try:
        unit, rest = content_range.strip().split(" ", 1)
        span, size = rest.split("/", 1)
        first, last = (int(v) for v in span.split("-", 1))
    except ValueError:
        return None
    if unit.lower() != "bytes" or first < 0 or last < first:
        return None
    if size.strip() == "*":
        return first, last, None
    if not size.strip().isdigit() or int(size) <= last:
        return None
    return first, last, int(size)



class HttpRangeReader:
    """Random access to one remote file through HTTP Range requests, keeping what it fetched.

    Only the byte ranges asked for are transferred: first the file's tail (where Parquet keeps its
    footer), then whatever :meth:`prefetch` or :meth:`read_at` needs. Every 206 answer's ``Content-Range``
    is checked against what was asked. Fetched ranges stay cached up to the policy's
    ``max_range_cache_bytes`` (oldest pieces go first). A server that ignores ``Range`` (answers 200) is
    tolerated for files up to that bound: the whole body is then cached and no further request is made.

    Parameters
    ----------
    transport
        The HTTP layer (retries, timeouts, authentication for the RDM host only).
    url
        File URL (may carry a signed query string; it is never logged).
    scope
        The call scope: its deadline and cancel event bound every request of this reader.
    on_bytes
        Called with the number of bytes received after each chunk (used for progress and accounting).
    tail_size
        Bytes fetched from the end on :meth:`open`; default :func:`tail_size_for` the URL (learned from the
        host's last footer). A footer larger than the tail is completed with one exact request.
    max_resumes
        How often a range whose connection drops mid-body is resumed before giving up.
    max_parallel
        How many ranges :meth:`prefetch` fetches at the same time.
    request_slots
        A semaphore shared by the readers of one query, bounding the requests in flight to what the
        transport's connection pool holds.
    what
        What is read, for messages (for example ``"collection 'x'"``).
    """

    #: Smallest request :meth:`read_at` makes on a cache miss (pyarrow reads footers in small pieces).
    MIN_FETCH = 64 * 1024
    #: A server that ignores a suffix range and answers a whole file up to this size is simply taken at its
    #: word (the file is here); a larger whole-file answer is abandoned before its body.
    SMALL_FILE = 1024 * 1024
    CHUNK = 256 * 1024

    def __init__(
        self,
        transport: HttpTransport,
        url: str,
        *,
        scope: CallScope,
        on_bytes: Callable[[int], None] | None = None,
        tail_size: int | None = None,
        max_resumes: int = 3,
        max_parallel: int = 8,
        request_slots: threading.Semaphore | None = None,
        what: str = "",
    ):
        self.transport = transport
        self.scope = scope
        self.max_parallel = max(1, max_parallel)
        self.request_slots = request_slots
        self.url = url
        self.on_bytes = on_bytes
        self.tail_size = tail_size_for(url) if tail_size is None else tail_size
        self.max_resumes = max_resumes
        self.max_cache_bytes = transport.policy.max_range_cache_bytes
        self.what = what
        self.size: int | None = None
        self.bytes_received = 0
        self.requests_made = 0
        self._starts: list[int] = []
        self._pieces: list[bytes] = []
        self._cached = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HttpRangeReader({self.safe_url!r}, size={self.size})"

    @property
    def safe_url(self) -> str:
        """The URL without its query string (signed URLs carry secrets)."""
        return safe_url(self.url)

    @property
    def source(self) -> str:
        """What is read and where, for messages."""
        return f"{self.what} ({self.safe_url})" if self.what else self.safe_url

    def open(self) -> HttpRangeReader:
        """Fetch the file's tail and learn its size. Returns ``self``."""
        if self.size is not None:
            return self
        host = urlsplit(self.url).netloc
        if host in _HOSTS_WITHOUT_SUFFIX_RANGES:
            return self._open_with_explicit_ranges(None)
        try:
            data, status, total = self._get(None, suffix=self.tail_size)
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
                raise DownloadError(f"{self.source}: the server did not report the file size (Content-Range)")
            self.size = total
            self._store(total - len(data), data)
        self._complete_parquet_footer()
        return self

    def _complete_parquet_footer(self) -> None:
        """Fetch exactly the rest of a Parquet footer the tail did not hold (one request, no padding).

        A small tail keeps small files cheap; the footer's length (the 4 bytes before the closing
        ``PAR1``) says how much more a large footer needs, so pyarrow's footer reads all hit the cache.
        """
        assert self.size is not None
        if self.size < 12 or self.missing(self.size - 8, self.size):
            return
        trailer = self.read_cached(self.size - 8, 8)
        if trailer is None or trailer[4:] != b"PAR1":
            return
        footer = int.from_bytes(trailer[:4], "little") + 8
        with _HOSTS_LOCK:
            _FOOTER_SIZES.setdefault(urlsplit(self.url).netloc, collections.deque(maxlen=RECENT_FOOTERS)).append(footer)
        start = max(0, self.size - footer)
        for gap_start, gap_end in self.missing(start, self.size):
            self._fetch(gap_start, gap_end)

    def read_cached(self, offset: int, length: int) -> bytes | None:
        """``length`` bytes from ``offset`` if they are all cached, else ``None`` (never a request)."""
        if self.missing(offset, offset + length):
            return None
        return self.read_at(offset, length)

    def _open_with_explicit_ranges(self, size: int | None) -> HttpRangeReader:
        """Learn the size from a first explicit range (unless known), then fetch the tail by offsets."""
        if size is None:
            head, head_status, size = self._get((0, self.tail_size - 1))
            if head_status == 200:  # no Range support at all: that was the whole file
                size = len(head)
            if size is None:
                raise DownloadError(f"{self.source}: the server reports no file size")
            self._store(0, head)
        self.size = size
        start = max(0, size - self.tail_size)
        if self.missing(start, size):
            self._fetch(start, size)
        self._complete_parquet_footer()
        return self

    def _store(self, start: int, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            index = bisect.bisect_left(self._starts, start)
            self._starts.insert(index, start)
            self._pieces.insert(index, data)
            self._cached += len(data)
            # Bounded memory: drop the pieces farthest from the new one until under the bound.
            while self._cached > self.max_cache_bytes and len(self._pieces) > 1:
                victim = 0 if self._starts[0] != start else len(self._pieces) - 1
                self._cached -= len(self._pieces[victim])
                del self._starts[victim], self._pieces[victim]

    def _cover(self, start: int, end: int) -> list[tuple[int, int, int, bytes | None]]:
        """``[start, end)`` as consecutive runs ``(run_start, run_end, piece_start, piece)`` in order: from a
        cached piece, or a gap (``piece`` is ``None``). Pieces are sorted by start and may overlap."""
        runs: list[tuple[int, int, int, bytes | None]] = []
        position = start
        with self._lock:
            for piece_start, piece in zip(self._starts, self._pieces, strict=True):
                piece_end = piece_start + len(piece)
                if piece_end <= position:
                    continue
                if piece_start >= end:
                    break
                if piece_start > position:
                    runs.append((position, piece_start, position, None))
                    position = piece_start
                run_end = min(piece_end, end)
                runs.append((position, run_end, piece_start, piece))
                position = run_end
                if position >= end:
                    break
        if position < end:
            runs.append((position, end, position, None))
        return runs

    def missing(self, start: int, end: int) -> list[tuple[int, int]]:
        """The sub-ranges of ``[start, end)`` not cached yet."""
        return [(lo, hi) for lo, hi, _, piece in self._cover(start, end) if piece is None]

    def prefetch(self, ranges: list[tuple[int, int]], *, max_gap: int = 0) -> None:
        """Fetch ``[start, end)`` ranges not cached yet, merging ranges closer than ``max_gap`` bytes.

        The default merges only touching ranges: the ranges are fetched side by side anyway, and a column
        chunk between two wanted ones (``sampling_ewoc_code`` between ``h3_l3_cell`` and ``geometry``) is
        bytes nobody asked for.
        """
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
            try:
                for future in futures:
                    future.result()
            finally:
                for future in futures:
                    future.cancel()

    def fetch_range(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``: from the cache when all there, else fetched now and *not* cached.

        For streaming readers that hold what they fetched themselves (a bounded read-ahead window) and must
        not fill the cache with a column chunk read once.
        """
        self.open()
        assert self.size is not None
        end = min(end, self.size)
        if start >= end:
            return b""
        cached = self.read_cached(start, end - start)
        if cached is not None:
            return cached
        data, status, _ = self._get((start, end - 1))
        if status == 200:  # the server ignored Range: keep the whole file, as _fetch does
            self._fetch(0, self.size)
            return self.read_at(start, end - start)
        return data

    def _fetch(self, start: int, end: int) -> None:
        data, status, _ = self._get((start, end - 1))
        if status == 200:  # the server ignored Range: keep the whole file
            with self._lock:
                self._starts, self._pieces, self._cached = [0], [data], len(data)
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
        runs = self._cover(offset, end)
        if len(runs) == 1 and runs[0][3] is not None:  # one piece holds it all: one copy
            _, _, piece_start, piece = runs[0]
            return piece[offset - piece_start:end - piece_start]  # type: ignore[index]
        out = bytearray()
        position = offset
        for lo, hi, piece_start, piece in runs:
            if piece is None:
                break
            out += piece[lo - piece_start:hi - piece_start]
            position = hi
        if position != end:  # the bound evicted a piece mid-read, or the server sent less than promised
            missing = self.missing(position, end)
            if missing and len(out) < length:
                return bytes(out) + self.read_at(position, end - position)
            raise DownloadError(f"{self.source}: could not read bytes {offset}-{end - 1} (got {position - offset})")
        return bytes(out)

    def _get(self, span: tuple[int, int] | None, *, suffix: int | None = None) -> tuple[bytes, int, int | None]:
        """GET one range (``span`` inclusive, or the last ``suffix`` bytes), resuming a dropped body.

        Returns ``(body, status, total_size)``. For a suffix request, a 200 answer announcing more than
        four tails, or a 416 answer, raises :class:`_SuffixRangeRefused` before any body byte is read.
        """
        body = bytearray()
        resumes = 0
        while True:
            self.scope.check()
            header = f"bytes=-{suffix}" if span is None else f"bytes={span[0] + len(body)}-{span[1]}"
            self.requests_made += 1
            slot = self.request_slots if self.request_slots is not None else contextlib.nullcontext()
            try:
                with slot, self.transport.open(self.url, scope=self.scope, headers={"Range": header},
                                               download=True) as response:
                    status = response.status_code
                    if status in (401, 403):
                        raise AuthenticationError(f"{self.source}: access refused (HTTP {status})", status=status,
                                                  url=self.safe_url)
                    length = response.headers.get("Content-Length", "")
                    if span is None and status == 416:
                        # "bytes */N" names the size; anything else leaves it to an explicit first range.
                        unsatisfied = response.headers.get("Content-Range", "")
                        size = unsatisfied.rsplit("/", 1)[-1] if unsatisfied.startswith("bytes */") else ""
                        raise _SuffixRangeRefused(int(size) if size.isdigit() and int(size) > 0 else None)
                    if span is None and status == 200 and length.isdigit() and int(length) > max(4 * (suffix or 0), self.SMALL_FILE):
                        raise _SuffixRangeRefused(int(length))
                    if status >= 400:
                        raise DownloadError(f"{self.source}: HTTP {status}")
                    total = None
                    if status == 206:
                        total = self._verify(response.headers.get("Content-Range", ""), span, len(body), suffix)
                    else:
                        body.clear()  # a range answered whole: keep the full body instead
                        if length.isdigit() and int(length) > self.max_cache_bytes:
                            raise DownloadError(
                                f"{self.source}: the server ignores Range requests and the file is {int(length):,} "
                                f"bytes, more than the {self.max_cache_bytes:,}-byte bound "
                                "(HttpPolicy.max_range_cache_bytes); download the file instead"
                            )
                    for chunk in response.iter_content(self.CHUNK):
                        self.scope.check()
                        body += chunk
                        self.bytes_received += len(chunk)
                        if self.on_bytes is not None:
                            self.on_bytes(len(chunk))
                        if status == 200 and len(body) > self.max_cache_bytes:
                            raise DownloadError(f"{self.source}: whole-file answer exceeds the range cache bound")
                    if status == 206 and span is not None and span[0] + len(body) <= span[1]:
                        raise _ShortBody()
                    return bytes(body), status, total
            except (RdmConnectionError, _ShortBody) as exc:
                if self.scope.tripped:
                    raise self.scope.error() from None
                if resumes >= self.max_resumes:
                    reason = "the answer ended early" if isinstance(exc, _ShortBody) else str(exc)
                    raise DownloadError(f"{self.source}: reading bytes failed: {reason}") from None
                if span is None:
                    # A suffix range cannot be resumed where it stopped ("the last N bytes" of what?): ask again.
                    body.clear()
                resumes += 1
                logger.info("range read of %s dropped; resuming (%d/%d)", self.safe_url, resumes, self.max_resumes)

    def _verify(self, content_range: str, span: tuple[int, int] | None, already: int,
                suffix: int | None) -> int | None:
        """Check a 206 answer's ``Content-Range`` against the request; return the file's total size."""
        parsed = parse_content_range(content_range)
        if parsed is None:
            raise DownloadError(f"{self.source}: a range answer lacks a valid Content-Range ({content_range!r})")
        first, last, total = parsed
        if total is not None and self.size is not None and total != self.size:
            raise DownloadError(f"{self.source}: the file changed size ({self.size} → {total}) while being read")
        if span is not None:
            wanted_first, wanted_last = span[0] + already, span[1]
            if first != wanted_first or last > wanted_last:
                raise DownloadError(
                    f"{self.source}: asked for bytes {wanted_first}-{wanted_last}, the server sent {content_range!r}"
                )
        elif total is not None and (last != total - 1 or last - first + 1 > (suffix or 0)):
            raise DownloadError(f"{self.source}: asked for the last {suffix} bytes, the server sent {content_range!r}")
        return total


class _ShortBody(Exception):
    """A 206 body ended before the range it announced."""


class _SuffixRangeRefused(Exception):
    """The server did not honour ``Range: bytes=-N``; ``size`` is the file size when it said so."""

    def __init__(self, size: int | None):
        super().__init__(size)
        self.size = size


class PositionalFile(io.RawIOBase):
    """A read-only, seekable file object over bytes read by position, for pyarrow.

    Subclasses give :meth:`size` and :meth:`read_at`; this class keeps the position.
    """

    def __init__(self) -> None:
        super().__init__()
        self._position = 0

    def size(self) -> int:
        """The file's length in bytes."""
        raise NotImplementedError

    def read_at(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (fewer at the end of the file)."""
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence not in (io.SEEK_SET, io.SEEK_CUR, io.SEEK_END):
            raise ValueError(f"whence={whence!r} is not allowed; use 0, 1 or 2")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position}.get(whence)
        self._position = max((self.size() if base is None else base) + offset, 0)
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.size() - self._position
        data = self.read_at(self._position, size)
        self._position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class RangeFile(PositionalFile):
    """A read-only, seekable file object over an :class:`HttpRangeReader`, for pyarrow."""

    def __init__(self, reader: HttpRangeReader):
        super().__init__()
        self.reader = reader.open()

    def size(self) -> int:
        return self.reader.size or 0

    def read_at(self, offset: int, length: int) -> bytes:
        return self.reader.read_at(offset, length)
