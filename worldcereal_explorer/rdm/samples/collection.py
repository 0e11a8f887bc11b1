"""Read the matching samples of one collection's file: footer, pruning, filter columns, then the rest."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ...errors import BadParameterError, DownloadError, RdmHttpError, UnknownCollectionError
from ...transport.http import CallScope, HttpTransport, redact, safe_url
from ..download import HttpRangeReader
from .bounded import FileSource, candidate_positions, is_large, iter_candidates
from .convert import CollectionResult, canonical_table, decode_geometry, to_lonlat, wkb_point_coordinates
from .layout import FileLayout, is_binary, is_text, open_parquet, wrapped_package_error
from .pruning import attribute_mask, column_ranges, leaf_index, row_group_inside, row_group_may_match
from .query import INTEGER_COLUMNS, OPTIONAL_STANDARD_COLUMNS, SampleQuery
from .rowfilter import covering_usable, thread_shape

__all__ = ["CollectionPlan", "CollectionResult", "plan_collection", "read_plan", "read_samples_from_reader",
           "read_samples_from_url", "ref_id_from_url", "sample_file_url"]

logger = logging.getLogger(__name__)


def ref_id_from_url(url: str) -> str:
    """The collection id: the second-to-last path segment of the file URL (live API convention)."""
    path = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    parts = path.split("/")
    if len(parts) < 2 or not parts[-2]:
        raise DownloadError(f"cannot tell the collection id from the download URL {redact(path)!r}")
    return parts[-2]


def requested_names(layout: FileLayout, query: SampleQuery, ref_id: str) -> list[str]:
    """Requested columns the file has; raises for names that are neither in the file nor standard."""
    available = layout.available
    unknown = [c for c in query.columns if c not in available and c not in OPTIONAL_STANDARD_COLUMNS]
    if unknown:
        raise BadParameterError(
            f"column(s) {unknown!r} not found in the samples of collection {ref_id!r}; "
            f"available columns: {available!r}"
        )
    return [c for c in query.columns if c in layout.names and c not in ("ref_id", "geometry")
            and c != layout.geometry_column]


def sample_file_url(client: Any, ref_id: str, subset: bool, *, scope: CallScope | None = None) -> str:
    """URL of the file to read for ``ref_id``: the extraction subset when asked for and published.

    Only large public collections are subsampled; for the others the RDM has no subset file, so the
    full file is read (the ``extract > 0`` filter still applies, as in the reference client). The
    requests stop when ``scope`` is cancelled.
    """
    cancel_event = None if scope is None else scope.cancel_event
    if subset:
        try:
            return client.get_download_url(ref_id, subset=True, cancel_event=cancel_event)
        except (UnknownCollectionError, RdmHttpError) as exc:
            if isinstance(exc, RdmHttpError) and exc.status != 404:
                raise
            logger.info("collection %s has no subset file; reading the full file with extract > 0", ref_id)
    return client.get_download_url(ref_id, subset=False, cancel_event=cancel_event)


def read_samples_from_url(
    transport: HttpTransport,
    url: str,
    query: SampleQuery,
    *,
    ref_id: str | None = None,
    scope: CallScope | None = None,
    on_bytes: Callable[[int], None] | None = None,
    row_groups: Sequence[int] | None = None,
    request_slots: threading.Semaphore | None = None,
) -> CollectionResult:
    """Read the samples of one remote GeoParquet file that match ``query``.

    Parameters
    ----------
    transport
        The HTTP transport (retries, timeouts; it adds the token for RDM-host URLs).
    url
        The file URL, as returned by the RDM's download endpoints (signed URLs are never shown whole).
    query
        The validated query.
    ref_id
        Collection id for the ``ref_id`` column; by default taken from the URL.
    scope
        The call scope (deadline, cancellation) every request runs in; default: a new download scope.
    on_bytes
        Called with each number of bytes received.
    row_groups
        Restrict the read to these row groups (used by the Dask engine's partitions).
    request_slots
        Semaphore bounding the HTTP requests in flight across the collections of one query.

    Returns
    -------
    CollectionResult

    Raises
    ------
    BadParameterError
        When a requested column is neither in the file nor a standard RDM column.
    DownloadError
        When the file cannot be fetched or is not a valid (Geo)Parquet file; names ``ref_id`` and the URL
        without its query string.
    QueryCancelledError, RdmTimeoutError
        When the scope is cancelled or runs out of time.
    """
    ref_id = ref_id or ref_id_from_url(url)
    if scope is None:
        scope = transport.scope(f"reading the samples of collection {ref_id}", download=True)
    scope.check()
    reader = HttpRangeReader(transport, url, scope=scope, on_bytes=on_bytes, request_slots=request_slots)
    return read_samples_from_reader(reader, query, ref_id=ref_id, row_groups=row_groups)


def read_samples_from_reader(reader: Any, query: SampleQuery, *, ref_id: str,
                             row_groups: Sequence[int] | None = None) -> CollectionResult:
    """Read the samples matching ``query`` from a random-access reader of a (Geo)Parquet file.

    ``reader`` is an :class:`~worldcereal_explorer.rdm.range_reader.HttpRangeReader` or anything with the
    same ``open``/``read_at``/``prefetch``/``size`` interface (a local file, see :mod:`.local`).
    """
    return read_plan(plan_collection(reader, query, ref_id=ref_id, row_groups=row_groups), query)


@dataclass
class CollectionPlan:
    """One collection's file after the cheap steps: footer, statistics, filter columns.

    What :func:`read_plan` reads next, and what the previews and the memory budget estimate from.

    Attributes
    ----------
    ref_id
        The collection id.
    reader
        The range reader (its cache holds what was fetched so far).
    parquet, metadata, layout
        The opened file, its footer and its layout.
    names
        Requested columns present in the file (besides ``ref_id`` and the geometry).
    leaves
        Column name to leaf indices (:func:`~.pruning.leaf_index`).
    candidates
        Row groups that hold at least one row passing the attribute filters (and the covering bbox test).
    inside
        Candidate row groups whose every geometry lies inside the query extent (proved by the footer).
    candidate_rows
        Rows of the candidates passing the attribute filters and the covering bbox test: the rows a full read
        returns at most (exact without a spatial filter, and for point files; an upper bound for the
        ``rough`` row groups).
    row_groups_total
        Row groups in the file.
    """

    ref_id: str
    reader: Any
    parquet: Any
    metadata: Any
    layout: FileLayout
    names: list[str]
    leaves: dict[str, list[int]]
    candidates: list[int]
    inside: frozenset[int]
    candidate_rows: int
    row_groups_total: int
    #: Candidates the filter step did not test fully (``max_filter_share``): ``candidate_rows`` counts more
    #: of their rows than match (:func:`refine_plan` without arguments makes it exact).
    rough: list[int] = field(default_factory=list)

    def covering_columns(self, i: int, query: SampleQuery) -> list[str]:
        """The column that tests the rows of row group ``i`` against the extent before the rest is read.

        Nothing when no row needs the test (no extent, or the footer proves the row group inside it). For
        point files the geometry itself (one WKB column, exact, needed for the output anyway); else the
        covering bbox column when the file has one in lon/lat.
        """
        if query.spatial is None or i in self.inside:
            return []
        if self.layout.points_only:
            return [self.layout.geometry_column]  # type: ignore[list-item]
        if not covering_usable(self.layout):
            return []
        return [self.layout.covering_column] if self.layout.covering_column else []

    def attribute_columns(self, query: SampleQuery) -> list[str]:
        """Columns the attribute filters (codes, dates, quality, subset) need."""
        return [c for c in query.filter_columns if c in self.layout.names]

    def filter_columns(self, i: int, query: SampleQuery) -> list[str]:
        """Columns the attribute and covering filters of row group ``i`` need."""
        return list(dict.fromkeys(self.attribute_columns(query) + self.covering_columns(i, query)))

    def read_columns(self, i: int, query: SampleQuery) -> list[str]:
        """Every column a full read of row group ``i`` needs."""
        return list(dict.fromkeys(self.names + self.filter_columns(i, query)
                                  + list(self.layout.geometry_source_columns)))

    def full_bytes(self, query: SampleQuery) -> int:
        """Compressed bytes of the column chunks a full read of the candidates fetches."""
        return sum(end - start for i in self.candidates
                   for start, end in column_ranges(self.metadata, self.leaves, [i], self.read_columns(i, query)))

    def memory_per_row(self, query: SampleQuery) -> float:
        """Estimated bytes per returned row of a pandas GeoDataFrame (from the footer's column sizes)."""
        return memory_per_row(self.metadata, self.leaves, self.layout, query, self.candidates)


def memory_per_row(metadata: Any, leaves: dict[str, list[int]], layout: FileLayout, query: SampleQuery,
                   row_groups: Sequence[int]) -> float:
    """Estimated in-memory bytes per row of the returned GeoDataFrame.

    Numbers and times take 8 bytes; text takes its average uncompressed length plus 8 (Arrow-backed
    strings); a geometry is a shapely object: ~100 bytes plus its WKB size; the index adds 8.
    """
    groups = list(row_groups) or list(range(metadata.num_row_groups))
    rows = sum(metadata.row_group(i).num_rows for i in groups) or 1

    def average(name: str) -> float:
        total = sum(metadata.row_group(i).column(j).total_uncompressed_size
                    for i in groups for j in leaves.get(name, ()))
        return total / rows

    size = 8.0  # index
    for name in query.columns:
        if name == "geometry":
            source = layout.geometry_source_columns
            size += 100 + sum(average(c) for c in source) if source else 16
        elif name == "ref_id":
            size += 8 + 24
        elif name in INTEGER_COLUMNS or name == "valid_time" or name not in layout.names:
            size += 8
        else:
            column_type = None
            with contextlib.suppress(KeyError):
                column_type = metadata.schema.to_arrow_schema().field(name).type
            if column_type is not None and (is_text(column_type) or is_binary(column_type)):
                size += 8 + average(name)
            else:
                size += max(8.0, average(name))
    return size


def plan_collection(reader: Any, query: SampleQuery, *, ref_id: str,
                    row_groups: Sequence[int] | None = None, filter_step: bool = True,
                    max_filter_share: float = 1.0, small_read_bytes: int = 0) -> CollectionPlan:
    """Open the file and find the row groups that can match: footer statistics, then the filter columns.

    Only the footer and the filter columns of the row groups the statistics cannot rule out are fetched;
    the covering bbox column only for row groups not proved to lie inside the extent. With
    ``filter_step=False`` the filter columns are not read (``candidate_rows`` is then the candidates' rows).

    ``max_filter_share``: where a row group's filter columns are more than that share of a full read's
    bytes (a bbox over a point file: the geometry is most of the row group), reading them first would save
    little and cost a round trip; only its attribute columns are read first when they are cheap, else
    nothing. Its rows then count roughly in ``candidate_rows`` (an upper bound, ``plan.rough``;
    :func:`refine_plan` makes it exact) and :func:`read_plan` filters it exactly.

    ``small_read_bytes``: when a full read of every candidate takes at most that many bytes, the filter step
    is skipped altogether (the candidates are ``rough``): a round trip costs more than so few bytes could
    save. Most RDM collections are such small files.

    Raises
    ------
    BadParameterError
        When a requested column is neither in the file nor a standard RDM column.
    DownloadError, QueryCancelledError, RdmTimeoutError
        From :func:`~.layout.open_parquet`.
    """
    parquet, metadata, layout = open_parquet(reader, ref_id)
    names = requested_names(layout, query, ref_id)
    leaves = leaf_index(metadata)
    groups = range(metadata.num_row_groups) if row_groups is None else row_groups
    candidates = [i for i in groups if row_group_may_match(metadata.row_group(i), leaves, layout, query)]
    inside = frozenset(i for i in candidates if query.spatial is not None
                       and row_group_inside(metadata.row_group(i), leaves, layout, query))
    plan = CollectionPlan(ref_id, reader, parquet, metadata, layout, names, leaves, candidates, inside,
                          sum(metadata.row_group(i).num_rows for i in candidates), metadata.num_row_groups)
    if not filter_step:
        return plan

    def nbytes(i: int, columns: list[str]) -> int:
        return sum(end - start for start, end in column_ranges(metadata, leaves, [i], columns))

    # Large row groups are filtered in bounded pieces when read (:mod:`.bounded`), not here: rough.
    large = [i for i in candidates if is_large(metadata, i)]
    candidates = [i for i in candidates if i not in large]
    full_reads = {i: nbytes(i, plan.read_columns(i, query)) for i in candidates}
    if sum(full_reads.values()) <= small_read_bytes and not large:
        return refine_plan(plan, query, whole=[i for i in candidates if plan.filter_columns(i, query)])
    whole, attributes_only = list(large), []
    for i in candidates:
        full = full_reads[i] or 1
        if nbytes(i, plan.filter_columns(i, query)) <= max_filter_share * full:
            continue  # the whole filter step pays
        attributes = plan.attribute_columns(query)
        if attributes and nbytes(i, attributes) <= max_filter_share * full:
            attributes_only.append(i)  # the cheap attribute filters first; the extent when reading
        elif plan.filter_columns(i, query):
            whole.append(i)
    return refine_plan(plan, query, whole=whole, attributes_only=attributes_only)


def refine_plan(plan: CollectionPlan, query: SampleQuery, *, whole: Sequence[int] = (),
                attributes_only: Sequence[int] = ()) -> CollectionPlan:
    """Run the filter step on ``plan``'s candidates: read their filter columns, drop the row groups without a
    matching row and count the rows that match. Row groups in ``whole`` are left as they are, those in
    ``attributes_only`` are tested against the attribute filters but not the extent: both then count more
    rows than match (``plan.rough`` lists them). Returns ``plan``, updated."""
    reader, parquet, metadata, layout = plan.reader, plan.parquet, plan.metadata, plan.layout
    skip, partial = set(whole), set(attributes_only)

    def columns(i: int) -> list[str]:
        return plan.attribute_columns(query) if i in partial else plan.filter_columns(i, query)

    filtered = [i for i in plan.candidates if i not in skip and (columns(i) or is_large(metadata, i))]
    plan.rough = [i for i in plan.candidates if i in skip or i in partial or is_large(metadata, i)]
    if not filtered:
        return plan
    try:
        reader.prefetch([r for i in filtered if not is_large(metadata, i)
                         for r in column_ranges(metadata, plan.leaves, [i], columns(i))])
        surviving, rows = [], 0
        for i in plan.candidates:
            if i not in filtered:
                surviving.append(i)
                rows += metadata.row_group(i).num_rows
                continue
            if is_large(metadata, i):
                positions, _ = candidate_positions(file_source(plan), i, query, inside=i in plan.inside)
                if len(positions):
                    surviving.append(i)
                    rows += len(positions)
                continue
            table = parquet.read_row_group(i, columns=columns(i))
            mask = attribute_mask(table, layout, query)
            count = metadata.row_group(i).num_rows if mask is None else pc.sum(mask.cast(pa.int64())).as_py() or 0
            if count and layout.points_only and layout.geometry_column in table.column_names:
                count = _points_inside(table if mask is None else table.filter(mask), layout, query)
            if count:
                surviving.append(i)
                rows += count
    except (pa.ArrowException, OSError) as exc:
        raise _read_error(exc, plan.ref_id, reader.url) from None
    plan.candidates, plan.candidate_rows = surviving, rows
    plan.rough = [i for i in plan.rough if i in surviving]
    return plan


def _points_inside(table: pa.Table, layout: FileLayout, query: SampleQuery) -> int:
    """How many of ``table``'s point geometries lie in the query's extent (exact)."""
    shape = thread_shape(query.spatial)
    keep = _lonlat_points_keep(table, layout, shape)
    if keep is None:
        keep = shapely.intersects(shape, to_lonlat(decode_geometry(table, layout), layout))
    return int(np.count_nonzero(keep))


def _lonlat_points_keep(table: pa.Table, layout: FileLayout, shape: Any) -> np.ndarray | None:
    """Which rows lie in ``shape``, decided from the point coordinates in the WKB bytes without decoding a
    geometry; ``None`` when the file's geometries are not lon/lat points (then decode and test them)."""
    coordinates = wkb_point_coordinates(table, layout) if layout.crs_is_4326 else None
    return None if coordinates is None else shapely.intersects_xy(shape, *coordinates)


def read_plan(plan: CollectionPlan, query: SampleQuery) -> CollectionResult:
    """Read the candidate row groups of ``plan`` in full and apply the exact filters."""
    reader, parquet, layout = plan.reader, plan.parquet, plan.layout
    tables, geometries = [], []
    try:
        small = [i for i in plan.candidates if not is_large(plan.metadata, i)]
        if small:
            reader.prefetch([r for i in small
                             for r in column_ranges(plan.metadata, plan.leaves, [i], plan.read_columns(i, query))])
        shape = thread_shape(query.spatial) if query.spatial is not None else None
        def pieces() -> Any:
            for i in plan.candidates:
                if is_large(plan.metadata, i):
                    # Only the rows the small columns cannot rule out, a piece at a time: a piece's geometries
                    # are decoded, tested and dropped before the next (GEOS objects take ~1 KiB each).
                    for piece in iter_candidates(file_source(plan), i, query, plan.read_columns(i, query),
                                                 inside=i in plan.inside):
                        yield i, piece
                else:
                    yield i, parquet.read_row_group(i, columns=plan.read_columns(i, query))

        for i, table in pieces():
            mask = attribute_mask(table, layout, query)
            if mask is not None:
                table = table.filter(mask)
            tested = shape is None or i in plan.inside
            keep = None if tested else _lonlat_points_keep(table, layout, shape)
            if keep is not None:  # decided before decoding: only the rows kept are decoded
                if not keep.all():
                    table = table.filter(pa.array(keep))
                tested = True
            geometry = to_lonlat(decode_geometry(table, layout), layout)
            if not tested:
                keep = shapely.intersects(shape, geometry)
                if not keep.all():
                    table = table.filter(pa.array(keep))
                    geometry = geometry[keep]
            if query.clip and shape is not None and len(geometry):
                geometry = shapely.intersection(geometry, shape)
            tables.append(canonical_table(table, query.columns, plan.names, plan.ref_id))
            geometries.append(geometry)
        if not tables:
            empty = parquet.schema_arrow.empty_table().select(plan.names)
            tables.append(canonical_table(empty, query.columns, plan.names, plan.ref_id))
            geometries.append(np.array([], dtype=object))
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    except (pa.ArrowException, OSError) as exc:
        raise _read_error(exc, plan.ref_id, reader.url) from None
    return CollectionResult(
        ref_id=plan.ref_id,
        table=table,
        geometry=np.concatenate(geometries) if len(geometries) > 1 else geometries[0],
        row_groups_total=plan.row_groups_total,
        row_groups_read=len(plan.candidates),
        bytes_read=reader.bytes_received,
        requests=reader.requests_made,
    )


def file_source(plan: CollectionPlan) -> FileSource:
    """The plan's file as :mod:`.bounded` reads it."""
    return FileSource(plan.reader, plan.metadata, plan.layout, plan.leaves)


def _read_error(exc: BaseException, ref_id: str, url: str) -> BaseException:
    cause = wrapped_package_error(exc)
    if cause is not None:
        return cause
    return DownloadError(f"collection {ref_id!r}: could not read {redact(safe_url(url))}: {redact(exc)}")
