"""Samples on the map, with a level of detail that keeps 100,000+ samples responsive.

Plain GeoJSON costs the kernel, the websocket and the browser in proportion to the number of features
(about 6 s for 50,000 points here), so beyond ``threshold`` samples in view the layer shows H3 hexagons
with counts instead, at a resolution that follows the zoom. When the view holds few enough samples, the
individual samples are drawn (points as circle markers, polygons as polygons) coloured by crop type.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import h3.api.numpy_int as h3i
import ipywidgets as w
import numpy as np
import pandas as pd
import shapely
from ipyleaflet import GeoJSON, LayerGroup, LegendControl, Map

from ..state import RdmQueryState
from ._base import STALE_RESULTS_TEXT, StateWidget, close_widgets, style_widget
from .map_view import view_fitter
from .parts import html_part
from .status import STALE_NOTE

#: Qualitative colours for the most frequent crop labels (colour-blind friendly first).
#: Eight, so the map legend (eight classes + "other") fits a 480 px map.
CROP_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
OTHER_COLOUR = "#9e9e9e"
#: The width the map legend takes on the map's right (at most 190 px plus its margin): samples are fitted
#: into the rest of the map, so the legend does not cover them.
LEGEND_WIDTH_PX = 210
#: Sequential ramp for hexagon counts (light to dark).
COUNT_RAMP = ["#fff5eb", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#8c2d04"]


def map_or_new(map: Map | None) -> tuple[Map, bool]:
    """The map a layer widget draws on: ``map`` itself, or a new world map the widget shows and owns.

    Parameters
    ----------
    map
        A map to add the layers to, or ``None``.

    Returns
    -------
    tuple of (ipyleaflet.Map, bool)
        The map, and whether it is new (then the widget shows it among its children).
    """
    if map is not None:
        return map, False
    return Map(center=(20, 0), zoom=2, scroll_wheel_zoom=True, layout=w.Layout(height="420px")), True


def empty_features() -> dict:
    """A new GeoJSON FeatureCollection with no feature (what a reused layer holds when nothing is drawn)."""
    return {"type": "FeatureCollection", "features": []}


def h3_resolution_for_zoom(zoom: float, latitude: float = 0.0, min_px: float = 14.0) -> int:
    """Finest H3 resolution whose hexagons are still at least ``min_px`` pixels wide at web-map ``zoom``.

    Web Mercator shows ``156543 * cos(latitude) / 2**zoom`` metres per pixel; a hexagon is about two
    edge lengths wide.
    """
    metres_per_px = 156_543.03 * max(math.cos(math.radians(latitude)), 0.05) / 2.0 ** float(zoom)
    for resolution in range(10, -1, -1):
        if 2.0 * h3i.average_hexagon_edge_length(resolution, unit="m") / metres_per_px >= min_px:
            return resolution
    return 0


class MapLayerWidget(StateWidget):
    """A state widget that draws into a layer group of its own on an ipyleaflet map.

    Parameters
    ----------
    state
        The query state the layers follow (a new one when ``None``).
    map
        The map to add the group to; a new one, which the subclass shows among its children, when ``None``.
    group_name
        The group's name in the map's layer list.

    Attributes
    ----------
    map : ipyleaflet.Map
        The map drawn on.
    own_map : bool
        Whether the map was made by this widget (then it is one of the widget's children).
    group : ipyleaflet.LayerGroup
        The group the subclass puts its layers in; it is on ``map`` from the start.
    """

    def __init__(self, state: RdmQueryState | None, map: Map | None, *, group_name: str, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.map, self.own_map = map_or_new(map)
        self.group = LayerGroup(name=group_name)
        self.map.add(self.group)


class SamplesLayer(MapLayerWidget):
    """Draws ``state.samples`` on a map: H3 aggregates when many, individual samples when few.

    Parameters
    ----------
    state
        The query state whose ``samples`` to draw (a new one when ``None``).
    map
        The ipyleaflet map to draw on; a new one (shown in this widget) when ``None``.
    threshold
        Largest number of samples in view that is drawn feature by feature.
    max_cells
        Largest number of hexagons drawn; the resolution is lowered until the view fits.
    fit
        Move the map to the samples when new ones arrive.
    """

    def __init__(self, state: RdmQueryState | None = None, map: Map | None = None, *,
                 threshold: int = 5000, max_cells: int = 2000, fit: bool = True, **kwargs: Any):
        super().__init__(state, map, group_name="samples", **kwargs)
        self.threshold = threshold
        self.max_cells = max_cells
        self.fit = fit
        # One layer for individual samples and one for hexagons, for the widget's lifetime: a redraw (every
        # fetch, zoom and pan) only changes their data and style. A new layer per redraw would stay open in
        # the kernel and the browser until closed, and closing the replaced one races the browser drawing it.
        self.feature_layer = GeoJSON(data=empty_features(), point_style={"radius": 4, "weight": 1}, name="samples")
        self.feature_layer.on_hover(self._on_hover)
        self.cell_layer = GeoJSON(data=empty_features(), hover_style={"weight": 2, "fillOpacity": 0.9},
                                  name="sample density")
        self.cell_layer.on_hover(self._on_hover)
        self.legend = LegendControl({}, title="Samples", position="bottomright")
        self._legend_shown = False
        self.info = html_part("wce-samples-info")
        self.hover = html_part("wce-samples-hover")
        self.mode: str = "empty"
        self.resolution: int | None = None
        self.n_drawn = 0
        self._lon = self._lat = np.empty(0)
        self._labels = np.empty(0, dtype=object)
        self._colours: dict[str, str] = {}
        self._cells: dict[int, np.ndarray] = {}
        self._last_key: Any = None
        self._source: Any = None
        self.hover.layout.margin = "0 0 0 16px"
        self.children = ([style_widget(), self.info, self.map, self.hover] if self.own_map
                         else [w.HBox([self.info, self.hover])])
        # The front end reports a move as one message (zoom, south, north, east, west); ``bounds`` is
        # derived from the four edges after they are all set, so it fires once per move with the final view.
        self.map.observe(self._on_view, names=["bounds"])
        self._observe_state(self._on_samples, "samples")
        self._observe_state(self._on_stale, "samples_stale")
        self._on_samples()

    def close(self) -> None:
        """Take the samples off the map (a map lent by the caller stays open) and close the layer's widgets."""
        if self.map.comm is not None:  # the map is still open (the dashboard may have closed it first)
            for control in (self.group, self.legend):
                if control in self.map.layers or control in self.map.controls:
                    self.map.remove(control)
        close_widgets([self.group, self.legend, self.feature_layer, self.cell_layer])
        super().close()

    # --- data -------------------------------------------------------------------------------------------
    def _on_samples(self, change: dict | None = None) -> None:
        with self._render_lock:
            samples = self.state.samples
            self._source = samples
            self.hover.value = ""  # about a sample of the previous query
            self._cells.clear()
            self._last_key = None
            if samples is None or len(samples) == 0:
                self._lon = self._lat = np.empty(0)
                self._l3 = None
                self._labels = np.empty(0, dtype=object)
                self._colours = {}
                self._draw(None, "empty", None)
                self.info.value = "no samples fetched yet" if samples is None else "the query matched no samples"
                return
            geoms = samples.geometry.to_numpy()
            points = shapely.get_type_id(geoms) == 0
            centres = np.where(points, geoms, shapely.point_on_surface(geoms)) if not points.all() else geoms
            coords = shapely.get_coordinates(centres)
            self._lon, self._lat = coords[:, 0], coords[:, 1]
            # the RDM's own resolution-3 cell of every sample: coarser cells are its parents (per distinct
            # cell, not per sample: a million samples sit in a few thousand cells)
            self._l3 = samples["h3_l3_cell"].to_numpy(dtype=object) if "h3_l3_cell" in samples.columns else None
            column = next((c for c in ("new_label", "label") if c in samples.columns), None)
            labels = samples[column].astype(str) if column else samples["ewoc_code"].astype(str)
            self._labels = labels.to_numpy(dtype=object)
            ranked = labels.value_counts().index.tolist()
            self._colours = {lab: CROP_COLOURS[i] for i, lab in enumerate(ranked[: len(CROP_COLOURS)])}
            if self.fit:
                west, south, east, north = samples.total_bounds
                self._assumed_view = (west, south, east, north)
                view_fitter(self.map).fit((west, south, east, north), pad_right_px=LEGEND_WIDTH_PX)
            self.refresh()

    def _on_stale(self, change: dict | None = None) -> None:
        # Samples from older filters stay on the map, dimmed, with a note: clearing them would lose the
        # view the user is comparing against, drawing them as before would pass them off as current.
        with self._render_lock:
            if self.state.samples is not self._source:
                return  # new samples arrived with the flag: _on_samples draws them
            self.refresh()

    @property
    def stale(self) -> bool:
        """The drawn samples no longer match the filters (they are drawn dimmed)."""
        return bool(self.state.samples_stale) and len(self._lon) > 0

    def _opacity(self, value: float) -> float:
        return round(value * 0.3, 3) if self.stale else value

    def _set_info(self, text: str) -> None:
        if self.stale:
            text = (f"<span class='wce-stale' style='color:#e65100'>&#9888; {STALE_RESULTS_TEXT}: "
                    f"{html.escape(STALE_NOTE)}; showing the samples of the previous filters, dimmed</span> "
                    f"\u00b7 {text}")
        self.info.value = text

    def _cells_at(self, resolution: int) -> np.ndarray:
        cells = self._cells.get(resolution)
        if cells is None:
            cells = self._parents_of_l3(resolution) if resolution <= 3 else None
            if cells is None:
                cells = self._cells_of(np.arange(len(self._lat)), resolution)
            self._cells[resolution] = cells
        return cells

    def _cells_of(self, rows: np.ndarray, resolution: int) -> np.ndarray:
        return np.fromiter((h3i.latlng_to_cell(la, lo, resolution)
                            for la, lo in zip(self._lat[rows].tolist(), self._lon[rows].tolist(), strict=True)),
                           dtype=np.uint64, count=len(rows))

    def _parents_of_l3(self, resolution: int) -> np.ndarray | None:
        """Cells at ``resolution`` (<= 3): the parents of the samples' ``h3_l3_cell`` (H3 parents do not
        nest exactly, so near a coarse cell's edge a sample may be counted in its neighbour: fine for a
        density map). Rows without a valid cell get theirs from their coordinates. ``None`` when the
        samples carry no such column."""
        l3: np.ndarray | None = getattr(self, "_l3", None)
        if l3 is None:
            return None
        codes, uniques = pd.factorize(l3)
        parents = np.zeros(len(uniques) + 1, dtype=np.uint64)  # the last slot: "compute it" (code -1)
        for k, text in enumerate(uniques):
            try:
                cell = h3i.str_to_int(str(text))
                valid = h3i.is_valid_cell(cell) and h3i.get_resolution(cell) == 3
            except (ValueError, TypeError):
                valid = False
            parents[k] = h3i.cell_to_parent(cell, resolution) if valid else 0
        cells = parents[codes]
        missing = np.flatnonzero(cells == 0)
        if len(missing):  # their own resolution-3 cell first, so every sample is placed the same way
            cells[missing] = [h3i.cell_to_parent(int(c), resolution) for c in self._cells_of(missing, 3)]
        return cells

    def _view(self) -> tuple[float, float, float, float]:
        bounds = self.map.bounds
        if bounds and len(bounds) == 2 and bounds[0] and bounds[1]:
            (south, west), (north, east) = bounds
            if north > south and east > west:
                return west, south, east, north
        return getattr(self, "_assumed_view", (-180.0, -90.0, 180.0, 90.0))

    # --- drawing ------------------------------------------------------------------------------------------
    def _on_view(self, change: dict) -> None:
        if len(self._lon):
            self.refresh()

    def refresh(self) -> None:
        """Redraw for the current view (called on new samples and on every zoom / pan)."""
        with self._render_lock:
            if not len(self._lon):
                return
            west, south, east, north = self._view()
            pad_x, pad_y = 0.25 * (east - west), 0.25 * (north - south)
            in_view = ((self._lon >= west - pad_x) & (self._lon <= east + pad_x)
                       & (self._lat >= south - pad_y) & (self._lat <= north + pad_y))
            n_view = int(in_view.sum())
            total = len(self._lon)
            zoom = f"zoom {self.map.zoom:g}"
            if n_view <= self.threshold:
                key: tuple[Any, ...] = ("features", in_view.tobytes() if n_view < total else None, self.stale)
                if key != self._last_key:
                    self._last_key = key
                    self._draw_features(np.flatnonzero(in_view))
                self._set_info(f"{total:,} samples; {n_view:,} in view drawn individually ({zoom})"
                               if n_view < total else f"{total:,} samples drawn individually ({zoom})")
                return
            resolution = h3_resolution_for_zoom(self.map.zoom, (south + north) / 2.0)
            while True:
                cells = self._cells_at(resolution)[in_view]
                counts = pd.Series(cells).value_counts()
                if len(counts) <= self.max_cells or resolution == 0:
                    break
                resolution -= 1
            key = ("cells", resolution, tuple(counts.index[:3]), len(counts), n_view, self.stale)
            if key != self._last_key:
                self._last_key = key
                self._draw_cells(counts, resolution)
            self._set_info(f"{total:,} samples; {n_view:,} in view shown as {len(counts):,} H3 cells "
                           f"(resolution {resolution}, {zoom}); zoom in to see individual samples")

    def _draw(self, layer: GeoJSON | None, mode: str, legend: dict[str, str] | None) -> None:
        shown = () if layer is None else (layer,)
        if self.group.layers != shown:
            self.group.layers = shown
        for other in (self.feature_layer, self.cell_layer):
            if other is not layer and other.data.get("features"):
                other.data = empty_features()  # off the map now: free what it held in the kernel and the browser
        self.mode = mode
        if legend:
            self.legend.legend = legend
            if not self._legend_shown:
                self.map.add(self.legend)
                self._legend_shown = True
        elif self._legend_shown:
            self.map.remove(self.legend)
            self._legend_shown = False

    def _on_hover(self, feature: dict | None = None, **kwargs: Any) -> None:
        props = (feature or {}).get("properties") or {}
        if "count" in props:
            text = f"H3 cell {props.get('cell', '')}: {int(props['count']):,} samples"
        else:
            text = f"{props.get('label', '')} ({props.get('ewoc_code', '')}) \u2014 sample {props.get('sample_id', '')}"
        self.hover.value = f"<span style='color:#555'>{html.escape(text)}</span>"

    def _draw_features(self, rows: np.ndarray) -> None:
        samples = self.state.samples.iloc[rows]
        geometries = shapely.to_geojson(samples.geometry.to_numpy())
        labels = self._labels[rows]
        codes = samples["ewoc_code"].to_numpy() if "ewoc_code" in samples.columns else [None] * len(rows)
        ids = samples["sample_id"].astype(str).to_numpy() if "sample_id" in samples.columns else [""] * len(rows)
        features = []
        for geom, label, code, sample_id in zip(geometries, labels, codes, ids, strict=True):
            colour = self._colours.get(label, OTHER_COLOUR)
            features.append({
                "type": "Feature",
                "geometry": json.loads(geom),
                "properties": {"label": label, "ewoc_code": None if code is None else int(code),
                               "sample_id": sample_id,
                               "style": {"color": colour, "fillColor": colour}},
            })
        layer = self.feature_layer
        # the style (opacity included) is applied to circle markers too, after point_style
        layer.style = {"weight": 1, "opacity": self._opacity(0.9), "fillOpacity": self._opacity(0.7)}
        layer.data = {"type": "FeatureCollection", "features": features}
        self.n_drawn = len(features)
        self.resolution = None
        present = set(labels.tolist())
        legend = {html.escape(lab): col for lab, col in self._colours.items() if lab in present}
        if present - set(self._colours):
            legend["other"] = OTHER_COLOUR
        self._draw(layer, "features", legend)

    def _draw_cells(self, counts: pd.Series, resolution: int) -> None:
        values = counts.to_numpy()
        top = math.log10(max(values.max(), 1)) or 1.0
        features = []
        for cell, count in zip(counts.index.to_numpy(), values, strict=True):
            ring = [(lng, lat) for lat, lng in h3i.cell_to_boundary(int(cell))]
            ring.append(ring[0])
            step = min(len(COUNT_RAMP) - 1, int(math.log10(max(int(count), 1)) / top * (len(COUNT_RAMP) - 1)))
            colour = COUNT_RAMP[step]
            features.append({
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"count": int(count), "cell": h3i.int_to_str(int(cell)) if hasattr(h3i, "int_to_str")
                               else str(cell), "style": {"fillColor": colour}},
            })
        layer = self.cell_layer
        layer.style = {"color": "#7f2704", "weight": 0.5, "opacity": self._opacity(0.6),
                       "fillOpacity": self._opacity(0.65)}
        layer.data = {"type": "FeatureCollection", "features": features}
        self.n_drawn = len(features)
        self.resolution = resolution
        legend: dict[str, str] = {}
        for step, colour in enumerate(COUNT_RAMP):
            edge = int(math.ceil(10 ** (top * step / (len(COUNT_RAMP) - 1))))
            legend.setdefault(f"\u2265 {edge:,} samples", colour)
        self._draw(layer, "cells", legend)
