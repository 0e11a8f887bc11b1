"""Item routes: a collection's samples as paged GeoJSON, and one sample by id."""

# No "from __future__ import annotations": FastAPI resolves the Annotated[...] parameters at runtime.
import datetime as dt
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from shapely.geometry import mapping

from .api_errors import ApiError, error_responses
from .catalog import ITEM_PROPERTIES
from .context import ContextDep, PrincipalDep
from .params import (
    DEFAULT_ITEMS_PAGE_SIZE,
    INT32_MAX,
    MAX_ITEMS_PAGE_SIZE,
    check_paging,
    parse_bbox,
    parse_time,
)

__all__ = ["router", "feature"]

router = APIRouter()


def _utc_stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def feature(row: pd.Series, geometry: Any) -> dict[str, Any]:
    """One sample row as a GeoJSON Feature with the live API's item properties."""
    props: dict[str, Any] = {}
    for name in ITEM_PROPERTIES:
        value = row.get(name)
        if name == "valid_time":
            value = None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")
        elif value is not None and hasattr(value, "item"):  # numpy scalars are not JSON
            value = value.item()
        props[name] = value
    return {"type": "Feature", "geometry": mapping(geometry) if geometry is not None else None,
            "properties": props}


@router.get("/collections/{collection_id}/items", summary="Samples as a GeoJSON FeatureCollection, paged",
            responses=error_responses(400, 401, 404))
def items(
    collection_id: str,
    ctx: ContextDep,
    principal: PrincipalDep,
    skip_count: Annotated[int, Query(alias="SkipCount", json_schema_extra={"minimum": 0, "maximum": INT32_MAX})] = 0,
    max_result_count: Annotated[int, Query(
        alias="MaxResultCount", description=f"page size (at least 1); pages are capped at {MAX_ITEMS_PAGE_SIZE}",
        json_schema_extra={"minimum": 1, "maximum": INT32_MAX})] = DEFAULT_ITEMS_PAGE_SIZE,
    bbox: Annotated[list[float] | None, Query(alias="Bbox", description="W, S, E, N (repeat exactly 4 times)")] = None,
    validity_start: Annotated[str | None, Query(alias="ValidityStartTime")] = None,
    validity_end: Annotated[str | None, Query(alias="ValidityEndTime")] = None,
    ewoc_codes: Annotated[list[int] | None, Query(alias="EwocCodes")] = None,
    irrigation_types: Annotated[list[int] | None, Query(alias="IrrigationTypes")] = None,
) -> JSONResponse:
    """One page of the collection's samples matching the filters (404 when none match, as the live API)."""
    entry = ctx.visible_entry(collection_id, principal)
    check_paging(skip_count, max_result_count, limit=None)
    page_size = min(max_result_count, MAX_ITEMS_PAGE_SIZE)
    start = parse_time(validity_start, "ValidityStartTime")
    end = parse_time(validity_end, "ValidityEndTime")
    if end is not None and end.time() == dt.time(0) and validity_end and len(validity_end.strip()) <= 10:
        end = end + dt.timedelta(days=1) - dt.timedelta(microseconds=1)  # a bare end date counts entirely
    matched = entry.find_items(bbox=parse_bbox(bbox, required=False), start=start, end=end,
                               ewoc_codes=ewoc_codes, irrigation_types=irrigation_types)
    if len(matched) == 0:
        raise ApiError(404, "EntityNotFound", f"no items of collection {collection_id!r} match the filters")
    page = matched.iloc[skip_count:skip_count + page_size]
    geometries = page.geometry.to_numpy()
    features = [feature(row, geometries[i]) for i, (_, row) in enumerate(page.iterrows())]
    return JSONResponse({
        "type": "FeatureCollection",
        "features": features,
        "NumberMatched": int(len(matched)),
        "NumberReturned": len(features),
        "UtcTimeStamp": _utc_stamp(),
        "SkipCount": skip_count,
    })


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One sample as a GeoJSON Feature",
            responses=error_responses(401, 404))
def item(collection_id: str, feature_id: str, ctx: ContextDep, principal: PrincipalDep) -> JSONResponse:
    """The sample whose ``sample_id`` is ``feature_id``."""
    entry = ctx.visible_entry(collection_id, principal)
    samples = entry.samples()
    hits = samples[samples["sample_id"] == feature_id]
    if len(hits) == 0:
        raise ApiError(404, "EntityNotFound", f"collection {collection_id!r} has no item {feature_id!r}")
    return JSONResponse(feature(hits.iloc[0], hits.geometry.iloc[0]))
