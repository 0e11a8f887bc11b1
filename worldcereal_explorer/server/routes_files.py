"""File route: sample files and harmonization PDFs, with HTTP Range and HEAD, signed when not public."""

# No "from __future__ import annotations": FastAPI resolves the Annotated[...] parameters at runtime.
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import FileResponse, Response

from .access import SignatureError
from .api_errors import ApiError, error_responses
from .context import ContextDep

__all__ = ["router", "media_type_of"]

router = APIRouter()

_FILE_TYPES = ("application/vnd.apache.parquet", "application/pdf", "application/octet-stream")
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The whole file", "content": {t: _BINARY for t in _FILE_TYPES}},
    206: {"description": "The requested byte range(s) (several ranges: multipart/byteranges)",
          "content": {**{t: _BINARY for t in _FILE_TYPES}, "multipart/byteranges": _BINARY},
          "headers": {"Content-Range": {"schema": {"type": "string"}, "required": False,
                                        "description": "bytes START-END/SIZE (single range)"}}},
    400: {"description": "Malformed Range header", "content": _TEXT},
    416: {"description": "Range not satisfiable", "content": _TEXT,
          "headers": {"Content-Range": {"schema": {"type": "string"}, "required": True,
                                        "description": "bytes */SIZE"}}},
    **error_responses(403, 404),
}


def media_type_of(name: str) -> str:
    """The content type a file is served with."""
    if name.endswith(".pdf"):
        return "application/pdf"
    if name.endswith((".parquet", ".geoparquet")):
        return "application/vnd.apache.parquet"
    return "application/octet-stream"


@router.head("/files/{scope}/{collection_id}/{file_name}", include_in_schema=False)
@router.get("/files/{scope}/{collection_id}/{file_name}", response_class=Response, responses=_RESPONSES,
            summary="Sample files and harmonization PDFs (HTTP Range and HEAD supported)")
def files(
    scope: str,
    collection_id: str,
    file_name: str,
    ctx: ContextDep,
    expires: str | None = None,
    sig: str | None = None,
    range_: Annotated[str | None, Header(alias="Range", description="bytes=START-END (RFC 9110)")] = None,
) -> Response:
    """The file; non-public files need the ``expires``/``sig`` of a URL from a download route.

    ``range_`` is declared for the API description only: the file response reads the header itself.
    """
    entry = ctx.catalog.get(collection_id)
    not_found = ApiError(404, "EntityNotFound", f"no file {file_name!r} for collection {collection_id!r}")
    if entry is not None and entry.is_public:
        if scope != "public":
            raise not_found
    elif scope == "private":
        # Check the signature before looking the file up, so an unsigned request gets the same 403 for an
        # existing private collection as for one that does not exist (the answer confirms nothing).
        try:
            ctx.signer.verify(f"/files/{scope}/{collection_id}/{file_name}", expires, sig)
        except SignatureError as exc:
            raise ApiError(403, "Forbidden", str(exc)) from None
    else:
        raise not_found
    path = entry.files().get(file_name) if entry is not None else None
    if path is None:
        raise not_found
    return FileResponse(path, media_type=media_type_of(file_name))
