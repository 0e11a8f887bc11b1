"""The ABP error envelope of the live RDM API: the exception, its handlers, and its OpenAPI description.

Every error this server answers has the body ``{"error": {"code", "message", "details", "data",
"validationErrors"}}`` (what the ABP framework behind the live API sends), whatever raised it: a route
(:class:`ApiError`), FastAPI's parameter validation (400, not FastAPI's 422), Starlette's routing
(404/405, keeping its ``Allow`` header) or an unexpected exception (500).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["ApiError", "AbpError", "AbpErrorBody", "collection_not_found", "error_responses", "install_error_handlers"]


class ApiError(Exception):
    """An error answered with the ABP JSON envelope and ``status``.

    Parameters
    ----------
    status
        HTTP status code.
    code
        ABP error code (``ValidationError``, ``EntityNotFound``, ``Unauthorized``...).
    message
        What went wrong and, where it helps, what is allowed.
    details, validation_errors
        ABP's optional ``details`` text and ``validationErrors`` list.
    headers
        Extra response headers (``WWW-Authenticate``, ``Allow``...).
    """

    def __init__(self, status: int, code: str, message: str, *, details: str | None = None,
                 validation_errors: list[dict] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.validation_errors = validation_errors
        self.headers = headers

    def response(self) -> JSONResponse:
        """The JSON response carrying this error."""
        body: dict[str, Any] = {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
                "data": {},
                "validationErrors": self.validation_errors,
            }
        }
        return JSONResponse(body, status_code=self.status, headers=self.headers)


# ---- OpenAPI description of the envelope -----------------------------------------------------------------


def collection_not_found(collection_id: str) -> ApiError:
    """The one 404 for unknown and hidden collections alike (a client cannot tell the two apart).

    Parameters
    ----------
    collection_id : str
        The id asked for.

    Returns
    -------
    ApiError
        ``404 EntityNotFound`` naming the id.
    """
    return ApiError(404, "EntityNotFound", f"there is no collection with id {collection_id!r}")


class ValidationErrorItem(BaseModel):
    """One entry of ``validationErrors``."""

    message: str
    members: list[str]


class AbpError(BaseModel):
    """The ``error`` object of an ABP error answer."""

    code: str
    message: str
    details: str | None = None
    data: dict[str, Any] = {}
    validationErrors: list[ValidationErrorItem] | None = None  # noqa: N815 (the wire name)


class AbpErrorBody(BaseModel):
    """Body of every error answer: ``{"error": {...}}``."""

    error: AbpError


_DESCRIPTIONS = {
    400: "Invalid parameters (ABP `ValidationError`; `validationErrors` names the parameters)",
    401: "The Authorization header is malformed or its bearer token is not accepted",
    403: "The file URL is not public and its `expires`/`sig` signature is missing, expired or wrong",
    404: "No such collection, item or file, or one the caller may not see (the same answer either way)",
    500: "Internal error (also what collections set up with `failing_download_ids` answer)",
    503: "Temporarily unavailable (collections set up with `flaky_ids`); retry later",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entries documenting the ABP error answers ``statuses`` of a route."""
    return {status: {"model": AbpErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses}


# ---- handlers ----------------------------------------------------------------------------------------------


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"message": str(e.get("msg")), "members": [".".join(str(part) for part in e.get("loc", ())[1:]) or "?"]}
        for e in exc.errors()
    ]
    details = "; ".join(f"{m['members'][0]}: {m['message']}" for m in errors)
    return ApiError(400, "ValidationError", f"Your request is not valid: {details}",
                    details=details, validation_errors=errors).response()


def _leaf_routes(routes: list[Any]) -> Iterator[Any]:
    # FastAPI >= 0.16x keeps included routers as wrappers holding the original router (no prefixes here).
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _leaf_routes(inner.routes)
        else:
            yield route


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts on this path (Starlette's own Allow names only the first route's)."""
    path = request.url.path
    allowed: set[str] = set()
    for route in _leaf_routes(request.app.router.routes):
        regex, methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and methods and regex.match(path):
            allowed |= set(methods)
    return sorted(allowed)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message = f"no route for {request.url.path!r}"
    elif exc.status_code == 405:
        # RFC 9110 15.5.6: a 405 must carry Allow, listing what the path does accept.
        allowed = _allowed_methods(request) or [m.strip() for m in headers.get("Allow", "").split(",") if m.strip()]
        headers["Allow"] = ", ".join(allowed)
        message = f"method {request.method} is not allowed on {request.url.path!r}; allowed: {headers['Allow']}"
    else:
        message = str(exc.detail)
    return ApiError(exc.status_code, str(exc.status_code), message, headers=headers or None).response()


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    return ApiError(500, "InternalError", f"internal server error: {type(exc).__name__}").response()


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with the ABP envelope (see the module docstring)."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
