"""What a fetch would bring, before fetching: sample counts, H3 density and the cost, as traits.

:class:`PreviewMixin` is one of the bases of :class:`~worldcereal_explorer.state.RdmQueryState`. With
``auto_preview`` on (the dashboard's preview panel turns it on), every search that applies and every change
of a sample filter (quality, subset, selected collections; area, dates and crops through their search) starts
``client.count_samples`` on a worker thread for exactly the filters :meth:`RdmQueryState.fetch_samples` would
use. A newer input supersedes (cancels) an older preview, as searches do; the preview has its own
:class:`~worldcereal_explorer.state.jobs.JobRunner`, so it never counts as a query (``status``, ``busy``,
``wait()`` and the Cancel button are the queries').

The counts are exact: ``preview_counts`` equals ``fetch_samples().groupby(["ewoc_code", "ref_id"]).size()``
for the same inputs, and ``preview_estimate`` (a :class:`~worldcereal_explorer.rdm.samples.preview.FetchEstimate`)
says what fetching them would cost. When it is more than the client's ``memory_budget_bytes``,
``preview_too_large`` is set and the fetch will be refused (:func:`refusal_error`): narrow the query or stream
the samples to a file (``state.exports.stream_samples``).

Example
-------
>>> state = RdmQueryState(endpoint=url, auto_search=False)   # doctest: +SKIP
>>> state.bbox = (3, 50, 6, 52)                               # doctest: +SKIP
>>> state.refresh(); state.preview(wait=True)                 # doctest: +SKIP
>>> state.preview_message                                     # doctest: +SKIP
'a fetch would bring 1,234 samples, ~0.1 MiB to download, ~0.4 MiB in memory'
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Enum, HasTraits, Int, Unicode, observe

from ..errors import FetchTooLargeError, QueryCancelledError, WorldCerealExplorerError
from .frame_traits import DataFrameTrait
from .jobs import Job, JobRunner, describe, grouped_updates
from .kernel_thread import call_on_kernel_thread

__all__ = [
    "DEFAULT_PREVIEW_RESOLUTION",
    "PREVIEW_BY",
    "PREVIEW_STATUSES",
    "PreviewMixin",
    "estimate_line",
    "format_bytes",
    "refusal_error",
    "refusal_message",
    "sample_filters",
]

log = logging.getLogger(__name__)

#: Values of ``preview_status``: ``"off"`` (never previewed), ``"pending"`` (inputs changed; a preview or
#: the search it waits for is on its way), ``"loading"`` (counting), ``"ready"``, ``"stale"`` (inputs
#: changed and ``auto_preview`` is off), ``"error"``, ``"cancelled"``.
PREVIEW_STATUSES = ("off", "pending", "loading", "ready", "stale", "error", "cancelled")

#: H3 resolution of ``preview_density`` unless ``preview_resolution`` says otherwise (cells ~12,000 km²;
#: at <= 3 the counts come from the files' ``h3_l3_cell`` column, so no geometry is read for them).
DEFAULT_PREVIEW_RESOLUTION = 3

#: Columns the preview groups by (then ``h3_cell``).
PREVIEW_BY = ("ewoc_code", "ref_id")

_PREVIEW = "preview"


def sample_filters(state: Any) -> dict[str, Any]:
    """The ``get_samples`` keyword arguments for the state's current inputs (validated).

    The same arguments :meth:`RdmQueryState.fetch_samples` passes, so a preview (``count_samples``) and a
    streamed export (``download_samples``) are about exactly the samples a fetch returns: the selected
    collections, else the collections found, else (no search yet) every collection the filters find.

    Raises
    ------
    InvalidInputError
        When an input is invalid (bbox, polygon, dates, codes).
    """
    return {
        "ref_ids": list(state.selected_ids) or [c.id for c in state.collections] or None,
        "subset": state.subset,
        "spatial_extent": state.spatial_extent(),
        "temporal_extent": state.temporal_extent(),
        "ewoc_codes": state.ewoc_code_filter(),
        "include_public": state.include_public,
        "include_private": state._private_allowed(),
        "min_quality_lc": state.min_quality_lc,
        "min_quality_ct": state.min_quality_ct,
    }


def format_bytes(n: float) -> str:
    """Bytes as MiB (or GiB from 1 GiB on), e.g. ``"3.2 MiB"``."""
    n = max(0.0, float(n))
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def estimate_line(estimate: Any, budget: int | None = None) -> str:
    """``"a fetch would bring N samples, ~X MiB to download, ~Y MiB in memory"`` (+ the budget when over it).

    Parameters
    ----------
    estimate
        A :class:`~worldcereal_explorer.rdm.samples.preview.FetchEstimate`.
    budget
        The client's memory budget in bytes (``None``: no limit).
    """
    n = int(estimate.samples)
    line = (f"a fetch would bring {n:,} sample{'' if n == 1 else 's'}, ~{format_bytes(estimate.bytes)} to "
            f"download, ~{format_bytes(estimate.memory_bytes)} in memory")
    if budget is not None and estimate.memory_bytes > budget:
        line += (f" \u2014 more than the memory budget of {format_bytes(budget)}: narrow the query, or stream "
                 f"the samples to a file with \u201cExport to file\u201d")
    return line


def refusal_message(samples: int, memory_bytes: int, budget: int) -> str:
    """Why a fetch is refused and the two ways out (shown in the status line)."""
    return (f"Fetch refused: about {int(samples):,} samples, ~{format_bytes(memory_bytes)} in memory, more than "
            f"this session's memory budget of {format_bytes(budget)}. Either narrow the query (a smaller area, "
            f"fewer collections, crop types or dates, higher quality thresholds, or the subset), or stream the "
            f"samples to a file with \u201cExport to file\u201d in the download panel.")


def refusal_error(exc: FetchTooLargeError) -> FetchTooLargeError:
    """The client's :class:`FetchTooLargeError` with the dashboard's message (same type and numbers)."""
    error = type(exc)(refusal_message(exc.samples, exc.estimated_bytes, exc.budget_bytes),
                      estimated_bytes=exc.estimated_bytes, budget_bytes=exc.budget_bytes, samples=exc.samples)
    error.__cause__ = error.__context__ = None
    error.__suppress_context__ = True
    return error


class _PreviewResult:
    """The traits one preview sets, computed on the worker thread."""

    def __init__(self, frame: pd.DataFrame, resolution: int | None, budget: int | None):
        estimate = frame.attrs.get("estimate")
        self.skipped = dict(frame.attrs.get("skipped") or {})
        keys = [k for k in PREVIEW_BY if k in frame.columns]
        counts = frame.groupby(keys, dropna=False, sort=True)["count"].sum().reset_index() if len(frame) else \
            pd.DataFrame({"ewoc_code": pd.Series(dtype="Int64"), "ref_id": pd.Series(dtype="object"),
                          "count": pd.Series(dtype="int64")})
        counts["count"] = counts["count"].astype("int64")
        counts.attrs["estimate"] = estimate
        counts.attrs["skipped"] = self.skipped
        self.counts = counts
        if resolution is not None and "h3_cell" in frame.columns and len(frame):
            cells = frame.dropna(subset=["h3_cell"]).groupby("h3_cell", sort=True)["count"].sum()
            density = pd.DataFrame({"h3_cell": cells.index.astype(str), "count": cells.to_numpy(dtype="int64")})
        else:
            density = pd.DataFrame({"h3_cell": pd.Series(dtype="object"), "count": pd.Series(dtype="int64")})
        density.attrs["resolution"] = resolution
        self.density = density
        self.estimate = estimate
        self.too_large = bool(estimate is not None and budget is not None and estimate.memory_bytes > budget)
        self.message = estimate_line(estimate, budget) if estimate is not None else ""
        if self.skipped:
            self.message += f"; {len(self.skipped)} collection{'s' if len(self.skipped) != 1 else ''} could not be read"


class PreviewMixin(HasTraits):
    """``preview_*`` traits, :meth:`preview`, :meth:`cancel_preview` and the automatic previews.

    Expects the host (:class:`~worldcereal_explorer.state.RdmQueryState`) to have ``client``, the sample
    inputs, ``collections``, ``auto_search``, ``results_stale``, ``debounce_s``, ``legend``,
    ``spatial_extent()`` & co. The host calls :meth:`_init_preview` before its traits are set,
    :meth:`_preview_after_search` when a search applies and :meth:`_close_preview` when it closes.

    Attributes
    ----------
    preview_counts : pandas.DataFrame or None
        ``ewoc_code``, ``ref_id``, ``count``: the samples a fetch would return per class and collection
        (``attrs["estimate"]``, ``attrs["skipped"]``).
    preview_density : pandas.DataFrame or None
        ``h3_cell`` (text), ``count`` at ``attrs["resolution"]``; samples without coordinates are left out.
    preview_estimate : FetchEstimate or None
        What a full fetch would cost (samples, bytes to download, memory).
    preview_too_large : bool
        The estimated memory is over the client's ``memory_budget_bytes``: a fetch would be refused.
    preview_status, preview_message
        See :data:`PREVIEW_STATUSES`; the message is the line the dashboard shows next to Fetch.
    """

    auto_preview = Bool(False, help="preview the sample counts after every search and sample-filter change")
    preview_resolution = Int(DEFAULT_PREVIEW_RESOLUTION, min=0, max=15, help="H3 resolution of preview_density")
    preview_counts = DataFrameTrait(allow_none=True,
                                        help="samples a fetch would return per (ewoc_code, ref_id)")
    preview_density = DataFrameTrait(allow_none=True,
                                         help="samples a fetch would return per H3 cell")
    preview_estimate = AnyTrait(None, allow_none=True, help="FetchEstimate of a full fetch")
    preview_too_large = Bool(False, help="a fetch would exceed the client's memory budget")
    preview_status = Enum(PREVIEW_STATUSES, default_value="off")
    preview_message = Unicode("")
    preview_skipped = Dict(help="{ref_id: why} collections the last preview could not read")

    # --- the host's hooks ---------------------------------------------------------------------------
    def _init_preview(self) -> None:
        from .query import SAMPLE_INPUTS

        self._preview_jobs = JobRunner(name="wce-preview")
        #: How many previews actually started (superseded-while-waiting ones never start).
        self.previews_started = self._preview_jobs.started
        self.observe(self._on_preview_input, names=list(SAMPLE_INPUTS))

    def _preview_after_search(self) -> None:
        """A search applied: preview its collections (now, unless a newer search is on its way)."""
        self._want_preview(0.0)

    def _close_preview(self, timeout: float) -> bool:
        return self._preview_jobs.close(timeout)

    # --- scheduling -----------------------------------------------------------------------------------
    def _on_preview_input(self, change: dict) -> None:
        from .query import SEARCH_INPUTS

        self._want_preview(None, search_input=change["name"] in SEARCH_INPUTS)

    @observe("auto_preview", "preview_resolution")
    def _on_preview_setting(self, change: dict) -> None:
        if change["name"] == "auto_preview" and not change["new"]:
            return
        self._want_preview(None)

    def _want_preview(self, delay: float | None, *, search_input: bool = False) -> None:
        if not hasattr(self, "_preview_jobs") or self._preview_jobs.closed:
            return
        with self._preview_jobs.condition:
            if not self.auto_preview:
                if self.preview_status in ("ready", "loading", "pending"):
                    self._preview_jobs.cancel()
                    self.preview_status = "stale"
                return
            if self.auto_search and (search_input or self.results_stale):
                # a search for the new inputs is on its way; it previews its collections when it applies
                self._preview_jobs.cancel()
                self.preview_status = "pending"
                self.preview_message = "counting the samples once the search has answered\u2026"
                return
            self._submit_preview(self.debounce_s if delay is None else delay)

    def _submit_preview(self, delay: float | None) -> Job:
        with self._preview_jobs.condition:
            job = self._preview_jobs.submit(_PREVIEW, self._preview_work, delay=delay,
                                            on_result=self._apply_preview, on_error=self._preview_failed)
            if not job.cancelled:
                self.preview_status = "pending" if delay else "loading"
                self.preview_message = "counting the samples a fetch would bring\u2026"
        return job

    # --- the work (worker thread, or the caller's for preview(wait=True)) ---------------------------------
    def _preview_work(self, job: Job) -> _PreviewResult:
        def show_loading() -> None:
            with self._preview_jobs.condition:
                if self._preview_jobs.is_current(job) and self.preview_status == "pending":
                    self.preview_status = "loading"

        call_on_kernel_thread(show_loading)
        filters = sample_filters(self)
        resolution = self.preview_resolution
        frame = self.client.count_samples(**filters, by=PREVIEW_BY, h3_resolution=resolution, progress=False,
                                          cancel_event=job.cancel_event, on_error="skip")
        if job.cancelled:
            raise QueryCancelledError("sample preview superseded")
        return _PreviewResult(frame, resolution, getattr(self.client, "memory_budget_bytes", None))

    def _apply_preview(self, job: Job) -> None:
        result: _PreviewResult = job.result
        with grouped_updates():
            self.preview_counts = result.counts
            self.preview_density = result.density
            self.preview_estimate = result.estimate
            self.preview_too_large = result.too_large
            self.preview_skipped = result.skipped
            self.preview_message = result.message
            self.preview_status = "ready"

    def _preview_failed(self, job: Job, exc: BaseException) -> None:
        if not isinstance(exc, WorldCerealExplorerError):
            log.exception("unexpected error in the sample preview", exc_info=exc)
        with grouped_updates():
            self.preview_message = f"could not count the samples: {describe(exc)}"
            self.preview_status = "error"

    # --- public API -------------------------------------------------------------------------------------
    def preview(self, wait: bool = False, delay: float | None = None) -> pd.DataFrame | None:
        """Count the samples a fetch would return for the current inputs (see the module docstring).

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
        if not wait:
            self._submit_preview(self.debounce_s if delay is None else delay)
            return None
        job = self._preview_jobs.run(self._submit_preview(None))
        if job.error is not None:
            raise job.error
        return self.preview_counts

    def cancel_preview(self) -> None:
        """Stop a scheduled or running preview (the last preview's traits stay)."""
        with self._preview_jobs.condition:
            if self._preview_jobs.cancel():
                self.preview_status = "cancelled"
                self.preview_message = "sample preview cancelled"

    def wait_preview(self, timeout: float | None = 60.0) -> bool:
        """Block until no preview is scheduled or running; ``False`` on timeout."""
        return self._preview_jobs.wait(timeout)

    @property
    def preview_busy(self) -> bool:
        """True while a preview is scheduled or running."""
        return self._preview_jobs.busy

    def preview_by_class(self) -> pd.DataFrame:
        """``ewoc_code``, ``label`` (from the legend once loaded, else ``""``), ``count``: largest first."""
        counts = self.preview_counts
        if counts is None or not len(counts):
            return pd.DataFrame({"ewoc_code": pd.Series(dtype="int64"), "label": pd.Series(dtype="object"),
                                 "count": pd.Series(dtype="int64")})
        by = counts.groupby("ewoc_code", dropna=False)["count"].sum().sort_values(ascending=False, kind="stable")
        legend = self.legend
        labels = []
        for code in by.index:
            try:
                labels.append("" if legend is None or pd.isna(code) else str(legend.label(int(code))))
            except Exception:  # noqa: BLE001 - a code the legend does not know
                labels.append("")
        return pd.DataFrame({"ewoc_code": by.index.to_numpy(), "label": labels, "count": by.to_numpy(dtype="int64")})

    def preview_by_collection(self) -> dict[str, int]:
        """Samples a fetch would return per collection (``{ref_id: count}``, only those with samples)."""
        counts = self.preview_counts
        if counts is None or not len(counts):
            return {}
        by = counts.groupby("ref_id")["count"].sum()
        return {str(k): int(v) for k, v in by.items() if v}
