"""What a sample file holds: its footer (read over HTTP) and where its geometry and columns are."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from ...errors import DownloadError, QueryCancelledError, RdmTimeoutError
from ...transport.http import redact, safe_url

if TYPE_CHECKING:
    from ..download import HttpRangeReader

__all__ = ["FileLayout", "open_parquet", "wrapped_package_error"]


@dataclass(frozen=True)
class FileLayout:
    """What a sample file holds, read from its schema and ``geo`` metadata."""

    names: tuple[str, ...]
    geometry_column: str | None
    geometry_kind: str  # "wkb", "wkt", "lonlat", "geoarrow" or "none"
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
        elif "geometry" in names and is_binary(schema.field("geometry").type):
            geometry_column = "geometry"
        elif "geometry" in names and is_text(schema.field("geometry").type):
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
    def points_only(self) -> bool:
        """Whether the ``geo`` metadata declares only point geometries (WKB): then the geometry column is
        smaller than the four covering columns and tests a point exactly, so it is the spatial filter."""
        if self.geometry_kind != "wkb" or not self.geometry_column:
            return False
        column = ((self.geo_metadata or {}).get("columns") or {}).get(self.geometry_column) or {}
        types = column.get("geometry_types")
        return isinstance(types, list) and bool(types) and all(t in ("Point", "Point Z") for t in types)

    @property
    def geometry_source_columns(self) -> tuple[str, ...]:
        if self.geometry_kind == "lonlat":
            return ("lon", "lat")
        return (self.geometry_column,) if self.geometry_column else ()

    @property
    def geometry_crs(self) -> Any:
        """The geometry column's CRS as the ``geo`` metadata gives it (``None`` when not stated)."""
        return (self.geo_metadata or {}).get("columns", {}).get(self.geometry_column, {}).get("crs")

    @property
    def available(self) -> list[str]:
        """Column names a caller may ask for (``ref_id`` and ``geometry`` always)."""
        hidden = {self.covering_column, self.geometry_column}
        out = [n for n in self.names if n not in hidden]
        for extra in ("ref_id", "geometry"):
            if extra not in out:
                out.append(extra)
        return out


def is_binary(t: pa.DataType) -> bool:
    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t)


def is_text(t: pa.DataType) -> bool:
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


def open_parquet(reader: HttpRangeReader, ref_id: str) -> tuple[pq.ParquetFile, pq.FileMetaData, FileLayout]:
    """Open the remote file's footer: the Parquet reader, its metadata and the file's layout.

    Raises
    ------
    DownloadError
        Naming the collection and the file URL without its query string, when the file cannot be fetched
        or is not a valid Parquet file.
    QueryCancelledError, RdmTimeoutError
        When the read's scope was cancelled or ran out of time.
    """
    from ..download import RangeFile

    where = redact(safe_url(reader.url))
    try:
        file = RangeFile(reader)  # fetches the tail, and the rest of a larger footer
        parquet = pq.ParquetFile(file, metadata=_footer_from_cache(reader), pre_buffer=False)
        return parquet, parquet.metadata, FileLayout.from_schema(parquet.schema_arrow)
    except (QueryCancelledError, RdmTimeoutError):
        raise
    except DownloadError as exc:
        message = redact(exc)
        if where not in message:
            message = f"{where}: {message}"
        raise DownloadError(f"collection {ref_id!r}: {message}") from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        cause = wrapped_package_error(exc)
        if cause is not None:  # pyarrow wraps what the file object raised (cancel, HTTP errors)
            raise cause from None
        raise DownloadError(
            f"collection {ref_id!r}: {where} is not a valid Parquet file ({redact(exc)})"
        ) from None


def _footer_from_cache(reader: Any) -> pq.FileMetaData | None:
    """The file's footer parsed from the bytes the reader already holds, or ``None`` when it does not.

    Left to itself, pyarrow opens a file by reading its last 64 KiB, whatever the footer's size: the
    bytes before a small footer would be fetched for nothing.
    """
    size = getattr(reader, "size", None)
    read_cached = getattr(reader, "read_cached", None)
    if not size or size < 12 or read_cached is None:
        return None
    trailer = read_cached(size - 8, 8)
    if trailer is None or trailer[4:] != b"PAR1":
        return None
    length = int.from_bytes(trailer[:4], "little")
    if length + 12 > size:
        return None
    footer = read_cached(size - 8 - length, length + 8)
    if footer is None:
        return None
    return pq.read_metadata(pa.BufferReader(b"PAR1" + footer))


def wrapped_package_error(exc: BaseException) -> BaseException | None:
    """The package error pyarrow wrapped while calling our file object, if that is what ``exc`` is.

    pyarrow turns an exception raised by a Python file object (a timeout, a cancel, an HTTP error of the
    range reader) into its own ``OSError``/``ArrowInvalid``; the original is on the exception chain.

    Parameters
    ----------
    exc : BaseException
        What a pyarrow call raised.

    Returns
    -------
    BaseException or None
        The first :class:`~worldcereal_explorer.errors.WorldCerealExplorerError` on the chain (``exc``
        itself excluded), else ``None``.
    """
    from ...errors import WorldCerealExplorerError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, WorldCerealExplorerError) and current is not exc:
            return current
        current = current.__cause__ or current.__context__
    return None
