"""The crop picker on its own, as the reference client's drop-in (widgets/crop_picker.py): restricted tree,
Include / Drop, Apply, ``apply_croptypepicker_to_df``, the legend loaded in the background."""

from __future__ import annotations

import threading

import geopandas as gpd
import pandas as pd
import pytest

from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.legend import bundled_demo_legend
from worldcereal_explorer.state import legend_loading
from worldcereal_explorer.widgets.crop_picker import (
    CHECKED,
    DEMO_CROPS,
    DROPPED,
    PARTIAL,
    UNCHECKED,
    CropTypePicker,
    apply_croptypepicker_to_df,
)

CEREALS, WHEAT, WINTER_WHEAT, MAIZE, RICE = 1101000000, 1101010000, 1101010001, 1101060000, 1101080000
OILSEEDS, SUNFLOWER, POTATOES, PERMANENT = 1106000000, 1106000010, 1107000010, 1200000000


@pytest.fixture(scope="module")
def legend():
    return bundled_demo_legend()


@pytest.fixture
def make_picker(legend):
    made = []

    def factory(**kwargs):
        kwargs.setdefault("display_ui", False)
        kwargs.setdefault("legend", legend)
        picker = CropTypePicker(**kwargs)
        made.append(picker)
        return picker

    yield factory
    for picker in made:
        picker.close()


@pytest.fixture(scope="module")
def demo_samples(demo_catalog) -> gpd.GeoDataFrame:
    """Every sample of the demo catalogue's collections (read from the catalogue's files)."""
    frames = [gpd.read_parquet(path) for path in sorted(demo_catalog.glob("*/*.geoparquet"))]
    samples = pd.concat(frames, ignore_index=True)
    assert {"ewoc_code", "sample_id"} <= set(samples.columns) and len(samples) > 100
    return samples


def _ticked_ancestor(picker, code, ticks):
    """Brute force: the tick among ``code`` and its legend ancestors (code digits), or None."""
    legend = picker.legend
    node = legend.tree().find(code)
    while node is not None and node.code != 0:
        if node.code in ticks:
            return node.code
        node = node.parent
    return None


def test_demo_crops_are_demo_legend_classes(legend):
    assert len(DEMO_CROPS) == len(set(DEMO_CROPS)) > 20
    assert all(isinstance(c, int) and c in legend for c in DEMO_CROPS)


def test_demo_crops_tree_include_and_apply(make_picker):
    picker = make_picker(ewoc_codes=DEMO_CROPS)
    assert picker.ready and picker.croptypes.empty and not picker.applied
    offered = set().union(*picker.picker_tree.codes.values())
    assert offered == set(DEMO_CROPS)  # only the codes asked for (and every one of them)
    assert picker.tree.top_codes[:2] == [1100000000, PERMANENT]
    assert picker.name_of(CEREALS) == "cereals"  # a branch is named by its heading, a leaf by its label
    assert picker.name_of(MAIZE) == "maize"

    picker.tree.expand_to(MAIZE)
    picker.tree.row(CEREALS).check.click()  # as a user: tick a parent ...
    assert picker.selection.include == [CEREALS]
    assert picker.tree.row(MAIZE).check.description == CHECKED and picker.tree.row(MAIZE).check.disabled
    assert picker.tree.row(1100000000).check.description == PARTIAL
    picker.tree.row(MAIZE).check.click()  # ... whose children are covered: no change
    assert picker.selection.include == [CEREALS]
    picker.toggle(SUNFLOWER)
    picker.toggle(POTATOES)
    assert picker.croptypes.empty  # nothing before Apply

    picker.apply_button.click()
    frame = picker.croptypes
    assert list(frame.columns) == ["new_label", "original_label"] and frame.index.name == "ewoc_code"
    ticks = {CEREALS: "cereals", SUNFLOWER: "sunflower", POTATOES: "potatoes"}
    expected = {c: ticks[_ticked_ancestor(picker, c, ticks)] for c in DEMO_CROPS
                if _ticked_ancestor(picker, c, ticks) is not None}
    assert frame["new_label"].to_dict() == expected
    assert frame.loc[MAIZE, "original_label"] == "maize"
    assert picker.included_croptypes is picker.croptypes and picker.dropped_croptypes.empty
    assert "cereals" in picker.summary.value


def test_drop_mode_grouping_and_clear(make_picker):
    picker = make_picker(ewoc_codes=DEMO_CROPS)
    picker.tick([CEREALS, OILSEEDS])  # Include (the first mode)
    picker.selection_mode.value = "Drop"  # the toggle buttons drive the selection's mode
    assert picker.mode == "Drop" and "drop" in picker.title.value
    cereals = picker.tree.row(CEREALS)
    assert cereals.check.disabled and cereals.check.description == UNCHECKED  # included: locked in Drop mode
    assert "(included)" in cereals.label.value
    picker.tree.expand_to(RICE)
    picker.tree.row(RICE).check.click()
    assert picker.selection.drop == [RICE] and picker.tree.row(RICE).check.description == DROPPED
    picker.mode = "Include"
    assert "(dropped)" in picker.tree.row(RICE).label.value and picker.tree.row(RICE).check.disabled
    picker.group([CEREALS, OILSEEDS], "field_crops")
    frame = picker.apply_selection()
    assert RICE not in frame.index  # included and dropped: dropped
    assert set(frame["new_label"]) == {"field_crops"}
    assert picker.dropped_croptypes["new_label"].to_dict() == {RICE: "rice"}
    with pytest.raises(BadParameterError, match="only included"):
        picker.group([PERMANENT], "x")
    picker.clear_button.click()
    assert picker.croptypes.empty and picker.selection.include == picker.selection.drop == []
    with pytest.raises(BadParameterError, match="No crop types selected"):
        picker.apply_selection()
    picker.apply_button.click()  # the button shows the error instead of raising
    assert "No crop types selected" in picker.summary.value


def test_selection_modes_argument(make_picker):
    drop_only = make_picker(ewoc_codes=DEMO_CROPS, selection_modes=["Drop"])
    assert drop_only.mode == "Drop" and drop_only.selection_mode.layout.display == "none"
    drop_only.toggle(PERMANENT)
    drop_only.apply_selection()  # no Include mode: nothing to include is fine
    assert drop_only.croptypes.empty and PERMANENT in drop_only.dropped_croptypes.index
    with pytest.raises(BadParameterError):
        make_picker(selection_modes=["Keep"])
    with pytest.raises(BadParameterError):
        make_picker(selection_modes=[])


def test_sample_df_counts_and_threshold(make_picker, demo_samples):
    counts = demo_samples["ewoc_code"].value_counts()
    picker = make_picker(sample_df=demo_samples, expand=True)
    assert set().union(*picker.picker_tree.codes.values()) == set(counts.index)
    for code, classes in picker.picker_tree.codes.items():
        assert picker.picker_tree.counts[code] == sum(counts.get(c, 0) for c in classes)
    leaf = next(int(c) for c in counts.index if not picker.tree.node(c).children)
    assert f"({int(counts[leaf]):,} samples)" in picker.tree.row(leaf).label.value
    threshold = int(counts.sort_values().iloc[len(counts) // 2])
    trimmed = make_picker(sample_df=demo_samples, count_threshold=threshold)
    shown = set(trimmed.picker_tree.codes)
    assert all(trimmed.picker_tree.counts[c] >= threshold for c in shown)
    rare = [int(c) for c, n in counts.items() if n < threshold]
    assert rare and not set(rare) & {c for c in shown if trimmed.picker_tree.codes[c] == {c}}
    both = make_picker(sample_df=demo_samples, ewoc_codes=[MAIZE, WINTER_WHEAT, RICE, 7000000000])
    assert set().union(*both.picker_tree.codes.values()) == {MAIZE, WINTER_WHEAT, RICE, 7000000000} & set(counts.index)


def test_apply_croptypepicker_to_df_matches_brute_force(make_picker, demo_samples):
    picker = make_picker(sample_df=demo_samples)
    with pytest.raises(BadParameterError, match="Apply"):
        apply_croptypepicker_to_df(demo_samples, picker)
    present = set(demo_samples["ewoc_code"])
    include = [c for c in (CEREALS, OILSEEDS) if c in picker.picker_tree.codes]
    assert include
    picker.tick(include)
    drop = next(c for c in picker.picker_tree.codes if not picker.tree.node(c).children
                and c in present and picker.covered(c, "Include") is None)
    picker.tick([drop], mode="Drop")
    picker.apply_selection()
    before = demo_samples.copy()
    out = apply_croptypepicker_to_df(demo_samples, picker, other_label="rest")
    pd.testing.assert_frame_equal(demo_samples, before)  # the input is left alone

    expected = {}
    for sample_id, code in zip(demo_samples["sample_id"], demo_samples["ewoc_code"], strict=True):
        if code in picker.picker_tree.codes[drop]:
            continue
        tick = next((t for t in include if code in picker.picker_tree.codes[t]), None)
        expected[sample_id] = picker.name_of(tick) if tick is not None else "rest"
    assert dict(zip(out["sample_id"], out["downstream_class"], strict=True)) == expected


def test_apply_croptypepicker_to_df_refuses_a_single_class(make_picker, legend):
    df = pd.DataFrame({"sample_id": ["a", "b", "c"], "ewoc_code": [MAIZE, MAIZE, RICE]})
    picker = make_picker(sample_df=df)
    picker.tick([MAIZE])
    picker.tick([RICE], mode="Drop")
    picker.apply_selection()
    with pytest.raises(BadParameterError, match=r"'maize' \(2 samples\)"):
        apply_croptypepicker_to_df(df, picker)
    picker.selection.drop = []
    picker.apply_selection()
    out = apply_croptypepicker_to_df(df, picker)
    assert out["downstream_class"].tolist() == ["maize", "maize", "other"]
    with pytest.raises(BadParameterError, match="ewoc_code"):
        apply_croptypepicker_to_df(df.drop(columns="ewoc_code"), picker)


def test_legend_loads_in_the_background(monkeypatch, legend):
    gate = threading.Event()
    threads = []

    def slow_default_legend():
        threads.append(threading.current_thread().name)
        assert gate.wait(30)
        return legend

    monkeypatch.setattr(legend_loading, "default_legend", slow_default_legend)
    picker = CropTypePicker(ewoc_codes=DEMO_CROPS, display_ui=False)  # returns at once
    try:
        assert not picker.ready
        assert "loading legend" in picker.tree.tree_box.children[0].value
        with pytest.raises(BadParameterError, match="not loaded"):
            picker.apply_selection()
        gate.set()
        assert picker.wait_ready(10)
        assert threads and threads[0] != threading.current_thread().name
        assert picker.tree.top_codes and picker.legend is legend
    finally:
        gate.set()
        picker.close()
    assert picker.loader is None


def test_one_picker_under_every_name():
    import worldcereal_explorer
    import worldcereal_explorer.widgets as widgets
    from worldcereal_explorer.state import croptype_selection, legend_loading
    from worldcereal_explorer.widgets import crop_picker, legend_tree

    # one class: the dashboard's and the reference client's drop-in
    assert widgets.CropTypePicker is crop_picker.CropTypePicker is CropTypePicker
    assert worldcereal_explorer.CropTypePicker is widgets.CropTypePicker
    assert widgets.RdmCropTypePicker is CropTypePicker  # a former name, kept for old imports
    assert widgets.DEMO_CROPS is worldcereal_explorer.DEMO_CROPS is DEMO_CROPS
    assert widgets.apply_croptypepicker_to_df is worldcereal_explorer.apply_croptypepicker_to_df
    assert widgets.LegendTree is legend_tree.LegendTree is crop_picker.LegendTree
    assert legend_tree.TreeRow is crop_picker.TreeRow and not hasattr(legend_tree, "_Row")
    assert {"LegendTree", "RdmCropTypePicker", "DEMO_CROPS", "CropTypePicker"} <= set(dir(widgets))
    # the non-widget parts live in the state layer, under their names here too
    assert crop_picker.DefaultLegendLoader is legend_loading.DefaultLegendLoader
    for name in ("CropTypeSelection", "PickerTree", "build_picker_tree", "apply_croptypepicker_to_df"):
        assert getattr(crop_picker, name) is getattr(croptype_selection, name)
    assert crop_picker.SELECTION_MODES is croptype_selection.SELECTION_MODES
    with pytest.raises(ImportError):
        import worldcereal_explorer.widgets.croptype_picker  # noqa: F401  (the second module is gone)
