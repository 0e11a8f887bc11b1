"""Map: draw a rectangle or polygon, pick a country, upload an AOI file (or type W/S/E/N), see collection
extents and samples."""

from __future__ import annotations

import contextlib
import html
import math
from typing import Any

import ipywidgets as w
import shapely
from ipyleaflet import DrawControl, GeoJSON, Map, ScaleControl
from shapely.geometry import mapping, shape

from ..extents import densify_as_drawn, geometry_bounds
from ..state import RdmQueryState
from ._base import StateWidget, style_widget
from .map_view import view_fitter
from .outline_base import OutlineBase
from .place_search import PlaceSearch
from .samples_layer import SamplesLayer
from .ui_map import AoiSelection, AoiUpload
from .wheel_guard import WheelGuard

_QUERY_STYLE = {"color": "#d81b60", "weight": 2, "fillOpacity": 0.05, "dashArray": "6 4"}
_DRAW_STYLE = {"shapeOptions": {"color": "#d81b60", "weight": 2, "fillOpacity": 0.05}}
#: The view "Whole world" (and :meth:`BBoxMap.reset`) returns to: the map's first view.
WORLD_VIEW = ((30.0, 10.0), 2)
_EDGES = ("west", "south", "east", "north")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


class BBoxMap(StateWidget):
    """An ipyleaflet map bound to ``state.bbox``/``state.polygon`` plus typed W/S/E/N fields.

    Drawing a rectangle sets ``state.bbox``; drawing a polygon sets ``state.polygon`` (and ``bbox`` to its
    bounds); uploading an AOI file (:class:`~.ui_map.AoiUpload`: GeoPackage, zipped Shapefile, GeoParquet,
    GeoJSON; one feature or the union of several) sets ``state.polygon`` (and ``bbox``); typing in a field
    sets ``state.bbox`` and drops any polygon; deleting the drawing clears both. Changes made to the state elsewhere move the fields and the outline. Matching collections are
    drawn as outlines (selected ones highlighted) and the fetched samples through :class:`SamplesLayer`.

    Parameters
    ----------
    state
        The query state to bind to (a new one when ``None``).
    samples
        Add the samples layer (default ``True``).
    height
        CSS height of the map.
    **samples_options
        Passed on to :class:`SamplesLayer` (``threshold``, ``max_cells`` ...).
    """

    def __init__(self, state: RdmQueryState | None = None, *, samples: bool = True, height: str = "480px",
                 samples_options: dict | None = None, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-map")
        self.map = Map(center=WORLD_VIEW[0], zoom=WORLD_VIEW[1], scroll_wheel_zoom=False, world_copy_jump=False,
                       layout=w.Layout(height=height, width="100%"))
        # the wheel scrolls the page until the map is clicked (or on Ctrl/Cmd+wheel), as web maps do: a user
        # scrolling down the dashboard must not zoom the map out to the whole world on the way
        self.wheel = WheelGuard(self.map)
        self.map.add(ScaleControl(position="bottomleft"))
        # country outlines from the package's data, above the tiles and under the data (shown offline)
        self.outlines = OutlineBase(self.map)
        self.draw = DrawControl(rectangle=_DRAW_STYLE, polygon=_DRAW_STYLE, polyline={}, circlemarker={},
                                circle={}, marker={}, edit=False, remove=True)
        self.draw.on_draw(self._on_draw)
        # The drawn shape stays in the draw tool (so its delete tool has something to delete); one at a time.
        self.draw.observe(self._on_draw_data, "data")
        self._from_draw = False
        self.map.add(self.draw)
        self.extents = GeoJSON(data=_collection(), name="collections",
                               style={"color": "#1565c0", "weight": 1.5, "fillOpacity": 0.04})
        self.extents.on_hover(self._on_extent_hover)
        self.map.add(self.extents)
        self.query_outline = GeoJSON(data=_collection(), name="query", style=_QUERY_STYLE)
        self.map.add(self.query_outline)

        fields = {}
        #: Edges typed since the fields last showed the state; with no area set, the search waits for all four.
        self._typed: set[str] = set()
        for name in ("north", "west", "east", "south"):
            box = w.FloatText(description=name[0].upper(), layout=w.Layout(width="150px"),
                              style={"description_width": "18px"}, step=0.1)
            box.add_class(f"wce-bbox-{name}")
            box.observe(self._on_field, "value")
            fields[name] = box
        self.north, self.west, self.east, self.south = (fields[n] for n in ("north", "west", "east", "south"))
        self.clear_button = w.Button(description="Whole world", icon="globe", layout=w.Layout(width="auto"))
        self.clear_button.add_class("wce-bbox-clear")
        self.clear_button.on_click(lambda _: self.clear())
        self.bbox_fields = w.HBox([self.west, self.south, self.east, self.north, self.clear_button],
                                  layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.field_hint = w.HTML()
        self.field_hint.add_class("wce-bbox-hint")
        self.upload = AoiUpload(description="Upload AOI")
        self.upload.on_select(self._on_upload)
        self.place = PlaceSearch(self.state, zoom_to=self.zoom_to)
        self.extent_info = w.HTML()
        self.extent_info.add_class("wce-extent-hover")
        self.samples_layer = SamplesLayer(self.state, self.map, **(samples_options or {})) if samples else None
        children = [style_widget(), self.place, self.bbox_fields, self.field_hint, self.upload, self.map,
                    self.outlines.widget, self.extent_info,
                    *([self.wheel.widget] if self.wheel.widget is not None else [])]
        if self.samples_layer is not None:
            children.append(self.samples_layer)
        self.children = children
        self._observe_state(self._on_state_extent, ["bbox", "polygon"])
        self._observe_state(self._on_collections, ["collections", "selected_ids"])
        self._observe_state(self._clear_info, "collections")
        self._on_state_extent()
        self._on_collections()

    def _on_extent_hover(self, feature: dict | None = None, **kwargs: Any) -> None:
        props = (feature or {}).get("properties") or {}
        self.extent_info.value = (f"<span style='color:#1565c0'>collection {html.escape(str(props.get('id', '')))}: "
                                  f"{html.escape(str(props.get('title', '')))}</span>")

    def _clear_info(self, change: dict | None = None) -> None:
        """A new query: the hover / click notes under the map are about the previous one."""
        self.extent_info.value = ""
        if self.samples_layer is not None:
            self.samples_layer.hover.value = ""

    # --- widget -> state ------------------------------------------------------------------------------
    def clear(self) -> None:
        """Remove the spatial filter (the drawing, the typed edges, the uploaded file's choices, the country)
        and zoom out to the whole world."""
        self._clear_drawing()
        self.upload.reset()
        self.upload.show_message("")
        self.place.reset()
        self._typed.clear()
        self.field_hint.value = ""
        with self.state.hold_trait_notifications():
            self.state.polygon = None
            self.state.bbox = None
        self.zoom_out()

    def reset(self) -> None:
        """Back to the default: no spatial filter, the whole world in view (as "Whole world")."""
        self.clear()

    def zoom_out(self) -> None:
        """Show the whole world (the map's first view)."""
        centre, zoom = WORLD_VIEW
        with self.map.hold_trait_notifications():
            self.map.center = centre
            self.map.zoom = zoom

    def _clear_drawing(self) -> None:
        self.draw.clear()
        if self.draw.data:
            self.draw.data = []

    def _on_draw_data(self, change: dict) -> None:
        data = list(change["new"] or [])
        if len(data) > 1:  # a new shape replaces the previous one (the query is one area)
            self.draw.data = data[-1:]

    def _on_draw(self, control: Any, action: str, geo_json: dict) -> None:
        if action == "deleted":
            self.clear()
            return
        if action not in ("created", "edited"):
            return
        geometry = shape((geo_json or {}).get("geometry") or {})
        bounds = geometry_bounds(geometry)
        is_box = shapely.equals(geometry, shapely.envelope(geometry))
        self._from_draw = True
        try:
            with self.state.hold_trait_notifications():
                # The filter must be the shape the user sees: edges straight on the (Mercator) map.
                self.state.polygon = None if is_box else mapping(densify_as_drawn(geometry))
                self.state.bbox = bounds
        finally:
            self._from_draw = False
        # The shape stays in the draw tool, so its delete tool clears the area; only the newest one.
        if geo_json and action == "created":
            self.draw.data = [geo_json]
        self.upload.reset()

    def _on_upload(self, selection: AoiSelection) -> str:
        """An uploaded (and chosen) shape becomes the query polygon; the outline layer draws it."""
        geometry = selection.geometry
        bounds = geometry_bounds(geometry)
        with self.state.hold_trait_notifications():
            self.state.polygon = mapping(geometry)
            self.state.bbox = bounds
        self.zoom_to(bounds)
        return f"query area set to {selection.choice} (bbox {', '.join(f'{v:.4f}' for v in bounds)})"

    def _on_field(self, change: dict) -> None:
        if self._syncing:
            return
        self._typed.add(next(name for name in _EDGES if getattr(self, name) is change["owner"]))
        if self.state.bbox is None and self.state.polygon is None and len(self._typed) < len(_EDGES):
            # No area yet (the fields show the whole world): search once, when all four edges are typed.
            left = [name for name in _EDGES if name not in self._typed]
            self.field_hint.value = (f"<span style='color:#666;font-size:12px'>type the "
                                     f"{', '.join(left)} edge{'s' if len(left) != 1 else ''} too to search this "
                                     f"area</span>")
            return
        self._typed.clear()
        self.field_hint.value = ""
        self._clear_drawing()  # the typed box replaces any drawn shape
        values = (self.west.value, self.south.value, self.east.value, self.north.value)
        with self._sync(), self.state.hold_trait_notifications():
            self.state.polygon = None
            self.state.bbox = values
        self.upload.reset()
        self._show_query()
        try:
            extent = self.state.spatial_extent()
        except Exception:  # invalid while typing: the status bar explains, the view stays
            extent = None
        if extent is not None and extent.bbox.area < 0.5 * 360 * 180:
            self.zoom_to(extent.bbox.as_tuple())

    # --- state -> widget --------------------------------------------------------------------------------
    def _on_state_extent(self, change: dict | None = None) -> None:
        if not self._syncing and not self._from_draw:
            # the area changed elsewhere (typed, uploaded, a country, Python, reset): the drawing is not it
            self._clear_drawing()
        if not self._syncing:
            self._typed.clear()
            self.field_hint.value = ""
            bbox = self.state.bbox
            if self.state.polygon is not None:
                try:
                    bbox = shape(_geometry(self.state.polygon)).bounds
                except Exception:  # the state reports the bad polygon; keep the fields as they are
                    bbox = self.state.bbox
            if bbox is None:
                bbox = (-180.0, -90.0, 180.0, 90.0)
            with self._sync():
                for box, value in zip((self.west, self.south, self.east, self.north), tuple(bbox)[:4], strict=False):
                    with contextlib.suppress(TypeError, ValueError):
                        box.value = float(value)
        self._show_query()

    def _show_query(self) -> None:
        try:
            extent = self.state.spatial_extent()
        except Exception:  # invalid input: the status bar says why; draw nothing
            extent = None
        if extent is None:
            self.query_outline.data = _collection()
            return
        self.query_outline.data = _collection([{"type": "Feature", "properties": {"name": "query"},
                                                "geometry": mapping(extent.shape)}])

    def _on_collections(self, change: dict | None = None) -> None:
        selected = set(self.state.selected_ids)
        features = []
        for coll in self.state.collections:
            if coll.spatial_extent is None:
                continue
            colour = "#ef6c00" if coll.id in selected else "#1565c0"
            features.append({
                "type": "Feature",
                "geometry": mapping(coll.spatial_extent.to_polygon()),
                "properties": {"id": coll.id, "title": coll.title,
                               "style": {"color": colour, "weight": 3 if coll.id in selected else 1.5}},
            })
        self.extents.data = _collection(features)

    def zoom_to(self, bounds: tuple[float, float, float, float]) -> None:
        """Centre and zoom the map on ``(west, south, east, north)``."""
        view_fitter(self.map).fit(bounds)


def _collection(features: list | None = None) -> dict:
    return {"type": "FeatureCollection", "features": features or []}


def _geometry(value: Any) -> Any:
    if isinstance(value, dict) and value.get("type") == "Feature":
        return value.get("geometry")
    return value
