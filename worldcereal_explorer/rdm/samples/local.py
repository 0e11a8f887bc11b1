"""Samples from the user's own file (``get_samples(ground_truth_file=...)``), through the same engine.

The reference client added ``ground_truth_file`` because private downloads failed: users downloaded their
file from the RDM web UI and queried it locally. We run the very same filters on it as on the RDM's files:
a (Geo)Parquet file, local or at an http(s) URL, is read by row groups like a remote collection file; a
GeoPackage, GeoJSON or zipped Shapefile is first turned into an in-memory GeoParquet file.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ...errors import BadParameterError, DownloadError
from .collection import read_samples_from_reader, read_samples_from_url
from .convert import CollectionResult
from .query import SampleQuery

__all__ = ["read_ground_truth_file", "GROUND_TRUTH_FORMATS"]

#: File endings read as Parquet; every other allowed ending is read with pyogrio first.
_PARQUET = (".parquet", ".geoparquet")
GROUND_TRUTH_FORMATS = (*_PARQUET, ".gpkg", ".geojson", ".json", ".zip", ".shp")


class BytesReader:
    """The range-reader interface over bytes in memory (a local file's contents)."""

    def __init__(self, data: bytes, name: str):
        self._data = data
        self.url = name
        self.size = len(data)
        self.bytes_received = 0
        self.requests_made = 0

    @property
    def safe_url(self) -> str:
        return self.url

    def open(self) -> BytesReader:
        return self

    def prefetch(self, ranges: list[tuple[int, int]], **_: Any) -> None:
        """Nothing to fetch: the bytes are here."""

    def fetch_range(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` (the streaming readers' interface)."""
        return self.read_at(start, end - start)

    def read_at(self, offset: int, length: int) -> bytes:
        data = self._data[offset : offset + length]
        self.bytes_received += len(data)
        return data


def _as_geoparquet_bytes(path: Path) -> bytes:
    import geopandas as gpd

    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises DataSourceError and friends for unreadable files
        raise BadParameterError(
            f"ground_truth_file {str(path)!r} could not be read ({exc}); allowed: {', '.join(GROUND_TRUTH_FORMATS)}"
        ) from None
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, write_covering_bbox=True, schema_version="1.1.0")
    return buffer.getvalue()


def read_ground_truth_file(transport: Any, source: str | os.PathLike[str], query: SampleQuery, *,
                           scope: Any) -> CollectionResult:
    """The samples of the user's own file that match ``query`` (``ref_id`` = the file's name without suffix).

    Raises
    ------
    BadParameterError
        When the file does not exist or its format is not one of :data:`GROUND_TRUTH_FORMATS`.
    DownloadError
        When the file is not a valid (Geo)Parquet file or cannot be fetched.
    """
    text = os.fspath(source)
    if text.startswith(("http://", "https://")):
        name = text.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return read_samples_from_url(transport, text, query, ref_id=_stem(name), scope=scope)
    path = Path(text).expanduser()
    suffix = path.suffix.lower()
    if suffix not in GROUND_TRUTH_FORMATS:
        raise BadParameterError(
            f"ground_truth_file {text!r} has the ending {suffix or '(none)'!r}; allowed: {', '.join(GROUND_TRUTH_FORMATS)}"
        )
    if not path.is_file():
        raise BadParameterError(f"ground_truth_file {text!r} does not exist (or is not a file)")
    data = path.read_bytes() if suffix in _PARQUET else _as_geoparquet_bytes(path)
    try:
        return read_samples_from_reader(BytesReader(data, str(path)), query, ref_id=_stem(path.name))
    except DownloadError as exc:
        raise DownloadError(f"ground_truth_file {text!r}: {exc}") from None


def _stem(name: str) -> str:
    for ending in (".geoparquet", ".parquet", ".gpkg", ".geojson", ".json", ".zip", ".shp"):
        if name.lower().endswith(ending):
            return name[: -len(ending)] or name
    return name
