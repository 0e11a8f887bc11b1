"""The exact spatial test of a row group's rows, deciding as many rows as possible from the covering bbox.

A row's covering bbox (GeoParquet 1.1 ``bbox`` column) settles the test for most rows without decoding a
geometry: a bbox inside the query extent means the geometry intersects it; a bbox disjoint from it means
it does not; a point (a degenerate bbox, stored as float64) is tested exactly from its coordinates. Only
rows whose bbox straddles the extent's edge need their geometry (:func:`spatial_keep`'s ``load_geometry``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from .layout import FileLayout
from .query import SampleQuery

__all__ = ["covering_arrays", "covering_usable", "spatial_keep"]


def covering_usable(layout: FileLayout) -> bool:
    """Whether the file's covering bbox column can stand in for its geometries (lon/lat, GeoParquet 1.1)."""
    return bool(layout.covering) and layout.crs_is_4326


def covering_arrays(table: pa.Table, layout: FileLayout) -> tuple[np.ndarray, ...] | None:
    """``xmin, ymin, xmax, ymax`` as float64 arrays (nulls as NaN), or ``None`` when not in ``table``."""
    if not covering_usable(layout) or layout.covering_column not in table.column_names:
        return None
    assert layout.covering is not None
    cover = table.column(layout.covering_column)
    out = []
    for key in ("xmin", "ymin", "xmax", "ymax"):
        part = pc.struct_field(cover, layout.covering[key][1])
        out.append(np.asarray(pc.fill_null(part.cast(pa.float64()), np.nan).to_numpy(), dtype=np.float64))
    return tuple(out)


def _exact_points(table: pa.Table, layout: FileLayout) -> bool:
    """Float64 covering values equal the point coordinates (float32 ones are rounded outwards)."""
    assert layout.covering is not None
    cover_type = table.schema.field(layout.covering_column).type
    return all(pa.types.is_float64(cover_type.field(layout.covering[k][1]).type) for k in ("xmin", "ymin"))


_thread_shapes = threading.local()


def thread_shape(spatial: Any) -> Any:
    """This thread's own prepared copy of ``spatial.shape``.

    GEOS prepared geometries build their indexes lazily on first use, so one shared among the reading
    threads crashes the process now and then (seen: a segfault in ``shapely.intersects``). Each thread
    therefore prepares a copy of its own, once per query extent.
    """
    entry = getattr(_thread_shapes, "entry", None)
    if entry is None or entry[0] is not spatial:
        shape = shapely.from_wkb(shapely.to_wkb(spatial.shape))
        shapely.prepare(shape)
        entry = _thread_shapes.entry = (spatial, shape)  # keeps `spatial` alive: its id cannot be reused
    return entry[1]


def spatial_keep(table: pa.Table, layout: FileLayout, query: SampleQuery, *, inside: bool,
                 load_geometry: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, int]:
    """Which rows of ``table`` intersect the query's extent (exactly as ``shapely.intersects`` decides).

    Parameters
    ----------
    table
        Rows of one row group (already filtered by attributes); holds the covering column when the file has
        one and the row group is not ``inside``.
    layout
        The file's layout.
    query
        The query (``query.spatial`` is the extent).
    inside
        The footer proved every geometry of the row group lies inside the extent.
    load_geometry
        Called with the positions of the rows the covering cannot decide; returns their geometries in
        EPSG:4326 (shapely array). Not called when every row is decided.

    Returns
    -------
    keep : numpy.ndarray of bool
    decoded : int
        How many geometries had to be decoded.
    """
    n = table.num_rows
    if query.spatial is None or inside:
        return np.ones(n, dtype=bool), 0
    shape = thread_shape(query.spatial)
    cover = covering_arrays(table, layout)
    if cover is None:
        geometry = load_geometry(np.arange(n))
        return np.asarray(shapely.intersects(shape, geometry), dtype=bool), n
    xmin, ymin, xmax, ymax = cover
    west, south, east, north = query.spatial.bbox.as_tuple()
    with np.errstate(invalid="ignore"):
        touches_box = (xmin <= east) & (xmax >= west) & (ymin <= north) & (ymax >= south)  # NaN: False
        within_box = (xmin >= west) & (xmax <= east) & (ymin >= south) & (ymax <= north)
    keep = np.zeros(n, dtype=bool)
    if query.spatial.geometry is None:  # a bbox query
        keep[within_box] = True
        undecided = touches_box & ~within_box
    else:
        undecided = touches_box.copy()
        if _exact_points(table, layout):
            points = undecided & (xmin == xmax) & (ymin == ymax)
            if points.any():
                keep[points] = shapely.intersects_xy(shape, xmin[points], ymin[points])
                undecided &= ~points
        if undecided.any():
            rows = np.flatnonzero(undecided)
            boxes = shapely.box(xmin[rows], ymin[rows], xmax[rows], ymax[rows])
            solid = (xmax[rows] > xmin[rows]) & (ymax[rows] > ymin[rows])
            covered = solid & shapely.covers(shape, boxes)
            disjoint = ~shapely.intersects(shape, boxes)
            keep[rows[covered]] = True
            undecided[rows[covered | disjoint]] = False
    decoded = 0
    if undecided.any():
        rows = np.flatnonzero(undecided)
        geometry = load_geometry(rows)
        keep[rows] = np.asarray(shapely.intersects(shape, geometry), dtype=bool)
        decoded = len(rows)
    return keep, decoded
