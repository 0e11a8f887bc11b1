"""A local, RDM-compatible HTTP API over a catalogue folder (FastAPI + uvicorn): composition and running.

Paths, query parameters, status codes and JSON field names follow the live WorldCereal RDM API
(``docs/architecture.md`` "Wire format", ``rdm-api.md``), so the package's client, DuckDB queries
and the reference WorldCereal client work against it unchanged. Errors use the ABP framework's
envelope ``{"error": {"code", "message", "details", "data", "validationErrors"}}``.

The routes live in one router module per job (:mod:`.routes_meta`, :mod:`.routes_collections`,
:mod:`.routes_items`, :mod:`.routes_files`); this module composes them into an app and runs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ..errors import BadParameterError
from . import routes_collections, routes_files, routes_items, routes_meta
from .access import TokenValidator, UrlSigner
from .api_errors import ApiError, install_error_handlers
from .catalog import Catalog
from .context import ServerContext
from .faults import BandwidthMiddleware, FailurePlay, FlakyMiddleware, id_set
from .net import LOOPBACK, RunningServer, bind_loopback, start_uvicorn_in_thread
from .openapi import install_openapi
from .traffic import TrafficMiddleware, TrafficStats

__all__ = ["create_app", "serve_in_thread", "run_server", "LocalServer", "TrafficStats", "ApiError"]


def create_app(
    catalog_dir: str | Path,
    *,
    public_base_url: str | None = None,
    latency_s: float = 0.0,
    token_validator: TokenValidator | None = None,
    url_signing_key: bytes | str | None = None,
    failing_download_ids: Iterable[str] | str | None = None,
    download_fail_delay_s: float = 0.0,
    download_404_ids: Iterable[str] | str | None = None,
    flaky_ids: Iterable[str] | str | None = None,
    flaky_failures: int | None = None,
    flaky_window_s: float = 0.0,
    max_bytes_per_s: float | None = None,
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
    failing_download_ids
        Collection ids (iterable or comma-separated string) whose ``/download`` and ``/sample/download``
        routes answer 500; their ``/metadata/items`` still carry working file URLs.
    download_fail_delay_s
        Seconds those routes wait before answering 500 (the live RDM has been seen to fail after minutes).
    download_404_ids
        Collection ids whose ``/download`` and ``/sample/download`` routes answer 404 ``EntityNotFound`` (the
        answer an unknown id gets) although the collection exists and its ``/metadata/items`` carry the file URLs.
    flaky_ids
        Collection ids (or ``"*"`` for every API route) whose routes answer 503 for a while, then recover.
    flaky_failures
        Requests per flaky id answered 503; ``None``: 3, or unlimited within ``flaky_window_s`` if set.
    flaky_window_s
        Requests within this many seconds of the first request for a flaky id answer 503.
    max_bytes_per_s
        Pace of ``/files/...`` bodies (bytes per second, streamed in small chunks); ``None``: no limit.

    Returns
    -------
    fastapi.FastAPI
        The app; ``app.state.catalog`` is the loaded :class:`Catalog`, ``app.state.stats`` its
        :class:`TrafficStats`, ``app.state.signer`` the URL signer, ``app.state.ctx`` the
        :class:`~worldcereal_explorer.server.context.ServerContext` the routes use.

    Raises
    ------
    BadParameterError
        For a missing or empty catalogue folder, a negative latency or an invalid failure-play setting.
    """
    if latency_s < 0:
        raise BadParameterError(f"latency_s={latency_s!r} is not allowed; it must be >= 0")
    play = FailurePlay(
        failing_download_ids=id_set(failing_download_ids),
        download_fail_delay_s=download_fail_delay_s,
        download_404_ids=id_set(download_404_ids),
        flaky_ids=id_set(flaky_ids),
        flaky_failures=flaky_failures,
        flaky_window_s=flaky_window_s,
        max_bytes_per_s=max_bytes_per_s,
    )
    ctx = ServerContext(
        catalog=Catalog(catalog_dir),
        signer=UrlSigner(url_signing_key),
        base_url=public_base_url.rstrip("/") if public_base_url else None,
        token_validator=token_validator,
        play=play,
    )
    app = FastAPI(
        title="WorldCereal RDM API (local stand-in)",
        version="1",
        description=(
            "A local server speaking the WorldCereal Reference Data Module (RDM) API over a catalogue folder. "
            + ("The data served here is **synthetic demo data**, not real reference data." if ctx.synthetic else "")
        ),
    )
    app.state.ctx = ctx
    app.state.catalog = ctx.catalog
    app.state.stats = TrafficStats()
    app.state.signer = ctx.signer
    install_error_handlers(app)
    # Order matters: routes_collections registers /items/codestats before routes_items' /items/{feature_id}.
    for module in (routes_meta, routes_collections, routes_items, routes_files):
        app.include_router(module.router)
    install_openapi(app, play)
    # Middlewares added later wrap the earlier ones: traffic counting is outermost, so it sees the
    # canonical query, the added latency, the 503s of the flaky play and the paced file bytes alike.
    if play.max_bytes_per_s is not None:
        app.add_middleware(BandwidthMiddleware, max_bytes_per_s=play.max_bytes_per_s)
    if play.flaky_ids:
        app.add_middleware(FlakyMiddleware, play=play)
    app.add_middleware(TrafficMiddleware, stats=app.state.stats, latency_s=latency_s)
    return app


# ---- running ------------------------------------------------------------------------------------------------


class LocalServer(RunningServer):
    """The local RDM server running in a daemon thread on 127.0.0.1 (see :func:`serve_in_thread`).

    ``.url``, ``.port``, ``.app`` (``app.state.stats``, ``app.state.signer``...) and ``.stop()``;
    also a context manager.
    """


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
        Passed to :func:`create_app` (latency, token validator, failure play...); ``public_base_url``
        defaults to the server's own URL.

    Returns
    -------
    LocalServer
        With ``.url``, ``.port``, ``.app`` and ``.stop()``; also a context manager.
    """
    # Bind first: the file URLs the app hands out name the port.
    sock = bind_loopback(port)
    create_app_kwargs.setdefault("public_base_url", f"http://{LOOPBACK}:{sock.getsockname()[1]}")
    try:
        app = create_app(catalog_dir, **create_app_kwargs)
    except BaseException:
        sock.close()
        raise
    server = start_uvicorn_in_thread(app, sock=sock, ready_path="/", timeout_s=startup_timeout_s,
                                     name="rdm-server", server_class=LocalServer)
    assert isinstance(server, LocalServer)
    return server


def run_server(catalog_dir: str | Path, *, port: int = 8000, host: str = LOOPBACK, **create_app_kwargs: Any) -> None:
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
        Passed to :func:`create_app` (latency, failure play...); ``public_base_url`` defaults to the URL
        each request was sent to.
    """
    import uvicorn

    app = create_app(catalog_dir, **create_app_kwargs)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
