"""Leave out, before reading any file, the named collections whose extents prove that no sample can match.

A search does this on the RDM's side, but with the query's bounding box only; a read over collections
named by id (the dashboard names the ones its search found, scripts name theirs) would otherwise open every
file's footer, and a polygon's box (France and Kenya: from Europe to Africa) finds collections the polygon
does not reach. The extents come
from the client's :class:`~worldcereal_explorer.rdm.collection_memo.CollectionMemo` (filled by searches and
lookups) or from ``/collections/{id}``, asked for side by side. A collection whose extent is unknown or
cannot be read is kept: reading it says what is wrong, as before.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import shapely

from ...errors import QueryCancelledError, RdmTimeoutError, WorldCerealExplorerError
from ...extents import WORLD_BBOX
from ..models import CRS84, EPSG4326
from .query import SampleQuery

__all__ = ["collections_that_can_match", "extent_excludes", "extents_to_look_up"]

logger = logging.getLogger(__name__)

#: Degrees added around a collection's extent: published extents are rounded (the demo to 1e-7 degrees).
EXTENT_MARGIN_DEG = 1e-5
#: How many lookups run side by side.
MAX_PARALLEL_LOOKUPS = 16


def extent_excludes(collection: Any, query: SampleQuery) -> str:
    """Why no sample of ``collection`` can match ``query`` (its extents prove it), or ``""``.

    Only a spatial extent in longitude/latitude (CRS84 or EPSG:4326) and a parseable temporal extent are
    trusted; anything else never excludes.
    """
    bbox = getattr(collection, "bbox", None)
    if query.spatial is not None and bbox is not None and getattr(collection, "spatial_crs", CRS84) in (CRS84, EPSG4326):
        q = query.spatial.bbox
        m = EXTENT_MARGIN_DEG
        if (q.west > bbox.east + m or q.east < bbox.west - m or q.south > bbox.north + m
                or q.north < bbox.south - m):
            return f"its extent {bbox.as_tuple()} is outside the query's {q.as_tuple()}"
        shape = query.spatial.geometry  # a polygon: its box may meet the extent where the polygon does not
        if shape is not None and not shapely.intersects(
                shape, shapely.box(bbox.west - m, bbox.south - m, bbox.east + m, bbox.north + m)):
            return f"its extent {bbox.as_tuple()} does not meet the query's polygon"
    if query.temporal is not None:
        span = _dates(getattr(collection, "temporal_extent", None))
        if span is not None:
            start, end = span
            # one day of slack either side: extents may be written in local time or truncated to dates
            if query.temporal.start > end + dt.timedelta(days=1) or query.temporal.end < start - dt.timedelta(days=1):
                return f"its time extent {start}..{end} is outside the query's {query.temporal.as_tuple()}"
    return ""


def _dates(span: Any) -> tuple[dt.date, dt.date] | None:
    if not span or len(span) != 2:
        return None
    try:
        start, end = (dt.date.fromisoformat(str(value)[:10]) for value in span)
    except (TypeError, ValueError):  # an open interval (null) or an odd spelling: not evidence
        return None
    return (start, end) if start <= end else None


def _can_exclude(query: SampleQuery) -> bool:
    """Whether an extent could leave a collection out of ``query`` (a temporal filter, or an area smaller than
    the world)."""
    whole_world = query.spatial is None or query.spatial.bbox.as_tuple() == WORLD_BBOX.as_tuple()
    return not (whole_world and query.temporal is None)


def extents_to_look_up(client: Any, ids: list[str], query: SampleQuery) -> list[str]:
    """The ids whose extents :func:`collections_that_can_match` will ask the RDM for (not in the memo)."""
    if not _can_exclude(query) or not hasattr(client, "get_collection"):
        return []
    memo = getattr(client, "collection_memo", None)
    return [i for i in ids if memo is None or memo.get(i) is None]


def collections_that_can_match(client: Any, ids: list[str], query: SampleQuery, *,
                               cancel_event: Any = None) -> list[str]:
    """``ids`` without the collections whose extents prove that no sample can match ``query`` (order kept).

    Nothing is looked up when the query has no temporal filter and no spatial filter smaller than the world
    (the lookups would cost bytes and could not leave anything out).
    """
    if not _can_exclude(query) or not ids:
        return ids
    memo = getattr(client, "collection_memo", None)
    known = {i: memo.get(i) for i in ids} if memo is not None else {}
    unknown = [i for i in ids if known.get(i) is None]
    if unknown and hasattr(client, "get_collection"):
        def look_up(ref_id: str) -> Any:
            try:
                return client.get_collection(ref_id, cancel_event=cancel_event)
            except (QueryCancelledError, RdmTimeoutError):
                raise
            except WorldCerealExplorerError:  # unknown id, no access ...: the read says it properly
                return None

        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_LOOKUPS, len(unknown)),
                                thread_name_prefix="wce-extent") as pool:
            known.update(zip(unknown, pool.map(look_up, unknown), strict=True))
    kept = []
    for ref_id in ids:
        collection = known.get(ref_id)
        reason = extent_excludes(collection, query) if collection is not None else ""
        if reason:
            logger.debug("collection %s left out: %s", ref_id, reason)
        else:
            kept.append(ref_id)
    if len(kept) < len(ids):
        logger.info("%d of %d collections left out: their extents cannot hold a matching sample",
                    len(ids) - len(kept), len(ids))
    return kept
