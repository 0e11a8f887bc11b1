"""Issue 10.4 and 10.5: two numbers get two names; ticked crops show as removable chips.

Widgets are driven from Python against the local RDM server (clicks with ``.click()``, typing by setting
``.value``), as in tests/widgets.
"""

from __future__ import annotations

import pytest

from tests.widgets.conftest import make_client
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.state.counts import whole_collection_totals
from worldcereal_explorer.widgets.crop_picker import CHECKED, UNCHECKED, CropTypePicker
from worldcereal_explorer.widgets.results_table import ResultsTable

SMALL = (3.0, 50.0, 6.0, 52.0)


@pytest.fixture
def state(rdm_url):
    state = RdmQueryState(client=make_client(rdm_url), auto_search=False, debounce_s=0.05)
    yield state
    state.close()


@pytest.fixture
def picker(state):
    assert state.load_legend(wait=True) is not None
    state.bbox = SMALL
    state.refresh()
    return CropTypePicker(state)


def test_crop_filter_shows_matching_and_total_samples_in_two_columns(state):
    # issue 27.2: "Matching samples" (every filter, from the preview) and "Whole collection" (every crop)
    table = ResultsTable(state, page_size=50)
    state.bbox = SMALL
    state.refresh()
    assert table.headers[4:6] == ["Matching samples", "Whole collection"]
    whole = whole_collection_totals(state.class_counts, state.collections)
    code = int(state.class_counts.sum(axis=1).idxmax()[0])
    state.ewoc_codes = [code]
    state.min_quality_ct = 80
    state.refresh()
    state.preview(wait=True)
    assert table.sort_buttons["samples"].description.startswith("Matching samples")
    assert table.sort_buttons["total"].description.startswith("Whole collection")
    assert "matching your filters" in table.sort_buttons["samples"].tooltip
    assert "quality" in table.sort_buttons["samples"].tooltip
    fetched = state.fetch_samples()["ref_id"].value_counts()
    for coll, m_cell, t_cell in zip(table.rows, table.cells("samples"), table.cells("total"), strict=True):
        assert m_cell.value.endswith(f">{int(fetched.get(coll.id, 0)):,}</span>")
        assert t_cell.value.endswith(f">{whole[coll.id]:,}</span>")
    assert any(fetched.get(c.id, 0) < whole[c.id] for c in table.rows)  # two different numbers
    # the grid has a column for each header shown
    assert len(table.grid.children) == (1 + len(table.headers)) * (1 + len(table.rows))


def test_crop_list_counts_say_they_include_sub_classes(picker):
    assert "incl. sub-classes" in picker.counts_note.value
    parent = next(c for c in picker.top_codes if picker.nodes[c].children)
    assert "incl. sub-classes" in picker.row(parent).label.value


def test_ticks_show_as_chips_and_clicking_x_unticks(picker, state):
    assert picker.chip_buttons == {} and list(picker.chips.children) == [picker.no_chips]  # the space is kept
    leaf = _deep_leaf(picker)
    parent = next(c for c in picker.top_codes if picker.nodes[c].children and leaf not in picker.subtree_codes(c))
    # tick a leaf found through the search box: the box filters the tree, the chip stays after it is emptied
    picker.search.value = str(picker.nodes[leaf].label)
    assert leaf in picker.tree.visible_codes()
    picker.row(leaf).check.click()
    assert int(leaf) in state.ewoc_codes
    picker.search.value = ""
    assert leaf not in picker.tree.visible_codes()  # its branch is closed: only the chip shows the tick
    assert list(picker.chip_buttons) == [leaf]
    assert str(picker.nodes[leaf].label) in picker.chip_buttons[leaf].description
    assert picker.chip_buttons[leaf].description.endswith("\u00d7")
    # a whole branch is one chip
    picker.row(parent).check.click()
    assert parent in picker.chip_buttons and picker.row(parent).check.description == CHECKED
    picker.chip_buttons[parent].click()
    assert picker.row(parent).check.description == UNCHECKED
    assert parent not in picker.chip_buttons
    picker.chip_buttons[leaf].click()
    assert state.ewoc_codes == [] and picker.chip_buttons == {}
    # codes set from elsewhere show as chips too
    state.ewoc_codes = [leaf]
    assert list(picker.chip_buttons) == [leaf]


def test_two_chips_clicked_quickly_untick_those_two(picker, state):
    # A click carries nothing of what its chip showed, and the browser draws the chips the first click left
    # some time after the kernel made them: the second click, sent on the chip the user saw, must untick
    # that chip's code, not the one the kernel has moved into that button meanwhile.
    leaves = sorted(int(c) for top in picker.top_codes for c in picker.subtree_codes(top) if not picker.nodes[c].children)
    codes = leaves[:3]
    state.ewoc_codes = codes
    seen = dict(picker.chip_buttons)  # what the browser shows
    assert list(seen) == codes
    seen[codes[0]].click()
    seen[codes[1]].click()  # before the browser has drawn what the first click left
    assert list(picker.chip_buttons) == [codes[2]]
    assert state.ewoc_codes == [codes[2]]


def _deep_leaf(picker) -> int:
    for top in picker.top_codes:
        for code in picker.subtree_codes(top):
            node = picker.nodes[code]
            if code != top and not node.children and len(str(node.label)) >= 6:
                return code
    raise AssertionError("the legend has no nested leaf")
