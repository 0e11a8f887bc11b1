"""The map's mouse wheel scrolls the page until the map is clicked, as web maps do.

A Leaflet map with wheel zoom on takes every wheel turn over it: a user scrolling down the dashboard zooms
the map out to the whole world instead. :class:`WheelGuard` keeps ``scroll_wheel_zoom`` off until the map is
clicked (or dragged), and off again when the pointer leaves it. With anywidget installed, a small
browser-side helper (:attr:`WheelGuard.widget`, to be placed in the page) also zooms on Ctrl+wheel (Cmd+wheel
on a Mac) over an unclicked map, where the browser would zoom the whole page.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import traitlets

from ._base import optional_anywidget
from .map_view import MAX_ZOOM, MIN_ZOOM, map_size_px

__all__ = ["WheelGuard", "WheelHelper", "guard_wheel"]

_WHEEL_ESM = r"""
function render({ model, el }) {
  el.style.display = "none";
  el.classList.add("wce-wheel-helper");
  let last = 0;
  const onWheel = (event) => {
    if (!(event.ctrlKey || event.metaKey) || !event.deltaY) return;
    const target = event.target && event.target.closest ? event.target : null;
    const map = target && target.closest("." + model.get("target_class"));
    if (!map) return;
    event.preventDefault();  // not the browser's zoom of the whole page
    if (model.get("focused")) return;  // Leaflet zooms a clicked map itself
    const now = Date.now();
    if (now - last < 200) return;  // one zoom step per gesture, as Leaflet's own wheel zoom
    last = now;
    const box = map.getBoundingClientRect();
    model.send({ event: "zoom", step: event.deltaY < 0 ? 1 : -1,
                 dx: event.clientX - (box.left + box.width / 2), dy: event.clientY - (box.top + box.height / 2) });
  };
  document.addEventListener("wheel", onWheel, { capture: true, passive: false });
  return () => document.removeEventListener("wheel", onWheel, { capture: true });
}
export default { render };
"""


def _helper_class(base: type) -> type:
    class WheelHelper(base):  # type: ignore[misc, valid-type]
        """Browser side of :class:`WheelGuard`: Ctrl/Cmd+wheel over the map with class ``target_class``."""

        _esm = _WHEEL_ESM
        target_class = traitlets.Unicode("").tag(sync=True)
        focused = traitlets.Bool(False).tag(sync=True)

    return WheelHelper


#: The helper widget class, or ``None`` when anywidget is not installed.
WheelHelper = optional_anywidget(_helper_class)

_IDS = itertools.count(1)


class WheelGuard:
    """Wheel zoom on one ipyleaflet map only once the map has been clicked (see the module's notes).

    Parameters
    ----------
    leaflet_map
        The ipyleaflet ``Map``; its ``scroll_wheel_zoom`` is switched off here and managed from now on.

    Attributes
    ----------
    map : ipyleaflet.Map
    target_class : str
        The CSS class given to the map, by which the browser-side helper finds it.
    widget : WheelHelper or None
        The browser-side helper for Ctrl/Cmd+wheel; it does its work only once it is in the page (it shows
        nothing). ``None`` without anywidget: then only a clicked map zooms on the wheel.
    """

    def __init__(self, leaflet_map: Any):
        self.map = leaflet_map
        self.target_class = f"wce-wheel-map-{next(_IDS)}"
        leaflet_map.add_class("wce-wheel-guarded")
        leaflet_map.add_class(self.target_class)
        leaflet_map.scroll_wheel_zoom = False
        leaflet_map.on_interaction(self._on_interaction)
        self.widget = WheelHelper(target_class=self.target_class) if WheelHelper is not None else None
        if self.widget is not None:
            self.widget.on_msg(self._on_helper_msg)

    @property
    def focused(self) -> bool:
        """Whether the map takes the wheel (it was clicked and the pointer has not left it since)."""
        return bool(self.map.scroll_wheel_zoom)

    def _set_focused(self, focused: bool) -> None:
        if self.map.scroll_wheel_zoom != focused:
            self.map.scroll_wheel_zoom = focused
        if self.widget is not None and self.widget.focused != focused:
            self.widget.focused = focused

    def _on_interaction(self, **event: Any) -> None:
        kind = event.get("type")
        if kind in ("mousedown", "click"):
            self._set_focused(True)
        elif kind == "mouseout":
            self._set_focused(False)

    def _on_helper_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("event") != "zoom":
            return
        try:
            step = int(content.get("step", 0))
            dx, dy = float(content.get("dx", 0.0)), float(content.get("dy", 0.0))
        except (TypeError, ValueError):
            return  # a malformed message from the page: nothing to do
        if step in (1, -1) and not self.focused:
            self.zoom_at(step, (dx, dy))

    def zoom_at(self, step: int, offset_px: tuple[float, float] = (0.0, 0.0)) -> None:
        """Zoom by ``step`` levels keeping the point ``offset_px`` (x right, y down, from the map's centre, in
        CSS pixels) where it is on screen, as Leaflet's own wheel zoom does.

        Parameters
        ----------
        step
            Levels to zoom in (positive) or out (negative); the result is kept within the map's zoom range.
        offset_px
            The pointer's position relative to the map's centre.
        """
        zoom = float(self.map.zoom)
        new_zoom = min(float(getattr(self.map, "max_zoom", None) or MAX_ZOOM), max(MIN_ZOOM, zoom + step))
        if new_zoom == zoom:
            return
        lat, lon = self.map.center
        width, height = map_size_px(self.map)
        dx = max(-width / 2, min(width / 2, offset_px[0]))
        dy = max(-height / 2, min(height / 2, offset_px[1]))
        # Web Mercator in world fractions: the point under the pointer stays put
        x = (lon + 180.0) / 360.0
        s = math.sin(math.radians(max(-85.0511, min(85.0511, lat))))
        y = 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)
        old_px, new_px = 256.0 * 2.0 ** zoom, 256.0 * 2.0 ** new_zoom
        px, py = x + dx / old_px, y + dy / old_px
        cx, cy = px - dx / new_px, min(1.0, max(0.0, py - dy / new_px))
        centre_lat = math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * cy))))
        with self.map.hold_trait_notifications():
            self.map.center = (centre_lat, cx * 360.0 - 180.0)
            self.map.zoom = new_zoom


def guard_wheel(leaflet_map: Any) -> WheelGuard:
    """Put a :class:`WheelGuard` on ``leaflet_map`` and return it (place its ``widget`` in the page)."""
    return WheelGuard(leaflet_map)
