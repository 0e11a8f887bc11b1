"""The map's wheel guard (widgets/wheel_guard.py): the wheel zooms only a clicked map, or on Ctrl/Cmd+wheel.

The messages are sent the way the browser sends them (a widget's custom message); the browser itself is in
tests/browser/test_map_and_places_browser.py.
"""

from __future__ import annotations

import math

import pytest
from ipyleaflet import Map

from worldcereal_explorer.widgets.map_view import fit_view
from worldcereal_explorer.widgets.ui_map import AoiMap
from worldcereal_explorer.widgets.wheel_guard import WheelGuard, WheelHelper


def _interaction(leaflet_map: Map, kind: str) -> None:
    leaflet_map._handle_custom_msg({"event": "interaction", "type": kind, "coordinates": [10.0, 20.0]}, [])


def _ctrl_wheel(guard: WheelGuard, step: int, dx: float = 0.0, dy: float = 0.0) -> None:
    assert guard.widget is not None
    guard.widget._handle_custom_msg({"event": "zoom", "step": step, "dx": dx, "dy": dy}, [])


def test_the_wheel_zooms_only_after_a_click_and_until_the_pointer_leaves():
    aoi = AoiMap(display_ui=False)
    guard = aoi.wheel
    assert aoi.map.scroll_wheel_zoom is False and not guard.focused
    assert guard.target_class in aoi.map._dom_classes
    assert guard.widget in aoi.children  # the browser-side helper is in the page
    _interaction(aoi.map, "mousemove")
    assert aoi.map.scroll_wheel_zoom is False
    _interaction(aoi.map, "click")
    assert aoi.map.scroll_wheel_zoom is True and guard.widget.focused is True
    _interaction(aoi.map, "mouseout")
    assert aoi.map.scroll_wheel_zoom is False and guard.widget.focused is False
    _interaction(aoi.map, "mousedown")  # a drag starts with it: the map is being used
    assert aoi.map.scroll_wheel_zoom is True


def test_ctrl_wheel_zooms_an_unclicked_map_around_the_pointer():
    assert WheelHelper is not None
    leaflet_map = Map(center=(0.0, 0.0), zoom=3)
    guard = WheelGuard(leaflet_map)
    _ctrl_wheel(guard, 1)
    assert leaflet_map.zoom == 4 and leaflet_map.center == pytest.approx((0.0, 0.0), abs=1e-9)
    _ctrl_wheel(guard, -1, dx=200.0)  # out, with the pointer 200 px right of the centre
    assert leaflet_map.zoom == 3
    # the point that was under the pointer (200 px right at zoom 4) is still 200 px right at zoom 3
    lon_under = 200.0 / (256.0 * 2**4) * 360.0
    assert leaflet_map.center[1] == pytest.approx(lon_under - 200.0 / (256.0 * 2**3) * 360.0)
    assert leaflet_map.center[0] == pytest.approx(0.0, abs=1e-9)
    leaflet_map.zoom = 1
    _ctrl_wheel(guard, -1)
    assert leaflet_map.zoom == 1  # kept within the zoom range
    _interaction(leaflet_map, "click")
    _ctrl_wheel(guard, 1)
    assert leaflet_map.zoom == 1  # a clicked map zooms itself (Leaflet's own wheel zoom): no second step
    guard.widget._handle_custom_msg({"event": "zoom", "step": "x"}, [])  # malformed: ignored
    assert leaflet_map.zoom == 1


def test_ctrl_wheel_keeps_a_point_off_the_equator_in_place():
    (lat, lon), zoom = fit_view((10.0, 45.0, 20.0, 50.0))
    leaflet_map = Map(center=(lat, lon), zoom=zoom)
    guard = WheelGuard(leaflet_map)
    _ctrl_wheel(guard, 1, dx=0.0, dy=-100.0)  # pointer 100 px above the centre

    def y(lat_deg: float) -> float:
        s = math.sin(math.radians(lat_deg))
        return 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)

    before = y(lat) - 100.0 / (256.0 * 2**zoom)
    after = y(leaflet_map.center[0]) - 100.0 / (256.0 * 2 ** (zoom + 1))
    assert leaflet_map.zoom == zoom + 1 and after == pytest.approx(before, abs=1e-12)
