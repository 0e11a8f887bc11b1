"""The explorer's single query state: inputs in, collections / counts / samples out.

:class:`RdmQueryState` is the only object of the widget layer that calls the
:class:`~worldcereal_explorer.rdm.client.RdmClient`. Widgets observe and set its traits; it runs the
searches on background threads after a short debounce, so typing in a field or dragging a slider never
blocks the kernel, and a newer query always wins over an older one that happens to finish later.

Its input traits are generated from the fields of :class:`~worldcereal_explorer.rdm.query.RdmQuery`
(:class:`QueryInputs`), and :attr:`RdmQueryState.query` is the one query object they make. The work is
done by services it holds (:attr:`RdmQueryState.services`), each handed the query, the client and a job
runner (:class:`~worldcereal_explorer.state.services.ServiceContext`): the search, the sample fetch, the
preview, the exports, the legend and the login.

The same object works from plain Python::

    state = RdmQueryState(endpoint="http://127.0.0.1:8000", auto_search=False)
    state.bbox = (3.0, 50.0, 6.0, 52.0)
    collections = state.refresh()          # synchronous; raises on bad input
    samples = state.fetch_samples()        # synchronous GeoDataFrame
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Enum, Float, HasTraits, Int, List, TraitType, Unicode, default, observe

from ..errors import WorldCerealExplorerError
from ..rdm.query import SAMPLE_FIELDS, SEARCH_FIELDS, RdmQuery
from ..transport.scopes import wait_for_idle
from . import counts as _counts
from . import links as _links
from . import serialize as _serialize
from . import snippet as _snippet
from .exports import EXPORT_STATUSES, ExportService
from .frame_traits import AnyFrame, DataFrameTrait
from .jobs import Job, JobRunner, describe, progress_fraction
from .kernel_thread import call_on_kernel_thread
from .legend_loading import LEGEND_STATUSES, LegendService
from .preview import (
    DEFAULT_PREVIEW_RESOLUTION,
    PREVIEW_STATUSES,
    PreviewService,
    preview_by_class,
    preview_by_collection,
)
from .results import collection_details
from .sample_fetch import SampleService
from .search import SearchResult, SearchService
from .services import ServiceContext, fetch_ids, fetch_query
from .session import AUTH_STATUSES, AuthSession, LoginService

if TYPE_CHECKING:
    from ..extents import SpatialExtent, TemporalExtent

__all__ = ["QueryInputs", "RdmQueryState", "SAMPLE_INPUTS", "SEARCH_INPUTS", "Services", "input_trait"]

log = logging.getLogger(__name__)

#: Inputs whose change re-runs the collection search (quality, subset and the selected ids only
#: affect the sample query, which is fetched on request because it can be large): the query's
#: :data:`~worldcereal_explorer.rdm.query.SEARCH_FIELDS`.
SEARCH_INPUTS = SEARCH_FIELDS

#: Inputs that change which samples the "Fetch samples" query returns: after one of them changes, the
#: samples already fetched are marked stale (``samples_stale``) until the next fetch. Every field of the
#: query (:data:`~worldcereal_explorer.rdm.query.SAMPLE_FIELDS`).
SAMPLE_INPUTS = SAMPLE_FIELDS

#: Inputs :meth:`RdmQueryState.reset` restores.
RESET_INPUTS = (*SAMPLE_INPUTS, "grouping")

_SEARCH = "search"
_SAMPLES = "samples"


def input_trait(spec: dataclasses.Field) -> TraitType:
    """The state's input trait for one field of :class:`~worldcereal_explorer.rdm.query.RdmQuery`.

    Deliberately lenient (any bbox, polygon or date is accepted): the dashboard may hold a half-typed
    value, and :class:`RdmQuery` validates when a query is made, with the error a user needs.

    Parameters
    ----------
    spec
        The field (from ``dataclasses.fields(RdmQuery)``).

    Returns
    -------
    TraitType
        By the field's default: ``None`` any value (``None`` allowed), a bool ``Bool``, an int ``Int``
        bounded by the metadata's ``min``/``max``, a tuple a ``List`` (of ``Unicode`` for ``tuple[str, ...]``);
        its ``help`` is the metadata's ``doc``.
    """
    meta = spec.metadata
    doc = meta.get("doc", "")
    value = None if spec.default is dataclasses.MISSING else spec.default
    if value is None:
        return AnyTrait(None, allow_none=True, help=doc)
    if isinstance(value, bool):
        return Bool(value, help=doc)
    if isinstance(value, int):
        return Int(value, min=meta.get("min"), max=meta.get("max"), help=doc)
    if isinstance(value, float):
        return Float(value, min=meta.get("min"), max=meta.get("max"), help=doc)
    if isinstance(value, str):
        return Unicode(value, help=doc)
    if isinstance(value, tuple):
        items = Unicode() if "str" in str(spec.type) else None
        return List(items, default_value=list(value), help=doc)
    return AnyTrait(value, help=doc)


if TYPE_CHECKING:
    class QueryInputs(HasTraits):
        """The input traits, one per field of :class:`RdmQuery` (their Python types, for mypy)."""

        bbox: Any
        polygon: Any
        start_date: Any
        end_date: Any
        ewoc_codes: list[Any]
        include_public: bool
        include_private: bool
        include_restricted: bool
        min_quality_lc: int
        min_quality_ct: int
        subset: bool
        selected_ids: list[str]
else:
    #: The input traits: one per field of :class:`~worldcereal_explorer.rdm.query.RdmQuery`, generated from
    #: its ``dataclasses.fields`` and their metadata, so a new field is a new trait of the state.
    QueryInputs = type("QueryInputs", (HasTraits,), {
        "__doc__": "The input traits of the query state, one per field of RdmQuery (generated).",
        "__module__": __name__,
        **{spec.name: input_trait(spec) for spec in dataclasses.fields(RdmQuery)},
    })


@dataclass(frozen=True)
class Services:
    """The services an :class:`RdmQueryState` is composed of (``state.services``).

    Attributes
    ----------
    search
        The collection search (:class:`~worldcereal_explorer.state.search.SearchService`).
    samples
        The sample fetch (:class:`~worldcereal_explorer.state.sample_fetch.SampleService`).
    preview
        The sample preview (:class:`~worldcereal_explorer.state.preview.PreviewService`).
    exports
        Files for the user (:class:`~worldcereal_explorer.state.exports.ExportService`; also ``state.exports``).
    legend
        The legend loaded in the background (:class:`~worldcereal_explorer.state.legend_loading.LegendService`).
    login
        The device login (:class:`~worldcereal_explorer.state.session.LoginService`).
    """

    search: SearchService
    samples: SampleService
    preview: PreviewService
    exports: ExportService
    legend: LegendService
    login: LoginService


class RdmQueryState(QueryInputs):
    """One shared RDM query: filters in, matching collections, crop counts and samples out.

    Parameters
    ----------
    endpoint
        RDM base URL; ``None`` means ``$WORLDCEREAL_RDM_URL`` or the live API (resolved by the client).
    client
        An existing :class:`~worldcereal_explorer.rdm.client.RdmClient` to use instead of building one.
    **traits
        Initial values of any trait below (``bbox=...``, ``debounce_s=0``, ``auto_search=False`` ...).

    Notes
    -----
    Inputs, one trait per field of :class:`~worldcereal_explorer.rdm.query.RdmQuery` (:attr:`query` makes
    one of them): ``bbox`` ``(west, south, east, north)`` or ``None``; ``polygon`` (GeoJSON mapping or
    shapely, takes precedence over ``bbox``); ``start_date``/``end_date`` (dates or ISO strings, both or
    neither); ``ewoc_codes`` (empty = every crop); ``include_public``/``include_private``/
    ``include_restricted``; ``min_quality_lc``/``min_quality_ct`` (0..100); ``subset``; ``selected_ids``
    (restrict the sample query; empty = all matching collections). Besides: ``grouping``
    ``{ewoc_code: new_label}``.

    Outputs: ``collections`` (list of :class:`~worldcereal_explorer.rdm.models.Collection`);
    ``class_counts`` (DataFrame indexed by ``(ewoc_code, Label)``, one column per collection found by the
    space / time / access search, every crop code, *without* the crop filter: what the crop tree shows);
    ``counts`` (the same restricted to the selected codes and the collections holding them; equal to
    ``class_counts`` when no code is selected). Both are whole-collection totals from the RDM's code
    statistics, not the number of samples inside the bbox or dates: the preview counts those exactly
    (:meth:`matching_counts`, :meth:`matching_totals` once :attr:`matching_ready`), as :meth:`fetch_samples`
    returns them. ``samples`` (GeoDataFrame with ``label`` and ``new_label`` columns added), ``samples_stale``
    (a sample filter changed since ``samples`` was fetched), ``status`` (``"idle"``, ``"loading"``,
    ``"error"``), ``message`` and ``progress`` (0..1).

    Legend: ``legend`` (the :class:`~worldcereal_explorer.legend.Legend`, ``None`` until loaded),
    ``legend_status`` (``"unloaded"``, ``"loading"``, ``"ready"``, ``"error"``) and ``legend_message``;
    :meth:`load_legend` loads it on a background thread.

    Login: ``auth_status`` (see :data:`~worldcereal_explorer.state.session.AUTH_STATUSES`) and
    ``auth_user`` follow :attr:`auth`; :meth:`login`, :meth:`cancel_login` and :meth:`logout` drive it.

    Exports: ``export_status`` (one of :data:`~worldcereal_explorer.state.exports.EXPORT_STATUSES`),
    ``export_message``, ``export_path``, ``export_progress`` and ``export_rows`` follow the streamed export
    (:meth:`stream_samples`).

    Preview: ``auto_preview``, ``preview_resolution``, ``preview_counts``, ``preview_density``,
    ``preview_estimate``, ``preview_too_large``, ``preview_status``, ``preview_message`` and
    ``preview_skipped`` (see :mod:`~worldcereal_explorer.state.preview`).

    Errors never propagate out of background work: they land in ``status``/``message``. The synchronous
    :meth:`refresh` and :meth:`fetch_samples` also raise them, which is what plain-Python callers want.
    """

    # --- inputs (besides the generated ones of QueryInputs) -----------------------------------------
    endpoint = Unicode(None, allow_none=True, help="RDM base URL; None = $WORLDCEREAL_RDM_URL or the live API")
    grouping = Dict(help="{ewoc_code: new_label} for codes grouped into a new label")

    # --- outputs ------------------------------------------------------------------------------------
    collections: List[Any] = List()
    counts = DataFrameTrait(allow_none=True,
                            help="collection totals per crop code for the selected codes and collections")
    class_counts = DataFrameTrait(allow_none=True,
                                  help="collection totals per crop code without the crop filter")
    samples = AnyFrame(None, allow_none=True, help="GeoDataFrame of the last fetched samples")
    samples_stale = Bool(False, help="a sample filter changed after `samples` was fetched")
    status = Enum(("idle", "loading", "error"), default_value="idle")
    message = Unicode("")
    #: Collections left out of the last search's counts or the last fetch, with the reason: ``{ref_id: why}``.
    failed_collections = Dict()
    progress = Float(0.0, min=0.0, max=1.0)
    #: The search outputs (``collections``, ``class_counts``, ``counts``) do not belong to the current search
    #: inputs: one changed and the search for it has not applied yet (scheduled, running, cancelled), or it failed.
    results_stale = Bool(False, help="collections and counts are from earlier filters (search pending or failed)")
    #: Collections read so far / to read by the running sample fetch (``0`` / ``0`` before its first report).
    progress_done = Int(0, min=0)
    progress_total = Int(0, min=0)

    # --- legend (LegendService) ----------------------------------------------------------------------
    legend = AnyTrait(None, allow_none=True, help="the Legend once loaded (see legend_status)")
    legend_status = Enum(LEGEND_STATUSES, default_value="unloaded")
    legend_message = Unicode("", help="why the legend could not be loaded")

    # --- login (LoginService) ------------------------------------------------------------------------
    auth_status = Enum(AUTH_STATUSES, default_value="logged_out", help="the login session's status")
    auth_user = Unicode(None, allow_none=True, help="who is logged in")

    # --- streamed export (ExportService) -------------------------------------------------------------
    export_status = Enum(EXPORT_STATUSES, default_value="idle")
    export_message = Unicode("")
    export_path = Unicode("")
    export_progress = Float(0.0, min=0.0, max=1.0)
    export_rows = Int(0, min=0)

    # --- preview (PreviewService) --------------------------------------------------------------------
    auto_preview = Bool(False, help="preview the sample counts after every search and sample-filter change")
    preview_resolution = Int(DEFAULT_PREVIEW_RESOLUTION, min=0, max=15, help="H3 resolution of preview_density")
    preview_counts = DataFrameTrait(allow_none=True, help="samples a fetch would return per (ewoc_code, ref_id)")
    preview_density = DataFrameTrait(allow_none=True, help="samples a fetch would return per H3 cell")
    preview_estimate = AnyTrait(None, allow_none=True, help="FetchEstimate of a full fetch")
    preview_too_large = Bool(False, help="a fetch would exceed the client's memory budget")
    preview_status = Enum(PREVIEW_STATUSES, default_value="off")
    preview_message = Unicode("")
    preview_skipped = Dict(help="{ref_id: why} collections the last preview could not read")

    # --- behaviour ----------------------------------------------------------------------------------
    debounce_s = Float(0.3, min=0.0, help="seconds of quiet after an input change before searching")
    auto_search = Bool(True, help="re-run the search when a search input changes")
    client = AnyTrait(help="the RdmClient; built from `endpoint` on first use")

    def __init__(self, endpoint: str | None = None, *, client: Any = None, **traits: Any):
        self._jobs = JobRunner(name="wce-query", on_settle=self._on_idle)
        get_client: Callable[[], Any] = lambda: self.client  # noqa: E731 - built on first use
        queries = ServiceContext(query=lambda: self.query, client=get_client, jobs=self._jobs)
        fetches = ServiceContext(query=self.fetch_query, client=get_client, jobs=self._jobs)
        legend = LegendService(get_client, self)
        self.services = Services(
            search=SearchService(queries, legend.label_of),
            samples=SampleService(fetches, legend.labels_of),
            # its own runner: a preview never counts as a query (status, busy, wait(), Cancel)
            preview=PreviewService(ServiceContext(self.fetch_query, get_client, JobRunner(name="wce-preview")),
                                   self),
            exports=ExportService(fetches, self, self._report),
            legend=legend,
            login=LoginService(get_client, self),
        )
        #: The export service (``state.services.exports``): files for the download panel.
        self.exports = self.services.exports
        self._input_version = 0
        #: bumped on every search-input change; a search applies as current only for the version it read
        self._search_version = 0
        #: (input version, grouping) the applied ``samples`` were fetched for: whether a partial fetch may
        #: keep their rows of the collections it could not read
        self._samples_fetched_for: tuple | None = None
        #: How many queries of each kind actually started (superseded-while-waiting ones never start).
        self.queries_started = self._jobs.started
        #: How many previews actually started (superseded-while-waiting ones never start).
        self.previews_started = self.services.preview.started
        # after the class's own input observers (the search and sample bookkeeping), before the traits are set
        self.observe(self._on_preview_input, names=list(SAMPLE_INPUTS))
        if client is not None:
            traits["client"] = client
        super().__init__(endpoint=endpoint, **traits)
        #: what :meth:`reset` restores: the inputs as this state was created
        self._input_defaults = {name: getattr(self, name) for name in RESET_INPUTS}

    @default("client")
    def _default_client(self) -> Any:
        from ..rdm.client import RdmClient

        return RdmClient(self.endpoint)

    @property
    def client_endpoint(self) -> str | None:
        """The RDM URL the client talks to; before a client is built, ``endpoint`` (none is built for this)."""
        client = self._trait_values.get("client")
        return getattr(client, "endpoint", None) or self.endpoint

    # --- the query ----------------------------------------------------------------------------------------
    @property
    def query(self) -> RdmQuery:
        """The current inputs as one :class:`~worldcereal_explorer.rdm.query.RdmQuery` (validated).

        Raises
        ------
        InvalidInputError
            A subclass naming the bad input and what is allowed (also what the search shows in ``message``).
        """
        return RdmQuery(**{name: getattr(self, name) for name in RdmQuery.FIELDS})

    def fetch_query(self) -> RdmQuery:
        """The query :meth:`fetch_samples`, the preview and the streamed export run: :attr:`query` with the
        collections it reads (the selected ones, else the ones the search found) and the non-public ones
        only with a session (see :func:`~worldcereal_explorer.state.services.fetch_query`)."""
        return fetch_query(self.query, list(self.collections), self.client)

    def spatial_extent(self) -> SpatialExtent | None:
        """The validated spatial filter: the polygon when one is set, else the bbox, else ``None``.

        Raises
        ------
        BadExtentError
            When the bbox or polygon is invalid (the message names the value and what is allowed).
        """
        return self.query.spatial_extent

    def temporal_extent(self) -> TemporalExtent | None:
        """The validated date range, or ``None`` when neither date is set.

        Raises
        ------
        BadTemporalExtentError
            When only one date is set, a date cannot be parsed, or start is after end.
        """
        return self.query.temporal_extent

    def ewoc_code_filter(self) -> list[int] | None:
        """The validated crop filter; ``None`` when no code is selected (= every crop)."""
        return list(self.query.ewoc_codes) or None

    # --- job plumbing ---------------------------------------------------------------------------------
    def _submit(self, kind: str, delay: float | None, reuse: bool = False) -> Job:
        """Schedule (``delay``) or register (``None``) a query, superseding the previous one of its kind."""
        work = self._search_work if kind == _SEARCH else self._samples_work
        with self._jobs.condition:
            job = self._jobs.submit(kind, work, delay=delay, on_result=self._apply, on_error=self._report,
                                    input_version=self._input_version, reuse=reuse)
            if job.cancelled:  # the state is closed
                return job
            self.status = "loading"
            self.message = "searching collections\u2026" if kind == _SEARCH else "fetching samples\u2026"
            if kind == _SAMPLES or not self._jobs.is_pending(_SAMPLES):
                # Counts of the last fetch would show as a full bar beside "searching…": a bar shows work
                # done by the query running, so it starts empty (a search reports none).
                self.progress = 0.0
                self.progress_done = self.progress_total = 0
        return job

    def _on_idle(self) -> None:
        """Back to idle once nothing is pending (an error stays visible until the next query)."""
        if self.status == "loading":
            self.status = "idle"

    def _report(self, job: Job, exc: BaseException) -> None:
        # any failure must reach the UI as a message, not a traceback
        if not isinstance(exc, WorldCerealExplorerError):
            log.exception("unexpected error in the %s query", job.kind, exc_info=exc)
        message = describe(exc)
        if job.kind == _SEARCH:
            self.results_stale = True  # what is shown is not the answer to these filters
        elif self.samples is not None:
            # a failed fetch leaves the samples on the map alone: say they are still there, and from when
            n = len(self.samples)
            message += (f"; kept the {_counts.plural(n, 'sample')} fetched before"
                        + (" (for earlier filters)" if self.samples_stale else ""))
        self.message = message
        self.status = "error"

    def _apply(self, job: Job) -> None:
        if job.kind == _SEARCH:
            found: SearchResult = job.result
            collections = found.collections
            ids = {c.id for c in collections}
            # One by one, never under hold_trait_notifications: outside a kernel this runs on the worker
            # thread, and holding would queue the user's own changes and fire them here (jobs.grouped_updates).
            # The collections last: the views redraw on them and read the rest.
            self.class_counts = found.class_counts
            self.counts = found.counts
            self.results_stale = job.context.get("search_version") != self._search_version
            self.collections = collections
            kept = [i for i in self.selected_ids if i in ids]
            if kept != list(self.selected_ids):
                self.selected_ids = kept
            self.failed_collections = dict(found.failed)
            fetched = ""
            if self.samples is not None and not self.samples_stale:
                # a fetch for these same filters finished first (Fetch clicked while the search was
                # pending): keep saying so, or the status would hide the samples on the map
                fetched = f"; {len(self.samples):,} sample{'s' if len(self.samples) != 1 else ''} fetched"
            note = f"; {found.note}" if found.note else ""
            self.message = _counts.search_summary(len(collections), _counts.total(found.counts),
                                                  found.filtered) + note + fetched
            self.services.preview.want(0.0, search_pending=self._search_pending(False))
        else:
            samples = job.result
            skipped = dict(samples.attrs.get("skipped") or {})
            fetched_for = (job.context["input_version"], tuple(sorted(map(str, job.context["grouping"].items()))))
            samples, kept_note = self._keep_earlier_rows(samples, skipped, fetched_for)
            # the flag first, so a view redrawing for the new samples reads the right one
            self.samples_stale = job.context["input_version"] != self._input_version
            self._samples_fetched_for = fetched_for
            self.samples = samples
            self.progress = 1.0
            self.failed_collections = skipped
            self.message = f"{len(samples):,} sample{'s' if len(samples) != 1 else ''} match your filters" + (
                f"; {_counts.failure_note('samples', skipped)}" if skipped else "") + kept_note

    def _keep_earlier_rows(self, samples: Any, skipped: dict[str, str], fetched_for: tuple) -> tuple[Any, str]:
        """``samples`` with the earlier fetch's rows of the collections that failed now added back, when that
        fetch answered the same inputs and grouping (its rows are then exactly what these would have been),
        and the status line's note about them (``""`` when none are kept)."""
        earlier = self.samples
        if (not skipped or earlier is None or self._samples_fetched_for != fetched_for
                or "ref_id" not in getattr(earlier, "columns", ()) or "ref_id" not in samples.columns):
            return samples, ""
        rows = earlier[earlier["ref_id"].isin(list(skipped))]
        if rows.empty:
            return samples, ""
        merged = pd.concat([samples, rows], ignore_index=True)
        merged.attrs = dict(samples.attrs)
        ids = sorted(set(rows["ref_id"]))
        return merged, (f"; kept the {_counts.plural(len(rows), 'sample')} of {', '.join(ids)} "
                        "from the previous fetch of these filters")

    # --- the work (runs on a worker thread, or the caller's for refresh()) -------------------------------
    def _search_work(self, job: Job) -> SearchResult:
        job.context["search_version"] = self._search_version  # read before the inputs it answers
        return self.services.search.run(job, reuse=job.context["reuse"])

    def _samples_work(self, job: Job) -> Any:
        grouping = job.context["grouping"] = dict(self.grouping)
        return self.services.samples.run(job, grouping=grouping, progress=self._progress_callback(job))

    def _progress_callback(self, job: Job) -> Callable[..., None]:
        def progress(*args: Any, **kwargs: Any) -> None:
            fraction = progress_fraction(*args, **kwargs)
            if fraction is None:
                return
            event = args[0] if args else None
            counts = ((max(0, int(event.collections_total)), max(0, int(event.collections_done)))
                      if event is not None and hasattr(event, "collections_done") else None)

            def show() -> None:
                with self._jobs.condition:
                    if self._jobs.is_current(job):
                        if counts is not None:
                            self.progress_total, self.progress_done = counts
                        self.progress = fraction

            call_on_kernel_thread(show, key=(id(self), "progress"))

        return progress

    # --- the preview's schedule ---------------------------------------------------------------------------
    def _search_pending(self, search_input: bool) -> bool:
        """Whether a search for the current inputs is on its way (it previews when it applies)."""
        return self.auto_search and (search_input or self.results_stale)

    def _on_preview_input(self, change: dict) -> None:
        search_input = change["name"] in SEARCH_INPUTS
        self.services.preview.want(self.debounce_s, search_pending=self._search_pending(search_input))

    @observe("auto_preview", "preview_resolution")
    def _on_preview_setting(self, change: dict) -> None:
        if change["name"] == "auto_preview" and not change["new"]:
            return
        self.services.preview.want(self.debounce_s, search_pending=self._search_pending(False))

    # --- public API -----------------------------------------------------------------------------------
    @observe(*SEARCH_INPUTS)
    def _on_search_input(self, change: dict) -> None:
        with self._jobs.condition:
            self._search_version += 1
            self.results_stale = True
        if self.auto_search:
            # an automatic search may answer a change of crop codes from the last unfiltered search
            self._submit(_SEARCH, self.debounce_s, reuse=True)

    @observe(*SAMPLE_INPUTS)
    def _on_sample_input(self, change: dict) -> None:
        with self._jobs.condition:
            self._input_version += 1
            if self.samples is not None:
                self.samples_stale = True

    def search(self, delay: float | None = None) -> None:
        """Schedule the collection search on a background thread after ``delay`` (default ``debounce_s``).

        Calling it again before the delay runs out restarts the wait; a search already running is
        cancelled and its result discarded.
        """
        self._submit(_SEARCH, self.debounce_s if delay is None else delay)

    def refresh(self) -> list:
        """Run the collection search now, in this thread, and return the matching collections.

        Raises
        ------
        InvalidInputError
            When an input is invalid (also shown in ``status``/``message``).
        RdmError
            When the RDM call fails (also shown in ``status``/``message``).
        """
        job = self._jobs.run(self._submit(_SEARCH, None))
        if job.error is not None:
            raise job.error
        return list(self.collections)

    async def refresh_async(self) -> list:
        """:meth:`refresh` for ``await`` in notebooks: runs on a worker thread, the event loop stays free."""
        import asyncio

        return await asyncio.to_thread(self.refresh)

    def fetch_samples(self, wait: bool = True):
        """Fetch the samples matching the current inputs into ``samples``.

        Parameters
        ----------
        wait
            ``True`` (default): run in this thread and return the GeoDataFrame (raising on failure).
            ``False``: run on a background thread (what the dashboard does) and return ``None``;
            :meth:`cancel` stops it, :meth:`wait` waits for it.
        """
        if not wait:
            self._submit(_SAMPLES, 0.0)
            return None
        job = self._jobs.run(self._submit(_SAMPLES, None))
        if job.error is not None:
            raise job.error
        return job.result

    def cancel(self) -> None:
        """Cancel pending and running queries; the state goes back to idle with a message."""
        with self._jobs.condition:
            if self._jobs.cancel():
                self.message = "cancelled"

    @property
    def busy(self) -> bool:
        """True while a query is scheduled or running."""
        return self._jobs.busy

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until no query is scheduled or running; return ``False`` on timeout."""
        return self._jobs.wait(timeout)

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = 60.0) -> bool:
        """Block until ``predicate()`` is true; it is re-checked whenever a query is scheduled, starts
        or ends. Return ``False`` on timeout."""
        return self._jobs.wait_for(predicate, timeout)

    def reset(self) -> None:
        """Put every query input back to its value when this state was created (the trait defaults unless
        given to the constructor): area, dates, crops and grouping, access, quality, subset and the selected
        collections. With ``auto_search`` one search follows."""
        with self.hold_trait_notifications():
            for name, value in self._input_defaults.items():
                current = getattr(self, name)
                if current is not value and (type(current) is not type(value) or current != value):
                    setattr(self, name, value.copy() if isinstance(value, (list, dict)) else value)

    # --- results (state/results.py, counts.py) -----------------------------------------------------------
    def collection_details(self, ref_id: str) -> dict[str, Any]:
        """What a details panel shows about one collection; see
        :func:`~worldcereal_explorer.state.results.collection_details`.

        Raises
        ------
        RdmError
            When the collection itself cannot be read.
        """
        return collection_details(self.client, list(self.collections), self.class_counts, ref_id)

    def counts_by_label(self) -> pd.DataFrame:
        """Crop counts summed per (grouped) label: index label, one column per collection, sorted by total."""
        return _counts.counts_by_label(self.counts, self.grouping)

    def counts_by_code(self, unfiltered: bool = False) -> dict[int, int]:
        """Total sample count per ewoc code over the current collections.

        Parameters
        ----------
        unfiltered
            ``False``: the selected codes over the collections holding them (``counts``); ``True``: every
            code over every collection of the space / time / access search (``class_counts``).
        """
        return _counts.counts_by_code(self.class_counts if unfiltered else self.counts)

    def collection_totals(self) -> dict[str, int]:
        """Samples per collection *in the whole collection*: its total for the selected codes (all codes
        when none is selected), from ``counts``; the status line's search summary adds these up. Not the
        samples matching the area, dates, quality or subset: those are :meth:`matching_totals`."""
        return _counts.collection_totals(self.counts, self.collections, filtered=bool(self.ewoc_codes))

    # --- matching your filters (the preview; docs/architecture.md "One number per meaning") ----------------
    @property
    def matching_ready(self) -> bool:
        """Whether numbers *matching your filters* exist for the current inputs: the preview is ``"ready"``
        (any input change makes it ``"pending"`` or ``"stale"`` at once). Until then the only numbers are
        the whole-collection ones, and the widgets say so."""
        return self.preview_status == "ready" and self.preview_counts is not None

    def matching_counts(self) -> pd.DataFrame | None:
        """The samples a fetch would return, every filter applied, indexed by ``(ewoc_code, Label)`` with one
        column per collection (as ``counts``; see :func:`~worldcereal_explorer.state.counts.matching_counts`);
        ``None`` unless :attr:`matching_ready`."""
        if not self.matching_ready:
            return None
        # the legend only when loaded: widgets call this on the kernel's thread, which must not download it
        legend = self.legend
        return _counts.matching_counts(self.preview_counts, self.class_counts,
                                       None if legend is None else legend.label)

    def matching_totals(self) -> dict[str, int] | None:
        """Samples a fetch would return per collection it reads (``{ref_id: n}``, ``0`` included; a collection
        the preview could not read is left out); ``None`` unless :attr:`matching_ready`."""
        if not self.matching_ready:
            return None
        found = preview_by_collection(self.preview_counts)
        skipped = set(self.preview_skipped)
        return {ref: found.get(ref, 0) for ref in fetch_ids(self.selected_ids, self.collections) if ref not in skipped}

    def matching_by_code(self) -> dict[int, int] | None:
        """Samples a fetch would return per ewoc code; ``None`` unless :attr:`matching_ready`."""
        frame = self.matching_counts()
        return None if frame is None else _counts.counts_by_code(frame)

    def matching_by_label(self) -> pd.DataFrame | None:
        """:meth:`matching_counts` summed per (grouped) label, as :meth:`counts_by_label`; ``None`` unless
        :attr:`matching_ready`."""
        frame = self.matching_counts()
        return None if frame is None else _counts.counts_by_label(frame, self.grouping)

    # --- legend (LegendService) ---------------------------------------------------------------------------
    def load_legend(self, wait: bool = False, timeout: float | None = 60.0) -> Any:
        """Load the client's legend on a background thread into ``legend`` (once); see
        :meth:`~worldcereal_explorer.state.legend_loading.LegendService.load`.

        Parameters
        ----------
        wait
            Block until the legend is loaded (or failed), at most ``timeout`` seconds.
        timeout
            Seconds to wait when ``wait`` is true.

        Returns
        -------
        Legend or None
            The legend when it is loaded (by now), else ``None``.
        """
        return self.services.legend.load(wait, timeout)

    # --- login (LoginService) -----------------------------------------------------------------------------
    @property
    def auth(self) -> AuthSession:
        """The login session around the client's token provider (made on first use).

        When the client has no token provider yet, the default device-login provider is installed on
        it here, so a login in this session authorises the client's searches and sample reads.
        """
        return self.services.login.session

    @observe("auth_status")
    def _on_auth_status(self, change: dict) -> None:
        self.services.login.session_changed(change["old"])
        # A session opening or ending changes what the search may return: run it again.
        if "logged_in" in (change["old"], change["new"]) and (self.include_private or self.include_restricted):
            self.search(delay=0)

    def login(self, wait: bool = False, timeout: float | None = 300.0) -> bool:
        """Start the device login on a background thread; ``auth.authorization`` then holds the link and
        code to show. When the session opens, the search runs again.

        Parameters
        ----------
        wait
            Block until the login ends (approved, denied, cancelled), at most ``timeout`` seconds.
        timeout
            Seconds to wait when ``wait`` is true.

        Returns
        -------
        bool
            ``True`` when a session is open (with ``wait``) or a login was started (without).
        """
        return self.services.login.login(wait, timeout)

    def cancel_login(self) -> None:
        """Stop waiting for a login's approval."""
        self.services.login.cancel()

    def logout(self) -> None:
        """End the session (tokens dropped, cache entry deleted, provider told); the search runs again."""
        self.services.login.logout()

    # --- files (ExportService) ------------------------------------------------------------------------------
    def stream_samples(self, dst_dir: str | Path | None = None, format: str = "GeoParquet", *,
                       wait: bool = True) -> Path | None:
        """Stream the samples of the current filters into a file in ``dst_dir`` (default
        ``exports.download_dir``) as ``format`` without fetching them; see :meth:`ExportService.stream_samples`.

        Parameters
        ----------
        dst_dir
            Folder to write to.
        format
            ``"GeoParquet"``, ``"GeoPackage"`` or ``"CSV"``.
        wait
            ``True`` (default): run in this thread and return the path; ``False``: in the background
            (``state.cancel()`` stops it).
        """
        return self.exports.stream_samples(format, dst_dir, wait=wait)

    def export_samples(self, dst_dir: str | Path | None = None, format: str = "GeoParquet") -> Path:
        """Write ``samples`` into ``dst_dir`` (default ``exports.download_dir``) as ``format``
        (``"GeoParquet"``, ``"GeoPackage"`` or ``"CSV"``) and return the file's path.

        Raises
        ------
        BadParameterError
            No samples fetched yet, or an unknown format.
        """
        return self.exports.save_samples(format, dst_dir)

    def download_metadata(self, ref_id: str, dst_dir: str | Path | None = None) -> Path:
        """Download the collection's metadata workbook (``{ref_id}_metadata.xlsx``) into ``dst_dir``."""
        return self._download(self.exports.metadata, ref_id, dst_dir)

    def download_harmonization_info(self, ref_id: str, dst_dir: str | Path | None = None) -> Path:
        """Download the collection's harmonisation PDF into ``dst_dir``."""
        return self._download(self.exports.harmonization_info, ref_id, dst_dir)

    def _download(self, method: Callable[..., Path], ref_id: str, dst_dir: str | Path | None) -> Path:
        try:
            return method(ref_id, dst_dir)
        except Exception as exc:  # shown in the status bar too, then raised for the caller
            self.message = describe(exc)
            self.status = "error"
            raise

    # --- preview (PreviewService) -----------------------------------------------------------------------------
    def preview(self, wait: bool = False, delay: float | None = None) -> pd.DataFrame | None:
        """Count the samples a fetch would return for the current inputs (see
        :mod:`~worldcereal_explorer.state.preview`).

        Parameters
        ----------
        wait
            ``True``: count in this thread and return ``preview_counts`` (raising on failure). ``False``
            (default): on a worker thread after ``delay`` seconds (default ``debounce_s``); returns ``None``.
        delay
            Seconds to wait before counting in the background.

        Raises
        ------
        InvalidInputError, RdmError
            ``wait=True`` only: an invalid input, or the RDM could not be read.
        """
        return self.services.preview.preview(wait, self.debounce_s if delay is None else delay)

    def cancel_preview(self) -> None:
        """Stop a scheduled or running preview (the last preview's traits stay)."""
        self.services.preview.cancel()

    def wait_preview(self, timeout: float | None = 60.0) -> bool:
        """Block until no preview is scheduled or running; ``False`` on timeout."""
        return self.services.preview.wait(timeout)

    @property
    def preview_busy(self) -> bool:
        """True while a preview is scheduled or running."""
        return self.services.preview.busy

    def preview_by_class(self) -> pd.DataFrame:
        """``ewoc_code``, ``label`` (from the legend once loaded, else ``""``), ``count``: largest first."""
        return preview_by_class(self.preview_counts, self.legend)

    def preview_by_collection(self) -> dict[str, int]:
        """Samples a fetch would return per collection (``{ref_id: count}``, only those with samples)."""
        return preview_by_collection(self.preview_counts)

    # --- share and reproduce (state/serialize.py, links.py, snippet.py) ----------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The query inputs as a JSON-safe dictionary ``{"version": 1, "endpoint": ..., "bbox": ..., ...}``."""
        return _serialize.state_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], client: Any = None, **traits: Any) -> RdmQueryState:
        """A new state holding the query in ``data`` (validated; errors name the bad field).

        Parameters
        ----------
        data
            A dictionary from :meth:`to_dict`.
        client
            The client to use; default: one for the saved ``endpoint``.
        **traits
            Other traits for the new state (``auto_search=False`` ...).
        """
        return _serialize.state_from_dict(data, client, cls=cls, **traits)

    def apply_dict(self, data: Mapping[str, Any]) -> None:
        """Set this state's query inputs from ``data`` (validated first; nothing changes on error)."""
        _serialize.apply_state_dict(self, data)

    def apply_text(self, text: str) -> Any:
        """Set the crop, area and dates a one-line search names (``"maize Kenya 2021"``); see
        :mod:`~worldcereal_explorer.state.text_query`. Filters the line does not name are kept; a line with
        errors changes nothing. Returns the :class:`~worldcereal_explorer.state.text_query.TextQuery` read."""
        from .text_query import apply_text_query

        return apply_text_query(self, text)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the query inputs as a small JSON file (written atomically); return its path."""
        return _serialize.save_state_file(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], client: Any = None, **traits: Any) -> RdmQueryState:
        """A new state holding the query saved by :meth:`save` (see :meth:`from_dict`)."""
        return _serialize.load_state_file(path, client, cls=cls, **traits)

    def to_code(self) -> str:
        """Python code that fetches the same samples as :meth:`fetch_samples` with ``RdmClient.get_samples``."""
        return _snippet.state_to_code(self)

    def to_query_string(self) -> str:
        """The dashboard link's query string for the current filters (``bbox=...&start=...``)."""
        return _links.state_to_query_string(self)

    def close(self, timeout: float = 5.0) -> bool:
        """Cancel pending work, stop a login, join the worker threads and close the HTTP session.

        Closing again does nothing more.

        Parameters
        ----------
        timeout
            Seconds to wait, in all, for worker threads (query, legend, login) to end.

        Returns
        -------
        bool
            ``True`` when none of the state's threads is left alive.
        """
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        self.cancel()
        done = self._jobs.close(timeout)
        done = self.services.legend.close(left()) and done
        done = self.services.login.close(left()) and done
        done = self.services.preview.close(left()) and done
        client = self._trait_values.get("client")
        if client is not None and hasattr(client, "close"):
            client.close()
        return wait_for_idle(left()) and done

    def __repr__(self) -> str:
        return (
            f"RdmQueryState(status={self.status!r}, collections={len(self.collections)}, "
            f"samples={0 if self.samples is None else len(self.samples)}, message={self.message!r})"
        )
