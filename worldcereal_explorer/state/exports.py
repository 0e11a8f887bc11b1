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
from typing import TYPE_CHECKING, Any

from traitlets import Enum, Float, HasTraits, Int, Unicode

from ..errors import BadParameterError, QueryCancelledError, WorldCerealExplorerError
from .jobs import Job, describe

if TYPE_CHECKING:
    from .query import RdmQueryState

__all__ = ["EXPORT_FORMATS", "EXPORT_STATUSES", "STREAM_FORMATS", "ExportService", "ExportsMixin", "SavedFile"]

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


class ExportService:
    """Save samples and collection documents into a folder; turn files into download links.

    Parameters
    ----------
    state
        The query state whose samples and client are used.
    download_dir
        Default folder (a new temporary folder, made on first use, when ``None``).
    """

    def __init__(self, state: RdmQueryState, download_dir: str | Path | None = None):
        self._state = state
        self._download_dir = Path(download_dir) if download_dir else None

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

        samples = self._state.samples
        if samples is None or len(samples) == 0:
            raise BadParameterError("no samples to save: fetch samples first")
        if format not in EXPORT_FORMATS:
            raise BadParameterError(f"unknown format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
        kind, suffix, _mime = EXPORT_FORMATS[format]
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self._folder(dst_dir) / f"worldcereal_samples_{stamp}{suffix}"
        return Path(export_samples(samples, target, format=kind))

    def metadata(self, ref_id: str, dst_dir: str | Path | None = None) -> Path:
        """Download the collection's metadata workbook (``{ref_id}_metadata.xlsx``); see
        :meth:`RdmQueryState.download_metadata`."""
        return self._download(self._state.client.download_collection_metadata, ref_id, dst_dir)

    def harmonization_info(self, ref_id: str, dst_dir: str | Path | None = None) -> Path:
        """Download the collection's harmonisation PDF; see :meth:`RdmQueryState.download_harmonization_info`."""
        return self._download(self._state.client.download_collection_harmonization_info, ref_id, dst_dir)

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


class ExportsMixin:
    """The query state's file methods, delegating to its :class:`ExportService` (``exports``).

    One of the bases of :class:`~worldcereal_explorer.state.RdmQueryState`; it expects the host to have
    ``exports``, ``message`` and ``status``.
    """

    exports: ExportService

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
