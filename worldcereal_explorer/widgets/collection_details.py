"""Details of one collection: metadata summary, licence and citation, extent, crop statistics, downloads.

The panel reads everything through the state (:meth:`~worldcereal_explorer.state.RdmQueryState.collection_details`
and its download methods); it does no I/O itself.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ._base import StateWidget, action_button, style_widget

__all__ = ["CollectionDetails", "METADATA_FIELDS"]

#: (label, metadata item names tried in turn) shown in the summary, in this order.
METADATA_FIELDS: list[tuple[str, tuple[str, ...]]] = [
    ("Description", ("CuratedDataSet::DescriptionCuratedDataSet:",)),
    ("Provider", ("OriginalDataSet:Provider:DescriptionCuratedDataSet:", "OriginalDataSet:Provider:Code:")),
    ("Provider URL", ("OriginalDataSet:Provider:URL:",)),
    ("Licence", ("OriginalDataSet:License:ReferenceToLicense:", "OriginalDataSet:License:TypeOfLicense:")),
    ("Citation", ("OriginalDataSet:License:RequiredCitation:",)),
    ("DOI", ("OriginalDataSet:DOI::",)),
    ("Observation method", ("OriginalDataSet:Observation:ObservationMethod:TypeOfObservationMethod",)),
    ("Geometry", ("CuratedDataSet:ObservationCuratedDataset:Geometry:PointOrPolygonOrRaster",)),
]

#: How many crop classes the statistics table lists.
TOP_CLASSES = 10


def _first(metadata: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        value = metadata.get(name)
        if value not in (None, "") and str(value).strip():
            return str(value).strip()
    return ""


def _value_html(label: str, value: str) -> str:
    text = html.escape(value)
    if label in ("Provider URL", "DOI") and value.startswith(("http://", "https://")):
        return f"<a class='wce-link' href='{text}' target='_blank' rel='noopener'>{text}</a>"
    if label == "DOI" and value.startswith("10."):
        url = html.escape(f"https://doi.org/{value}")
        return f"<a class='wce-link' href='{url}' target='_blank' rel='noopener'>{text}</a>"
    return text


class CollectionDetails(StateWidget):
    """A panel with the details of one collection; hidden until :meth:`show` is called.

    Parameters
    ----------
    state
        The query state that reads the details (a new one when ``None``).
    zoom_to
        Called with the collection's ``(west, south, east, north)`` by "Zoom to extent" (usually the
        map's ``zoom_to``); the button is disabled while this is ``None``.
    download_dir
        Folder the documents are written to (default: the state's export folder).

    Attributes
    ----------
    ref_id : str or None
        The collection shown.
    details : dict or None
        What :meth:`~worldcereal_explorer.state.RdmQueryState.collection_details` returned for it.
    """

    def __init__(self, state: RdmQueryState | None = None, *, zoom_to: Callable[[tuple], Any] | None = None,
                 download_dir: str | Path | None = None, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-collection-details")
        self._zoom_to = zoom_to
        self._download_dir = Path(download_dir) if download_dir else None
        self.ref_id: str | None = None
        self.details: dict[str, Any] | None = None
        self.title = w.HTML()
        self.title.add_class("wce-details-title")
        self.body = w.HTML()
        self.body.add_class("wce-details-body")
        self.zoom_button = action_button("Zoom to extent", "search-plus", "wce-details-zoom", self.zoom)
        self.metadata_button = action_button("Metadata (xlsx)", "table", "wce-details-metadata",
                                             self.download_metadata)
        self.pdf_button = action_button("Harmonization (PDF)", "file-pdf-o", "wce-details-pdf",
                                        self.download_harmonization)
        self.close_button = action_button("Close", "times", "wce-details-close", self.hide)
        self.links = w.HTML()
        self.links.add_class("wce-details-links")
        self.children = [
            style_widget(),
            w.HBox([self.title, self.close_button], layout=w.Layout(justify_content="space-between",
                                                                    align_items="center")),
            self.body,
            w.HBox([self.zoom_button, self.metadata_button, self.pdf_button], layout=w.Layout(flex_flow="row wrap")),
            self.links,
        ]
        self.layout.display = "none"
        self.layout.border = "1px solid #90caf9"
        self.layout.padding = "6px"
        self.layout.margin = "6px 0 0 0"
        self._update_buttons()

    # --- API ---------------------------------------------------------------------------------------------
    @property
    def zoom_to(self) -> Callable[[tuple], Any] | None:
        """The ``(west, south, east, north)`` callable "Zoom to extent" uses (the map's ``zoom_to``)."""
        return self._zoom_to

    @zoom_to.setter
    def zoom_to(self, value: Callable[[tuple], Any] | None) -> None:
        self._zoom_to = value
        self._update_buttons()

    @property
    def visible(self) -> bool:
        """Whether the panel is shown."""
        return self.layout.display != "none"

    def show(self, ref_id: str) -> dict[str, Any] | None:
        """Read and show the details of ``ref_id``; errors are shown in the panel (``None`` returned)."""
        self.ref_id = ref_id
        self.details = None
        self.links.value = ""
        self.layout.display = ""
        self.title.value = f"<b>{html.escape(ref_id)}</b>"
        self.body.value = "<i>loading details\u2026</i>"
        self._update_buttons()
        try:
            details = self.state.collection_details(ref_id)
        except Exception as exc:  # shown in the panel, never as a traceback
            self.body.value = (f"<span style='color:#b71c1c'>Could not read the details of "
                               f"{html.escape(ref_id)}: {html.escape(str(exc))}</span>")
            return None
        if self.ref_id != ref_id:  # another collection was opened meanwhile
            return None
        self.details = details
        self._render(details)
        self._update_buttons()
        return details

    def hide(self) -> None:
        """Close the panel."""
        self.layout.display = "none"

    def zoom(self) -> None:
        """Move the map (:attr:`zoom_to`) to the collection's extent."""
        bbox = self._bbox()
        if bbox is not None and self._zoom_to is not None:
            self._zoom_to(bbox)

    @property
    def download_dir(self) -> Path:
        """Folder the documents are written to."""
        return self._download_dir if self._download_dir is not None else self.state.exports.download_dir

    @download_dir.setter
    def download_dir(self, value: str | Path | None) -> None:
        self._download_dir = Path(value) if value else None

    def download_metadata(self) -> Path | None:
        """Download the collection's metadata workbook through the state and show a link to it."""
        return self._run(lambda ref_id: self.state.download_metadata(ref_id, self.download_dir))

    def download_harmonization(self) -> Path | None:
        """Download the collection's harmonization PDF through the state and show a link to it."""
        return self._run(lambda ref_id: self.state.download_harmonization_info(ref_id, self.download_dir))

    # --- internals ----------------------------------------------------------------------------------------
    def _collection(self) -> Any:
        return None if self.details is None else self.details.get("collection")

    def _bbox(self) -> tuple[float, float, float, float] | None:
        coll = self._collection()
        bbox = getattr(coll, "bbox", None)
        if bbox is None:
            return None
        west, south, east, north = (float(v) for v in bbox.as_tuple())
        return (west, south, east, north)

    def _update_buttons(self) -> None:
        coll = self._collection()
        self.zoom_button.disabled = self._bbox() is None or self._zoom_to is None
        self.metadata_button.disabled = coll is None
        public = coll is not None and (coll.access_type or "").lower() == "public"
        self.pdf_button.disabled = not public
        self.pdf_button.tooltip = ("the collection's harmonization document (PDF)" if public else
                                   "only public collections have a harmonization document")

    def _run(self, action: Callable[[str], Path]) -> Path | None:
        from .download_panel import link_html

        if self.ref_id is None:
            return None
        try:
            path = action(self.ref_id)
            saved = self.state.exports.link(path)
        except Exception as exc:  # reported in the panel
            self.links.value = f"<span style='color:#b71c1c'>{html.escape(str(exc))}</span>"
            return None
        self.links.value = link_html(saved)
        return path

    def _render(self, details: dict[str, Any]) -> None:
        coll = details["collection"]
        metadata = details.get("metadata") or {}
        self.title.value = (f"<b>{html.escape(coll.title or coll.id)}</b> "
                            f"<code style='font-size:11px'>{html.escape(coll.id)}</code>")
        rows = [("Access", coll.access_type or ""), ("Type", coll.data_type or ""),
                ("Samples", f"{int(coll.feature_count or 0):,}")]
        if coll.temporal_extent:
            start, end = (str(v)[:10] for v in coll.temporal_extent)
            rows.append(("Dates", f"{start} \u2013 {end}"))
        bbox = self._bbox()
        if bbox is not None:
            rows.append(("Extent (W, S, E, N)", ", ".join(f"{v:.3f}" for v in bbox)))
        rows.append(("Confidence LC / CT", f"{coll.confidence_lc or 0:g} / {coll.confidence_ct or 0:g}"))
        for label, names in METADATA_FIELDS:
            value = _first(metadata, names)
            if value:
                rows.append((label, value))
        table = "".join(f"<tr><th style='text-align:left;vertical-align:top'>{html.escape(k)}</th>"
                        f"<td>{_value_html(k, v)}</td></tr>" for k, v in rows)
        note = ""
        if details.get("metadata_error"):
            note = (f"<div style='color:#b71c1c'>metadata unavailable: "
                    f"{html.escape(str(details['metadata_error']))}</div>")
        counts = details.get("counts")
        stats = ""
        if counts is not None and len(counts):
            top = counts.head(TOP_CLASSES)
            body = "".join(f"<tr><td>{html.escape(str(r.label))}</td><td>{int(r.ewoc_code)}</td>"
                           f"<td style='text-align:right'>{int(r.count):,}</td></tr>" for r in top.itertuples())
            more = len(counts) - len(top)
            stats = (f"<div style='margin-top:4px'><b>Crop classes</b> ({len(counts):,} with samples"
                     f"{f', top {len(top)} shown' if more else ''})</div>"
                     f"<table class='wce-table wce-details-stats'><tr><th>class</th><th>code</th>"
                     f"<th>samples</th></tr>{body}</table>")
        files = []
        for label, name in (("GeoParquet file", "GeoParquetDownloadUrl"), ("Sample file", "SampleDownloadUrl")):
            url = str(metadata.get(name) or "")
            if url.startswith(("http://", "https://")):
                files.append(f"<a class='wce-link' href='{html.escape(url)}' target='_blank' "
                             f"rel='noopener'>{label}</a>")
        links = "<div>Downloads: " + " \u00b7 ".join(files) + "</div>" if files else ""
        self.body.value = (f"<table class='wce-table wce-details-summary'>{table}</table>{note}{stats}{links}")
