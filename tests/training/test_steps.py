"""Class mapping, balance and season steps on real demo samples, checked against plain Python loops."""

from __future__ import annotations

import json
import warnings
from collections import Counter

import pandas as pd
import pytest

from tests.training.unmapped import map_classes_noting_unmapped
from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.legend.codes import parent_code
from worldcereal_explorer.training import (
    ClassBalanceWarning,
    below_minimum_message,
    cap_per_class,
    class_balance,
    h3_cells,
    load_mapping,
    map_classes,
    season_filter,
    season_filter_preview,
    steps_of,
    valid_time_histogram,
)

MAPPING = {1101010000: "wheat", 1101060000: "maize", 1106000000: "oilseed", 2000000000: "grass"}


def expected_class(code: int, mapping: dict[int, str]) -> str | None:
    while code:
        if code in mapping:
            return mapping[code]
        code = parent_code(code) or 0
    return None


def test_map_classes_follows_legend_ancestors(public_samples):
    out = map_classes_noting_unmapped(public_samples, MAPPING)
    assert len(out) == len(public_samples) and "downstream_class" not in public_samples.columns
    for code, cls in zip(out["ewoc_code"], out["downstream_class"], strict=True):
        assert cls == (expected_class(int(code), MAPPING) or "other")
    assert {"wheat", "maize", "oilseed", "grass", "other"} == set(out["downstream_class"])
    assert (out.loc[out["ewoc_code"] == 1101060002, "downstream_class"] == "maize").all()  # silage maize
    step = steps_of(out)[-1]
    assert step["step"] == "map_classes" and step["unmapped_samples"] == int((out["downstream_class"] == "other").sum())

    dropped = map_classes_noting_unmapped(public_samples, MAPPING, unmapped="drop")
    assert "other" not in set(dropped["downstream_class"])
    assert len(dropped) == int((out["downstream_class"] != "other").sum())


def test_mapping_files_csv_and_json(tmp_path, public_samples):
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("ewoc_code;class\n11-01-01-000-0;wheat\n1101060000;maize\n")
    json_path = tmp_path / "m.json"
    json_path.write_text(json.dumps({"1101010000": "wheat", "1101060000": "maize"}))
    assert load_mapping(csv_path) == load_mapping(json_path) == {1101010000: "wheat", 1101060000: "maize"}
    headerless = tmp_path / "h.csv"
    headerless.write_text("1101010000,wheat\n1101060000,maize\n")
    assert load_mapping(headerless) == load_mapping(csv_path)
    a = map_classes_noting_unmapped(public_samples, csv_path)
    b = map_classes_noting_unmapped(public_samples, {1101010000: "wheat", 1101060000: "maize"})
    assert a["downstream_class"].tolist() == b["downstream_class"].tolist()
    with pytest.raises(BadParameterError, match="nope"):
        load_mapping(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("ewoc_code,class\nmaize,maize\n")
    with pytest.raises(BadParameterError, match="'maize' is not an ewoc code"):
        load_mapping(bad)


def test_fewer_than_two_classes_is_an_error_naming_them(canada):
    with pytest.raises(BadParameterError, match=r"fewer than two classes \('wheat'\)"):
        map_classes_noting_unmapped(canada, {1101010000: "wheat"}, unmapped="drop")
    with pytest.raises(BadParameterError, match="unmapped='keep' is not allowed"):
        map_classes(canada, MAPPING, unmapped="keep")


def test_class_balance_counts(public_samples):
    mapped = map_classes_noting_unmapped(public_samples, MAPPING)
    table = class_balance(mapped)
    brute = Counter(zip(mapped["downstream_class"], mapped["ref_id"], strict=True))
    assert {(r.downstream_class, r.ref_id): r.count for r in table.itertuples()} == brute
    regional = class_balance(mapped, by=("downstream_class",), h3_resolution=2)
    assert regional["count"].sum() == len(mapped)
    import h3

    cells = [h3.latlng_to_cell(g.centroid.y, g.centroid.x, 2) for g in mapped.geometry]
    assert Counter(zip(mapped["downstream_class"], cells, strict=True)) == {
        (r.downstream_class, r.h3_cell): r.count for r in regional.itertuples()}


def assert_water_filled(got: list[int], sizes: list[int], cap: int) -> None:
    """``got`` is a max-min fair allocation of ``min(cap, total)`` over groups of ``sizes``: a group that keeps
    fewer than it has keeps at least as many as any other group, less one (the remainder's round)."""
    assert sum(got) == min(cap, sum(sizes))
    assert all(0 <= g <= s for g, s in zip(got, sizes, strict=True))
    for g, s in zip(got, sizes, strict=True):
        if g < s:
            assert g >= max(got) - 1, (got, sizes)


def test_cap_per_class_honours_caps_and_spreads_over_collections(public_samples):
    mapped = map_classes_noting_unmapped(public_samples, MAPPING)
    cap = 400
    out = cap_per_class(mapped, cap, seed=7)
    before = mapped.groupby(["downstream_class", "ref_id"]).size()
    after = out.groupby(["downstream_class", "ref_id"]).size()
    for cls, group in before.groupby(level=0):
        sizes = group.tolist()
        got = [int(after.get((cls, ref), 0)) for ref in group.index.get_level_values(1)]
        assert_water_filled(got, sizes, cap)
    # deterministic with the seed, independent of the row order; another seed picks other samples
    again = cap_per_class(mapped.sample(frac=1.0, random_state=1), cap, seed=7)
    assert sorted(again["sample_id"]) == sorted(out["sample_id"])
    other = cap_per_class(mapped, cap, seed=8)
    assert sorted(other["sample_id"]) != sorted(out["sample_id"])


def test_cap_spreads_within_a_collection_over_h3_cells(canada):
    out = cap_per_class(canada[canada["ref_id"] == canada["ref_id"].iloc[0]], 60, h3_resolution=4)
    cells = pd.Series(h3_cells(out, 4))
    source = canada[canada["ref_id"] == canada["ref_id"].iloc[0]]
    for code, group in out.groupby("ewoc_code"):
        available = Counter(h3_cells(source[source["ewoc_code"] == code], 4))
        kept = Counter(cells[(out["ewoc_code"] == code).to_numpy()])
        assert_water_filled([kept.get(c, 0) for c in sorted(available)], [available[c] for c in sorted(available)], 60)
        assert len(group) == min(60, sum(available.values()))


def test_min_per_class_warns_naming_the_classes(canada):
    mapped = map_classes_noting_unmapped(canada, MAPPING)
    small = mapped["downstream_class"].value_counts()
    limit = int(small.max())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cap_per_class(mapped, limit, min_per_class=limit)
    messages = [str(w.message) for w in caught if issubclass(w.category, ClassBalanceWarning)]
    assert len(messages) == 1
    for name, count in small.items():
        assert (f"{name} ({count})" in messages[0]) == (count < limit)
    with pytest.raises(BadParameterError, match="max_per_class=0"):
        cap_per_class(mapped, 0)


def test_warn_false_names_the_shortfalls_in_the_step_record_only(canada):
    """What the training panel calls on its worker thread: no warning (a thread cannot silence one), the same
    classes and counts in the step record, and the same text from below_minimum_message."""
    mapped = map_classes_noting_unmapped(canada, MAPPING)
    limit = int(mapped["downstream_class"].value_counts().max())
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        quiet = map_classes(canada, MAPPING, warn=False)
        capped = cap_per_class(quiet, limit, min_per_class=limit, warn=False)
    assert warned == []
    assert quiet["downstream_class"].tolist() == mapped["downstream_class"].tolist()
    assert steps_of(quiet)[-1]["unmapped_report"] == steps_of(mapped)[-1]["unmapped_report"] != []
    step = steps_of(capped)[-1]
    with pytest.warns(ClassBalanceWarning) as loud:
        cap_per_class(mapped, limit, min_per_class=limit)
    assert below_minimum_message(limit, step["before"]) == str(loud[0].message)
    assert step["below_minimum"] and below_minimum_message(1, step["before"]) is None


def test_season_filter_matches_a_loop(public_samples):
    for window, months in [("11-03", {11, 12, 1, 2, 3}), ("04-09", {4, 5, 6, 7, 8, 9}), ("06-06", {6}),
                           ("12-01", {12, 1})]:
        out = season_filter(public_samples, window)
        expected = [sid for sid, t in zip(public_samples["sample_id"], public_samples["valid_time"], strict=True)
                    if pd.Timestamp(t).month in months]
        assert out["sample_id"].tolist() == expected, window
        preview = season_filter_preview(public_samples, window)
        removed = Counter(int(c) for c, t in zip(public_samples["ewoc_code"], public_samples["valid_time"],
                                                  strict=True) if pd.Timestamp(t).month not in months)
        assert {int(k): int(v) for k, v in preview["removed"].items() if v} == dict(removed)
        assert int(preview["total"].sum()) == len(public_samples)
    for bad in ("13-02", "4-9-1", "winter", (0, 3)):
        with pytest.raises(BadParameterError, match="MM-MM"):
            season_filter(public_samples, bad)


def test_valid_time_histogram_matches_a_loop(canada):
    table = valid_time_histogram(canada, by="ref_id")
    assert list(table.columns) == ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    brute = Counter((r, pd.Timestamp(t).month) for r, t in zip(canada["ref_id"], canada["valid_time"], strict=True))
    for (ref, month), n in brute.items():
        assert table.loc[ref].iloc[month - 1] == n
    assert int(table.to_numpy().sum()) == len(canada)
    assert (table > 0).all(axis=None)  # the Canadian parcels are observed all year round
