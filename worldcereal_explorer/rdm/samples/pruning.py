"""Which row groups and rows can match a query: footer statistics first, then the filter columns."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .convert import NS, as_int64, as_timestamp
from .h3cells import h3_row_group_may_match
from .layout import FileLayout
from .query import SampleQuery

__all__ = ["attribute_mask", "column_ranges", "covering_stats_box", "leaf_index", "row_group_inside",
           "row_group_may_match"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def leaf_index(metadata: pq.FileMetaData) -> dict[str, list[int]]:
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
    if query.spatial is not None and "h3_l3_cell" in layout.names and not (layout.covering and layout.crs_is_4326):
        # No covering bbox: the level-3 cells' statistics rule row groups out, as the reference project does.
        return h3_row_group_may_match(rg, leaves, query)
    return True


def column_ranges(metadata: pq.FileMetaData, leaves: dict[str, list[int]], row_groups: Sequence[int],
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


def attribute_mask(table: pa.Table, layout: FileLayout, query: SampleQuery) -> pa.ChunkedArray | None:
    """Boolean mask of rows passing the attribute and covering-bbox filters (``None`` = all rows)."""
    masks = []
    names = set(table.column_names)

    def column_or_null(name: str) -> pa.ChunkedArray:
        if name in names:
            return table.column(name)
        # A file lacking a filter column cannot satisfy the filter (SQL NULL semantics).
        return pa.chunked_array([pa.nulls(table.num_rows, pa.int64())])

    if query.ewoc_codes is not None:
        codes = as_int64(column_or_null("ewoc_code"))
        masks.append(pc.is_in(codes, value_set=pa.array(query.ewoc_codes, pa.int64())))
    if query.subset:
        masks.append(pc.greater(as_int64(column_or_null("extract")), 0))
    for name, minimum in (("quality_score_lc", query.min_quality_lc), ("quality_score_ct", query.min_quality_ct)):
        if minimum > 0:
            masks.append(pc.greater_equal(as_int64(column_or_null(name)), minimum))
    if query.temporal is not None:
        times = as_timestamp(column_or_null("valid_time"))
        start = pa.scalar(dt.datetime.combine(query.temporal.start, dt.time()), NS)
        stop = pa.scalar(dt.datetime.combine(query.temporal.end + dt.timedelta(days=1), dt.time()), NS)
        masks.append(pc.and_kleene(pc.greater_equal(times, start), pc.less(times, stop)))
    covering = layout.covering
    if query.spatial is not None and covering and layout.crs_is_4326 and layout.covering_column in names:
        west, south, east, north = query.spatial.bbox.as_tuple()
        cover = table.column(layout.covering_column)

        def part(key: str) -> pa.ChunkedArray:
            return pc.struct_field(cover, covering[key][1])

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


def covering_stats_box(rg: pq.RowGroupMetaData, leaves: dict[str, list[int]],
                       layout: FileLayout) -> tuple[float, float, float, float] | None:
    """The box holding every row's covering bbox in ``rg`` (from the footer), or ``None`` when unknown.

    ``None`` also when a covering leaf has nulls (null or empty geometries), so that a box returned here
    proves every row of the row group has a (non-empty) geometry inside it.
    """
    if not layout.covering or not layout.crs_is_4326:
        return None
    values = []
    for key, pick in (("xmin", 0), ("ymin", 0), ("xmax", 1), ("ymax", 1)):
        indices = leaves.get(".".join(layout.covering[key]))
        if not indices or len(indices) != 1:
            return None
        stats = rg.column(indices[0]).statistics
        if stats is None or not stats.has_min_max or stats.null_count != 0:
            return None
        try:
            value = float((stats.min, stats.max)[pick])
        except (TypeError, ValueError):
            return None
        if value != value:  # NaN
            return None
        values.append(value)
    return values[0], values[1], values[2], values[3]


def row_group_inside(rg: pq.RowGroupMetaData, leaves: dict[str, list[int]], layout: FileLayout,
                     query: SampleQuery) -> bool:
    """True when the footer proves every geometry of ``rg`` lies inside the query's extent.

    The covering column cannot prune such a row group, so it is not read (a crop-code query under a loose
    bbox then costs no covering bytes), and every row passes the spatial test.
    """
    if query.spatial is None:
        return True
    box = covering_stats_box(rg, leaves, layout)
    if box is None:
        return False
    west, south, east, north = query.spatial.bbox.as_tuple()
    if not (west <= box[0] and box[2] <= east and south <= box[1] and box[3] <= north):
        return False
    if query.spatial.geometry is None:  # a bbox query: the box test above is the whole test
        return True
    import shapely

    from .rowfilter import thread_shape

    return bool(shapely.covers(thread_shape(query.spatial), shapely.box(*box)))
