"""RdmQueryState against the local RDM server over HTTP: search, validation, debounce, supersession,
cancellation and samples."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import box, mapping

from worldcereal_explorer.errors import BadExtentError, BadTemporalExtentError

EUROPE = (-5.0, 40.0, 10.0, 55.0)


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
