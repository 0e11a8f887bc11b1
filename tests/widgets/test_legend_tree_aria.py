"""The crop tree's WAI-ARIA pattern, kernel side (widgets/legend_tree.py): what each row tells the page (level,
branch, open, check state) and the accessible names of its buttons. The page side (roles, keys) is walked in
tests/browser/test_crop_picker_keyboard.py."""

from __future__ import annotations

import pytest

from worldcereal_explorer.legend import bundled_demo_legend
from worldcereal_explorer.widgets.crop_picker import DEMO_CROPS, CropTypePicker
from worldcereal_explorer.widgets.legend_tree import TreeKeys

EUROPE = (-5.0, 40.0, 10.0, 55.0)
TEMPORARY, CEREALS, MAIZE = 1100000000, 1101000000, 1101060000


@pytest.fixture
def bound(state):
    assert state.load_legend(wait=True) is not None
    state.bbox = EUROPE
    state.refresh()
    picker = CropTypePicker(state)
    yield picker
    picker.close()


def _classes(widget) -> set[str]:
    return set(widget._dom_classes)


def test_rows_carry_level_branch_and_open_state(bound):
    tree = bound.tree
    assert TreeKeys is not None and isinstance(tree.aria, TreeKeys) and tree.aria in tree.children
    assert tree.aria.label == "Crop types"
    row = bound.row(TEMPORARY)
    assert {"wce-crop-row", f"wce-code-{TEMPORARY}", "wce-has-children", "wce-level-1"} <= _classes(row)
    assert "wce-open" not in _classes(row)
    assert row.expand.tooltip == "Expand temporary crops"
    row.expand.click()
    assert "wce-open" in _classes(row) and row.expand.tooltip == "Collapse temporary crops"
    assert "wce-level-2" in _classes(bound.row(CEREALS))
    leaf = bound.row(1000000000)  # cropland, unspecified: no sub-classes
    assert "wce-has-children" not in _classes(leaf)
    bound.search.value = "maize"  # search hits are one flat list: all on level 1
    assert "wce-level-1" in _classes(bound.row(MAIZE)) and "wce-level-4" not in _classes(bound.row(MAIZE))
    bound.search.value = ""
    bound.expand_to(MAIZE)  # back in the tree: on its depth again (a row is painted when it shows)
    depth = len(bound.tree.ancestors(MAIZE)) + 1
    assert depth > 1 and f"wce-level-{depth}" in _classes(bound.row(MAIZE))
    assert "wce-level-1" not in _classes(bound.row(MAIZE))


def test_check_buttons_say_what_a_click_does(bound, state):
    found = state.counts_by_code(unfiltered=True)
    count = sum(found.get(c, 0) for c in bound.subtree_codes(MAIZE))
    bound.expand_to(MAIZE)
    check = bound.row(MAIZE).check
    assert check.tooltip == f"Include maize ({count:,} samples)"
    check.click()
    assert check.tooltip == f"Untick maize ({count:,} samples)"
    cereals = str(bound.nodes[CEREALS].label).replace("_", " ")
    assert bound.row(CEREALS).check.tooltip.startswith(f"Include all of {cereals} (")  # partly ticked
    assert "wce-partial" in _classes(bound.row(CEREALS).check) and "wce-checked" in _classes(check)
    bound.mode = "Drop"
    assert bound.row(MAIZE).check.tooltip == f"Drop maize ({count:,} samples)"


def test_on_its_own_a_covered_row_says_so():
    picker = CropTypePicker(ewoc_codes=DEMO_CROPS, display_ui=False, legend=bundled_demo_legend())
    try:
        picker.tree.expand_to(MAIZE)
        assert picker.tree.row(MAIZE).check.tooltip == "Include maize"  # no samples table: no count
        picker.toggle(CEREALS)
        assert picker.tree.row(MAIZE).check.tooltip.startswith("maize: covered")
        assert picker.tree.row(CEREALS).check.tooltip == "Untick cereals"
    finally:
        picker.close()
