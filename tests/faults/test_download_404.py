"""A download route answering 404 for a collection the search lists (issue 25): the client falls back to the
metadata's file URLs, as on a 5xx, while an id that truly does not exist still gives UnknownCollectionError.
Over real HTTP against the local RDM server with its ``download_404_ids`` failure play; the requests each call
makes are counted by the server's own traffic counters."""

from __future__ import annotations

import argparse
import shutil
import time

import pytest
import requests

from worldcereal_explorer.errors import BadParameterError, RdmHttpError, UnknownCollectionError
from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.server import serve_in_thread
from worldcereal_explorer.server.faults import (
    ENV_DOWNLOAD_404_IDS,
    FailurePlay,
    failure_play_from_env,
    failure_play_kwargs,
)

from .conftest import Anonymous

LISTED = "2021_bel_lpisdemo_poly_110"
OTHER = "2021_usa_cornbeltdemo_point_110"
PRIVATE = "2023_nld_privatedemo_poly_110"
MISSING = "2099_xyz_nosuchdemo_poly_110"


def metadata_urls(url: str, cid: str) -> dict[str, str]:
    items = requests.get(f"{url}/collections/{cid}/metadata/items", timeout=30).json()
    return {i["name"]: i["value"] for i in items if i["name"].endswith("DownloadUrl")}


def requests_to(server, cid: str, expected: dict[str, int] | None = None) -> dict[str, int]:
    """Requests the server answered per route of ``cid`` (its own counters). The server counts a response after
    sending it, so a client may see the answer first: with ``expected``, wait up to 5 s for the counts to match
    (a count that overshoots never matches, so the test still fails)."""
    prefix = f"/collections/{cid}"
    deadline = time.monotonic() + 5.0
    while True:
        counts = {path[len(prefix):] or "/": entry["requests"]
                  for path, entry in server.app.state.stats.snapshot()["by_path"].items() if path.startswith(prefix)}
        if expected is None or counts == expected or time.monotonic() > deadline:
            return counts
        time.sleep(0.02)


def reset_counts(server, cid: str, pending: dict[str, int]) -> None:
    """Zero the server's counters once the requests already answered (``pending``) are counted: a response
    counted after the reset would otherwise be taken for one of the client's."""
    requests_to(server, cid, pending)
    server.app.state.stats.reset()


@pytest.fixture
def client_for():
    made = []

    def factory(url: str) -> RdmClient:
        made.append(RdmClient(url, retries=1, backoff_factor=0.01, token_provider=Anonymous()))
        return made[-1]

    yield factory
    for client in made:
        client.close()


def test_the_fault_answers_404_like_an_unknown_id_while_the_collection_exists(demo_catalog):
    with serve_in_thread(demo_catalog, download_404_ids=[LISTED]) as server:
        for route in ("download", "sample/download"):
            reply = requests.get(f"{server.url}/collections/{LISTED}/{route}", timeout=30)
            unknown = requests.get(f"{server.url}/collections/{MISSING}/{route}", timeout=30)
            assert reply.status_code == unknown.status_code == 404
            assert reply.json() == {"error": {**unknown.json()["error"],
                                              "message": unknown.json()["error"]["message"].replace(MISSING, LISTED)}}
        assert requests.get(f"{server.url}/collections/{LISTED}", timeout=30).status_code == 200
        assert set(metadata_urls(server.url, LISTED)) == {"GeoParquetDownloadUrl", "SampleDownloadUrl"}
        assert requests.get(f"{server.url}/collections/{OTHER}/download", timeout=30).status_code == 200


def test_a_listed_collection_whose_route_answers_404_falls_back_to_the_metadata_urls(demo_catalog, client_for):
    with serve_in_thread(demo_catalog, download_404_ids=[LISTED]) as server:
        client = client_for(server.url)
        assert LISTED in {c.id for c in client.get_collections()}  # the search lists it
        urls = metadata_urls(server.url, LISTED)
        reset_counts(server, LISTED, {"/metadata/items": 1})
        assert client.get_download_url(LISTED) == urls["GeoParquetDownloadUrl"]
        wanted = {"/download": 1, "/metadata/items": 1}  # one request to the route, then the metadata
        assert requests_to(server, LISTED, wanted) == wanted
        assert client.get_download_url(LISTED, subset=True) == urls["SampleDownloadUrl"]
        wanted = {"/download": 1, "/sample/download": 1, "/metadata/items": 2}
        assert requests_to(server, LISTED, wanted) == wanted
        # the route that failed for an existing collection is skipped next time, as a 5xx route is
        assert client.get_download_url(LISTED) == urls["GeoParquetDownloadUrl"]
        wanted = {"/download": 1, "/sample/download": 1, "/metadata/items": 3}
        assert requests_to(server, LISTED, wanted) == wanted


def test_an_id_that_does_not_exist_still_is_unknown_naming_it(demo_catalog, client_for):
    with serve_in_thread(demo_catalog, download_404_ids=[LISTED]) as server:
        client = client_for(server.url)
        for subset in (False, True):
            with pytest.raises(UnknownCollectionError) as caught:
                client.get_download_url(MISSING, subset=subset)
            assert MISSING in str(caught.value)
        wanted = {"/download": 1, "/sample/download": 1, "/metadata/items": 2}  # one route request each
        assert requests_to(server, MISSING, wanted) == wanted
        # a collection hidden from an anonymous caller gets the same answer (private ids cannot be confirmed)
        with pytest.raises(UnknownCollectionError, match=PRIVATE):
            client.get_download_url(PRIVATE)


def test_samples_and_downloads_of_such_a_collection_work(demo_catalog, client_for, tmp_path):
    with serve_in_thread(demo_catalog) as healthy, serve_in_thread(demo_catalog, download_404_ids=[LISTED]) as faulty:
        expected = client_for(healthy.url).get_samples(ref_ids=[LISTED], progress=False)
        got = client_for(faulty.url).get_samples(ref_ids=[LISTED], progress=False)
        assert len(got) == len(expected) > 0
        assert sorted(got["sample_id"]) == sorted(expected["sample_id"])
        subset = client_for(faulty.url).get_samples(ref_ids=[LISTED], subset=True, progress=False)
        assert len(subset) > 0 and (subset["extract"] > 0).all()
        path = client_for(faulty.url).download_collection_geoparquet(LISTED, tmp_path)
        direct = requests.get(metadata_urls(faulty.url, LISTED)["GeoParquetDownloadUrl"], timeout=60)
        assert path.read_bytes() == direct.content


def test_no_subset_file_stays_a_404_and_readers_use_the_full_file(demo_catalog, client_for, tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(demo_catalog, catalog)
    (subset_file,) = (catalog / OTHER).glob("sample_*.parquet")
    subset_file.unlink()  # a collection without an extraction subset: its metadata has no SampleDownloadUrl
    with serve_in_thread(catalog, download_404_ids=[OTHER]) as server:
        assert set(metadata_urls(server.url, OTHER)) == {"GeoParquetDownloadUrl"}
        client = client_for(server.url)
        for attempt in range(2):  # the second one skips the route it remembers
            with pytest.raises(RdmHttpError) as caught:
                client.get_download_url(OTHER, subset=True)
            assert caught.value.status == 404 and not isinstance(caught.value, UnknownCollectionError)
            assert f"collection {OTHER!r} has no subset file" in str(caught.value)
            assert "SampleDownloadUrl: missing" in str(caught.value)
            wanted = {"/sample/download": 1, "/metadata/items": 2 + attempt}  # the test's own read is the 1st
            assert requests_to(server, OTHER, wanted) == wanted, attempt
        full = client.get_samples(ref_ids=[OTHER], progress=False)
        subset = client.get_samples(ref_ids=[OTHER], subset=True, progress=False)
        assert len(subset) == int((full["extract"] > 0).sum()) > 0


def test_5xx_fallback_is_unchanged(demo_catalog, client_for):
    with serve_in_thread(demo_catalog, failing_download_ids=[LISTED]) as server:
        client = client_for(server.url)
        urls = metadata_urls(server.url, LISTED)
        reset_counts(server, LISTED, {"/metadata/items": 1})
        assert client.get_download_url(LISTED) == urls["GeoParquetDownloadUrl"]
        counted = requests_to(server, LISTED, {"/download": 2, "/metadata/items": 1})
        assert counted["/metadata/items"] == 1 and counted["/download"] >= 1  # a 5xx route is retried once
        with pytest.raises(UnknownCollectionError, match=MISSING):
            client.get_download_url(MISSING)


def test_download_404_ids_settings_and_their_errors():
    assert FailurePlay(download_404_ids=" a, b ,").download_404_ids == frozenset({"a", "b"})
    with pytest.raises(BadParameterError, match="'a' are in both failing_download_ids"):
        FailurePlay(failing_download_ids="a", download_404_ids="a,b")
    assert failure_play_from_env({ENV_DOWNLOAD_404_IDS: "x,y"}) == {"download_404_ids": frozenset({"x", "y"})}
    args = argparse.Namespace(download_404_ids="z")
    assert failure_play_kwargs(args, environ={ENV_DOWNLOAD_404_IDS: "x"}) == {"download_404_ids": "z"}
