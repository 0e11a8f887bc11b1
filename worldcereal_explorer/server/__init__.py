"""Local RDM-compatible server: the live API's routes over a catalogue folder, on 127.0.0.1.

>>> from worldcereal_explorer.server import serve_in_thread
>>> with serve_in_thread("path/to/catalog") as server:   # doctest: +SKIP
...     print(server.url)
"""

from __future__ import annotations

from .access import AccessDecision, AccessPolicy, Principal, UrlSigner, decide_access, may_see
from .app import ApiError, LocalServer, TrafficStats, create_app, run_server, serve_in_thread
from .catalog import Catalog

__all__ = [
    "create_app",
    "serve_in_thread",
    "run_server",
    "LocalServer",
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
