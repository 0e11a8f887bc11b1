"""Collection routes: search, paged listing, one collection, download URLs, code stats, metadata."""

# No "from __future__ import annotations": FastAPI resolves the Annotated[...] parameters at runtime.
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse

from .access import Principal, may_see
from .api_errors import ApiError, error_responses
from .catalog import CONFIDENCE_FIELDS, SearchFilter
from .context import ContextDep, PrincipalDep, ServerContext
from .params import DEFAULT_PAGE_SIZE, INT32_MAX, MAX_PAGE_SIZE, check_paging, parse_bbox, parse_time

__all__ = ["router", "OctetStreamFileResponse"]

router = APIRouter()

_URL_METADATA_KEYS = ("GeoParquetDownloadUrl", "SampleDownloadUrl", "CuratedDataSet:Harmonization:Pdf")
_BBOX_DOC = "W, S, E, N (repeat exactly 4 times)"


class OctetStreamFileResponse(FileResponse):
    """A file answered as ``application/octet-stream`` (so the OpenAPI document says so too)."""

    media_type = "application/octet-stream"


@router.get("/collections/search", summary="Collections by bbox, validity time and codes (bare JSON array)",
            responses=error_responses(400, 401))
def search_collections(
    ctx: ContextDep,
    principal: PrincipalDep,
    bbox: Annotated[list[float] | None, Query(alias="Bbox", description=_BBOX_DOC)] = None,
    validity_start: Annotated[str | None, Query(alias="ValidityTime.Start")] = None,
    validity_end: Annotated[str | None, Query(alias="ValidityTime.End")] = None,
    ewoc_codes: Annotated[list[int] | None, Query(alias="EwocCodes")] = None,
    irrigation_types: Annotated[list[int] | None, Query(alias="IrrigationTypes")] = None,
    lc_start: Annotated[float | None, Query(alias="LandCoverConfidence.Start")] = None,
    lc_end: Annotated[float | None, Query(alias="LandCoverConfidence.End")] = None,
    ct_start: Annotated[float | None, Query(alias="CropTypeConfidence.Start")] = None,
    ct_end: Annotated[float | None, Query(alias="CropTypeConfidence.End")] = None,
    irr_start: Annotated[float | None, Query(alias="IrrigationConfidence.Start")] = None,
    irr_end: Annotated[float | None, Query(alias="IrrigationConfidence.End")] = None,
    skip_count: Annotated[int | None, Query(alias="SkipCount", description="accepted, not applied")] = None,
    max_result_count: Annotated[int | None, Query(alias="MaxResultCount", description="accepted, not applied")] = None,
) -> JSONResponse:
    """Every visible collection whose extent, validity time, codes and confidences match."""
    box = parse_bbox(bbox, required=True)
    start = parse_time(validity_start, "ValidityTime.Start")
    end = parse_time(validity_end, "ValidityTime.End")
    if start is not None and end is not None and start > end:
        raise ApiError(400, "ValidationError",
                       f"ValidityTime.Start={validity_start!r} is after ValidityTime.End={validity_end!r}")
    confidence = []
    for prefix, (low, high) in {
        "LandCoverConfidence": (lc_start, lc_end),
        "CropTypeConfidence": (ct_start, ct_end),
        "IrrigationConfidence": (irr_start, irr_end),
    }.items():
        if low is not None or high is not None:
            confidence.append((CONFIDENCE_FIELDS[prefix], 0.0 if low is None else low,
                               100.0 if high is None else high))
    search = SearchFilter(
        bbox=box,  # type: ignore[arg-type]
        start=start,
        end=end,
        ewoc_codes=frozenset(ewoc_codes or ()),
        irrigation_types=frozenset(irrigation_types or ()),
        confidence=tuple(confidence),
    )
    found = [e.api for e in ctx.catalog.sorted_entries() if may_see(e.policy, principal) and search.matches(e)]
    return JSONResponse(found)


@router.get("/collections", summary="All collections, paged ({totalCount, items})",
            responses=error_responses(400, 401))
def list_collections(
    ctx: ContextDep,
    principal: PrincipalDep,
    skip_count: Annotated[int, Query(alias="SkipCount", json_schema_extra={"minimum": 0, "maximum": INT32_MAX})] = 0,
    max_result_count: Annotated[int, Query(alias="MaxResultCount", description="page size, 1 to 1000",
                                           json_schema_extra={"minimum": 1, "maximum": MAX_PAGE_SIZE})
                                ] = DEFAULT_PAGE_SIZE,
) -> JSONResponse:
    """One page of the visible collections, in id order."""
    check_paging(skip_count, max_result_count, limit=MAX_PAGE_SIZE)
    visible = [e.api for e in ctx.catalog.sorted_entries() if may_see(e.policy, principal)]
    return JSONResponse({"totalCount": len(visible),
                         "items": visible[skip_count:skip_count + max_result_count]})


@router.get("/collections/{collection_id}", summary="One collection object", responses=error_responses(401, 404))
def get_collection(collection_id: str, ctx: ContextDep, principal: PrincipalDep) -> JSONResponse:
    """The collection object (404 when it does not exist or the caller may not see it)."""
    return JSONResponse(ctx.visible_entry(collection_id, principal).api)


async def _samples_file_url(ctx: ServerContext, collection_id: str, request: Request, principal: Principal | None,
                            subset: bool) -> str:
    entry = ctx.visible_entry(collection_id, principal)
    await ctx.play.fail_download_if_planned(collection_id)
    file = entry.subset_file if subset else entry.full_file
    if file is None:
        kind = "subset" if subset else "samples"
        raise ApiError(404, "EntityNotFound", f"collection {collection_id!r} has no {kind} file")
    return ctx.file_url(request, entry, file.name)


@router.get("/collections/{collection_id}/download", response_class=PlainTextResponse,
            summary="URL of the full GeoParquet file (text/plain)", responses=error_responses(401, 404))
async def download_url(collection_id: str, request: Request, ctx: ContextDep,
                       principal: PrincipalDep) -> PlainTextResponse:
    """The URL of the collection's full samples file, as plain text."""
    return PlainTextResponse(await _samples_file_url(ctx, collection_id, request, principal, subset=False))


@router.get("/collections/{collection_id}/sample/download", response_class=PlainTextResponse,
            summary="URL of the subset GeoParquet file (samples with extract > 0; text/plain)",
            responses=error_responses(401, 404))
async def sample_download_url(collection_id: str, request: Request, ctx: ContextDep,
                              principal: PrincipalDep) -> PlainTextResponse:
    """The URL of the collection's subset file, as plain text."""
    return PlainTextResponse(await _samples_file_url(ctx, collection_id, request, principal, subset=True))


@router.get("/collections/{collection_id}/items/codestats", summary="Sample counts per code",
            responses=error_responses(401, 404))
def codestats(collection_id: str, ctx: ContextDep, principal: PrincipalDep) -> JSONResponse:
    """``{"lcStats", "ewocStats", "irrStats"}``: sample counts per code."""
    return JSONResponse(ctx.visible_entry(collection_id, principal).code_stats())


@router.get("/collections/{collection_id}/metadata/items", summary="Metadata items [{id, name, value, type}]",
            responses=error_responses(401, 404))
def metadata_items(collection_id: str, request: Request, ctx: ContextDep, principal: PrincipalDep) -> JSONResponse:
    """The metadata items; the file-URL items point back at this server (signed when not public)."""
    entry = ctx.visible_entry(collection_id, principal)
    urls = {
        "GeoParquetDownloadUrl": entry.full_file.name if entry.full_file else None,
        "SampleDownloadUrl": entry.subset_file.name if entry.subset_file else None,
        "CuratedDataSet:Harmonization:Pdf": entry.pdf_name if entry.pdf_name in entry.files() else None,
    }
    out = []
    for item in entry.metadata_items:
        name = item.get("name")
        if name in _URL_METADATA_KEYS:
            file_name = urls[name]
            if file_name is None:
                continue
            item = {**item, "value": ctx.file_url(request, entry, file_name)}
        out.append(item)
    return JSONResponse(out)


@router.get("/collections/{collection_id}/metadata/download", summary="Metadata sheet (xlsx)",
            response_class=OctetStreamFileResponse, responses=error_responses(401, 404))
def metadata_download(collection_id: str, ctx: ContextDep, principal: PrincipalDep) -> FileResponse:
    """The metadata sheet as an xlsx attachment."""
    entry = ctx.visible_entry(collection_id, principal)
    if entry.metadata_xlsx is None:
        raise ApiError(404, "EntityNotFound", f"collection {collection_id!r} has no metadata sheet")
    return OctetStreamFileResponse(entry.metadata_xlsx, media_type="application/octet-stream",
                                   filename=f"{entry.collection_id}_MetaDataUpload.xlsx")
