"""Minimum quality sliders for land cover and crop type labels."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ._base import StateWidget

#: The sliders' range: the far left, 0, is "no minimum" (every sample, whatever its label quality).
QUALITY_MIN, QUALITY_MAX = 0, 100


class QualityFilter(StateWidget):
    """Two sliders bound to ``state.min_quality_lc`` and ``state.min_quality_ct`` (0..100; 0 = no minimum).

    Takes the arguments of :class:`~worldcereal_explorer.widgets._base.StateWidget`: the query state to bind
    to (a new one when ``None``) and the ``VBox``'s keyword arguments.
    """

    def __init__(self, state: RdmQueryState | None = None, **kwargs: Any):
        super().__init__(state, **kwargs)
        style = {"description_width": "110px"}
        self.lc = w.IntSlider(min=QUALITY_MIN, max=QUALITY_MAX, step=1, description="Min quality LC",
                              style=style, continuous_update=False, readout=True)
        self.ct = w.IntSlider(min=QUALITY_MIN, max=QUALITY_MAX, step=1, description="Min quality CT",
                              style=style, continuous_update=False, readout=True)
        self.lc.add_class("wce-quality-lc")
        self.ct.add_class("wce-quality-ct")
        self._link_state("min_quality_lc", self.lc)
        self._link_state("min_quality_ct", self.ct)
        self.hint = w.HTML(f"<span style='color:#666;font-size:12px'>far left = {QUALITY_MIN}: no minimum "
                           f"(every sample)</span>")
        self.hint.add_class("wce-quality-hint")
        self.children = [w.HTML("<b>Label quality</b>"), self.lc, self.ct, self.hint]

    def reset(self) -> None:
        """Back to no minimum (0) for both labels."""
        with self.state.hold_trait_notifications():
            self.state.min_quality_lc = QUALITY_MIN
            self.state.min_quality_ct = QUALITY_MIN
