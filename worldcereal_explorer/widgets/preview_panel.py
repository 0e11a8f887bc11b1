"""The line next to "Fetch samples": what a fetch would bring, before fetching.

Shows the state's sample preview (:mod:`worldcereal_explorer.state.preview`): "a fetch would bring N samples,
~X MiB to download, ~Y MiB in memory", the largest classes and collections, and, when the estimate is over
the client's memory budget, that Fetch will be refused and the two ways out (narrow the query, or "Export to
file" in the download panel). No I/O: the numbers are the state's traits.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ._base import StateWidget

__all__ = ["TOO_LARGE_NOTE", "PreviewPanel"]

#: Shown under the line while a fetch would exceed the memory budget.
TOO_LARGE_NOTE = ("Fetch would be refused: more than this session's memory budget. Narrow the query (a smaller "
                  "area, fewer collections, crop types or dates, higher quality, the subset), or stream the "
                  "samples to a file with \u201cExport to file\u201d in the download panel.")

_COLOURS = {"ready": "#1b5e20", "loading": "#0d47a1", "pending": "#0d47a1", "error": "#b71c1c",
            "stale": "#e65100", "cancelled": "#616161", "off": "#616161", "too_large": "#b71c1c"}
_ICONS = {"ready": "&#8721;", "loading": "&#8635;", "pending": "&#8635;", "error": "&#9888;",
          "stale": "&#9888;", "cancelled": "&#8856;", "off": "", "too_large": "&#9888;"}


class PreviewPanel(StateWidget):
    """One line about the samples a fetch would bring (``state.preview_*``), plus the largest groups.

    Parameters
    ----------
    state
        The query state whose ``preview_*`` traits (the samples *matching your filters*, counted before a
        fetch) the line and the details show (a new one when ``None``).
    auto_preview
        Turn the state's automatic previews on (``state.auto_preview = True``), so the line fills after every
        search and sample-filter change; ``False`` leaves the setting as it is.
    top
        How many classes and collections the details list.

    Attributes
    ----------
    line : ipywidgets.HTML
        The estimate line (CSS class ``wce-preview-line``; ``data-status`` is ``preview_status``, or
        ``too_large``).
    note : ipywidgets.HTML
        The refusal note (:data:`TOO_LARGE_NOTE`), shown only while ``state.preview_too_large``.
    details : ipywidgets.HTML
        The largest classes and collections of the preview (samples matching your filters, as the line).
    """

    def __init__(self, state: RdmQueryState | None = None, *, auto_preview: bool = True, top: int = 5,
                 **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-preview")
        self.top = top
        self.line = w.HTML()
        self.line.add_class("wce-preview-line")
        self.note = w.HTML(layout=w.Layout(display="none"))
        self.note.add_class("wce-preview-too-large")
        self.details = w.HTML()
        self.details.add_class("wce-preview-details")
        self.children = [self.line, self.note, self.details]
        self._observe_state(self._update, ["preview_status", "preview_message", "preview_counts",
                                           "preview_too_large", "legend"])
        if auto_preview:
            self.state.auto_preview = True
        self._update()

    @property
    def kind(self) -> str:
        """What the line shows: ``preview_status``, or ``"too_large"`` for a ready preview over the budget."""
        status = self.state.preview_status
        return "too_large" if status == "ready" and self.state.preview_too_large else status

    def _update(self, change: dict | None = None) -> None:
        with self._render_lock:
            kind = self.kind
            text = self.state.preview_message
            if kind == "off":
                text = text or "the number of samples a fetch would bring shows here after a search"
            self.line.value = (f"<span class='wce-preview-{kind}' data-status='{kind}' "
                               f"style='color:{_COLOURS[kind]}'>{_ICONS[kind]} {html.escape(text)}</span>")
            too_large = self.state.preview_too_large and kind in ("too_large", "pending", "loading")
            self.note.value = (f"<div style='color:#b71c1c;font-size:12px'>{html.escape(TOO_LARGE_NOTE)}</div>"
                               if too_large else "")
            self.note.layout.display = "" if too_large else "none"
            self.details.value = self._details_html() if kind in ("ready", "too_large") else ""

    def _details_html(self) -> str:
        classes = self.state.preview_by_class().head(self.top)
        collections = sorted(self.state.preview_by_collection().items(), key=lambda kv: -kv[1])[: self.top]
        if not len(classes) and not collections:
            return ""
        parts = []
        if len(classes):
            items = [f"{html.escape(str(label) or str(code))} {int(count):,}"
                     for code, label, count in classes.itertuples(index=False)]
            parts.append("classes: " + " \u00b7 ".join(items))
        if collections:
            parts.append("collections: " + " \u00b7 ".join(f"{html.escape(ref)} {n:,}" for ref, n in collections))
        tip = "of the samples a fetch would bring: matching your filters (area, dates, crop types, quality, subset)"
        return f"<div style='color:#555;font-size:12px' title='{html.escape(tip)}'>{'<br>'.join(parts)}</div>"
