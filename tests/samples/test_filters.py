"""get_samples over real HTTP against the local server, checked against a brute-force geopandas oracle."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon, box

from worldcereal_explorer.errors import (
    BadEwocCodeError,
    BadExtentError,
    BadParameterError,
    BadTemporalExtentError,
)
from worldcereal_explorer.rdm.samples import DEFAULT_COLUMNS

from .catalog_builder import CODES
from .conftest import IDS, REGION, assert_same_samples, oracle

HYPOTHESIS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

BBOX = (4.2, 50.4, 5.2, 51.0)
TEMPORAL = ("2021-03-01", "2021-06-30")
SOME_CODES = [int(CODES[0]), int(CODES[2]), int(CODES[4])]


def get(client, **kwargs):
    kwargs.setdefault("ref_ids", IDS)
    kwargs.setdefault("progress", False)
    return client.get_samples(**kwargs)


def test_no_filter_returns_every_sample_with_rdm_dtypes(sample_client, oracle_frames):
    gdf = get(sample_client)
    assert list(gdf.columns) == DEFAULT_COLUMNS
    assert gdf.crs.to_epsg() == 4326
    assert_same_samples(gdf, oracle(oracle_frames, IDS))
    assert set(gdf["ref_id"]) == set(IDS)
    # points and polygons mixed in one frame, as the collections mix them
    assert {"Point", "Polygon"} <= set(gdf.geom_type)


@pytest.mark.parametrize(
    ("name", "kwargs", "oracle_kwargs"),
    [
        ("bbox", {"spatial_extent": BBOX}, {"spatial": box(*BBOX)}),
        ("bbox keyword", {"bbox": BBOX}, {"spatial": box(*BBOX)}),
        ("temporal", {"temporal_extent": TEMPORAL}, {"temporal": TEMPORAL}),
        ("codes", {"ewoc_codes": SOME_CODES}, {"codes": SOME_CODES}),
        ("subset", {"subset": True}, {"subset": True}),
        ("quality lc", {"min_quality_lc": 60}, {"min_lc": 60}),
        ("quality ct", {"min_quality_ct": 75}, {"min_ct": 75}),
    ],
)
def test_each_filter_alone(sample_client, oracle_frames, name, kwargs, oracle_kwargs):
    gdf = get(sample_client, **kwargs)
    expected = oracle(oracle_frames, IDS, **oracle_kwargs)
    assert 0 < len(expected) < sum(len(f["full"]) for f in oracle_frames.values()), name
    assert_same_samples(gdf, expected)


def test_all_filters_combined(sample_client, oracle_frames):
    polygon = Polygon([(3.6, 50.0), (5.8, 50.3), (5.4, 51.3), (3.9, 51.1)])
    kwargs = dict(spatial_extent=polygon, temporal_extent=("2021-02-01", "2021-10-31"), ewoc_codes=SOME_CODES,
                  subset=True, min_quality_lc=20, min_quality_ct=10)
    gdf = get(sample_client, **kwargs)
    expected = oracle(oracle_frames, IDS, spatial=polygon, temporal=("2021-02-01", "2021-10-31"), codes=SOME_CODES,
                      subset=True, min_lc=20, min_ct=10)
    assert len(expected) > 0
    assert_same_samples(gdf, expected)
    assert (gdf["extract"] > 0).all()


def test_temporal_end_day_is_included(sample_client, oracle_frames):
    frame = oracle_frames["2021_bel_pts_point_110"]["full"]
    day = frame["valid_time"].iloc[0].date().isoformat()
    gdf = get(sample_client, ref_ids=["2021_bel_pts_point_110"], temporal_extent=(day, day))
    assert len(gdf) == (frame["valid_time"].dt.date.astype(str) == day).sum() > 0
    assert (gdf["valid_time"].dt.date.astype(str) == day).all()


def test_search_when_ref_ids_is_none_finds_the_same(sample_client, oracle_frames):
    gdf = sample_client.get_samples(bbox=BBOX, temporal_extent=TEMPORAL, progress=False)
    assert_same_samples(gdf, oracle(oracle_frames, IDS, spatial=box(*BBOX), temporal=TEMPORAL))


def test_clip_cuts_polygons_to_the_extent(sample_client, oracle_frames):
    extent = box(4.6, 50.6, 5.3, 51.2)
    whole = get(sample_client, spatial_extent=extent)
    clipped = get(sample_client, spatial_extent=extent, clip=True)
    assert_same_samples(clipped, oracle(oracle_frames, IDS, spatial=extent, clip=True))
    assert list(whole["sample_id"]) == list(clipped["sample_id"])
    assert clipped.geometry.within(extent.buffer(1e-9)).all()
    polys = whole.geom_type == "Polygon"
    # some polygons straddle the edge: whole ones stick out, clipped ones do not
    assert (~whole[polys].geometry.within(extent)).any()


def test_multipolygon_extent(sample_client, oracle_frames):
    extent = MultiPolygon([box(3.5, 50.0, 4.0, 50.5), box(5.0, 50.9, 5.6, 51.3)])
    gdf = get(sample_client, spatial_extent=extent)
    expected = oracle(oracle_frames, IDS, spatial=extent)
    assert len(expected) > 0
    assert_same_samples(gdf, expected)


def test_empty_result_has_columns_and_dtypes(sample_client):
    full = get(sample_client, ref_ids=IDS[:1])
    for kwargs in ({"spatial_extent": (100, 10, 101, 11)},
                   {"temporal_extent": ("1999-01-01", "1999-12-31")}, {"ewoc_codes": [7000000000]}):
        gdf = get(sample_client, **kwargs)
        assert len(gdf) == 0
        assert list(gdf.columns) == DEFAULT_COLUMNS
        assert gdf.crs.to_epsg() == 4326
        assert gdf.dtypes.drop("geometry").equals(full.dtypes.drop("geometry"))
    # ewoc_codes=[] means "no code filter", as in the reference client
    assert len(get(sample_client, ref_ids=IDS[:1], ewoc_codes=[])) == len(full) > 0
    gdf = sample_client.get_samples(bbox=(100, 10, 101, 11), progress=False)  # search finds nothing
    assert len(gdf) == 0 and list(gdf.columns) == DEFAULT_COLUMNS
    assert gdf["ewoc_code"].dtype == np.int64 and gdf["valid_time"].dtype == "datetime64[ns]"


def test_row_groups_are_pruned_and_few_bytes_are_read(sample_client, sample_catalog):
    extent = (4.9, 50.9, 5.0, 51.0)  # small: most row groups of the spatially sorted file lie elsewhere
    gdf = get(sample_client, ref_ids=["2021_bel_pts_point_110"], spatial_extent=extent)
    stats = gdf.attrs["read_stats"]
    assert stats["row_groups_read"] < stats["row_groups_total"]
    size = next((sample_catalog / "2021_bel_pts_point_110").glob("*.geoparquet")).stat().st_size
    assert stats["bytes"] < size


def test_selected_columns_and_ref_id_from_url(sample_client):
    gdf = get(sample_client, ref_ids=["2021_fra_polys_poly_110"], columns=["sample_id", "ref_id", "ewoc_code"])
    assert list(gdf.columns) == ["sample_id", "ref_id", "ewoc_code", "geometry"]
    assert set(gdf["ref_id"]) == {"2021_fra_polys_poly_110"}
    assert gdf["ewoc_code"].dtype == np.int64


def test_unknown_column_is_named_with_the_available_ones(sample_client):
    with pytest.raises(BadParameterError) as info:
        get(sample_client, columns=["sample_id", "no_such_column"])
    message = str(info.value)
    assert "no_such_column" in message and "ewoc_code" in message and "available" in message


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"spatial_extent": (10, 0, 5, 1)}, BadExtentError, "west"),
        ({"spatial_extent": "Belgium"}, BadExtentError, "Belgium"),
        ({"temporal_extent": ("2021-05-01", "2021-01-01")}, BadTemporalExtentError, "2021-05-01"),
        ({"temporal_extent": ("yesterday", "2021-01-01")}, BadTemporalExtentError, "yesterday"),
        ({"ewoc_codes": [123]}, BadEwocCodeError, "123"),
        ({"min_quality_ct": 101}, BadParameterError, "101"),
        ({"min_quality_lc": "high"}, BadParameterError, "high"),
        ({"engine": "spark"}, BadParameterError, "spark"),
        ({"on_error": "ignore"}, BadParameterError, "ignore"),
        ({"subset": "yes"}, BadParameterError, "yes"),
    ],
)
def test_bad_input_raises_specific_errors(sample_client, kwargs, error, needle):
    with pytest.raises(error) as info:
        get(sample_client, **kwargs)
    assert needle in str(info.value)


# ---- hypothesis: random extents and code lists against the oracle ------------------------------

coords = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def bboxes(draw):
    west, south, east, north = REGION
    x0, x1 = sorted((draw(coords), draw(coords)))
    y0, y1 = sorted((draw(coords), draw(coords)))
    return (west + x0 * (east - west), south + y0 * (north - south),
            west + x1 * (east - west), south + y1 * (north - south))


@st.composite
def polygons(draw):
    west, south, east, north = REGION
    n = draw(st.integers(min_value=3, max_value=7))
    points = [(west + draw(coords) * (east - west), south + draw(coords) * (north - south)) for _ in range(n)]
    hull = shapely.convex_hull(shapely.multipoints(points))
    if not isinstance(hull, Polygon) or hull.area < 1e-4:
        hull = shapely.buffer(shapely.centroid(hull), 0.3)
    return hull


code_lists = st.lists(st.sampled_from([int(c) for c in CODES] + [1234567890]), min_size=0, max_size=4)


@HYPOTHESIS
@given(extent=bboxes())
def test_random_bboxes_match_the_oracle(sample_client, oracle_frames, extent):
    gdf = get(sample_client, spatial_extent=extent)
    assert_same_samples(gdf, oracle(oracle_frames, IDS, spatial=box(*extent)))


@HYPOTHESIS
@given(extent=polygons(), clip=st.booleans())
def test_random_polygons_match_the_oracle(sample_client, oracle_frames, extent, clip):
    gdf = get(sample_client, spatial_extent=extent, clip=clip)
    assert_same_samples(gdf, oracle(oracle_frames, IDS, spatial=extent, clip=clip))


@HYPOTHESIS
@given(codes=code_lists, subset=st.booleans(), min_ct=st.integers(min_value=0, max_value=100),
       start=st.dates(min_value=pd.Timestamp("2019-06-01").date(), max_value=pd.Timestamp("2023-01-01").date()),
       days=st.integers(min_value=0, max_value=400))
def test_random_attribute_filters_match_the_oracle(sample_client, oracle_frames, codes, subset, min_ct, start, days):
    temporal = (start.isoformat(), (start + pd.Timedelta(days=days)).isoformat())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is skipped silently
        gdf = get(sample_client, ewoc_codes=codes, subset=subset, min_quality_ct=min_ct, temporal_extent=temporal)
    # an empty code list means "no code filter" (the reference client's rule)
    assert_same_samples(gdf, oracle(oracle_frames, IDS, codes=codes or None, subset=subset, min_ct=min_ct,
                                    temporal=temporal))


def test_results_follow_the_order_of_ref_ids(sample_client):
    order = list(reversed(IDS))
    gdf = get(sample_client, ref_ids=order, spatial_extent=BBOX)
    blocks = list(dict.fromkeys(gdf["ref_id"]))
    assert blocks == [r for r in order if r in blocks] and len(blocks) > 1


def test_subset_without_a_published_subset_file_reads_the_full_file(demo_catalog, tmp_path):
    """Only large collections are subsampled on the RDM; without a subset file, extract > 0 is applied."""
    import shutil

    import geopandas as gpd

    from worldcereal_explorer.rdm.client import RdmClient
    from worldcereal_explorer.server import serve_in_thread

    catalog = shutil.copytree(demo_catalog, tmp_path / "catalog")
    folder = next(p.parent for p in sorted(catalog.glob("*/collection.json"))
                  if '"Public"' in p.read_text())
    subset_files = list(folder.glob("sample_*"))
    assert subset_files
    for path in subset_files:
        path.unlink()
    full = gpd.read_parquet(next(p for p in folder.glob("*.geoparquet")))
    with serve_in_thread(catalog) as server, RdmClient(server.url, legend=f"{server.url}/legend.csv") as rdm:
        samples = rdm.get_samples(ref_ids=[folder.name], subset=True, progress=False)
    assert sorted(samples["sample_id"]) == sorted(full.loc[full["extract"] > 0, "sample_id"])
    assert set(samples["ref_id"]) == {folder.name}
