"""The client's exact wire format and error handling, against a real loopback HTTP server that replays
the live RDM's recorded responses (../shared/data/api-examples) and injects faults."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.replay_server import ReplayServer, Reply
from worldcereal_explorer.errors import (
    AuthenticationError,
    BadParameterError,
    DownloadError,
    RdmConnectionError,
    RdmHttpError,
    RdmResponseError,
    UnknownCollectionError,
)
from worldcereal_explorer.legend import load_legend
from worldcereal_explorer.rdm.auth import StaticTokenProvider
from worldcereal_explorer.rdm.client import RdmClient, RdmInteraction

pytestmark = pytest.mark.shared_data


def example(shared_data: Path, name: str):
    return json.loads((shared_data / "api-examples" / name).read_text())


@pytest.fixture
def replay():
    with ReplayServer() as server:
        yield server


@pytest.fixture
def legend(shared_data):
    return load_legend(shared_data / "legend" / "WorldCereal_LC_CT_legend.csv")


@pytest.fixture
def rdm(replay, legend):
    with RdmClient(replay.url, retries=2, backoff_factor=0.01, legend=legend) as client:
        yield client


def test_search_default_sends_world_bbox_and_anonymous_headers(rdm, replay, shared_data, monkeypatch):
    monkeypatch.delenv("WORLDCEREAL_RDM_TOKEN", raising=False)
    replay.add("/collections/search", Reply(body=json.dumps(example(shared_data, "collections_search_response_2024-09.json"))))
    collections = rdm.get_collections()
    assert len(collections) == 10
    assert collections[0].id == "2019afnhicropharvestpoly100"
    request = replay.requests[-1]
    assert request.raw_query == "Bbox=-180.0&Bbox=-90.0&Bbox=180.0&Bbox=90.0"
    assert request.headers["accept"] == "*/*"
    assert "Authorization" not in request.headers


def test_search_filters_wire_format(rdm, replay, shared_data):
    replay.add("/collections/search", Reply(body="[]"))

    class BoundingBoxExtent:  # the shape of openeo_gfmap's class, without depending on it
        west, south, east, north = -0.91010781, 34.45619011, -0.34539808, 34.79638823

    class TemporalContext:
        start_date, end_date = "2020-01-01", "2020-12-31"

    assert rdm.get_collections(bbox=BoundingBoxExtent(), temporal_extent=TemporalContext(),
                               ewoc_codes=[1106000020, 1101010002]) == []
    assert replay.requests[-1].raw_query == (
        "Bbox=-0.91010781&Bbox=34.45619011&Bbox=-0.34539808&Bbox=34.79638823"
        "&ValidityTime.Start=2020-01-01T00%3A00%3A00Z&ValidityTime.End=2020-12-31T23%3A59%3A59Z"
        "&EwocCodes=1106000020&EwocCodes=1101010002"
    )


def test_privacy_filter_on_recorded_authenticated_listing(rdm, replay, shared_data):
    listing = example(shared_data, "collections_response_MaxResultCount100_authenticated_2024-07.json")["items"]
    replay.add("/collections/search", Reply(body=json.dumps(listing)))
    public = rdm.get_collections()
    assert len(public) == 72 and all(c.access_type == "Public" for c in public)
    rdm.token_provider = StaticTokenProvider("header.payload.signature")
    private = rdm.get_collections(include_public=False, include_private=True)
    assert len(private) == 4 and all(c.access_type == "Private" for c in private)
    assert replay.requests[-1].headers["Authorization"] == "Bearer header.payload.signature"
    both = rdm.get_collections(include_private=True)
    assert len(both) == 76
    with pytest.raises(BadParameterError, match="select nothing"):
        rdm.get_collections(include_public=False, include_private=False)


def test_private_with_unreachable_identity_provider_is_a_clear_error(replay, legend, monkeypatch, tmp_path):
    """Asking for private data starts the device login; a dead provider ends it with a clear message."""
    monkeypatch.delenv("WORLDCEREAL_RDM_TOKEN", raising=False)
    monkeypatch.delenv("WORLDCEREAL_RDM_REFRESH_TOKEN", raising=False)
    monkeypatch.setenv("WORLDCEREAL_OIDC_ISSUER", "http://127.0.0.1:9")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    replay.add("/collections/search", Reply(body="[]"))
    with RdmClient(replay.url, legend=legend) as rdm, pytest.raises(AuthenticationError) as info:
        rdm.get_collections(include_private=True)
    assert "http://127.0.0.1:9" in str(info.value)
    assert replay.requests == []  # nothing was searched without the login


def test_paged_listing(rdm, replay, shared_data):
    everything = example(shared_data, "collections_list_all_public_2024-09.json")
    pages = example(shared_data, "collections_pages_MaxResultCount10_2024-11.json")
    first = {"totalCount": 97, "items": everything[:10]}
    replay.add("/collections", *[Reply(body=json.dumps(p)) for p in [first, *pages]])
    collections = rdm.list_collections(page_size=10)
    assert len(collections) == 97
    assert [r.query for r in replay.requests][:2] == [
        [("SkipCount", "0"), ("MaxResultCount", "10")],
        [("SkipCount", "10"), ("MaxResultCount", "10")],
    ]
    assert len(replay.requests) == 10


def test_metadata_and_stats_from_recorded_metadata(rdm, replay, shared_data):
    ref_id = "2019afnhicropharvestpoly100"
    items = example(shared_data, f"collection_metadata_items_{ref_id}_2024-09.json")
    replay.add(f"/collections/{ref_id}/metadata/items", Reply(body=json.dumps(items)))
    metadata = rdm.get_collection_metadata(ref_id)
    assert len(metadata) == 42
    assert metadata["GeoParquetDownloadUrl"].endswith(".geoparquet")
    expected = example(shared_data, f"metadata_codeStats_{ref_id}_2024-09.json")
    stats = rdm.get_collection_stats(ref_id)
    assert stats.index.name == "Code" and list(stats.columns) == ["Count", "Label"]
    assert stats["Count"].sum() == sum(e["Count"] for e in expected["EwocStats"]) == 1923
    assert list(stats["Count"]) == sorted(stats["Count"], reverse=True)
    assert stats.loc[1000000000, "Label"] == "cropland_unspecified"
    irrigation = rdm.get_collection_stats(ref_id, stats_type="irrigation")
    assert irrigation["Count"].sum() == sum(e["Count"] for e in expected["IrrStats"])
    land_cover = rdm.get_collection_stats(ref_id, stats_type="land_cover")
    assert land_cover["Count"].sum() == sum(e["Count"] for e in expected["LcStats"])
    with pytest.raises(BadParameterError, match="'crops'.*crop_type"):
        rdm.get_collection_stats(ref_id, stats_type="crops")


def test_crop_counts_pivot(rdm, replay, shared_data):
    ids = ["2017_tza_osfafsis_point_110", "2017bellpisflanderspoly110"]
    for ref_id, name in zip(ids, ["metadata_codeStats_2017_tza_osfafsis_point_110_2025.json",
                                  "metadata_codeStats_2017bellpisflanderspoly110_2024-06.json"], strict=True):
        stats = example(shared_data, name)
        body = {"ewocStats": [{"code": e["Code"], "count": e["Count"]} for e in stats["EwocStats"]]}
        replay.add(f"/collections/{ref_id}/items/codestats", Reply(body=json.dumps(body)))
    replay.add("/collections/no_stats_here/items/codestats", Reply(body=json.dumps({"lcStats": []})))
    counts = rdm.get_crop_counts([*ids, "no_stats_here"])
    assert list(counts.columns) == sorted(ids)
    assert counts.index.names == ["ewoc_code", "Label"]
    assert counts[ids[0]].sum() == 192
    assert counts[ids[1]].sum() == 518_448
    assert (counts.dtypes == "int64").all()
    assert counts.attrs["skipped"] == ["no_stats_here"]
    maize = counts.xs(1101060000, level="ewoc_code")
    assert maize.index[0] == "maize" and maize.iloc[0][ids[0]] == 91
    subset = rdm.get_crop_counts(ids, ewoc_codes=[1101060000, 1101010001])
    assert list(subset.index.get_level_values(0)) == [1101010001, 1101060000]
    assert subset.loc[(1101010001, "unspecified_winter_wheat"), ids[0]] == 0  # missing = 0


def test_items_route(rdm, replay, shared_data):
    ref_id = "2017afoneacrefundmelpoint110"
    page = example(shared_data, f"collection_items_response_{ref_id}_2024-07.json")
    replay.add(f"/collections/{ref_id}/items", Reply(body=json.dumps(page)))
    gdf = rdm.get_items(ref_id, bbox=(34, 0, 36, 2), max_items=10)
    assert len(gdf) == 10
    assert gdf.crs.to_epsg() == 4326
    assert pd.api.types.is_datetime64_any_dtype(gdf["valid_time"])
    assert set(gdf["ref_id"]) == {ref_id}
    query = dict(replay.requests[-1].query)
    assert query["MaxResultCount"] == "10" and query["SkipCount"] == "0"


def test_retries_honour_retry_after_then_succeed(rdm, replay):
    replay.add(
        "/collections/search",
        Reply(503, '{"error":{"message":"busy"}}', headers={"Retry-After": "0"}),
        Reply(429, "slow down", headers={"Retry-After": "0"}),
        Reply(200, "[]"),
    )
    assert rdm.get_collections() == []
    assert len(replay.requests) == 3


def test_persistent_5xx_is_an_rdm_http_error(rdm, replay):
    replay.add("/collections/search", Reply(502, "<html>bad gateway</html>", content_type="text/html"))
    with pytest.raises(RdmHttpError) as info:
        rdm.get_collections()
    assert "/collections/search" in str(info.value)
    assert len(replay.requests) == 3  # 1 + 2 retries


def test_non_json_answer_is_a_response_error(rdm, replay):
    replay.add("/collections/search", Reply(200, "<html>login page</html>", content_type="text/html"))
    with pytest.raises(RdmResponseError, match="not JSON"):
        rdm.get_collections()


def test_unknown_collection(rdm, replay):
    with pytest.raises(UnknownCollectionError, match="'2099_nowhere_none_poly_110'"):
        rdm.get_collection_metadata("2099_nowhere_none_poly_110")
    with pytest.raises(BadParameterError, match="'../etc/passwd'"):
        rdm.get_collection_metadata("../etc/passwd")


def test_connection_refused():
    with RdmClient("http://127.0.0.1:9", retries=1, backoff_factor=0.01) as rdm, pytest.raises(
        RdmConnectionError, match="127.0.0.1:9"
    ):
        rdm.get_collections()


def test_download_url_plain_text_and_token_stays_on_rdm_host(replay, legend, tmp_path):
    ref_id = "2021_xyz_demo_point_110"
    with ReplayServer() as storage:
        file_url = f"{storage.url}/public/{ref_id}/2021_XYZ_DEMO_POINT_110.geoparquet"
        replay.add(f"/collections/{ref_id}/download", Reply(body=file_url, content_type="text/plain"))
        replay.add(f"/collections/{ref_id}/sample/download", Reply(body=json.dumps(file_url)))  # JSON-quoted: lenient
        parquet_bytes = _tiny_parquet()
        storage.add(f"/public/{ref_id}/2021_XYZ_DEMO_POINT_110.geoparquet",
                    Reply(body=parquet_bytes, content_type="application/octet-stream"))
        with RdmClient(replay.url, legend=legend, token_provider=StaticTokenProvider("tok.en.value")) as rdm:
            assert rdm.get_download_url(ref_id) == file_url
            assert rdm.get_download_url(ref_id, subset=True) == file_url
            assert file_url.split("/")[-2] == ref_id
            path = rdm.download_collection_geoparquet(ref_id, tmp_path / "dl")
        assert path.name == "2021_XYZ_DEMO_POINT_110.geoparquet" and path.read_bytes() == parquet_bytes
        assert replay.requests[0].headers["Authorization"] == "Bearer tok.en.value"
        assert "Authorization" not in storage.requests[0].headers  # never leak the token to storage


def _tiny_parquet() -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"sample_id": ["a", "b"], "ewoc_code": [1101060000, 1101080000]}), buffer)
    return buffer.getvalue()


def test_invalid_download_leaves_nothing(rdm, replay, tmp_path):
    ref_id = "2021_xyz_demo_point_110"
    replay.add(f"/collections/{ref_id}/download", Reply(body=f"{replay.url}/files/{ref_id}/x.geoparquet"))
    replay.add(f"/files/{ref_id}/x.geoparquet", Reply(body=b"<html>not parquet</html>", content_type="text/html"))
    with pytest.raises(DownloadError, match="not a valid Parquet"):
        rdm.download_collection_geoparquet(ref_id, tmp_path)
    assert list(tmp_path.iterdir()) == []
    replay.add(f"/collections/{ref_id}/metadata/items", Reply(body="[]"))
    with pytest.raises(DownloadError, match="only public collections"):
        rdm.download_collection_harmonization_info(ref_id, tmp_path)


def test_rdm_interaction_alias():
    assert RdmInteraction is RdmClient
    from worldcereal_explorer import RdmInteraction as top_level

    assert top_level is RdmClient


def test_point_bbox_is_widened_to_a_valid_polygon(rdm, replay):
    replay.add("/collections/search", Reply(body="[]"))
    rdm.get_collections(bbox=(5.0, 50.0, 5.0, 50.0))
    bbox = [float(v) for k, v in replay.requests[-1].query if k == "Bbox"]
    assert bbox[0] < 5.0 < bbox[2] and bbox[1] < 50.0 < bbox[3]
    assert bbox[2] - bbox[0] < 1e-5


def test_empty_code_list_means_no_code_filter_as_in_the_reference(rdm, replay, shared_data, caplog):
    replay.add("/collections/search", Reply(body=json.dumps(example(shared_data, "collections_search_response_2024-09.json"))))
    with caplog.at_level("INFO", logger="worldcereal_explorer"):
        everything = rdm.get_collections(ewoc_codes=[])
    assert everything and len(replay.requests) == 1
    assert not any(name == "EwocCodes" for name, _ in replay.requests[0].query)
    assert "no crop-code filter" in caplog.text


def test_retry_after_is_capped():
    from urllib3 import HTTPResponse

    from worldcereal_explorer.rdm.http import HttpPolicy, HttpTransport

    policy = HttpPolicy(max_retry_after=7.0)
    retry = HttpTransport(policy).session.get_adapter("http://x").max_retries
    assert retry.get_retry_after(HTTPResponse(status=503, headers={"Retry-After": "3600"})) == 7.0
    assert retry.get_retry_after(HTTPResponse(status=503, headers={"Retry-After": "2"})) == 2


def test_json_encoded_download_url_is_decoded(rdm, replay):
    ref_id = "2021_xyz_demo_point_110"
    signed = f"https://storage.example/private/{ref_id}/x.geoparquet?sv=1&sig=abc"
    replay.add(f"/collections/{ref_id}/download", Reply(body=json.dumps(signed).replace("&", "\\u0026")))
    assert rdm.get_download_url(ref_id) == signed


def test_items_no_match_redirect_to_html_is_empty(rdm, replay):
    ref_id = "2017afoneacrefundmelpoint110"
    replay.add(f"/collections/{ref_id}/items", Reply(302, "", headers={"Location": "/Error?statusCode=404"}))
    replay.add("/Error", Reply(200, "<html>Error</html>", content_type="text/html"))
    replay.add(f"/collections/{ref_id}/metadata/items", Reply(body="[]"))
    assert len(rdm.get_items(ref_id, bbox=(0, 0, 1, 1))) == 0
    with pytest.raises(UnknownCollectionError):
        rdm.get_items("2099_unknown_none_point_110")


def test_crop_counts_skip_failing_collections_on_request(rdm, replay):
    good, bad = "2017_tza_osfafsis_point_110", "2018_bad_broken_point_110"
    # PascalCase entries, as in the metadata's codeStats, are read too.
    replay.add(f"/collections/{good}/items/codestats",
               Reply(body=json.dumps({"EwocStats": [{"Code": 1101060000, "Count": 91}]})))
    replay.add(f"/collections/{bad}/items/codestats", Reply(502, "<html>bad gateway</html>", content_type="text/html"))
    with pytest.raises(RdmHttpError, match=bad):
        rdm.get_crop_counts([good, bad])
    counts = rdm.get_crop_counts([good, bad], on_error="skip")
    assert list(counts.columns) == [good]
    assert counts.attrs["skipped"] == [bad]
    assert counts.loc[(1101060000, "maize"), good] == 91


def test_samples_of_named_private_collections_start_the_login(replay, legend, monkeypatch, tmp_path):
    monkeypatch.delenv("WORLDCEREAL_RDM_TOKEN", raising=False)
    monkeypatch.delenv("WORLDCEREAL_RDM_REFRESH_TOKEN", raising=False)
    monkeypatch.setenv("WORLDCEREAL_OIDC_ISSUER", "http://127.0.0.1:9")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with RdmClient(replay.url, legend=legend) as rdm, pytest.raises(AuthenticationError, match="127.0.0.1:9"):
        rdm.get_samples(ref_ids=["2023_nld_privatedemo_poly_110"], include_private=True, progress=False)
    assert replay.requests == []
