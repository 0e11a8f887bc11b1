"""The 2026 reference client's calls, as written for it, over real HTTP against the local RDM server."""

from __future__ import annotations

import json
import logging
import threading
import zipfile

import geopandas as gpd
import pytest
from shapely.geometry import box

from worldcereal_explorer import RdmInteraction, SampleQuery
from worldcereal_explorer.errors import BadParameterError, RdmResponseError
from worldcereal_explorer.rdm.auth import DeviceCodeAuth


@pytest.fixture
def rdm(rdm_url, monkeypatch, tmp_path):
    monkeypatch.delenv("WORLDCEREAL_RDM_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with RdmInteraction(rdm_url, legend=f"{rdm_url}/legend.csv", retries=1, backoff_factor=0.01) as client:
        yield client


def test_spatial_extent_behaves_like_the_api_dict(rdm, demo_catalog):
    col = rdm.get_collections(spatial_extent=(33.5, -5.0, 42.0, 5.5))[0]
    record = json.loads((demo_catalog / col.id / "collection.json").read_text())
    assert col.spatial_extent.get("bbox") == record["extent"]["spatial"]["bbox"]
    assert col.spatial_extent["bbox"][0] == list(col.bbox.as_tuple())
    assert col.spatial_extent.west == col.bbox.west  # typed access keeps working
    assert list(col.temporal_extent) == record["extent"]["temporal"]["interval"][0]
    assert col.feature_count > 0 and col.access_type == "Public" and col.ewoc_codes


def test_authenticate_takes_the_reference_callbacks_and_returns_the_client(demo_catalog, tmp_path):
    from worldcereal_explorer.server import serve_in_thread
    from worldcereal_explorer.server.idp import serve_idp_in_thread
    from worldcereal_explorer.server.tokens import JwtTokenValidator

    with serve_idp_in_thread(poll_interval_s=0.05) as idp, \
            serve_in_thread(demo_catalog, token_validator=JwtTokenValidator(idp.issuer, idp.client_id)) as server:
        shown, progress = [], []

        def display(authorization):
            shown.append(authorization)
            threading.Thread(target=idp.approve, args=(authorization.user_code,), daemon=True).start()

        provider = DeviceCodeAuth(idp.issuer, idp.client_id, use_cache=False)
        client = RdmInteraction(server.url, token_provider=provider, legend=f"{server.url}/legend.csv")
        try:
            chained = client.authenticate(display_callback=display, progress_callback=progress.append)
            assert chained is client
            assert len(shown) == 1 and shown[0].user_code and shown[0].link.startswith(idp.issuer)
            assert progress and all(0.0 <= p <= 600 for p in progress)  # seconds left on the code
            private = chained.get_collections(include_public=False, include_private=True)
            assert private and all(not c.is_public for c in private)
        finally:
            client.close()
            provider.close()


def test_empty_code_list_means_no_filter_everywhere(rdm, caplog):
    ids = [c.id for c in rdm.get_collections(spatial_extent=(33.5, -5.0, 42.0, 5.5))]
    with caplog.at_level(logging.INFO, logger="worldcereal_explorer"):
        assert [c.id for c in rdm.get_collections(spatial_extent=(33.5, -5.0, 42.0, 5.5), ewoc_codes=[])] == ids
        counts = rdm.get_crop_counts(ids[:2], ewoc_codes=[])
    assert len(counts) > 0 and "no crop-code filter" in caplog.text


def test_collection_stats_without_code_statistics_raise(rdm, rdm_url):
    from tests.replay_server import ReplayServer, Reply
    from worldcereal_explorer.rdm.client import RdmClient

    with ReplayServer() as replay:
        replay.add("/collections/x_no_stats/metadata/items", Reply(body=json.dumps([{"name": "title", "value": "x"}])))
        with RdmClient(replay.url, retries=0) as client, pytest.raises(RdmResponseError, match="x_no_stats"):
            client.get_collection_stats("x_no_stats")


@pytest.fixture
def kenya_samples(rdm):
    return rdm.get_samples(spatial_extent=(33.5, -5.0, 42.0, 5.5), progress=False)


@pytest.mark.parametrize("fmt", ["parquet", "gpkg", "geojson", "zip"])
def test_ground_truth_file_runs_the_same_filters(rdm, kenya_samples, tmp_path, fmt):
    """``get_samples(ground_truth_file=...)`` on the user's own file equals the same query on the RDM."""
    own = kenya_samples.drop(columns=["ref_id"])
    if fmt == "zip":  # a Shapefile holds one geometry type
        own = own[own.geom_type == "Point"]
        kenya_samples = kenya_samples[kenya_samples.geom_type == "Point"]
    path = tmp_path / f"my_samples.{fmt}"
    if fmt == "parquet":
        own.to_parquet(path)
    elif fmt == "zip":
        shp = tmp_path / "shp"
        shp.mkdir()
        # geopandas and GDAL (pyogrio) both say that the Shapefile cuts the long column names
        with pytest.warns(UserWarning, match="Column names longer than 10 characters will be truncated"), \
                pytest.warns(RuntimeWarning, match="Normalized/laundered field name: '[a-z_]+' to '[a-z_0-9]{1,10}'"):
            own.assign(valid_time=own["valid_time"].astype(str)).to_file(shp / "my_samples.shp")
        with zipfile.ZipFile(path, "w") as archive:
            for part in shp.iterdir():
                archive.write(part, part.name)
    else:
        own.to_file(path, driver="GPKG" if fmt == "gpkg" else "GeoJSON")
    codes = sorted(set(kenya_samples["ewoc_code"]))[:3]
    area = box(36.0, -2.0, 39.0, 1.0)
    # A Shapefile cuts column names to 10 characters (quality_score_ct → quality_sc): no quality filter there.
    quality = {} if fmt == "zip" else {"min_quality_ct": 50}
    columns = ["sample_id", "ewoc_code", "valid_time", "ref_id", "geometry"] if fmt == "zip" else None
    expected = rdm.get_samples(spatial_extent=area, ewoc_codes=codes, progress=False, **quality)
    expected = expected[expected["sample_id"].isin(set(own["sample_id"]))]
    got = rdm.get_samples(spatial_extent=area, ewoc_codes=codes, ground_truth_file=path, columns=columns, **quality)
    assert len(expected) > 0
    assert sorted(got["sample_id"]) == sorted(expected["sample_id"])
    assert set(got["ref_id"]) == {"my_samples"}


def test_ground_truth_file_errors_name_the_file(rdm, tmp_path):
    with pytest.raises(BadParameterError, match="nothing.parquet"):
        rdm.get_samples(ground_truth_file=tmp_path / "nothing.parquet")
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(BadParameterError, match=r"notes\.txt.*allowed"):
        rdm.get_samples(ground_truth_file=bad)
    with pytest.raises(BadParameterError, match="not both"):
        rdm.get_samples(ref_ids=["a"], ground_truth_file=bad)


def test_ground_truth_file_at_a_url(rdm, rdm_url, demo_catalog):
    ref_id = rdm.get_collections(spatial_extent=(33.5, -5.0, 42.0, 5.5))[0].id
    url = rdm.get_download_url(ref_id)
    got = rdm.get_samples(ground_truth_file=url, ewoc_codes=None, progress=False)
    original = gpd.read_parquet(next(p for p in (demo_catalog / ref_id).glob("*.geoparquet")
                                     if not p.name.startswith("sample_")))
    assert sorted(got["sample_id"]) == sorted(original["sample_id"])


def test_sample_query_is_public(rdm):
    query = SampleQuery.build(spatial_extent=(36.0, -2.0, 39.0, 1.0), ewoc_codes=[1101060000])
    assert query.ewoc_codes == (1101060000,)
