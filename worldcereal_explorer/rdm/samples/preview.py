"""Count the samples a query would return, by group, before fetching them (``client.count_samples``).

Only the few columns the counts need are read, from the row groups the footer statistics cannot rule out:
the grouping columns, the filter columns, and for a spatial filter the GeoParquet covering bbox (only for
row groups the footer does not prove to lie inside the extent). Geometries are read only where the
covering bbox cannot decide (a non-point geometry whose bbox straddles the extent's edge; a file without a
covering column; a file in another CRS) and only for the row groups holding such rows; within them only
the straddling rows are decoded. ``h3_cell`` comes from the ``h3_l3_cell`` column (resolution <= 3) or
from coordinates: point coordinates from the covering column, polygon centroids from the geometry.

The counts are exact: equal to ``get_samples(<same filters>).groupby(by, dropna=False).size()`` (``clip``
changes geometries, not which samples match, so it does not change counts). One documented exception:
an *empty* (not null) geometry in a row group whose footer statistics lie inside the extent is counted,
while ``get_samples`` drops it; RDM files have no empty geometries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from ...errors import BadParameterError
from .bounded import FileSource, is_large, iter_candidates
from .collection import plan_collection, requested_names
from .convert import as_int64, as_string, as_timestamp, decode_geometry, to_lonlat
from .file_urls import FileUrls
from .layout import FileLayout
from .pruning import attribute_mask, column_ranges
from .query import INTEGER_COLUMNS, OPTIONAL_STANDARD_COLUMNS, STRING_COLUMNS, SampleQuery
from .rowfilter import covering_arrays, covering_usable, spatial_keep

__all__ = ["CollectionCount", "FetchEstimate", "H3_COLUMN", "count_collection", "count_partition", "count_samples",
           "counts_frame", "h3_cells", "normalize_by"]

#: Name of the H3 cell column the counts get when ``h3_resolution`` is given.
H3_COLUMN = "h3_cell"
_COUNT = "count"


@dataclass(frozen=True)
class FetchEstimate:
    """The price of turning a ``count_samples`` preview into a ``get_samples`` fetch, known before any
    sample is fetched; ``counts.attrs["estimate"]`` holds it, and estimates of collections add up (``+``).
    """

    samples: int = 0
    """Exact: the rows the fetch returns."""
    bytes: int = 0
    """The compressed column chunks the fetch would read, from the footers' sizes (footers left out)."""
    memory_bytes: int = 0
    """The size of the pandas GeoDataFrame those chunks make."""
    collections: int = 0
    """Collections with a matching sample."""
    row_groups: int = 0
    """Row groups with a matching sample: where the fetch reads."""
    bytes_read: int = 0
    """What the preview itself transferred."""

    def __add__(self, other: FetchEstimate) -> FetchEstimate:
        return FetchEstimate(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def as_tuple(self) -> tuple[int, ...]:
        """The fields in their order."""
        return dataclasses.astuple(self)

    def as_dict(self) -> dict[str, int]:
        """The fields as a plain dict."""
        return dataclasses.asdict(self)


@dataclass
class CollectionCount:
    """One collection's (or partition's) group counts as an Arrow table, plus its fetch estimate."""

    ref_id: str
    counts: pa.Table
    estimate: FetchEstimate = field(default_factory=FetchEstimate)
    geometries_decoded: int = 0
    row_groups_total: int = 0
    requests: int = 0


def normalize_by(by: Any) -> tuple[str, ...]:
    """``by`` as a tuple of column names (a single name is one column; ``None`` or ``()``: no grouping)."""
    if by is None:
        return ()
    if isinstance(by, str):
        by = (by,)
    try:
        names = tuple(by)
    except TypeError:
        raise BadParameterError(f"by={by!r} is not allowed; use a column name or a list of them") from None
    bad = [n for n in names if not isinstance(n, str) or not n or n in ("geometry", H3_COLUMN, _COUNT)]
    if bad:
        raise BadParameterError(
            f"by={list(names)!r}: {bad!r} cannot be grouped by; use attribute columns such as 'ewoc_code', "
            f"'ref_id', 'valid_time' (and h3_resolution= for {H3_COLUMN!r})"
        )
    return tuple(dict.fromkeys(names))


def _h3_resolution(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= int(value) <= 15:
        raise BadParameterError(f"h3_resolution={value!r} is not allowed; use a whole number from 0 to 15 or None")
    return int(value)


def _key_column(table: pa.Table, name: str, ref_id: str, n: int) -> pa.ChunkedArray:
    """A grouping column with the type ``get_samples`` returns for it."""
    if name == "ref_id":
        return pa.chunked_array([pa.repeat(pa.scalar(ref_id, pa.string()), n)])
    if name not in table.column_names:
        if name in INTEGER_COLUMNS:
            return pa.chunked_array([pa.nulls(n, pa.int64())])
        if name == "valid_time":
            return pa.chunked_array([pa.nulls(n, pa.timestamp("ns"))])
        return pa.chunked_array([pa.nulls(n, pa.string())])
    column = table.column(name)
    if name in INTEGER_COLUMNS:
        return as_int64(column)
    if name == "valid_time":
        return as_timestamp(column)
    if name in STRING_COLUMNS:
        return as_string(column)
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def _h3_from_l3(values: pa.ChunkedArray, resolution: int) -> pa.Array:
    import h3

    text = as_string(values)
    unique = pa.compute.unique(text)
    mapping = {}
    for cell in unique.to_pylist():
        if cell is None:
            continue
        try:
            mapping[cell] = cell if h3.get_resolution(cell) == resolution else h3.cell_to_parent(cell, resolution)
        except (ValueError, TypeError, h3.H3BaseException):
            mapping[cell] = None
    keys = pa.array(list(mapping), pa.string())
    index = pa.compute.index_in(text, value_set=keys)
    return pa.array(list(mapping.values()), pa.string()).take(index.combine_chunks() if hasattr(index, "combine_chunks") else index)


def h3_cells(lon: np.ndarray, lat: np.ndarray, resolution: int) -> pa.Array:
    """H3 cells (text) of coordinates; NaN coordinates give null. Vectorised as far as h3 allows."""
    import h3
    import h3.api.numpy_int as h3_int

    out = np.zeros(len(lon), dtype=np.uint64)
    valid = np.isfinite(lon) & np.isfinite(lat)
    if valid.any():
        cells = np.frompyfunc(h3_int.latlng_to_cell, 3, 1)(lat[valid], lon[valid], resolution)
        out[valid] = cells.astype(np.uint64)
    unique, inverse = np.unique(out, return_inverse=True)
    names = pa.array([h3.int_to_str(int(c)) if c else None for c in unique], pa.string())
    return names.take(pa.array(inverse.ravel()))


def count_collection(reader: Any, query: SampleQuery, *, ref_id: str, by: Sequence[str],
                     h3_resolution: int | None = None, row_groups: Sequence[int] | None = None) -> CollectionCount:
    """Group counts of the samples of one file that match ``query`` (see the module docstring).

    Parameters
    ----------
    reader
        A range reader of the file (:class:`~worldcereal_explorer.rdm.range_reader.HttpRangeReader`).
    query
        The validated query (its ``columns`` only matter for the fetch estimate).
    ref_id
        The collection id (for ``ref_id`` groups and messages).
    by
        Grouping columns (:func:`normalize_by`).
    h3_resolution
        Adds an ``h3_cell`` group column at this resolution.
    row_groups
        Only these row groups (a Dask partition).

    Raises
    ------
    BadParameterError
        When a ``by`` column is neither in the file nor a standard RDM column.
    """
    plan = plan_collection(reader, query, ref_id=ref_id, row_groups=row_groups, filter_step=False)
    layout, metadata, parquet, leaves = plan.layout, plan.metadata, plan.parquet, plan.leaves
    if by:
        requested_names(layout, SampleQuery(columns=tuple(by)), ref_id)  # unknown names raise here
    by_in_file = [c for c in by if c in layout.names and c != "ref_id"]
    unknown = [c for c in by if c not in layout.names and c != "ref_id" and c not in OPTIONAL_STANDARD_COLUMNS]
    if unknown:  # e.g. the geometry or covering column itself
        raise BadParameterError(f"by={list(by)!r}: {unknown!r} cannot be grouped by in collection {ref_id!r}")
    use_l3 = h3_resolution is not None and h3_resolution <= 3 and "h3_l3_cell" in layout.names
    h3_coords = h3_resolution is not None and not use_l3

    def columns(i: int) -> list[str]:
        names = by_in_file + plan.filter_columns(i, query)
        if use_l3:
            names.append("h3_l3_cell")
        if h3_coords and covering_usable(layout):
            names.append(layout.covering_column)  # type: ignore[arg-type]
        return list(dict.fromkeys(names))

    wanted = {i: columns(i) for i in plan.candidates}
    source = FileSource(reader, metadata, layout, leaves)
    large = {i for i in plan.candidates if is_large(metadata, i)}
    ranges = [r for i in plan.candidates if i not in large for r in column_ranges(metadata, leaves, [i], wanted[i])]
    if ranges:
        reader.prefetch(ranges)
    parts: list[pa.Table] = []
    matched_groups: list[int] = []
    samples = decoded = 0
    def units() -> Any:
        for i in plan.candidates:
            if i not in large:
                yield i, None, []
                continue
            # Only the rows the small columns cannot rule out, with their geometry when the spatial test needs
            # it, a piece at a time (a piece's geometries are decoded and dropped before the next).
            needs_geometry = query.spatial is not None and i not in plan.inside and not (
                covering_usable(layout) and not h3_coords)
            source_columns = list(layout.geometry_source_columns) if needs_geometry or h3_coords else []
            for piece in iter_candidates(source, i, query, wanted[i] + source_columns, inside=i in plan.inside,
                                         counting=True):
                yield i, piece, source_columns

    for i, piece, source_columns in units():
        n_rows = metadata.row_group(i).num_rows
        geometry_cache: dict[str, np.ndarray] = {}
        if piece is not None:
            table = piece
            mask = None
            if source_columns:
                geometry_cache["all"] = to_lonlat(decode_geometry(table.select(source_columns), layout), layout)
        else:
            table = parquet.read_row_group(i, columns=wanted[i]) if wanted[i] else None
            mask = attribute_mask(table, layout, query) if table is not None else None
        if table is not None and mask is not None:
            table = table.filter(mask)

        def load_geometry(rows: np.ndarray, i: int = i, mask: Any = mask, cache: dict = geometry_cache) -> np.ndarray:
            if "all" not in cache:
                source = list(layout.geometry_source_columns)
                reader.prefetch(column_ranges(metadata, leaves, [i], source))
                geometry_table = parquet.read_row_group(i, columns=source)
                if mask is not None:
                    geometry_table = geometry_table.filter(mask)
                cache["all"] = to_lonlat(decode_geometry(geometry_table, layout), layout)
            return cache["all"][rows]

        n = table.num_rows if table is not None else n_rows
        if table is None:
            table = pa.table({"_": pa.nulls(n, pa.int8())})
        keep, geometries = spatial_keep(table, layout, query, inside=i in plan.inside, load_geometry=load_geometry)
        decoded += geometries
        if not keep.all():
            table = table.filter(pa.array(keep))
        n = table.num_rows
        if not n:
            continue
        keys = {name: _key_column(table, name, ref_id, n) for name in by}
        if h3_resolution is not None:
            if use_l3:
                keys[H3_COLUMN] = pa.chunked_array([_h3_from_l3(table.column("h3_l3_cell"), h3_resolution)])
            else:
                keys[H3_COLUMN] = pa.chunked_array([_h3_from_coordinates(table, layout, keep, load_geometry,
                                                                         h3_resolution)])
        samples += n
        if i not in matched_groups:
            matched_groups.append(i)
        key_table = pa.table(keys) if keys else pa.table({"_": pa.nulls(n, pa.int8())})
        names = list(keys)
        parts.append(key_table.group_by(names).aggregate([([], "count_all")]) if names
                     else pa.table({"count_all": pa.array([n], pa.int64())}))
    counts = _merge(parts, list(by) + ([H3_COLUMN] if h3_resolution is not None else []))
    per_row = plan.memory_per_row(query)
    full = sum(end - start for i in matched_groups
               for start, end in column_ranges(metadata, leaves, [i], plan.read_columns(i, query)))
    estimate = FetchEstimate(samples=samples, bytes=full, memory_bytes=int(samples * per_row),
                             collections=1 if samples else 0, row_groups=len(matched_groups),
                             bytes_read=reader.bytes_received)
    return CollectionCount(ref_id, counts, estimate, decoded, plan.row_groups_total, reader.requests_made)


def _h3_from_coordinates(table: pa.Table, layout: FileLayout, keep: np.ndarray, load_geometry: Any,
                         resolution: int) -> pa.Array:
    """H3 cells of the kept rows: points from the covering bbox, other geometries from their centroid."""
    n = table.num_rows
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    cover = covering_arrays(table, layout)
    exact = False
    if cover is not None:
        xmin, ymin, xmax, ymax = cover
        cover_type = table.schema.field(layout.covering_column).type
        exact = all(pa.types.is_float64(cover_type.field(layout.covering[k][1]).type)  # type: ignore[index]
                    for k in ("xmin", "ymin"))
    if exact:
        points = (xmin == xmax) & (ymin == ymax)
        lon[points], lat[points] = xmin[points], ymin[points]
        rest = np.flatnonzero(~points & np.isfinite(xmin))
    else:
        rest = np.arange(n)
    if len(rest):
        kept_rows = np.flatnonzero(keep)  # positions in the attribute-filtered rows
        geometry = load_geometry(kept_rows[rest])
        centroid = shapely.centroid(geometry)
        lon[rest], lat[rest] = shapely.get_x(centroid), shapely.get_y(centroid)
    return h3_cells(lon, lat, resolution)


def _merge(parts: list[pa.Table], keys: list[str]) -> pa.Table:
    """Sum per-row-group counts into one table with one row per group."""
    if not parts:
        return pa.table({"count_all": pa.array([], pa.int64())}) if not keys else None  # type: ignore[return-value]
    table = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
    if not keys:
        return pa.table({"count_all": pa.array([pa.compute.sum(table.column("count_all")).as_py()], pa.int64())})
    merged = table.group_by(keys).aggregate([("count_all", "sum")])
    return merged.rename_columns([*keys, "count_all"])


def counts_frame(results: Sequence[Any], keys: Sequence[str]) -> pd.DataFrame:
    """One DataFrame with a row per group and a ``count`` column, summed over collections, sorted by keys."""
    tables = [r.counts for r in results if r.counts is not None and r.counts.num_rows]
    if not tables:
        frame = pd.DataFrame({k: pd.Series([], dtype=_empty_dtype(k)) for k in keys})
        frame[_COUNT] = pd.Series([], dtype="int64")
        return frame
    table = _merge(tables, list(keys))
    frame = table.to_pandas()
    frame = frame.rename(columns={"count_all": _COUNT})
    if keys:
        frame = frame.sort_values(list(keys), kind="stable", na_position="last").reset_index(drop=True)
    frame[_COUNT] = frame[_COUNT].astype("int64")
    return frame


def _empty_dtype(name: str) -> Any:
    if name in INTEGER_COLUMNS:
        return "int64"
    if name == "valid_time":
        return "datetime64[ns]"
    return "str"


def count_samples(client: Any, query: SampleQuery, *, ref_ids: Any = None, include_public: bool = True,
                  include_private: bool = False, by: Any = ("ewoc_code", "ref_id"), h3_resolution: Any = None,
                  engine: str = "pandas", progress: Any = None, cancel_event: Any = None, on_error: str = "raise",
                  dask_client: Any = None, sample_cache: Any = None) -> pd.DataFrame:
    """Group counts of the samples ``query`` matches across collections, reading only what counts need.

    See :meth:`RdmClient.count_samples <worldcereal_explorer.rdm.client.RdmClient.count_samples>`.

    Returns
    -------
    pandas.DataFrame
        One row per group (the ``by`` columns, then ``h3_cell`` when asked for) and a ``count`` column,
        sorted by the groups. ``attrs["estimate"]`` is a :class:`FetchEstimate` of a full fetch,
        ``attrs["read_stats"]`` what the preview read, ``attrs["skipped"]`` collections skipped.
    """
    from .reader import ENGINES, ON_ERROR, resolve_ids

    if engine not in ENGINES:
        raise BadParameterError(f"engine={engine!r} is not allowed; use one of {list(ENGINES)}")
    if on_error not in ON_ERROR:
        raise BadParameterError(f"on_error={on_error!r} is not allowed; use one of {list(ON_ERROR)}")
    keys = normalize_by(by)
    resolution = _h3_resolution(h3_resolution)
    with FileUrls(client, query.subset, cancel_event) as urls:
        ids = resolve_ids(client, query, ref_ids, include_public=include_public, include_private=include_private,
                          cancel_event=cancel_event, urls=None if engine == "dask" else urls)
        results, skipped, nbytes = _count_many(client, ids, query, keys, resolution, engine=engine, progress=progress,
                                               cancel_event=cancel_event, on_error=on_error, dask_client=dask_client,
                                               urls=urls, sample_cache=sample_cache)
    frame = counts_frame(results, list(keys) + ([H3_COLUMN] if resolution is not None else []))
    estimate = FetchEstimate()
    for result in results:
        estimate = estimate + result.estimate
    with_samples = {r.ref_id for r in results if r.estimate.samples}
    estimate = FetchEstimate(estimate.samples, estimate.bytes, estimate.memory_bytes, len(with_samples),
                             estimate.row_groups, nbytes)
    frame.attrs["estimate"] = estimate
    frame.attrs["skipped"] = skipped
    frame.attrs["read_stats"] = {
        "collections": len(ids),
        "bytes": nbytes,
        "requests": sum(r.requests for r in results),
        "row_groups_total": sum(r.row_groups_total for r in results) if engine == "pandas" else None,
        "geometries_decoded": sum(r.geometries_decoded for r in results),
    }
    return frame


def _count_many(client: Any, ids: list[str], query: SampleQuery, keys: tuple[str, ...], resolution: int | None, *,
                engine: str, progress: Any, cancel_event: Any, on_error: str, dask_client: Any,
                urls: FileUrls, sample_cache: Any = None) -> tuple[list[CollectionCount], dict[str, str], int]:
    """Count ``ids`` on ``engine``: the results, the collections skipped and the bytes read."""
    from .pool import map_collections, request_slots
    from .reader import resolve_cache

    transport = client.transport
    scope = transport.scope("counting samples", cancel_event=cancel_event, download=True)
    cache = resolve_cache(client, sample_cache)
    if engine == "dask":
        results, skipped = _count_dask(client, ids, query, keys, resolution, scope=scope, on_error=on_error,
                                       progress=progress, dask_client=dask_client, cache=cache)
        nbytes = sum(r.estimate.bytes_read for r in results)
    else:
        from .cache import open_reader

        slots = request_slots(client, transport)

        def work(ref_id: str, collection_scope: Any, counter: Any) -> CollectionCount:
            url = urls.get(ref_id, collection_scope)
            reader = open_reader(transport, url, scope=collection_scope, on_bytes=counter, request_slots=slots,
                                 cache=cache)
            return count_collection(reader, query, ref_id=ref_id, by=keys, h3_resolution=resolution)

        results, skipped, nbytes = map_collections(client, transport, ids, work, scope=scope, progress=progress,
                                                   on_error=on_error)
    return results, skipped, nbytes


def count_partition(spec: Any, query: SampleQuery, by: tuple[str, ...], h3_resolution: int | None) -> CollectionCount:
    """Count one Dask partition (runs on a worker; errors are the package's, without chained causes)."""
    from .dask_engine import partition_reader, worker_error, worker_transport

    try:
        scope = worker_transport(spec).scope(f"counting a partition of collection {spec.ref_id}", download=True)
        return count_collection(partition_reader(spec, scope), query, ref_id=spec.ref_id, by=by, h3_resolution=h3_resolution,
                                row_groups=spec.row_groups)
    except Exception as exc:  # noqa: BLE001 - anything else becomes ours, message redacted
        error = worker_error(spec.ref_id, exc)
    raise error


def _count_dask(client: Any, ids: list[str], query: SampleQuery, keys: tuple[str, ...], resolution: int | None, *,
                scope: Any, on_error: str, progress: Any, dask_client: Any,
                cache: Any = None) -> tuple[list[CollectionCount], dict]:
    """Footers on this machine; the partitions' counts on the Dask workers (or the default scheduler)."""
    from .dask_engine import connect, plan_partitions

    planned, skipped = plan_partitions(client, ids, query, scope=scope, on_error=on_error, progress=progress,
                                       cache=cache)
    specs = [spec for collection_specs, _ in planned for spec in collection_specs]
    if not specs:
        return [], skipped
    distributed = connect(dask_client)
    if distributed is None:
        import dask

        tasks = [dask.delayed(count_partition)(spec, query, keys, resolution) for spec in specs]
        return list(dask.compute(*tasks)), skipped
    futures = distributed.map(count_partition, specs, query=query, by=keys, h3_resolution=resolution, pure=False)
    try:
        return _gather(distributed, futures, scope), skipped
    finally:
        distributed.cancel(futures)


def _gather(distributed: Any, futures: list[Any], scope: Any) -> list[Any]:
    """The futures' results, in order, stopping (with the scope's error) when the scope is cancelled."""
    import time

    while not all(f.done() for f in futures):
        scope.check()
        time.sleep(0.05)
    scope.check()
    return distributed.gather(futures)

