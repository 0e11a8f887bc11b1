"""A local, RDM-compatible HTTP API over a catalogue folder (FastAPI + uvicorn).

Paths, query parameters, status codes and JSON field names follow the live WorldCereal RDM API
(``docs/architecture.md`` "Wire format", ``rdm-api.md``), so the package's client, DuckDB queries
and the reference WorldCereal client work against it unchanged. Errors use the ABP framework's
envelope ``{"error": {"code", "message", "details", "data", "validationErrors"}}``.
"""

# No "from __future__ import annotations": FastAPI must resolve the Annotated[...] dependencies
# declared inside create_app() at runtime.
import asyncio
import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode

import pandas as pd
import uvicorn
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from shapely.geometry import mapping
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import BadParameterError, InvalidInputError
from ..extents import BBox
from .access import (
    AccessDecision,
    Principal,
    SignatureError,
    TokenValidator,
    UrlSigner,
    decide_access,
    may_see,
)
from .catalog import (
    CONFIDENCE_FIELDS,
    ITEM_PROPERTIES,
    Catalog,
    CatalogEntry,
    SearchFilter,
    parse_api_datetime,
)
from .net import bind_loopback

__all__ = ["create_app", "serve_in_thread", "run_server", "LocalServer", "TrafficStats", "ApiError"]

#: ABP's defaults for ``/collections`` paging (``LimitedResultRequestDto``).
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
#: Items paging: ABP default page size, and the cap the live API is reported to apply.
DEFAULT_ITEMS_PAGE_SIZE = 10
MAX_ITEMS_PAGE_SIZE = 2000

_URL_METADATA_KEYS = ("GeoParquetDownloadUrl", "SampleDownloadUrl", "CuratedDataSet:Harmonization:Pdf")


class ApiError(Exception):
    """An error answered with the ABP JSON envelope and ``status``."""

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
        body = {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
                "data": {},
                "validationErrors": self.validation_errors,
            }
        }
        return JSONResponse(body, status_code=self.status, headers=self.headers)


class TrafficStats:
    """Request and response-body byte counters, per path and in total (for benchmarks).

    ``app.state.stats`` holds one; read it with :meth:`snapshot`, zero it with :meth:`reset`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero all counters."""
        with self._lock:
            self.requests = 0
            self.bytes_sent = 0
            self.by_path: dict[str, dict[str, int]] = {}

    def record(self, path: str, nbytes: int) -> None:
        with self._lock:
            self.requests += 1
            self.bytes_sent += nbytes
            entry = self.by_path.setdefault(path, {"requests": 0, "bytes": 0})
            entry["requests"] += 1
            entry["bytes"] += nbytes

    def snapshot(self) -> dict[str, Any]:
        """A copy: ``{"requests", "bytes_sent", "by_path": {path: {"requests", "bytes"}}}``."""
        with self._lock:
            return {
                "requests": self.requests,
                "bytes_sent": self.bytes_sent,
                "by_path": {k: dict(v) for k, v in self.by_path.items()},
            }


#: Query parameter names of the live API; ASP.NET binds them case-insensitively, so this server does too.
_CANONICAL_PARAMS = {
    name.lower(): name
    for name in (
        "Bbox", "ValidityTime.Start", "ValidityTime.End", "EwocCodes", "IrrigationTypes",
        "LandCoverConfidence.Start", "LandCoverConfidence.End", "CropTypeConfidence.Start", "CropTypeConfidence.End",
        "IrrigationConfidence.Start", "IrrigationConfidence.End", "SkipCount", "MaxResultCount",
        "ValidityStartTime", "ValidityEndTime",
    )
}


def _canonical_query(query: bytes) -> bytes:
    """Rewrite known parameter names to the API's spelling (``bbox`` -> ``Bbox``), keeping order and values."""
    if not query:
        return query
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if all(_CANONICAL_PARAMS.get(k.lower(), k) == k for k, _ in pairs):
        return query
    return urlencode([(_CANONICAL_PARAMS.get(k.lower(), k), v) for k, v in pairs]).encode("latin-1")


class _TrafficMiddleware:
    """Counts response bytes per path, canonicalises query parameter names and, for benchmarks, delays
    every request by ``latency_s``."""

    def __init__(self, app: Any, stats: TrafficStats, latency_s: float) -> None:
        self.app = app
        self.stats = stats
        self.latency_s = latency_s

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = {**scope, "query_string": _canonical_query(scope.get("query_string", b""))}
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        sent = 0

        async def counting_send(message: dict) -> None:
            nonlocal sent
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.stats.record(scope.get("path", ""), sent)


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "<token>") if secret else text


def _utc_stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _parse_time(value: str | None, name: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_api_datetime(value)
    except ValueError:
        raise ApiError(
            400, "ValidationError", f"{name}={value!r} is not a date-time; allowed: ISO 8601 such as 2021-01-01T00:00:00Z",
            validation_errors=[{"message": "not an ISO 8601 date-time", "members": [name]}],
        ) from None


def _parse_bbox(values: list[float] | None, *, required: bool) -> BBox | None:
    if not values:
        if required:
            raise ApiError(
                400, "ValidationError",
                "Bbox is required: repeat it exactly 4 times as W, S, E, N (e.g. Bbox=-180&Bbox=-90&Bbox=180&Bbox=90)",
                validation_errors=[{"message": "The Bbox field is required.", "members": ["bbox"]}],
            )
        return None
    if len(values) != 4:
        raise ApiError(
            400, "ValidationError",
            f"Bbox was given {len(values)} times ({values}); it must be repeated exactly 4 times as W, S, E, N",
            validation_errors=[{"message": "Bbox needs exactly 4 values", "members": ["bbox"]}],
        )
    try:
        return BBox(*values)
    except InvalidInputError as exc:
        raise ApiError(400, "ValidationError", f"Bbox {values} is not a valid box: {exc}",
                       validation_errors=[{"message": str(exc), "members": ["bbox"]}]) from None


def _check_paging(skip: int, max_count: int, *, limit: int | None) -> None:
    if skip < 0:
        raise ApiError(400, "ValidationError", f"SkipCount={skip} is not allowed; it must be >= 0",
                       validation_errors=[{"message": "SkipCount must be >= 0", "members": ["skipCount"]}])
    if max_count < 1:
        raise ApiError(400, "ValidationError", f"MaxResultCount={max_count} is not allowed; it must be >= 1",
                       validation_errors=[{"message": "MaxResultCount must be >= 1", "members": ["maxResultCount"]}])
    if limit is not None and max_count > limit:
        raise ApiError(
            400, "ValidationError", f"MaxResultCount={max_count} is not allowed; it can not be more than {limit}",
            validation_errors=[{"message": f"MaxResultCount can not be more than {limit}!",
                                "members": ["maxResultCount"]}],
        )


def _media_type(name: str) -> str:
    if name.endswith(".pdf"):
        return "application/pdf"
    if name.endswith((".parquet", ".geoparquet")):
        return "application/vnd.apache.parquet"
    return "application/octet-stream"


def create_app(
    catalog_dir: str | Path,
    *,
    public_base_url: str | None = None,
    latency_s: float = 0.0,
    token_validator: TokenValidator | None = None,
    url_signing_key: bytes | str | None = None,
) -> FastAPI:
    """Build the local RDM API serving ``catalog_dir``.

    Parameters
    ----------
    catalog_dir
        A catalogue folder (see :mod:`worldcereal_explorer.server.catalog`).
    public_base_url
        Base of the file URLs the download routes answer (``http://host:port``, no trailing slash);
        ``None`` derives it from each request's ``Host``.
    latency_s
        Extra delay added to every request, to mimic a remote server in benchmarks.
    token_validator
        ``token -> Principal``, raising on an invalid token. ``None``: any bearer token is refused (401).
    url_signing_key
        Key of the HMAC signatures on non-public file URLs; random per app when ``None``.

    Returns
    -------
    fastapi.FastAPI
        The app; ``app.state.catalog`` is the loaded :class:`Catalog`, ``app.state.stats`` its
        :class:`TrafficStats`.

    Raises
    ------
    BadParameterError
        For a missing or empty catalogue folder, or a negative latency.
    """
    if latency_s < 0:
        raise BadParameterError(f"latency_s={latency_s!r} is not allowed; it must be >= 0")
    catalog = Catalog(catalog_dir)
    signer = UrlSigner(url_signing_key)
    base_url = public_base_url.rstrip("/") if public_base_url else None
    synthetic = bool(catalog.info.get("synthetic", False))

    app = FastAPI(
        title="WorldCereal RDM API (local stand-in)",
        version="1",
        description=(
            "A local server speaking the WorldCereal Reference Data Module (RDM) API over a catalogue folder. "
            + ("The data served here is **synthetic demo data**, not real reference data." if synthetic else "")
        ),
    )
    app.state.catalog = catalog
    app.state.stats = TrafficStats()
    app.state.signer = signer
    app.add_middleware(_TrafficMiddleware, stats=app.state.stats, latency_s=latency_s)

    # ---- errors -----------------------------------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"message": str(e.get("msg")), "members": [".".join(str(part) for part in e.get("loc", ())[1:]) or "?"]}
            for e in exc.errors()
        ]
        details = "; ".join(f"{m['members'][0]}: {m['message']}" for m in errors)
        return ApiError(400, "ValidationError", f"Your request is not valid: {details}",
                        details=details, validation_errors=errors).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail) if exc.status_code != 404 else f"no route for {request.url.path!r}"
        return ApiError(exc.status_code, str(exc.status_code), message).response()

    # ---- authentication ---------------------------------------------------------------------------------
    def current_principal(request: Request) -> Principal | None:
        header = request.headers.get("authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Unauthorized", "the Authorization header must be 'Bearer <access token>'",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_request"'})
        if token_validator is None:
            raise ApiError(401, "Unauthorized",
                           "token validation not configured: this server only serves anonymous (public) requests",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        try:
            principal = token_validator(token)
        except Exception as exc:  # any validator failure means the token is not accepted
            reason = _scrub(str(exc), token) or type(exc).__name__
            raise ApiError(401, "Unauthorized", f"bearer token rejected: {reason}",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
        if not isinstance(principal, Principal):
            raise ApiError(500, "InternalError", "token validator did not return a Principal")
        return principal

    PrincipalDep = Annotated[Principal | None, Depends(current_principal)]

    def visible_entry(collection_id: str, principal: Principal | None) -> CatalogEntry:
        entry = catalog.get(collection_id)
        not_found = ApiError(404, "EntityNotFound", f"there is no collection with id {collection_id!r}")
        if entry is None:
            raise not_found
        decision = decide_access(entry.policy, principal)
        if decision is AccessDecision.UNAUTHENTICATED:
            raise ApiError(
                401, "Unauthorized",
                f"collection {collection_id!r} is not public: send 'Authorization: Bearer <access token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if decision is AccessDecision.NOT_FOUND:
            raise not_found
        return entry

    def file_url(request: Request, entry: CatalogEntry, name: str) -> str:
        scope = "public" if entry.is_public else "private"
        path = f"/files/{scope}/{entry.collection_id}/{name}"
        base = base_url or str(request.base_url).rstrip("/")
        url = base + quote(path)
        if not entry.is_public:
            url += "?" + urlencode(signer.sign(path))
        return url

    # ---- routes -----------------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def root() -> JSONResponse:
        return JSONResponse({
            "title": app.title,
            "synthetic": synthetic,
            "generator": catalog.info.get("generator"),
            "collections": len(catalog.entries),
            "docs": "/docs",
            "openapi": "/openapi.json",
        })

    @app.get("/swagger/index.html", include_in_schema=False)
    def swagger_redirect() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/legend.csv", summary="The catalogue's LC/CT legend (same format as the official legend)")
    def legend() -> FileResponse:
        if catalog.legend_path is None:
            raise ApiError(404, "EntityNotFound", "this catalogue has no legend.csv")
        return FileResponse(catalog.legend_path, media_type="text/csv; charset=utf-8")

    @app.get("/collections/search", summary="Collections by bbox, validity time and codes (bare JSON array)")
    def search_collections(
        principal: PrincipalDep,
        bbox: Annotated[list[float] | None, Query(alias="Bbox", description="W, S, E, N (repeat exactly 4 times)")] = None,
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
        box = _parse_bbox(bbox, required=True)
        start = _parse_time(validity_start, "ValidityTime.Start")
        end = _parse_time(validity_end, "ValidityTime.End")
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
        found = [e.api for e in catalog.sorted_entries() if may_see(e.policy, principal) and search.matches(e)]
        return JSONResponse(found)

    @app.get("/collections", summary="All collections, paged ({totalCount, items})")
    def list_collections(
        principal: PrincipalDep,
        skip_count: Annotated[int, Query(alias="SkipCount")] = 0,
        max_result_count: Annotated[int, Query(alias="MaxResultCount")] = DEFAULT_PAGE_SIZE,
    ) -> JSONResponse:
        _check_paging(skip_count, max_result_count, limit=MAX_PAGE_SIZE)
        visible = [e.api for e in catalog.sorted_entries() if may_see(e.policy, principal)]
        return JSONResponse({"totalCount": len(visible),
                             "items": visible[skip_count:skip_count + max_result_count]})

    @app.get("/collections/{collection_id}", summary="One collection object")
    def get_collection(collection_id: str, principal: PrincipalDep) -> JSONResponse:
        return JSONResponse(visible_entry(collection_id, principal).api)

    def samples_file_url(collection_id: str, request: Request, principal: Principal | None, subset: bool) -> str:
        entry = visible_entry(collection_id, principal)
        file = entry.subset_file if subset else entry.full_file
        if file is None:
            kind = "subset" if subset else "samples"
            raise ApiError(404, "EntityNotFound", f"collection {collection_id!r} has no {kind} file")
        return file_url(request, entry, file.name)

    @app.get("/collections/{collection_id}/download", response_class=PlainTextResponse,
             summary="URL of the full GeoParquet file (text/plain)")
    def download_url(collection_id: str, request: Request,
                     principal: PrincipalDep) -> PlainTextResponse:
        return PlainTextResponse(samples_file_url(collection_id, request, principal, subset=False))

    @app.get("/collections/{collection_id}/sample/download", response_class=PlainTextResponse,
             summary="URL of the subset GeoParquet file (samples with extract > 0; text/plain)")
    def sample_download_url(collection_id: str, request: Request,
                            principal: PrincipalDep) -> PlainTextResponse:
        return PlainTextResponse(samples_file_url(collection_id, request, principal, subset=True))

    @app.get("/collections/{collection_id}/items/codestats", summary="Sample counts per code")
    def codestats(collection_id: str, principal: PrincipalDep) -> JSONResponse:
        return JSONResponse(visible_entry(collection_id, principal).code_stats())

    @app.get("/collections/{collection_id}/metadata/items", summary="Metadata items [{id, name, value, type}]")
    def metadata_items(collection_id: str, request: Request,
                       principal: PrincipalDep) -> JSONResponse:
        entry = visible_entry(collection_id, principal)
        urls = {
            "GeoParquetDownloadUrl": entry.full_file.name if entry.full_file else None,
            "SampleDownloadUrl": entry.subset_file.name if entry.subset_file else None,
            "CuratedDataSet:Harmonization:Pdf": entry.pdf_name if entry.pdf_name in entry.files() else None,
        }
        out = []
        for item in entry.metadata_items:
            name = item.get("name")
            if name in _URL_METADATA_KEYS:
                if urls[name] is None:
                    continue
                item = {**item, "value": file_url(request, entry, urls[name])}
            out.append(item)
        return JSONResponse(out)

    @app.get("/collections/{collection_id}/metadata/download", summary="Metadata sheet (xlsx)")
    def metadata_download(collection_id: str,
                          principal: PrincipalDep) -> FileResponse:
        entry = visible_entry(collection_id, principal)
        if entry.metadata_xlsx is None:
            raise ApiError(404, "EntityNotFound", f"collection {collection_id!r} has no metadata sheet")
        return FileResponse(entry.metadata_xlsx, media_type="application/octet-stream",
                            filename=f"{entry.collection_id}_MetaDataUpload.xlsx")

    def feature(row: pd.Series, geometry: Any) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for name in ITEM_PROPERTIES:
            value = row.get(name)
            if name == "valid_time":
                value = None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")
            elif hasattr(value, "item"):
                value = value.item()
            props[name] = value
        return {"type": "Feature", "geometry": mapping(geometry) if geometry is not None else None,
                "properties": props}

    @app.get("/collections/{collection_id}/items", summary="Samples as a GeoJSON FeatureCollection, paged")
    def items(
        collection_id: str,
        principal: PrincipalDep,
        skip_count: Annotated[int, Query(alias="SkipCount")] = 0,
        max_result_count: Annotated[int, Query(alias="MaxResultCount",
                                      description=f"page size, capped at {MAX_ITEMS_PAGE_SIZE}")] = DEFAULT_ITEMS_PAGE_SIZE,
        bbox: Annotated[list[float] | None, Query(alias="Bbox", description="W, S, E, N (repeat exactly 4 times)")] = None,
        validity_start: Annotated[str | None, Query(alias="ValidityStartTime")] = None,
        validity_end: Annotated[str | None, Query(alias="ValidityEndTime")] = None,
        ewoc_codes: Annotated[list[int] | None, Query(alias="EwocCodes")] = None,
        irrigation_types: Annotated[list[int] | None, Query(alias="IrrigationTypes")] = None,
    ) -> JSONResponse:
        entry = visible_entry(collection_id, principal)
        _check_paging(skip_count, max_result_count, limit=None)
        page_size = min(max_result_count, MAX_ITEMS_PAGE_SIZE)
        start = _parse_time(validity_start, "ValidityStartTime")
        end = _parse_time(validity_end, "ValidityEndTime")
        if end is not None and end.time() == dt.time(0) and validity_end and len(validity_end.strip()) <= 10:
            end = end + dt.timedelta(days=1) - dt.timedelta(microseconds=1)  # a bare end date counts entirely
        matched = entry.find_items(bbox=_parse_bbox(bbox, required=False), start=start, end=end,
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

    @app.get("/collections/{collection_id}/items/{feature_id}", summary="One sample as a GeoJSON Feature")
    def item(collection_id: str, feature_id: str,
             principal: PrincipalDep) -> JSONResponse:
        entry = visible_entry(collection_id, principal)
        samples = entry.samples()
        hits = samples[samples["sample_id"] == feature_id]
        if len(hits) == 0:
            raise ApiError(404, "EntityNotFound", f"collection {collection_id!r} has no item {feature_id!r}")
        return JSONResponse(feature(hits.iloc[0], hits.geometry.iloc[0]))

    @app.head("/files/{scope}/{collection_id}/{file_name}", include_in_schema=False)
    @app.get("/files/{scope}/{collection_id}/{file_name}",
             summary="Sample files and harmonization PDFs (HTTP Range and HEAD supported)")
    def files(scope: str, collection_id: str, file_name: str,
              expires: str | None = None, sig: str | None = None) -> Response:
        entry = catalog.get(collection_id)
        not_found = ApiError(404, "EntityNotFound", f"no file {file_name!r} for collection {collection_id!r}")
        if entry is None or scope != ("public" if entry.is_public else "private"):
            raise not_found
        path = entry.files().get(file_name)
        if path is None:
            raise not_found
        if not entry.is_public:
            try:
                signer.verify(f"/files/{scope}/{collection_id}/{file_name}", expires, sig)
            except SignatureError as exc:
                raise ApiError(403, "Forbidden", str(exc)) from None
        return FileResponse(path, media_type=_media_type(file_name))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return ApiError(500, "InternalError", f"internal server error: {type(exc).__name__}").response()

    return app


# ---- running ------------------------------------------------------------------------------------------------


class LocalServer:
    """A uvicorn server running in a daemon thread on 127.0.0.1 (see :func:`serve_in_thread`)."""

    def __init__(self, app: FastAPI, server: uvicorn.Server, thread: threading.Thread, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server = server
        self._thread = thread

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to exit and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> "LocalServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalServer(url={self.url!r})"


def _wait_until_answering(url: str, thread: threading.Thread, deadline_s: float) -> None:
    import urllib.request

    deadline = time.monotonic() + deadline_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"local RDM server thread exited before answering at {url}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError as exc:
            last_error = exc
        time.sleep(0.02)  # poll interval while waiting for the server to answer
    raise RuntimeError(f"local RDM server at {url} did not answer within {deadline_s} s: {last_error}")


def serve_in_thread(catalog_dir: str | Path, *, port: int = 0, startup_timeout_s: float = 30.0,
                    **create_app_kwargs: Any) -> LocalServer:
    """Serve ``catalog_dir`` on 127.0.0.1 in a daemon thread; return once the server answers.

    Parameters
    ----------
    catalog_dir
        The catalogue folder.
    port
        TCP port; 0 picks a free one.
    startup_timeout_s
        How long to wait for the first answer.
    **create_app_kwargs
        Passed to :func:`create_app`; ``public_base_url`` defaults to the server's own URL.

    Returns
    -------
    LocalServer
        With ``.url``, ``.port``, ``.app`` and ``.stop()``; also a context manager.
    """
    sock = bind_loopback(port)
    bound_port = sock.getsockname()[1]
    create_app_kwargs.setdefault("public_base_url", f"http://127.0.0.1:{bound_port}")
    try:
        app = create_app(catalog_dir, **create_app_kwargs)
    except BaseException:
        sock.close()
        raise
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"rdm-server-{bound_port}",
                              daemon=True)
    thread.start()
    local = LocalServer(app, server, thread, bound_port)
    try:
        _wait_until_answering(local.url, thread, startup_timeout_s)
    except BaseException:
        local.stop()
        raise
    return local


def run_server(catalog_dir: str | Path, *, port: int = 8000, host: str = "127.0.0.1", **create_app_kwargs: Any) -> None:
    """Serve ``catalog_dir`` in the foreground until interrupted (for the CLI).

    Parameters
    ----------
    catalog_dir
        The catalogue folder.
    port
        TCP port.
    host
        Interface to bind; the loopback interface unless told otherwise.
    **create_app_kwargs
        Passed to :func:`create_app`; ``public_base_url`` defaults to the URL each request was sent to.
    """
    app = create_app(catalog_dir, **create_app_kwargs)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)

