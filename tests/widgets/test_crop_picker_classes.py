"""The crop picker's class edits (as the reference's rewritten picker, PR #768): move, combine, split, rename,
start empty or from a named scheme, crop / non-crop, this class / everything else, and undo; on its own (the
reference drop-in) and bound to a query state (the dashboard)."""

from __future__ import annotations

import pandas as pd
import pytest

from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.legend import bundled_demo_legend
from worldcereal_explorer.state.croptype_selection import (
    classes_of,
    combine_classes,
    is_crop_code,
    move_code,
    one_vs_rest_mapping,
    rename_class,
    split_class,
)
from worldcereal_explorer.training import class_scheme, scheme_grouping
from worldcereal_explorer.widgets.crop_picker import DEMO_CROPS, CropTypePicker, apply_croptypepicker_to_df

CEREALS, WHEAT, MAIZE, RICE = 1101000000, 1101010000, 1101060000, 1101080000
OILSEEDS, SUNFLOWER, PERMANENT, GRASS, WATER = 1106000000, 1106000010, 1200000000, 2000000000, 7000000000
EUROPE = (-5.0, 40.0, 10.0, 55.0)


@pytest.fixture(scope="module")
def legend():
    return bundled_demo_legend()


@pytest.fixture
def picker(legend):
    picker = CropTypePicker(ewoc_codes=DEMO_CROPS, display_ui=False, legend=legend)
    yield picker
    picker.close()


@pytest.fixture
def bound(state):
    assert state.load_legend(wait=True) is not None
    state.bbox = EUROPE
    state.refresh()
    assert state.class_counts is not None and not state.class_counts.empty
    picker = CropTypePicker(state)
    yield picker
    picker.close()


# --- the pure class edits -----------------------------------------------------------------------------
def test_class_edit_functions_and_their_errors():
    mapping = {1: "a", 2: "a", 3: "b"}
    assert classes_of(mapping) == {"a": [1, 2], "b": [3]}
    assert move_code(mapping, 2, "b", codes=[1, 2, 3, 4]) == {1: "a", 2: "b", 3: "b"}
    assert move_code(mapping, 4, "c", codes=[1, 2, 3, 4], create=True)[4] == "c"
    with pytest.raises(BadParameterError, match=r"code 9 is not in the crop picker's tree"):
        move_code(mapping, 9, "a", codes=[1, 2, 3])
    with pytest.raises(BadParameterError, match=r"unknown class 'c'; the classes are: 'a', 'b'"):
        move_code(mapping, 1, "c", codes=[1, 2, 3])
    assert combine_classes(mapping, ["a", "b"], "ab") == dict.fromkeys([1, 2, 3], "ab")
    with pytest.raises(BadParameterError, match="at least two"):
        combine_classes(mapping, ["a"])
    with pytest.raises(BadParameterError, match="'b' already exists"):
        combine_classes({**mapping, 4: "c"}, ["a", "c"], "b")
    assert split_class(mapping, "a", lambda c: f"code{c}") == {1: "code1", 2: "code2", 3: "b"}
    assert split_class(mapping, "a", lambda c: "b") == {1: "b (1)", 2: "b (2)", 3: "b"}  # never merged silently
    assert rename_class(mapping, "a", "x") == {1: "x", 2: "x", 3: "b"}
    with pytest.raises(BadParameterError, match="'b' already exists"):
        rename_class(mapping, "a", "b")
    with pytest.raises(BadParameterError, match="empty"):
        rename_class(mapping, "a", "  ")
    assert one_vs_rest_mapping(mapping, "b", [1, 2, 3, 4]) == {1: "other", 2: "other", 3: "b", 4: "other"}
    with pytest.raises(BadParameterError, match="unknown class 'z'"):
        one_vs_rest_mapping(mapping, "z", [1])


def test_crop_codes_follow_the_legends_land_cover_level(legend):
    assert is_crop_code(MAIZE, legend) and is_crop_code(PERMANENT, legend) and is_crop_code(1203000010, legend)
    assert not is_crop_code(GRASS, legend) and not is_crop_code(WATER, legend)
    assert not is_crop_code(1000000000, legend)  # cropland, unspecified: neither temporary nor permanent crops
    assert is_crop_code(1101999999) and not is_crop_code(3000000099)  # codes the legend lacks: by their digits


# --- on its own (the reference drop-in) --------------------------------------------------------------------
def test_move_combine_split_rename_and_undo(picker):
    assert picker.classes == {}  # starts empty
    assert not picker.can_undo and picker.undo_button.disabled
    picker.tick([CEREALS, OILSEEDS])
    first = picker.classes
    assert set(first) == {"cereals", "oilseed_crops"} and MAIZE in first["cereals"]

    picker.move(MAIZE, "oilseed_crops")
    assert MAIZE in picker.classes["oilseed_crops"] and MAIZE not in picker.classes["cereals"]
    frame = picker.apply_selection()
    assert frame.loc[MAIZE, "new_label"] == "oilseed_crops" and frame.loc[WHEAT, "new_label"] == "cereals"
    assert frame.loc[MAIZE, "original_label"] == "maize"

    picker.combine(["cereals", "oilseed_crops"], into="field crops")
    assert list(picker.classes) == ["field crops"]
    picker.rename("field crops", "arable")
    assert list(picker.classes) == ["arable"]
    picker.split("arable")
    split = picker.classes
    assert split["maize"] == [MAIZE] and split["sunflower"] == [SUNFLOWER] and len(split) > 5
    samples = pd.DataFrame({"ewoc_code": [MAIZE, SUNFLOWER, WATER]})
    picker.apply_selection()
    assert apply_croptypepicker_to_df(samples, picker)["downstream_class"].tolist() == ["maize", "sunflower", "other"]

    picker.undo()  # the split
    assert picker.classes == {"arable": sorted(set(first["cereals"]) | set(first["oilseed_crops"]))}
    picker.undo()  # the rename
    picker.undo()  # the combination
    assert MAIZE in picker.classes["oilseed_crops"]
    picker.undo()  # the move
    assert picker.classes == first
    picker.undo()
    picker.undo()  # the two ticks
    assert picker.classes == {} and not picker.can_undo and picker.undo_button.disabled
    with pytest.raises(BadParameterError, match="nothing to undo"):
        picker.undo()


def test_class_edit_errors_name_the_bad_value(picker):
    picker.tick([CEREALS])
    with pytest.raises(BadParameterError, match="unknown class 'wheat'; the classes are: 'cereals'"):
        picker.rename("wheat", "x")
    with pytest.raises(BadParameterError, match="code 1234 is not in the crop picker's tree"):
        picker.move(1234, "cereals")
    with pytest.raises(BadParameterError, match="unknown class 'nope'"):
        picker.move(SUNFLOWER, "nope")
    picker.move(SUNFLOWER, "oils", create=True)
    with pytest.raises(BadParameterError, match="cannot rename 'oils' to 'cereals'"):
        picker.rename("oils", "cereals")
    with pytest.raises(BadParameterError, match="class scheme 'CROPTYPE99' is not known; allowed: .*CROPTYPE24"):
        picker.from_scheme("CROPTYPE99")
    before = picker.classes
    assert picker.classes == before  # a refused edit changes nothing and leaves nothing to undo
    picker.undo()
    assert "oils" not in picker.classes


def test_start_from_a_scheme_or_empty(picker):
    scheme = class_scheme("CROPTYPE24")
    picker.from_scheme("croptype24")  # case does not matter
    expected = scheme_grouping("CROPTYPE24", DEMO_CROPS)
    mapping = picker.class_mapping()
    assert {c: mapping[c] for c in expected} == expected
    ignored = [c for c in DEMO_CROPS if scheme.mapping.get(c) == "ignore"]
    frame = picker.apply_selection()
    assert ignored and not set(ignored) & set(frame.index)  # ignored codes are never a class
    leaves = {c for c in ignored if not picker.tree.node(c).children}
    assert leaves and leaves <= set(picker.dropped_croptypes.index) <= set(ignored)  # and dropped when alone
    assert frame.loc[MAIZE, "new_label"] == expected[MAIZE]
    picker.start_empty()
    assert picker.classes == {} and picker.selection.drop == []
    picker.undo()
    assert picker.class_mapping() == mapping


def test_binary_shortcuts(picker, legend):
    picker.crop_noncrop()
    classes = picker.classes
    assert set(classes) == {"crop", "non-crop"}
    assert all(is_crop_code(c, legend) for c in classes["crop"])
    assert {GRASS, WATER} <= set(classes["non-crop"]) and {MAIZE, PERMANENT} <= set(classes["crop"])
    assert set(classes["crop"]) | set(classes["non-crop"]) == set(DEMO_CROPS)
    picker.split("crop")
    picker.one_vs_rest("maize", other="rest")
    assert picker.classes == {"maize": [MAIZE], "rest": sorted(set(DEMO_CROPS) - {MAIZE})}
    with pytest.raises(BadParameterError, match="two names"):
        picker.crop_noncrop("x", "x")


def test_class_editor_buttons(picker):
    picker.tick([CEREALS, OILSEEDS])
    assert [value for _label, value in picker.class_list.options] == ["cereals", "oilseed_crops"]
    picker.class_list.value = ("cereals",)
    picker.class_name.value = "oilseed_crops"
    picker.rename_button.click()  # refused: named in the message, nothing changed
    assert "already exists" in picker.class_message.value and set(picker.classes) == {"cereals", "oilseed_crops"}
    picker.class_name.value = "grains"
    picker.rename_button.click()
    assert set(picker.classes) == {"grains", "oilseed_crops"} and picker.class_message.value == ""
    picker.class_list.value = ("grains", "oilseed_crops")
    picker.class_name.value = "food"
    picker.combine_button.click()
    assert list(picker.classes) == ["food"]
    picker.move_code.value = MAIZE
    picker.class_name.value = "maize only"
    picker.move_button.click()  # a name not yet a class: a new class
    assert picker.classes["maize only"] == [MAIZE]
    picker.undo_button.click()
    assert list(picker.classes) == ["food"]
    picker.start_from.value = "crop / non-crop"
    picker.start_button.click()
    assert set(picker.classes) == {"crop", "non-crop"}
    picker.start_from.value = "CROPTYPE24"
    picker.start_button.click()
    assert picker.classes and "crop" not in picker.classes
    picker.start_from.value = "empty"
    picker.start_button.click()
    assert picker.classes == {}
    picker.class_list.value = ()
    picker.split_button.click()
    assert "select" in picker.class_message.value


# --- bound to a query state (the dashboard) ------------------------------------------------------------------
def test_bound_class_edits_set_the_state_and_undo(bound, state):
    found = sorted(state.counts_by_code(unfiltered=True))
    bound.crop_noncrop()
    assert state.ewoc_codes == found
    assert set(state.grouping.values()) == {"crop", "non-crop"} and len(state.grouping) == len(found)
    assert set(bound.croptypes["new_label"]) == {"crop", "non-crop"}
    crop = next(c for c in found if is_crop_code(c, state.legend))
    bound.move(crop, "non-crop")
    assert state.grouping[crop] == "non-crop"
    bound.rename("non-crop", "rest")
    assert set(state.grouping.values()) == {"crop", "rest"}
    bound.undo()
    bound.undo()
    assert state.grouping[crop] == "crop" and set(state.grouping.values()) == {"crop", "non-crop"}
    bound.split("crop")
    assert crop not in state.grouping  # its own label again: no grouping entry
    assert bound.croptypes.loc[crop, "new_label"] == state.legend.label(crop)
    bound.start_empty()
    assert state.ewoc_codes == [] and state.grouping == {}
    bound.undo()
    assert state.ewoc_codes == found


def test_bound_scheme_matches_the_training_service(bound, state):
    found = state.counts_by_code(unfiltered=True)
    bound.from_scheme("LANDCOVER10")
    expected = scheme_grouping("LANDCOVER10", found)
    assert state.ewoc_codes == sorted(expected)
    assert bound.class_mapping() == expected
    assert bound.croptypes["new_label"].to_dict() == expected


def test_bound_classes_follow_the_state_set_elsewhere(bound, state):
    codes = sorted(state.counts_by_code(unfiltered=True))[:3]
    state.ewoc_codes = codes
    state.grouping = dict.fromkeys(codes[:2], "mix")
    assert bound.classes["mix"] == codes[:2]
    assert [value for _label, value in bound.class_list.options][0] == "mix"
    bound.one_vs_rest("mix")
    assert set(state.grouping.values()) == {"mix", "other"}
    assert state.ewoc_codes == sorted(state.counts_by_code(unfiltered=True))
