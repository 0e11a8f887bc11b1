"""The map, filter, samples and status widgets driven from Python (trait changes, draw events, clicks)
against the local server. The crop picker, results table, chart and download panel have their own files.

Draw events are delivered exactly as the front end sends them: a comm message
``{"event": "draw:created", "geo_json": <Feature>}`` handed to the DrawControl's message handler.
"""

from __future__ import annotations

import datetime as dt

import pytest
from shapely.geometry import box, mapping

from worldcereal_explorer.errors import BadExtentError
from worldcereal_explorer.widgets.bbox_map import BBoxMap
from worldcereal_explorer.widgets.date_range import DateRangePicker
from worldcereal_explorer.widgets.login import LoginWidget
from worldcereal_explorer.widgets.privacy import PrivacyToggle
from worldcereal_explorer.widgets.quality import QualityFilter
from worldcereal_explorer.widgets.samples_layer import SamplesLayer, h3_resolution_for_zoom
from worldcereal_explorer.widgets.samples_preview import SamplesPreview
from worldcereal_explorer.widgets.status import StatusBar
from worldcereal_explorer.widgets.subset import SubsetToggle

EUROPE = (-5.0, 40.0, 10.0, 55.0)


def _draw(control, geometry, event="draw:created"):
    feature = {"type": "Feature", "properties": {"style": {}}, "geometry": mapping(geometry)}
    control._handle_leaflet_event(control, {"event": event, "geo_json": feature}, [])


# --- map ---------------------------------------------------------------------------------------------
def test_drawn_rectangle_sets_bbox_and_fields(live_state):
    view = BBoxMap(live_state)
    _draw(view.draw, box(*EUROPE))
    assert live_state.bbox == EUROPE
    assert live_state.polygon is None
    assert (view.west.value, view.south.value, view.east.value, view.north.value) == EUROPE
    assert live_state.wait(30) and live_state.status == "idle"
    assert live_state.collections
    drawn = [f["properties"]["id"] for f in view.extents.data["features"]]
    assert sorted(drawn) == sorted(c.id for c in live_state.collections if c.spatial_extent)
    assert len(view.query_outline.data["features"]) == 1


def test_drawn_polygon_sets_polygon_and_delete_clears(live_state):
    view = BBoxMap(live_state)
    triangle = {"type": "Polygon", "coordinates": [[[-5, 40], [10, 40], [-5, 55], [-5, 40]]]}
    _draw(view.draw, __import__("shapely.geometry", fromlist=["shape"]).shape(triangle))
    assert live_state.polygon["type"] == "Polygon"
    assert live_state.bbox == EUROPE
    assert view.east.value == 10.0
    _draw(view.draw, box(*EUROPE), event="draw:deleted")
    assert live_state.polygon is None and live_state.bbox is None
    assert (view.west.value, view.north.value) == (-180.0, 90.0)
    assert live_state.wait(30)


def test_typed_fields_set_bbox_and_state_moves_fields(live_state):
    view = BBoxMap(live_state)
    view.west.value, view.south.value, view.east.value, view.north.value = EUROPE
    assert live_state.bbox == EUROPE
    live_state.bbox = (1.0, 2.0, 3.0, 4.0)
    assert (view.west.value, view.south.value, view.east.value, view.north.value) == (1.0, 2.0, 3.0, 4.0)
    view.west.value = 5.0  # west > east: the status says so, nothing raises
    assert live_state.wait(30)
    assert live_state.status == "error" and "west=5.0" in live_state.message
    view.clear_button.click()
    assert live_state.bbox is None
    assert live_state.wait(30) and live_state.status == "idle"


# --- filters -----------------------------------------------------------------------------------------
def test_date_range_both_ways(live_state):
    picker = DateRangePicker(live_state)
    picker.start.value = dt.date(2021, 1, 1)
    picker.end.value = dt.date(2021, 12, 31)
    assert (live_state.start_date, live_state.end_date) == (dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    live_state.start_date = "2020-03-04"
    assert picker.start.value == dt.date(2020, 3, 4)
    picker.clear_button.click()
    assert picker.start.value is None and live_state.end_date is None
    assert live_state.wait(30) and live_state.status == "idle"


def test_quality_subset_privacy_links(state):
    quality, subset, privacy = QualityFilter(state), SubsetToggle(state), PrivacyToggle(state)
    quality.lc.value = 40
    state.min_quality_ct = 70
    assert state.min_quality_lc == 40 and quality.ct.value == 70
    subset.checkbox.value = True
    assert state.subset is True
    assert privacy.public.value is True and privacy.login_area.children == ()
    privacy.private.value = True
    assert state.include_private is True
    assert privacy.login_area.children == (privacy.login_widget,)
    login = privacy.login_widget
    assert isinstance(login, LoginWidget) and login.session is state.auth
    assert state.client.token_provider is state.auth.provider  # a login in the widget authorises the client
    # Without a session the search stays public and says how to get the rest; no login flow starts.
    public = [c.id for c in state.refresh()]
    assert public and "log in to include private" in state.message
    assert state.status == "idle"
    state.include_private = False
    assert privacy.private.value is False and privacy.login_area.children == ()


def _move(leaflet_map, zoom, bounds):
    """Report a new view as the front end does after a zoom or pan (one state update message)."""
    west, south, east, north = bounds
    leaflet_map.set_state({"zoom": zoom, "south": south, "north": north, "west": west, "east": east})


# --- samples (map views are set with set_state, the path the front end's updates take) ---------------------------------------------------------------------------------------------
def test_samples_layer_switches_between_cells_and_features(state):
    layer = SamplesLayer(state, threshold=500)
    state.bbox = EUROPE
    state.refresh()
    samples = state.fetch_samples()
    assert len(samples) > 500
    assert layer.mode == "cells"
    lat = (EUROPE[1] + EUROPE[3]) / 2
    assert layer.resolution <= h3_resolution_for_zoom(layer.map.zoom, lat)
    first_resolution, n_cells = layer.resolution, layer.n_drawn
    assert sum(f["properties"]["count"] for f in layer.group.layers[0].data["features"]) <= len(samples)
    assert "H3 cells" in layer.info.value
    # zoom in on a small area, as the front end reports it
    lon, lat = samples.geometry.iloc[0].representative_point().coords[0]
    _move(layer.map, 12, (lon - 0.03, lat - 0.02, lon + 0.03, lat + 0.02))
    assert layer.mode == "features"
    features = layer.group.layers[0].data["features"]
    assert 0 < len(features) <= 500
    assert all(f["properties"]["style"]["color"].startswith("#") for f in features)
    assert layer.legend.legend  # crop colours shown
    hovered = features[0]
    layer.group.layers[0]._handle_mouse_events(None, {"event": "mouseover", "feature": hovered,
                                                      "properties": hovered["properties"]}, [])
    assert hovered["properties"]["sample_id"] in layer.hover.value
    _move(layer.map, 7, EUROPE)
    assert layer.mode == "cells" and layer.n_drawn >= n_cells
    hexagon = layer.group.layers[0].data["features"][0]
    layer.group.layers[0]._handle_mouse_events(None, {"event": "mouseover", "feature": hexagon,
                                                      "properties": hexagon["properties"]}, [])
    assert f"{hexagon['properties']['count']:,} samples" in layer.hover.value
    assert layer.resolution >= first_resolution


def test_coarse_cells_come_from_the_samples_h3_l3_cell(state):
    """Resolutions 0-3 use the parents of the RDM's own cell (per distinct cell); a sample whose cell is
    missing or garbage gets its resolution-3 cell from its coordinates, then the parent of that."""
    import h3.api.numpy_int as h3i

    layer = SamplesLayer(state, threshold=500)
    state.refresh()  # the whole world: the demo's point collections are outside Europe
    samples = state.fetch_samples()
    points = samples[samples.geom_type == "Point"].copy()
    assert len(points) > 100 and "h3_l3_cell" in points.columns
    points["h3_l3_cell"] = points["h3_l3_cell"].astype(object)
    points.iloc[0, points.columns.get_loc("h3_l3_cell")] = "not a cell"
    points.iloc[1, points.columns.get_loc("h3_l3_cell")] = None
    state.samples = points
    for resolution in (0, 2, 3):
        expected = [h3i.cell_to_parent(h3i.latlng_to_cell(p.y, p.x, 3), resolution) for p in points.geometry]
        assert layer._cells_at(resolution).tolist() == expected


def test_h3_resolution_gets_finer_with_zoom():
    resolutions = [h3_resolution_for_zoom(z, 45.0) for z in range(0, 19)]
    assert resolutions == sorted(resolutions)
    assert resolutions[2] <= 2 and resolutions[14] >= 9


def test_samples_preview_and_status(state):
    preview, status = SamplesPreview(state), StatusBar(state)
    assert "No samples" in preview.html.value
    state.bbox = EUROPE
    state.refresh()
    samples = state.fetch_samples()
    assert str(samples["sample_id"].iloc[0]) in preview.html.value
    assert f"{len(samples):,} samples" in status.label.value
    state.bbox = (1, 2, 3)
    with pytest.raises(BadExtentError, match=r"bbox \[1, 2, 3\] has 3 values; a bbox needs 4"):
        state.refresh()
    assert "data-status='error'" in status.label.value and "(west, south, east, north)" in status.label.value
