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

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import traitlets
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Enum, Float, HasTraits, Int, List, Unicode, default, observe

from .errors import (
    BadParameterError,
    BadTemporalExtentError,
    InvalidInputError,
    QueryCancelledError,
    WorldCerealExplorerError,
)
from .extents import (
    SpatialExtent,
    TemporalExtent,
    normalize_ewoc_codes,
    normalize_spatial_extent,
    normalize_temporal_extent,
)

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

_SEARCH = "search"
_SAMPLES = "samples"


@dataclass(eq=False)
class _Job:
    """One background (or synchronous) unit of work and the handles to supersede it."""

    kind: str
    generation: int
    cancel_event: threading.Event = field(default_factory=threading.Event)
    timer: threading.Timer | None = None
    started: bool = False
    error: BaseException | None = None
    result: Any = None
    note: str = ""
    #: ``RdmQueryState._input_version`` when the job was submitted (a sample job whose inputs changed
    #: while it ran delivers samples that are already stale).
    input_version: int = 0
    #: may reuse the last unfiltered search when only the crop codes changed (automatic searches)
    reuse: bool = False


def _as_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise BadTemporalExtentError(f"date {value!r} is not a date; allowed: 'YYYY-MM-DD', a date or a datetime")


def _as_geometry(value: Any):
    """A GeoJSON geometry / Feature mapping or a shapely geometry as a shapely geometry."""
    from shapely.geometry import shape
    from shapely.geometry.base import BaseGeometry

    if isinstance(value, BaseGeometry):
        return value
    if isinstance(value, Mapping):
        if value.get("type") == "Feature":
            value = value.get("geometry") or {}
        try:
            return shape(value)
        except Exception as exc:  # shapely raises several types for malformed GeoJSON
            from .errors import BadExtentError

            raise BadExtentError(
                f"polygon {str(dict(value))[:120]!r} is not valid GeoJSON ({exc}); allowed: a GeoJSON "
                "Polygon/MultiPolygon geometry or Feature, or a shapely Polygon"
            ) from None
    from .errors import BadExtentError

    raise BadExtentError(
        f"polygon of type {type(value).__name__} is not allowed; use a GeoJSON mapping or a shapely Polygon"
    )


class RdmQueryState(HasTraits):
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
    counts = traitlets.Instance(pd.DataFrame, allow_none=True,
                                help="collection totals per crop code for the selected codes and collections")
    class_counts = traitlets.Instance(pd.DataFrame, allow_none=True,
                                      help="collection totals per crop code without the crop filter")
    samples = AnyTrait(None, allow_none=True, help="GeoDataFrame of the last fetched samples")
    samples_stale = Bool(False, help="a sample filter changed after `samples` was fetched")
    status = Enum(("idle", "loading", "error"), default_value="idle")
    message = Unicode("")
    progress = Float(0.0, min=0.0, max=1.0)

    # --- behaviour ----------------------------------------------------------------------------------
    debounce_s = Float(0.3, min=0.0, help="seconds of quiet after an input change before searching")
    auto_search = Bool(True, help="re-run the search when a search input changes")
    client = AnyTrait(help="the RdmClient; built from `endpoint` on first use")

    def __init__(self, endpoint: str | None = None, *, client: Any = None, **traits: Any):
        self._cv = threading.Condition(threading.RLock())
        self._generation: dict[str, int] = {_SEARCH: 0, _SAMPLES: 0}
        self._latest: dict[str, _Job | None] = {_SEARCH: None, _SAMPLES: None}
        self._pending: set[_Job] = set()
        self._input_version = 0
        #: (space / time / access key, collections, class_counts) of the last completed search
        self._unfiltered: tuple[Any, list, pd.DataFrame] | None = None
        #: How many queries of each kind actually started (superseded-while-waiting ones never start).
        self.queries_started: dict[str, int] = {_SEARCH: 0, _SAMPLES: 0}
        if client is not None:
            traits["client"] = client
        super().__init__(endpoint=endpoint, **traits)

    @default("client")
    def _default_client(self):
        from .rdm.client import RdmClient

        return RdmClient(self.endpoint)

    @property
    def legend(self):
        """The client's :class:`~worldcereal_explorer.legend.Legend` (loaded once by the client)."""
        return self.client.legend

    # --- normalised inputs ----------------------------------------------------------------------------
    def spatial_extent(self) -> SpatialExtent | None:
        """The validated spatial filter: the polygon when one is set, else the bbox, else ``None``.

        Raises
        ------
        BadExtentError
            When the bbox or polygon is invalid (the message names the value and what is allowed).
        """
        if self.polygon is not None:
            return normalize_spatial_extent(_as_geometry(self.polygon))
        if self.bbox is None:
            return None
        return normalize_spatial_extent(self.bbox)

    def temporal_extent(self) -> TemporalExtent | None:
        """The validated date range, or ``None`` when neither date is set.

        Raises
        ------
        BadTemporalExtentError
            When only one date is set, a date cannot be parsed, or start is after end.
        """
        start, end = _as_date(self.start_date), _as_date(self.end_date)
        if start is None and end is None:
            return None
        if start is None or end is None:
            missing = "start" if start is None else "end"
            raise BadTemporalExtentError(f"the {missing} date is not set; set both start and end dates, or neither")
        return normalize_temporal_extent((start, end))

    def ewoc_code_filter(self) -> list[int] | None:
        """The validated crop filter; ``None`` when no code is selected (= every crop)."""
        codes = normalize_ewoc_codes(list(self.ewoc_codes))
        return codes or None

    def _access_allows(self, access_type: str) -> bool:
        kind = (access_type or "").lower()
        if kind == "public":
            return self.include_public
        if kind == "restricted":
            return self.include_restricted
        return self.include_private  # "Private" and any unknown non-public spelling

    # --- job machinery --------------------------------------------------------------------------------
    def _submit(self, kind: str, delay: float | None, reuse: bool = False) -> _Job:
        """Register a new job of ``kind``, superseding (and cancelling) the previous one."""
        with self._cv:
            self._generation[kind] += 1
            job = _Job(kind, self._generation[kind], input_version=self._input_version, reuse=reuse)
            old = self._latest[kind]
            if old is not None:
                old.cancel_event.set()
                if not old.started:
                    if old.timer is not None:
                        old.timer.cancel()
                    self._pending.discard(old)
            self._latest[kind] = job
            self._pending.add(job)
            if delay is not None:
                job.timer = threading.Timer(delay, self._run, args=(job,))
                job.timer.daemon = True
            self.status = "loading"
            self.message = "searching collections\u2026" if kind == _SEARCH else "fetching samples\u2026"
            if kind == _SAMPLES:
                self.progress = 0.0
            self._cv.notify_all()
        if job.timer is not None:
            job.timer.start()
        return job

    def _is_current(self, job: _Job) -> bool:
        return self._latest[job.kind] is job and not job.cancel_event.is_set()

    def _run(self, job: _Job) -> None:
        with self._cv:
            if job not in self._pending or job.cancel_event.is_set():
                self._pending.discard(job)
                self._settle()
                return
            job.started = True
            self.queries_started[job.kind] += 1
            self._cv.notify_all()
        work = self._search_work if job.kind == _SEARCH else self._samples_work
        try:
            job.result = work(job)
            with self._cv:
                if self._is_current(job):
                    self._apply(job)
        except QueryCancelledError as exc:
            job.error = exc
        except Exception as exc:  # any failure must reach the UI as a message, not a traceback
            job.error = exc
            if not isinstance(exc, WorldCerealExplorerError):
                log.exception("unexpected error in the %s query", job.kind)
            with self._cv:
                if self._is_current(job):
                    self.message = _describe(exc)
                    self.status = "error"
        finally:
            with self._cv:
                self._pending.discard(job)
                self._settle()

    def _settle(self) -> None:
        """Back to idle once nothing is pending (keeps an error visible until the next query)."""
        if not self._pending and self.status == "loading":
            self.status = "idle"
        self._cv.notify_all()

    def _apply(self, job: _Job) -> None:
        if job.kind == _SEARCH:
            collections, class_counts, counts, filtered = job.result
            ids = {c.id for c in collections}
            with self.hold_trait_notifications():
                self.class_counts = class_counts
                self.counts = counts
                self.collections = collections
            kept = [i for i in self.selected_ids if i in ids]
            if kept != list(self.selected_ids):
                self.selected_ids = kept
            self.message = search_summary(len(collections), _total(counts), filtered) + (
                f"; {job.note}" if job.note else "")
        else:
            samples = job.result
            # together, so a view redraws once with the new samples and the right flag
            with self.hold_trait_notifications():
                self.samples_stale = job.input_version != self._input_version
                self.samples = samples
            self.progress = 1.0
            self.message = f"{len(samples):,} sample{'s' if len(samples) != 1 else ''} match your filters"

    # --- the work itself (runs on a worker thread, or the caller's for refresh()) -------------------
    def _private_allowed(self) -> bool:
        """Ask for non-public collections only with a session: a background search must never start a
        login flow (the privacy toggle's login widget does that, and re-runs the search afterwards)."""
        if not (self.include_private or self.include_restricted):
            return False
        return bool(getattr(self.client, "is_authenticated", True))

    def _search_work(self, job: _Job):
        spatial = self.spatial_extent()
        temporal = self.temporal_extent()
        codes = self.ewoc_code_filter()
        job.note = ""
        private = self._private_allowed()
        if (self.include_private or self.include_restricted) and not private:
            job.note = "log in to include private and restricted collections"
        if not (self.include_public or private):
            return [], _empty_counts(), _empty_counts(), codes is not None
        # the collection search sends only the bounding box, also for a polygon
        key = (repr(spatial.bbox if spatial is not None else None), repr(temporal), self.include_public,
               self.include_private,
               self.include_restricted, private)
        cached = self._unfiltered
        if job.reuse and cached is not None and cached[0] == key:
            # Only the crop selection changed: the unfiltered answer already holds every code.
            collections, class_counts = cached[1], cached[2]
        else:
            collections, class_counts = self._search_unfiltered(job, spatial, temporal, private)
            self._unfiltered = (key, collections, class_counts)
        if codes is None:
            return collections, class_counts, class_counts, False
        matching = [c for c in collections if _holds_any(c, codes, class_counts)]
        return matching, class_counts, self._restrict_counts(class_counts, codes, [c.id for c in matching]), True

    def _search_unfiltered(self, job: _Job, spatial: Any, temporal: Any, private: bool):
        # The crop filter is applied here rather than by the RDM: the crop tree needs every class's
        # totals over the space / time / access search, and one unfiltered code-statistics call per
        # collection gives both those and the filtered view.
        collections = self.client.get_collections(
            spatial_extent=spatial,
            temporal_extent=temporal,
            include_public=self.include_public,
            include_private=private,
        )
        collections = [c for c in collections if self._access_allows(c.access_type)]
        if job.cancel_event.is_set():
            raise QueryCancelledError("collection search superseded")
        if collections:
            class_counts = self.client.get_crop_counts(
                [c.id for c in collections], cancel_event=job.cancel_event, on_error="skip"
            )
        else:
            class_counts = _empty_counts()
        if job.cancel_event.is_set():
            raise QueryCancelledError("crop counts superseded")
        return collections, class_counts

    def _restrict_counts(self, class_counts: pd.DataFrame, codes: list[int], ref_ids: list[str]) -> pd.DataFrame:
        """``class_counts`` for ``codes`` (a row each, zeros where absent) and the columns ``ref_ids``."""
        known = dict(zip(class_counts.index.get_level_values(0).astype("int64"),
                         class_counts.index.get_level_values(1), strict=True)) if len(class_counts) else {}
        codes = sorted(set(codes))
        labels = []
        for code in codes:
            if code in known:
                labels.append(known[code])
                continue
            try:
                labels.append(self.legend.label(code))
            except Exception:  # an unknown code or no legend: name it by its code
                labels.append(f"unknown ({code})")
        columns = [r for r in ref_ids if r in class_counts.columns]
        flat = class_counts.droplevel(1) if len(class_counts) else pd.DataFrame(columns=class_counts.columns)
        frame = flat.reindex(index=codes, columns=columns).fillna(0).astype("int64")
        frame.index = pd.MultiIndex.from_arrays([pd.Index(codes, dtype="int64"), labels],
                                                names=["ewoc_code", "Label"])
        frame.columns.name = class_counts.columns.name
        frame.attrs = dict(class_counts.attrs)
        return frame

    def _samples_work(self, job: _Job):
        spatial = self.spatial_extent()
        temporal = self.temporal_extent()
        codes = self.ewoc_code_filter()
        ref_ids = list(self.selected_ids) or [c.id for c in self.collections] or None
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
        )
        if job.cancel_event.is_set():
            raise QueryCancelledError("sample query cancelled")
        return self._label_samples(samples)

    def _progress_callback(self, job: _Job) -> Callable[..., None]:
        def progress(*args: Any, **kwargs: Any) -> None:
            # The reader reports SampleProgress events; a fraction or (done, total) is accepted too.
            event = args[0] if args else None
            if hasattr(event, "collections_done"):
                done, total = event.collections_done, event.collections_total
            else:
                done = kwargs.get("done", event)
                total = kwargs.get("total", args[1] if len(args) > 1 else None)
            try:
                fraction = float(done) / float(total) if total else float(done)
            except (TypeError, ValueError):
                return
            with self._cv:
                if self._is_current(job):
                    self.progress = min(1.0, max(0.0, fraction))

        return progress

    def _label_samples(self, samples):
        """Add readable ``label`` and ``new_label`` columns (legend labels, then the user's grouping)."""
        if samples is None or "ewoc_code" not in getattr(samples, "columns", ()):
            return samples
        samples = samples.copy()
        codes = pd.unique(samples["ewoc_code"])
        try:
            labels = dict(zip(codes, self.legend.labels([int(c) for c in codes]), strict=True))
        except Exception:  # a missing legend must not lose the samples; show codes instead
            log.warning("legend unavailable; labelling samples by code", exc_info=True)
            labels = {c: f"unknown ({int(c)})" for c in codes}
        samples["label"] = samples["ewoc_code"].map(labels)
        grouping = {int(k): v for k, v in self.grouping.items()}
        samples["new_label"] = [grouping.get(int(c), lab) for c, lab in zip(samples["ewoc_code"], samples["label"], strict=True)]
        return samples

    # --- public API -----------------------------------------------------------------------------------
    @observe(*SEARCH_INPUTS)
    def _on_search_input(self, change: dict) -> None:
        if self.auto_search:
            # an automatic search may answer a change of crop codes from the last unfiltered search
            self._submit(_SEARCH, self.debounce_s, reuse=True)

    @observe(*SAMPLE_INPUTS)
    def _on_sample_input(self, change: dict) -> None:
        with self._cv:
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
        job = self._submit(_SEARCH, None)
        self._run(job)
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
            job = self._submit(_SAMPLES, 0.0)
            return None
        job = self._submit(_SAMPLES, None)
        self._run(job)
        if job.error is not None:
            raise job.error
        return job.result

    def cancel(self) -> None:
        """Cancel pending and running queries; the state goes back to idle with a message."""
        with self._cv:
            jobs = list(self._pending)
            for job in jobs:
                job.cancel_event.set()
                if not job.started:
                    if job.timer is not None:
                        job.timer.cancel()
                    self._pending.discard(job)
            if jobs:
                self.message = "cancelled"
            self._settle()

    @property
    def busy(self) -> bool:
        """True while a query is scheduled or running."""
        with self._cv:
            return bool(self._pending)

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until no query is scheduled or running; return ``False`` on timeout."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._pending, timeout=timeout)

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = 60.0) -> bool:
        """Block until ``predicate()`` is true; it is re-checked whenever a query is scheduled, starts
        or ends. Return ``False`` on timeout."""
        with self._cv:
            return self._cv.wait_for(predicate, timeout=timeout)

    def counts_by_label(self) -> pd.DataFrame:
        """Crop counts summed per (grouped) label: index label, one column per collection, sorted by total."""
        counts = self.counts
        if counts is None or counts.empty:
            return pd.DataFrame()
        codes = counts.index.get_level_values(0).astype("int64")
        labels = list(counts.index.get_level_values(1)) if counts.index.nlevels > 1 else [None] * len(codes)
        grouping = {int(k): v for k, v in self.grouping.items()}
        names = [grouping.get(int(c), lab if lab else f"unknown ({int(c)})") for c, lab in zip(codes, labels, strict=True)]
        frame = counts.copy()
        frame.index = pd.Index(names, name="label")
        frame = frame.apply(pd.to_numeric, errors="coerce").fillna(0).groupby(level=0).sum()
        return frame.loc[frame.sum(axis=1).sort_values(ascending=False).index]

    def counts_by_code(self, unfiltered: bool = False) -> dict[int, int]:
        """Total sample count per ewoc code over the current collections.

        Parameters
        ----------
        unfiltered
            ``False``: the selected codes over the collections holding them (``counts``); ``True``: every
            code over every collection of the space / time / access search (``class_counts``).
        """
        counts = self.class_counts if unfiltered else self.counts
        if counts is None or counts.empty:
            return {}
        totals = counts.apply(pd.to_numeric, errors="coerce").fillna(0).sum(axis=1)
        out: dict[int, int] = {}
        for key, value in totals.items():
            code = int(key[0] if isinstance(key, tuple) else key)
            out[code] = out.get(code, 0) + int(value)
        return out

    def collection_totals(self) -> dict[str, int]:
        """Samples per collection: its whole-collection total for the selected codes (all codes when none
        is selected), from ``counts``; the table and the status message both use these numbers."""
        counts = self.counts
        totals = {} if counts is None or counts.empty else {
            str(k): int(v) for k, v in counts.apply(pd.to_numeric, errors="coerce").fillna(0).sum(axis=0).items()}
        if counts is None or self.ewoc_codes == []:
            # a collection left out of the code statistics still has its catalogue sample count
            for coll in self.collections:
                totals.setdefault(coll.id, int(coll.feature_count or 0))
        return totals

    def download_metadata(self, ref_id: str, dst_dir: str | Path) -> Path:
        """Download the collection's metadata workbook (``{ref_id}_metadata.xlsx``) into ``dst_dir``."""
        return self._download(self.client.download_collection_metadata, ref_id, dst_dir)

    def download_harmonization_info(self, ref_id: str, dst_dir: str | Path) -> Path:
        """Download the collection's harmonisation PDF into ``dst_dir``."""
        return self._download(self.client.download_collection_harmonization_info, ref_id, dst_dir)

    def _download(self, method: Callable[..., Path], ref_id: str, dst_dir: str | Path) -> Path:
        if not ref_id:
            raise BadParameterError("no collection chosen; choose one of the collections in the results table")
        dst = Path(dst_dir)
        dst.mkdir(parents=True, exist_ok=True)
        try:
            return Path(method(ref_id, dst))
        except Exception as exc:
            self.message = _describe(exc)
            self.status = "error"
            raise

    def close(self) -> None:
        """Cancel pending work and close the client's HTTP session."""
        self.cancel()
        client = self._trait_values.get("client")
        if client is not None and hasattr(client, "close"):
            client.close()

    def __repr__(self) -> str:
        return (
            f"RdmQueryState(status={self.status!r}, collections={len(self.collections)}, "
            f"samples={0 if self.samples is None else len(self.samples)}, message={self.message!r})"
        )


def search_summary(n_collections: int, total: int, filtered: bool) -> str:
    """The status line after a collection search. The total is the collections' whole-collection count
    (of the selected crop types when ``filtered``), so it says so: the bbox and dates only pick
    collections; how many samples match them is only known after fetching the samples."""
    what = "samples of the selected crop types" if filtered else "samples"
    plural = "s" if n_collections != 1 else ""
    return f"{n_collections} collection{plural} found ({total:,} {what} in total in those collections)"


def _holds_any(collection: Any, codes: list[int], class_counts: pd.DataFrame) -> bool:
    """Whether ``collection`` holds at least one of ``codes`` (the RDM's ``EwocCodes`` rule): by its
    ``ewocCodes`` list, or by its code statistics when the catalogue gives no list."""
    listed = {int(c) for c in (getattr(collection, "ewoc_codes", None) or ())}
    if listed:
        return bool(listed.intersection(codes))
    if collection.id not in class_counts.columns or class_counts.empty:
        return False
    column = class_counts[collection.id]
    present = column[column > 0].index.get_level_values(0).astype("int64")
    return bool(set(present).intersection(codes))


def _empty_counts() -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([pd.Index([], dtype="int64"), pd.Index([], dtype=object)],
                                      names=["ewoc_code", "Label"])
    return pd.DataFrame(index=index)


def _total(counts: pd.DataFrame | None) -> int:
    if counts is None or counts.empty:
        return 0
    return int(counts.apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy().sum())


def _describe(exc: BaseException) -> str:
    """A one-line message for the status bar: our errors speak for themselves; others get their type."""
    if isinstance(exc, (InvalidInputError, WorldCerealExplorerError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
