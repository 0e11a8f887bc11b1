"""The map view that shows a box: the zoom and centre for the map's real size in the browser.

Leaflet's own ``fitBounds`` runs in the browser; ipyleaflet's ``fit_bounds`` emulates it with a loop of
round trips that waits on an event loop, which a widget callback cannot count on. So the view is computed
here, in Web Mercator, for the map's size in pixels. That size is not a trait, but it follows from what the
browser reports: the visible ``bounds`` at the current ``zoom``. Before the browser has reported anything,
the size the map was laid out with is assumed.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

__all__ = ["DEFAULT_MAP_SIZE_PX", "ViewFitter", "fit_view", "map_size_px", "view_fitter"]

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


def map_size_px(leaflet_map: Any, default: Any = DEFAULT_MAP_SIZE_PX) -> Any:
    """The map's size in the browser, in CSS pixels: from its reported ``pixel_bounds``, else from its
    ``bounds`` at its ``zoom``.

    Parameters
    ----------
    leaflet_map
        An ipyleaflet ``Map`` (anything with ``bounds`` ``((south, west), (north, east))`` and ``zoom``).
    default
        Returned until the browser has reported bounds (or when they make no sense).

    Notes
    -----
    The pixel bounds give the size whatever the view. The geographic bounds are the browser's last report:
    right after the kernel moved the map they may be of another view than ``zoom`` (mid-pan), so they are
    only the fallback.
    """
    pixel = getattr(leaflet_map, "pixel_bounds", None)
    try:
        (left, top), (right, bottom) = pixel  # type: ignore[misc]
        if 50 <= right - left <= 20_000 and 50 <= bottom - top <= 20_000:
            return round(right - left), round(bottom - top)
    except (TypeError, ValueError):
        pass
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


class ViewFitter:
    """Shows boxes on one ipyleaflet map (:meth:`fit`) at the zoom that fits the map's real size.

    The size is what the browser last reported (``pixel_bounds``). A fit made on a size that the next report
    proves wrong (made before any report, or the page laid the map out again) is made again, once.

    Parameters
    ----------
    leaflet_map
        The ipyleaflet ``Map``.
    """

    def __init__(self, leaflet_map: Any):
        self.map = leaflet_map
        self._pending: tuple[tuple[float, float, float, float], int, tuple[int, int]] | None = None
        leaflet_map.observe(self._on_report, names=["pixel_bounds"])

    @property
    def size(self) -> tuple[int, int]:
        """The map's size as last reported by the browser (``DEFAULT_MAP_SIZE_PX`` before any report)."""
        return map_size_px(self.map)

    def fit(self, bounds: tuple[float, float, float, float], *, pad_right_px: int = 0) -> None:
        """Centre and zoom the map on ``(west, south, east, north)`` (see :func:`fit_view`)."""
        size = self.size
        self._apply(fit_view(bounds, size, pad_right_px=pad_right_px))
        self._pending = (bounds, pad_right_px, size)

    def _apply(self, view: tuple[tuple[float, float], int]) -> None:
        centre, zoom = view
        with self.map.hold_trait_notifications():
            self.map.center = centre
            self.map.zoom = zoom

    def _on_report(self, change: dict) -> None:
        pending, self._pending = self._pending, None  # once: a user's own pan or zoom afterwards is theirs
        if pending is None:
            return
        bounds, pad, assumed = pending
        size = self.size
        if abs(size[0] - assumed[0]) > 2 or abs(size[1] - assumed[1]) > 2:
            self._apply(fit_view(bounds, size, pad_right_px=pad))


_FITTERS: weakref.WeakKeyDictionary[Any, ViewFitter] = weakref.WeakKeyDictionary()


def view_fitter(leaflet_map: Any) -> ViewFitter:
    """The one :class:`ViewFitter` of ``leaflet_map`` (widgets sharing a map share it, so the newest fit is
    the one corrected)."""
    fitter = _FITTERS.get(leaflet_map)
    if fitter is None:
        fitter = _FITTERS[leaflet_map] = ViewFitter(leaflet_map)
    return fitter
