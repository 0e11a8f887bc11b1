"""A map that orients offline: country outlines from the package's own data, shown when tiles do not load.

Map tiles come from a tile server; offline, behind a proxy or on an air-gapped JupyterHub none arrive and
the map is a grey rectangle. :class:`OutlineBase` adds a light vector base layer of the country outlines
shipped with the package (``data/countries.geojson``, Natural Earth, public domain; the file the country
search reads), drawn above the tiles and under every data layer, and a "Country outlines" checkbox to show
or hide it by hand (a layer switch that works from the keyboard, unlike Leaflet's layers control).

Whether tiles load is known only in the browser (ipyleaflet's ``TileLayer`` reports ``load``, which
Leaflet also fires when every tile failed, and no ``tileerror``). :class:`TileWatch`, an invisible
`anywidget <https://anywidget.dev>`_, looks at the page's ``img.leaflet-tile`` elements (their ``load``
and ``error`` events, caught on the document, plus one scan at start for tiles settled before it ran)
and tells the kernel once when a tile loaded and once when one failed: two messages at most. When tiles
failed and none loaded, the outlines are switched on and a note says why; once a tile loads, tiles stay
the default. Without anywidget the outlines are always shown (they are light enough to sit over tiles).
The outlines' GeoJSON (about 200 kB) is only sent to the browser when first shown; they are drawn in a
Leaflet pane of their own (:data:`OUTLINE_PANE`, z-index 350: above the tiles, under every data layer).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import ipywidgets as w
import traitlets
from ipyleaflet import GeoJSON

from ._base import optional_anywidget

__all__ = ["OUTLINE_PANE", "OUTLINE_STYLE", "OutlineBase", "TileWatch", "country_outlines"]

#: Land a near-white fill with grey borders; the sea is the map's own grey background.
OUTLINE_STYLE = {"color": "#607d8b", "weight": 0.8, "opacity": 0.9, "fillColor": "#fafafa", "fillOpacity": 0.85}

#: The Leaflet pane the outlines are drawn in (its element has class ``leaflet-wce-outlines-pane``).
OUTLINE_PANE = "wce-outlines"

_TILE_WATCH_ESM = r"""
function render({ model, el }) {
  el.style.display = "none";
  el.classList.add("wce-tile-watch");
  const note = (loaded) => {
    const name = loaded ? "tiles_loaded" : "tiles_failed";
    if (model.get(name)) return;
    model.set(name, true);
    model.save_changes();
  };
  const look = (img) => {
    if (!img || img.tagName !== "IMG" || !img.classList.contains("leaflet-tile")) return;
    if (img.complete) note(img.naturalWidth > 0);
  };
  const onEvent = (event) => {
    const img = event.target;
    if (!img || img.tagName !== "IMG" || !img.classList.contains("leaflet-tile")) return;
    note(event.type === "load" && img.naturalWidth > 0);
  };
  document.addEventListener("load", onEvent, true);
  document.addEventListener("error", onEvent, true);
  document.querySelectorAll("img.leaflet-tile").forEach(look);
  return () => {
    document.removeEventListener("load", onEvent, true);
    document.removeEventListener("error", onEvent, true);
  };
}
export default { render };
"""


def _watch_class(base: Any) -> type:
    class TileWatch(base):
        """An invisible widget reporting whether the page's map tiles load.

        Its page script sets each flag once, on the first ``img.leaflet-tile`` that loads or fails, so the
        kernel hears about tiles twice at most whatever the map does afterwards.

        Attributes
        ----------
        tiles_loaded : bool
            A tile was drawn.
        tiles_failed : bool
            A tile failed to load.
        """

        _esm = _TILE_WATCH_ESM
        tiles_loaded = traitlets.Bool(False).tag(sync=True)
        tiles_failed = traitlets.Bool(False).tag(sync=True)

    return TileWatch


#: The watch widget class, or ``None`` when anywidget is not installed.
TileWatch = optional_anywidget(_watch_class)


@lru_cache(maxsize=1)
def _outlines_text() -> str:
    return (resources.files("worldcereal_explorer") / "data" / "countries.geojson").read_text("utf-8")


def country_outlines() -> dict[str, Any]:
    """The shipped country outlines as a GeoJSON FeatureCollection (each feature's ``name`` kept)."""
    data = json.loads(_outlines_text())
    features = [{"type": "Feature", "geometry": f["geometry"], "properties": {"name": f["properties"]["name"]}}
                for f in data["features"]]
    return {"type": "FeatureCollection", "features": features}


class OutlineBase:
    """The country-outline base layer of one map, its checkbox, and the tile watch that switches it on.

    Parameters
    ----------
    leaflet_map
        The ipyleaflet ``Map``; the layer goes right above its base tiles (index 1), under the data layers
        added later.

    Attributes
    ----------
    layer : ipyleaflet.GeoJSON
        The outlines (``name="country outlines"``), hidden until shown.
    toggle : ipywidgets.Checkbox
        "Country outlines" (class ``wce-outline-toggle``).
    note : ipywidgets.HTML
        Says when the outlines were switched on because no tile loaded (class ``wce-outline-note``).
    watch : TileWatch or None
        The browser-side tile watch (``None`` without anywidget: the outlines are then always on).
    widget : ipywidgets.HBox
        The checkbox, the note and the watch, to place under the map.
    """

    def __init__(self, leaflet_map: Any):
        self.map = leaflet_map
        # A pane of its own between the tiles (z-index 200) and the data (overlayPane, 400): the outlines'
        # paths, sent later than the data's, would otherwise be drawn over them in the shared SVG.
        leaflet_map.panes = {**leaflet_map.panes, OUTLINE_PANE: {"zIndex": 350, "pointerEvents": "none"}}
        self.layer = GeoJSON(data={"type": "FeatureCollection", "features": []}, name="country outlines",
                             style=OUTLINE_STYLE, visible=False, pane=OUTLINE_PANE)
        layers = list(leaflet_map.layers)
        leaflet_map.layers = (*layers[:1], self.layer, *layers[1:])
        self.toggle = w.Checkbox(value=False, indent=False, description="Country outlines",
                                 tooltip="a light map of the country borders from the package's own data: "
                                         "use it when the map tiles do not load",
                                 layout=w.Layout(width="auto"))
        self.toggle.add_class("wce-outline-toggle")
        self.toggle.observe(self._on_toggle, "value")
        self.note = w.HTML("")
        self.note.add_class("wce-outline-note")
        self._by_hand = False
        self._auto = False
        self.watch = TileWatch() if TileWatch is not None else None
        parts: list[Any] = [self.toggle, self.note]
        if self.watch is not None:
            self.watch.observe(self._on_tiles, ["tiles_loaded", "tiles_failed"])
            parts.append(self.watch)
        else:
            self.show(True)
        self.widget = w.HBox(parts, layout=w.Layout(align_items="center", flex_flow="row wrap"))
        self.widget.add_class("wce-outline-base")

    def show(self, visible: bool = True) -> None:
        """Show (or hide) the outlines and tick (or untick) the checkbox."""
        if visible and not self.layer.data.get("features"):
            self.layer.data = country_outlines()  # sent to the browser only once it is wanted
        self.layer.visible = bool(visible)
        if self.toggle.value != bool(visible):
            self._auto = True
            try:
                self.toggle.value = bool(visible)
            finally:
                self._auto = False

    def _on_toggle(self, change: dict) -> None:
        if not self._auto:
            self._by_hand = True
            self.note.value = ""
        self.show(change["new"])

    def _on_tiles(self, change: dict | None = None) -> None:
        if self.watch is None or self._by_hand:
            return
        if self.watch.tiles_failed and not self.watch.tiles_loaded:
            self.show(True)
            self.note.value = ("<span style='color:#555;font-size:12px' role='status'>map tiles did not load "
                               "(offline?): showing country outlines</span>")
        elif self.watch.tiles_loaded and self.layer.visible and self.note.value:
            self.show(False)  # tiles arrived after all: they are the default again
            self.note.value = ""
