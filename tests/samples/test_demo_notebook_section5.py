"""Section 5 of the RDM demo notebook ("Get individual samples across multiple collections"), run as users
run it (same names, same arguments), against the local RDM server over real HTTP.

The notebook queries a bounding box on Java; the catalogue here has two collections there (named like
the ones the notebook found: a polygon campaign and a point collection) and one elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from .catalog_builder import add_collection, finish_catalog, make_samples
from .conftest import assert_same_samples, oracle, read_plain

JAVA_POLYS = "2023_idn_vitocampaign_poly_110"
JAVA_POINTS = "2023_idn_vitomanualpoints_100"
ELSEWHERE = "2023_tha_ricesurvey_point_110"


@dataclass
class BoundingBoxExtent:
    """Stand-in for openeo_gfmap's BoundingBoxExtent (same attribute names), which is not a dependency."""

    west: float
    south: float
    east: float
    north: float
    epsg: int = 4326


@pytest.fixture(scope="module")
def java_catalog(tmp_path_factory):
    root = tmp_path_factory.mktemp("java") / "catalog"
    root.mkdir()
    add_collection(root, JAVA_POLYS, make_samples(JAVA_POLYS, 900, seed=11, center=(108.4, -7.0), spread=0.9,
                                                  polygons=True, year=2023))
    add_collection(root, JAVA_POINTS, make_samples(JAVA_POINTS, 700, seed=12, center=(110.6, -7.4), spread=1.2,
                                                   year=2023))
    add_collection(root, ELSEWHERE, make_samples(ELSEWHERE, 500, seed=13, center=(100.5, 14.0), year=2023))
    return finish_catalog(root)


@pytest.fixture(scope="module")
def java_server(java_catalog):
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(java_catalog) as server:
        yield server


def test_section_5_get_samples_save_and_read_back(java_server, java_catalog, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORLDCEREAL_RDM_URL", java_server.url)
    from worldcereal_explorer import RdmInteraction

    rdm = RdmInteraction()
    dwnld_folder = str(tmp_path / "download")

    # --- the notebook's cell, verbatim -----------------------------------------------------------
    # supply a bounding box (this one is located on Java, Indonesia)
    bbox = BoundingBoxExtent(north=-6.577303, east=111.950684, south=-8.05923, west=107.116699)

    # do not explicitly filter on collections
    ref_ids = None

    # Do not filter on date
    temporal_extent = None

    # Do not filter on crop type
    ewoc_codes = None

    # Include public collections only
    include_public = True
    include_private = False

    # Limit sample download to a subset in case many samples available
    subset = True

    # Minimum quality score for samples
    min_quality_ct = 75
    min_quality_lc = 0

    gdf = rdm.get_samples(
        ref_ids=ref_ids,
        subset=subset,
        bbox=bbox,
        temporal_extent=temporal_extent,
        ewoc_codes=ewoc_codes,
        include_public=include_public,
        include_private=include_private,
        min_quality_ct=min_quality_ct,
        min_quality_lc=min_quality_lc,
    )

    print(f"Total number of samples downloaded: {len(gdf)}")
    gdf.head()
    # ------------------------------------------------------------------------------------------------

    java = box(107.116699, -8.05923, 111.950684, -6.577303)
    frames = {
        ref_id: {"full": read_plain(next((java_catalog / ref_id).glob("*.geoparquet"))),
                 "subset": read_plain(next((java_catalog / ref_id).glob("sample_*.parquet")))}
        for ref_id in (JAVA_POLYS, JAVA_POINTS)
    }
    expected = oracle(frames, [JAVA_POLYS, JAVA_POINTS], spatial=java, subset=True, min_ct=75)
    assert len(expected) > 0
    assert_same_samples(gdf, expected)
    assert f"Total number of samples downloaded: {len(expected)}" in capsys.readouterr().out
    assert list(gdf.columns) == ["sample_id", "ewoc_code", "valid_time", "irrigation_status", "quality_score_lc",
                                 "quality_score_ct", "extract", "h3_l3_cell", "ref_id", "geometry"]
    # The dataframe says where each sample comes from; points and polygons are mixed.
    assert sorted(gdf["ref_id"].unique()) == sorted([JAVA_POLYS, JAVA_POINTS])
    assert set(gdf.geom_type) == {"Point", "Polygon"}
    assert (gdf["quality_score_ct"] >= 75).all() and (gdf["extract"] > 0).all()

    # --- save as geoparquet file (the notebook's next cell) ---------------------------------------
    Path(dwnld_folder).mkdir(parents=True, exist_ok=True)
    parquet_file = str(Path(dwnld_folder) / "samples.geoparquet")
    gdf.to_parquet(parquet_file)

    back = gpd.read_parquet(parquet_file)
    assert back.crs.to_epsg() == 4326
    pd.testing.assert_frame_equal(pd.DataFrame(back.drop(columns="geometry")),
                                  pd.DataFrame(gdf.drop(columns="geometry")), check_dtype=False)
    assert shapely.equals(back.geometry.array, gdf.geometry.array).all()
    assert back["valid_time"].dtype.kind == "M" and back["ewoc_code"].dtype == np.int64


def test_section_5_on_the_demo_catalogue(client, demo_catalog):
    """The same call on the shipped demo catalogue, over the box of one of its public collections."""
    public = [c for c in client.get_collections() if c.is_public]
    target = max(public, key=lambda c: c.feature_count)
    west, south, east, north = target.spatial_extent.as_tuple()
    bbox = BoundingBoxExtent(west=west, south=south, east=(west + east) / 2, north=(south + north) / 2)
    gdf = client.get_samples(ref_ids=None, subset=True, bbox=bbox, temporal_extent=None, ewoc_codes=None,
                             include_public=True, include_private=False, min_quality_ct=75, min_quality_lc=0,
                             progress=False)
    assert len(gdf) > 0
    assert target.id in set(gdf["ref_id"])
    assert (gdf["quality_score_ct"] >= 75).all() and (gdf["extract"] > 0).all()
    area = box(bbox.west, bbox.south, bbox.east, bbox.north)
    assert gdf.geometry.intersects(area).all()
