"""Read individual samples across collections, fetching only the bytes a query needs.

Each collection's GeoParquet file is opened over HTTP with Range requests (:class:`HttpRangeReader`):
first the footer, then only the column chunks of the row groups whose statistics can match the query.
Row groups are pruned in two steps: by the footer statistics of the filter columns (including the
GeoParquet 1.1 ``bbox`` covering column when the file has one), then by reading just the filter
columns of the remaining row groups; only row groups with at least one candidate row are read in full.
Geometries are then tested against the extent with vectorised shapely 2 predicates.

Files without a covering column, without ``geo`` metadata (plain WKB), with WKT or lon/lat instead of a
geometry column, with ``valid_time`` stored as date, timestamp or string, or with int32 instead of
int64 codes all read correctly; they are just read less selectively.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import re
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import requests
import shapely

from ..errors import (
    BadParameterError,
    DownloadError,
    InvalidInputError,
    QueryCancelledError,
    RdmHttpError,
    UnknownCollectionError,
    WorldCerealExplorerError,
)
from ..extents import (
    SpatialExtent,
    TemporalExtent,
    normalize_ewoc_codes,
    normalize_spatial_extent,
    normalize_temporal_extent,
)
from .download import AnyEvent, HttpRangeReader, RangeFile

__all__ = [
    "DEFAULT_COLUMNS",
    "SampleQuery",
    "SampleProgress",
    "read_samples",
    "read_samples_from_url",
    "ref_id_from_url",
]

logger = logging.getLogger(__name__)

#: Columns returned by default, as in the WorldCereal client.
DEFAULT_COLUMNS = [
    "sample_id",
    "ewoc_code",
    "valid_time",
    "irrigation_status",
    "quality_score_lc",
    "quality_score_ct",
    "extract",
    "h3_l3_cell",
    "ref_id",
    "geometry",
]

#: RDM integer columns, returned as int64 whatever width the file uses.
INTEGER_COLUMNS = ("ewoc_code", "irrigation_status", "quality_score_lc", "quality_score_ct", "extract",
                   "sampling_ewoc_code")
#: RDM text columns.
STRING_COLUMNS = ("sample_id", "h3_l3_cell", "ref_id")
#: Standard columns that may be absent from a file; they are then returned as missing values.
OPTIONAL_STANDARD_COLUMNS = frozenset(DEFAULT_COLUMNS) - {"ref_id", "geometry"}

ENGINES = ("pandas", "dask")
ON_ERROR = ("raise", "skip")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_NS = pa.timestamp("ns")


# --------------------------------------------------------------------------------------------------
# The query


@dataclass(frozen=True)
class SampleQuery:
    """A validated sample query; build it with :meth:`build`."""

    columns: tuple[str, ...] = tuple(DEFAULT_COLUMNS)
    subset: bool = False
    spatial: SpatialExtent | None = None
    temporal: TemporalExtent | None = None
    ewoc_codes: tuple[int, ...] | None = None
    min_quality_lc: int = 0
    min_quality_ct: int = 0
    clip: bool = False

    @classmethod
    def build(
        cls,
        *,
        columns: Sequence[str] | str | None = None,
        subset: bool = False,
        spatial_extent: Any = None,
        temporal_extent: Any = None,
        ewoc_codes: Any = None,
        min_quality_lc: Any = 0,
        min_quality_ct: Any = 0,
        clip: bool = False,
    ) -> SampleQuery:
        """Validate raw user inputs.

        Raises
        ------
        BadExtentError, BadTemporalExtentError, BadEwocCodeError
            From :mod:`worldcereal_explorer.extents`.
        BadParameterError
            For columns that are not a list of names, quality scores outside 0..100, non-boolean flags.
        """
        if columns is None:
            columns = DEFAULT_COLUMNS
        if isinstance(columns, str):
            columns = [columns]
        columns = list(columns)
        bad = [c for c in columns if not isinstance(c, str) or not c]
        if bad:
            raise BadParameterError(f"column names {bad!r} are not allowed; columns must be non-empty strings")
        columns = list(dict.fromkeys(columns))
        if "geometry" not in columns:  # a GeoDataFrame needs its geometry
            columns.append("geometry")
        for name, flag in (("subset", subset), ("clip", clip)):
            if not isinstance(flag, (bool, np.bool_)):
                raise BadParameterError(f"{name}={flag!r} is not allowed; use True or False")
        codes = normalize_ewoc_codes(ewoc_codes)
        return cls(
            columns=tuple(columns),
            subset=bool(subset),
            spatial=normalize_spatial_extent(spatial_extent),
            temporal=normalize_temporal_extent(temporal_extent),
            ewoc_codes=None if codes is None else tuple(codes),
            min_quality_lc=_quality(min_quality_lc, "min_quality_lc"),
            min_quality_ct=_quality(min_quality_ct, "min_quality_ct"),
            clip=bool(clip),
        )

    @property
    def filter_columns(self) -> tuple[str, ...]:
        """Attribute columns the row filter needs."""
        names = []
        if self.ewoc_codes is not None:
            names.append("ewoc_code")
        if self.temporal is not None:
            names.append("valid_time")
        if self.subset:
            names.append("extract")
        if self.min_quality_lc > 0:
            names.append("quality_score_lc")
        if self.min_quality_ct > 0:
            names.append("quality_score_ct")
        return tuple(names)


def _quality(value: Any, name: str) -> int:
    if isinstance(value, bool) or value is None:
        raise BadParameterError(f"{name}={value!r} is not allowed; use a number from 0 to 100")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadParameterError(f"{name}={value!r} is not allowed; use a number from 0 to 100") from None
    if not 0 <= number <= 100:
        raise BadParameterError(f"{name}={value!r} is not allowed; use a number from 0 to 100")
    # Scores are whole numbers, so ">= 75.5" is ">= 76".
    return math.ceil(number)


@dataclass(frozen=True)
class SampleProgress:
    """What :func:`read_samples` reports to a ``progress`` callback (always from the calling thread)."""

    collections_done: int
    collections_total: int
    bytes_read: int
    ref_id: str | None = None
    done: bool = False


# --------------------------------------------------------------------------------------------------
# File layout: where the geometry is and which columns exist


@dataclass(frozen=True)
class FileLayout:
    """What a sample file holds, read from its schema and ``geo`` metadata."""

    names: tuple[str, ...]
    geometry_column: str | None
    geometry_kind: str  # "wkb", "wkt", "lonlat" or "geoarrow"
    geo_metadata: dict | None
    covering: dict[str, tuple[str, str]] | None  # xmin/ymin/xmax/ymax -> (column, field)
    crs_is_4326: bool = True

    @classmethod
    def from_schema(cls, schema: pa.Schema) -> FileLayout:
        names = tuple(schema.names)
        geo = None
        raw = (schema.metadata or {}).get(b"geo")
        if raw:
            try:
                geo = json.loads(raw)
            except ValueError:
                geo = None
        geometry_column = None
        kind = "wkb"
        covering = None
        crs_is_4326 = True
        if geo and geo.get("primary_column") in names:
            geometry_column = geo["primary_column"]
            column_meta = (geo.get("columns") or {}).get(geometry_column) or {}
            encoding = str(column_meta.get("encoding", "WKB")).lower()
            kind = "wkb" if encoding == "wkb" else "geoarrow"
            bbox_cover = (column_meta.get("covering") or {}).get("bbox")
            if isinstance(bbox_cover, dict) and all(k in bbox_cover for k in ("xmin", "ymin", "xmax", "ymax")):
                paths = {k: tuple(bbox_cover[k]) for k in ("xmin", "ymin", "xmax", "ymax")}
                if all(len(p) == 2 and p[0] in names for p in paths.values()):
                    covering = paths
            crs_is_4326 = _is_4326(column_meta.get("crs", "OGC:CRS84"))
        elif "geometry" in names and _is_binary(schema.field("geometry").type):
            geometry_column = "geometry"
        elif "geometry" in names and _is_text(schema.field("geometry").type):
            geometry_column, kind = "geometry", "wkt"
        elif "geom_text" in names:
            geometry_column, kind = "geom_text", "wkt"
        elif "lon" in names and "lat" in names:
            geometry_column, kind = None, "lonlat"
        else:
            geometry_column, kind = None, "none"
        return cls(names, geometry_column, kind, geo, covering, crs_is_4326)

    @property
    def covering_column(self) -> str | None:
        return self.covering["xmin"][0] if self.covering else None

    @property
    def geometry_source_columns(self) -> tuple[str, ...]:
        if self.geometry_kind == "lonlat":
            return ("lon", "lat")
        return (self.geometry_column,) if self.geometry_column else ()

    @property
    def available(self) -> list[str]:
        """Column names a caller may ask for (``ref_id`` and ``geometry`` always)."""
        hidden = {self.covering_column, self.geometry_column}
        out = [n for n in self.names if n not in hidden]
        for extra in ("ref_id", "geometry"):
            if extra not in out:
                out.append(extra)
        return out


def _is_binary(t: pa.DataType) -> bool:
    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t)


def _is_text(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_4326(crs: Any) -> bool:
    if crs is None:  # GeoParquet: a null crs means "unknown"; RDM files are lon/lat
        return True
    return _is_4326_text(json.dumps(crs, sort_keys=True) if not isinstance(crs, str) else crs)


@functools.lru_cache(maxsize=64)
def _is_4326_text(crs: str) -> bool:
    # Parsing PROJJSON costs ~10 ms; every RDM file carries the same one.
    try:
        from pyproj import CRS

        return CRS.from_user_input(json.loads(crs) if crs.startswith("{") else crs).equals(
            CRS.from_epsg(4326), ignore_axis_order=True)
    except Exception:
        return True


# --------------------------------------------------------------------------------------------------
# Row-group pruning with footer statistics


def _leaf_index(metadata: pq.FileMetaData) -> dict[str, list[int]]:
    """Map top-level column name and dotted leaf path to leaf column indices."""
    index: dict[str, list[int]] = {}
    for j in range(metadata.num_columns):
        path = metadata.schema.column(j).path
        index.setdefault(path, []).append(j)
        top = path.split(".", 1)[0]
        if top != path:
            index.setdefault(top, []).append(j)
    return index


def _min_max(rg: pq.RowGroupMetaData, leaves: dict[str, list[int]], path: str) -> tuple[Any, Any] | None:
    indices = leaves.get(path)
    if not indices or len(indices) != 1:
        return None
    stats = rg.column(indices[0]).statistics
    if stats is None or not stats.has_min_max:
        return None
    try:
        return stats.min, stats.max
    except Exception:  # pyarrow cannot convert some logical types; then we simply do not prune
        return None


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def row_group_may_match(rg: pq.RowGroupMetaData, leaves: dict[str, list[int]], layout: FileLayout,
                        query: SampleQuery) -> bool:
    """False only when the row group's statistics prove no row can match ``query``."""
    if rg.num_rows == 0:
        return False

    def number_range(path: str) -> tuple[float, float] | None:
        mm = _min_max(rg, leaves, path)
        if mm is None:
            return None
        try:
            return float(mm[0]), float(mm[1])
        except (TypeError, ValueError):
            return None

    if query.ewoc_codes is not None:
        if not query.ewoc_codes:
            return False
        mm = number_range("ewoc_code")
        if mm is not None and not any(mm[0] <= c <= mm[1] for c in query.ewoc_codes):
            return False
    if query.subset:
        mm = number_range("extract")
        if mm is not None and mm[1] <= 0:
            return False
    for name, minimum in (("quality_score_lc", query.min_quality_lc), ("quality_score_ct", query.min_quality_ct)):
        if minimum > 0:
            mm = number_range(name)
            if mm is not None and mm[1] < minimum:
                return False
    if query.temporal is not None:
        mm = _min_max(rg, leaves, "valid_time")
        if mm is not None:
            low, high = _as_date(mm[0]), _as_date(mm[1])
            if low is not None and high is not None and (high < query.temporal.start or low > query.temporal.end):
                return False
    if query.spatial is not None and layout.covering and layout.crs_is_4326:
        west, south, east, north = query.spatial.bbox.as_tuple()
        cover = {k: number_range(".".join(v)) for k, v in layout.covering.items()}
        if cover["xmin"] is not None and cover["xmin"][0] > east:
            return False
        if cover["ymin"] is not None and cover["ymin"][0] > north:
            return False
        if cover["xmax"] is not None and cover["xmax"][1] < west:
            return False
        if cover["ymax"] is not None and cover["ymax"][1] < south:
            return False
    return True


def _column_ranges(metadata: pq.FileMetaData, leaves: dict[str, list[int]], row_groups: Sequence[int],
                   columns: Sequence[str]) -> list[tuple[int, int]]:
    """Byte ranges of the column chunks of ``columns`` in ``row_groups``."""
    ranges = []
    for i in row_groups:
        rg = metadata.row_group(i)
        for name in columns:
            for j in leaves.get(name, ()):
                chunk = rg.column(j)
                offsets = [o for o in (chunk.dictionary_page_offset, chunk.data_page_offset) if o]
                start = min(offsets) if offsets else chunk.file_offset
                ranges.append((start, start + chunk.total_compressed_size))
    return ranges


# --------------------------------------------------------------------------------------------------
# Row filtering and conversion


def as_timestamp(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """``valid_time`` as naive UTC ``timestamp[ns]``, whatever the file stored (date, timestamp, text)."""
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    t = column.type
    if pa.types.is_dictionary(t):
        column = column.cast(t.value_type)
        t = column.type
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            column = column.cast(pa.timestamp(t.unit, "UTC")).cast(pa.timestamp(t.unit))
        return column.cast(_NS)
    if pa.types.is_date(t):
        return column.cast(pa.timestamp("s")).cast(_NS)
    if pa.types.is_null(t):
        return pa.chunked_array([pa.nulls(len(column), _NS)])
    values = column.to_pandas()
    if _is_text(t):
        parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
        if parsed.isna().sum() > values.isna().sum():  # not all ISO: let pandas guess per value
            parsed = pd.to_datetime(values, format="mixed", utc=True, errors="coerce")
    else:
        parsed = pd.to_datetime(values, utc=True, errors="coerce")
    parsed = parsed.dt.tz_localize(None).astype("datetime64[ns]")
    return pa.chunked_array([pa.array(parsed, type=_NS, from_pandas=True)])


def _as_int64(column: pa.ChunkedArray) -> pa.ChunkedArray:
    t = column.type
    if pa.types.is_dictionary(t):
        column = column.cast(t.value_type)
        t = column.type
    if pa.types.is_integer(t) or pa.types.is_null(t):
        return column.cast(pa.int64())
    if pa.types.is_floating(t):
        return column.cast(pa.int64(), safe=False)
    values = pd.to_numeric(column.to_pandas(), errors="coerce")
    return pa.chunked_array([pa.array(values, type=pa.float64(), from_pandas=True).cast(pa.int64(), safe=False)])


def _as_string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    t = column.type
    if pa.types.is_dictionary(t):
        column = column.cast(t.value_type)
        t = column.type
    if pa.types.is_string(t):
        return column
    return column.cast(pa.string())


def _attribute_mask(table: pa.Table, layout: FileLayout, query: SampleQuery) -> pa.ChunkedArray | None:
    """Boolean mask of rows passing the attribute and covering-bbox filters (``None`` = all rows)."""
    masks = []
    names = set(table.column_names)

    def column_or_null(name: str) -> pa.ChunkedArray:
        if name in names:
            return table.column(name)
        # A file lacking a filter column cannot satisfy the filter (SQL NULL semantics).
        return pa.chunked_array([pa.nulls(table.num_rows, pa.int64())])

    if query.ewoc_codes is not None:
        codes = _as_int64(column_or_null("ewoc_code"))
        masks.append(pc.is_in(codes, value_set=pa.array(query.ewoc_codes, pa.int64())))
    if query.subset:
        masks.append(pc.greater(_as_int64(column_or_null("extract")), 0))
    for name, minimum in (("quality_score_lc", query.min_quality_lc), ("quality_score_ct", query.min_quality_ct)):
        if minimum > 0:
            masks.append(pc.greater_equal(_as_int64(column_or_null(name)), minimum))
    if query.temporal is not None:
        times = as_timestamp(column_or_null("valid_time"))
        start = pa.scalar(dt.datetime.combine(query.temporal.start, dt.time()), _NS)
        stop = pa.scalar(dt.datetime.combine(query.temporal.end + dt.timedelta(days=1), dt.time()), _NS)
        masks.append(pc.and_kleene(pc.greater_equal(times, start), pc.less(times, stop)))
    if query.spatial is not None and layout.covering and layout.crs_is_4326 and layout.covering_column in names:
        west, south, east, north = query.spatial.bbox.as_tuple()
        cover = table.column(layout.covering_column)

        def part(key: str) -> pa.ChunkedArray:
            return pc.struct_field(cover, layout.covering[key][1])

        masks.append(pc.less_equal(part("xmin"), east))
        masks.append(pc.less_equal(part("ymin"), north))
        masks.append(pc.greater_equal(part("xmax"), west))
        masks.append(pc.greater_equal(part("ymax"), south))
    if not masks:
        return None
    mask = masks[0]
    for other in masks[1:]:
        mask = pc.and_kleene(mask, other)
    return pc.fill_null(mask, False)


def decode_geometry(table: pa.Table, layout: FileLayout) -> np.ndarray:
    """The rows' geometries as a shapely array, whatever the file's encoding."""
    if layout.geometry_kind == "lonlat":
        lon = table.column("lon").to_numpy()
        lat = table.column("lat").to_numpy()
        return shapely.points(lon, lat)
    if layout.geometry_kind == "none" or layout.geometry_column is None:
        return np.full(table.num_rows, None, dtype=object)
    column = table.column(layout.geometry_column)
    if layout.geometry_kind == "geoarrow":
        from geopandas.io.arrow import _arrow_to_geopandas

        frame = _arrow_to_geopandas(table.select([layout.geometry_column]), layout.geo_metadata)
        return np.asarray(frame.geometry.array, dtype=object)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    values = column.to_numpy(zero_copy_only=False) if column.num_chunks else np.array([], dtype=object)
    if layout.geometry_kind == "wkt":
        return shapely.from_wkt(values, on_invalid="warn")
    return shapely.from_wkb(values, on_invalid="warn")


# --------------------------------------------------------------------------------------------------
# One collection


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
        raise DownloadError(f"cannot tell the collection id from the download URL {path!r}")
    return parts[-2]


def _requested_names(layout: FileLayout, query: SampleQuery, ref_id: str) -> list[str]:
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


def read_samples_from_url(
    session: requests.Session,
    url: str,
    query: SampleQuery,
    *,
    ref_id: str | None = None,
    timeout: float | tuple[float, float] = (5, 60),
    cancel_event: threading.Event | AnyEvent | None = None,
    on_bytes: Callable[[int], None] | None = None,
    row_groups: Sequence[int] | None = None,
    headers: dict[str, str] | None = None,
    request_slots: threading.Semaphore | None = None,
) -> CollectionResult:
    """Read the samples of one remote GeoParquet file that match ``query``.

    Parameters
    ----------
    session
        Session for the HTTP requests (retries, authentication).
    url
        The file URL, as returned by the RDM's download endpoints.
    query
        The validated query.
    ref_id
        Collection id for the ``ref_id`` column; by default taken from the URL.
    timeout
        Per-request timeouts.
    cancel_event
        When set, reading stops with :class:`QueryCancelledError`.
    on_bytes
        Called with each number of bytes received.
    row_groups
        Restrict the read to these row groups (used by the Dask engine's partitions).
    headers
        Extra request headers.
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
        When the file cannot be fetched or is not a readable (Geo)Parquet file; names ``ref_id``.
    """
    ref_id = ref_id or ref_id_from_url(url)
    reader = HttpRangeReader(session, url, timeout=timeout, cancel_event=cancel_event, on_bytes=on_bytes,
                             headers=headers, request_slots=request_slots)
    try:
        parquet, metadata, layout = _open_parquet(reader, ref_id)
        names = _requested_names(layout, query, ref_id)
        leaves = _leaf_index(metadata)
        candidates = range(metadata.num_row_groups) if row_groups is None else row_groups
        candidates = [i for i in candidates if row_group_may_match(metadata.row_group(i), leaves, layout, query)]

        filter_names = [c for c in query.filter_columns if c in layout.names]
        if query.spatial is not None and layout.covering_column and layout.crs_is_4326:
            filter_names.append(layout.covering_column)
        geometry_names = list(layout.geometry_source_columns)
        all_names = list(dict.fromkeys(names + filter_names + geometry_names))
        try:
            if candidates and filter_names and len(filter_names) < len(all_names):
                # Read only the filter columns first; row groups without a candidate row are not
                # read any further.
                reader.prefetch(_column_ranges(metadata, leaves, candidates, filter_names))
                surviving = []
                for i in candidates:
                    part = parquet.read_row_group(i, columns=filter_names)
                    mask = _attribute_mask(part, layout, query)
                    if mask is None or pc.any(mask).as_py():
                        surviving.append(i)
                candidates = surviving
            if candidates:
                reader.prefetch(_column_ranges(metadata, leaves, candidates, all_names))
                table = parquet.read_row_groups(candidates, columns=all_names)
            else:
                table = parquet.schema_arrow.empty_table().select(all_names)
        except (pa.ArrowException, OSError) as exc:
            raise DownloadError(f"collection {ref_id!r}: could not read {reader.safe_url}: {exc}") from exc

        mask = _attribute_mask(table, layout, query)
        if mask is not None:
            table = table.filter(mask)
        geometry = decode_geometry(table, layout)
        if not layout.crs_is_4326 and len(geometry):
            crs = (layout.geo_metadata or {}).get("columns", {}).get(layout.geometry_column, {}).get("crs")
            geometry = np.asarray(gpd.GeoSeries(geometry, crs=crs).to_crs(4326).array, dtype=object)
        if query.spatial is not None:
            shape = query.spatial.shape
            shapely.prepare(shape)
            keep = shapely.intersects(shape, geometry)
            if not keep.all():
                table = table.filter(pa.array(keep))
                geometry = geometry[keep]
            if query.clip and len(geometry):
                geometry = shapely.intersection(geometry, shape)
        table = _canonical_table(table, query.columns, names, ref_id)
        return CollectionResult(
            ref_id=ref_id,
            table=table,
            geometry=geometry,
            row_groups_total=metadata.num_row_groups,
            row_groups_read=len(candidates),
            bytes_read=reader.bytes_received,
            requests=reader.requests_made,
        )
    except pa.ArrowException as exc:
        raise DownloadError(f"collection {ref_id!r}: could not read {reader.safe_url}: {exc}") from exc


def _open_parquet(reader: HttpRangeReader, ref_id: str) -> tuple[pq.ParquetFile, pq.FileMetaData, FileLayout]:
    try:
        parquet = pq.ParquetFile(RangeFile(reader), pre_buffer=False)
        return parquet, parquet.metadata, FileLayout.from_schema(parquet.schema_arrow)
    except DownloadError as exc:
        raise DownloadError(f"collection {ref_id!r}: {exc}") from exc
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DownloadError(f"collection {ref_id!r}: {reader.safe_url} is not a readable Parquet file: {exc}") from exc


def _canonical_table(table: pa.Table, columns: Sequence[str], present: Sequence[str], ref_id: str) -> pa.Table:
    """Select the requested attribute columns in order, with the RDM dtypes; add ``ref_id``."""
    arrays, fields = [], []
    n = table.num_rows
    for name in columns:
        if name == "geometry":
            continue
        if name == "ref_id":
            array = pa.chunked_array([pa.repeat(pa.scalar(ref_id, pa.string()), n)])
        elif name in present:
            array = table.column(name)
            if name in INTEGER_COLUMNS:
                array = _as_int64(array)
            elif name == "valid_time":
                array = as_timestamp(array)
            elif name in STRING_COLUMNS:
                array = _as_string(array)
            elif pa.types.is_dictionary(array.type):
                array = array.cast(array.type.value_type)
        else:
            array = pa.chunked_array([pa.nulls(n, _standard_type(name))])
        arrays.append(array)
        fields.append(pa.field(name, array.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _standard_type(name: str) -> pa.DataType:
    if name in INTEGER_COLUMNS:
        return pa.int64()
    if name == "valid_time":
        return _NS
    return pa.string()


# --------------------------------------------------------------------------------------------------
# Assembling a GeoDataFrame


def _concat_tables(tables: list[pa.Table]) -> pa.Table:
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        # Collections disagree on a non-standard column's type: fall back to text for those columns.
        names = tables[0].column_names
        conflicting = {n for n in names if len({t.schema.field(n).type for t in tables}) > 1}
        fixed = list(tables)
        for n in conflicting:
            fixed = [t.set_column(t.schema.get_field_index(n), n, t.column(n).cast(pa.string())) for t in fixed]
        return pa.concat_tables(fixed, promote_options="permissive")


def to_geodataframe(results: Sequence[CollectionResult], columns: Sequence[str]) -> gpd.GeoDataFrame:
    """One EPSG:4326 GeoDataFrame from per-collection results, in their order.

    The results are consumed: their tables and geometry arrays are released as the frame is built,
    so Arrow buffers can be freed while pandas columns are filled.
    """
    tables = [r.table for r in results]
    if not tables:
        tables = [_canonical_table(pa.table({}), columns, [], "")]
    geometry = np.concatenate([r.geometry for r in results]) if results else np.array([], dtype=object)
    for result in results:
        result.table = result.geometry = None  # type: ignore[assignment]
    table = _concat_tables(tables)
    del tables
    ints_with_nulls = any(
        name in INTEGER_COLUMNS and table.column(name).null_count for name in table.column_names
    )
    frame = table.to_pandas(
        types_mapper=(lambda t: pd.Int64Dtype() if t == pa.int64() else None) if ints_with_nulls else None,
        split_blocks=True,
        self_destruct=True,
    )
    del table
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326", index=frame.index))
    ordered = [c for c in columns if c in gdf.columns]
    return gdf[ordered]


# --------------------------------------------------------------------------------------------------
# Many collections


def _session_timeout(client: Any) -> Any:
    return getattr(client, "timeout", (5, 60))


#: Seconds a query runs before its progress bars appear (``progress=True`` shows them at once).
PROGRESS_DELAY_S = 1.0


def _progress_bars(progress: Any, total: int):
    """tqdm bars over collections and bytes, or ``None`` when the caller chose a callback or nothing."""
    if progress is False or callable(progress):
        return None
    from tqdm.auto import tqdm

    in_notebook = tqdm.__module__.startswith("tqdm.notebook")
    disable = False if (progress is True or in_notebook) else None  # None: only on a terminal
    # Bars show only for queries that take a while: quick ones would leave stubs in saved notebooks.
    delay = 0 if progress is True else PROGRESS_DELAY_S
    collections = tqdm(total=total, desc="collections", unit="coll", disable=disable, leave=False, delay=delay)
    transferred = tqdm(total=None, desc="downloaded", unit="B", unit_scale=True, unit_divisor=1024,
                       disable=disable, leave=False, delay=delay)
    return collections, transferred


class _ByteCounter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def __call__(self, n: int) -> None:
        with self._lock:
            self.value += n


def read_samples(
    client: Any,
    *,
    ref_ids: Sequence[str] | str | None = None,
    columns: Sequence[str] | None = None,
    subset: bool = False,
    spatial_extent: Any = None,
    temporal_extent: Any = None,
    ewoc_codes: Any = None,
    include_public: bool = True,
    include_private: bool = False,
    min_quality_lc: Any = 0,
    min_quality_ct: Any = 0,
    clip: bool = False,
    engine: str = "pandas",
    progress: Any = None,
    cancel_event: threading.Event | None = None,
    on_error: str = "raise",
    dask_client: Any = None,
) -> gpd.GeoDataFrame:
    """Samples matching a query across collections, reading only the parts of the files it needs.

    Parameters
    ----------
    client
        An :class:`~worldcereal_explorer.rdm.client.RdmClient` (its ``get_collections``,
        ``get_download_url``, ``session``, ``timeout`` and ``max_workers`` are used).
    ref_ids
        Collection ids; ``None`` searches the collections matching the extents, codes and access flags.
    columns
        Columns to return (default :data:`DEFAULT_COLUMNS`); ``geometry`` is always returned.
    subset
        Read the subset files (``/sample/download``) and keep only ``extract > 0``.
    spatial_extent
        A bbox-like value or a (Multi)Polygon in EPSG:4326: samples whose geometry intersects it.
    temporal_extent
        ``(start, end)``: samples whose ``valid_time`` falls within, both days included.
    ewoc_codes
        Keep samples with one of these codes.
    include_public, include_private
        Which collections the search considers (only used when ``ref_ids`` is ``None``).
    min_quality_lc, min_quality_ct
        Keep samples whose quality scores are at least these (0 disables the filter).
    clip
        Cut geometries to the spatial extent (otherwise whole intersecting geometries are returned).
    engine
        ``"pandas"`` (default) or ``"dask"`` for a lazy ``dask_geopandas.GeoDataFrame``.
    progress
        ``None``: tqdm bars when running in a notebook or a terminal; ``True``: always; ``False``: none;
        a callable: called with :class:`SampleProgress` from the calling thread instead of tqdm.
    cancel_event
        Setting this event stops the query promptly with :class:`QueryCancelledError`.
    on_error
        ``"raise"`` (default) stops at the first collection that cannot be read; ``"skip"`` continues,
        warns and lists the skipped ids in ``gdf.attrs["skipped"]`` (``{ref_id: reason}``).
    dask_client
        ``engine="dask"`` only: a ``dask.distributed.Client`` whose workers read the partitions. The
        frame is persisted there (reading starts in the background and the partitions stay in the
        cluster's memory). Without it the frame is lazy and runs on the default scheduler, which is
        any ``Client`` created earlier in the session.

    Returns
    -------
    geopandas.GeoDataFrame or dask_geopandas.GeoDataFrame
        EPSG:4326; ``valid_time`` datetime64[ns], codes and scores int64, a ``ref_id`` column.
        ``attrs`` holds ``skipped`` and ``read_stats`` (bytes, requests, row groups read/total).

    Raises
    ------
    InvalidInputError
        For invalid extents, codes, columns or options (the message names the value).
    DownloadError, RdmError
        When a collection cannot be read and ``on_error="raise"``; the message names the collection.
    QueryCancelledError
        When ``cancel_event`` is set.
    """
    if engine not in ENGINES:
        raise BadParameterError(f"engine={engine!r} is not allowed; use one of {list(ENGINES)}")
    if on_error not in ON_ERROR:
        raise BadParameterError(f"on_error={on_error!r} is not allowed; use one of {list(ON_ERROR)}")
    query = SampleQuery.build(
        columns=columns,
        subset=subset,
        spatial_extent=spatial_extent,
        temporal_extent=temporal_extent,
        ewoc_codes=ewoc_codes,
        min_quality_lc=min_quality_lc,
        min_quality_ct=min_quality_ct,
        clip=clip,
    )
    if ref_ids is None:
        collections = client.get_collections(
            spatial_extent=query.spatial,
            temporal_extent=query.temporal,
            include_public=include_public,
            include_private=include_private,
            ewoc_codes=None if query.ewoc_codes is None else list(query.ewoc_codes),
        )
        ids = [c.id if hasattr(c, "id") else str(c) for c in collections]
    else:
        if isinstance(ref_ids, str):
            ref_ids = [ref_ids]
        ids = list(ref_ids)
        if include_private and hasattr(client, "authenticate"):
            # Collections named directly skip the search, which is where a login would otherwise start.
            client.authenticate()
        bad = [r for r in ids if not isinstance(r, str) or not r.strip()]
        if bad:
            raise BadParameterError(f"ref_ids {bad!r} are not allowed; collection ids are non-empty strings")
    ids = list(dict.fromkeys(ids))
    if engine == "dask":
        return read_samples_dask(client, ids, query, on_error=on_error, cancel_event=cancel_event,
                                 progress=progress, dask_client=dask_client)
    return _read_many(client, ids, query, progress=progress, cancel_event=cancel_event, on_error=on_error)


def _map_collections(client: Any, ids: list[str], work: Callable[[str, AnyEvent, _ByteCounter], Any], *,
                     progress: Any, cancel_event: threading.Event | None, on_error: str
                     ) -> tuple[list[Any], dict[str, str], int]:
    """Run ``work(ref_id, cancelled, on_bytes)`` for each id on a bounded pool.

    Returns the results in input order (skipped ids left out), the skipped ids with their reasons,
    and the bytes received. Fail-fast errors and cancellation stop the other workers at their next
    chunk; no worker thread outlives this call.
    """
    stop = threading.Event()
    cancelled = AnyEvent(cancel_event, stop)
    counter = _ByteCounter()
    results: dict[int, Any] = {}
    skipped: dict[str, str] = {}
    bars = _progress_bars(progress, len(ids))
    done_count = 0
    reported_bytes = 0
    workers = max(1, min(int(getattr(client, "max_workers", 8) or 8), len(ids) or 1))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wce-samples")
    try:
        futures = {pool.submit(work, ref_id, cancelled, counter): i for i, ref_id in enumerate(ids)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            if cancel_event is not None and cancel_event.is_set():
                raise QueryCancelledError(f"sample query cancelled after {done_count} of {len(ids)} collections")
            for future in sorted(done, key=futures.__getitem__):
                index = futures[future]
                error = future.exception()
                if error is None:
                    results[index] = future.result()
                elif isinstance(error, (QueryCancelledError, InvalidInputError)) or on_error == "raise":
                    raise _with_ref_id(error, ids[index])
                else:
                    skipped[ids[index]] = str(error)
                    logger.warning("skipping collection %s: %s", ids[index], error)
                done_count += 1
            current = counter.value
            if bars is not None:
                bars[0].update(len(done))
                bars[1].update(current - reported_bytes)
            changed = bool(done) or current != reported_bytes
            reported_bytes = current
            if callable(progress) and (changed or not pending):
                last = ids[max(futures[f] for f in done)] if done else None
                progress(SampleProgress(done_count, len(ids), reported_bytes, last, done=not pending))
        if not ids and callable(progress):
            progress(SampleProgress(0, 0, 0, None, done=True))
    except BaseException:
        stop.set()
        raise
    finally:
        # Running workers stop at their next chunk once ``stop`` is set; queued ones never start.
        pool.shutdown(wait=True, cancel_futures=True)
        if bars is not None:
            for bar in bars:
                bar.close()
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} collection(s) that could not be read: {sorted(skipped)}",
            RuntimeWarning,
            stacklevel=5,  # the caller of RdmClient.get_samples
        )
    return [results[i] for i in sorted(results)], skipped, counter.value


def _request_slots(client: Any) -> threading.BoundedSemaphore:
    # The client's connection pool keeps max(max_workers, 10) connections per host; more requests in
    # flight would open (and then discard) extra connections.
    return threading.BoundedSemaphore(max(int(getattr(client, "max_workers", 8) or 8), 10))


def _read_many(client: Any, ids: list[str], query: SampleQuery, *, progress: Any,
               cancel_event: threading.Event | None, on_error: str) -> gpd.GeoDataFrame:
    timeout = _session_timeout(client)
    slots = _request_slots(client)

    def work(ref_id: str, cancelled: AnyEvent, counter: _ByteCounter) -> CollectionResult:
        if cancelled.is_set():
            raise QueryCancelledError("query cancelled")
        url = sample_file_url(client, ref_id, query.subset)
        return read_samples_from_url(client.session, url, query, ref_id=ref_id,
                                     timeout=timeout, cancel_event=cancelled, on_bytes=counter,
                                     request_slots=slots)

    ordered, skipped, nbytes = _map_collections(client, ids, work, progress=progress,
                                                cancel_event=cancel_event, on_error=on_error)
    gdf = to_geodataframe(ordered, query.columns)
    gdf.attrs["skipped"] = skipped
    gdf.attrs["read_stats"] = {
        "collections": len(ids),
        "bytes": nbytes,
        "requests": sum(r.requests for r in ordered),
        "row_groups_total": sum(r.row_groups_total for r in ordered),
        "row_groups_read": sum(r.row_groups_read for r in ordered),
    }
    return gdf


# --------------------------------------------------------------------------------------------------
# Dask engine


@dataclass(frozen=True)
class PartitionSpec:
    """What one Dask partition reads: some row groups of one collection's file."""

    url: str
    ref_id: str
    row_groups: tuple[int, ...]
    headers: tuple[tuple[str, str], ...] = ()
    timeout: Any = (5, 60)


_WORKER_SESSIONS: dict[int, requests.Session] = {}


def _worker_session() -> requests.Session:
    """One retrying session per worker process (sessions do not travel between processes)."""
    import os

    session = _WORKER_SESSIONS.get(os.getpid())
    if session is None:
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        session = requests.Session()
        retry = Retry(total=4, backoff_factor=0.2, status_forcelist=(429, 500, 502, 503, 504),
                      allowed_methods=frozenset({"GET", "HEAD"}))
        session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=16))
        session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=16))
        _WORKER_SESSIONS[os.getpid()] = session
    return session


def read_partition(spec: PartitionSpec, query: SampleQuery) -> gpd.GeoDataFrame:
    """Read one Dask partition (runs on a worker)."""
    result = read_samples_from_url(_worker_session(), spec.url, query, ref_id=spec.ref_id, timeout=spec.timeout,
                                   row_groups=spec.row_groups, headers=dict(spec.headers))
    return to_geodataframe([result], query.columns)


#: Rows per Dask partition to aim for: row groups are joined until a partition holds about this many.
PARTITION_ROWS = 100_000


def _partition_row_groups(metadata: pq.FileMetaData, row_groups: Sequence[int]) -> list[list[int]]:
    """Group row groups into partitions of about :data:`PARTITION_ROWS` rows (small groups are joined)."""
    parts: list[list[int]] = []
    rows = 0
    for i in row_groups:
        n = metadata.row_group(i).num_rows
        if parts and rows + n <= PARTITION_ROWS:
            parts[-1].append(i)
            rows += n
        else:
            parts.append([i])
            rows = n
    return parts


def _auth_headers(session: requests.Session, url: str) -> tuple[tuple[str, str], ...]:
    """The ``Authorization`` header the client's session would send to ``url`` (if any).

    Workers get a fresh session, so the header the client's auth hook adds (only for the RDM host)
    is prepared here and shipped with the partition instead of the hook itself.
    """
    prepared = session.prepare_request(requests.Request("GET", url))
    value = prepared.headers.get("Authorization")
    return (("Authorization", value),) if value else ()


def read_samples_dask(client: Any, ids: list[str], query: SampleQuery, *, on_error: str,
                      cancel_event: threading.Event | None, progress: Any = False, dask_client: Any = None):
    """Build the lazy ``dask_geopandas.GeoDataFrame`` for ``query`` over ``ids``.

    Footers are read now (small), to validate the columns and prune row groups by their statistics;
    row groups are read and filtered lazily: each partition holds one or more row groups of one
    collection (joined up to about :data:`PARTITION_ROWS` rows).
    """
    try:
        import dask.dataframe as dd
        import dask_geopandas  # noqa: F401  (registers the GeoDataFrame collection type with dask)
    except ImportError as exc:
        raise ImportError(
            "engine='dask' needs dask and dask-geopandas: pip install 'worldcereal-explorer[dask]'"
        ) from exc

    timeout = _session_timeout(client)

    def plan(ref_id: str, cancelled: AnyEvent, counter: _ByteCounter) -> tuple[list[PartitionSpec], pa.Table]:
        url = sample_file_url(client, ref_id, query.subset)
        real_id = ref_id
        headers = _auth_headers(client.session, url)
        reader = HttpRangeReader(client.session, url, timeout=timeout, cancel_event=cancelled, on_bytes=counter)
        parquet, metadata, layout = _open_parquet(reader, real_id)
        names = _requested_names(layout, query, real_id)
        leaves = _leaf_index(metadata)
        groups = [i for i in range(metadata.num_row_groups)
                  if row_group_may_match(metadata.row_group(i), leaves, layout, query)]
        empty = _canonical_table(parquet.schema_arrow.empty_table(), query.columns, names, real_id)
        specs = [PartitionSpec(url, real_id, tuple(part), headers, timeout)
                 for part in _partition_row_groups(metadata, groups)]
        return specs, empty

    planned, skipped, _ = _map_collections(client, ids, plan, progress=progress, cancel_event=cancel_event,
                                           on_error=on_error)
    specs = [spec for collection_specs, _ in planned for spec in collection_specs]
    empties = [CollectionResult("", table, np.array([], dtype=object)) for _, table in planned]
    meta = to_geodataframe(empties, query.columns)
    meta.attrs["skipped"] = skipped  # also warned about; reachable as ``frame._meta.attrs``
    if specs:
        frame = dd.from_map(functools.partial(read_partition, query=query), specs, meta=meta,
                            enforce_metadata=False, label="rdm-samples")
    else:
        frame = dd.from_pandas(meta, npartitions=1)
    if dask_client is not None:
        frame = dask_client.persist(frame)
    return frame


def sample_file_url(client: Any, ref_id: str, subset: bool) -> str:
    """URL of the file to read for ``ref_id``: the extraction subset when asked for and published.

    Only large public collections are subsampled; for the others the RDM has no subset file, so the
    full file is read (the ``extract > 0`` filter still applies, as in the reference client).
    """
    if subset:
        try:
            return client.get_download_url(ref_id, subset=True)
        except (UnknownCollectionError, RdmHttpError) as exc:
            if isinstance(exc, RdmHttpError) and exc.status != 404:
                raise
            logger.info("collection %s has no subset file; reading the full file with extract > 0", ref_id)
    return client.get_download_url(ref_id, subset=False)


def _with_ref_id(error: BaseException, ref_id: str) -> BaseException:
    """Errors already naming the collection pass through; others are wrapped in one that does."""
    if ref_id in str(error) or isinstance(error, (QueryCancelledError, InvalidInputError)):
        return error
    if isinstance(error, WorldCerealExplorerError):
        return DownloadError(f"collection {ref_id!r}: {error}").with_traceback(error.__traceback__)
    wrapped = DownloadError(f"collection {ref_id!r}: {type(error).__name__}: {error}")
    wrapped.__cause__ = error
    return wrapped

