"""Files the explorer writes for the user: exported samples and a collection's documents.

:class:`ExportService` belongs to a :class:`~worldcereal_explorer.state.RdmQueryState` (``state.exports``)
and does every file operation the download panel needs, so the panel only calls it and shows the
result. Two ways to export samples: :meth:`ExportService.save_samples` writes the samples already fetched
(small cases), :meth:`ExportService.stream_samples` streams the samples of the *current filters* straight
from the RDM into a file with ``client.download_samples`` (bounded memory, any size), on the state's worker
thread with progress in ``status``/``message``/``progress`` and the ``export_*`` traits, and cancellable
with ``state.cancel()``. Files are offered to the browser as ``data:`` URLs (see :meth:`ExportService.link`): that works
the same in JupyterLab, Voilà and Binder, because the bytes come through the widget rather than a file
route the server may not expose (Voilà serves only images).
"""

from __future__ import annotations

import base64
import datetime as dt
import mimetypes
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import BadParameterError, QueryCancelledError, WorldCerealExplorerError
from .jobs import Job, describe, grouped_updates
from .kernel_thread import call_on_kernel_thread
from .services import ErrorReporter, ServiceContext, StatusOutputs

__all__ = ["EXPORT_FORMATS", "EXPORT_STATUSES", "STREAM_FORMATS", "ExportOutputs", "ExportService", "SavedFile"]

#: Format name shown to users -> (``export_samples`` format, file suffix, MIME type).
EXPORT_FORMATS = {
    "GeoParquet": ("geoparquet", ".geoparquet", "application/vnd.apache.parquet"),
    "GeoPackage": ("gpkg", ".gpkg", "application/geopackage+sqlite3"),
    "CSV": ("csv", ".csv", "text/csv"),
}

#: Format name shown to users -> ``client.download_samples`` format.
STREAM_FORMATS = {"GeoParquet": "parquet", "GeoPackage": "gpkg", "CSV": "csv"}

#: Values of ``export_status`` (the streamed export of the current filters).
EXPORT_STATUSES = ("idle", "running", "done", "error", "cancelled")

_EXPORT = "export"


@dataclass(frozen=True)
class SavedFile:
    """A written file as the download panel shows it.

    Attributes
    ----------
    path
        Where the file is on the kernel's machine.
    size
        Its size in bytes.
    mime
        Its MIME type.
    data_url
        ``data:<mime>;base64,...`` with the file's bytes, or ``None`` when it is too big to send
        through the page.
    """

    path: Path
    size: int
    mime: str
    data_url: str | None

    @property
    def name(self) -> str:
        """The file name."""
        return self.path.name


class ExportOutputs(StatusOutputs, Protocol):
    """The traits :class:`ExportService` reads (``samples``) and writes: the streamed export's ``export_*``
    and the shared status line (the query state's traits of those names).

    Attributes
    ----------
    export_status : str
        The streamed export: one of :data:`EXPORT_STATUSES`.
    export_message : str
        What it is doing or how it ended.
    export_path : str
        The written file once ``export_status`` is ``"done"``, else ``""``.
    export_progress : float
        Share of the row groups read (0..1).
    export_rows : int
        Samples written so far.
    grouping : dict
        ``{ewoc_code: new_label}``: the streamed file's ``new_label`` column, as "Save samples" writes it.
    """

    samples: Any
    grouping: Any
    export_status: str
    export_message: str
    export_path: str
    export_progress: float
    export_rows: int


class ExportService:
    """Save samples and collection documents into a folder; turn files into download links.

    Parameters
    ----------
    context
        ``context.query()`` returns the *fetch* query (the streamed export reads exactly what a fetch
        would); the client; the runner of the state's queries (an export is cancelled with them).
    outputs
        Where the samples and the export and status traits are (see :class:`ExportOutputs`).
    report
        How a failed export reaches the shared status line (``report(job, exc)``).
    download_dir
        Default folder (a new temporary folder, made on first use, when ``None``).
    """

    def __init__(self, context: ServiceContext, outputs: ExportOutputs, report: ErrorReporter,
                 download_dir: str | Path | None = None):
        self.context = context
        self.outputs = outputs
        self._report = report
        self._download_dir = Path(download_dir) if download_dir else None
        self._targets: set[Path] = set()
        self._current: Job | None = None

    @property
    def download_dir(self) -> Path:
        """The default folder files are written to (created on first use)."""
        if self._download_dir is None:
            self._download_dir = Path(tempfile.mkdtemp(prefix="wce-downloads-"))
        return self._download_dir

    def _folder(self, dst_dir: str | Path | None) -> Path:
        folder = Path(dst_dir) if dst_dir is not None else self.download_dir
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def save_samples(self, format: str = "GeoParquet", dst_dir: str | Path | None = None) -> Path:
        """Write ``state.samples`` as ``worldcereal_samples_<time><suffix>`` and return the path.

        Parameters
        ----------
        format
            A key of :data:`EXPORT_FORMATS` (``"GeoParquet"``, ``"GeoPackage"``, ``"CSV"``).
        dst_dir
            Folder to write to (default :attr:`download_dir`).

        Raises
        ------
        BadParameterError
            No samples fetched yet, or an unknown format.
        """
        from ..rdm.export import export_samples

        samples = self.outputs.samples
        if samples is None or len(samples) == 0:
            raise BadParameterError("no samples to save: fetch samples first")
        if format not in EXPORT_FORMATS:
            raise BadParameterError(f"unknown format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
        kind, suffix, _mime = EXPORT_FORMATS[format]
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self._folder(dst_dir) / f"worldcereal_samples_{stamp}{suffix}"
        return Path(export_samples(samples, target, format=kind))

    # --- streamed export of the current filters -------------------------------------------------------
    def _stream_target(self, format: str, dst_dir: str | Path | None) -> Path:
        suffix = EXPORT_FORMATS[format][1]
        folder = self._folder(dst_dir)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = folder / f"worldcereal_samples_{stamp}{suffix}"
        n = 1
        while target.exists() or target in self._targets:  # one file (and one parts folder) per export
            n += 1
            target = folder / f"worldcereal_samples_{stamp}-{n}{suffix}"
        self._targets.add(target)
        return target

    def stream_samples(self, format: str = "GeoParquet", dst_dir: str | Path | None = None, *,
                       wait: bool = False) -> Path | None:
        """Stream the samples of the current filters into a new file with ``client.download_samples``.

        Unlike :meth:`save_samples` this needs no fetch first and holds at most a row group in memory, so it
        is the way out when a fetch is refused for the memory budget. It runs on the state's worker thread
        (a kind of its own, so a search does not stop it): ``status`` is ``"loading"`` and ``message`` /
        ``progress`` follow it (the status bar shows them); ``state.cancel()`` or :meth:`cancel_stream`
        stops it and leaves no file behind. The ``export_*`` traits of the state say how it ended.

        Parameters
        ----------
        format
            A key of :data:`EXPORT_FORMATS` (``"GeoParquet"``, ``"GeoPackage"``, ``"CSV"``).
        dst_dir
            Folder to write to (default :attr:`download_dir`); the file is
            ``worldcereal_samples_<time><suffix>``.
        wait
            ``True``: run in this thread and return the path (raising on failure); ``False`` (default): in
            the background, returning ``None``.

        Raises
        ------
        BadParameterError
            An unknown format.
        InvalidInputError, RdmError, QueryCancelledError
            ``wait=True`` only: an invalid input, a failure, or a cancellation.
        """
        if format not in STREAM_FORMATS:
            raise BadParameterError(f"unknown format {format!r}; choose one of {', '.join(STREAM_FORMATS)}")
        state, jobs = self.outputs, self.context.jobs
        target = self._stream_target(format, dst_dir)
        with jobs.condition:
            job = jobs.submit(_EXPORT, self._stream_work, delay=None if wait else 0.0, on_result=self._stream_done,
                              on_error=self._stream_failed, target=target, format=STREAM_FORMATS[format],
                              grouping=dict(state.grouping or {}))
            if job.cancelled:  # the state is closed
                return None
            self._current = job
            text = f"exporting the samples of the current filters to {target.name}\u2026"
            with grouped_updates():
                state.export_status = "running"
                state.export_path = ""
                state.export_rows = 0
                state.export_progress = 0.0
                state.export_message = text
            state.status = "loading"
            state.message = text
            state.progress = 0.0
            state.progress_done = state.progress_total = 0
        if not wait:
            return None
        jobs.run(job)
        if job.error is not None:
            raise job.error
        return job.result

    def cancel_stream(self) -> None:
        """Stop the streamed export (nothing is left behind); searches and fetches go on."""
        jobs = self.context.jobs
        with jobs.condition:
            if jobs.cancel([_EXPORT]):
                self._cancelled(self._current)

    def _cancelled(self, job: Job | None) -> None:
        state = self.outputs
        with self.context.jobs.condition:
            if job is None or job is not self._current or state.export_status != "running":
                return
            with grouped_updates():
                state.export_status = "cancelled"
                state.export_message = "export cancelled"
            state.message = "cancelled: the export to a file"

    def _stream_work(self, job: Job) -> Path:
        target: Path = job.context["target"]
        try:
            query = self.context.query()
            path = self.context.client().download_samples(target, query=query, format=job.context["format"], resume=True,
                                                 progress=self._stream_progress(job),
                                                 cancel_event=job.cancel_event, on_error="skip",
                                                 # the columns "Save samples" writes: the file is what the page showed
                                                 labels=True, grouping=job.context["grouping"])
            if job.cancelled:
                raise QueryCancelledError("export cancelled")
        except QueryCancelledError:
            call_on_kernel_thread(lambda: self._cancelled(job))
            raise
        return Path(path)

    def _stream_progress(self, job: Job) -> Callable[[Any], None]:
        state, jobs = self.outputs, self.context.jobs
        name = job.context["target"].name

        def progress(event: Any) -> None:
            total = getattr(event, "units_total", None)
            if total is None:
                return
            fraction = min(1.0, event.units_done / total) if total else 0.0
            rows = int(event.rows_written)
            if event.phase == "assembling":
                text = f"exporting: assembling {name} ({rows:,} samples)\u2026"
            elif event.phase == "done":
                text = f"exporting: {rows:,} samples written to {name}"
            else:
                text = (f"exporting to {name}: {fraction:.0%} ({rows:,} samples written, "
                        f"{event.bytes_read / 2**20:.1f} MiB read)\u2026")

            def show() -> None:
                with jobs.condition:
                    if not jobs.is_current(job):
                        return
                    with grouped_updates():
                        state.export_progress = fraction
                        state.export_rows = rows
                        state.export_message = text
                    state.progress = fraction
                    state.message = text

            call_on_kernel_thread(show, key=(id(self), "export progress"))

        return progress

    def _stream_done(self, job: Job) -> None:
        state = self.outputs
        path: Path = job.result
        size = path.stat().st_size if path.exists() else 0
        text = f"{state.export_rows:,} samples written to {path.name} ({size / 2**20:.1f} MiB)"
        with grouped_updates():
            state.export_progress = 1.0
            state.export_path = str(path)
            state.export_message = text
            state.export_status = "done"
        state.progress = 1.0
        state.message = text

    def _stream_failed(self, job: Job, exc: BaseException) -> None:
        state = self.outputs
        with grouped_updates():
            state.export_message = f"the export failed: {describe(exc)}"
            state.export_status = "error"
        self._report(job, exc)
        if isinstance(exc, WorldCerealExplorerError):
            state.message = state.export_message

    def metadata(self, ref_id: str, dst_dir: str | Path | None = None) -> Path:
        """Download the collection's metadata workbook (``{ref_id}_metadata.xlsx``); see
        :meth:`RdmQueryState.download_metadata`."""
        return self._download(self.context.client().download_collection_metadata, ref_id, dst_dir)

    def harmonization_info(self, ref_id: str, dst_dir: str | Path | None = None) -> Path:
        """Download the collection's harmonisation PDF; see :meth:`RdmQueryState.download_harmonization_info`."""
        return self._download(self.context.client().download_collection_harmonization_info, ref_id, dst_dir)

    def _download(self, method: Callable[..., Any], ref_id: str, dst_dir: str | Path | None) -> Path:
        if not ref_id:
            raise BadParameterError("no collection chosen; choose one of the collections in the results table")
        return Path(method(ref_id, self._folder(dst_dir)))

    @staticmethod
    def link(path: str | Path, max_bytes: int = 40_000_000) -> SavedFile:
        """Describe ``path`` for a download link, with its bytes as a ``data:`` URL up to ``max_bytes``."""
        path = Path(path)
        size = path.stat().st_size
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        for _kind, suffix, known in EXPORT_FORMATS.values():
            if path.name.endswith(suffix):
                mime = known
        data_url = None
        if size <= max_bytes:
            data_url = f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
        return SavedFile(path, size, mime, data_url)
