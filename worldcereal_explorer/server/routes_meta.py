"""Routes about the server itself: the landing JSON, the Swagger redirect, and the catalogue's legend."""

# No "from __future__ import annotations": FastAPI resolves the dependency annotations at runtime.
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from .api_errors import ApiError, error_responses
from .context import ContextDep

__all__ = ["router", "CsvFileResponse"]

router = APIRouter()


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
            response_class=CsvFileResponse,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **error_responses(404)})
def legend(ctx: ContextDep) -> FileResponse:
    """The legend CSV the catalogue was made with."""
    if ctx.catalog.legend_path is None:
        raise ApiError(404, "EntityNotFound", "this catalogue has no legend.csv")
    return CsvFileResponse(ctx.catalog.legend_path, media_type="text/csv; charset=utf-8")
