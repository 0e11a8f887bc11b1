"""Stream a query's samples to a file in bounded memory, resumably (``client.download_samples``).

How an export runs
------------------
1. The collections are found (or taken from ``ref_ids``) and each file's footer and filter columns are read,
   as for ``get_samples``; the row groups that can match are the export's *units*.
2. Each unit is read on its own (a fresh range reader per row group, so nothing accumulates), filtered
   exactly like ``get_samples`` filters, and written as one small Arrow IPC *part* (lz4) into a hidden
   folder beside the destination, ``.<name>.<query key>.parts/``. A journal there (``journal.json``, rewritten atomically
   after each unit) lists the finished units, with their row counts, geometry types and bbox, and the
   size/rows/row groups of every source file. Memory: each worker thread holds one row group at a time
   (``ExportResult.peak_buffered_rows`` is the largest number of rows one unit held).
3. When every unit is done, the parts are assembled, one at a time, into a temp file beside the destination
   (:func:`~worldcereal_explorer.files.atomic_path`) that is renamed into place when complete; then the parts
   folder is removed. GeoParquet output is GeoParquet 1.1 with a ``bbox`` covering column and the ``geo``
   metadata (bbox, geometry types, CRS); rows come in the order ``get_samples`` returns them.

What resume means
-----------------
The *query key* is a hash of the query (filters, columns, clip, subset), the collection ids and the RDM
endpoint. Running the same export to the same path again after an interruption that left the parts
folder (the process was killed, the machine stopped, a network or server error ended it) continues: units
in the journal are not fetched again, provided their source file still has the size, row count and row
group count recorded (a changed file's units are redone). The format may differ between the runs (parts
are format-neutral). What is not resumed: a *cancelled* export (``cancel_event``) removes its parts, as
does ``resume=False``; an export of a different query to the same path discards the earlier parts.
A unit interrupted midway is simply redone (a part appears only complete, by rename, before the journal
names it).

Dask
----
With ``engine="dask"`` the workers read and filter the units (one task per row group, a bounded number in
flight) and return Arrow tables; this machine writes the parts, the journal and the final file, so workers
need no shared file system.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from ...errors import BadParameterError, QueryCancelledError
from ...files import make_parents
from ...transport.http import CallScope, HttpTransport, redact
from ..range_reader import HttpRangeReader, RangeFile
from .bounded import FileSource, is_large, iter_candidates, read_candidates
from .cache import LocalFileReader, open_reader
from .collection import CollectionPlan, plan_collection
from .convert import canonical_table, decode_geometry, to_lonlat
from .file_urls import FileUrls
from .layout import FileLayout
from .pruning import attribute_mask, column_ranges
from .query import SampleQuery
from .rowfilter import covering_arrays, covering_usable, spatial_keep, thread_shape
from .stream_parts import (
    BBOX_COLUMN,
    Journal,
    PartWriter,
    assemble,
    parts_folder,
    query_key,
    unit_name,
    write_part,
)

__all__ = ["ExportProgress", "ExportResult", "STREAM_FORMATS", "export_query", "parts_folder", "query_key",
           "unit_table"]

#: Formats :func:`export_query` streams to.
STREAM_FORMATS = ("parquet", "gpkg", "csv")
_GEOMETRY_TYPES = {1: "Point", 2: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
                   6: "MultiPolygon", 7: "GeometryCollection"}


@dataclass(frozen=True)
class ExportProgress:
    """What :func:`export_query` reports to a ``progress`` callback (from the calling thread)."""

    units_done: int
    units_total: int
    rows_written: int
    bytes_read: int
    phase: str = "reading"  # "reading", "assembling" or "done"
    units_resumed: int = 0
    done: bool = False


@dataclass
class ExportResult:
    """The outcome of :func:`export_query`."""

    path: Path
    format: str
    rows: int = 0
    units_total: int = 0
    units_resumed: int = 0
    bytes_read: int = 0
    peak_buffered_rows: int = 0
    skipped: dict[str, str] = field(default_factory=dict)


def _geometry_types(wkb: pa.ChunkedArray | pa.Array) -> list[str]:
    """GeoParquet geometry type names of WKB values, from their headers (no geometry is decoded)."""
    if len(wkb) == 0:
        return []
    heads = pc.unique(pc.binary_slice(wkb, 0, 5))
    names = set()
    for head in heads.to_pylist():
        if not head or len(head) < 5:
            continue
        code = int.from_bytes(head[1:5], "little" if head[0] == 1 else "big")
        base, flags = code & 0xFFFF, code
        z = (base // 1000 in (1, 3)) or bool(flags & 0x80000000)
        name = _GEOMETRY_TYPES.get(base % 1000)
        if name is None:
            return []  # unknown: say nothing rather than something wrong
        names.add(name + (" Z" if z else ""))
    return sorted(names)


def unit_table(table: pa.Table, plan_layout: FileLayout, names: list[str], query: SampleQuery, ref_id: str,
               *, inside: bool) -> tuple[pa.Table, dict[str, Any]]:
    """Filter one row group's rows exactly like ``get_samples`` and shape them for the output file.

    Returns the output table (the query's columns with canonical types, ``geometry`` as WKB, and a ``bbox``
    covering struct column) and the unit's journal entry (rows, geometry types, bbox).
    """
    mask = attribute_mask(table, plan_layout, query)
    if mask is not None:
        table = table.filter(mask)

    def load(rows: np.ndarray) -> np.ndarray:
        return to_lonlat(decode_geometry(table.take(pa.array(rows, pa.int64())), plan_layout), plan_layout)

    keep, _ = spatial_keep(table, plan_layout, query, inside=inside, load_geometry=load)
    if not keep.all():
        table = table.filter(pa.array(keep))
    passthrough = (plan_layout.geometry_kind == "wkb" and plan_layout.crs_is_4326 and not query.clip
                   and plan_layout.geometry_column in table.column_names)
    cover = covering_arrays(table, plan_layout) if not query.clip else None
    if passthrough:
        wkb = table.column(plan_layout.geometry_column)
        if pa.types.is_dictionary(wkb.type):
            wkb = wkb.cast(wkb.type.value_type)
        wkb = wkb.cast(pa.binary())
        geometry = None
    else:
        geometry = to_lonlat(decode_geometry(table, plan_layout), plan_layout)
        if query.clip and query.spatial is not None and len(geometry):
            geometry = shapely.intersection(geometry, thread_shape(query.spatial))
        wkb = pa.chunked_array([pa.array(shapely.to_wkb(geometry), pa.binary())]) if len(geometry) else \
            pa.chunked_array([pa.array([], pa.binary())])
    if cover is None:
        if geometry is None:
            geometry = shapely.from_wkb(wkb.to_numpy(zero_copy_only=False))
        bounds = shapely.bounds(geometry) if len(geometry) else np.zeros((0, 4))
        cover = tuple(bounds[:, k] for k in range(4))
    bbox = pa.StructArray.from_arrays([pa.array(np.asarray(c, dtype=np.float64)) for c in cover],
                                      names=["xmin", "ymin", "xmax", "ymax"])
    attrs = canonical_table(table, query.columns, names, ref_id)
    arrays, fields = [], []
    for name in query.columns:
        column = wkb if name == "geometry" else attrs.column(name)
        arrays.append(column)
        fields.append(pa.field(name, column.type))
    arrays.append(pa.chunked_array([bbox]))
    fields.append(pa.field(BBOX_COLUMN, bbox.type))
    out = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    entry: dict[str, Any] = {"rows": out.num_rows, "types": _geometry_types(wkb)}
    if out.num_rows:
        with np.errstate(invalid="ignore"):
            entry["bbox"] = [float(np.nanmin(cover[0])), float(np.nanmin(cover[1])),
                             float(np.nanmax(cover[2])), float(np.nanmax(cover[3]))]
    return out, entry


def unit_reader(transport: HttpTransport, url: str, opened: Any, *, scope: CallScope,
                on_bytes: Callable[[int], None] | None, slots: Any) -> Any:
    """The reader of one unit: a fresh range reader of ``url`` (its cache goes away with it) sized like
    ``opened`` (the footer is known: no tail request), or ``opened`` itself when that is a cached copy on
    disk (it keeps nothing in memory)."""
    if isinstance(opened, LocalFileReader):
        opened.scope, opened.on_bytes = scope, on_bytes
        return opened
    reader = HttpRangeReader(transport, url, scope=scope, on_bytes=on_bytes, request_slots=slots)
    reader.size = opened.size
    return reader


def _read_unit(reader: Any, metadata: Any, layout: FileLayout, leaves: dict[str, list[int]], columns: list[str],
               row_group: int, *, query: SampleQuery | None = None, inside: bool = False) -> pa.Table:
    """One row group's ``columns`` through ``reader`` (:func:`unit_reader`).

    A large row group (:func:`~.bounded.is_large`) gives only the rows its small columns cannot rule out for
    ``query``, read in bounded pieces.
    """
    if query is not None and is_large(metadata, row_group):
        return read_candidates(FileSource(reader, metadata, layout, leaves), row_group, query, columns,
                               inside=inside)
    reader.prefetch(column_ranges(metadata, leaves, [row_group], columns))
    parquet = pq.ParquetFile(RangeFile(reader), metadata=metadata, pre_buffer=False)
    return parquet.read_row_group(row_group, columns=columns)


def _large_unit(transport: HttpTransport, url: str, plan: CollectionPlan, i: int, columns: list[str],
                query: SampleQuery, ref_id: str, *, scope: CallScope, on_bytes: Any, slots: Any, index: int,
                folder: Path, record: Callable[..., None]) -> None:
    """A large row group as one part written piece by piece: at most :data:`~.bounded.BATCH_ROWS` rows held."""
    reader = unit_reader(transport, url, plan.reader, scope=scope, on_bytes=on_bytes, slots=slots)
    source = FileSource(reader, plan.metadata, plan.layout, plan.leaves)
    name = f"{index:05d}-{i:07d}.arrow"
    writer = PartWriter(folder / (name + ".tmp"))
    entry: dict[str, Any] = {"rows": 0, "types": []}
    held = 0
    try:
        for piece in iter_candidates(source, i, query, columns, inside=i in plan.inside):
            scope.check()
            held = max(held, piece.num_rows)
            out, part = unit_table(piece, plan.layout, plan.names, query, ref_id, inside=i in plan.inside)
            writer.write(out)
            entry["rows"] += part["rows"]
            entry["types"] = sorted(set(entry["types"]) | set(part["types"]))
            if "bbox" in part:
                old = entry.get("bbox", part["bbox"])
                entry["bbox"] = [min(old[0], part["bbox"][0]), min(old[1], part["bbox"][1]),
                                 max(old[2], part["bbox"][2]), max(old[3], part["bbox"][3])]
    finally:
        written = writer.close()
    if written:
        os.replace(folder / (name + ".tmp"), folder / name)
        entry["file"] = name
    entry.update(ref_id=ref_id, index=index, row_group=i)
    record(unit_name(ref_id, i), entry, None, held)


def _unit_columns(plan: CollectionPlan, i: int, query: SampleQuery) -> list[str]:
    columns = plan.read_columns(i, query)
    if covering_usable(plan.layout) and plan.layout.covering_column and not query.clip:
        columns.append(plan.layout.covering_column)  # passed on as the output's covering
    return list(dict.fromkeys(columns))


def export_query(client: Any, path: str | os.PathLike[str], query: SampleQuery, *, ref_ids: Any = None,
                 include_public: bool = True, include_private: bool = False, format: str | None = None,
                 resume: bool = True, engine: str = "pandas", dask_client: Any = None, progress: Any = None,
                 cancel_event: Any = None, on_error: str = "raise", sample_cache: Any = None) -> ExportResult:
    """Stream the samples matching ``query`` to ``path`` (see the module docstring for the rules).

    ``sample_cache``: as for :func:`~.reader.read_samples` (the units are then read from the cached copies).

    Raises
    ------
    BadParameterError
        For a format other than GeoParquet, GeoPackage or CSV, or other invalid options.
    QueryCancelledError
        When ``cancel_event`` is set; the parts are removed and no file appears.
    DownloadError, RdmError
        When a collection cannot be read (``on_error="raise"``); the parts stay for a resume.
    """
    from ..export import format_from_path
    from .reader import ENGINES, ON_ERROR, resolve_cache, resolve_ids

    fmt = format_from_path(path, format)
    if fmt not in STREAM_FORMATS:
        raise BadParameterError(f"download_samples cannot stream to {fmt!r}; use one of {list(STREAM_FORMATS)} "
                                "(or get_samples(...) and export_samples(...) for GeoJSON)")
    if engine not in ENGINES:
        raise BadParameterError(f"engine={engine!r} is not allowed; use one of {list(ENGINES)}")
    if on_error not in ON_ERROR:
        raise BadParameterError(f"on_error={on_error!r} is not allowed; use one of {list(ON_ERROR)}")
    final = Path(path)
    urls = FileUrls(client, query.subset, cancel_event)
    try:
        ids = resolve_ids(client, query, ref_ids, include_public=include_public, include_private=include_private,
                          cancel_event=cancel_event, urls=None if engine == "dask" else urls)
        return _stream(client, query, ids, final, fmt, urls, engine=engine, on_error=on_error, progress=progress,
                       cancel_event=cancel_event, dask_client=dask_client, resume=resume,
                       cache=resolve_cache(client, sample_cache))
    finally:
        urls.close()


def _stream(client: Any, query: SampleQuery, ids: list[str], final: Path, fmt: str, urls: FileUrls, *, engine: str,
            on_error: str, progress: Any, cancel_event: Any, dask_client: Any, resume: bool,
            cache: Any = None) -> ExportResult:
    """:func:`export_query` once the collections are known."""
    from .pool import map_collections, request_slots
    from .reader import FILTER_FIRST_MAX_SHARE, SMALL_READ_BYTES

    key = query_key(query, ids, str(getattr(client, "endpoint", "")))
    folder = parts_folder(final, key)
    created = make_parents(final)
    for stale in final.parent.glob(f".{final.name[:100]}.*.parts"):
        if stale != folder or not resume:
            shutil.rmtree(stale, ignore_errors=True)
    folder.mkdir(exist_ok=True)
    journal = Journal(folder, key, resume)
    transport: HttpTransport = client.transport
    scope = transport.scope("exporting samples", cancel_event=cancel_event, download=True)
    result = ExportResult(final, fmt, units_resumed=0)
    peak = [0]
    totals = {"units": 0, "done": 0, "rows": 0}
    lock = threading.Lock()
    empty_schemas: list[pa.Schema] = []
    callback = progress if callable(progress) else None

    def record(unit: str, entry: dict[str, Any], table: pa.Table | None, rows_held: int) -> None:
        if table is not None and table.num_rows:
            name = f"{entry['index']:05d}-{entry['row_group']:07d}.arrow"
            tmp = folder / (name + ".tmp")
            write_part(table, tmp)
            os.replace(tmp, folder / name)
            entry["file"] = name
        journal.add(unit, entry)
        with lock:
            peak[0] = max(peak[0], rows_held)
            totals["done"] += 1
            totals["rows"] += entry["rows"]

    index_of = {ref_id: n for n, ref_id in enumerate(ids)}
    slots = request_slots(client, transport)

    def plan_one(ref_id: str, collection_scope: CallScope, counter: Any) -> tuple[CollectionPlan, str, list[int]]:
        url = urls.get(ref_id, collection_scope)
        reader = open_reader(transport, url, scope=collection_scope, on_bytes=counter, request_slots=slots,
                             cache=cache)
        # each unit is read again through its own reader: filter first only where that saves bytes
        plan = plan_collection(reader, query, ref_id=ref_id, max_filter_share=FILTER_FIRST_MAX_SHARE,
                               small_read_bytes=SMALL_READ_BYTES)
        metadata = plan.metadata
        journal.check_file(ref_id, {"size": int(reader.size or 0), "rows": int(metadata.num_rows),
                                    "row_groups": int(metadata.num_row_groups)})
        empty = plan.parquet.schema_arrow.empty_table()
        out, _ = unit_table(empty, plan.layout, plan.names, query, ref_id, inside=True)
        with lock:
            if not empty_schemas:
                empty_schemas.append(out.schema)
            totals["units"] += len(plan.candidates)
        todo = [i for i in plan.candidates if not journal.done(unit_name(ref_id, i))]
        return plan, url, todo

    try:
        if engine == "dask":
            nbytes, skipped = _export_dask(client, ids, query, scope=scope, on_error=on_error, progress=progress,
                                           dask_client=dask_client, plan_one=plan_one, record=record,
                                           index_of=index_of, totals=totals, cache=cache)
        else:
            def work(ref_id: str, collection_scope: CallScope, counter: Any) -> str:
                plan, url, todo = plan_one(ref_id, collection_scope, counter)
                for i in todo:
                    collection_scope.check()
                    columns = _unit_columns(plan, i, query)
                    if is_large(plan.metadata, i):
                        _large_unit(transport, url, plan, i, columns, query, ref_id, scope=collection_scope,
                                    on_bytes=counter, slots=slots, index=index_of[ref_id], folder=folder,
                                    record=record)
                        continue
                    reader = unit_reader(transport, url, plan.reader, scope=collection_scope, on_bytes=counter,
                                         slots=slots)
                    table = _read_unit(reader, plan.metadata, plan.layout, plan.leaves, columns, i, query=query,
                                       inside=i in plan.inside)
                    held = table.num_rows
                    out, entry = unit_table(table, plan.layout, plan.names, query, ref_id, inside=i in plan.inside)
                    del table
                    entry.update(ref_id=ref_id, index=index_of[ref_id], row_group=i)
                    record(unit_name(ref_id, i), entry, out, held)
                return ref_id

            _, skipped, nbytes = map_collections(client, transport, ids, work, scope=scope,
                                                 progress=_collections_progress(progress, totals, callback, journal),
                                                 on_error=on_error)
        result.bytes_read = nbytes
        result.skipped = skipped
        result.units_total = totals["units"]
        result.units_resumed = len(journal.resumed)
        if callback is not None:
            callback(ExportProgress(totals["done"], totals["units"], totals["rows"], nbytes, "assembling",
                                    result.units_resumed))
        schema = empty_schemas[0] if empty_schemas else None
        result.rows, assembled_peak = assemble(final, fmt, folder, journal, ids, skipped, schema, query, scope)
        result.peak_buffered_rows = max(peak[0], assembled_peak)
    except QueryCancelledError:
        shutil.rmtree(folder, ignore_errors=True)
        for parent in reversed(created):
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise
    shutil.rmtree(folder, ignore_errors=True)
    if callback is not None:
        callback(ExportProgress(totals["done"], totals["units"], result.rows, result.bytes_read, "done",
                                result.units_resumed, done=True))
    return result


def _collections_progress(progress: Any, totals: dict[str, int], callback: Any, journal: Journal) -> Any:
    """``map_collections``' progress argument: tqdm choices pass through; a callback gets ExportProgress."""
    if callback is None:
        return progress

    def report(event: Any) -> None:
        callback(ExportProgress(totals["done"], totals["units"], totals["rows"], event.bytes_read, "reading",
                                len(journal.resumed)))

    return report


# --- Dask: workers read and filter units, this machine writes -------------------------------------------------

#: Per file URL: the reader that read its footer (for the size), Parquet metadata, layout and leaf index, read
#: once per worker process (not for cached copies: their footer is on disk, and is checked on every use).
_FOOTERS: dict[str, tuple[Any, Any, FileLayout, dict[str, list[int]]]] = {}
_FOOTERS_LOCK = threading.Lock()


def export_unit(spec: Any, query: SampleQuery, row_group: int, inside: bool) -> tuple[pa.Table, dict[str, Any], int]:
    """Read and filter one row group on a Dask worker: ``(output table, journal entry, rows held)``."""
    from .collection import requested_names
    from .dask_engine import partition_reader, worker_error, worker_transport
    from .layout import open_parquet
    from .pruning import leaf_index

    try:
        transport = worker_transport(spec)
        scope = transport.scope(f"exporting a row group of collection {spec.ref_id}", download=True)
        with _FOOTERS_LOCK:
            footer = _FOOTERS.get(spec.url) if spec.cache is None else None
        if spec.cache is not None:  # the cached copy (checked against the server): its footer is on disk
            reader = partition_reader(spec, scope)
            _, metadata, layout = open_parquet(reader, spec.ref_id)
            footer = (reader, metadata, layout, leaf_index(metadata))
        elif footer is None:
            reader = HttpRangeReader(transport, spec.url, scope=scope)
            _, metadata, layout = open_parquet(reader, spec.ref_id)
            assert reader.size is not None  # open_parquet has read the footer, so the size is known
            footer = (reader, metadata, layout, leaf_index(metadata))
            with _FOOTERS_LOCK:
                _FOOTERS[spec.url] = footer
                while len(_FOOTERS) > 32:
                    _FOOTERS.pop(next(iter(_FOOTERS)))
        opened, metadata, layout, leaves = footer
        names = requested_names(layout, query, spec.ref_id)
        plan = CollectionPlan(spec.ref_id, None, None, metadata, layout, names, leaves, [row_group],
                              frozenset({row_group}) if inside else frozenset(), 0, metadata.num_row_groups)
        columns = _unit_columns(plan, row_group, query)
        reader = unit_reader(transport, spec.url, opened, scope=scope, on_bytes=None, slots=None)
        table = _read_unit(reader, metadata, layout, leaves, columns, row_group, query=query, inside=inside)
        held = table.num_rows
        out, entry = unit_table(table, layout, names, query, spec.ref_id, inside=inside)
        return out, entry, held
    except Exception as exc:  # noqa: BLE001 - anything else becomes ours, message redacted
        error = worker_error(spec.ref_id, exc)
    raise error


def _export_dask(client: Any, ids: list[str], query: SampleQuery, *, scope: CallScope, on_error: str, progress: Any,
                 dask_client: Any, plan_one: Any, record: Any, index_of: dict[str, int],
                 totals: dict[str, int], cache: Any = None) -> tuple[int, dict[str, str]]:
    """Plan here (footers, filter columns, journal), export the units on the cluster, write parts here."""
    import time

    from .dask_engine import PartitionSpec, connect
    from .pool import map_collections

    distributed = connect(dask_client)
    if distributed is None:
        raise BadParameterError("download_samples(engine='dask') needs dask_client= (a Client or a scheduler address)")
    transport: HttpTransport = client.transport

    def plan(ref_id: str, collection_scope: CallScope, counter: Any) -> list[tuple[PartitionSpec, int, bool]]:
        collection_plan, url, todo = plan_one(ref_id, collection_scope, counter)
        token = transport.token_for(url)
        from urllib.parse import urlsplit

        from ...transport.http import Secret

        hosts = frozenset({urlsplit(url).netloc}) if token else frozenset()
        return [(PartitionSpec(url, ref_id, (i,), transport.policy, Secret(token), hosts,
                               cache.spec() if cache is not None else None), i,
                 i in collection_plan.inside) for i in todo]

    planned, skipped, nbytes = map_collections(client, transport, ids, plan, scope=scope, progress=False,
                                               on_error=on_error)
    jobs = [job for jobs in planned for job in jobs]
    in_flight_max = max(2, 2 * len(distributed.scheduler_info().get("workers", {}) or [0, 0]))
    pending: dict[Any, tuple[PartitionSpec, int]] = {}
    queue = list(jobs)
    try:
        while queue or pending:
            scope.check()
            while queue and len(pending) < in_flight_max:
                spec, i, inside = queue.pop(0)
                future = distributed.submit(export_unit, spec, query, i, inside, pure=False)
                pending[future] = (spec, i)
            finished = [f for f in pending if f.done()]
            if not finished:
                time.sleep(0.02)
                continue
            for future in finished:
                spec, i = pending.pop(future)
                if future.status == "error":
                    error = future.exception()
                    if on_error == "raise" or isinstance(error, QueryCancelledError):
                        raise error
                    skipped[spec.ref_id] = redact(error)
                    continue
                out, entry, held = future.result()
                entry.update(ref_id=spec.ref_id, index=index_of[spec.ref_id], row_group=i)
                record(unit_name(spec.ref_id, i), entry, out, held)
                if callable(progress):
                    progress(ExportProgress(totals["done"], totals["units"], totals["rows"], nbytes, "reading"))
    finally:
        if pending:
            distributed.cancel(list(pending))
    return nbytes, skipped
