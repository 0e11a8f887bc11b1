"""Issue 10.7, 10.8 and 10.10 (widget side): the map's controls, place search, collection details, resets,
download warnings and stable colours.

Map events are delivered as the front end sends them (``_handle_leaflet_event`` on the DrawControl), clicks
with ``.click()``, typing by setting ``.value``; everything runs against the local RDM server.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from shapely.geometry import box, mapping, shape

import worldcereal_explorer
from tests.widgets.conftest import make_client
from worldcereal_explorer.places import countries, find_country
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.widgets.bbox_map import WORLD_VIEW, BBoxMap
from worldcereal_explorer.widgets.counts_chart import CountsChart, collection_colour
from worldcereal_explorer.widgets.date_range import DateRangePicker
from worldcereal_explorer.widgets.download_panel import STALE_SAVE_WARNING, DownloadPanel
from worldcereal_explorer.widgets.quality import QualityFilter
from worldcereal_explorer.widgets.results_table import ResultsTable

EUROPE = (-5.0, 40.0, 10.0, 55.0)
SMALL = (3.0, 50.0, 6.0, 52.0)
DATA = Path(worldcereal_explorer.__file__).parent / "data"


@pytest.fixture
def state(rdm_url):
    state = RdmQueryState(client=make_client(rdm_url), auto_search=False, debounce_s=0.05)
    yield state
    state.close()


@pytest.fixture
def live_state(rdm_url):
    state = RdmQueryState(client=make_client(rdm_url), auto_search=True, debounce_s=0.05)
    yield state
    state.close()


def _draw(control, geometry, event="draw:created"):
    feature = {"type": "Feature", "properties": {"style": {}}, "geometry": mapping(geometry)}
    control._handle_leaflet_event(control, {"event": event, "geo_json": feature}, [])
    return feature


# --- 10.7 map, download panel, quality, resets -----------------------------------------------------------
def test_whole_world_zooms_out(state):
    view = BBoxMap(state)
    view.zoom_to(SMALL)
    assert view.map.zoom > WORLD_VIEW[1]
    view.clear_button.click()
    assert state.bbox is None and view.map.zoom == WORLD_VIEW[1]
    assert tuple(view.map.center) == tuple(WORLD_VIEW[0])


def test_new_query_clears_the_info_under_the_map_and_old_download_links(state, tmp_path):
    view, panel = BBoxMap(state), DownloadPanel(state, download_dir=tmp_path)
    state.bbox = SMALL
    state.refresh()
    feature = view.extents.data["features"][0]
    view.extents._handle_mouse_events(None, {"event": "mouseover", "feature": feature,
                                             "properties": feature["properties"]}, [])
    assert feature["properties"]["id"] in view.extent_info.value
    state.fetch_samples()
    assert panel.save_samples("CSV") is not None and "download=" in panel.links.value
    state.bbox = EUROPE
    state.refresh()
    assert view.extent_info.value == ""
    assert panel.links.value == ""


def test_save_warns_when_samples_are_stale(state, tmp_path):
    panel = DownloadPanel(state, download_dir=tmp_path)
    state.bbox = SMALL
    state.refresh()
    state.fetch_samples()
    assert panel.save_warning.layout.display == "none" and panel.save_button.button_style == "primary"
    state.min_quality_ct = 20  # the samples no longer match
    assert panel.save_warning.layout.display != "none"
    assert panel.save_button.button_style == "warning" and STALE_SAVE_WARNING in panel.save_button.tooltip
    path = panel.save_samples("CSV")
    assert path is not None and "earlier filters" in panel.links.value


def test_quality_slider_starts_at_zero_and_resets(state):
    quality = QualityFilter(state)
    assert quality.lc.min == 0 and quality.ct.min == 0 and quality.lc.value == 0
    assert "0" in quality.hint.value and "no minimum" in quality.hint.value
    quality.lc.value, quality.ct.value = 40, 60
    quality.reset()
    assert (state.min_quality_lc, state.min_quality_ct) == (0, 0) == (quality.lc.value, quality.ct.value)


def test_state_reset_restores_every_input_and_searches_once(rdm_url):
    state = RdmQueryState(client=make_client(rdm_url), auto_search=True, debounce_s=0.05, min_quality_lc=5)
    try:
        picker_dates = DateRangePicker(state)
        state.bbox = EUROPE
        state.start_date, state.end_date = "2021-01-01", "2021-12-31"
        state.ewoc_codes = [1100000000]
        state.grouping = {1100000000: "x"}
        state.include_private, state.min_quality_lc, state.min_quality_ct, state.subset = True, 50, 60, True
        state.selected_ids = ["a"]
        assert state.wait(30)
        before = state.queries_started["search"]
        state.reset()
        assert (state.bbox, state.polygon, state.start_date, state.end_date) == (None, None, None, None)
        assert (state.ewoc_codes, state.grouping, state.selected_ids) == ([], {}, [])
        assert (state.include_public, state.include_private, state.include_restricted) == (True, False, False)
        assert (state.min_quality_lc, state.min_quality_ct, state.subset) == (5, 0, False)  # as created
        assert picker_dates.start.value is None
        assert state.wait(30) and state.queries_started["search"] == before + 1
    finally:
        state.close()


def test_filter_widgets_have_reset(state):
    view, dates = BBoxMap(state), DateRangePicker(state)
    state.bbox, state.start_date, state.end_date = SMALL, "2021-01-01", "2021-02-01"
    view.reset()
    dates.reset()
    assert state.bbox is None and state.start_date is None and state.end_date is None


# --- 10.8 place search, typed edges, details panel -------------------------------------------------------
def test_country_file_is_small_public_domain_and_complete():
    path = DATA / "countries.geojson"
    assert path.stat().st_size < 300_000
    provenance = (DATA / "PROVENANCE.md").read_text()
    assert "public domain" in provenance and "scripts/make_countries.py" in provenance
    features = json.loads(path.read_text())["features"]
    assert len(features) == len(countries()) >= 170
    assert all(shape(f["geometry"]).is_valid and not shape(f["geometry"]).is_empty for f in features)
    assert find_country("kenya").iso_a3 == "KEN" and find_country("FRA").name == "France"
    assert find_country("Ivory Coast").name == "Côte d'Ivoire"
    # the package reads its own file, never pyogrio's test data
    source = (Path(worldcereal_explorer.__file__).parent / "places.py").read_text()
    assert "pyogrio" not in source and "fixtures" not in source


def test_typing_kenya_sets_the_country_outline_in_one_step(live_state):
    view = BBoxMap(live_state)
    seen = []
    live_state.observe(lambda ch: seen.append(ch["name"]), ["bbox", "polygon"])
    view.place.box.value = "Kenya"  # picked from the list or typed in full: one change
    kenya = find_country("Kenya")
    assert shape(live_state.polygon).equals(kenya.geometry)
    assert live_state.bbox == kenya.bbox
    assert view.map.zoom > WORLD_VIEW[1]
    assert live_state.wait(30) and live_state.status == "idle"
    assert live_state.collections and all("_ken" in c.id or "ken" in c.id[:8] for c in live_state.collections)
    assert live_state.queries_started["search"] >= 1
    view.place.outline.value = False  # only the box
    assert live_state.polygon is None and live_state.bbox == kenya.bbox
    assert view.place.apply("nowhere-land") is None and "no country" in view.place.message.value
    view.clear_button.click()
    assert view.place.box.value == "" and live_state.bbox is None


def test_typed_edges_search_once_when_all_four_are_set(live_state):
    view = BBoxMap(live_state)
    assert live_state.wait(30)
    changes = []
    live_state.observe(lambda ch: changes.append(ch["new"]), "bbox")
    view.west.value = EUROPE[0]
    view.south.value = EUROPE[1]
    view.east.value = EUROPE[2]
    assert changes == [] and "north" in view.field_hint.value
    view.north.value = EUROPE[3]
    assert changes == [EUROPE]
    assert live_state.wait(30) and live_state.status == "idle"


def test_clicking_a_collection_opens_its_details(state, tmp_path):
    table, view = ResultsTable(state), BBoxMap(state)
    table.details.zoom_to = view.zoom_to
    state.bbox = SMALL
    state.refresh()
    public = next(c for c in table.rows if c.is_public)
    assert not table.details.visible
    cell = next(cell for coll, cell in zip(table.rows, table.cells("id"), strict=False) if coll.id == public.id)
    cell.click()
    details = table.details
    assert details.visible and details.ref_id == public.id
    body = details.body.value
    assert "Licence" in body and "Citation" in body and "CC-BY-4.0" in body
    assert "Crop classes" in body and "Extent" in body
    details.zoom_button.click()
    west, south, east, north = public.bbox.as_tuple()
    lat, lon = view.map.center
    assert south <= lat <= north and west <= lon <= east and view.map.zoom > WORLD_VIEW[1]
    details.download_dir = tmp_path
    details.metadata_button.click()
    assert "download=" in details.links.value and ".xlsx" in details.links.value
    details.close_button.click()
    assert not details.visible


def test_details_come_through_the_state(state):
    state.bbox = SMALL
    state.refresh()
    ref_id = state.collections[0].id
    details = state.collection_details(ref_id)
    assert details["collection"].id == ref_id
    assert "OriginalDataSet:License:RequiredCitation:" in details["metadata"]
    assert details["counts"]["count"].sum() == state.class_counts[ref_id].sum()


def test_widgets_import_no_io_modules():
    """Widgets reach the RDM only through the state (architecture.md): no rdm/ import, no requests."""
    folder = Path(worldcereal_explorer.__file__).parent / "widgets"
    for name in ("place_search.py", "collection_details.py", "results_table.py", "bbox_map.py"):
        tree = ast.parse((folder / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith(("rdm", "requests")), (name, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("requests") for a in node.names), name


# --- 10.10 delete tool, stable colours, grouped bars -----------------------------------------------------
def test_drawn_shape_stays_in_the_draw_tool_and_its_delete_clears_the_area(state):
    view = BBoxMap(state)
    first = _draw(view.draw, box(*EUROPE))
    assert view.draw.data == [first]  # the delete tool has the shape to delete
    second = _draw(view.draw, box(*SMALL))
    assert view.draw.data == [second] and state.bbox == SMALL  # one shape at a time
    view.draw.data = [first, second]  # what the front end reports after a second drawing
    assert view.draw.data == [second]
    _draw(view.draw, box(*SMALL), event="draw:deleted")
    assert state.bbox is None and state.polygon is None and view.draw.data == []
    _draw(view.draw, box(*SMALL))
    state.bbox = EUROPE  # set elsewhere: the drawing is no longer the area
    assert view.draw.data == []


def test_each_collection_keeps_its_colour_across_queries(state):
    chart = CountsChart(state, max_labels=50, max_collections=50)
    state.bbox = EUROPE
    state.refresh()
    first = dict(zip(chart.bars.labels, chart.bars.colors, strict=False))
    state.bbox = SMALL
    state.refresh()
    second = dict(zip(chart.bars.labels, chart.bars.colors, strict=False))
    shared = set(first) & set(second)
    assert shared and list(first) != list(second)  # the collections' order differs between the two queries
    for ref_id in shared:
        assert first[ref_id] == second[ref_id] == collection_colour(ref_id)
    assert collection_colour("x") == collection_colour("x")


def test_grouped_bars_keep_clear_of_the_axes(state):
    chart = CountsChart(state, max_labels=50, max_collections=50, mode="grouped")
    state.bbox = EUROPE
    state.refresh()
    domain = list(chart.grouped_bars.scales["x"].domain)
    bars = list(chart.grouped_bars.x)
    assert domain[1:-1] == bars
    assert domain[0] not in bars and domain[-1] not in bars  # empty slots at both ends
    assert chart.figure.axes[0].tick_labels[domain[0]] == "" == chart.figure.axes[0].tick_labels[domain[-1]]
