"""Every failure surfaces as one of the package's errors: dropped bodies, redirect loops, bad gzip, huge bodies."""

from __future__ import annotations

import gc
import resource
import socket
import time
import tracemalloc

import pytest

from worldcereal_explorer.errors import (
    DownloadError,
    RdmConnectionError,
    RdmHttpError,
    RdmResponseError,
    ResponseTooLargeError,
)
from worldcereal_explorer.rdm.http import HttpPolicy

from . import fault_server as fs
from .conftest import assert_ours, call_raising, record

A, B = fs.COLLECTION_IDS
SEARCH = "/collections/search"
FAST = dict(timeout=(2, 3), retries=2, backoff_factor=0.01, deadline=10)


def _search_body(ctx):
    return fs.json.dumps([fs.collection_json(c) for c in fs.COLLECTION_IDS]).encode()


@pytest.mark.timeout(30)
def test_drop_once_is_retried(server, make_client):
    server.set(SEARCH, fs.drop_mid_body(_search_body, times=1))
    client = make_client(server.url, **FAST)
    exc, took, result = call_raising(lambda: client.get_collections())
    record("JSON body dropped once, then fine (get_collections)", took, exc)
    assert exc is None, f"{type(exc).__name__}: {exc}"
    assert [c.id for c in result] == list(fs.COLLECTION_IDS)
    assert server.count(SEARCH) == 2


@pytest.mark.timeout(30)
@pytest.mark.parametrize("call", ["get_collections", "get_collection_metadata"])
def test_drop_always_is_a_connection_error(server, make_client, call):
    path = SEARCH if call == "get_collections" else f"/collections/{A}/metadata/items"
    server.set(path, fs.drop_mid_body(_search_body, times=None))
    client = make_client(server.url, **FAST)
    func = client.get_collections if call == "get_collections" else (lambda: client.get_collection_metadata(A))
    exc, took, _ = call_raising(func)
    record(f"JSON body dropped every time ({call})", took, exc)
    assert_ours(exc)
    assert isinstance(exc, RdmConnectionError), f"{type(exc).__name__}: {exc}"
    assert server.count(path) == 3  # retries=2: three attempts, no more


@pytest.mark.timeout(30)
def test_redirect_loop(server, make_client):
    server.set(SEARCH, fs.redirect_loop())
    client = make_client(server.url, **FAST)
    exc, took, _ = call_raising(client.get_collections)
    record("redirect loop (get_collections)", took, exc)
    assert_ours(exc)
    assert isinstance(exc, RdmHttpError), f"{type(exc).__name__}: {exc}"
    assert server.count(SEARCH) <= 12


@pytest.mark.timeout(30)
def test_redirect_loop_on_a_file(server, make_client, tmp_path):
    server.set(f"/files/{A}/{A}.geoparquet", fs.redirect_loop())
    client = make_client(server.url, **FAST)
    exc, took, _ = call_raising(lambda: client.download_collection_geoparquet(A, tmp_path / "d"))
    record("redirect loop (file download)", took, exc)
    assert_ours(exc)
    assert isinstance(exc, (RdmHttpError, DownloadError)), f"{type(exc).__name__}: {exc}"
    assert not (tmp_path / "d").exists()


@pytest.mark.timeout(30)
def test_corrupt_gzip(server, make_client):
    server.set(SEARCH, fs.corrupt_gzip())
    client = make_client(server.url, **FAST)
    exc, took, _ = call_raising(client.get_collections)
    record("corrupt gzip body (get_collections)", took, exc)
    assert_ours(exc)
    assert isinstance(exc, RdmResponseError), f"{type(exc).__name__}: {exc}"


@pytest.mark.timeout(30)
def test_corrupt_gzip_on_a_file(server, make_client, tmp_path):
    server.set(f"/collections/{A}/metadata/download", fs.corrupt_gzip())
    client = make_client(server.url, **FAST)
    exc, took, _ = call_raising(lambda: client.download_collection_metadata(A, tmp_path / "d"))
    record("corrupt gzip body (metadata download)", took, exc)
    assert_ours(exc)
    assert isinstance(exc, (RdmResponseError, DownloadError)), f"{type(exc).__name__}: {exc}"
    assert not (tmp_path / "d").exists()


def _rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@pytest.mark.timeout(60)
@pytest.mark.parametrize("announced", [10_000_000_000, None], ids=["announced-10GB", "unannounced-stream"])
def test_huge_json_body(server, make_client, announced):
    server.set(SEARCH, _huge(announced))
    kwargs = dict(FAST)
    if announced is None:
        # Unannounced: the cap is what stops it; a small cap keeps the test quick.
        kwargs = dict(policy=HttpPolicy(connect_timeout=2, read_timeout=3, retries=2, backoff_factor=0.01,
                                        deadline=20, max_body_bytes=8 * 1024 * 1024))
    client = make_client(server.url, **kwargs)
    gc.collect()
    rss_before = _rss_peak_mb()
    tracemalloc.start()
    try:
        exc, took, _ = call_raising(client.get_collections)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    growth = _rss_peak_mb() - rss_before
    record(f"huge JSON body ({'Content-Length 10 GB' if announced else 'no Content-Length'})", took, exc)
    assert_ours(exc)
    assert isinstance(exc, ResponseTooLargeError), f"{type(exc).__name__}: {exc}"
    assert took < (2.0 if announced else 10.0)
    assert peak < 50 * 1024 * 1024, f"tracemalloc peak {peak / 1e6:.0f} MB"
    assert growth < 50, f"peak RSS grew by {growth:.0f} MB"
    assert server.count(SEARCH) == 1, "a too-large answer must not be retried"


def _huge(announced):
    if announced is not None:
        return fs.huge_length(announced)

    def run(ctx):
        ctx.send_head(200, {"Content-Type": "application/json", "Connection": "close"})
        chunk = b"[" + b" " * (64 * 1024 - 1)
        end = time.monotonic() + 30
        while time.monotonic() < end and not ctx.stopped.is_set():
            ctx.send_raw(chunk)
            chunk = b" " * len(chunk)
        return False

    return run


@pytest.mark.timeout(30)
def test_connection_refused(make_client):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}", **FAST)
    exc, took, _ = call_raising(client.get_collections)
    record("connection refused (get_collections)", took, exc)
    assert_ours(exc)
    assert isinstance(exc, RdmConnectionError), f"{type(exc).__name__}: {exc}"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("body,ctype", [(b"<html>oops</html>", "text/html"), (b'{"a": 1}', "application/json"),
                                        (b"\xff\xfe\x00garbage", "application/json"), (b"", "application/json")])
def test_wrong_shapes(server, make_client, body, ctype):
    server.set(SEARCH, lambda ctx: ctx.respond(200, body, ctype))
    server.set(f"/collections/{A}", lambda ctx: ctx.respond(200, body, ctype))
    server.set(f"/collections/{A}/items/codestats", lambda ctx: ctx.respond(200, body, ctype))
    client = make_client(server.url, **FAST)
    for name, func in [("get_collections", client.get_collections), ("get_collection", lambda: client.get_collection(A)),
                       ("get_crop_counts", lambda: client.get_crop_counts([A]))]:
        exc, took, _ = call_raising(func)
        if name == "get_crop_counts" and exc is None:
            continue  # {"a": 1} is a dict without ewocStats: skipped with a warning, by design
        assert_ours(exc)
        assert isinstance(exc, RdmResponseError), f"{name}: {type(exc).__name__}: {exc}"


@pytest.mark.timeout(30)
def test_503_burst_then_ok(server, make_client):
    server.set(SEARCH, fs.burst(503, 2))
    client = make_client(server.url, timeout=(2, 3), retries=3, backoff_factor=0.01, deadline=10)
    exc, took, result = call_raising(client.get_collections)
    record("503 twice, then OK (get_collections)", took, exc)
    assert exc is None, f"{type(exc).__name__}: {exc}"
    assert len(result) == 2 and server.count(SEARCH) == 3


@pytest.mark.timeout(30)
def test_503_retry_after_is_honoured_within_deadline(server, make_client):
    server.set(SEARCH, fs.burst(503, 1, headers={"Retry-After": "2"}))
    client = make_client(server.url, timeout=(2, 3), retries=3, backoff_factor=0.01, deadline=10)
    exc, took, result = call_raising(client.get_collections)
    record("503 with Retry-After: 2, then OK (get_collections)", took, exc)
    assert exc is None, f"{type(exc).__name__}: {exc}"
    assert 1.8 <= took < 4, took


@pytest.mark.timeout(30)
def test_503_retry_after_longer_than_deadline_fails_fast(server, make_client):
    server.set(SEARCH, fs.burst(503, 10, headers={"Retry-After": "30"}))
    client = make_client(server.url, timeout=(2, 3), retries=3, backoff_factor=0.01, deadline=5)
    exc, took, _ = call_raising(client.get_collections)
    record("503 with Retry-After: 30 > deadline 5 s (get_collections)", took, exc)
    assert_ours(exc)
    assert took <= 5 + 1.5, took
