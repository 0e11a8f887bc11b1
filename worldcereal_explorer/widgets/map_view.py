"""The map view that shows a box: the zoom and centre for the map's real size in the browser.

Leaflet's own ``fitBounds`` runs in the browser; ipyleaflet's ``fit_bounds`` emulates it with a loop of
round trips that waits on an event loop, which a widget callback cannot count on. So the view is computed
here, in Web Mercator, for the map's size in pixels. That size is not a trait, but it follows from what the
browser reports: the visible ``bounds`` at the current ``zoom``. Before the browser has reported anything,
the size the map was laid out with is assumed.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["DEFAULT_MAP_SIZE_PX", "fit_view", "map_size_px"]

#: The size assumed before the browser has reported the map's bounds (the dashboard's map is 480 px high).
DEFAULT_MAP_SIZE_PX = (800, 480)
#: Web Mercator's latitude limit.
_MAX_LAT = 85.0511287798
#: Zoom levels a view is kept within.
MIN_ZOOM, MAX_ZOOM = 1, 17


def _x(lon: float) -> float:
    """Longitude as a fraction of the world's width (0 at 180°W)."""
    return (lon + 180.0) / 360.0


def _y(lat: float) -> float:
    """Latitude as a fraction of the world's height in Web Mercator (0 at the top)."""
    lat = max(-_MAX_LAT, min(_MAX_LAT, lat))
    s = math.sin(math.radians(lat))
    return 0.5 - math.log((1.0 + s) / (1.0 - s)) / (4.0 * math.pi)


def map_size_px(leaflet_map: Any, default: tuple[int, int] = DEFAULT_MAP_SIZE_PX) -> tuple[int, int]:
    """The map's size in the browser, in CSS pixels, from its reported ``bounds`` and ``zoom``.

    Parameters
    ----------
    leaflet_map
        An ipyleaflet ``Map`` (anything with ``bounds`` ``((south, west), (north, east))`` and ``zoom``).
    default
        Returned until the browser has reported bounds (or when they make no sense).
    """
    bounds = getattr(leaflet_map, "bounds", None)
    zoom = getattr(leaflet_map, "zoom", None)
    try:
        (south, west), (north, east) = bounds  # type: ignore[misc]
        world_px = 256.0 * 2.0 ** float(zoom)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    width = (_x(east) - _x(west)) * world_px  # Leaflet reports longitudes past ±180 where the world repeats
    height = (_y(south) - _y(north)) * world_px
    if not (width >= 50 and height >= 50):  # a hidden or collapsed map: no size to fit to
        return default
    return round(width), round(height)


def fit_view(bounds: tuple[float, float, float, float], size_px: tuple[int, int] = DEFAULT_MAP_SIZE_PX, *,
             pad_right_px: int = 0) -> tuple[tuple[float, float], int]:
    """Centre ``(lat, lon)`` and the largest whole zoom that show ``(west, south, east, north)`` entirely in
    a map of ``size_px`` ``(width, height)`` pixels (Web Mercator; zoom kept within 1..17).

    ``pad_right_px``: keep the box out of that many pixels on the map's right (where a legend sits), as
    Leaflet's ``fitBounds(..., {paddingBottomRight})`` does; ignored when the map is too narrow to spare them.
    """
    west, south, east, north = bounds
    width_px, height_px = size_px
    pad = pad_right_px if width_px - pad_right_px >= max(200, width_px // 2) else 0
    dx = max(_x(east) - _x(west), 1e-9)
    dy = max(_y(south) - _y(north), 1e-9)
    zoom = math.floor(min(math.log2((width_px - pad) / (256.0 * dx)), math.log2(height_px / (256.0 * dy))))
    zoom = int(min(MAX_ZOOM, max(MIN_ZOOM, zoom)))
    # the centre in projected space, so the box sits in the middle of the map at any latitude (and of the
    # part left of the padding)
    centre_x = (_x(west) + _x(east)) / 2.0 + pad / 2.0 / (256.0 * 2.0 ** zoom)
    centre_y = (_y(south) + _y(north)) / 2.0
    centre_lat = math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * centre_y))))
    return (centre_lat, centre_x * 360.0 - 180.0), zoom
