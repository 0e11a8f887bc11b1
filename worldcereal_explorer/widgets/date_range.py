"""Date range: two date pickers bound to ``state.start_date`` / ``state.end_date``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ipywidgets as w

from ..dates import parse_date
from ..errors import BadTemporalExtentError
from ..state import RdmQueryState
from ._base import StateWidget


def _to_date(value: Any) -> dt.date | None:
    try:
        return parse_date(value, allow_missing=True)
    except BadTemporalExtentError:  # the state reports the bad value; the picker just shows nothing
        return None


class DateRangePicker(StateWidget):
    """Start and end date pickers; clearing both removes the temporal filter.

    Takes the arguments of :class:`~worldcereal_explorer.widgets._base.StateWidget`: the query state to bind
    to (a new one when ``None``) and the ``VBox``'s keyword arguments.
    """

    def __init__(self, state: RdmQueryState | None = None, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.start = w.DatePicker(description="From", layout=w.Layout(width="auto"))
        self.end = w.DatePicker(description="To", layout=w.Layout(width="auto"))
        self.start.add_class("wce-start-date")
        self.end.add_class("wce-end-date")
        self.clear_button = w.Button(description="Any date", icon="times", layout=w.Layout(width="auto"))
        self.clear_button.on_click(lambda _: self.clear())
        self.children = [w.HTML("<b>Dates</b>"), self.start, self.end, self.clear_button]
        self.start.observe(self._on_picker, "value")
        self.end.observe(self._on_picker, "value")
        self._observe_state(self._on_state, ["start_date", "end_date"])
        self._on_state()

    def clear(self) -> None:
        """Remove the temporal filter."""
        with self.state.hold_trait_notifications():
            self.state.start_date = None
            self.state.end_date = None

    def reset(self) -> None:
        """Back to the default: no date filter (as :meth:`clear`)."""
        self.clear()

    def _on_picker(self, change: dict) -> None:
        if self._syncing:
            return
        with self._sync(), self.state.hold_trait_notifications():
            self.state.start_date = self.start.value
            self.state.end_date = self.end.value

    def _on_state(self, change: dict | None = None) -> None:
        if self._syncing:
            return
        with self._sync():
            self.start.value = _to_date(self.state.start_date)
            self.end.value = _to_date(self.state.end_date)
