"""Download panel: save the fetched samples, stream the current filters' samples to a file, and a
collection's metadata workbook or harmonization PDF.

"Save samples" writes the samples already fetched (small cases). "Export to file" streams every sample of the
*current filters* from the RDM into a file (``state.exports.stream_samples``, i.e. ``client.download_samples``)
without fetching them first, in bounded memory: the way out when a fetch is refused for the memory budget.
Both write the same columns: the samples' own, then ``label`` and ``new_label`` (the crop groups).
It runs in the background with its progress here and in the status bar; "Cancel export" (or the status bar's
Cancel) stops it.

The files are written by the state's export service (``state.exports``) and offered as
``<a download href="data:...">`` links: that works the same in JupyterLab, Voilà and Binder, because
the browser gets the bytes from the widget itself rather than from a file route the server may not
expose (Voilà serves only images). The panel does no file or network I/O itself.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..state import EXPORT_FORMATS, RdmQueryState, SavedFile
from ._base import STALE_RESULTS_TEXT, StateWidget, action_button, style_widget
from .parts import html_part

#: Beside "Save samples" (and over the link it makes) while the samples are from earlier filters.
STALE_SAVE_WARNING = (f"\u26a0 {STALE_RESULTS_TEXT}: the fetched samples do not match the current filters "
                      "\u2014 press Fetch samples first to save the current ones")

#: Format names offered in the dropdown (see :data:`~worldcereal_explorer.state.EXPORT_FORMATS`).
FORMATS = EXPORT_FORMATS

#: What the two sample buttons do (shown under them).
SAMPLES_HELP = ("<b>Save samples</b>: the samples fetched. <b>Export to file</b>: every sample of the current "
                "filters, streamed from the RDM to a file without fetching (any size). Both files carry "
                "<code>label</code> and <code>new_label</code> (your crop groups).")


def link_html(saved: SavedFile, *, css_class: str = "wce-download-link") -> str:
    """HTML for a download link carrying the file's bytes, or a note with its path when it is too big."""
    name = html.escape(saved.name)
    if saved.data_url is None:
        return (f"<span class='{css_class}-too-big'>{name} ({saved.size / 1e6:.1f} MB) is too big to send "
                f"through the page; it is saved at <code>{html.escape(str(saved.path))}</code></span>")
    return (f"<a class='{css_class}' download='{name}' href='{saved.data_url}' target='_blank'>"
            f"&#11015; {name}</a> <span style='color:#666'>({saved.size / 1e3:,.1f} kB)</span>")


class DownloadPanel(StateWidget):
    """Save ``state.samples`` as GeoParquet / GeoPackage / CSV, or fetch a collection's documents.

    Parameters
    ----------
    state
        The query state it saves: ``samples`` through ``exports``, the streamed export of the current
        filters (``export_*``), and the documents of a collection of ``collections`` (a new state when
        ``None``).
    download_dir
        Folder the files are written to (default: the state's ``exports.download_dir``, a temporary
        folder).
    max_link_bytes
        Largest file offered as an in-page link; bigger files are only saved to ``download_dir``.
    """

    def __init__(self, state: RdmQueryState | None = None, *, download_dir: str | Path | None = None,
                 max_link_bytes: int = 40_000_000, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-download")
        self._download_dir = Path(download_dir) if download_dir else None
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
        self.metadata_button = action_button("Metadata (xlsx)", "table", "wce-download-metadata",
                                             self.download_metadata)
        self.pdf_button = action_button("Harmonization (PDF)", "file-pdf-o", "wce-download-pdf",
                                        self.download_harmonization)
        self.stream_button = action_button("Export to file", "file-o", "wce-export-stream", self.stream_samples,
                                           tooltip="stream every sample of the current filters to a file (no "
                                                   "fetch needed, any size)")
        self.stream_cancel = action_button("Cancel export", "stop", "wce-export-cancel",
                                           lambda: self.state.exports.cancel_stream(), disabled=True)
        self.stream_progress = w.FloatProgress(min=0.0, max=1.0, value=0.0,
                                               layout=w.Layout(width="160px", display="none"))
        self.stream_progress.add_class("wce-export-progress")
        self.stream_info = html_part("wce-export-info")
        self.links = html_part("wce-download-links")
        self.save_warning = html_part("wce-save-stale", hidden=True)
        self.children = [
            style_widget(),
            w.HTML("<b>Download</b>"),
            w.HBox([self.format, self.save_button, self.stream_button, self.stream_cancel, self.stream_progress],
                   layout=w.Layout(flex_flow="row wrap", align_items="center")),
            w.HTML(f"<div style='color:#555;font-size:12px'>{SAMPLES_HELP}</div>"),
            self.stream_info,
            self.save_warning,
            w.HBox([self.collection, self.metadata_button, self.pdf_button], layout=w.Layout(flex_flow="row wrap")),
            self.links,
        ]
        self._observe_state(self._on_collections, ["collections", "selected_ids"])
        self._observe_state(self._on_samples, ["samples", "samples_stale"])
        # a link from an earlier query would pass for one of the current results
        self._observe_state(self._clear_links, ["collections", "samples"])
        self._observe_state(self._on_export, ["export_status", "export_message", "export_progress"])
        self._observe_state(self._on_too_large, "preview_too_large")
        self._on_collections()
        self._on_samples()
        self._on_export()
        self._on_too_large()

    def _clear_links(self, change: dict | None = None) -> None:
        self.links.value = ""

    @property
    def samples_stale(self) -> bool:
        """Whether the samples Save would write are from earlier filters (Save then warns)."""
        return bool(self.state.samples_stale) and self.state.samples is not None

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
        stale = self.samples_stale
        self.save_button.button_style = "warning" if stale else "primary"
        self.save_button.tooltip = STALE_SAVE_WARNING if stale else "save the fetched samples"
        self.save_warning.value = (f"<span class='wce-stale-note'>{html.escape(STALE_SAVE_WARNING)}</span>"
                                   if stale else "")
        self.save_warning.layout.display = "" if stale else "none"

    def _show(self, body: str, error: bool = False) -> None:
        colour = "#b71c1c" if error else "inherit"
        self.links.value = f"<div style='color:{colour}'>{body}</div>"

    @property
    def download_dir(self) -> Path:
        """Folder the files are written to."""
        return self._download_dir if self._download_dir is not None else self.state.exports.download_dir

    def save_samples(self, format: str | None = None) -> Path | None:
        """Write the current samples in ``format`` (default: the dropdown's) and show a link to the file.

        Samples from earlier filters are saved too, but the link says so (:data:`STALE_SAVE_WARNING`).
        """
        stale = self.samples_stale
        path = self._run(lambda: self.state.export_samples(self.download_dir, format or self.format.value),
                         "Could not save the samples: ")
        if path is not None and stale:
            self.links.value = (f"<div class='wce-stale-note'>{html.escape(STALE_SAVE_WARNING)}</div>"
                                + self.links.value)
        return path

    def stream_samples(self, format: str | None = None) -> None:
        """Stream the samples of the current filters into a file in ``format`` (default: the dropdown's), in
        the background; the link appears here when it is written (``state.export_status == "done"``)."""
        self._clear_links()
        try:
            self.state.exports.stream_samples(format or self.format.value, self.download_dir, wait=False)
        except Exception as exc:  # an unknown format: reported in the panel, never as a traceback
            self._show(html.escape(f"Could not export the samples: {exc}"), error=True)

    def _on_too_large(self, change: dict | None = None) -> None:
        # a fetch over the memory budget would be refused: streaming to a file is the way to get them all
        self.stream_button.button_style = "primary" if self.state.preview_too_large else ""

    def _on_export(self, change: dict | None = None) -> None:
        with self._render_lock:
            status = self.state.export_status
            running = status == "running"
            self.stream_cancel.disabled = not running
            self.stream_progress.value = self.state.export_progress
            self.stream_progress.layout.display = "" if running else "none"
            colour = {"error": "#b71c1c", "cancelled": "#616161"}.get(status, "#555")
            text = self.state.export_message if status != "idle" else ""
            self.stream_info.value = (f"<span class='wce-export-{status}' data-status='{status}' "
                                      f"style='color:{colour};font-size:12px'>{html.escape(text)}</span>"
                                      if text else "")
            if change is not None and change.get("name") == "export_status" and status == "done":
                try:
                    saved = self.state.exports.link(self.state.export_path, max_bytes=self.max_link_bytes)
                except OSError as exc:
                    self._show(html.escape(f"Could not offer the exported file: {exc}"), error=True)
                else:
                    self._show(link_html(saved))

    def download_metadata(self) -> Path | None:
        """Download the chosen collection's metadata workbook and show a link to it."""
        return self._run(lambda: self.state.download_metadata(self.collection.value, self.download_dir))

    def download_harmonization(self) -> Path | None:
        """Download the chosen collection's harmonization PDF and show a link to it."""
        return self._run(lambda: self.state.download_harmonization_info(self.collection.value, self.download_dir))

    def _run(self, action: Callable[[], Path], error_prefix: str = "") -> Path | None:
        try:
            path = action()
            saved = self.state.exports.link(path, max_bytes=self.max_link_bytes)
        except Exception as exc:  # reported in the panel, never as a traceback (downloads: status bar too)
            self._show(html.escape(f"{error_prefix}{exc}"), error=True)
            return None
        self._show(link_html(saved))
        return path
