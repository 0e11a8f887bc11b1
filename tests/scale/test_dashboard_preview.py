"""Issue #14, dashboard side: the sample preview before fetching, the bounded fetch, streamed exports.

State and widget level, against the local server with the demo catalogue.
"""

from __future__ import annotations

import html
import threading
import time

import h3
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon

from worldcereal_explorer.errors import FetchTooLargeError
from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.rdm.export import read_exported
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.state.preview import estimate_line, sample_filters
from worldcereal_explorer.widgets.density_layer import PreviewDensityLayer, merge_cells
from worldcereal_explorer.widgets.download_panel import DownloadPanel
from worldcereal_explorer.widgets.preview_panel import TOO_LARGE_NOTE, PreviewPanel

EUROPE = (-10.0, 35.0, 30.0, 60.0)
POLYGON = Polygon([(3, 49), (7, 50), (6, 53), (2, 52)])
TINY_BUDGET = 4096


def _client(url: str, budget: int | None = None) -> RdmClient:
    client = RdmClient(url, retries=2, backoff_factor=0.01, max_workers=4, legend=f"{url}/legend.csv")
    if budget is not None:
        client.memory_budget_bytes = budget
    return client


@pytest.fixture
def make_state(rdm_url):
    made: list[RdmQueryState] = []

    def factory(url: str | None = None, budget: int | None = None, **traits):
        traits.setdefault("debounce_s", 0.05)
        traits.setdefault("auto_search", False)
        state = RdmQueryState(client=_client(url or rdm_url, budget), **traits)
        made.append(state)
        return state

    yield factory
    for state in made:
        assert state.close(timeout=30)


@pytest.fixture(scope="module")
def slow_server(demo_catalog):
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(demo_catalog, latency_s=0.3) as server:
        yield server


def _preview_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.is_alive() and t.name.startswith("wce-preview")]


def _expected(samples) -> pd.DataFrame:
    want = samples.groupby(["ewoc_code", "ref_id"], dropna=False).size().rename("count").reset_index()
    return want.sort_values(["ewoc_code", "ref_id"]).reset_index(drop=True)


def _as_lists(frame: pd.DataFrame) -> list[tuple]:
    frame = frame.sort_values(["ewoc_code", "ref_id"]).reset_index(drop=True)
    return [(int(c), str(r), int(n)) for c, r, n in frame[["ewoc_code", "ref_id", "count"]].itertuples(index=False)]


def _first_code(state: RdmQueryState) -> int:
    return int(next(iter(state.counts_by_code(unfiltered=True))))


INPUTS = {
    "bbox": {"bbox": EUROPE},
    "quality": {"bbox": EUROPE, "min_quality_lc": 50, "min_quality_ct": 30},
    "subset": {"bbox": EUROPE, "subset": True},
    "dates": {"start_date": "2020-01-01", "end_date": "2021-06-30"},
    "polygon": {"polygon": POLYGON},
    "codes": {"bbox": EUROPE, "ewoc_codes": "first"},
    "selected": {"bbox": EUROPE, "selected_ids": "first"},
}


# --- 1. the preview is exact --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(INPUTS))
def test_preview_counts_equal_the_fetch(make_state, case):
    state = make_state()
    inputs = dict(INPUTS[case])
    codes, selected = inputs.pop("ewoc_codes", None), inputs.pop("selected_ids", None)
    for name, value in inputs.items():
        setattr(state, name, value)
    state.refresh()
    if codes == "first":
        state.ewoc_codes = [_first_code(state)]
        state.refresh()
    if selected == "first":
        state.selected_ids = [state.collections[0].id]
    counts = state.preview(wait=True)
    samples = state.fetch_samples()
    assert len(samples) > 0, "the filters match nothing: the test proves nothing"
    assert _as_lists(counts) == _as_lists(_expected(samples))
    assert state.preview_status == "ready" and not state.preview_too_large
    estimate = state.preview_estimate
    assert estimate.samples == len(samples) == int(state.preview_counts["count"].sum())
    assert state.preview_message == estimate_line(estimate, state.client.memory_budget_bytes)
    assert state.preview_message.startswith(f"a fetch would bring {len(samples):,} samples, ~")
    assert "MiB to download" in state.preview_message and "MiB in memory" in state.preview_message
    # per class and per collection: the margins of the same counts
    by_class = state.preview_by_class()
    assert dict(zip(by_class["ewoc_code"].astype(int), by_class["count"], strict=True)) == \
        samples.groupby("ewoc_code").size().to_dict()
    assert state.preview_by_collection() == samples.groupby("ref_id").size().to_dict()
    # the H3 density at resolution 3: the files' h3_l3_cell column, as for get_samples
    density = state.preview_density
    assert density.attrs["resolution"] == 3
    want = samples.dropna(subset=["h3_l3_cell"]).groupby("h3_l3_cell").size()
    assert dict(zip(density["h3_cell"], density["count"], strict=True)) == want.to_dict()


def test_preview_density_at_a_finer_resolution(make_state):
    state = make_state(preview_resolution=5)
    state.bbox = EUROPE
    state.refresh()
    state.preview(wait=True)
    samples = state.fetch_samples()
    centroid = shapely.centroid(samples.geometry.array)
    cells = pd.Series([h3.latlng_to_cell(y, x, 5) for x, y in
                       zip(shapely.get_x(centroid), shapely.get_y(centroid), strict=True)])
    assert state.preview_density.attrs["resolution"] == 5
    assert dict(zip(state.preview_density["h3_cell"], state.preview_density["count"], strict=True)) == \
        cells.value_counts().to_dict()


# --- automatic previews: after a search, on a sample-filter change, superseded ----------------------------
def test_auto_preview_follows_searches_and_sample_filters(make_state):
    state = make_state(auto_search=True, auto_preview=True)
    state.bbox = EUROPE
    assert state.preview_status == "pending"  # waits for the search, does not count the old collections
    assert state.wait(30) and state.wait_preview(30)
    assert state.preview_status == "ready"
    first = state.preview_estimate.samples
    assert first == len(state.client.get_samples(**sample_filters(state), progress=False))
    started = state.previews_started["preview"]
    state.min_quality_ct = 92  # not a search input: previewed directly
    assert state.preview_status in ("pending", "loading")
    assert state.wait_preview(30) and state.preview_status == "ready"
    assert state.previews_started["preview"] == started + 1
    assert state.preview_estimate.samples == len(state.fetch_samples())
    assert state.preview_estimate.samples < first
    state.selected_ids = [state.collections[0].id]
    assert state.wait_preview(30)
    assert set(state.preview_by_collection()) <= {state.collections[0].id}


def test_newer_inputs_supersede_a_preview_and_cancel_leaves_no_thread(make_state, slow_server):
    state = make_state(slow_server.url, auto_preview=True, debounce_s=0.0)
    state.bbox = EUROPE
    state.refresh()
    assert state.wait_preview(60) and state.preview_status == "ready"
    started = state.previews_started["preview"]
    # one running preview, then three quick changes: each cancels the one before
    for quality in (10, 20, 30, 40):
        state.min_quality_lc = quality
        time.sleep(0.05)
    assert state.wait_preview(60) and state.preview_status == "ready"
    assert state.previews_started["preview"] - started <= 4
    assert _as_lists(state.preview_counts) == _as_lists(_expected(state.fetch_samples()))
    assert state.min_quality_lc == 40
    assert _preview_threads() == []
    # cancel a running preview (0.3 s per request on this server: it is still reading)
    before = state.previews_started["preview"]
    state.min_quality_lc = 45
    assert state.services.preview.wait_for(lambda: state.previews_started["preview"] == before + 1, timeout=30)
    state.cancel_preview()
    assert state.preview_status == "cancelled"
    assert state.wait_preview(5)  # the cancel reaches the requests in flight
    assert state.preview_status == "cancelled" and state.min_quality_lc == 45
    deadline = time.monotonic() + 10
    while _preview_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _preview_threads() == []
    # close with a preview scheduled: nothing left behind
    state.debounce_s = 5.0
    state.min_quality_lc = 50
    assert state.preview_busy and _preview_threads()
    assert state.close(timeout=30)
    assert _preview_threads() == []


# --- 2. the bounded fetch ---------------------------------------------------------------------------------------
def test_fetch_over_the_memory_budget_is_refused_with_the_ways_out(make_state):
    state = make_state(budget=TINY_BUDGET)
    panel = PreviewPanel(state)
    state.bbox = EUROPE
    state.refresh()
    assert state.wait_preview(30) and state.preview_status == "ready"
    assert state.preview_too_large
    assert "more than the memory budget" in state.preview_message and "Export to file" in state.preview_message
    assert panel.kind == "too_large" and panel.note.layout.display == ""
    assert html.escape(TOO_LARGE_NOTE) in panel.note.value
    # in the background (the dashboard's Fetch): no traceback, a clear message, no samples
    state.fetch_samples(wait=False)
    assert state.wait(30)
    assert state.status == "error" and state.samples is None
    assert state.message.startswith("Fetch refused:")
    for way_out in ("narrow the query", "Export to file"):
        assert way_out in state.message
    # from Python: the same message as an exception with the numbers
    with pytest.raises(FetchTooLargeError, match="Fetch refused") as info:
        state.fetch_samples()
    assert info.value.budget_bytes == TINY_BUDGET and info.value.samples > 0
    # narrowing the query below the budget lets the fetch through
    state.client.memory_budget_bytes = 2**30
    state.selected_ids = [state.collections[0].id]
    assert state.wait_preview(30) and not state.preview_too_large
    assert panel.note.layout.display == "none"
    assert len(state.fetch_samples()) == state.preview_estimate.samples
    panel.close()


# --- 3. streamed export of the current filters ------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["GeoParquet", "GeoPackage", "CSV"])
def test_streamed_export_equals_get_samples(make_state, tmp_path, fmt):
    state = make_state(budget=TINY_BUDGET)  # a fetch would be refused: streaming still works
    state.bbox = EUROPE
    state.min_quality_lc = 20
    state.refresh()
    path = state.stream_samples(tmp_path / "out", fmt)
    assert path.parent == tmp_path / "out" and path.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no parts left
    assert state.export_status == "done" and state.export_path == str(path)
    assert state.status == "idle"
    got = read_exported(path)
    want = state.client.get_samples(**sample_filters(state), progress=False, memory_budget_bytes=None)
    # the export carries the dashboard's classes as "Save samples" does (issue 27.4)
    want = state.client.label_samples(want, dict(state.grouping))
    assert len(got) == len(want) == state.export_rows > 0
    assert {"label", "new_label"} <= set(got.columns) and set(got.columns) == set(want.columns)
    assert got["new_label"].notna().all()
    got = got.sort_values(["ref_id", "sample_id"]).reset_index(drop=True)
    want = want.sort_values(["ref_id", "sample_id"]).reset_index(drop=True)
    for column in want.columns:
        if column == "geometry":
            assert shapely.equals(got.geometry.array, want.geometry.array).all()
        else:
            assert got[column].astype(object).fillna(-1).tolist() == \
                want[column].astype(object).fillna(-1).tolist(), column


def test_download_panel_streams_in_the_background_with_a_link(make_state, tmp_path):
    state = make_state(budget=TINY_BUDGET)
    panel = DownloadPanel(state, download_dir=tmp_path)
    state.bbox = EUROPE
    state.refresh()
    state.preview(wait=True)
    assert panel.stream_button.button_style == "primary"  # the way out is highlighted
    messages: list[str] = []
    state.observe(lambda change: messages.append(change["new"]), "message")
    panel.format.value = "CSV"
    panel.stream_button.click()
    assert state.wait(60)
    assert state.export_status == "done", state.export_message
    assert any(m.startswith("exporting") for m in messages)  # progress in the status bar
    assert "wce-download-link" in panel.links.value and ".csv" in panel.links.value
    assert panel.stream_cancel.disabled and panel.stream_progress.layout.display == "none"
    assert "samples written to" in panel.stream_info.value
    assert len(read_exported(state.export_path)) == state.preview_estimate.samples
    panel.close()


def test_cancelling_a_streamed_export_leaves_nothing(make_state, slow_server, tmp_path):
    state = make_state(slow_server.url)
    panel = DownloadPanel(state, download_dir=tmp_path / "dl")
    stats = slow_server.app.state.stats
    answered_before = stats.requests
    state.stream_samples(tmp_path / "dl", "GeoParquet", wait=False)
    assert state.status == "loading" and state.export_status == "running"
    assert not panel.stream_cancel.disabled
    assert state.wait_for(lambda: state.queries_started["export"] == 1, timeout=30)
    # cancel mid-stream: once the server has answered some of the export's requests
    deadline = time.monotonic() + 30
    while stats.requests < answered_before + 2:
        assert time.monotonic() < deadline and state.export_status == "running", (stats.requests, state.export_status)
        time.sleep(0.01)
    panel.stream_cancel.click()
    assert state.wait(30)
    assert state.export_status == "cancelled" and state.export_path == ""
    assert state.status == "idle" and state.message.startswith("cancelled")
    assert [p for p in (tmp_path / "dl").rglob("*") if p.is_file()] == []
    assert [t for t in threading.enumerate() if t.name.startswith("wce-query-export") and t.is_alive()] == []
    panel.close()


def test_save_of_fetched_samples_still_works(make_state, tmp_path):
    state = make_state()
    state.bbox = EUROPE
    state.refresh()
    samples = state.fetch_samples()
    path = state.export_samples(tmp_path, "GeoParquet")
    assert len(read_exported(path)) == len(samples)


# --- the density on the map ---------------------------------------------------------------------------------
def test_density_layer_draws_the_preview_and_steps_aside_for_fetched_samples(make_state):
    state = make_state()
    layer = PreviewDensityLayer(state)
    assert layer.n_drawn == 0
    state.bbox = EUROPE
    state.refresh()
    state.preview(wait=True)
    total = state.preview_estimate.samples
    layer.map.zoom = 6
    assert layer.resolution == 3 and layer.n_drawn == len(state.preview_density)
    drawn = layer.group.layers[0].data["features"]
    assert sum(f["properties"]["count"] for f in drawn) == total
    layer.map.zoom = 1  # zoomed out: cells merged into parents, same total
    assert layer.resolution < 3 and layer.n_drawn <= len(state.preview_density)
    assert sum(f["properties"]["count"] for f in layer.group.layers[0].data["features"]) == total
    assert int(merge_cells(state.preview_density, 0).sum()) == total
    assert "preview:" in layer.info.value
    state.fetch_samples()
    assert layer.hidden and layer.group.layers == ()
    state.min_quality_lc = 10  # the samples are stale again: the preview shows
    assert not layer.hidden
    layer.close()
