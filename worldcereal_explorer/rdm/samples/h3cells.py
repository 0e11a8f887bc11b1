"""The level-3 H3 cells of a query area, and what they rule out: rows and row groups, by ``h3_l3_cell``.

The RDM's files carry each sample's level-3 cell; where a file has no covering bbox, the cells touching the
query area (plus a one-ring margin) rule rows out without decoding a geometry, and the column's footer
statistics rule whole row groups out. Used by the row-group pruning (:mod:`.pruning`) and the bounded reader
(:mod:`.bounded`).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from .query import SampleQuery

__all__ = ["H3_RESOLUTION", "MAX_H3_AREA_DEG2", "h3_row_group_may_match", "query_cells"]

#: The H3 resolution of the files' ``h3_l3_cell`` column.
H3_RESOLUTION = 3
#: Query areas larger than this (square degrees) are not turned into H3 cells: nearly every row would be a
#: candidate anyway, and the cell set would be large.
MAX_H3_AREA_DEG2 = 400.0


@functools.lru_cache(maxsize=32)
def _cells_of_wkb(wkb: bytes) -> frozenset[str]:
    import h3
    import shapely

    shape = shapely.from_wkb(wkb)
    cells: set[str] = set()
    for part in getattr(shape, "geoms", [shape]):
        if part.is_empty:
            continue
        # h3 refuses some shapes (degenerate ones): the sampled cells below suffice for those.
        with contextlib.suppress(Exception):
            cells.update(h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(part), H3_RESOLUTION, contain="overlap"))
        # The vertices and an inner point as well: a tiny area may fall between the overlap test's samples.
        coords = list(part.exterior.coords) if hasattr(part, "exterior") else list(part.coords)
        point = part.representative_point()
        for x, y in [*coords, (point.x, point.y)]:
            cells.add(h3.latlng_to_cell(y, x, H3_RESOLUTION))
    # One ring of margin: a sample's cell is that of one point of its geometry (its centre), which may lie in
    # a neighbouring cell while the geometry reaches into the area.
    return frozenset(ring for cell in cells for ring in h3.grid_disk(cell, 1))


def query_cells(query: SampleQuery) -> frozenset[str] | None:
    """The level-3 H3 cells whose samples can intersect the query area (with a one-ring margin), as text.

    ``None`` when there is no spatial filter or the area is too large to gain from the cells.
    """
    if query.spatial is None:
        return None
    west, south, east, north = query.spatial.bbox.as_tuple()
    if (east - west) * (north - south) > MAX_H3_AREA_DEG2:
        return None
    import shapely

    return _cells_of_wkb(shapely.to_wkb(query.spatial.shape))


def h3_row_group_may_match(rg: Any, leaves: dict[str, list[int]], query: SampleQuery) -> bool:
    """False when the footer statistics of ``h3_l3_cell`` prove no row of ``rg`` lies in the query's cells
    (level-3 cells as text sort like their numbers, so a range of them holds no cell outside it)."""
    cells = query_cells(query)
    indices = leaves.get("h3_l3_cell")
    if cells is None or not indices or len(indices) != 1:
        return True
    stats = rg.column(indices[0]).statistics
    if stats is None or not stats.has_min_max:
        return True
    low, high = stats.min, stats.max
    if isinstance(low, bytes):
        low, high = low.decode(errors="replace"), high.decode(errors="replace")
    if not isinstance(low, str) or len(low) != 15 or len(high) != 15:
        return True  # not level-3 cells: nothing proved
    return any(low <= cell <= high for cell in cells)
