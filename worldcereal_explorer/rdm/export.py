"""Save sample GeoDataFrames as GeoParquet 1.1, GeoPackage, GeoJSON or CSV (geometry as WKT).

Every format is written through :func:`worldcereal_explorer.files.atomic_path`: to a temp file in the
destination folder, renamed into place when complete, so an interrupted or failed export (cancel, disk
full) leaves neither a partial file nor the folders it created.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from ..errors import BadParameterError
from ..files import atomic_path, gdal_temp_path
from ..geoparquet import write_geoparquet

__all__ = ["EXPORT_FORMATS", "export_samples", "format_from_path", "read_exported"]

#: Format names and the file suffixes that select them.
EXPORT_FORMATS = {
    "parquet": (".parquet", ".geoparquet"),
    "gpkg": (".gpkg",),
    "geojson": (".geojson", ".json"),
    "csv": (".csv",),
}
_ALIASES = {"geoparquet": "parquet", "geopackage": "gpkg", "json": "geojson"}


def format_from_path(path: str | os.PathLike, format: str | None = None) -> str:
    """The export format for ``path``: ``format`` if given, else from the file suffix.

    Raises
    ------
    BadParameterError
        For an unknown format or suffix; the message lists the allowed ones.
    """
    allowed = sorted(EXPORT_FORMATS)
    if format is not None:
        name = _ALIASES.get(str(format).lower(), str(format).lower())
        if name not in EXPORT_FORMATS:
            raise BadParameterError(f"export format {format!r} is not allowed; use one of {allowed}")
        return name
    suffix = Path(path).suffix.lower()
    for name, suffixes in EXPORT_FORMATS.items():
        if suffix in suffixes:
            return name
    known_suffixes = sorted(s for group in EXPORT_FORMATS.values() for s in group)
    raise BadParameterError(
        f"cannot tell the export format of {str(path)!r} from its suffix {suffix!r}; "
        f"use one of the suffixes {known_suffixes} or pass format= one of {allowed}"
    )


def export_samples(gdf: Any, path: str | os.PathLike, format: str | None = None) -> Path:
    """Write samples to ``path`` atomically.

    Parameters
    ----------
    gdf
        A GeoDataFrame (or a ``dask_geopandas.GeoDataFrame``, which is computed first).
    path
        Destination file; missing folders are created (and removed again if the export fails).
    format
        ``"parquet"`` (GeoParquet 1.1 with a bbox covering column), ``"gpkg"``, ``"geojson"`` or
        ``"csv"`` (geometry as full-precision WKT in a ``geometry`` column). ``None``: from the suffix.

    Returns
    -------
    pathlib.Path
        ``path``, holding every row of ``gdf`` in the chosen format.

    Raises
    ------
    BadParameterError
        For an unknown format, an object that is not a GeoDataFrame, or a folder that cannot be created.
    OSError
        When writing fails (for example disk full); the message names ``path``.
    """
    fmt = format_from_path(path, format)
    if hasattr(gdf, "compute") and not isinstance(gdf, gpd.GeoDataFrame):
        gdf = gdf.compute()
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise BadParameterError(f"export_samples needs a GeoDataFrame, got {type(gdf).__name__}")
    if fmt == "parquet":
        # Keep the caller's row order: exports should read back as they were written.
        return write_geoparquet(gdf, path, sort_spatially=False)
    with atomic_path(path) as tmp:
        if fmt == "csv":
            frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
            frame[gdf.geometry.name] = shapely.to_wkt(gdf.geometry.array, rounding_precision=-1)
            frame = frame[list(gdf.columns)]
            frame.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S")
        else:
            _write_with_gdal(gdf, tmp, fmt, final=Path(path))
    return Path(path)


def _write_with_gdal(gdf: gpd.GeoDataFrame, tmp: Path, fmt: str, *, final: Path) -> None:
    import pyogrio

    driver = "GPKG" if fmt == "gpkg" else "GeoJSON"
    kwargs: dict[str, Any] = {"driver": driver}
    if fmt == "gpkg":
        kwargs["layer"] = "samples"
    else:
        # GDAL's default of 15 significant digits does not round-trip every double.
        kwargs["layer_options"] = {"SIGNIFICANT_FIGURES": 17, "WRITE_NAME": "NO"}
    if len(gdf) == 0 or gdf.geom_type.nunique() > 1:
        kwargs["geometry_type"] = "Unknown"
    with gdal_temp_path(tmp, final) as gdal_tmp:
        pyogrio.write_dataframe(gdf, gdal_tmp, **kwargs)


def read_exported(path: str | os.PathLike, format: str | None = None) -> gpd.GeoDataFrame:
    """Read a file written by :func:`export_samples` back into a GeoDataFrame (EPSG:4326)."""
    fmt = format_from_path(path, format)
    if fmt == "parquet":
        return gpd.read_parquet(path)
    if fmt == "csv":
        frame = pd.read_csv(path, dtype={"sample_id": str, "h3_l3_cell": str, "ref_id": str})
        if "valid_time" in frame:
            frame["valid_time"] = pd.to_datetime(frame["valid_time"]).astype("datetime64[ns]")
        geometry = shapely.from_wkt(frame.pop("geometry").to_numpy())
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"))
    return gpd.read_file(path, engine="pyogrio")
