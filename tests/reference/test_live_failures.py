"""The live RDM's known failures, played by the local server over real HTTP, and survived by the client.

- ``/collections/{id}/download`` answering 500 (some only after minutes): the client gives the route a short
  budget, falls back to the file URLs in the metadata items, and skips the failing route for a while.
- Per-collection calls across many collections finish with partial results and name what failed.
- "No private collections found" says who the user is and what the search returned.
"""

from __future__ import annotations

import logging
import time

import pytest

from worldcereal_explorer.errors import DownloadError, RdmHttpError
from worldcereal_explorer.rdm.auth import StaticTokenProvider
from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.server import serve_in_thread


class Anonymous:
    """No token, no login (so a test never depends on the machine's environment)."""

    def get_access_token(self, *, interactive: bool = False):
        return None

    def handle_unauthorized(self) -> bool:
        return False


@pytest.fixture(scope="module")
def public_ids(demo_catalog):
    from worldcereal_explorer.demo import demo_collection_ids

    ids = demo_collection_ids()
    return [i for i in ids if not (demo_catalog / i / "access.json").exists()]


def route_requests(server, ref_id: str) -> int:
    by_path = server.app.state.stats.snapshot()["by_path"]
    return sum(v["requests"] for k, v in by_path.items() if k.startswith(f"/collections/{ref_id}/") and
               k.endswith("/download") and "/metadata/" not in k)


def test_failing_download_route_falls_back_to_the_metadata_url(demo_catalog, public_ids, tmp_path):
    failing = public_ids[0]
    with serve_in_thread(demo_catalog, failing_download_ids=[failing]) as server, \
            RdmClient(server.url, token_provider=Anonymous(), retries=1, backoff_factor=0.01) as client:
        url = client.get_download_url(failing)
        items = client.get_collection_metadata(failing)
        assert url == items["GeoParquetDownloadUrl"]
        assert client.get_download_url(failing, subset=True) == items["SampleDownloadUrl"]
        before = route_requests(server, failing)
        path = client.download_collection_geoparquet(failing, tmp_path)  # the route is skipped now
        assert route_requests(server, failing) == before
        original = next(p for p in (demo_catalog / failing).glob("*.geoparquet") if not p.name.startswith("sample_"))
        assert path.read_bytes() == original.read_bytes()
        samples = client.get_samples(ref_ids=failing)
        assert len(samples) > 0 and set(samples["ref_id"]) == {failing}


def test_a_route_that_hangs_for_minutes_costs_only_its_budget(demo_catalog, public_ids):
    failing = public_ids[1]
    with serve_in_thread(demo_catalog, failing_download_ids=[failing], download_fail_delay_s=60) as server, \
            RdmClient(server.url, token_provider=Anonymous(), download_route_timeout=1.0) as client:
        started = time.monotonic()
        url = client.get_download_url(failing)
        elapsed = time.monotonic() - started
    assert url.startswith(server.url) and "/files/" in url
    assert elapsed < 5, f"the 60 s route should cost about the 1 s budget, took {elapsed:.1f} s"


def test_when_every_source_fails_the_error_names_the_collection_and_each_source(demo_catalog, public_ids):
    failing = public_ids[2]
    with serve_in_thread(demo_catalog, failing_download_ids=[failing], flaky_ids=[failing],
                         flaky_failures=10_000) as server, \
            RdmClient(server.url, token_provider=Anonymous(), retries=1, backoff_factor=0.01) as client, \
            pytest.raises(DownloadError) as info:
        client.get_download_url(failing)
    message = str(info.value)
    assert failing in message and "/download" in message and "GeoParquetDownloadUrl" in message


def test_per_collection_failures_give_partial_counts_and_name_the_failures(demo_catalog, public_ids, caplog):
    broken = public_ids[3]
    with serve_in_thread(demo_catalog, flaky_ids=[broken], flaky_failures=10_000) as server, \
            RdmClient(server.url, token_provider=Anonymous(), retries=1, backoff_factor=0.01) as client:
        ids = public_ids[:5]
        with pytest.raises(RdmHttpError):
            client.get_crop_counts(ids)
        with caplog.at_level(logging.WARNING, logger="worldcereal_explorer"):
            counts = client.get_crop_counts(ids, on_error="skip")
    assert counts.attrs["skipped"] == [broken]
    assert list(counts.columns) == sorted(i for i in ids if i != broken)
    assert counts.to_numpy().sum() > 0
    assert broken in caplog.text and "503" in caplog.text


def test_a_5xx_burst_is_ridden_out_by_retries(demo_catalog, public_ids):
    flaky = public_ids[4]
    with serve_in_thread(demo_catalog, flaky_ids=[flaky], flaky_failures=2) as server, \
            RdmClient(server.url, token_provider=Anonymous(), retries=3, backoff_factor=0.01) as client:
        assert client.get_collection_metadata(flaky)["GeoParquetDownloadUrl"].startswith(server.url)


def test_no_private_collections_found_says_who_and_what(demo_catalog, caplog):
    from worldcereal_explorer.server.idp import serve_idp_in_thread
    from worldcereal_explorer.server.tokens import JwtTokenValidator

    with serve_idp_in_thread() as idp, \
            serve_in_thread(demo_catalog, token_validator=JwtTokenValidator(idp.issuer, idp.client_id)) as server:
        with RdmClient(server.url, token_provider=Anonymous()) as client:
            note = client.private_access_note(0)
        assert "not logged in" in note and "0 non-public" in note
        # Someone who owns no private collection and belongs to no consortium group.
        token = idp.issue_tokens("outsider-7", name="Out Sider")["access_token"]
        with RdmClient(server.url, token_provider=StaticTokenProvider(token)) as client, \
                caplog.at_level(logging.WARNING, logger="worldcereal_explorer"):
            found = client.get_collections(include_private=True)
    assert found and all(c.is_public for c in found)
    assert "no private or restricted collection found" in caplog.text
    assert "outsider-7" in caplog.text or "Out Sider" in caplog.text
    assert "0 non-public" in caplog.text
    assert token not in caplog.text


def test_the_dashboard_state_reports_failed_collections_and_keeps_the_rest(demo_catalog, public_ids):
    from worldcereal_explorer.state import RdmQueryState

    broken = public_ids[3]
    with serve_in_thread(demo_catalog, flaky_ids=[broken], flaky_failures=10_000) as server:
        client = RdmClient(server.url, token_provider=Anonymous(), retries=1, backoff_factor=0.01)
        state = RdmQueryState(client=client, auto_search=False)
        try:
            collections = state.refresh()
            assert broken in {c.id for c in collections}  # the search itself works; its counts do not
            assert list(state.failed_collections) == [broken]
            assert "crop counts incomplete: 1 collection failed" in state.message and broken in state.message
            assert broken not in state.class_counts.columns and len(state.class_counts.columns) > 0
            state.selected_ids = [broken, public_ids[0]]
            # get_samples tells its caller what it skipped; the state shows it in its message as well
            with pytest.warns(RuntimeWarning, match=rf"skipped 1 collection\(s\) that could not be read: \['{broken}'\]"):
                samples = state.fetch_samples()
            assert set(samples["ref_id"]) == {public_ids[0]}
            assert list(state.failed_collections) == [broken]
            assert "samples incomplete" in state.message
        finally:
            state.close()
