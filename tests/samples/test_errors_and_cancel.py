"""Broken collections (fail fast or skip), cancellation, and progress reporting, over real HTTP."""

from __future__ import annotations

import threading

import pytest

from worldcereal_explorer.errors import QueryCancelledError, RdmError
from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.rdm.samples import SampleProgress

from .catalog_builder import add_collection, finish_catalog, make_samples
from .conftest import IDS

GOOD = "2021_bel_good_point_110"
CORRUPT = "2021_bel_corrupt_point_110"
TRUNCATED = "2021_bel_truncated_point_110"
MISSING = "2021_bel_missing_point_110"


@pytest.fixture(scope="module")
def broken_server(tmp_path_factory):
    from worldcereal_explorer.server import serve_in_thread

    root = tmp_path_factory.mktemp("broken") / "catalog"
    root.mkdir()
    for seed, ref_id in enumerate((GOOD, CORRUPT, TRUNCATED, MISSING)):
        folder = add_collection(root, ref_id, make_samples(ref_id, 800, seed=seed, center=(4.5, 50.8)))
        full = folder / f"{ref_id.upper()}.geoparquet"
        if ref_id == CORRUPT:
            full.write_bytes(b"this is not parquet at all " * 100)
        elif ref_id == TRUNCATED:
            data = full.read_bytes()
            full.write_bytes(data[: len(data) // 2] + b"PAR1")  # magic at both ends, footer garbage
        elif ref_id == MISSING:
            full.unlink()
    finish_catalog(root)
    with serve_in_thread(root) as server:
        yield server


@pytest.fixture
def broken_client(broken_server):
    with RdmClient(broken_server.url, retries=1, backoff_factor=0.01) as client:
        yield client


@pytest.mark.parametrize("bad", [CORRUPT, TRUNCATED, MISSING])
def test_broken_collection_fails_fast_naming_it(broken_client, bad):
    with pytest.raises(RdmError) as info:
        broken_client.get_samples(ref_ids=[GOOD, bad], progress=False)
    assert bad in str(info.value)
    assert _sample_threads() == []  # the other workers were stopped and joined


@pytest.mark.parametrize("bad", [CORRUPT, TRUNCATED])
def test_not_a_parquet_file_names_the_collection_and_the_file(broken_client, bad):
    with pytest.raises(RdmError) as info:
        broken_client.get_samples(ref_ids=[bad], progress=False)
    message = str(info.value)
    assert f"collection {bad!r}" in message and "not a valid Parquet file" in message
    assert f"/files/public/{bad}/{bad.upper()}.geoparquet" in message


def test_skip_continues_and_reports_the_skipped_ids(broken_client):
    with pytest.warns(RuntimeWarning, match="skipped 3 collection") as record:
        gdf = broken_client.get_samples(ref_ids=[CORRUPT, GOOD, TRUNCATED, MISSING], on_error="skip", progress=False)
    assert set(gdf.attrs["skipped"]) == {CORRUPT, TRUNCATED, MISSING}
    assert all(reason for reason in gdf.attrs["skipped"].values())
    assert len(gdf) == 800 and set(gdf["ref_id"]) == {GOOD}
    assert CORRUPT in str(record[0].message)


def _sample_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("wce-samples")]


@pytest.fixture(scope="module")
def slow_server(sample_catalog):
    """The sample catalogue behind 0.3 s of latency per request, so a query lasts seconds."""
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(sample_catalog, latency_s=0.3) as server:
        yield server


def test_cancel_stops_the_query_and_leaves_no_threads(slow_server):
    server = slow_server
    with RdmClient(server.url, retries=1, backoff_factor=0.01, max_workers=2) as client:
        stats = server.app.state.stats
        client.get_samples(ref_ids=IDS, progress=False)
        full_requests = stats.snapshot()["requests"]
        stats.reset()

        cancel = threading.Event()
        seen: list[SampleProgress] = []

        def on_progress(event: SampleProgress) -> None:
            seen.append(event)
            cancel.set()  # the dashboard's Stop button, pressed at the first report

        with pytest.raises(QueryCancelledError):
            client.get_samples(ref_ids=IDS, progress=on_progress, cancel_event=cancel)
        assert _sample_threads() == []
        assert seen and seen[0].collections_done < len(IDS)
        assert stats.snapshot()["requests"] < full_requests


def test_cancel_from_another_thread(slow_server):
    cancel = threading.Event()
    outcome: dict[str, BaseException | None] = {}
    first_report = threading.Event()

    def run() -> None:
        with RdmClient(slow_server.url, max_workers=1) as client:
            try:
                client.get_samples(ref_ids=IDS, progress=lambda e: first_report.set(), cancel_event=cancel)
                outcome["error"] = None
            except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
                outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    assert first_report.wait(30)
    cancel.set()
    worker.join(30)
    assert not worker.is_alive()
    assert isinstance(outcome["error"], QueryCancelledError)
    assert _sample_threads() == []


def test_progress_callback_reports_collections_and_bytes(sample_client):
    events: list[SampleProgress] = []
    gdf = sample_client.get_samples(ref_ids=IDS, progress=events.append)
    assert events[-1].done
    assert events[-1].collections_done == events[-1].collections_total == len(IDS)
    assert events[-1].bytes_read == gdf.attrs["read_stats"]["bytes"] > 0
    assert [e.collections_done for e in events] == sorted(e.collections_done for e in events)
    assert _sample_threads() == []


def test_tqdm_progress_bars_run(sample_client, capsys):
    gdf = sample_client.get_samples(ref_ids=IDS[:2], progress=True)
    assert len(gdf) > 0
    err = capsys.readouterr().err
    assert "collections" in err and "downloaded" in err
