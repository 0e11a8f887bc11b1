"""Write sample GeoParquet files so that filtered remote reads pay off.

Files written here are GeoParquet 1.1 with a ``bbox`` covering column, rows sorted along a Hilbert
curve so each row group covers a compact area, and row groups small enough that a spatial query touches
few of them. Readers that know none of this (the live API's files may lack both) still read them.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np

from .files import atomic_path

#: Rows per row group: ~10-50k rows keeps row-group statistics selective while footers stay small.
DEFAULT_ROW_GROUP_SIZE = 20_000


def hilbert_order(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Return the positional order that sorts ``gdf`` along a Hilbert curve of its geometry centres."""
    if len(gdf) < 2:
        return np.arange(len(gdf))
    bounds = gdf.geometry.bounds
    cx = ((bounds["minx"] + bounds["maxx"]) / 2).to_numpy()
    cy = ((bounds["miny"] + bounds["maxy"]) / 2).to_numpy()
    # GeoSeries.hilbert_distance works on the whole extent; compute on centre points to be robust for
    # mixed polygons and points.
    centres = gpd.GeoSeries(gpd.points_from_xy(cx, cy), crs=gdf.crs)
    distance = centres.hilbert_distance(level=16).to_numpy()
    return np.argsort(distance, kind="stable")


def write_geoparquet(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike,
    *,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
    sort_spatially: bool = True,
    compression: str = "zstd",
) -> Path:
    """Write ``gdf`` as GeoParquet 1.1 with a bbox covering column, atomically.

    Parameters
    ----------
    gdf
        Samples to write; must have a CRS (EPSG:4326 for RDM files).
    path
        Destination file; missing folders are created. It only appears once the file is complete
        (temp file + rename); a failed write leaves neither the file nor the folders it created.
    row_group_size
        Maximum rows per row group.
    sort_spatially
        Sort rows along a Hilbert curve first, so row groups are spatially compact.
    compression
        Parquet codec.

    Returns
    -------
    pathlib.Path
        ``path``, once complete, in row groups of at most ``row_group_size`` rows.

    Raises
    ------
    OSError
        When writing fails (for example disk full); the message names ``path``.
    """
    if sort_spatially and len(gdf) > 1:
        gdf = gdf.iloc[hilbert_order(gdf)].reset_index(drop=True)
    with atomic_path(path) as tmp:
        gdf.to_parquet(
            tmp,
            index=False,
            compression=compression,
            write_covering_bbox=True,
            schema_version="1.1.0",
            row_group_size=row_group_size,
        )
    return Path(path)
