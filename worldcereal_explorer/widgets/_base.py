"""What every explorer widget shares: a (possibly shared) query state and loop-free two-way syncing."""

from __future__ import annotations

import threading
from contextlib import contextmanager, suppress
from typing import Any

import ipywidgets as w
import traitlets

from ..state import RdmQueryState


class StateWidget(w.VBox):
    """An ipywidgets ``VBox`` bound to an :class:`~worldcereal_explorer.state.RdmQueryState`.

    Parameters
    ----------
    state
        The shared state; a new one (endpoint from ``$WORLDCEREAL_RDM_URL``) when ``None``, so every
        widget also works on its own.
    """

    def __init__(self, state: RdmQueryState | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.state = state if state is not None else RdmQueryState()
        self._syncing = False
        # State changes arrive on worker threads while clicks arrive on the kernel's main thread;
        # widgets that rebuild their children do it under this lock so two rebuilds never interleave.
        self._render_lock = threading.RLock()
        self._observers: list[tuple[Any, str | list[str]]] = []
        #: traitlets links to the state, undone on close
        self._links: list[Any] = []

    @contextmanager
    def _sync(self):
        """Suppress the echo of a change we are making ourselves (widget -> state -> widget)."""
        previous = self._syncing
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = previous

    def _observe_state(self, handler: Any, names: str | list[str]) -> None:
        self.state.observe(handler, names=names)
        self._observers.append((handler, names))

    def _link_state(self, state_trait: str, widget: Any, widget_trait: str = "value") -> Any:
        """Keep ``state.<state_trait>`` and ``widget.<widget_trait>`` equal both ways until close."""
        link = traitlets.link((self.state, state_trait), (widget, widget_trait))
        self._links.append(link)
        return link

    def close(self) -> None:
        """Detach from the state, then close the widget. Closing again does nothing (``Widget.__del__``
        closes a widget that was already closed by hand)."""
        # Lists are emptied before unhooking, so a second close (or one raising half-way) has nothing left.
        observers, self._observers = getattr(self, "_observers", []), []
        links, self._links = getattr(self, "_links", []), []
        for handler, names in observers:
            with suppress(ValueError):
                self.state.unobserve(handler, names=names)
        for link in links:
            with suppress(ValueError):
                link.unlink()
        super().close()
