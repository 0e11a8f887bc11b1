"""What every explorer widget shares: a (possibly shared) query state and loop-free two-way syncing."""

from __future__ import annotations

import threading
from contextlib import contextmanager, suppress
from typing import Any

import ipywidgets as w

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

    def close(self) -> None:
        """Detach from the state, then close the widget."""
        for handler, names in self._observers:
            with suppress(ValueError):
                self.state.unobserve(handler, names=names)
        self._observers.clear()
        super().close()
