"""Status bar: what the state is doing, its progress, errors in plain words, and a cancel button."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ._base import StateWidget

_COLOURS = {"idle": "#1b5e20", "loading": "#0d47a1", "error": "#b71c1c"}
_ICONS = {"idle": "&#10003;", "loading": "&#8635;", "error": "&#9888;"}

#: Shown next to the message while ``state.samples_stale``: the samples on the map no longer match the filters.
STALE_NOTE = "filters changed \u2014 press Fetch samples"


class StatusBar(StateWidget):
    """Shows ``state.status``/``state.message``, a progress bar while loading, and Cancel.

    Parameters
    ----------
    state
        The query state to show (a new one when ``None``).
    """

    def __init__(self, state: RdmQueryState | None = None, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.label = w.HTML(layout=w.Layout(flex="1 1 auto"))
        self.label.add_class("wce-status")
        self.progress = w.FloatProgress(min=0.0, max=1.0, value=0.0, layout=w.Layout(width="160px"))
        self.cancel_button = w.Button(description="Cancel", icon="stop", button_style="warning",
                                      layout=w.Layout(width="100px"))
        self.cancel_button.add_class("wce-cancel")
        self.cancel_button.on_click(lambda _: self.state.cancel())
        self.children = [w.HBox([self.label, self.progress, self.cancel_button],
                                layout=w.Layout(align_items="center", width="100%"))]
        self._observe_state(self._update, ["status", "message", "progress", "samples_stale"])
        self._update()

    def _update(self, change: dict | None = None) -> None:
        status = self.state.status
        text = html.escape(self.state.message or status)
        self.label.value = (
            f"<span class='wce-status-{status}' data-status='{status}' style='color:{_COLOURS[status]}'>"
            f"{_ICONS[status]} {text}</span>"
        )
        if self.state.samples_stale and self.state.samples is not None:
            self.label.value += (f" <span class='wce-stale' style='color:#e65100;margin-left:8px'>&#9888; "
                                 f"{html.escape(STALE_NOTE)}</span>")
        self.progress.value = self.state.progress
        loading = status == "loading"
        self.progress.layout.visibility = "visible" if loading else "hidden"
        self.cancel_button.disabled = not loading
        self.cancel_button.layout.visibility = "visible" if loading else "hidden"
