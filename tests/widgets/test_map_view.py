"""The view that shows a box is computed for the map's real size (from what the browser reports)."""

from __future__ import annotations

import math

import pytest
from ipyleaflet import Map
from pyproj import Transformer

from worldcereal_explorer.widgets.map_view import DEFAULT_MAP_SIZE_PX, fit_view, map_size_px

# Web Mercator by pyproj, independent of the module's own projection code
_TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
_HALF_WORLD_M = 20037508.342789244


def _x(lon: float) -> float:
    """Longitude as a fraction of the world's width (0 at 180°W)."""
    return (_TO_MERCATOR.transform(lon, 0.0)[0] + _HALF_WORLD_M) / (2 * _HALF_WORLD_M)


def _y(lat: float) -> float:
    """Latitude as a fraction of the world's height in Web Mercator (0 at the top)."""
    return (_HALF_WORLD_M - _TO_MERCATOR.transform(0.0, lat)[1]) / (2 * _HALF_WORLD_M)

FRANCE = (-5.2, 42.3, 8.3, 51.1)
NORWAY = (4.5, 57.9, 31.2, 71.2)  # far north: a degree of latitude takes twice the pixels it takes at 0°


def _shown_px(bounds, zoom):
    west, south, east, north = bounds
    world = 256 * 2 ** zoom
    return (_x(east) - _x(west)) * world, (_y(south) - _y(north)) * world


def _bounds_reported(centre, zoom, size):
    """The ((south, west), (north, east)) Leaflet reports for a map of ``size`` at ``centre`` and ``zoom``."""
    lat, lon = centre
    world = 256 * 2 ** zoom
    half_w, half_h = size[0] / 2 / world, size[1] / 2 / world
    to_lat = lambda y: math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y))))  # noqa: E731
    return ((to_lat(_y(lat) + half_h), lon - half_w * 360), (to_lat(_y(lat) - half_h), lon + half_w * 360))


@pytest.mark.parametrize("box", [FRANCE, NORWAY, (36.9, -0.9, 37.1, -0.7), (-170.0, -60.0, 170.0, 75.0)])
@pytest.mark.parametrize("size", [(800, 480), (1300, 480), (420, 600)])
def test_the_view_is_the_closest_that_shows_the_whole_box(box, size):
    (lat, lon), zoom = fit_view(box, size)
    width, height = _shown_px(box, zoom)
    assert (width <= size[0] and height <= size[1]) or zoom == 1  # the box fits (unless the world is wider) ...
    if zoom < 17:
        closer_w, closer_h = _shown_px(box, zoom + 1)
        assert closer_w > size[0] or closer_h > size[1] or zoom == 1  # ... and one zoom closer it would not
    assert (_y(box[1]) + _y(box[3])) / 2 == pytest.approx(_y(lat))  # centred on the map, not in degrees
    assert lon == pytest.approx((box[0] + box[2]) / 2)


def test_the_map_size_follows_from_the_reported_bounds():
    leaflet = Map(center=(50.0, 4.0), zoom=6)
    assert map_size_px(leaflet) == DEFAULT_MAP_SIZE_PX  # nothing reported yet
    leaflet.set_trait("bounds", _bounds_reported((50.0, 4.0), 6, (1316, 720)))  # as the browser does
    assert map_size_px(leaflet) == (1316, 720)
    # a large map shows France one zoom closer than the 800 x 480 it used to assume
    assert fit_view(FRANCE, map_size_px(leaflet))[1] > fit_view(FRANCE, DEFAULT_MAP_SIZE_PX)[1]
    leaflet.set_trait("bounds", ((50.0, 4.0), (50.0, 4.0)))  # a hidden map reports an empty view
    assert map_size_px(leaflet) == DEFAULT_MAP_SIZE_PX


def test_a_far_north_box_is_not_cut_at_the_top_or_bottom():
    """The old degree-based estimate zoomed Norway in too far: its top and bottom fell off a 480 px map."""
    (_, _), zoom = fit_view(NORWAY, (800, 480))
    assert _shown_px(NORWAY, zoom)[1] <= 480


def test_padding_on_the_right_keeps_the_box_left_of_the_legend():
    size, pad = (1000, 480), 210
    (lat, lon), zoom = fit_view(FRANCE, size, pad_right_px=pad)
    world = 256 * 2 ** zoom
    centre_px = _x(lon) * world
    east_px = centre_px + size[0] / 2 - pad  # where the legend begins
    west_px = centre_px - size[0] / 2
    assert west_px <= _x(FRANCE[0]) * world and _x(FRANCE[2]) * world <= east_px  # the box is clear of it
    assert zoom <= fit_view(FRANCE, size)[1]
    # a narrow map cannot spare the pixels: the padding is ignored rather than squeezing the box
    assert fit_view(FRANCE, (380, 480), pad_right_px=pad) == fit_view(FRANCE, (380, 480))


def _report_size(leaflet, size):
    """What the browser reports with every view: the map's pixel bounds (world pixels at its zoom)."""
    left, top = 1000.0, 500.0
    leaflet.set_trait("pixel_bounds", ((left, top), (left + size[0], top + size[1])))


def test_the_size_comes_from_the_pixel_bounds_whatever_the_view():
    leaflet = Map(center=(50.0, 4.0), zoom=6)
    leaflet.set_trait("bounds", _bounds_reported((0.0, 0.0), 2, (960, 420)))  # a view of another zoom
    _report_size(leaflet, (604, 420))
    assert map_size_px(leaflet) == (604, 420)


def test_a_fit_is_corrected_once_the_browser_reports_the_real_size():
    """Fitted before the browser said how big the map is (800 x 480 assumed), the view is fitted again at
    the first report of another size; later reports (the user's own pans) are left alone."""
    from worldcereal_explorer.widgets.map_view import view_fitter

    leaflet = Map(center=(0.0, 0.0), zoom=2)
    fitter = view_fitter(leaflet)
    assert view_fitter(leaflet) is fitter  # one per map: widgets sharing it share the newest fit
    fitter.fit(FRANCE)
    assumed = fit_view(FRANCE, DEFAULT_MAP_SIZE_PX)
    assert leaflet.zoom == assumed[1]
    real = (1316, 720)
    _report_size(leaflet, real)  # the browser
    (lat, lon), zoom = fit_view(FRANCE, real)
    assert leaflet.zoom == zoom > assumed[1] and tuple(leaflet.center) == pytest.approx((lat, lon))
    leaflet.center, leaflet.zoom = (10.0, 10.0), 4  # the user pans and zooms ...
    _report_size(leaflet, real)
    assert leaflet.zoom == 4  # ... and the view stays theirs
    # a report of the size that was assumed needs no correction
    fitter.fit(NORWAY)
    before = (tuple(leaflet.center), leaflet.zoom)
    _report_size(leaflet, real)
    assert (tuple(leaflet.center), leaflet.zoom) == before
