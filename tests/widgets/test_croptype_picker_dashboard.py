"""Include / Drop in the dashboard's crop picker (widgets/crop_picker.py), bound to the query state."""

from __future__ import annotations

import pytest

from worldcereal_explorer.widgets.crop_picker import CHECKED, DROPPED, UNCHECKED, CropTypePicker

EUROPE = (-5.0, 40.0, 10.0, 55.0)


@pytest.fixture
def searched(state):
    assert state.load_legend(wait=True) is not None
    state.bbox = EUROPE
    state.refresh()
    assert state.class_counts is not None and not state.class_counts.empty
    return state


def test_drop_mode_filters_every_found_code_but_the_dropped(searched):
    state = searched
    picker = CropTypePicker(state)
    present = set(state.counts_by_code(unfiltered=True))
    top = next(c for c in picker.top_codes if picker.subtree_codes(c) & present
               and not present <= picker.subtree_codes(c))
    picker.tree.row(next(c for c in picker.top_codes if c != top)).check.click()  # an Include tick
    included = sorted(picker.selected)
    assert state.ewoc_codes == included

    picker.mode_toggle.value = "Drop"
    assert state.ewoc_codes == []  # nothing dropped yet: no filter
    picker.row(top).check.click()
    assert picker.row(top).check.description == DROPPED
    assert state.ewoc_codes == sorted(present - picker.subtree_codes(top))
    assert picker.dropped == set(picker.subtree_codes(top))
    assert "dropped" in picker.summary.value
    assert set(picker.dropped_croptypes.index) == picker.dropped
    state.refresh()  # the same search again: the filter stays
    assert state.ewoc_codes == sorted(present - picker.subtree_codes(top))
    assert not set(state.counts_by_code()) & picker.subtree_codes(top)

    picker.mode = "Include"  # each mode keeps its ticks; the filter follows the mode shown
    assert state.ewoc_codes == included and picker.row(top).check.description == UNCHECKED
    picker.mode = "Drop"
    assert state.ewoc_codes == sorted(present - picker.subtree_codes(top))
    state.ewoc_codes = included  # a filter set elsewhere is an Include selection
    assert picker.mode == "Include" and picker.selected == set(included)
    assert picker.row(next(c for c in picker.top_codes if c != top)).check.description == CHECKED


def test_dropping_everything_is_refused(searched):
    state = searched
    picker = CropTypePicker(state)
    picker.mode = "Drop"
    picker.set_dropped(set().union(*(picker.subtree_codes(c) for c in picker.top_codes)))
    assert picker.dropped == set() and state.ewoc_codes == []
    assert "every class" in picker.summary.value
    with pytest.raises(ValueError):
        picker.mode = "Keep"
