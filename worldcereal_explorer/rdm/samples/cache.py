"""Opt-in local cache of the collections a user has queried, re-laid out for range reads.

The RDM's files hold a collection in one large unsorted row group: every query on it reads about the whole
file. With the cache on, the first query of a collection downloads its file once and writes it again beside
the cache's other files in a layout that suits range reads: sorted by space (a Morton order of the
geometries' centres), 10,000-row groups, GeoParquet 1.1 bbox covering columns, small pages and a page index.
Later queries read that local file; the server is only asked whether its file changed (one ``Range:
bytes=0-0`` request, compared by ``ETag``, else ``Last-Modified`` and size), and a changed file is fetched
again.

- Bounded: at most ``sample_cache_max_mb``; the least recently used files go first.
- Atomic: a file appears (by rename) only once complete; its sidecar ``.json`` is written the same way.
- Two processes at once: filling an entry holds an exclusive lock on ``<key>.lock`` (``fcntl``; where that
  is missing, on Windows, no lock is taken); the second process waits, then finds the entry filled.
- Settings (``worldcereal_explorer.config``): ``sample_cache`` (default off, and always off in served mode
  unless the argument turns it on), ``sample_cache_dir``, ``sample_cache_max_mb``; the argument is
  ``sample_cache=`` of ``get_samples``, ``count_samples`` and ``download_samples`` (``True``/``False``, a
  folder, or a :class:`SampleCache`), or the client attribute ``client.sample_cache``.
- Used by every reader of samples: ``get_samples``, ``count_samples``, ``download_samples`` and the Dask
  engine, whose workers open the same folder (:class:`CacheSpec`; a worker on another machine keeps its
  own copies there).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...errors import BadParameterError, DownloadError
from ...files import atomic_path, atomic_write_text
from ...transport.http import CallScope, HttpTransport, safe_url

__all__ = ["CACHE_ROW_GROUP_ROWS", "CacheSpec", "LocalFileReader", "SampleCache", "open_reader", "relayout"]

logger = logging.getLogger(__name__)

#: Rows per row group of a cached file, and its data page size.
CACHE_ROW_GROUP_ROWS = 10_000
CACHE_PAGE_BYTES = 64 * 1024
#: Rows gathered per pass while re-laying a file out (memory: one slice of rows at a time).
RELAYOUT_SLICE_ROWS = 200_000
_TRUTH_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "1", "0", "none"})
_LOCKS = threading.Lock()
_THREAD_LOCKS: dict[str, threading.Lock] = {}


class LocalFileReader:
    """The range-reader interface over a local file (``os.pread``; nothing is kept in memory)."""

    def __init__(self, path: Path, url: str):
        self.path = path
        self.url = url  # the remote file's URL, for messages (never the signature: see safe_url)
        self.size = path.stat().st_size
        self._fd = os.open(path, os.O_RDONLY)
        self.bytes_received = 0
        self.requests_made = 0
        self.scope: CallScope | None = None
        self.on_bytes: Any = None
        self.request_slots: Any = None

    def __del__(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.close(self._fd)

    @property
    def safe_url(self) -> str:
        return f"{safe_url(self.url)} (cached at {self.path})"

    def open(self) -> LocalFileReader:
        return self

    def prefetch(self, ranges: list[tuple[int, int]], **_: Any) -> None:
        """Nothing to fetch: the bytes are on disk."""

    def read_at(self, offset: int, length: int) -> bytes:
        if self.scope is not None:
            self.scope.check()
        return os.pread(self._fd, max(0, min(length, self.size - offset)), offset)

    read_cached = read_at

    def fetch_range(self, start: int, end: int) -> bytes:
        return self.read_at(start, end - start)


def _validators(transport: HttpTransport, url: str, scope: CallScope) -> dict[str, Any]:
    """``ETag``, ``Last-Modified`` and the size of the remote file, from a one-byte range request."""
    with transport.open(url, scope=scope, headers={"Range": "bytes=0-0"}, download=True) as response:
        if response.status_code >= 400:
            raise DownloadError(f"{safe_url(url)}: HTTP {response.status_code} when checking the cached copy")
        headers = response.headers
        size = None
        content_range = headers.get("Content-Range", "")
        if "/" in content_range and content_range.rsplit("/", 1)[1].strip().isdigit():
            size = int(content_range.rsplit("/", 1)[1])
        elif response.status_code == 200 and str(headers.get("Content-Length", "")).isdigit():
            size = int(headers["Content-Length"])
        for _ in response.iter_content(1024):  # at most a byte, or a server ignoring Range: stop at once
            break
        return {"etag": headers.get("ETag"), "last_modified": headers.get("Last-Modified"), "size": size}


def _same(stored: dict[str, Any], now: dict[str, Any]) -> bool:
    if stored.get("size") != now.get("size"):
        return False
    if stored.get("etag") and now.get("etag"):
        return bool(stored["etag"] == now["etag"])
    if stored.get("last_modified") and now.get("last_modified"):
        return bool(stored["last_modified"] == now["last_modified"])
    return False  # nothing to tell a changed file by: fetch it again


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` across threads and processes (``fcntl.flock``)."""
    with _LOCKS:
        thread_lock = _THREAD_LOCKS.setdefault(str(path), threading.Lock())
    with thread_lock:
        try:
            import fcntl
        except ImportError:  # Windows: threads only
            yield
            return
        # private: copies of private collections are kept here too
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class SampleCache:
    """The local copies of queried collection files (see the module docstring).

    Parameters
    ----------
    folder
        Where the copies live (created when needed).
    max_bytes
        The size limit; least recently used copies are removed beyond it.
    """

    def __init__(self, folder: str | os.PathLike[str], max_bytes: int):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise BadParameterError(f"max_bytes={max_bytes!r} is not allowed; use a whole number of bytes >= 1")
        self.folder = Path(folder).expanduser()
        self.max_bytes = max_bytes

    @classmethod
    def from_settings(cls, enabled: Any = None, *, folder: Any = None, max_mb: Any = None) -> SampleCache | None:
        """The cache the settings ask for, or ``None`` when it is off.

        ``enabled`` is the argument: ``None`` (the settings decide), ``True``/``False``, a folder (on, in
        that folder) or a :class:`SampleCache` (used as it is). In served mode the cache is off unless the
        argument turns it on.
        """
        from ... import config

        if isinstance(enabled, SampleCache):
            return enabled
        # A folder turns it on; a truth word in a string is more likely meant as a flag than as a folder's name.
        if isinstance(enabled, os.PathLike) or (isinstance(enabled, str) and enabled.strip()
                                                and enabled.strip().lower() not in _TRUTH_WORDS):
            enabled, folder = True, enabled
        if enabled is not None and not isinstance(enabled, bool):
            raise BadParameterError(f"sample_cache={enabled!r} is not allowed; use True, False, None, a folder "
                                    "or a SampleCache")
        on = bool(config.resolve_setting("sample_cache", enabled).value)
        if enabled is None and on and config.served_mode():
            on = False
        if not on:
            return None
        where = config.resolve_setting("sample_cache_dir", folder).value
        megabytes = config.resolve_setting("sample_cache_max_mb", max_mb).value
        return cls(Path(str(where)), int(megabytes) * 2**20)

    def spec(self) -> CacheSpec:
        """What a Dask worker needs to open this cache (a folder and a bound: picklable, no state)."""
        return CacheSpec(str(self.folder), self.max_bytes)

    def _key(self, url: str) -> str:
        return hashlib.sha256(safe_url(url).encode()).hexdigest()[:32]

    def paths(self, url: str) -> tuple[Path, Path, Path]:
        """The copy, its sidecar and its lock file for ``url``."""
        key = self._key(url)
        return self.folder / f"{key}.parquet", self.folder / f"{key}.json", self.folder / f"{key}.lock"

    def reader(self, transport: HttpTransport, url: str, *, scope: CallScope, on_bytes: Any = None) -> LocalFileReader:
        """A reader of the cached copy of ``url``: checked against the server, fetched and re-laid out when
        missing or changed.

        Raises
        ------
        DownloadError, QueryCancelledError, RdmTimeoutError
            When the file cannot be fetched (a check that fails is a miss, not an error).
        """
        data, meta, lock = self.paths(url)
        now = _validators(transport, url, scope)
        with _locked(lock):
            stored = _read_json(meta)
            if stored is not None and data.is_file() and _same(stored, now):
                stored["used"] = time.time()
                atomic_write_text(meta, json.dumps(stored))
                return LocalFileReader(data, url)
            self._fill(transport, url, scope, on_bytes, data, meta, now)
        self._evict(keep=data)
        return LocalFileReader(data, url)

    def _fill(self, transport: HttpTransport, url: str, scope: CallScope, on_bytes: Any, data: Path, meta: Path,
              validators: dict[str, Any]) -> None:
        from ..download import download_file

        done = [0]

        def progress(received: int, _total: int | None) -> None:
            if on_bytes is not None and received > done[0]:
                on_bytes(received - done[0])
            done[0] = received

        raw = data.with_suffix(".download")
        try:
            download_file(transport, url, raw, scope=scope, kind="parquet", progress=progress,
                          what=f"the cached copy of {safe_url(url)}")
            meta.unlink(missing_ok=True)
            relayout(raw, data)
        finally:
            raw.unlink(missing_ok=True)
        atomic_write_text(meta, json.dumps({**validators, "url": safe_url(url), "used": time.time(),
                                            "bytes": data.stat().st_size}))
        logger.info("cached %s at %s", safe_url(url), data)

    def _evict(self, keep: Path) -> None:
        """Remove least recently used copies until the folder is within ``max_bytes`` (never ``keep``)."""
        entries = []
        for meta in self.folder.glob("*.json"):
            stored = _read_json(meta) or {}
            data = meta.with_suffix(".parquet")
            if data.is_file():
                entries.append((float(stored.get("used", 0)), data, meta))
        total = sum(d.stat().st_size for _, d, _ in entries)
        for _, data, meta in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            if data == keep:
                continue
            with _locked(data.with_suffix(".lock")):
                size = data.stat().st_size if data.is_file() else 0
                meta.unlink(missing_ok=True)
                data.unlink(missing_ok=True)  # a reader holding it open keeps reading (POSIX)
            total -= size


@dataclass(frozen=True)
class CacheSpec:
    """The sample cache a Dask partition reads through: the folder of the copies and their size bound, as
    the worker process opens them (:meth:`SampleCache.spec`)."""

    folder: str
    max_bytes: int

    def open(self) -> SampleCache:
        """The cache in this worker process."""
        return SampleCache(self.folder, self.max_bytes)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def open_reader(transport: HttpTransport, url: str, *, scope: CallScope, on_bytes: Any = None,
                request_slots: Any = None, cache: SampleCache | None = None) -> Any:
    """The reader of one collection file: the cached copy when ``cache`` is given, else range reads."""
    from ..range_reader import HttpRangeReader

    if cache is None:
        return HttpRangeReader(transport, url, scope=scope, on_bytes=on_bytes, request_slots=request_slots)
    reader = cache.reader(transport, url, scope=scope, on_bytes=on_bytes)
    reader.scope = scope
    return reader


# --- re-layout ----------------------------------------------------------------------------------------------------

def _morton(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Morton (Z-order) codes of lon/lat positions on a 2^16 grid: nearby positions, nearby codes."""
    xi = np.clip(((x + 180.0) / 360.0 * 65535), 0, 65535).astype(np.uint64)
    yi = np.clip(((y + 90.0) / 180.0 * 65535), 0, 65535).astype(np.uint64)

    def spread(v: np.ndarray) -> np.ndarray:
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        return (v | (v << np.uint64(1))) & np.uint64(0x55555555)

    return spread(xi) | (spread(yi) << np.uint64(1))


def relayout(src: Path, dst: Path) -> Path:
    """Write ``src`` (a (Geo)Parquet file with WKB geometries) to ``dst`` sorted by space, in
    :data:`CACHE_ROW_GROUP_ROWS`-row groups, with a ``bbox`` covering column and a page index.

    Memory stays bounded: one pass computes the sort keys from the geometries (a batch at a time), then each
    following pass gathers :data:`RELAYOUT_SLICE_ROWS` rows of the sorted order. Files without WKB
    geometries are copied as they are.
    """
    import shapely

    from .layout import FileLayout

    parquet = pq.ParquetFile(src)
    layout = FileLayout.from_schema(parquet.schema_arrow)
    geometry = layout.geometry_column
    if layout.geometry_kind != "wkb" or geometry is None or not layout.crs_is_4326:
        with atomic_path(dst) as tmp:
            tmp.write_bytes(src.read_bytes())
        return dst
    drop = {layout.covering_column} - {None}
    keys = []
    for batch in parquet.iter_batches(batch_size=65_536, columns=[geometry]):
        bounds = shapely.bounds(shapely.from_wkb(batch.column(0).to_numpy(zero_copy_only=False)))
        with np.errstate(invalid="ignore"):
            keys.append(_morton((bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2))
    n = parquet.metadata.num_rows
    order = np.argsort(np.concatenate(keys) if keys else np.array([], dtype=np.uint64), kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    columns = [c for c in parquet.schema_arrow.names if c not in drop]
    geo = dict(layout.geo_metadata or {})
    column_meta = dict((geo.get("columns") or {}).get(geometry) or {})
    column_meta["covering"] = {"bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}}
    geo["columns"] = {**(geo.get("columns") or {}), geometry: column_meta}
    geo.setdefault("primary_column", geometry)
    geo.setdefault("version", "1.1.0")
    with atomic_path(dst) as tmp:
        writer = None
        try:
            for lo in range(0, max(n, 1), RELAYOUT_SLICE_ROWS):
                hi = min(lo + RELAYOUT_SLICE_ROWS, n)
                parts, ranks, offset = [], [], 0
                for batch in parquet.iter_batches(batch_size=65_536, columns=columns):
                    here = rank[offset:offset + batch.num_rows]
                    chosen = np.flatnonzero((here >= lo) & (here < hi))
                    if len(chosen):
                        parts.append(pa.Table.from_batches([batch]).take(pa.array(chosen)))
                        ranks.append(here[chosen])
                    offset += batch.num_rows
                table = pa.concat_tables(parts) if parts else parquet.schema_arrow.empty_table().select(columns)
                if ranks:
                    table = table.take(pa.array(np.argsort(np.concatenate(ranks))))
                bounds = shapely.bounds(shapely.from_wkb(table.column(geometry).to_numpy(zero_copy_only=False)))
                bbox = pa.StructArray.from_arrays([pa.array(bounds[:, k], pa.float64()) for k in range(4)],
                                                  names=["xmin", "ymin", "xmax", "ymax"])
                table = table.append_column("bbox", bbox)
                if writer is None:
                    schema = table.schema.with_metadata({**(parquet.schema_arrow.metadata or {}),
                                                         b"geo": json.dumps(geo).encode()})
                    writer = pq.ParquetWriter(tmp, schema, compression="zstd", write_page_index=True,
                                              data_page_size=CACHE_PAGE_BYTES)
                writer.write_table(table.cast(writer.schema), row_group_size=CACHE_ROW_GROUP_ROWS)
                del table, parts
                if n == 0:
                    break
        finally:
            if writer is not None:
                writer.close()
    return dst
