"""The explorer's query state and the machinery behind it.

:class:`RdmQueryState` is the only caller of the RDM client in the widget layer. It is composed of services,
each handed the current query, the client and a job runner (:class:`ServiceContext`); none imports the
state. Its parts, one job each:

``query``
    :class:`RdmQueryState` itself: the input traits (generated from the fields of
    :class:`~worldcereal_explorer.rdm.query.RdmQuery`; ``state.query`` is one), the output traits, and when
    the services run.
``services``
    :class:`ServiceContext` (what a service is handed) and the query rules the services share (which
    collections a fetch reads, when non-public collections may be asked for).
``search``, ``sample_fetch``, ``preview``
    :class:`SearchService` (collections and crop counts), :class:`SampleService` (the samples),
    :class:`PreviewService` (what a fetch would bring, before fetching).
``exports``
    :class:`ExportService`: exported samples, collection documents and download links.
``legend_loading``
    :class:`LegendService`: the legend loaded on a background thread (``legend`` / ``legend_status`` traits).
``session``
    :class:`AuthSession` (the device login and logout around the client's token provider) and
    :class:`LoginService` (the state's login).
``jobs``
    :class:`JobRunner`: debounce timers, a generation counter per kind, cancel events, worker threads
    (no traits, reusable).
``counts``, ``results``
    Pure functions over count DataFrames and collections (per label, per code, per collection, the
    local crop-code filter, the status line), and one collection's details.
``serialize``, ``links``, ``snippet``
    A query as a saved session, a share link and Python code (through ``RdmQuery``).
"""

from __future__ import annotations

from .counts import search_summary
from .exports import EXPORT_FORMATS, ExportService, SavedFile
from .jobs import Job, JobRunner
from .legend_loading import LEGEND_STATUSES, LegendService
from .preview import PreviewService
from .query import SAMPLE_INPUTS, SEARCH_INPUTS, RdmQueryState, Services
from .sample_fetch import SampleService
from .search import SearchService
from .services import ServiceContext
from .session import AUTH_STATUSES, AuthSession, LoginService

__all__ = [
    "AUTH_STATUSES",
    "EXPORT_FORMATS",
    "LEGEND_STATUSES",
    "SAMPLE_INPUTS",
    "SEARCH_INPUTS",
    "AuthSession",
    "ExportService",
    "Job",
    "JobRunner",
    "LegendService",
    "LoginService",
    "PreviewService",
    "RdmQueryState",
    "SampleService",
    "SavedFile",
    "SearchService",
    "ServiceContext",
    "Services",
    "search_summary",
]
