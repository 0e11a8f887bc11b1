"""The count functions (state/counts.py) on hand-made frames: no server, no HTTP."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from worldcereal_explorer.state import counts

MAIZE, WHEAT, RICE = 1200000000, 1101010001, 1101080000


def _class_counts() -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([[MAIZE, WHEAT, RICE], ["maize", "wheat", "rice"]],
                                      names=["ewoc_code", "Label"])
    frame = pd.DataFrame({"a": [10, 5, 0], "b": [0, 7, 3]}, index=index)
    frame.columns.name = "ref_id"
    return frame


def _collection(ref_id: str, codes=(), feature_count=0):
    return SimpleNamespace(id=ref_id, ewoc_codes=list(codes), feature_count=feature_count)


def test_counts_by_code_and_total():
    frame = _class_counts()
    assert counts.counts_by_code(frame) == {MAIZE: 10, WHEAT: 12, RICE: 3}
    assert counts.total(frame) == 25
    assert counts.counts_by_code(None) == {} and counts.total(counts.empty_counts()) == 0


def test_counts_by_label_groups_and_sorts():
    frame = counts.counts_by_label(_class_counts(), {MAIZE: "cereals", str(WHEAT): "cereals"})
    assert list(frame.index) == ["cereals", "rice"]  # largest total first
    assert frame.loc["cereals"].to_dict() == {"a": 15, "b": 7}
    assert counts.counts_by_label(None).empty


def test_collection_totals_fall_back_to_the_catalogue_without_a_crop_filter():
    frame = _class_counts()
    found = [_collection("a"), _collection("b"), _collection("c", feature_count=42)]
    assert counts.collection_totals(frame, found) == {"a": 15, "b": 10, "c": 42}
    # with a crop filter a collection without statistics has no known total for those crops
    assert counts.collection_totals(frame, found, filtered=True) == {"a": 15, "b": 10}


def test_filter_by_codes_uses_listed_codes_then_statistics():
    frame = _class_counts()
    listed = _collection("a", codes=[WHEAT])  # its list wins over its statistics (which hold maize too)
    unlisted = _collection("b")  # no list: its statistics say wheat and rice
    absent = _collection("z")  # neither: never matches
    collections = [listed, unlisted, absent]
    assert counts.filter_by_codes(collections, [MAIZE], frame) == []
    assert counts.filter_by_codes(collections, [RICE], frame) == [unlisted]
    assert counts.filter_by_codes(collections, [WHEAT, RICE], frame) == [listed, unlisted]
    assert counts.filter_by_codes(collections, None, frame) == collections


def test_restrict_counts_keeps_selected_codes_with_zero_rows():
    unknown = 9999999999
    frame = counts.restrict_counts(_class_counts(), [WHEAT, unknown], ["b", "missing"],
                                   label_of=lambda code: {unknown: "mystery"}[code])
    assert list(frame.index) == [(WHEAT, "wheat"), (unknown, "mystery")]
    assert list(frame.columns) == ["b"] and frame.columns.name == "ref_id"
    assert frame["b"].tolist() == [7, 0]
    unnamed = counts.restrict_counts(_class_counts(), [unknown], ["a"])
    assert list(unnamed.index) == [(unknown, f"unknown ({unknown})")]


def test_label_samples_adds_labels_and_grouping():
    samples = pd.DataFrame({"ewoc_code": [MAIZE, WHEAT, MAIZE]})
    labelled = counts.label_samples(samples, lambda codes: [f"L{c}" for c in codes], {WHEAT: "mine"})
    assert labelled["label"].tolist() == [f"L{MAIZE}", f"L{WHEAT}", f"L{MAIZE}"]
    assert labelled["new_label"].tolist() == [f"L{MAIZE}", "mine", f"L{MAIZE}"]
    assert "label" not in samples.columns  # a copy

    def no_legend(codes):
        raise OSError("offline")

    assert counts.label_samples(samples, no_legend)["label"].tolist()[0] == f"unknown ({MAIZE})"


@pytest.mark.parametrize(("n", "filtered", "expected"), [
    (1, False, "1 collection found (1,234 samples in the whole collections)"),
    (2, True, "2 collections found (1,234 samples of the selected crop types in the whole collections)"),
])
def test_search_summary(n, filtered, expected):
    assert counts.search_summary(n, 1234, filtered) == expected
