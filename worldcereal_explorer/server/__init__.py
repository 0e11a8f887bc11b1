"""Local RDM-compatible server: the live API's routes over a catalogue folder, on 127.0.0.1.

>>> from worldcereal_explorer.server import serve_in_thread
>>> with serve_in_thread("path/to/catalog") as server:   # doctest: +SKIP
...     print(server.url)

Modules: :mod:`.app` (composition, running), ``routes_*`` (one router per job), :mod:`.context`
(shared dependencies), :mod:`.params`, :mod:`.api_errors`, :mod:`.openapi`, :mod:`.traffic`,
:mod:`.faults` (failure play), :mod:`.net` (loopback sockets, start-and-wait helper), :mod:`.idp`
(+ :mod:`.idp_core`, :mod:`.idp_model`: the local OIDC provider), :mod:`.tokens`, :mod:`.access`.
"""

from __future__ import annotations

from .access import AccessDecision, AccessPolicy, Principal, UrlSigner, decide_access, may_see
from .app import ApiError, LocalServer, TrafficStats, create_app, run_server, serve_in_thread
from .catalog import Catalog
from .faults import FailurePlay
from .net import RunningServer, start_uvicorn_in_thread, wait_until_answering

__all__ = [
    "create_app",
    "serve_in_thread",
    "run_server",
    "LocalServer",
    "RunningServer",
    "start_uvicorn_in_thread",
    "wait_until_answering",
    "FailurePlay",
    "TrafficStats",
    "ApiError",
    "Catalog",
    "Principal",
    "AccessPolicy",
    "AccessDecision",
    "decide_access",
    "may_see",
    "UrlSigner",
]
