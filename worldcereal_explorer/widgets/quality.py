"""Minimum quality sliders for land cover and crop type labels."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ._base import StateWidget


class QualityFilter(StateWidget):
    """Two sliders bound to ``state.min_quality_lc`` and ``state.min_quality_ct`` (0..100).

    Parameters
    ----------
    state
        The query state to bind to (a new one when ``None``).
    """

    def __init__(self, state: RdmQueryState | None = None, **kwargs: Any):
        super().__init__(state, **kwargs)
        style = {"description_width": "110px"}
        self.lc = w.IntSlider(min=0, max=100, step=1, description="Min quality LC", style=style,
                              continuous_update=False)
        self.ct = w.IntSlider(min=0, max=100, step=1, description="Min quality CT", style=style,
                              continuous_update=False)
        self.lc.add_class("wce-quality-lc")
        self.ct.add_class("wce-quality-ct")
        self._link_state("min_quality_lc", self.lc)
        self._link_state("min_quality_ct", self.ct)
        self.children = [w.HTML("<b>Label quality</b>"), self.lc, self.ct]
