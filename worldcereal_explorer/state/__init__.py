"""The explorer's query state and the machinery behind it.

:class:`RdmQueryState` is the only caller of the RDM client in the widget layer. Its parts, one job each:

``query``
    :class:`RdmQueryState` itself: input and output traits, the searches and sample queries.
``jobs``
    :class:`JobRunner`: debounce timers, a generation counter per kind, cancel events, worker threads
    (no traits, reusable).
``counts``
    Pure functions over count DataFrames and collections (per label, per code, per collection, the
    local crop-code filter, the status line).
``legend_loading``
    The legend loaded on a background thread (``legend`` / ``legend_status`` traits).
``session``
    :class:`AuthSession`: the device login and logout around the client's token provider.
``exports``
    :class:`ExportService`: exported samples, collection documents and download links.
"""

from __future__ import annotations

from .counts import search_summary
from .exports import EXPORT_FORMATS, ExportService, SavedFile
from .jobs import Job, JobRunner
from .legend_loading import LEGEND_STATUSES
from .query import SAMPLE_INPUTS, SEARCH_INPUTS, RdmQueryState
from .session import AUTH_STATUSES, AuthSession

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
    "RdmQueryState",
    "SavedFile",
    "search_summary",
]
