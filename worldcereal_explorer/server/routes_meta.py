"""Routes about the server itself: the landing JSON, the Swagger redirect, and the catalogue's legends."""

# No "from __future__ import annotations": FastAPI resolves the dependency annotations at runtime.
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from .api_errors import ApiError, error_responses
from .context import ContextDep

__all__ = ["router", "CsvFileResponse", "IRRIGATION_LEGEND_FILE"]

router = APIRouter()

#: The irrigation legend's name in the catalogue folder (the demo generator writes it).
IRRIGATION_LEGEND_FILE = "legend_irrigation.csv"


def _csv_responses() -> dict:
    """The OpenAPI answers of a CSV route: the file as ``text/csv``, or 404 when the catalogue has none."""
    return {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **error_responses(404)}


class CsvFileResponse(FileResponse):
    """A CSV file (so the OpenAPI document says ``text/csv``, not JSON)."""

    media_type = "text/csv"


@router.get("/", include_in_schema=False)
def root(request: Request, ctx: ContextDep) -> JSONResponse:
    """What this server is; also the readiness probe of :func:`~worldcereal_explorer.server.serve_in_thread`."""
    return JSONResponse({
        "title": request.app.title,
        "synthetic": ctx.synthetic,
        "generator": ctx.catalog.info.get("generator"),
        "collections": len(ctx.catalog.entries),
        "docs": "/docs",
        "openapi": "/openapi.json",
    })


@router.get("/swagger/index.html", include_in_schema=False)
def swagger_redirect() -> RedirectResponse:
    """The live API's Swagger UI address, sent to this server's."""
    return RedirectResponse("/docs")


@router.get("/legend.csv", summary="The catalogue's LC/CT legend (same format as the official legend)",
            response_class=CsvFileResponse, responses=_csv_responses())
def legend(ctx: ContextDep) -> FileResponse:
    """The legend CSV the catalogue was made with."""
    if ctx.catalog.legend_path is None:
        raise ApiError(404, "EntityNotFound", "this catalogue has no legend.csv")
    return CsvFileResponse(ctx.catalog.legend_path, media_type="text/csv; charset=utf-8")


@router.get(f"/{IRRIGATION_LEGEND_FILE}",
            summary="The catalogue's irrigation legend (same format as the official irrigation legend)",
            response_class=CsvFileResponse, responses=_csv_responses())
def irrigation_legend(ctx: ContextDep) -> FileResponse:
    """The irrigation legend CSV the catalogue was made with (``irrigation_code;level_0;level_1;level_2;label``)."""
    path = ctx.catalog.root / IRRIGATION_LEGEND_FILE
    if not path.is_file():
        raise ApiError(404, "EntityNotFound", f"this catalogue has no {IRRIGATION_LEGEND_FILE}")
    return CsvFileResponse(path, media_type="text/csv; charset=utf-8")
