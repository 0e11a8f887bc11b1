"""Read the matching samples of one collection's file: footer, pruning, filter columns, then the rest."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ...errors import BadParameterError, DownloadError, RdmHttpError, UnknownCollectionError
from ..download import HttpRangeReader
from ..http import CallScope, HttpTransport, redact, safe_url
from .convert import canonical_table, decode_geometry, to_lonlat
from .layout import FileLayout, _pyarrow_error, open_parquet
from .pruning import attribute_mask, column_ranges, leaf_index, row_group_may_match
from .query import OPTIONAL_STANDARD_COLUMNS, SampleQuery

__all__ = ["CollectionResult", "read_samples_from_reader", "read_samples_from_url", "ref_id_from_url", "sample_file_url"]

logger = logging.getLogger(__name__)


@dataclass
class CollectionResult:
    """The filtered samples of one collection, kept as Arrow attributes plus a shapely array."""

    ref_id: str
    table: pa.Table
    geometry: np.ndarray
    row_groups_total: int = 0
    row_groups_read: int = 0
    bytes_read: int = 0
    requests: int = 0


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
    url = reader.url
    parquet, metadata, layout = open_parquet(reader, ref_id)
    names = requested_names(layout, query, ref_id)
    try:
        table, candidates = _read_candidates(reader, parquet, metadata, layout, query, names, row_groups)
        mask = attribute_mask(table, layout, query)
        if mask is not None:
            table = table.filter(mask)
        geometry = to_lonlat(decode_geometry(table, layout), layout)
        if query.spatial is not None:
            shape = query.spatial.shape
            shapely.prepare(shape)
            keep = shapely.intersects(shape, geometry)
            if not keep.all():
                table = table.filter(pa.array(keep))
                geometry = geometry[keep]
            if query.clip and len(geometry):
                geometry = shapely.intersection(geometry, shape)
        table = canonical_table(table, query.columns, names, ref_id)
    except (pa.ArrowException, OSError) as exc:
        cause = _pyarrow_error(exc)
        if cause is not None:
            raise cause from None
        raise DownloadError(
            f"collection {ref_id!r}: could not read {redact(safe_url(url))}: {redact(exc)}"
        ) from None
    return CollectionResult(
        ref_id=ref_id,
        table=table,
        geometry=geometry,
        row_groups_total=metadata.num_row_groups,
        row_groups_read=len(candidates),
        bytes_read=reader.bytes_received,
        requests=reader.requests_made,
    )


def _read_candidates(reader: Any, parquet: Any, metadata: Any, layout: FileLayout, query: SampleQuery,
                     names: list[str], row_groups: Sequence[int] | None) -> tuple[pa.Table, list[int]]:
    """The rows of the row groups that may match (before the exact filters), and which groups those were.

    Row groups are pruned by footer statistics, then by reading only the filter columns of the remaining
    ones: row groups without a candidate row are not read any further.
    """
    leaves = leaf_index(metadata)
    candidates = range(metadata.num_row_groups) if row_groups is None else row_groups
    candidates = [i for i in candidates if row_group_may_match(metadata.row_group(i), leaves, layout, query)]
    filter_names = [c for c in query.filter_columns if c in layout.names]
    if query.spatial is not None and layout.covering_column and layout.crs_is_4326:
        filter_names.append(layout.covering_column)
    all_names = list(dict.fromkeys(names + filter_names + list(layout.geometry_source_columns)))
    if candidates and filter_names and len(filter_names) < len(all_names):
        reader.prefetch(column_ranges(metadata, leaves, candidates, filter_names))
        surviving = []
        for i in candidates:
            mask = attribute_mask(parquet.read_row_group(i, columns=filter_names), layout, query)
            if mask is None or pc.any(mask).as_py():
                surviving.append(i)
        candidates = surviving
    if not candidates:
        return parquet.schema_arrow.empty_table().select(all_names), candidates
    reader.prefetch(column_ranges(metadata, leaves, candidates, all_names))
    return parquet.read_row_groups(candidates, columns=all_names), candidates
