"""Samples preview: the first rows of ``state.samples`` and a per-collection summary."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ._base import StateWidget, stale_note_html, style_widget

PREVIEW_COLUMNS = ["sample_id", "ref_id", "ewoc_code", "label", "new_label", "valid_time",
                   "quality_score_lc", "quality_score_ct"]


class SamplesPreview(StateWidget):
    """An HTML table of the first ``rows`` samples (without geometry) and how many came from where.

    Parameters
    ----------
    state
        The query state whose fetched ``samples`` (and ``samples_stale``) are listed (a new one when ``None``).
    rows
        How many samples to show.
    """

    def __init__(self, state: RdmQueryState | None = None, *, rows: int = 8, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.rows = rows
        self.html = w.HTML(layout=w.Layout(overflow="auto", max_height="260px"))
        self.html.add_class("wce-samples-preview")
        self.stale_note = w.HTML(layout=w.Layout(display="none"))
        self.stale_note.add_class("wce-samples-stale")
        self.children = [style_widget(), w.HTML("<b>Samples</b>"), self.stale_note, self.html]
        self._observe_state(self._update, "samples")
        self._observe_state(self._on_stale, ["samples_stale", "samples", "status"])
        self._update()
        self._on_stale()

    @property
    def stale(self) -> bool:
        """Whether the samples shown are from earlier filters (dimmed, with :attr:`stale_note`)."""
        return bool(self.state.samples_stale) and self.state.samples is not None

    def _on_stale(self, change: dict | None = None) -> None:
        stale = self.stale
        self._show_stale(stale, [self.html], None)
        self.stale_note.value = stale_note_html(
            self.state.status, "press \u201cFetch samples\u201d for the current filters") if stale else ""
        self.stale_note.layout.display = "" if stale else "none"

    def _update(self, change: dict | None = None) -> None:
        samples = self.state.samples
        if samples is None:
            self.html.value = "<i>No samples fetched yet: press \u201cFetch samples\u201d.</i>"
            return
        if len(samples) == 0:
            self.html.value = "<i>The query matched no samples.</i>"
            return
        columns = [c for c in PREVIEW_COLUMNS if c in samples.columns]
        head = samples[columns].head(self.rows).to_html(index=False, border=0, classes="wce-table")
        summary = ""
        if "ref_id" in samples.columns:
            per = samples["ref_id"].value_counts()
            summary = ", ".join(f"{ref}: {n:,}" for ref, n in per.head(6).items())
            summary = f"<div style='color:#666'>{len(samples):,} samples fetched \u2014 {summary}</div>"
        self.html.value = summary + head
