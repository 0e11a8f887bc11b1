"""Read individual samples across collections, fetching only the bytes a query needs.

Each collection's GeoParquet file is opened over HTTP with Range requests (``HttpRangeReader``): first the
footer, then only the column chunks of the row groups whose statistics can match the query. Row groups are
pruned in two steps: by the footer statistics of the filter columns (including the GeoParquet 1.1 ``bbox``
covering column when the file has one), then by reading just the filter columns of the remaining row
groups; only row groups with at least one candidate row are read in full. Geometries are then tested
against the extent with vectorised shapely 2 predicates.

Files without a covering column, without ``geo`` metadata (plain WKB), with WKT or lon/lat instead of a
geometry column, with ``valid_time`` stored as date, timestamp or string, or with int32 instead of int64
codes all read correctly; they are just read less selectively.

Modules, one job each:

``query``        :class:`SampleQuery` (the validated public query), :data:`DEFAULT_COLUMNS`, ``normalize_ref_ids``
``layout``       :class:`FileLayout` and ``open_parquet`` (the footer, read over HTTP)
``pruning``      row-group pruning by statistics, byte ranges of column chunks, the attribute row mask
``h3cells``      the query area's level-3 H3 cells, and the rows and row groups their ``h3_l3_cell`` rules out
``convert``      Arrow to canonical types and geometry, ``CollectionResult``, ``to_geodataframe``
``collection``   ``read_samples_from_url``: one collection's file
``pool``         many collections side by side: the bounded pool, progress (:class:`SampleProgress`), on_error
``reader``       :func:`read_samples`: planning, the memory budget, engines, the sample cache
``dask_engine``  ``engine="dask"``: :class:`PartitionSpec`, ``read_partition``, ``read_samples_dask``
"""

from __future__ import annotations

from typing import Any

from .collection import read_samples_from_url, ref_id_from_url, sample_file_url
from .convert import CollectionResult, as_timestamp, decode_geometry, to_geodataframe
from .layout import FileLayout, open_parquet
from .pool import PROGRESS_DELAY_S, SampleProgress
from .pruning import row_group_may_match
from .query import (
    DEFAULT_COLUMNS,
    INTEGER_COLUMNS,
    OPTIONAL_STANDARD_COLUMNS,
    STRING_COLUMNS,
    SampleQuery,
    normalize_ref_ids,
)
from .reader import ENGINES, ON_ERROR, read_samples

__all__ = [
    "CollectionResult",
    "DEFAULT_COLUMNS",
    "ENGINES",
    "FileLayout",
    "INTEGER_COLUMNS",
    "ON_ERROR",
    "OPTIONAL_STANDARD_COLUMNS",
    "PARTITION_ROWS",
    "PROGRESS_DELAY_S",
    "PartitionSpec",
    "STRING_COLUMNS",
    "SampleProgress",
    "SampleQuery",
    "as_timestamp",
    "decode_geometry",
    "normalize_ref_ids",
    "open_parquet",
    "read_partition",
    "read_samples",
    "read_samples_dask",
    "read_samples_from_url",
    "ref_id_from_url",
    "row_group_may_match",
    "sample_file_url",
    "to_geodataframe",
]

_DASK_NAMES = {"PARTITION_ROWS", "PartitionSpec", "read_partition", "read_samples_dask"}


def __getattr__(name: str) -> Any:
    # The Dask engine's names load on first use (the module itself imports dask only when a frame is built).
    if name in _DASK_NAMES:
        from . import dask_engine

        return getattr(dask_engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
