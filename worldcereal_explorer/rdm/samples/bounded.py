"""Large row groups in bounded memory: the small columns first, then only what rows that can match need.

The RDM's harmonized files can hold over a million rows in one row group, unsorted, without bbox covering
columns. Reading such a row group whole (``ParquetFile.read_row_group``) decodes every geometry of the file
at once. For a row group of more than :data:`LARGE_ROW_GROUP_ROWS` rows the readers (``get_samples``,
``count_samples``, ``download_samples``, the Dask engine, the dashboard) go through this module instead:

1. :func:`candidate_positions` reads the small columns the filters need (codes, dates, quality, ``extract``,
   ``h3_l3_cell``, the covering bbox where there is one) in batches of :data:`BATCH_ROWS` rows and keeps the
   positions of the rows that can still match. ``h3_l3_cell`` is tested against the level-3 cells touching
   the query area plus a one-ring margin (:func:`query_cells`), so no geometry is needed to rule rows out.
2. :func:`read_rows` reads the other columns (the geometry among them) of those positions only: streamed
   through a read-ahead window (:class:`RangeStream`: transfer overlaps decoding, memory is bounded by the
   window, not by the column chunk), batch by batch, keeping the wanted rows of each batch. Where the file
   has a page index (OffsetIndex), only the pages holding wanted rows are fetched (:mod:`.pages`).

The callers then apply their exact filters (the full geometry test among them) to the few rows returned, so
results are identical to reading the row group whole.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ...errors import DownloadError
from ..range_reader import PositionalFile
from .h3cells import H3_RESOLUTION, query_cells
from .layout import FileLayout
from .pages import PageLocation, ThriftError, column_index_locations, parse_offset_index, stand_in_page
from .pruning import attribute_mask, column_ranges
from .query import SampleQuery
from .rowfilter import covering_arrays, covering_usable

__all__ = ["BATCH_ROWS", "LARGE_ROW_GROUP_ROWS", "RangeStream", "StreamSegment", "candidate_positions", "is_large",
           "query_cells", "iter_candidates", "iter_rows", "read_candidates", "read_rows"]

#: Row groups with more rows than this are read in bounded pieces (smaller ones are read whole, as before:
#: one request per column chunk, no second round trip).
LARGE_ROW_GROUP_ROWS = 65_536
#: Rows decoded at a time (smaller batches keep pyarrow's working set, which its allocator holds on to, small:
#: 8,192 rather than 16,384 took 20 MiB off a count over 8 collections, at no measurable cost in time).
BATCH_ROWS = 8_192
#: Large row groups streamed at the same time in one process: the link is shared anyway, and each stream holds
#: its read-ahead window and a batch of every column.
MAX_STREAMS = 2
_STREAMS = threading.BoundedSemaphore(MAX_STREAMS)
#: ... and of those, counts (``count_samples``) one at a time: a count returns almost nothing, so its share of
#: the memory bound is the fixed part only (two counting streams at once measured +190 MiB over 8 collections
#: of 300,000 rows, one +110 MiB), and the link is shared anyway.
_COUNTING = threading.BoundedSemaphore(1)
#: Turns held per thread (a turn is re-entrant: the candidates' scan holds it while its rows are streamed).
_TURNS: dict[int, int] = {}
_TURNS_LOCK = threading.Lock()
#: pyarrow's read buffer per column chunk while streaming.
BUFFER_BYTES = 1024 * 1024
#: Size of one request of the read-ahead window, and how many may be held (fetched, not yet decoded).
BLOCK_BYTES = 2 * 1024 * 1024
AHEAD_BLOCKS = 6
#: Requests of one stream in flight at a time.
STREAM_PARALLEL = 3
#: Blocks of at most this size are fetched without waiting for the stagger or the window (see RangeStream).
SMALL_BLOCK_BYTES = 512 * 1024


@contextlib.contextmanager
def large_turn(scope: Any = None, *, counting: bool = False) -> Iterator[None]:
    """Hold one of the :data:`MAX_STREAMS` turns of this process to work on a large row group.

    The whole of a row group's work takes the turn (the small columns' scan, then the streamed rows), so
    that at most that many threads decode large row groups at a time: each decoding thread keeps its own
    allocator heap, and a query over many collections would otherwise hold one per collection. Re-entrant
    within a thread. ``scope`` (a :class:`~worldcereal_explorer.transport.http.CallScope`) is checked while
    waiting, so a cancelled or late call does not wait for a turn. ``counting``: also take the one turn of
    counts (:data:`_COUNTING`).
    """
    me = threading.get_ident()
    with _TURNS_LOCK:
        held = _TURNS.get(me, 0)
        _TURNS[me] = held + 1
    taken: list[threading.BoundedSemaphore] = []
    if not held:
        try:
            for semaphore in ((_COUNTING, _STREAMS) if counting else (_STREAMS,)):  # always in this order
                while not semaphore.acquire(timeout=0.2):
                    if scope is not None:
                        scope.check()
                taken.append(semaphore)
        except BaseException:
            for semaphore in taken:
                semaphore.release()
            with _TURNS_LOCK:
                _TURNS.pop(me, None)
            raise
    try:
        yield
    finally:
        with _TURNS_LOCK:
            if held:
                _TURNS[me] = held
            else:
                _TURNS.pop(me, None)
        for semaphore in reversed(taken):
            semaphore.release()
        if not held:
            pa.default_memory_pool().release_unused()  # what the decoding freed, back to the system


def is_large(metadata: pq.FileMetaData, i: int) -> bool:
    """Whether row group ``i`` is read in bounded pieces."""
    return metadata.row_group(i).num_rows > LARGE_ROW_GROUP_ROWS


def uses_h3(layout: FileLayout, query: SampleQuery) -> bool:
    """Whether rows are pruned by ``h3_l3_cell`` (the file has the column and no covering bbox to do it)."""
    return (query.spatial is not None and "h3_l3_cell" in layout.names and not covering_usable(layout)
            and query_cells(query) is not None)


class _CellTest:
    """Which ``h3_l3_cell`` values can match: in the query's cells, or not a valid level-3 cell at all (then
    nothing is known of where the sample lies, so it stays a candidate)."""

    def __init__(self, cells: frozenset[str]):
        self.cells = cells
        self._known: dict[str, bool] = {}

    def mask(self, column: pa.ChunkedArray | pa.Array) -> pa.Array:
        import h3

        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = column.cast(pa.string())
        for value in pc.unique(column).to_pylist():
            if value is None or value in self._known:
                continue
            valid = h3.is_valid_cell(value) and h3.get_resolution(value) == H3_RESOLUTION
            self._known[value] = (not valid) or value in self.cells
        keep = [value for value, ok in self._known.items() if ok]
        mask = pc.is_in(column, value_set=pa.array(keep, pa.string()))
        return pc.or_kleene(pc.fill_null(mask, False), pc.is_null(column))


@dataclass
class FileSource:
    """One file as the bounded readers see it: its random-access reader, footer and layout."""

    reader: Any
    metadata: pq.FileMetaData
    layout: FileLayout
    leaves: dict[str, list[int]]

    def parquet(self, file: Any = None) -> pq.ParquetFile:
        """A pyarrow reader over ``file`` (default: the range reader's cache) that streams column chunks."""
        from ..range_reader import RangeFile

        return pq.ParquetFile(file if file is not None else RangeFile(self.reader), metadata=self.metadata,
                              buffer_size=BUFFER_BYTES, pre_buffer=False)

    def prefetch_offset_indexes(self, i: int, leaves: Sequence[int]) -> None:
        """Fetch the OffsetIndexes of ``leaves`` in row group ``i`` together (a writer puts them side by side
        near the footer): read one by one, each cost a round trip before any page could be fetched."""
        locations = _index_locations(self.reader)
        if locations:
            wanted = [locations[(i, j)] for j in leaves if (i, j) in locations]
            self.reader.prefetch([(offset, offset + length) for offset, length in wanted], max_gap=64 * 1024)

    def offset_index(self, i: int, j: int) -> list[PageLocation] | None:
        """The page locations of leaf column ``j`` in row group ``i``, when the file has a page index."""
        locations = _index_locations(self.reader)
        where = locations.get((i, j)) if locations else None
        if where is None:
            return None
        try:
            return parse_offset_index(self.reader.read_at(where[0], where[1]))
        except ThriftError:
            return None


def _index_locations(reader: Any) -> dict[tuple[int, int], tuple[int, int]] | None:
    """Where the file's OffsetIndexes are (parsed from the footer bytes once per reader)."""
    if hasattr(reader, "_wce_index_locations"):
        return reader._wce_index_locations
    locations: dict[tuple[int, int], tuple[int, int]] | None = None
    size = getattr(reader, "size", None)
    if size and size >= 12:
        trailer = reader.read_at(size - 8, 8)
        if trailer[4:] == b"PAR1":
            length = int.from_bytes(trailer[:4], "little")
            if length + 12 <= size:
                try:
                    locations = column_index_locations(reader.read_at(size - 8 - length, length))
                except (ThriftError, IndexError):
                    locations = None
    with contextlib.suppress(AttributeError):
        reader._wce_index_locations = locations
    return locations


def _filter_columns(source: FileSource, query: SampleQuery, *, inside: bool) -> list[str]:
    layout = source.layout
    names = [c for c in query.filter_columns if c in layout.names]
    if query.spatial is not None and not inside:
        if covering_usable(layout) and layout.covering_column:
            names.append(layout.covering_column)
        elif uses_h3(layout, query):
            names.append("h3_l3_cell")
    return list(dict.fromkeys(names))


def candidate_positions(source: FileSource, i: int, query: SampleQuery, *,
                        inside: bool = False) -> tuple[np.ndarray, pa.Table | None]:
    """Positions (in row group ``i``) of the rows the small columns cannot rule out, and those columns' values
    for them (``None`` when no column was needed: every row is a candidate).

    The attribute filters, the covering bbox (rows whose bbox misses the area's box) and ``h3_l3_cell`` are
    applied; the exact spatial test is the caller's.
    """
    with large_turn(getattr(source.reader, "scope", None)):
        return _candidate_positions(source, i, query, inside=inside)


def _candidate_positions(source: FileSource, i: int, query: SampleQuery, *,
                         inside: bool) -> tuple[np.ndarray, pa.Table | None]:
    n = source.metadata.row_group(i).num_rows
    columns = _filter_columns(source, query, inside=inside)
    if not columns:
        return np.arange(n, dtype=np.int64), None
    source.reader.prefetch(column_ranges(source.metadata, source.leaves, [i], columns))
    cells = _CellTest(query_cells(query)) if "h3_l3_cell" in columns and query.spatial is not None else None  # type: ignore[arg-type]
    positions, parts = [], []
    offset = 0
    for batch in source.parquet().iter_batches(batch_size=BATCH_ROWS, row_groups=[i], columns=columns,
                                               use_threads=False):
        table = pa.Table.from_batches([batch])
        mask = attribute_mask(table, source.layout, query)
        if query.spatial is not None and not inside:
            cover = covering_arrays(table, source.layout)
            if cover is not None:
                west, south, east, north = query.spatial.bbox.as_tuple()
                xmin, ymin, xmax, ymax = cover
                with np.errstate(invalid="ignore"):
                    touches = (xmin <= east) & (xmax >= west) & (ymin <= north) & (ymax >= south)
                mask = pa.array(touches) if mask is None else pc.and_(mask, pa.array(touches))
            if cells is not None:
                h3_mask = cells.mask(table.column("h3_l3_cell"))
                mask = h3_mask if mask is None else pc.and_(mask, h3_mask)
        if mask is None:
            keep = np.arange(table.num_rows, dtype=np.int64)
        else:
            keep = np.flatnonzero(np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool))
        if len(keep):
            positions.append(keep + offset)
            parts.append(table.take(pa.array(keep)))
        offset += table.num_rows
    if offset != n:
        raise DownloadError(f"{source.reader.safe_url}: row group {i} holds {offset} rows, its footer says {n}")
    found = np.concatenate(positions) if positions else np.array([], dtype=np.int64)
    small = pa.concat_tables(parts) if parts else source.parquet().schema_arrow.empty_table().select(columns)
    return found, small


def iter_rows(source: FileSource, i: int, columns: Sequence[str], positions: np.ndarray) -> Iterator[pa.Table]:
    """The rows at ``positions`` (sorted) of ``columns`` in row group ``i``, streamed in bounded memory, in
    pieces of at most :data:`BATCH_ROWS` rows (nothing when ``positions`` is empty).

    Only the pages holding those rows are fetched when the file has a page index for every column read.
    """
    columns = list(dict.fromkeys(columns))
    if not len(positions):
        return
    if not columns:
        for lo in range(0, len(positions), BATCH_ROWS):
            yield pa.table({"_": pa.nulls(min(BATCH_ROWS, len(positions) - lo), pa.int8())}).drop_columns(["_"])
        return
    segments = _segments(source, i, columns, positions)
    with large_turn(getattr(source.reader, "scope", None)):
        stream = RangeStream(source.reader, segments)
        try:
            parquet = source.parquet(_StreamFile(stream, source.reader.size))
            offset = 0
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[i], columns=columns,
                                              use_threads=False):
                lo, hi = np.searchsorted(positions, [offset, offset + batch.num_rows])
                if hi > lo:
                    table = pa.Table.from_batches([batch])
                    yield table if hi - lo == batch.num_rows else table.take(pa.array(positions[lo:hi] - offset))
                offset += batch.num_rows
                del batch
        finally:
            stream.close()


def read_rows(source: FileSource, i: int, columns: Sequence[str], positions: np.ndarray) -> pa.Table:
    """:func:`iter_rows` as one table."""
    parts = list(iter_rows(source, i, columns, positions))
    if not parts:
        return source.parquet().schema_arrow.empty_table().select(list(dict.fromkeys(columns)))
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def iter_candidates(source: FileSource, i: int, query: SampleQuery, columns: Sequence[str], *,
                    inside: bool = False, counting: bool = False) -> Iterator[pa.Table]:
    """The rows of row group ``i`` that can match ``query`` (before the exact geometry test), with
    ``columns`` and the filter columns, in pieces of at most :data:`BATCH_ROWS` rows.

    One turn (:func:`large_turn`, a counting one with ``counting=True``) covers the scan and the streamed
    rows, until the last piece is taken."""
    with large_turn(getattr(source.reader, "scope", None), counting=counting):
        positions, small = candidate_positions(source, i, query, inside=inside)
        have = set(small.column_names) if small is not None else set()
        start = 0
        for rest in iter_rows(source, i, [c for c in columns if c not in have], positions):
            if small is None:
                yield rest
                continue
            piece = small.slice(start, rest.num_rows)
            start += rest.num_rows
            for name in rest.column_names:
                piece = piece.append_column(name, rest.column(name))
            yield piece


def read_candidates(source: FileSource, i: int, query: SampleQuery, columns: Sequence[str], *,
                    inside: bool = False) -> pa.Table:
    """:func:`iter_candidates` as one table."""
    parts = list(iter_candidates(source, i, query, columns, inside=inside))
    if parts:
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    names = list(dict.fromkeys([*_filter_columns(source, query, inside=inside), *columns]))
    return source.parquet().schema_arrow.empty_table().select(names)


# --- the byte stream --------------------------------------------------------------------------------------------

@dataclass
class StreamSegment:
    """Bytes ``[start, end)`` of the file that a :class:`RangeStream` serves: fetched (``stand_in is None``)
    or replaced by a stand-in page; ``chunk`` is the leaf column whose chunk holds them."""

    start: int
    end: int
    chunk: int
    stand_in: bytes | None = None


def _segments(source: FileSource, i: int, columns: Sequence[str], positions: np.ndarray) -> list[StreamSegment]:
    metadata, leaves = source.metadata, source.leaves
    rg = metadata.row_group(i)
    n = rg.num_rows
    segments: list[StreamSegment] = []
    source.prefetch_offset_indexes(i, [j for name in columns for j in leaves.get(name, ())])
    for name in columns:
        for j in leaves.get(name, ()):
            start, end = _leaf_range(rg.column(j))
            pages = source.offset_index(i, j)
            if not pages or pages[0].offset < start or pages[-1].offset + pages[-1].size > end:
                segments.append(StreamSegment(start, end, j))
                continue
            chunk = rg.column(j)
            column = metadata.schema.column(j)
            if pages[0].offset > start:  # the dictionary page
                segments.append(StreamSegment(start, pages[0].offset, j))
            firsts = [p.first_row for p in pages] + [n]
            for k, page in enumerate(pages):
                lo, hi = np.searchsorted(positions, [firsts[k], firsts[k + 1]])
                stand_in = None if hi > lo else stand_in_page(
                    page.size, firsts[k + 1] - firsts[k], compression=chunk.compression,
                    physical_type=chunk.physical_type, max_definition_level=column.max_definition_level,
                    max_repetition_level=column.max_repetition_level)
                segments.append(StreamSegment(page.offset, page.offset + page.size, j, stand_in))
            if pages[-1].offset + pages[-1].size < end:
                segments.append(StreamSegment(pages[-1].offset + pages[-1].size, end, j))
    return segments


def _leaf_range(chunk: Any) -> tuple[int, int]:
    offsets = [o for o in (chunk.dictionary_page_offset, chunk.data_page_offset) if o]
    start = min(offsets) if offsets else chunk.file_offset
    return start, start + chunk.total_compressed_size


@dataclass
class _Block:
    start: int
    end: int
    chunk: int
    data: bytes | None = None
    state: str = "waiting"  # waiting, fetching, ready, consumed
    counted: bool = False  # fetched ahead: its bytes count in the window until read


class RangeStream:
    """Read-ahead over planned byte ranges of a remote file, in bounded memory.

    The ranges to fetch are cut into blocks of :data:`BLOCK_BYTES`, ordered by how far into its column chunk
    each lies (pyarrow reads the columns of a row group side by side, each from start to end). Up to
    :data:`STREAM_PARALLEL` requests run ahead of the reads, never more than :data:`AHEAD_BLOCKS` blocks past
    the oldest block not yet read; a block read past is dropped. Stand-in segments (:mod:`.pages`) are
    served from memory. A block wanted before its turn is fetched at once by the reading thread.

    Large requests start at least a request's duration / :data:`STREAM_PARALLEL` apart, so that one is
    always transferring while another waits out its latency; small blocks (at most
    :data:`SMALL_BLOCK_BYTES`, pages of small columns) go at once, even past large ones the window holds back.
    """

    def __init__(self, reader: Any, segments: list[StreamSegment], *, block: int = BLOCK_BYTES,
                 ahead: int = AHEAD_BLOCKS, parallel: int = STREAM_PARALLEL):
        self.reader = reader
        self.segments = sorted(segments, key=lambda s: s.start)
        self._starts = [s.start for s in self.segments]
        chunk_span: dict[int, tuple[int, int]] = {}
        for s in self.segments:
            lo, hi = chunk_span.get(s.chunk, (s.start, s.end))
            chunk_span[s.chunk] = (min(lo, s.start), max(hi, s.end))
        blocks = []
        for s in self.segments:
            if s.stand_in is not None:
                continue
            for start in range(s.start, s.end, block):
                blocks.append(_Block(start, min(start + block, s.end), s.chunk))
        merged: list[_Block] = []
        for b in sorted(blocks, key=lambda b: b.start):  # neighbouring pages wanted: one request
            last = merged[-1] if merged else None
            if last is not None and last.chunk == b.chunk and last.end == b.start and b.end - last.start <= block:
                last.end = b.end
            else:
                merged.append(b)

        def progress(b: _Block) -> float:
            lo, hi = chunk_span[b.chunk]
            return (b.start - lo) / max(hi - lo, 1)

        self.blocks = sorted(merged, key=progress)
        self._by_start = sorted(range(len(self.blocks)), key=lambda k: self.blocks[k].start)
        self._block_starts = [self.blocks[k].start for k in self._by_start]
        # The window counts bytes fetched (or in flight) and not read yet, not block positions: a small
        # column's one block is read bit by bit until the row group's end and must not hold the others back.
        self._window = max(1, ahead) * block
        self._held = 0
        self._next = 0
        # Starts spread over a request's duration (see _work): measured, as a moving average, from the fetches.
        self._parallel = max(1, min(parallel, len(self.blocks)))
        self._fetch_s = 0.0
        self._last_start = 0.0
        self._error: BaseException | None = None
        self._closed = False
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._work, name="wce-samples-stream", daemon=True)
                         for _ in range(min(parallel, len(self.blocks)))]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed or self._error is not None:
                        return
                    while self._next < len(self.blocks) and self.blocks[self._next].state != "waiting":
                        self._next += 1
                    if self._next >= len(self.blocks):
                        return
                    block, wait_s = self._claim()
                    if block is not None:
                        break
                    self._cond.wait(wait_s)
                block.state, block.counted = "fetching", True
                self._held += block.end - block.start  # counted from the start: in flight is held too
                large = block.end - block.start > SMALL_BLOCK_BYTES
                if large:
                    self._last_start = time.monotonic()
            self._fetch(block, timed=large)

    def _claim(self) -> tuple[_Block | None, float]:
        """The block to fetch now (the next in order, else a small one further on), or ``None`` and how long
        to wait before looking again. Called with the condition held."""
        # Requests that start together share the link, end together and then all wait out their latency at
        # once, the link idle: 3 requests of 2 MiB at 50 ms and 50 MB/s moved 39 MB/s. Starts at least a
        # request's duration / parallel apart keep one transferring while another waits for its first byte.
        stagger = self._last_start + self._fetch_s / self._parallel - time.monotonic()
        block = self.blocks[self._next]
        small = block.end - block.start <= SMALL_BLOCK_BYTES
        if self._held < self._window and (small or stagger <= 0):
            self._next += 1
            return block, 0.0
        # The next large block must wait, but a small one further on (a page of a small column) may go,
        # into a window twice as large: left behind large ones, pyarrow asked for each of them in turn, a
        # round trip apiece (31 of them, 1.7 s, in a paged box query).
        if self._held < 2 * self._window:
            for later in self.blocks[self._next:]:
                if later.state == "waiting" and later.end - later.start <= SMALL_BLOCK_BYTES:
                    return later, 0.0
        return None, 0.5 if stagger <= 0 else min(stagger, 0.5)

    def _fetch(self, block: _Block, *, timed: bool = True) -> None:
        started = time.monotonic()
        try:
            data = self.reader.fetch_range(block.start, block.end)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            with self._cond:
                self._error = self._error or exc
                self._cond.notify_all()
            return
        with self._cond:
            if timed:  # the stagger is a large request's duration (a small one's is mostly latency)
                took = time.monotonic() - started
                self._fetch_s = took if not self._fetch_s else 0.7 * self._fetch_s + 0.3 * took
            if block.state == "fetching":
                block.data, block.state = data, "ready"
            self._cond.notify_all()

    def _block_at(self, offset: int) -> _Block | None:
        import bisect

        k = bisect.bisect_right(self._block_starts, offset) - 1
        if k < 0:
            return None
        block = self.blocks[self._by_start[k]]
        return block if block.start <= offset < block.end else None

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset`` (within the planned segments)."""
        import bisect

        out = bytearray()
        position, end = offset, offset + length
        while position < end:
            k = bisect.bisect_right(self._starts, position) - 1
            segment = self.segments[k] if k >= 0 else None
            if segment is None or position >= segment.end:
                # Outside the plan (pyarrow peeking past a chunk's end): ask the reader directly.
                nxt = self._starts[k + 1] if k + 1 < len(self._starts) else end
                take = min(end, nxt) - position
                out += self.reader.read_at(position, take)
                position += take
                continue
            stop = min(end, segment.end)
            if segment.stand_in is not None:
                head = segment.stand_in
                lo, hi = position - segment.start, stop - segment.start
                out += head[lo:hi] if hi <= len(head) else head[lo:] + bytes(hi - max(lo, len(head)))
                position = stop
                continue
            block = self._block_at(position)
            assert block is not None
            data = self._wait(block)
            take = min(stop, block.end)
            out += data[position - block.start:take - block.start]
            position = take
            if take == block.end:
                self._consumed(block)
        return bytes(out)

    def _wait(self, block: _Block) -> bytes:
        with self._cond:
            while True:
                if self._error is not None:
                    raise self._error
                if block.state in ("ready",) and block.data is not None:
                    return block.data
                if block.state == "consumed":
                    break  # read again (pyarrow went back): fetch it once more below
                if block.state == "waiting":
                    block.state = "fetching"
                    break  # wanted before its turn: fetch it now, on this thread
                self._cond.wait(0.5)
        data = self.reader.fetch_range(block.start, block.end)
        with self._cond:
            if block.state != "consumed":
                block.data, block.state = data, "ready"
            self._cond.notify_all()
        return data

    def _consumed(self, block: _Block) -> None:
        with self._cond:
            if block.state != "consumed" and block.counted:
                self._held -= block.end - block.start
            block.data, block.state, block.counted = None, "consumed", False
            self._cond.notify_all()

    def close(self) -> None:
        """Stop the read-ahead and drop what it holds."""
        with self._cond:
            self._closed = True
            for block in self.blocks:
                block.data = None
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(30)


class _StreamFile(PositionalFile):
    """A seekable file object over a :class:`RangeStream`, for pyarrow."""

    def __init__(self, stream: RangeStream, size: int | None):
        super().__init__()
        self.stream = stream
        self._size = size or 0

    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self._size - offset))
        return self.stream.read(offset, length) if length else b""
