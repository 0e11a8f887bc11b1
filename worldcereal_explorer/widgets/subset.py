"""Subset toggle: read the curated sample subset (``extract > 0``) instead of whole collections."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ._base import StateWidget


class SubsetToggle(StateWidget):
    """A checkbox bound to ``state.subset``.

    Takes the arguments of :class:`~worldcereal_explorer.widgets._base.StateWidget`: the query state to bind
    to (a new one when ``None``) and the ``VBox``'s keyword arguments.
    """

    def __init__(self, state: RdmQueryState | None = None, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.checkbox = w.Checkbox(description="Sample subset only (extract > 0)", indent=False)
        self.checkbox.add_class("wce-subset")
        self._link_state("subset", self.checkbox)
        self.children = [self.checkbox]
