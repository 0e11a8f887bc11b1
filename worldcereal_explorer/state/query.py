"""The explorer's single query state: inputs in, collections / counts / samples out.

:class:`RdmQueryState` is the only object of the widget layer that calls the
:class:`~worldcereal_explorer.rdm.client.RdmClient`. Widgets observe and set its traits; it runs the
searches on background threads after a short debounce, so typing in a field or dragging a slider never
blocks the kernel, and a newer query always wins over an older one that happens to finish later.

The same object works from plain Python::

    state = RdmQueryState(endpoint="http://127.0.0.1:8000", auto_search=False)
    state.bbox = (3.0, 50.0, 6.0, 52.0)
    collections = state.refresh()          # synchronous; raises on bad input
    samples = state.fetch_samples()        # synchronous GeoDataFrame
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Enum, Float, Int, List, Unicode, default, observe

from ..errors import (
    FetchTooLargeError,
    QueryCancelledError,
    WorldCerealExplorerError,
)
from ..rdm.scopes import wait_for_idle
from . import counts as _counts
from . import links as _links
from . import serialize as _serialize
from . import snippet as _snippet
from .exports import ExportService, ExportsMixin
from .frame_traits import AnyFrame, DataFrameTrait
from .inputs import InputsMixin
from .jobs import Job, JobRunner, describe, progress_fraction
from .kernel_thread import call_on_kernel_thread
from .legend_loading import LegendMixin
from .preview import PreviewMixin, refusal_error
from .results import ResultsMixin
from .session import LoginMixin

__all__ = ["RdmQueryState", "SAMPLE_INPUTS", "SEARCH_INPUTS"]

log = logging.getLogger(__name__)

#: Inputs whose change re-runs the collection search (quality, subset and the selected ids only
#: affect the sample query, which is fetched on request because it can be large).
SEARCH_INPUTS = (
    "bbox",
    "polygon",
    "start_date",
    "end_date",
    "ewoc_codes",
    "include_public",
    "include_private",
    "include_restricted",
)

#: Inputs that change which samples the "Fetch samples" query returns: after one of them changes, the
#: samples already fetched are marked stale (``samples_stale``) until the next fetch.
SAMPLE_INPUTS = (*SEARCH_INPUTS, "min_quality_lc", "min_quality_ct", "subset", "selected_ids")

#: Inputs :meth:`RdmQueryState.reset` restores.
RESET_INPUTS = (*SAMPLE_INPUTS, "grouping")

_SEARCH = "search"
_SAMPLES = "samples"


class RdmQueryState(InputsMixin, ResultsMixin, LegendMixin, LoginMixin, ExportsMixin, PreviewMixin):
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
    Inputs: ``bbox`` ``(west, south, east, north)`` or ``None``; ``polygon`` (GeoJSON mapping or shapely,
    takes precedence over ``bbox`` for the samples); ``start_date``/``end_date`` (dates or ISO strings, both
    or neither); ``ewoc_codes`` (empty = every crop); ``grouping`` ``{ewoc_code: new_label}``;
    ``include_public``/``include_private``/``include_restricted``; ``min_quality_lc``/``min_quality_ct``
    (0..100); ``subset``; ``selected_ids`` (restrict the sample query; empty = all matching collections).

    Outputs: ``collections`` (list of :class:`~worldcereal_explorer.rdm.models.Collection`);
    ``class_counts`` (DataFrame indexed by ``(ewoc_code, Label)``, one column per collection found by the
    space / time / access search, every crop code, *without* the crop filter: what the crop tree shows);
    ``counts`` (the same restricted to the selected codes and the collections holding them; equal to
    ``class_counts`` when no code is selected). Both are whole-collection totals from the RDM's code
    statistics, not the number of samples inside the bbox or dates: only :meth:`fetch_samples` gives
    those. ``samples`` (GeoDataFrame with ``label`` and ``new_label`` columns added), ``samples_stale``
    (a sample filter changed since ``samples`` was fetched), ``status`` (``"idle"``, ``"loading"``,
    ``"error"``), ``message`` and ``progress`` (0..1).

    Legend: ``legend`` (the :class:`~worldcereal_explorer.legend.Legend`, ``None`` until loaded),
    ``legend_status`` (``"unloaded"``, ``"loading"``, ``"ready"``, ``"error"``) and ``legend_message``;
    :meth:`load_legend` loads it on a background thread.

    Login: ``auth_status`` (see :data:`~worldcereal_explorer.state.session.AUTH_STATUSES`) and
    ``auth_user`` follow :attr:`auth`; :meth:`login`, :meth:`cancel_login` and :meth:`logout` drive it.

    Errors never propagate out of background work: they land in ``status``/``message``. The synchronous
    :meth:`refresh` and :meth:`fetch_samples` also raise them, which is what plain-Python callers want.
    """

    # --- inputs -------------------------------------------------------------------------------------
    endpoint = Unicode(None, allow_none=True, help="RDM base URL; None = $WORLDCEREAL_RDM_URL or the live API")
    bbox = AnyTrait(None, allow_none=True, help="(west, south, east, north) in degrees, or None")
    polygon = AnyTrait(None, allow_none=True, help="GeoJSON geometry/Feature or shapely (Multi)Polygon, or None")
    start_date = AnyTrait(None, allow_none=True)
    end_date = AnyTrait(None, allow_none=True)
    ewoc_codes = List(help="selected ewoc codes; empty = no crop filter")
    grouping = Dict(help="{ewoc_code: new_label} for codes grouped into a new label")
    include_public = Bool(True)
    include_private = Bool(False)
    include_restricted = Bool(False)
    min_quality_lc = Int(0, min=0, max=100)
    min_quality_ct = Int(0, min=0, max=100)
    subset = Bool(False, help="read the sample subset files (extract > 0) instead of the full collections")
    selected_ids = List(Unicode(), help="collection ids the sample query is restricted to; empty = all")

    # --- outputs ------------------------------------------------------------------------------------
    collections = List()
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

    # --- behaviour ----------------------------------------------------------------------------------
    debounce_s = Float(0.3, min=0.0, help="seconds of quiet after an input change before searching")
    auto_search = Bool(True, help="re-run the search when a search input changes")
    client = AnyTrait(help="the RdmClient; built from `endpoint` on first use")

    def __init__(self, endpoint: str | None = None, *, client: Any = None, **traits: Any):
        self._jobs = JobRunner(name="wce-query", on_settle=self._on_idle)
        self._init_legend()
        self._init_login()
        self._input_version = 0
        self._init_preview()  # before the traits: the preview observes the sample inputs
        #: bumped on every search-input change; a search applies as current only for the version it read
        self._search_version = 0
        #: (space / time / access key, collections, class_counts) of the last completed search
        self._unfiltered: tuple[Any, list, pd.DataFrame] | None = None
        #: How many queries of each kind actually started (superseded-while-waiting ones never start).
        self.queries_started = self._jobs.started
        self.exports = ExportService(self)
        if client is not None:
            traits["client"] = client
        super().__init__(endpoint=endpoint, **traits)
        #: what :meth:`reset` restores: the inputs as this state was created
        self._input_defaults = {name: getattr(self, name) for name in RESET_INPUTS}

    @default("client")
    def _default_client(self):
        from ..rdm.client import RdmClient

        return RdmClient(self.endpoint)

    # --- job plumbing ---------------------------------------------------------------------------------
    def _submit(self, kind: str, delay: float | None, reuse: bool = False) -> Job:
        """Schedule (``delay``) or register (``None``) a query, superseding the previous one of its kind."""
        work = self._search_work if kind == _SEARCH else self._samples_work
        with self._jobs.condition:
            job = self._jobs.submit(kind, work, delay=delay, on_result=self._apply, on_error=self._report,
                                    input_version=self._input_version, reuse=reuse, note="")
            if job.cancelled:  # the state is closed
                return job
            self.status = "loading"
            self.message = "searching collections\u2026" if kind == _SEARCH else "fetching samples\u2026"
            if kind == _SAMPLES:
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
        self.message = describe(exc)
        if job.kind == _SEARCH:
            self.results_stale = True  # what is shown is not the answer to these filters
        self.status = "error"

    def _apply(self, job: Job) -> None:
        if job.kind == _SEARCH:
            collections, class_counts, counts, filtered = job.result
            ids = {c.id for c in collections}
            # One by one, never under hold_trait_notifications: outside a kernel this runs on the worker
            # thread, and holding would queue the user's own changes and fire them here (jobs.grouped_updates).
            # The collections last: the views redraw on them and read the rest.
            self.class_counts = class_counts
            self.counts = counts
            self.results_stale = job.context.get("search_version") != self._search_version
            self.collections = collections
            kept = [i for i in self.selected_ids if i in ids]
            if kept != list(self.selected_ids):
                self.selected_ids = kept
            note = job.context["note"]
            self.failed_collections = dict(job.context.get("failed") or {})
            fetched = ""
            if self.samples is not None and not self.samples_stale:
                # a fetch for these same filters finished first (Fetch clicked while the search was
                # pending): keep saying so, or the status would hide the samples on the map
                fetched = f"; {len(self.samples):,} sample{'s' if len(self.samples) != 1 else ''} fetched"
            self.message = _counts.search_summary(len(collections), _counts.total(counts), filtered) + (
                f"; {note}" if note else "") + fetched
            self._preview_after_search()  # what a fetch over these collections would bring (state/preview.py)
        else:
            samples = job.result
            # the flag first, so a view redrawing for the new samples reads the right one
            self.samples_stale = job.context["input_version"] != self._input_version
            self.samples = samples
            self.progress = 1.0
            skipped = dict(samples.attrs.get("skipped") or {})
            self.failed_collections = skipped
            self.message = f"{len(samples):,} sample{'s' if len(samples) != 1 else ''} match your filters" + (
                f"; {_counts.failure_note('samples', skipped)}" if skipped else "")

    # --- the work itself (runs on a worker thread, or the caller's for refresh()) -------------------
    def _private_allowed(self) -> bool:
        """Ask for non-public collections only with a session: a background search must never start a
        login flow (:meth:`login` does that, and re-runs the search afterwards)."""
        if not (self.include_private or self.include_restricted):
            return False
        return bool(getattr(self.client, "is_authenticated", True))

    def _search_work(self, job: Job):
        job.context["search_version"] = self._search_version  # read before the inputs it answers
        spatial = self.spatial_extent()
        temporal = self.temporal_extent()
        codes = self.ewoc_code_filter()
        private = self._private_allowed()
        if (self.include_private or self.include_restricted) and not private:
            job.context["note"] = "log in to include private and restricted collections"
        if not (self.include_public or private):
            return [], _counts.empty_counts(), _counts.empty_counts(), codes is not None
        # the collection search sends only the bounding box, also for a polygon
        key = (repr(spatial.bbox if spatial is not None else None),
               None if spatial is None or spatial.geometry is None else spatial.geometry.wkb, repr(temporal),
               self.include_public,
               self.include_private, self.include_restricted, private)
        cached = self._unfiltered
        if job.context["reuse"] and cached is not None and cached[0] == key:
            # Only the crop selection changed: the unfiltered answer already holds every code.
            collections, class_counts = cached[1], cached[2]
        else:
            collections, class_counts = self._search_unfiltered(job, spatial, temporal, private)
            self._unfiltered = (key, collections, class_counts)
        if codes is None:
            return collections, class_counts, class_counts, False
        matching = _counts.filter_by_codes(collections, codes, class_counts)
        restricted = _counts.restrict_counts(class_counts, codes, [c.id for c in matching], self._label_of)
        return matching, class_counts, restricted, True

    def _search_unfiltered(self, job: Job, spatial: Any, temporal: Any, private: bool):
        # The crop filter is applied locally rather than by the RDM: the crop tree needs every class's
        # totals over the space / time / access search, and one unfiltered code-statistics call per
        # collection gives both those and the filtered view.
        collections = self.client.get_collections(
            spatial_extent=spatial,
            temporal_extent=temporal,
            include_public=self.include_public,
            include_private=private,
        )
        collections = [c for c in collections if self._access_allows(c.access_type)]
        if spatial is not None and spatial.geometry is not None:
            # The RDM searches by the polygon's box; list, count and chart only what the polygon can hold.
            collections = _counts.within_polygon(collections, spatial.geometry)
        if job.cancelled:
            raise QueryCancelledError("collection search superseded")
        if collections:
            class_counts = self.client.get_crop_counts(
                [c.id for c in collections], cancel_event=job.cancel_event, on_error="skip"
            )
        else:
            class_counts = _counts.empty_counts()
        if job.cancelled:
            raise QueryCancelledError("crop counts superseded")
        failed = dict(class_counts.attrs.get("errors") or {})
        job.context["failed"] = failed
        if failed:
            job.context["note"] = _counts.failure_note("crop counts", failed)
        if private and not any(c.access_type != "Public" for c in collections):
            note = self.client.private_access_note(0) if hasattr(self.client, "private_access_note") else ""
            job.context["note"] = "; ".join(n for n in (job.context.get("note"), note) if n)
        return collections, class_counts

    def _samples_work(self, job: Job):
        spatial = self.spatial_extent()
        temporal = self.temporal_extent()
        codes = self.ewoc_code_filter()
        ref_ids = list(self.selected_ids) or [c.id for c in self.collections] or None
        try:
            samples = self.client.get_samples(
                ref_ids=ref_ids,
                subset=self.subset,
                spatial_extent=spatial,
                temporal_extent=temporal,
                ewoc_codes=codes,
                include_public=self.include_public,
                include_private=self._private_allowed(),
                min_quality_lc=self.min_quality_lc,
                min_quality_ct=self.min_quality_ct,
                progress=self._progress_callback(job),
                cancel_event=job.cancel_event,
                on_error="skip",  # one unreadable collection must not cost the user every other one
            )
        except FetchTooLargeError as exc:  # refused: say why and the two ways out (narrow, or stream to a file)
            raise refusal_error(exc) from None
        if job.cancelled:
            raise QueryCancelledError("sample query cancelled")
        skipped = dict(samples.attrs.get("skipped") or {})
        labelled = _counts.label_samples(samples, self._labels_of, self.grouping)
        labelled.attrs["skipped"] = skipped
        return labelled

    def _progress_callback(self, job: Job) -> Callable[..., None]:
        def progress(*args: Any, **kwargs: Any) -> None:
            fraction = progress_fraction(*args, **kwargs)
            if fraction is None:
                return
            event = args[0] if args else None
            counts = ((max(0, int(event.collections_total)), max(0, int(event.collections_done)))
                      if hasattr(event, "collections_done") else None)

            def show() -> None:
                with self._jobs.condition:
                    if self._jobs.is_current(job):
                        if counts is not None:
                            self.progress_total, self.progress_done = counts
                        self.progress = fraction

            call_on_kernel_thread(show, key=(id(self), "progress"))

        return progress

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
        done = self._close_legend(left()) and done
        done = self._close_login(left()) and done
        done = self._close_preview(left()) and done
        client = self._trait_values.get("client")
        if client is not None and hasattr(client, "close"):
            client.close()
        return wait_for_idle(left()) and done

    def __repr__(self) -> str:
        return (
            f"RdmQueryState(status={self.status!r}, collections={len(self.collections)}, "
            f"samples={0 if self.samples is None else len(self.samples)}, message={self.message!r})"
        )
