"""Every public call stops promptly when its cancel_event is set while the server hangs, and leaves no thread."""

from __future__ import annotations

import threading
import time

import pytest

from worldcereal_explorer.errors import QueryCancelledError

from . import fault_server as fs
from .conftest import assert_ours, call_raising, client_threads, record, wait_threads_gone

A, B = fs.COLLECTION_IDS
CANCEL_AFTER = 0.5
PROMPT = 1.5

CALLS = {
    "get_collections": lambda c, ev, d: c.get_collections(bbox=(3, 50, 5, 51), cancel_event=ev),
    "list_collections": lambda c, ev, d: c.list_collections(cancel_event=ev),
    "get_collection": lambda c, ev, d: c.get_collection(A, cancel_event=ev),
    "get_collection_metadata": lambda c, ev, d: c.get_collection_metadata(A, cancel_event=ev),
    "get_code_stats": lambda c, ev, d: c.get_code_stats(A, cancel_event=ev),
    "get_collection_stats": lambda c, ev, d: c.get_collection_stats(A, cancel_event=ev),
    "get_crop_counts": lambda c, ev, d: c.get_crop_counts([A, B, "x3", "x4", "x5"], cancel_event=ev),
    "get_download_url": lambda c, ev, d: c.get_download_url(A, cancel_event=ev),
    "get_download_urls": lambda c, ev, d: c.get_download_urls([A, B, "x3"], cancel_event=ev),
    "download_collection_geoparquet": lambda c, ev, d: c.download_collection_geoparquet(A, d, cancel_event=ev),
    "download_collection_metadata": lambda c, ev, d: c.download_collection_metadata(A, d, cancel_event=ev),
    "download_collection_harmonization_info":
        lambda c, ev, d: c.download_collection_harmonization_info(A, d, cancel_event=ev),
    "get_items": lambda c, ev, d: c.get_items(A, cancel_event=ev),
    "get_samples": lambda c, ev, d: c.get_samples(ref_ids=[A, B], progress=False, cancel_event=ev),
}

#: Where the hang is: everything, or only the file (the API answers, the transfer hangs).
WHERE = ["all routes", "file only"]


def _file_paths():
    return [f"/files/{A}/{A}.geoparquet", f"/files/{B}/{B}.geoparquet", f"/files/{A}/sample_{A}.parquet",
            f"/files/{A}/{A}_harmonization.pdf", f"/collections/{A}/metadata/download"]


@pytest.mark.timeout(40)
@pytest.mark.parametrize("call", list(CALLS))
def test_cancel_while_server_hangs(server, make_client, tmp_path, call):
    _run_cancel(server, make_client, tmp_path, call, "all routes")


@pytest.mark.timeout(40)
@pytest.mark.parametrize("call", ["download_collection_geoparquet", "download_collection_metadata",
                                  "download_collection_harmonization_info", "get_samples"])
def test_cancel_while_file_hangs(server, make_client, tmp_path, call):
    _run_cancel(server, make_client, tmp_path, call, "file only")


def _run_cancel(server, make_client, tmp_path, call, where):
    if where == "all routes":
        server.default = fs.hang()
    else:
        for path in _file_paths():
            server.set(path, fs.hang())
    # Long timeouts and deadline: only the cancel can end the call in time.
    client = make_client(server.url, timeout=(30, 30), retries=3, deadline=60, download_route_timeout=60)
    dst = tmp_path / "a" / "b"
    before = client_threads()
    event = threading.Event()
    cancelled_at: list[float] = []

    def cancel():
        cancelled_at.append(time.monotonic())
        event.set()

    timer = threading.Timer(CANCEL_AFTER, cancel)
    timer.start()
    try:
        exc, took, _ = call_raising(lambda: CALLS[call](client, event, dst))
        ended = time.monotonic()
    finally:
        timer.cancel()
        timer.join(5)
    record(f"cancel after {CANCEL_AFTER}s ({where}): {call}", took, exc)
    assert_ours(exc)
    assert isinstance(exc, QueryCancelledError), f"{type(exc).__name__}: {exc}"
    assert cancelled_at, "the call ended before the cancel was set"
    assert server.hanging.is_set(), "the call never reached the hanging server"
    assert ended - cancelled_at[0] <= PROMPT, f"{call} took {ended - cancelled_at[0]:.2f} s after the cancel"
    left = wait_threads_gone(before, 3.0)
    assert not left, f"threads left after {call} was cancelled: {sorted(left.values())}"
    assert not (tmp_path / "a").exists(), "a cancelled download left folders behind"
