"""What every state widget shares (widgets/_base.py): closing detaches it from the state, twice is harmless."""

from __future__ import annotations

import datetime as dt
import gc
import warnings

import ipywidgets as w
import pytest

from worldcereal_explorer.widgets.bbox_map import BBoxMap
from worldcereal_explorer.widgets.counts_chart import CountsChart
from worldcereal_explorer.widgets.crop_picker import CropTypePicker
from worldcereal_explorer.widgets.date_range import DateRangePicker
from worldcereal_explorer.widgets.download_panel import DownloadPanel
from worldcereal_explorer.widgets.privacy import PrivacyToggle
from worldcereal_explorer.widgets.quality import QualityFilter
from worldcereal_explorer.widgets.results_table import ResultsTable
from worldcereal_explorer.widgets.samples_layer import SamplesLayer
from worldcereal_explorer.widgets.samples_preview import SamplesPreview
from worldcereal_explorer.widgets.status import StatusBar
from worldcereal_explorer.widgets.subset import SubsetToggle


def _all_values(widget: w.Widget) -> list[dict]:
    """The state of ``widget`` and every widget below it (what the front end would be sent)."""
    states, stack = [], [widget]
    while stack:
        current = stack.pop()
        states.append({k: repr(v) for k, v in current.get_state().items() if k != "layout"})
        stack.extend(c for c in getattr(current, "children", ()) if isinstance(c, w.Widget))
    return states


@pytest.mark.parametrize("factory", [
    PrivacyToggle, QualityFilter, SubsetToggle, StatusBar, DateRangePicker, ResultsTable, CountsChart,
    SamplesPreview, SamplesLayer, DownloadPanel, BBoxMap, CropTypePicker,
], ids=lambda f: f.__name__)
def test_close_twice_and_garbage_collection(state, factory):
    state.load_legend(wait=True)  # the picker draws its tree now, not while the inputs change below
    widget = factory(state)
    widget.close()
    widget.close()
    before = _all_values(widget)
    # A closed widget no longer follows the state: none of these reach it (a link or observer left
    # behind would change its values, or raise on the closed widget).
    with state.hold_trait_notifications():
        state.min_quality_lc = 10
        state.min_quality_ct = 20
        state.subset = True
        state.include_private = True
        state.start_date, state.end_date = dt.date(2021, 1, 1), dt.date(2021, 12, 31)
        state.bbox = (3.0, 50.0, 6.0, 52.0)
        state.ewoc_codes = [1100000000]
        state.message = "changed after close"
    assert _all_values(widget) == before
    assert (state.min_quality_lc, state.include_private) == (10, True)  # the state itself still works
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pytest turns "Exception ignored in __del__" into a warning
        widget.__del__()
        del widget
        gc.collect()


def test_widget_tree_reaches_parts_shown_and_kept_aside_but_not_data():
    import ipywidgets as w
    from ipyleaflet import GeoJSON

    from worldcereal_explorer.widgets._base import widget_tree

    button = w.Button()
    aside = w.HTML("a view not shown now")
    layer = GeoJSON(data={"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None,
                                                                      "properties": {}}] * 10_000})
    box = w.VBox([w.HBox([button])])
    box.aside = aside
    box.layers = [layer]
    tree = widget_tree(box)
    assert tree[0] is box
    for part in (button, button.layout, button.style, aside, aside.layout, layer, box.layout):
        assert any(part is found for found in tree)
    assert not any(aside is found for found in widget_tree(box, attributes=False))  # synced traits only
    for widget in tree:
        widget.close()

