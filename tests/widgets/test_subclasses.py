"""Issue 27.6: ticking a class with sub-classes says so ("maize + 1 sub-class") and lets the user fold them into
the class's name (the default) or keep them apart; the choice reaches the fetched, saved and copied samples.

The dashboard's picker is bound to a state on the local RDM server over HTTP; the Belgian demo collection holds
190 maize and 207 green silo maize samples.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.widgets.conftest import make_client
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.state.links import parse_query_string
from worldcereal_explorer.widgets.crop_picker import CropTypePicker

MAIZE, SILO_MAIZE, SUNFLOWER, CEREALS = 1101060000, 1101060002, 1106000010, 1101000000
BELGIUM = (2.5, 50.0, 6.5, 51.5)


@pytest.fixture
def picker(state):
    assert state.load_legend(wait=True) is not None
    state.bbox = BELGIUM
    state.refresh()
    assert state.counts_by_code(unfiltered=True).get(SILO_MAIZE, 0) > 0
    picker = CropTypePicker(state)
    yield picker
    picker.close()


def _new_labels(samples: pd.DataFrame) -> dict[int, set[str]]:
    """``{ewoc_code: the new_label values of its rows}``."""
    return {int(code): set(group["new_label"]) for code, group in samples.groupby("ewoc_code")}


def test_ticking_maize_shows_its_sub_class_and_folds_it_into_maize(picker, state, rdm_url, tmp_path):
    assert picker.fold.value  # the default: sub-classes take the ticked class's name
    picker.row(MAIZE).check.click()
    assert set(state.ewoc_codes) == {MAIZE, SILO_MAIZE}
    assert picker.chip_buttons[MAIZE].description == "maize + 1 sub-class \u00d7"
    assert "sub-classes named maize" in picker.chip_buttons[MAIZE].tooltip
    assert picker.summary.value.startswith("1 class selected (2 crop codes)")
    assert state.grouping == {MAIZE: "maize", SILO_MAIZE: "maize"}  # one group named after the class
    picker.expand_to(SILO_MAIZE)
    assert "&rarr; maize" in picker.row(SILO_MAIZE).label.value
    assert "&rarr;" not in picker.row(MAIZE).label.value  # no arrow to its own name

    fetched = state.fetch_samples()
    labels = _new_labels(fetched)
    assert labels == {MAIZE: {"maize"}, SILO_MAIZE: {"maize"}}
    assert (fetched["ewoc_code"] == SILO_MAIZE).sum() == 207
    # "Save samples" writes the same labels
    saved = pd.read_csv(state.export_samples(tmp_path, format="CSV"))
    assert _new_labels(saved) == labels
    # copied code labels the samples with the same grouping, so it gives the same new_label
    assert f"{SILO_MAIZE}: 'maize'" in state.to_code()
    with make_client(rdm_url) as client:
        relabelled = client.label_samples(fetched.drop(columns=["label", "new_label"]), grouping=state.grouping)
        assert _new_labels(relabelled) == labels
    # a saved session and a share link carry the fold as the grouping they carry anyway
        session = RdmQueryState.from_dict(state.to_dict(), client=client, auto_search=False)
        assert session.grouping == state.grouping
        session.close()
    values, problems = parse_query_string(state.to_query_string())
    assert not problems and {int(k): v for k, v in values["grouping"].items()} == state.grouping


def test_keeping_sub_classes_apart_gives_them_their_own_name(picker, state, tmp_path):
    picker.row(MAIZE).check.click()
    picker.fold.value = False  # keep apart: the fold's entries go, the ticks stay
    assert set(state.ewoc_codes) == {MAIZE, SILO_MAIZE} and state.grouping == {}
    assert picker.summary.value.startswith("2 classes selected")
    assert picker.chip_buttons[MAIZE].description == "maize + 1 sub-class \u00d7"
    assert "kept apart" in picker.chip_buttons[MAIZE].tooltip
    state.fetch_samples()
    saved = pd.read_csv(state.export_samples(tmp_path, format="CSV"))
    assert _new_labels(saved) == {MAIZE: {"maize"}, SILO_MAIZE: {"green_silo_maize"}}

    picker.undo()  # the fold choice is undoable like any class edit
    assert state.grouping == {MAIZE: "maize", SILO_MAIZE: "maize"}
    picker.fold.value = True
    picker.fold.value = False
    picker.clear()
    picker.row(MAIZE).check.click()  # ticked while kept apart: nothing folded
    assert state.grouping == {} and picker.summary.value.startswith("2 classes selected")
    picker.fold.value = True  # folding again folds what is ticked
    assert state.grouping == {MAIZE: "maize", SILO_MAIZE: "maize"}


def test_fold_gives_way_to_groups_and_to_a_wider_tick(picker, state):
    picker.row(MAIZE).check.click()
    picker.tick([SUNFLOWER])
    assert picker.summary.value.startswith("2 classes selected (3 crop codes)")
    # the Group button groups every ticked class, folded sub-classes included (they are not a user's group)
    picker.group_name.value = "summer"
    picker.group_button.click()
    assert state.grouping == dict.fromkeys([MAIZE, SILO_MAIZE, SUNFLOWER], "summer")
    assert picker.summary.value == "1 class selected (3 crop codes); groups: summer"
    picker.fold.value = False  # a user's group is not a fold: it stays
    assert state.grouping == dict.fromkeys([MAIZE, SILO_MAIZE, SUNFLOWER], "summer")

    picker.ungroup()
    picker.fold.value = True
    assert state.grouping == {MAIZE: "maize", SILO_MAIZE: "maize"}
    picker.row(CEREALS).check.click()  # the whole cereals branch: maize's own fold gives way to it
    cereals = picker.tree.node(CEREALS).label
    assert set(state.grouping.values()) == {cereals} and state.grouping[SILO_MAIZE] == cereals
    assert SUNFLOWER in state.ewoc_codes and SUNFLOWER not in state.grouping
    n = len(picker.subtree_codes(CEREALS)) - 1
    assert picker.chip_buttons[CEREALS].description == f"{cereals} + {n} sub-classes \u00d7"
    picker.row(CEREALS).check.click()  # unticked: its fold goes with its codes
    assert state.grouping == {} and state.ewoc_codes == [SUNFLOWER]


def test_drop_mode_shows_sub_classes_and_leaves_the_fold_alone(picker, state):
    picker.mode = "Drop"
    assert picker.fold.disabled  # names matter for included classes only
    picker.row(MAIZE).check.click()
    assert picker.chip_buttons[MAIZE].description == "maize + 1 sub-class \u00d7"
    assert state.grouping == {} and {MAIZE, SILO_MAIZE}.isdisjoint(state.ewoc_codes)
    picker.mode = "Include"
    assert not picker.fold.disabled
