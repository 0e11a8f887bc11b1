"""The API description the server publishes at ``/openapi.json``, made to match what it really answers.

FastAPI documents a 422 answer for every route with parameters; this server answers invalid parameters
with a 400 in the ABP envelope instead (as the live API does), so the 422 entries are dropped. The
answers of the failure play (:mod:`~worldcereal_explorer.server.faults`) are documented only on the
routes it affects, and only when it is configured.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .api_errors import AbpErrorBody
from .faults import FailurePlay

__all__ = ["install_openapi"]

_DOWNLOAD_PATHS = ("/collections/{collection_id}/download", "/collections/{collection_id}/sample/download")
_REF = {"$ref": "#/components/schemas/AbpErrorBody"}


def _error_entry(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _REF}}}


def _errors_as_json(status: str, answer: dict[str, Any]) -> None:
    """FastAPI files a route's error models under the route's own media type (``text/csv`` for the
    legend...); the errors are JSON whatever the route, so say so."""
    content = answer.get("content") or {}
    if status[:1] in "45" and any(v.get("schema") == _REF for v in content.values()):
        answer["content"] = {"application/json": {"schema": _REF}}


def _build(app: FastAPI, play: FailurePlay) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    # Every router declares AbpErrorBody answers, so the schema the failure-play entries refer to exists.
    assert AbpErrorBody.__name__ in components
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, answer in responses.items():
                _errors_as_json(status, answer)
            if play.flaky_ids and (path.startswith(("/collections/{", "/files/")) or "*" in play.flaky_ids):
                responses.setdefault("503", _error_entry("Temporarily unavailable (failure play: flaky ids)"))
            if play.failing_download_ids and path in _DOWNLOAD_PATHS:
                responses.setdefault("500", _error_entry("Internal error (failure play: failing download ids)"))
    return schema


def install_openapi(app: FastAPI, play: FailurePlay) -> None:
    """Make ``app.openapi()`` (and so ``/openapi.json``) return the corrected description, built once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _build(app, play)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
