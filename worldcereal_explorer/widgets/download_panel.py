"""Download panel: save the fetched samples, and a collection's metadata workbook or harmonization PDF.

Files are written to a folder on the kernel's machine and offered as ``<a download href="data:...">``
links: that works the same in JupyterLab, Voilà and Binder, because the browser gets the bytes from the
widget itself rather than from a file route the server may not expose (Voilà serves only images).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import mimetypes
import tempfile
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ._base import StateWidget

#: format name -> (export format argument, file suffix, MIME type)
FORMATS = {
    "GeoParquet": ("geoparquet", ".geoparquet", "application/vnd.apache.parquet"),
    "GeoPackage": ("gpkg", ".gpkg", "application/geopackage+sqlite3"),
    "CSV": ("csv", ".csv", "text/csv"),
}


def data_link(path: Path, *, max_bytes: int, css_class: str = "wce-download-link") -> str:
    """HTML for a download link carrying ``path``'s bytes, or a note with the path when it is too big."""
    size = path.stat().st_size
    name = html.escape(path.name)
    if size > max_bytes:
        return (f"<span class='{css_class}-too-big'>{name} ({size / 1e6:.1f} MB) is too big to send through "
                f"the page; it is saved at <code>{html.escape(str(path))}</code></span>")
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    for info in FORMATS.values():
        if path.name.endswith(info[1]):
            mime = info[2]
    payload = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f"<a class='{css_class}' download='{name}' href='data:{mime};base64,{payload}' target='_blank'>"
            f"&#11015; {name}</a> <span style='color:#666'>({size / 1e3:,.1f} kB)</span>")


class DownloadPanel(StateWidget):
    """Save ``state.samples`` as GeoParquet / GeoPackage / CSV, or fetch a collection's documents.

    Parameters
    ----------
    state
        The query state (a new one when ``None``).
    download_dir
        Folder the files are written to (default: a new temporary folder).
    max_link_bytes
        Largest file offered as an in-page link; bigger files are only saved to ``download_dir``.
    """

    def __init__(self, state: RdmQueryState | None = None, *, download_dir: str | Path | None = None,
                 max_link_bytes: int = 40_000_000, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-download")
        self.download_dir = Path(download_dir) if download_dir else Path(tempfile.mkdtemp(prefix="wce-downloads-"))
        self.max_link_bytes = max_link_bytes
        self.format = w.Dropdown(options=list(FORMATS), value="GeoParquet", description="Format",
                                 layout=w.Layout(width="220px"))
        self.format.add_class("wce-download-format")
        self.save_button = w.Button(description="Save samples", icon="download", button_style="primary")
        self.save_button.add_class("wce-save-samples")
        self.save_button.on_click(lambda _: self.save_samples())
        self.collection = w.Dropdown(options=[], description="Collection", layout=w.Layout(width="360px"))
        self.collection.add_class("wce-download-collection")
        self.collection.observe(lambda _: self._update_buttons(), "value")
        # width "auto": the default 148px cuts "Harmonization (PDF)" off
        self.metadata_button = w.Button(description="Metadata (xlsx)", icon="table", layout=w.Layout(width="auto"))
        self.metadata_button.add_class("wce-download-metadata")
        self.metadata_button.on_click(lambda _: self.download_metadata())
        self.pdf_button = w.Button(description="Harmonization (PDF)", icon="file-pdf-o", layout=w.Layout(width="auto"))
        self.pdf_button.add_class("wce-download-pdf")
        self.pdf_button.on_click(lambda _: self.download_harmonization())
        self.links = w.HTML()
        self.links.add_class("wce-download-links")
        self.children = [
            w.HTML("<b>Download</b>"),
            w.HBox([self.format, self.save_button]),
            w.HBox([self.collection, self.metadata_button, self.pdf_button], layout=w.Layout(flex_flow="row wrap")),
            self.links,
        ]
        self._observe_state(self._on_collections, ["collections", "selected_ids"])
        self._observe_state(self._on_samples, "samples")
        self._on_collections()
        self._on_samples()

    def _on_collections(self, change: dict | None = None) -> None:
        ids = [c.id for c in self.state.collections]
        preferred = next((i for i in self.state.selected_ids if i in ids), None)
        current = self.collection.value if self.collection.value in ids else None
        self.collection.options = ids
        self.collection.value = preferred or current or (ids[0] if ids else None)
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = next((c for c in self.state.collections if c.id == self.collection.value), None)
        self.metadata_button.disabled = chosen is None
        # The RDM has a harmonization document only for public collections.
        public = chosen is not None and (chosen.access_type or "").lower() == "public"
        self.pdf_button.disabled = not public
        self.pdf_button.tooltip = (
            "the collection's harmonization document (PDF)" if public else
            "choose a collection first" if chosen is None else
            f"only public collections have a harmonization document; {chosen.id} is {chosen.access_type.lower()}"
        )

    def _on_samples(self, change: dict | None = None) -> None:
        self.save_button.disabled = self.state.samples is None or len(self.state.samples) == 0

    def _show(self, body: str, error: bool = False) -> None:
        colour = "#b71c1c" if error else "inherit"
        self.links.value = f"<div style='color:{colour}'>{body}</div>"

    def save_samples(self, format: str | None = None) -> Path | None:
        """Write the current samples in ``format`` (default: the dropdown's) and show a link to the file."""
        from ..rdm.export import export_samples

        samples = self.state.samples
        if samples is None or len(samples) == 0:
            self._show("No samples to save: fetch samples first.", error=True)
            return None
        name = format or self.format.value
        if name not in FORMATS:
            self._show(f"Unknown format {html.escape(str(name))}; choose one of {', '.join(FORMATS)}.", error=True)
            return None
        kind, suffix, _mime = FORMATS[name]
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self.download_dir / f"worldcereal_samples_{stamp}{suffix}"
        try:
            path = Path(export_samples(samples, target, format=kind))
        except Exception as exc:  # a failed export is reported in the panel, never as a traceback
            self._show(f"Could not save the samples: {html.escape(str(exc))}", error=True)
            return None
        self._show(data_link(path, max_bytes=self.max_link_bytes))
        return path

    def download_metadata(self) -> Path | None:
        """Download the chosen collection's metadata workbook and show a link to it."""
        return self._fetch(self.state.download_metadata)

    def download_harmonization(self) -> Path | None:
        """Download the chosen collection's harmonization PDF and show a link to it."""
        return self._fetch(self.state.download_harmonization_info)

    def _fetch(self, method: Any) -> Path | None:
        ref_id = self.collection.value
        try:
            path = method(ref_id, self.download_dir)
        except Exception as exc:  # the state also puts it in the status bar
            self._show(html.escape(str(exc)), error=True)
            return None
        self._show(data_link(path, max_bytes=self.max_link_bytes))
        return path
