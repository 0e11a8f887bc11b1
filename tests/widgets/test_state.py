"""RdmQueryState against the local RDM server over HTTP: search, validation, debounce, supersession,
cancellation, samples, honest headline counts, stale samples, exports and closing.

Expected numbers come from an RdmClient asking the same server directly.
"""

from __future__ import annotations

import threading

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import box, mapping

from worldcereal_explorer.errors import BadExtentError, BadParameterError, BadTemporalExtentError
from worldcereal_explorer.state import search_summary
from worldcereal_explorer.widgets.results_table import ResultsTable
from worldcereal_explorer.widgets.samples_layer import SamplesLayer
from worldcereal_explorer.widgets.status import STALE_NOTE, StatusBar

EUROPE = (-5.0, 40.0, 10.0, 55.0)
SMALL = (3.0, 50.0, 6.0, 52.0)


def _ids(collections):
    return sorted(c.id for c in collections)


def test_refresh_matches_the_client(state, client):
    state.bbox = EUROPE
    found = state.refresh()
    expected = client.get_collections(spatial_extent=EUROPE)
    assert _ids(found) == _ids(expected)
    assert 0 < len(found) < len(client.get_collections())
    assert state.status == "idle"
    assert sorted(state.counts.columns) == _ids(found)
    assert state.counts.index.names == ["ewoc_code", "Label"]
    assert f"{len(found)} collection" in state.message


def test_dates_and_codes_filter_collections(state, client):
    full = state.refresh()
    state.start_date, state.end_date = "2021-01-01", "2021-12-31"
    in_2021 = state.refresh()
    assert _ids(in_2021) == _ids(client.get_collections(temporal_extent=("2021-01-01", "2021-12-31")))
    assert 0 < len(in_2021) < len(full)
    code = int(state.counts.sum(axis=1).idxmax()[0])
    state.ewoc_codes = [code]
    with_code = state.refresh()
    assert with_code and all(code in c.ewoc_codes for c in with_code)
    assert list(state.counts.index.get_level_values(0)) == [code]


def test_bad_bbox_lands_in_status_and_raises(state):
    state.bbox = (10.0, 40.0, 5.0, 50.0)
    with pytest.raises(BadExtentError, match="west=10.0"):
        state.refresh()
    assert state.status == "error"
    assert "west=10.0" in state.message and "east" in state.message


def test_bad_input_in_background_never_raises(live_state):
    live_state.start_date = "2022-05-01"
    live_state.end_date = "2021-01-01"
    assert live_state.wait(30)
    assert live_state.status == "error"
    assert "2022-05-01" in live_state.message and "after" in live_state.message
    live_state.end_date = "2022-12-31"  # fixing the input clears the error
    assert live_state.wait(30)
    assert live_state.status == "idle"


async def _refresh(state):
    return await state.refresh_async()


def test_refresh_can_be_awaited(state):
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    state.bbox = EUROPE
    # A fresh thread has no event loop; the main thread may hold Playwright's when browser tests ran first.
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(asyncio.run, _refresh(state)).result(timeout=60)
    assert _ids(result) == _ids(state.collections) != []


def test_only_one_date_is_an_error(state):
    state.start_date = "2021-01-01"
    with pytest.raises(BadTemporalExtentError, match="end date is not set"):
        state.refresh()


def test_no_access_type_selected_finds_nothing(state):
    state.include_public = False
    assert state.refresh() == []
    assert state.counts.empty


def test_debounce_runs_one_search_for_a_burst_of_changes(make_state, rdm_server):
    state = make_state(auto_search=True, debounce_s=1.0)
    stats = rdm_server.app.state.stats
    before = stats.snapshot()["by_path"].get("/collections/search", {}).get("requests", 0)
    state.bbox = (-10.0, 35.0, 20.0, 60.0)
    state.bbox = EUROPE
    state.start_date = "2020-01-01"
    state.end_date = "2022-12-31"
    state.include_public = True  # unchanged value: no notification, no search
    assert state.wait(30)
    assert state.queries_started["search"] == 1
    after = stats.snapshot()["by_path"].get("/collections/search", {}).get("requests", 0)
    assert after - before == 1
    # ... and the one search used the last inputs
    assert _ids(state.collections) == _ids(state.client.get_collections(
        spatial_extent=EUROPE, temporal_extent=("2020-01-01", "2022-12-31")))


def test_newer_query_supersedes_a_slower_older_one(make_state, slow_server, client):
    state = make_state(slow_server.url, auto_search=False)
    seen: list[list[str]] = []
    state.observe(lambda ch: seen.append(_ids(ch["new"])), "collections")
    everything = _ids(client.get_collections())
    small = (-5.0, 40.0, 4.0, 44.0)
    expected_small = _ids(client.get_collections(spatial_extent=small))
    assert expected_small and expected_small != everything

    state.search(delay=0)  # whole world: one slow search plus counts for every collection
    assert state.wait_for(lambda: state.queries_started["search"] == 1, timeout=30)
    state.bbox = small
    state.search(delay=0)
    assert state.wait(60)
    assert _ids(state.collections) == expected_small
    assert everything not in seen  # the older, slower result never landed
    assert state.status == "idle"


def test_cancel_stops_a_running_sample_query(make_state, slow_server):
    state = make_state(slow_server.url, auto_search=False)
    state.refresh()
    state.fetch_samples(wait=False)
    assert state.wait_for(lambda: state.queries_started["samples"] == 1, timeout=30)
    assert state.status == "loading"
    state.cancel()
    assert state.wait(60)
    assert state.samples is None
    assert state.status == "idle"
    assert state.message == "cancelled"


def test_fetch_samples_labels_and_groups(state):
    state.bbox = EUROPE
    state.refresh()
    codes = list(state.counts_by_code())
    code = max(state.counts_by_code(), key=state.counts_by_code().get)
    state.ewoc_codes = [code]
    state.grouping = {code: "my_crop"}
    samples = state.fetch_samples()
    assert len(samples) > 0 and set(samples["ewoc_code"]) == {code}
    assert set(samples["new_label"]) == {"my_crop"}
    assert set(samples["label"]) == {state.legend.label(code)}
    bounds = samples.total_bounds
    assert EUROPE[0] - 1 <= bounds[0] and bounds[2] <= EUROPE[2] + 1  # whole geometries may stick out
    assert state.progress == 1.0
    assert codes


def test_selected_ids_restrict_samples_and_follow_collections(state):
    state.bbox = EUROPE
    found = state.refresh()
    assert len(found) >= 2
    state.selected_ids = [found[0].id]
    samples = state.fetch_samples()
    assert set(samples["ref_id"].str.lower().str.replace("-", "")) <= {found[0].id.lower().replace("-", "")}
    state.bbox = (100.0, -10.0, 120.0, 10.0)  # elsewhere: the selection no longer applies
    state.refresh()
    assert found[0].id not in _ids(state.collections)
    assert state.selected_ids == []


def test_polygon_filters_samples_exactly(state):
    triangle = shapely.Polygon([(-5, 40), (10, 40), (-5, 55)])
    state.polygon = mapping(triangle)
    state.refresh()
    samples = state.fetch_samples()
    assert len(samples) > 0
    assert samples.geometry.intersects(triangle).all()
    assert state.spatial_extent().bbox.as_tuple() == (-5.0, 40.0, 10.0, 55.0)
    state.polygon = {"type": "Feature", "geometry": mapping(box(0, 0, 1, 1)), "properties": {}}
    assert state.spatial_extent().geometry.equals(box(0, 0, 1, 1))


def test_quality_filter_applies_to_samples(state):
    state.bbox = EUROPE
    state.refresh()
    everything = state.fetch_samples()
    threshold = int(everything["quality_score_ct"].median()) + 1
    state.min_quality_ct = threshold
    filtered = state.fetch_samples()
    assert 0 < len(filtered) < len(everything)
    assert (filtered["quality_score_ct"] >= threshold).all()


def test_dates_are_parsed_strictly(state):
    state.start_date, state.end_date = "2021-01-01garbage", "2021-12-31"
    with pytest.raises(BadTemporalExtentError, match="start date '2021-01-01garbage' is not a"):
        state.refresh()
    state.start_date = "2021-01-01T00:00:00Z"  # a date-time is fine; its (UTC) date is used
    assert state.temporal_extent().start.isoformat().startswith("2021-01-01")


# --- headline counts say what they are ------------------------------------------------------------------
def test_status_and_table_agree_on_collection_totals(state, client):
    status, table = StatusBar(state), ResultsTable(state, page_size=50)
    state.bbox = SMALL
    found = state.refresh()
    ids = [c.id for c in found]
    expected = client.get_crop_counts(ids)
    totals = state.collection_totals()
    assert totals == {i: int(expected[i].sum()) for i in ids}
    total = sum(totals.values())
    assert state.message == search_summary(len(ids), total, filtered=False)
    assert "in the whole collections" in status.label.value
    samples = state.fetch_samples()
    assert len(samples) < total  # the bbox holds fewer samples than the collections: the point of the wording
    assert state.message == f"{len(samples):,} samples match your filters"
    assert table.sort_buttons["total"].description.startswith("Whole collection")
    assert "in the whole collection" in table.sort_buttons["total"].tooltip

    # with crop codes: the totals of the selected codes in the collections holding them, everywhere
    code = int(expected.sum(axis=1).idxmax()[0])
    state.ewoc_codes = [code]
    with_code = state.refresh()
    assert sorted(c.id for c in with_code) == sorted(c.id for c in client.get_collections(
        spatial_extent=SMALL, ewoc_codes=[code]))
    code_totals = {i: int(expected.loc[code, i].sum()) for i in (c.id for c in with_code)}
    assert state.collection_totals() == code_totals
    assert state.message == search_summary(len(with_code), sum(code_totals.values()), filtered=True)
    assert "of the selected crop types" in state.message
    # the table's numbers are the preview's, matching every filter: what a fetch returns per collection
    state.preview(wait=True)
    fetched = state.fetch_samples()["ref_id"].value_counts()
    shown = {c.id: cell.value for c, cell in zip(table.rows, table.cells("samples"), strict=True)}
    for ref_id in code_totals:
        assert shown[ref_id].endswith(f">{int(fetched.get(ref_id, 0)):,}</span>")


def test_one_code_statistics_request_per_collection(make_state, rdm_server, client):
    state = make_state(auto_search=False)
    state.bbox = EUROPE
    in_area = [c.id for c in client.get_collections(spatial_extent=EUROPE)]
    state.ewoc_codes = [int(client.get_crop_counts(in_area).sum(axis=1).idxmax()[0])]
    stats = rdm_server.app.state.stats

    def codestats_requests():
        return sum(v.get("requests", 0) for k, v in stats.snapshot()["by_path"].items() if "codestats" in k)

    before = codestats_requests()
    state.refresh()
    # the filtered view is derived from the unfiltered statistics: at most one request per collection
    assert codestats_requests() - before <= len(in_area)
    assert state.class_counts.shape[1] == len(in_area) >= len(state.collections)


def test_ticking_crops_reuses_the_unfiltered_search(make_state, rdm_server, client):
    state = make_state(auto_search=True)
    state.bbox = EUROPE
    assert state.wait(30) and state.collections
    stats = rdm_server.app.state.stats

    def requests():
        return sum(v.get("requests", 0) for v in stats.snapshot()["by_path"].values())

    before = requests()
    code = int(next(iter(state.counts_by_code())))
    state.ewoc_codes = [code]
    assert state.wait(30)
    assert requests() == before  # derived from the last unfiltered search: no request at all
    assert sorted(c.id for c in state.collections) == sorted(
        c.id for c in client.get_collections(spatial_extent=EUROPE, ewoc_codes=[code]))
    assert list(state.counts.index.get_level_values(0)) == [code]
    state.refresh()  # an explicit search asks the RDM again
    assert requests() > before


# --- stale samples --------------------------------------------------------------------------------------
@pytest.mark.parametrize("change", [
    ("min_quality_lc", 30), ("subset", True), ("bbox", (3.0, 50.0, 5.0, 52.0)), ("selected_ids", "first"),
    ("ewoc_codes", "first"),
])
def test_changed_filters_mark_samples_stale(state, change):
    status, layer = StatusBar(state), SamplesLayer(state)
    state.bbox = SMALL
    state.refresh()
    samples = state.fetch_samples()
    assert not state.samples_stale and STALE_NOTE not in status.label.value
    opacity = layer.group.layers[0].style["fillOpacity"]
    name, value = change
    if value == "first":
        value = [state.collections[0].id] if name == "selected_ids" else [int(samples["ewoc_code"].iloc[0])]
    setattr(state, name, value)
    assert state.samples_stale
    assert STALE_NOTE in status.label.value
    assert STALE_NOTE in layer.info.value and "dimmed" in layer.info.value
    assert layer.group.layers[0].style["fillOpacity"] < opacity  # still drawn, dimmed
    assert layer.n_drawn > 0
    state.refresh()
    assert STALE_NOTE in status.label.value  # a new collection search does not make old samples current
    state.fetch_samples()
    assert not state.samples_stale and STALE_NOTE not in status.label.value
    assert STALE_NOTE not in layer.info.value
    assert layer.group.layers[0].style["fillOpacity"] == opacity


def test_filter_changed_during_a_fetch_leaves_the_samples_stale(make_state, slow_server):
    state = make_state(slow_server.url, auto_search=False)
    state.bbox = SMALL
    state.refresh()
    state.fetch_samples(wait=False)
    assert state.wait_for(lambda: state.queries_started["samples"] == 1, timeout=30)
    state.min_quality_ct = 50  # while the (0.3 s per request) sample query runs with the old value
    assert state.wait(60)
    assert state.samples is not None and state.samples_stale


def test_grouping_does_not_make_samples_stale(state):
    state.bbox = SMALL
    state.refresh()
    samples = state.fetch_samples()
    state.grouping = {int(samples["ewoc_code"].iloc[0]): "mine"}
    assert not state.samples_stale


# --- exports through the state ----------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "suffix"), [("GeoParquet", ".geoparquet"), ("GeoPackage", ".gpkg"), ("CSV", ".csv")])
def test_export_samples_through_the_state(state, tmp_path, fmt, suffix):
    with pytest.raises(BadParameterError, match="no samples to save: fetch samples first"):
        state.export_samples(tmp_path, fmt)
    state.bbox = SMALL
    state.refresh()
    samples = state.fetch_samples()
    path = state.export_samples(tmp_path, fmt)
    assert path.parent == tmp_path and path.name.endswith(suffix)
    readers = {"CSV": pd.read_csv, "GeoParquet": gpd.read_parquet, "GeoPackage": gpd.read_file}
    back = readers[fmt](path)
    assert sorted(back["sample_id"].astype(str)) == sorted(samples["sample_id"].astype(str))
    link = state.exports.link(path)
    assert link.name == path.name and link.size == path.stat().st_size
    assert link.data_url.startswith(f"data:{link.mime};base64,")
    assert state.exports.link(path, max_bytes=10).data_url is None  # too big for the page: path only
    with pytest.raises(BadParameterError, match="unknown format 'XLSX'; choose one of GeoParquet"):
        state.export_samples(tmp_path, "XLSX")


def test_collection_documents_through_the_state(state, tmp_path):
    state.refresh()
    public = next(c.id for c in state.collections if c.is_public)
    xlsx = state.download_metadata(public, tmp_path / "docs")
    assert xlsx.parent == tmp_path / "docs" and xlsx.read_bytes()[:2] == b"PK"
    pdf = state.exports.harmonization_info(public)  # into the service's own folder
    assert pdf.parent == state.exports.download_dir and pdf.read_bytes()[:5] == b"%PDF-"
    with pytest.raises(BadParameterError, match="no collection chosen"):
        state.download_metadata("", tmp_path)
    assert state.status == "error" and "no collection chosen" in state.message


# --- closing ----------------------------------------------------------------------------------------------
def _our_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before`` and still alive, except the local server's request workers."""
    return [t for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith("AnyIO")]


def test_close_leaves_no_thread(make_state, slow_server):
    state = make_state(slow_server.url, auto_search=True, debounce_s=5.0)
    before = set(threading.enumerate())
    state.load_legend()  # legend loading on its thread (0.3 s per request on this server)
    state.fetch_samples(wait=False)  # a running sample query ...
    assert state.wait_for(lambda: state.queries_started["samples"] == 1, timeout=30)
    state.bbox = SMALL  # ... and a search waiting out its 5 s debounce
    assert _our_threads(before), "nothing was running: the test proves nothing"
    assert state.close(timeout=30) is True
    assert _our_threads(before) == []
    assert state.status == "idle" and state.samples is None
    state.bbox = EUROPE  # a closed state schedules nothing
    assert not state.busy and _our_threads(before) == []
    assert state.close() is True  # closing again is harmless
