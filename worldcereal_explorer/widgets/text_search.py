"""One-line search: type "maize Kenya 2021", press Enter, and the crop, area and dates are set at once.

The line is read by :func:`~worldcereal_explorer.state.text_query.parse_text_query` (crop names and
synonyms from ``state.legend``, the package's own country outlines, years and ranges) and applied with
:meth:`~worldcereal_explorer.state.RdmQueryState.apply_text`. Under the box a line says how it was read
(``crop: maize · area: Kenya · dates: 2021-01-01…2021-12-31``) and names every word it did not understand.
The filters it set are the ordinary ones (crop tree, country box, dates), so each can be edited from there.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ..state.text_query import TextQuery
from ._base import StateWidget

__all__ = ["TextSearch"]

#: The box's placeholder: an example of what it understands.
PLACEHOLDER = "e.g. maize Kenya 2021, winter wheat France 2018-2020"


class TextSearch(StateWidget):
    """A search box that sets the crop, area and dates from one line of text.

    Enter (or the "Apply" button) applies the line; typing alone changes nothing. A line applied before
    the crop legend has loaded is read again when it arrives (its crop names were unknown until then).

    Parameters
    ----------
    state
        The query state to bind to (a new one when ``None``).
    zoom_to
        Called with ``(west, south, east, north)`` after a line naming a country is applied (the map's
        ``zoom_to``).

    Attributes
    ----------
    box : ipywidgets.Text
        The line (class ``wce-text-search-box``).
    apply_button : ipywidgets.Button
        Applies the line (class ``wce-text-search-apply``).
    readout : ipywidgets.HTML
        How the line was read (class ``wce-text-search-readout``; an ARIA live region, so screen readers
        announce it).
    last : TextQuery or None
        The last line applied.
    """

    def __init__(self, state: RdmQueryState | None = None, *, zoom_to: Callable[[tuple], Any] | None = None,
                 **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-text-search")
        self.zoom_to = zoom_to
        self.last: TextQuery | None = None
        # continuous_update=False: the value reaches the kernel on Enter (or when the box loses focus)
        self.box = w.Text(placeholder=PLACEHOLDER, description="Search", continuous_update=False,
                          tooltip="crop, country and year in one line, then Enter",
                          layout=w.Layout(width="auto", flex="1 1 auto", min_width="0"),
                          style={"description_width": "52px"})
        self.box.add_class("wce-text-search-box")
        self.box.observe(self._on_value, "value")
        self.apply_button = w.Button(description="Apply", icon="search",
                                     layout=w.Layout(width="auto", flex="0 0 auto"),
                                     tooltip="set the crop, area and dates this line names")
        self.apply_button.add_class("wce-text-search-apply")
        self.apply_button.on_click(lambda _: self.apply(self.box.value))
        self.readout = w.HTML("")
        self.readout.add_class("wce-text-search-readout")
        row = w.HBox([self.box, self.apply_button], layout=w.Layout(width="100%", align_items="center"))
        self.children = [row, self.readout]
        self._observe_state(self._on_legend, "legend")

    def _on_legend(self, change: dict) -> None:
        # A line typed before the legend arrived named its crops as unknown: read it again now.
        last = self.last
        if last is not None and not last.legend_loaded and last.unknown and change["new"] is not None:
            self.apply(last.text)

    def _on_value(self, change: dict) -> None:
        if self._syncing:
            return
        self.apply(change["new"])

    def apply(self, text: str) -> TextQuery:
        """Apply ``text`` to the state (as Enter does) and show how it was read; returns the reading."""
        if self.box.value != text:
            with self._sync():
                self.box.value = text
        query = self.state.apply_text(text)
        self.last = query
        self.readout.value = self._readout_html(query)
        if query.ok and query.countries and self.zoom_to is not None and query.bbox is not None:
            self.zoom_to(query.bbox)
        return query

    @staticmethod
    def _readout_html(query: TextQuery) -> str:
        if not query.text.strip():
            return ""
        problem = bool(query.errors or query.unknown)
        kind = "error" if query.errors else "warning" if problem else "ok"
        color = {"error": "#b71c1c", "warning": "#8a4b00", "ok": "#1b5e20"}[kind]
        note = " \u2014 nothing changed" if query.errors else ""
        return (f"<div role='status' aria-live='polite' data-kind='{kind}' style='color:{color};font-size:12px'>"
                f"{html.escape(query.describe(), quote=False)}{note}</div>")

    def reset(self) -> None:
        """Empty the box and its readout (the filters are the other widgets' to reset)."""
        with self._sync():
            self.box.value = ""
        self.readout.value = ""
        self.last = None
