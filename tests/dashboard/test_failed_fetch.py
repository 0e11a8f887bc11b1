"""Issue 27.1: a failed fetch never wears a success mark, and never throws away the samples fetched before.

Real failures against the local RDM server over HTTP: a server stopped mid-session (every collection
fails), or a collection whose files were removed from a copy of the demo catalogue (one fails). The status
bar is the widget the dashboard shows; the state is driven as the dashboard drives it.
"""

from __future__ import annotations

import shutil

import pytest

from tests.widgets.conftest import make_client
from worldcereal_explorer.errors import RdmError
from worldcereal_explorer.server import serve_in_thread
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.widgets.status import StatusBar

EUROPE = (-25.0, 34.0, 45.0, 72.0)
BROKEN = "2021_bel_lpisdemo_poly_110"


@pytest.fixture
def own_server(demo_catalog, tmp_path):
    """A local RDM server of its own (the test may stop it) on a copy of the demo catalogue (it may break it)."""
    catalog = tmp_path / "catalog"
    shutil.copytree(demo_catalog, catalog)
    server = serve_in_thread(catalog)
    server.__enter__()
    yield server, catalog
    server.__exit__(None, None, None)  # stopping twice is harmless


@pytest.fixture
def dashboard(own_server):
    server, catalog = own_server
    state = RdmQueryState(client=make_client(server.url), auto_search=False, debounce_s=0.0)
    bar = StatusBar(state)
    state.bbox = EUROPE
    state.refresh()
    state.fetch_samples()
    assert bar.kind == "idle" and len(state.samples) > 0
    yield state, bar, server, catalog
    state.close()


def test_a_fetch_with_the_server_stopped_is_red_and_keeps_the_samples(dashboard):
    state, bar, server, _ = dashboard
    before = state.samples
    server.__exit__(None, None, None)  # the RDM server stops mid-session
    with pytest.warns(RuntimeWarning, match="skipped 4 collection"), pytest.raises(RdmError) as raised:
        state.fetch_samples()
    assert "none of the 4 collections could be read" in str(raised.value)
    assert state.status == "error" and bar.kind == "error"
    assert "&#10003;" not in bar.label.value  # no tick
    assert state.samples is before  # nothing discarded
    assert f"kept the {len(before):,} samples fetched before" in state.message
    assert "connection refused" in state.message  # what failed, and why


def test_a_fetch_with_one_collection_failing_is_amber_and_keeps_its_earlier_rows(dashboard):
    state, bar, _, catalog = dashboard
    before = state.samples
    earlier_rows = int((before["ref_id"] == BROKEN).sum())
    assert earlier_rows > 0
    for path in (catalog / BROKEN).glob("*parquet"):
        path.unlink()  # its samples can no longer be read
    with pytest.warns(RuntimeWarning, match="skipped 1 collection"):
        samples = state.fetch_samples()
    assert state.status == "idle" and bar.kind == "partial"
    assert "wce-status-partial" in bar.label.value and "&#10003;" not in bar.label.value
    assert list(state.failed_collections) == [BROKEN]
    # the same filters: the rows read before for the broken collection are kept, the others re-read
    assert len(state.samples) == len(before)
    assert int((state.samples["ref_id"] == BROKEN).sum()) == earlier_rows
    assert samples is not state.samples  # the fetch's own answer lacks them; the state adds them back
    assert "samples incomplete: 1 collection failed" in state.message
    assert f"kept the {earlier_rows:,} samples of {BROKEN} from the previous fetch" in state.message


def test_other_filters_keep_no_earlier_rows_but_still_say_what_failed(dashboard):
    state, bar, _, catalog = dashboard
    for path in (catalog / BROKEN).glob("*parquet"):
        path.unlink()
    state.min_quality_ct = 50  # a different query: the earlier rows are not its answer
    with pytest.warns(RuntimeWarning, match="skipped 1 collection"):
        state.fetch_samples()
    assert bar.kind == "partial"
    assert BROKEN not in set(state.samples["ref_id"])
    assert "kept the" not in state.message and "1 collection failed" in state.message


def test_a_search_after_a_fetch_shows_no_bar_of_the_fetch(dashboard):
    state, bar, server, _ = dashboard
    assert state.progress_total > 0  # the fetch's "4/4 collections"
    server.__exit__(None, None, None)
    state.search(delay=0.2)
    assert state.status == "loading" and state.message.startswith("searching")
    assert bar.progress.layout.display == "none" and bar.progress_text.value == ""
    assert state.wait(60)
    assert state.status == "error" and bar.kind == "error"
