"""What a fetch would bring, before fetching: sample counts, H3 density and the cost, as traits.

:class:`PreviewService` is the sample preview of :class:`~worldcereal_explorer.state.RdmQueryState`. With
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
from collections.abc import Callable
from typing import Any, Protocol

import pandas as pd

from ..errors import FetchTooLargeError, QueryCancelledError, WorldCerealExplorerError
from .jobs import Job, JobRunner, describe, grouped_updates
from .kernel_thread import call_on_kernel_thread
from .services import ServiceContext

__all__ = [
    "DEFAULT_PREVIEW_RESOLUTION",
    "PREVIEW_BY",
    "PREVIEW_STATUSES",
    "PreviewOutputs",
    "PreviewService",
    "estimate_line",
    "format_bytes",
    "preview_by_class",
    "preview_by_collection",
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
    """The ``get_samples`` keyword arguments for the state's current inputs (validated): ``{"query": ...}``.

    The same arguments :meth:`RdmQueryState.fetch_samples` passes (the state's
    :meth:`~worldcereal_explorer.state.RdmQueryState.fetch_query`), so a preview (``count_samples``) and a
    streamed export (``download_samples``) are about exactly the samples a fetch returns: the selected
    collections, else the collections found, else (no search yet) every collection the filters find.

    Raises
    ------
    InvalidInputError
        When an input is invalid (bbox, polygon, dates, codes).
    """
    return {"query": state.fetch_query()}


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


class PreviewOutputs(Protocol):
    """The traits :class:`PreviewService` reads and writes (the query state's of that name)."""

    auto_preview: bool
    preview_resolution: int
    preview_counts: Any
    preview_density: Any
    preview_estimate: Any
    preview_too_large: bool
    preview_status: str
    preview_message: str
    preview_skipped: dict


class PreviewService:
    """Count the samples the fetch query would bring, on a worker thread; the outcome as traits.

    Parameters
    ----------
    context
        ``context.query()`` returns the *fetch* query (see
        :func:`~worldcereal_explorer.state.services.fetch_query`); the client; the preview's own runner
        (previews never count as queries: ``status``, ``busy`` and ``wait()`` are the queries').
    outputs
        Where the ``preview_*`` traits are (see :class:`PreviewOutputs`).

    Notes
    -----
    The owner decides *when* to preview and calls :meth:`want` (an input changed, a search applied) or
    :meth:`preview` (asked for); ``outputs.preview_status`` says what happened:

    ``preview_counts`` (DataFrame or None)
        ``ewoc_code``, ``ref_id``, ``count``: the samples a fetch would return per class and collection
        (``attrs["estimate"]``, ``attrs["skipped"]``).
    ``preview_density`` (DataFrame or None)
        ``h3_cell`` (text), ``count`` at ``attrs["resolution"]``; samples without coordinates are left out.
    ``preview_estimate`` (FetchEstimate or None)
        What a full fetch would cost (samples, bytes to download, memory).
    ``preview_too_large`` (bool)
        The estimated memory is over the client's ``memory_budget_bytes``: a fetch would be refused.
    ``preview_status``, ``preview_message``
        See :data:`PREVIEW_STATUSES`; the message is the line the dashboard shows next to Fetch.
    """

    def __init__(self, context: ServiceContext, outputs: PreviewOutputs):
        self.context = context
        self.outputs = outputs
        #: How many previews actually started (superseded-while-waiting ones never start).
        self.started = context.jobs.started

    @property
    def jobs(self) -> JobRunner:
        """The preview's runner."""
        return self.context.jobs

    # --- scheduling -----------------------------------------------------------------------------------
    def want(self, delay: float, *, search_pending: bool = False) -> None:
        """The inputs or the search changed: preview after ``delay`` seconds when ``auto_preview`` is on.

        Parameters
        ----------
        delay
            Seconds of quiet before counting.
        search_pending
            A search for the new inputs is on its way: wait for it (it calls this again when it applies).
        """
        jobs, out = self.context.jobs, self.outputs
        if jobs.closed:
            return
        with jobs.condition:
            if not out.auto_preview:
                if out.preview_status in ("ready", "loading", "pending"):
                    jobs.cancel()
                    out.preview_status = "stale"
                return
            if search_pending:
                jobs.cancel()
                out.preview_status = "pending"
                out.preview_message = "counting the samples once the search has answered\u2026"
                return
            self._submit(delay)

    def _submit(self, delay: float | None) -> Job:
        jobs, out = self.context.jobs, self.outputs
        with jobs.condition:
            job = jobs.submit(_PREVIEW, self._work, delay=delay, on_result=self._apply, on_error=self._failed)
            if not job.cancelled:
                out.preview_status = "pending" if delay else "loading"
                out.preview_message = "counting the samples a fetch would bring\u2026"
        return job

    # --- the work (worker thread, or the caller's for preview(wait=True)) ---------------------------------
    def _work(self, job: Job) -> _PreviewResult:
        jobs, out = self.context.jobs, self.outputs

        def show_loading() -> None:
            with jobs.condition:
                if jobs.is_current(job) and out.preview_status == "pending":
                    out.preview_status = "loading"

        call_on_kernel_thread(show_loading)
        query = self.context.query()
        client = self.context.client()
        resolution = out.preview_resolution
        frame = client.count_samples(query=query, by=PREVIEW_BY, h3_resolution=resolution, progress=False,
                                     cancel_event=job.cancel_event, on_error="skip")
        if job.cancelled:
            raise QueryCancelledError("sample preview superseded")
        return _PreviewResult(frame, resolution, getattr(client, "memory_budget_bytes", None))

    def _apply(self, job: Job) -> None:
        result: _PreviewResult = job.result
        out = self.outputs
        with grouped_updates():
            out.preview_counts = result.counts
            out.preview_density = result.density
            out.preview_estimate = result.estimate
            out.preview_too_large = result.too_large
            out.preview_skipped = result.skipped
            out.preview_message = result.message
            out.preview_status = "ready"

    def _failed(self, job: Job, exc: BaseException) -> None:
        if not isinstance(exc, WorldCerealExplorerError):
            log.exception("unexpected error in the sample preview", exc_info=exc)
        with grouped_updates():
            self.outputs.preview_message = f"could not count the samples: {describe(exc)}"
            self.outputs.preview_status = "error"

    # --- public API -------------------------------------------------------------------------------------
    def preview(self, wait: bool = False, delay: float = 0.0) -> pd.DataFrame | None:
        """Count the samples the fetch query would bring: now, in this thread (``wait``; returns
        ``outputs.preview_counts`` and raises the input's or the RDM's error), or after ``delay`` seconds
        on the preview's worker thread (returns ``None``; the outcome goes to the traits)."""
        if not wait:
            self._submit(delay)
            return None
        job = self.context.jobs.run(self._submit(None))
        if job.error is not None:
            raise job.error
        return self.outputs.preview_counts

    def cancel(self) -> None:
        """Stop a scheduled or running preview (the last preview's traits stay)."""
        jobs = self.context.jobs
        with jobs.condition:
            if jobs.cancel():
                self.outputs.preview_status = "cancelled"
                self.outputs.preview_message = "sample preview cancelled"

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until no preview is scheduled or running; ``False`` on timeout."""
        return self.context.jobs.wait(timeout)

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = 60.0) -> bool:
        """Block until ``predicate()`` is true, re-checked whenever a preview is scheduled, starts or ends;
        ``False`` on timeout."""
        return self.context.jobs.wait_for(predicate, timeout)

    @property
    def busy(self) -> bool:
        """True while a preview is scheduled or running."""
        return self.context.jobs.busy

    def close(self, timeout: float) -> bool:
        """Cancel previews and join the worker threads; ``True`` when none is left."""
        return self.context.jobs.close(timeout)


def preview_by_class(counts: pd.DataFrame | None, legend: Any) -> pd.DataFrame:
    """``ewoc_code``, ``label`` (from ``legend`` when given, else ``""``), ``count`` of preview counts,
    largest first."""
    if counts is None or not len(counts):
        return pd.DataFrame({"ewoc_code": pd.Series(dtype="int64"), "label": pd.Series(dtype="object"),
                             "count": pd.Series(dtype="int64")})
    by = counts.groupby("ewoc_code", dropna=False)["count"].sum().sort_values(ascending=False, kind="stable")
    labels = []
    for code in by.index:
        try:
            labels.append("" if legend is None or pd.isna(code) else str(legend.label(int(code))))
        except Exception:  # noqa: BLE001 - a code the legend does not know
            labels.append("")
    return pd.DataFrame({"ewoc_code": by.index.to_numpy(), "label": labels, "count": by.to_numpy(dtype="int64")})


def preview_by_collection(counts: pd.DataFrame | None) -> dict[str, int]:
    """Samples a fetch would return per collection (``{ref_id: count}``, only those with samples)."""
    if counts is None or not len(counts):
        return {}
    by = counts.groupby("ref_id")["count"].sum()
    return {str(k): int(v) for k, v in by.items() if v}
