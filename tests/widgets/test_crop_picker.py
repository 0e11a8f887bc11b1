"""The crop-type picker (widgets/crop_picker.py): the legend arrives in the background, tree, search, grouping."""

from __future__ import annotations

import threading

import pytest

from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.widgets.crop_picker import CHECKED, PARTIAL, UNCHECKED, CropTypePicker

EUROPE = (-5.0, 40.0, 10.0, 55.0)


@pytest.fixture
def picker_state(state):
    """The shared state with its legend loaded, so a new picker draws its tree at once."""
    assert state.load_legend(wait=True) is not None
    return state


class _GatedLegendClient(RdmClient):
    """A client whose legend download waits for ``gate``: the test decides when the legend arrives."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.asked = threading.Event()  # set when a thread asks for the legend
        self.legend_threads: list[str] = []

    @property
    def legend(self):
        self.legend_threads.append(threading.current_thread().name)
        self.asked.set()
        if not self.gate.wait(30):
            raise TimeoutError("the test never opened the gate")
        return super().legend


def test_legend_loads_in_the_background(rdm_url):
    client = _GatedLegendClient(rdm_url, retries=2, backoff_factor=0.01, legend=f"{rdm_url}/legend.csv")
    state = RdmQueryState(client=client, auto_search=False)
    try:
        picker = CropTypePicker(state)  # returns at once, although the legend is not there
        assert state.legend_status == "loading" and state.legend is None
        assert not picker.ready and picker.top_codes == []
        assert "loading legend" in picker.tree_box.children[0].value
        assert client.asked.wait(10)  # a worker asked for it (returns as soon as it does) ...
        assert client.legend_threads[0] != threading.current_thread().name  # ... not this thread
        seen = []
        state.observe(lambda change: seen.append(change["new"]), "legend_status")
        client.gate.set()
        assert state.load_legend(wait=True) is not None
        assert seen == ["ready"] and state.legend_status == "ready"
        assert picker.ready and picker.top_codes
        labels = [row.label.value for row in picker.tree_box.children]
        assert labels[0].startswith(state.legend.tree().children[0].label)
    finally:
        client.gate.set()
        assert state.close()


def test_legend_error_shows_in_the_picker(rdm_url):
    state = RdmQueryState(client=RdmClient(rdm_url, retries=0, legend=f"{rdm_url}/no-such-legend.csv"),
                          auto_search=False)
    try:
        picker = CropTypePicker(state)
        state.load_legend(wait=True)
        assert state.legend_status == "error" and state.legend_message
        assert not picker.ready
        assert "Crop types unavailable" in picker.tree_box.children[0].value
        picker.search.value = "maize"  # typing in the search box while there is no tree does not fail
        state.ewoc_codes = [1200000000]  # nor does a selection made elsewhere
        assert picker.croptypes.index.tolist() == [1200000000]
    finally:
        assert state.close()


def test_crop_picker_tree_selection_and_croptypes(picker_state):
    state = picker_state
    state.refresh()
    picker = CropTypePicker(state)
    top = picker.top_codes[1]  # temporary crops: a branch with a deep subtree
    subtree = picker.subtree_codes(top)
    assert len(subtree) > 3
    row = picker.row(top)
    row.check.click()
    assert set(state.ewoc_codes) == set(subtree)
    assert row.check.description == CHECKED
    assert "(" in row.label.value  # per-class count from the current collections
    row.expand.click()
    child = int(picker.nodes[top].children[0].code)
    assert child in [r.node.code for r in picker.tree_box.children]
    picker.row(child).check.click()  # deselect one child: the parent becomes partial
    assert row.check.description == PARTIAL
    assert not set(picker.subtree_codes(child)) & set(state.ewoc_codes)
    frame = picker.croptypes
    assert list(frame.columns) == ["new_label", "original_label"]
    assert frame.index.name == "ewoc_code" and set(frame.index) == set(state.ewoc_codes)
    # the branch's sub-classes take its name (the default fold, see test_subclasses.py)
    assert (frame["new_label"] == picker.nodes[top].label).all()
    state.ewoc_codes = []  # from elsewhere
    assert row.check.description == UNCHECKED and picker.selected == set()


def test_crop_picker_search_and_grouping(picker_state):
    state = picker_state
    picker = CropTypePicker(state)
    maize = next(code for code, node in picker.nodes.items() if node.label == "maize")
    picker.search.value = "maiz"
    assert maize in [r.node.code for r in picker.tree_box.children]
    picker.row(maize).check.click()
    wheat = [code for code, node in picker.nodes.items() if "wheat" in node.label][:2]
    picker.set_selection(picker.selected | set(wheat))
    picker.group_name.value = "cereals_mix"
    picker.group_button.click()
    frame = picker.croptypes
    assert set(frame.loc[[maize, *wheat], "new_label"]) == {"cereals_mix"}
    assert picker.selected == picker.subtree_codes(maize) | set(wheat)
    assert state.grouping == dict.fromkeys(sorted(picker.selected), "cereals_mix")
    picker.group_button.click()  # nothing left to group, no name: a message, no change
    assert "name" in picker.summary.value
    picker.ungroup_button.click()
    assert state.grouping == {}


def test_crop_tree_counts_ignore_the_selection(picker_state):
    state = picker_state
    state.bbox = EUROPE
    state.refresh()
    picker = CropTypePicker(state)
    unfiltered = state.counts_by_code()
    present = sorted(unfiltered, key=unfiltered.get, reverse=True)
    ticked = present[0]
    other = next(c for c in present if c not in picker.subtree_codes(ticked)
                 and ticked not in picker.subtree_codes(c))

    def subtree_total(code):
        return sum(unfiltered.get(c, 0) for c in picker.subtree_codes(code))

    assert subtree_total(other) > 0 and subtree_total(ticked) > 0
    picker.expand_to(ticked)
    picker.expand_to(other)
    picker.row(ticked).check.click()
    state.refresh()
    assert f"({subtree_total(other):,})" in picker.row(other).label.value  # was "(0)"
    assert f"({subtree_total(ticked):,})" in picker.row(ticked).label.value
    assert state.counts_by_code(unfiltered=True) == unfiltered
    assert set(state.counts_by_code()) <= picker.subtree_codes(ticked)
