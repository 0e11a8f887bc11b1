"""Every public call ends within its total deadline, whatever the server does (hang, trickle, 5xx forever)."""

from __future__ import annotations

import pytest

from worldcereal_explorer.errors import DownloadError, RdmHttpError, RdmTimeoutError
from worldcereal_explorer.rdm.http import HttpPolicy

from . import fault_server as fs
from .conftest import assert_ours, call_raising, record

DEADLINE = 5.0
SLACK = 1.5
A, B = fs.COLLECTION_IDS

CALLS = {
    "get_collections": lambda c: c.get_collections(bbox=(3, 50, 5, 51)),
    "list_collections": lambda c: c.list_collections(),
    "get_collection": lambda c: c.get_collection(A),
    "get_collection_metadata": lambda c: c.get_collection_metadata(A),
    "get_code_stats": lambda c: c.get_code_stats(A),
    "get_collection_stats": lambda c: c.get_collection_stats(A),
    "get_crop_counts": lambda c: c.get_crop_counts([A, B]),
    "get_download_url": lambda c: c.get_download_url(A),
    "get_download_urls": lambda c: c.get_download_urls([A, B]),
    "get_items": lambda c: c.get_items(A, max_items=5),
}

FAULTS = {
    "hang before headers": (fs.hang, RdmTimeoutError),
    "trickle 1 byte / 0.5 s": (fs.trickle, RdmTimeoutError),
    "503 forever": (lambda: fs.status(503), RdmHttpError),
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("call", list(CALLS))
def test_api_call_ends_within_deadline(server, make_client, fault, call):
    factory, expected = FAULTS[fault]
    server.default = factory()
    client = make_client(server.url, timeout=(2, 3), retries=2, deadline=DEADLINE)
    exc, took, _ = call_raising(lambda: CALLS[call](client))
    record(f"deadline {DEADLINE:g}s: {fault} / {call}", took, exc)
    assert_ours(exc)
    if call.startswith("get_download_url") and expected is RdmHttpError:
        # The download-URL calls fall back to the metadata's URL; when both fail they say so in one error.
        expected = DownloadError
    assert isinstance(exc, expected), f"{type(exc).__name__}: {exc}"
    assert took <= DEADLINE + SLACK, f"{call} took {took:.2f} s under '{fault}'"


DOWNLOAD_POLICY = dict(connect_timeout=2, read_timeout=3, retries=2, deadline=DEADLINE, download_deadline=DEADLINE,
                       download_read_timeout=3)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fault", ["hang before headers", "trickle 1 byte / 0.5 s"])
@pytest.mark.parametrize("which", ["geoparquet", "metadata"])
def test_download_ends_within_deadline(server, make_client, tmp_path, fault, which, payloads):
    if which == "geoparquet":
        path = f"/files/{A}/{A}.geoparquet"
        body, ctype = payloads["parquet"]
    else:
        path = f"/collections/{A}/metadata/download"
        body, ctype = payloads["xlsx"]
    server.set(path, fs.hang() if fault.startswith("hang") else fs.trickle(body, content_type=ctype))
    client = make_client(server.url, policy=HttpPolicy(**DOWNLOAD_POLICY))
    dst = tmp_path / "out"
    if which == "geoparquet":
        exc, took, _ = call_raising(lambda: client.download_collection_geoparquet(A, dst))
    else:
        exc, took, _ = call_raising(lambda: client.download_collection_metadata(A, dst))
    record(f"download deadline {DEADLINE:g}s: {fault} / {which}", took, exc)
    assert_ours(exc)
    assert isinstance(exc, RdmTimeoutError), f"{type(exc).__name__}: {exc}"
    assert took <= DEADLINE + SLACK
    assert not dst.exists() or not any(dst.iterdir())


@pytest.mark.timeout(30)
def test_trickling_download_is_cut_off_by_min_rate(server, make_client, tmp_path, payloads):
    body, ctype = payloads["parquet"]
    server.set(f"/files/{A}/{A}.geoparquet", fs.trickle(body, content_type=ctype, interval=0.05))
    client = make_client(server.url, policy=HttpPolicy(connect_timeout=2, read_timeout=2, download_read_timeout=2,
                                                       retries=1, download_deadline=20, min_download_rate=1024))
    exc, took, _ = call_raising(lambda: client.download_collection_geoparquet(A, tmp_path / "d"))
    record("trickling file, min_download_rate 1 KiB/s, deadline 20 s", took, exc)
    assert_ours(exc)
    assert isinstance(exc, RdmTimeoutError) and "stalled" in str(exc), f"{type(exc).__name__}: {exc}"
    assert took < 2 + 2 + SLACK, took
