"""Status bar: one message about what the state is doing, the fetch progress ("3/14 collections"), Cancel.

One message at a time, by priority: a running query ("searching…", "fetching samples…"), an error, a
cancellation (a neutral mark, not a tick), samples from earlier filters, a result with collections left out
(amber, never the tick: it says what failed and what was kept), else the last result.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ..state.counts import plural
from ._base import StateWidget

#: Colour and mark of each kind of message.
_COLOURS = {"idle": "#1b5e20", "loading": "#0d47a1", "error": "#b71c1c", "cancelled": "#616161",
            "stale": "#e65100", "partial": "#8a4b00"}
_ICONS = {"idle": "&#10003;", "loading": "&#8635;", "error": "&#9888;", "cancelled": "&#8856;",
          "stale": "&#9888;", "partial": "&#9888;"}

#: Shown while ``state.samples_stale``: the samples on the map no longer match the filters.
STALE_NOTE = "filters changed \u2014 press Fetch samples"


def is_cancelled_message(message: str) -> bool:
    """Whether ``message`` reports a cancellation (``state.cancel()`` writes ``"cancelled"``)."""
    return (message or "").strip().lower().startswith("cancelled")


class StatusBar(StateWidget):
    """Shows one message for ``state.status``/``state.message``, the fetch progress and Cancel.

    Parameters
    ----------
    state
        The query state whose ``status``, ``message``, fetch progress (``progress_done``/``progress_total``),
        ``samples_stale`` and ``failed_collections`` the bar shows (a new one when ``None``). Its search
        summary's number is *in the whole collections*; "N samples match your filters" is a fetch's.
    show_cancel
        Put :attr:`cancel_button` in the bar (default); ``False`` leaves it out so the page can place it
        elsewhere (e.g. next to "Fetch samples"); it is enabled only while a query runs either way.

    Attributes
    ----------
    kind : str
        What the message is: ``"loading"``, ``"error"``, ``"cancelled"``, ``"stale"`` (samples from earlier
        filters), ``"partial"`` (the last search or fetch left collections out: ``state.failed_collections``)
        or ``"idle"``.
    progress : ipywidgets.FloatProgress
        Shown only while samples are fetched and the number of collections is known, with
        :attr:`progress_text` ("3/14 collections") beside it.
    """

    def __init__(self, state: RdmQueryState | None = None, *, show_cancel: bool = True, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.kind = "idle"
        self.label = w.HTML(layout=w.Layout(flex="1 1 auto"))
        self.label.add_class("wce-status")
        self.progress = w.FloatProgress(min=0.0, max=1.0, value=0.0, layout=w.Layout(width="160px"))
        self.progress.add_class("wce-progress")
        self.progress_text = w.HTML(layout=w.Layout(width="auto", margin="0 8px 0 4px"))
        self.progress_text.add_class("wce-progress-text")
        self.cancel_button = w.Button(description="Cancel", icon="stop", button_style="warning",
                                      layout=w.Layout(width="100px"))
        self.cancel_button.add_class("wce-cancel")
        self.cancel_button.on_click(lambda _: self.state.cancel())
        parts = [self.label, self.progress, self.progress_text] + ([self.cancel_button] if show_cancel else [])
        self.children = [w.HBox(parts, layout=w.Layout(align_items="center", width="100%"))]
        self._observe_state(self._update, ["status", "message", "progress", "progress_done", "progress_total",
                                           "samples_stale", "samples", "failed_collections"])
        self._update()

    def _kind(self) -> str:
        status = self.state.status
        if status in ("loading", "error"):
            return status
        if is_cancelled_message(self.state.message):
            return "cancelled"
        if self.state.samples_stale and self.state.samples is not None:
            return "stale"
        if self.state.failed_collections:
            return "partial"
        return "idle"

    def _update(self, change: dict | None = None) -> None:
        kind = self.kind = self._kind()
        status = self.state.status
        text = STALE_NOTE if kind == "stale" else (self.state.message or status)
        self.label.value = (
            f"<span class='wce-status-{kind}' data-status='{status}' data-kind='{kind}' "
            f"style='color:{_COLOURS[kind]}'>{_ICONS[kind]} {html.escape(text)}</span>"
        )
        loading = status == "loading"
        total, done = self.state.progress_total, self.state.progress_done
        # A bar only with its numbers: a search has no progress to show, and a fetch shows the bar once the
        # number of collections to read is known.
        show_bar = loading and total > 0
        self.progress.value = self.state.progress
        self.progress.layout.visibility = "visible" if show_bar else "hidden"
        self.progress.layout.display = "" if show_bar else "none"
        self.progress_text.value = (f"{min(done, total)}/{plural(total, 'collection')}" if show_bar else "")
        self.progress_text.layout.display = "" if show_bar else "none"
        self.cancel_button.disabled = not loading
        self.cancel_button.layout.visibility = "visible" if loading else "hidden"
