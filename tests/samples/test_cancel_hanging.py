"""Cancellation and deadlines against a file server that hangs, messages naming collection and file, and
``ref_ids`` given as one string — over real HTTP."""

from __future__ import annotations

import threading
import time

import pytest

from worldcereal_explorer.errors import DownloadError, QueryCancelledError, RdmTimeoutError
from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.rdm.http import HttpPolicy, HttpTransport
from worldcereal_explorer.rdm.samples import SampleQuery, read_samples, read_samples_from_url

from .conftest import IDS
from .flaky_file_server import FlakyFileServer


def _leftover_threads(before: set[threading.Thread]) -> list[str]:
    """Threads started since ``before`` that still run, other than the servers' (the hanging file server's
    handlers, uvicorn's AnyIO workers) and the HTTP layer's watcher (it exits a second after the last request)."""
    servers = ("process_request_thread", "AnyIO worker thread")
    return [t.name for t in threading.enumerate() if t not in before and t.is_alive()
            and not any(s in t.name for s in servers) and t.name != "wce-http-watcher"]


@pytest.fixture(params=["headers", "body"])
def hanging_setup(request, sample_catalog):
    """The RDM API of the sample catalogue whose file URLs point at a server that hangs."""
    from worldcereal_explorer.server import serve_in_thread

    with FlakyFileServer(b"x" * 200_000, hang=request.param) as files, \
            serve_in_thread(sample_catalog, public_base_url=files.base_url) as api:
        yield api, files


def test_cancel_returns_promptly_from_a_hanging_file_server(hanging_setup):
    api, files = hanging_setup
    before = set(threading.enumerate())
    cancel = threading.Event()
    outcome: dict[str, object] = {}

    def run() -> None:
        with RdmClient(api.url, retries=1, backoff_factor=0.01, max_workers=2) as client:
            try:
                client.get_samples(ref_ids=IDS, progress=False, cancel_event=cancel)
                outcome["error"] = None
            except BaseException as exc:  # noqa: BLE001 - recorded for the assertions below
                outcome["error"] = exc
            outcome["returned"] = time.monotonic()

    caller = threading.Thread(target=run, name="test-caller")
    caller.start()
    assert files.hung.wait(30), "a range request reached the hanging server"
    deadline = time.monotonic() + 30
    while files.hanging < 2:  # both workers blocked in a request
        assert time.monotonic() < deadline, f"only {files.hanging} request(s) reached the hanging server"
        time.sleep(0.01)
    cancelled_at = time.monotonic()
    cancel.set()
    caller.join(10)
    assert not caller.is_alive()
    assert isinstance(outcome["error"], QueryCancelledError), outcome["error"]
    assert outcome["returned"] - cancelled_at < 2.0
    assert _leftover_threads(before | {caller}) == []


def test_deadline_stops_a_query_against_a_hanging_file_server(hanging_setup):
    api, _ = hanging_setup
    policy = HttpPolicy(retries=1, backoff_factor=0.01, download_deadline=1.0)
    with RdmClient(api.url, policy=policy, max_workers=2) as client:
        started = time.monotonic()
        with pytest.raises(RdmTimeoutError):
            client.get_samples(ref_ids=IDS[:2], progress=False)
        assert time.monotonic() - started < 3.0
    assert [t.name for t in threading.enumerate() if t.name.startswith("wce-samples")] == []


def test_not_a_parquet_file_names_the_collection_and_the_url_without_its_signature():
    url_path = "/files/private/2021_bel_signed_point_110/SIGNED.geoparquet"
    with FlakyFileServer(b"this is not parquet at all " * 100) as server:
        url = f"{server.base_url}{url_path}?expires=1&sig=VERYSECRETSIGNATURE"
        transport = HttpTransport(HttpPolicy(retries=0))
        with pytest.raises(DownloadError) as info:
            read_samples_from_url(transport, url, SampleQuery.build())
        transport.close()
    message = str(info.value)
    assert "2021_bel_signed_point_110" in message
    assert "not a valid Parquet file" in message
    assert f"{server.base_url}{url_path}" in message
    assert "VERYSECRETSIGNATURE" not in message and "sig=" not in message
    assert info.value.__cause__ is None


def test_ref_ids_as_one_string_reads_that_collection(sample_client):
    gdf = sample_client.get_samples(ref_ids=IDS[1], progress=False)
    assert len(gdf) > 0 and set(gdf["ref_id"]) == {IDS[1]}


def test_read_samples_takes_a_query_and_one_id(sample_client):
    query = SampleQuery.build(columns=["sample_id", "ewoc_code"], min_quality_lc=10)
    gdf = read_samples(sample_client, query, ref_ids=IDS[0], progress=False)
    assert list(gdf.columns) == ["sample_id", "ewoc_code", "geometry"]
    assert len(gdf) > 0
    assert gdf.attrs["read_stats"]["collections"] == 1
