"""From Arrow to the returned frame: canonical column types, geometry decoding, one GeoDataFrame."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from .layout import FileLayout, is_text
from .query import INTEGER_COLUMNS, STRING_COLUMNS

__all__ = ["CollectionResult", "as_int64", "as_string", "as_timestamp", "canonical_table", "decode_geometry", "to_geodataframe",
           "wkb_point_coordinates"]

NS = pa.timestamp("ns")


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
        return column.cast(NS)
    if pa.types.is_date(t):
        return column.cast(pa.timestamp("s")).cast(NS)
    if pa.types.is_null(t):
        return pa.chunked_array([pa.nulls(len(column), NS)])
    values = column.to_pandas()
    if is_text(t):
        parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
        if parsed.isna().sum() > values.isna().sum():  # not all ISO: let pandas guess per value
            parsed = pd.to_datetime(values, format="mixed", utc=True, errors="coerce")
    else:
        parsed = pd.to_datetime(values, utc=True, errors="coerce")
    parsed = parsed.dt.tz_localize(None).astype("datetime64[ns]")
    return pa.chunked_array([pa.array(parsed, type=NS, from_pandas=True)])


def as_int64(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """An integer column as int64 (dictionary, narrower ints, floats and numeric text included)."""
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


def as_string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column as plain ``string``."""
    t = column.type
    if pa.types.is_dictionary(t):
        column = column.cast(t.value_type)
        t = column.type
    if pa.types.is_string(t):
        return column
    return column.cast(pa.string())


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
        import geopandas as gpd

        # GeoParquet names a native encoding in its "geo" metadata; GeoArrow readers look for it on the
        # field, so the column is handed over with the extension name GeoArrow gives that encoding.
        meta = ((layout.geo_metadata or {}).get("columns") or {}).get(layout.geometry_column) or {}
        extension = f"geoarrow.{str(meta.get('encoding', '')).lower()}".encode()
        field = pa.field(layout.geometry_column, column.type, metadata={b"ARROW:extension:name": extension})
        frame = gpd.GeoDataFrame.from_arrow(pa.table([column], schema=pa.schema([field])))
        return np.asarray(frame.geometry.array, dtype=object)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    values = column.to_numpy(zero_copy_only=False) if column.num_chunks else np.array([], dtype=object)
    if layout.geometry_kind == "wkt":
        return shapely.from_wkt(values, on_invalid="warn")
    return shapely.from_wkb(values, on_invalid="warn")


#: A 2D point in little-endian WKB: byte order 1, geometry type 1 (uint32), then x and y (float64).
_WKB_POINT_SIZE = 21
_WKB_POINT_HEADER = np.array([1, 1, 0, 0, 0], dtype=np.uint8)


def wkb_point_coordinates(table: pa.Table, layout: FileLayout) -> tuple[np.ndarray, np.ndarray] | None:
    """The x and y of every row read straight from the WKB bytes, when every geometry is a non-empty
    little-endian 2D point (the RDM's point collections); else ``None`` (then decode the geometries).

    Deciding a spatial filter from these coordinates costs a fraction of decoding the points into GEOS
    objects, which a query that keeps a few rows of a row group then does only for those.
    """
    if layout.geometry_kind != "wkb" or layout.geometry_column is None:
        return None
    column = table.column(layout.geometry_column)
    if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)) or column.null_count:
        return None
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    n = len(array)
    offset_type = np.int64 if pa.types.is_large_binary(array.type) else np.int32
    offsets = np.frombuffer(array.buffers()[1], dtype=offset_type)[array.offset:array.offset + n + 1]
    if n == 0 or offsets[-1] - offsets[0] != n * _WKB_POINT_SIZE or np.any(np.diff(offsets) != _WKB_POINT_SIZE):
        return None
    records = np.frombuffer(array.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(n, _WKB_POINT_SIZE)
    if np.any(records[:, :5] != _WKB_POINT_HEADER):
        return None
    x = np.ascontiguousarray(records[:, 5:13]).view("<f8").ravel()
    y = np.ascontiguousarray(records[:, 13:21]).view("<f8").ravel()
    if np.isnan(x).any() or np.isnan(y).any():  # POINT EMPTY: leave it to GEOS
        return None
    return x, y


def to_lonlat(geometry: np.ndarray, layout: FileLayout) -> np.ndarray:
    """``geometry`` in EPSG:4326 (files in another CRS are reprojected)."""
    if layout.crs_is_4326 or not len(geometry):
        return geometry
    return np.asarray(gpd.GeoSeries(geometry, crs=layout.geometry_crs).to_crs(4326).array, dtype=object)


def canonical_table(table: pa.Table, columns: Sequence[str], present: Sequence[str], ref_id: str) -> pa.Table:
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
                array = as_int64(array)
            elif name == "valid_time":
                array = as_timestamp(array)
            elif name in STRING_COLUMNS:
                array = as_string(array)
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
        return NS
    return pa.string()


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
        tables = [canonical_table(pa.table({}), columns, [], "")]
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
