"""Failure play over real HTTP: failing download routes, 5xx bursts that recover, paced file downloads."""

from __future__ import annotations

import concurrent.futures
import time

import pytest
import requests

from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.server import create_app, serve_in_thread
from worldcereal_explorer.server.faults import FailurePlay, failure_play_from_env, failure_play_kwargs

PUBLIC_ID = "2021_bel_lpisdemo_poly_110"
SMALL_PUBLIC_ID = "2022_tza_smallholderdemo_poly_110"
OTHER_ID = "2021_usa_cornbeltdemo_point_110"


def metadata_urls(url: str, cid: str) -> dict[str, str]:
    items = requests.get(f"{url}/collections/{cid}/metadata/items", timeout=30).json()
    return {i["name"]: i["value"] for i in items}


def test_failing_download_ids_answer_500_after_the_delay_but_metadata_urls_still_work(demo_catalog):
    with serve_in_thread(demo_catalog, failing_download_ids=[PUBLIC_ID], download_fail_delay_s=0.3) as server:
        for route in ("download", "sample/download"):
            started = time.monotonic()
            reply = requests.get(f"{server.url}/collections/{PUBLIC_ID}/{route}", timeout=30)
            assert time.monotonic() - started >= 0.29  # asyncio.sleep never returns early
            assert reply.status_code == 500
            assert reply.json()["error"]["code"] == "InternalError"
        urls = metadata_urls(server.url, PUBLIC_ID)
        for key in ("GeoParquetDownloadUrl", "SampleDownloadUrl"):
            fetched = requests.get(urls[key], headers={"Range": "bytes=0-3"}, timeout=30)
            assert fetched.status_code == 206 and fetched.content == b"PAR1"
        other = requests.get(f"{server.url}/collections/{OTHER_ID}/download", timeout=30)
        assert other.status_code == 200 and other.text.startswith(server.url)
        spec = requests.get(f"{server.url}/openapi.json", timeout=30).json()
        assert "500" in spec["paths"]["/collections/{collection_id}/download"]["get"]["responses"]


def test_hidden_collections_stay_404_even_when_their_downloads_fail(demo_catalog):
    private = "2023_nld_privatedemo_poly_110"
    with serve_in_thread(demo_catalog, failing_download_ids=[private]) as server:
        assert requests.get(f"{server.url}/collections/{private}/download", timeout=30).status_code == 404


def test_flaky_ids_answer_503_for_the_first_requests_then_recover(demo_catalog):
    with serve_in_thread(demo_catalog, flaky_ids=f"{PUBLIC_ID}, {SMALL_PUBLIC_ID}", flaky_failures=2) as server:
        statuses = [requests.get(f"{server.url}/collections/{PUBLIC_ID}", timeout=30).status_code for _ in range(3)]
        assert statuses == [503, 503, 200]
        burst = requests.get(f"{server.url}/collections/{SMALL_PUBLIC_ID}/items/codestats", timeout=30)
        assert burst.status_code == 503 and burst.json()["error"]["code"] == "ServiceUnavailable"
        # Every route about the id counts, file URLs included; other ids and searches are unaffected.
        assert requests.get(f"{server.url}/collections/{OTHER_ID}", timeout=30).status_code == 200
        search = requests.get(f"{server.url}/collections/search", params={"Bbox": [-180, -90, 180, 90]}, timeout=30)
        assert search.status_code == 200
        assert requests.get(f"{server.url}/collections/{SMALL_PUBLIC_ID}/download", timeout=30).status_code == 503
        url = requests.get(f"{server.url}/collections/{SMALL_PUBLIC_ID}/download", timeout=30).text
        assert requests.get(url, headers={"Range": "bytes=0-3"}, timeout=30).content == b"PAR1"


def test_flaky_window_answers_503_for_a_while_then_recovers(demo_catalog):
    with serve_in_thread(demo_catalog, flaky_ids="*", flaky_window_s=0.5) as server:
        first_503 = time.monotonic()
        assert requests.get(f"{server.url}/collections", timeout=30).status_code == 503
        assert requests.get(f"{server.url}/legend.csv", timeout=30).status_code == 503
        assert requests.get(f"{server.url}/", timeout=30).status_code == 200  # the readiness probe never fails
        deadline = time.monotonic() + 10
        while (status := requests.get(f"{server.url}/collections", timeout=30).status_code) == 503:
            assert time.monotonic() < deadline, "the burst never ended"
            time.sleep(0.05)  # poll interval while waiting for the burst window to close
        assert status == 200 and time.monotonic() - first_503 >= 0.5


def test_bandwidth_cap_paces_file_downloads_and_keeps_ranges(demo_catalog):
    path = next(p for p in (demo_catalog / PUBLIC_ID).glob("*.geoparquet") if not p.name.startswith("sample_"))
    data = path.read_bytes()
    rate = len(data) / 0.6  # the whole file should take about 0.6 s
    with serve_in_thread(demo_catalog, max_bytes_per_s=rate) as server:
        url = requests.get(f"{server.url}/collections/{PUBLIC_ID}/download", timeout=30).text
        started = time.monotonic()
        first_byte_s = None
        received = bytearray()
        with requests.get(url, stream=True, timeout=30) as reply:
            for chunk in reply.iter_content(chunk_size=1024):
                first_byte_s = time.monotonic() - started if first_byte_s is None else first_byte_s
                received += chunk
        elapsed = time.monotonic() - started
        assert bytes(received) == data
        assert elapsed >= 0.5, elapsed  # a lower bound only: pacing never sends early
        assert first_byte_s is not None and first_byte_s < elapsed / 2  # streamed in paced pieces, not held back
        part = requests.get(url, headers={"Range": "bytes=100-1099"}, timeout=30)
        assert part.status_code == 206 and part.content == data[100:1100]
        assert requests.head(url, timeout=30).headers["content-length"] == str(len(data))
        # API routes are not paced.
        started = time.monotonic()
        requests.get(f"{server.url}/collections/{PUBLIC_ID}", timeout=30).raise_for_status()
        assert time.monotonic() - started < 0.5
        # The cap is the server's link, not each connection's: two downloads at once share it.
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            bodies = list(pool.map(lambda _: requests.get(url, timeout=30).content, range(2)))
        elapsed = time.monotonic() - started
        assert bodies == [data, data]
        assert elapsed >= 1.0, elapsed  # 2 x 0.6 s of bytes through one link; per connection it took 0.6 s


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"download_fail_delay_s": -1}, "download_fail_delay_s=-1"),
        ({"flaky_window_s": -0.5}, "flaky_window_s=-0.5"),
        ({"flaky_failures": -2}, "flaky_failures=-2"),
        ({"max_bytes_per_s": 0}, "max_bytes_per_s=0"),
    ],
)
def test_bad_failure_play_settings_are_refused(demo_catalog, kwargs, fragment):
    with pytest.raises(BadParameterError, match=fragment):
        create_app(demo_catalog, **kwargs)


def test_failure_play_defaults_and_environment():
    assert FailurePlay(flaky_ids=["a"]).flaky_failures == 3
    assert FailurePlay(flaky_ids=["a"], flaky_window_s=2).flaky_failures == 0
    assert FailurePlay(failing_download_ids=" a, b ,").failing_download_ids == frozenset({"a", "b"})
    env = {"WORLDCEREAL_SERVER_FAILING_DOWNLOAD_IDS": "x,y", "WORLDCEREAL_SERVER_DOWNLOAD_FAIL_DELAY_S": "1.5",
           "WORLDCEREAL_SERVER_FLAKY_IDS": "*", "WORLDCEREAL_SERVER_FLAKY_FAILURES": "4",
           "WORLDCEREAL_SERVER_MAX_BYTES_PER_S": "20e6", "WORLDCEREAL_SERVER_FLAKY_WINDOW_S": ""}
    assert failure_play_from_env(env) == {"failing_download_ids": frozenset({"x", "y"}), "download_fail_delay_s": 1.5,
                                          "flaky_ids": frozenset({"*"}), "flaky_failures": 4,
                                          "max_bytes_per_s": 20e6}
    import argparse

    args = argparse.Namespace(failing_download_ids=None, download_fail_delay=None, flaky_ids=None,
                              flaky_failures=1, flaky_window=None, max_bytes_per_s=None)
    assert failure_play_kwargs(args, env)["flaky_failures"] == 1  # the option wins over the variable
    with pytest.raises(BadParameterError, match="WORLDCEREAL_SERVER_FLAKY_FAILURES='many'"):
        failure_play_from_env({"WORLDCEREAL_SERVER_FLAKY_FAILURES": "many"})
