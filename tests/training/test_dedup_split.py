"""De-duplication and spatial split on real demo samples, checked against brute-force loops."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from tests.training.unmapped import map_classes_noting_unmapped
from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.training import (
    deduplicate,
    duplicate_pairs,
    spatial_split,
    split_report,
)

from .conftest import CROPWATCH, PRAIRIE

GEOD = Geod(ellps="WGS84")


def brute_force_polygon_pairs(gdf: gpd.GeoDataFrame, share: float) -> set[tuple[str, str]]:
    """Every cross-collection pair of the same year overlapping more than ``share`` of the smaller polygon."""
    ids, refs, geoms = gdf["sample_id"].tolist(), gdf["ref_id"].tolist(), list(gdf.geometry)
    years = [pd.Timestamp(t).year for t in gdf["valid_time"]]
    found = set()
    for i in range(len(gdf)):
        for j in range(i + 1, len(gdf)):
            if refs[i] == refs[j] or years[i] != years[j]:
                continue
            if not geoms[i].intersects(geoms[j]):
                continue
            inter = geoms[i].intersection(geoms[j]).area
            if inter > share * min(geoms[i].area, geoms[j].area):
                found.add(tuple(sorted((ids[i], ids[j]))))
    return found


def test_every_copied_parcel_is_found(canada):
    pairs = duplicate_pairs(canada, tolerance_m=10, min_overlap=0.5)
    ids = canada["sample_id"].to_numpy()
    found = {tuple(sorted((ids[a], ids[b]))) for a, b in pairs}
    assert found == brute_force_polygon_pairs(canada, 0.5)
    # The copy holds 40 % of the parcels, each moved 6 m: every copy's original (centroid 6 m away) is paired
    # with it. (A few more pairs are synthetic parcels that happen to overlap a copied one by more than half.)
    copies = canada[canada["ref_id"] == CROPWATCH]
    assert len(copies) == round(0.4 * (canada["ref_id"] == PRAIRIE).sum())
    centre = dict(zip(canada["sample_id"], shapely.centroid(canada.geometry.values), strict=True))
    originals = set()
    for a, b in found:
        copy, source = (a, b) if a.startswith("2021_CAN_CROPWATCH") else (b, a)
        _, _, dist = GEOD.inv(centre[copy].x, centre[copy].y, centre[source].x, centre[source].y)
        if abs(dist - 6.0) < 0.05:
            originals.add(copy)
    assert originals == set(copies["sample_id"])


def test_deduplicate_keeps_the_better_sample(canada):
    flagged, report = deduplicate(canada, 10, keep_duplicates=True)
    assert len(flagged) == len(canada) and report.n_duplicates == flagged["duplicate_of"].notna().sum()
    by_id = canada.set_index("sample_id")
    pairs = duplicate_pairs(canada, tolerance_m=10)
    ids = canada["sample_id"].to_numpy()
    dup_of = dict(zip(flagged["sample_id"], flagged["duplicate_of"], strict=True))
    pair_set = {tuple(sorted((ids[a], ids[b]))) for a, b in pairs}
    for a, b in pair_set:
        assert pd.notna(dup_of[a]) or pd.notna(dup_of[b])  # never both kept
    for dup, kept in dup_of.items():
        if pd.notna(kept):
            assert pd.isna(dup_of[kept]) and tuple(sorted((dup, kept))) in pair_set  # points at a kept partner
    assert len(pair_set) - 5 <= report.n_duplicates <= len(pair_set)
    for dup, kept in flagged.loc[flagged["duplicate_of"].notna(), ["sample_id", "duplicate_of"]].itertuples(index=False):
        a, b = by_id.loc[kept], by_id.loc[dup]
        key_a = (a.quality_score_ct, a.quality_score_lc, a.ref_id)
        key_b = (b.quality_score_ct, b.quality_score_lc, b.ref_id)
        assert key_a >= key_b  # better quality, or the same quality and the larger (same-year) ref_id
    counts = {(p["kept_ref_id"], p["duplicate_ref_id"]): p["count"] for p in report.to_dict()["pairs"]}
    assert sum(counts.values()) == report.n_duplicates and set(counts) <= {(PRAIRIE, CROPWATCH), (CROPWATCH, PRAIRIE)}
    dropped, again = deduplicate(canada, 10)
    assert "duplicate_of" not in dropped.columns
    assert set(dropped["sample_id"]) == set(flagged.loc[flagged["duplicate_of"].isna(), "sample_id"])
    assert again.n_duplicates == report.n_duplicates
    # duplicates within one collection are not looked for; other collections of the catalogue have none
    assert deduplicate(canada[canada["ref_id"] == PRAIRIE], 10)[1].n_duplicates == 0


def point_pairs_case() -> tuple[gpd.GeoDataFrame, set[tuple[str, str]]]:
    """Points at known geodesic distances from anchors at several latitudes; which pairs are within 10 m."""
    rows, expected = [], set()
    for k, lat in enumerate([0.0, 35.0, 60.0, 72.0, -45.0]):
        for m, (dist, azimuth) in enumerate([(9.9, 90.0), (10.1, 90.0), (9.9, 0.0), (10.1, 0.0), (5.0, 45.0)]):
            lon0 = -100.0 + 7 * k + 0.01 * m
            lon1, lat1, _ = GEOD.fwd(lon0, lat, azimuth, dist)
            a, b = f"a{k}_{m}", f"b{k}_{m}"
            rows += [(a, "2020_x_a_point_110", lon0, lat, 80), (b, "2021_x_b_point_110", lon1, lat1, 70)]
            if dist <= 10.0:
                expected.add((a, b))
    # same place, other year: never a duplicate; same place, same collection: never either
    rows += [("c0", "2020_x_a_point_110", 10.0, 10.0, 80), ("c1", "2021_x_b_point_110", 10.0, 10.0, 80),
             ("d0", "2020_x_a_point_110", 20.0, 20.0, 80), ("d1", "2020_x_a_point_110", 20.0, 20.0, 90)]
    frame = pd.DataFrame(rows, columns=["sample_id", "ref_id", "lon", "lat", "quality_score_ct"])
    frame["quality_score_lc"] = 90
    frame["valid_time"] = pd.Timestamp("2021-06-01")
    frame.loc[frame["sample_id"] == "c0", "valid_time"] = pd.Timestamp("2020-06-01")
    gdf = gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(frame.lon, frame.lat),
                           crs=4326)
    return gdf, expected


def test_point_tolerance_is_honoured_in_metres_at_every_latitude():
    gdf, expected = point_pairs_case()
    pairs = duplicate_pairs(gdf, tolerance_m=10.0)
    ids = gdf["sample_id"].to_numpy()
    assert {tuple(sorted((ids[a], ids[b]))) for a, b in pairs} == expected
    out, report = deduplicate(gdf, 10.0)
    assert report.n_duplicates == len(expected)
    assert not set(out["sample_id"]) & {b for _, b in expected}  # the b points have the lower quality


def test_point_near_a_polygon_is_a_duplicate():
    field = shapely.box(5.0, 50.0, 5.002, 50.001)
    lon_out, lat_out, _ = GEOD.fwd(5.002, 50.0005, 90.0, 8.0)  # 8 m east of the field's edge
    lon_far, lat_far, _ = GEOD.fwd(5.002, 50.0005, 90.0, 12.0)
    gdf = gpd.GeoDataFrame(
        {"sample_id": ["poly", "inside", "near", "far"], "ref_id": ["2021_a", "2021_b", "2021_c", "2021_d"],
         "valid_time": pd.Timestamp("2021-05-01"), "quality_score_ct": [90, 80, 80, 80],
         "quality_score_lc": 90},
        geometry=[field, shapely.Point(5.001, 50.0005), shapely.Point(lon_out, lat_out),
                  shapely.Point(lon_far, lat_far)], crs=4326)
    ids = gdf["sample_id"].to_numpy()
    found = {tuple(sorted((ids[a], ids[b]))) for a, b in duplicate_pairs(gdf, tolerance_m=10)}
    assert found == {("inside", "poly"), ("near", "poly"), ("far", "near")}  # near and far: 4 m apart
    with pytest.raises(BadParameterError, match="tolerance_m=-1"):
        deduplicate(gdf, -1)
    with pytest.raises(BadParameterError, match="min_overlap=1.5"):
        deduplicate(gdf, 10, min_overlap=1.5)


def test_spatial_split_assigns_whole_h3_blocks(public_samples):
    mapped = map_classes_noting_unmapped(public_samples, {1101010000: "wheat", 1101060000: "maize", 1106000000: "oilseed",
                                          1101080000: "rice"})
    out = spatial_split(mapped, (0.7, 0.15, 0.15), block_h3_res=5, seed=3)
    assert set(out["split"]) == {"train", "validation", "test"}
    cells = [h3.latlng_to_cell(g.centroid.y, g.centroid.x, 5) for g in out.geometry]
    per_cell: dict[str, set[str]] = {}
    for cell, split in zip(cells, out["split"], strict=True):
        per_cell.setdefault(cell, set()).add(split)
    assert all(len(s) == 1 for s in per_cell.values())  # no block in two splits
    assert out["split_block"].tolist() == cells
    report = split_report(out)
    overall = report.table.loc["all"]
    assert overall["train_share"] == pytest.approx(0.7, abs=0.03)
    assert overall["validation_share"] == pytest.approx(0.15, abs=0.03)
    for cls in ("wheat", "maize", "oilseed", "rice", "other"):
        assert report.table.loc[cls, "train_share"] == pytest.approx(0.7, abs=0.1), cls
    again = spatial_split(mapped.iloc[::-1], (0.7, 0.15, 0.15), block_h3_res=5, seed=3)
    assert again.set_index("sample_id")["split"].sort_index().equals(out.set_index("sample_id")["split"].sort_index())
    for bad in [(0.7, 0.2), (0.5, 0.5, 0.5), (-0.1, 0.6, 0.5), "a,b,c"]:
        with pytest.raises(BadParameterError, match="split shares"):
            spatial_split(mapped, bad)
    with pytest.raises(BadParameterError, match="block_h3_res=16"):
        spatial_split(mapped, block_h3_res=16)


def test_spatial_split_with_user_blocks(canada):
    west, south, east, north = canada.total_bounds
    xs = np.linspace(west - 0.01, east + 0.01, 7)
    blocks = gpd.GeoDataFrame(geometry=[shapely.box(xs[i], south - 0.01, xs[i + 1], north + 0.01)
                                        for i in range(6)], crs=4326).to_crs(3857)
    out = spatial_split(canada, "0.6,0.2,0.2", blocks=blocks, seed=1)
    centres = gpd.GeoSeries(shapely.centroid(canada.geometry.values), crs=4326)
    stripe = np.searchsorted(xs, centres.x.to_numpy()) - 1
    for s in range(6):
        assert out.loc[stripe == s, "split"].nunique() <= 1
    assert set(out["split_block"]) <= {f"block:{i}" for i in range(6)}
