"""The sample preview on the map: where the samples a fetch would bring are, as H3 hexagons with counts.

Draws ``state.preview_density`` (computed by the state, see :mod:`worldcereal_explorer.state.preview`) as soon
as a preview is ready, before any sample is fetched. When zoomed out, cells are merged into their H3 parents
so the hexagons stay a few pixels wide and at most ``max_cells`` are drawn. Once the samples are fetched for
the current filters, :class:`~worldcereal_explorer.widgets.samples_layer.SamplesLayer` shows them and this
layer steps aside (``hide_when_fetched``). No I/O: the counts come from the state.
"""

from __future__ import annotations

import html
import math
from typing import Any

import h3
import pandas as pd
from ipyleaflet import GeoJSON, Map

from ..state import RdmQueryState
from .parts import html_part
from .samples_layer import COUNT_RAMP, MapLayerWidget, empty_features, h3_resolution_for_zoom

__all__ = ["PreviewDensityLayer", "merge_cells"]


def merge_cells(density: pd.DataFrame, resolution: int) -> pd.Series:
    """``density`` (``h3_cell``, ``count``) summed into cells of ``resolution`` (parents; never finer)."""
    if density is None or not len(density):
        return pd.Series(dtype="int64")
    cells = density["h3_cell"].astype(str)
    source = h3.get_resolution(cells.iloc[0])
    if resolution < source:
        parents = {c: h3.cell_to_parent(c, resolution) for c in cells.unique()}
        cells = cells.map(parents)
    return density["count"].groupby(cells.to_numpy()).sum().astype("int64")


class PreviewDensityLayer(MapLayerWidget):
    """H3 density of the samples a fetch would return (``state.preview_density``) on an ipyleaflet map.

    Parameters
    ----------
    state
        The query state whose ``preview_density`` it draws; it watches ``samples`` and ``samples_stale``
        to hide while the fetched samples are drawn (a new state when ``None``).
    map
        The map to draw on; a new one (shown in this widget) when ``None``.
    max_cells
        Most hexagons drawn; cells are merged into parents until the view fits.
    min_px
        Smallest hexagon width in pixels before cells are merged into parents.
    hide_when_fetched
        Draw nothing while ``state.samples`` holds the samples of the current filters (the samples layer
        shows them then).

    Attributes
    ----------
    resolution : int or None
        Resolution of the hexagons drawn (``None``: nothing drawn).
    n_drawn : int
        Hexagons drawn.
    """

    def __init__(self, state: RdmQueryState | None = None, map: Map | None = None, *, max_cells: int = 2000,
                 min_px: float = 10.0, hide_when_fetched: bool = True, **kwargs: Any):
        super().__init__(state, map, group_name="sample preview", **kwargs)
        self.max_cells = max_cells
        self.min_px = min_px
        self.hide_when_fetched = hide_when_fetched
        # One GeoJSON layer for the widget's lifetime, made here on the kernel's thread: redraws (which may run
        # on the preview's worker thread) only change its data, so the browser never has to create a view for
        # a model whose opening message may arrive after the message that uses it.
        self.layer = GeoJSON(data=empty_features(),
                             hover_style={"weight": 2, "fillOpacity": 0.8}, name="sample preview")
        self.layer.on_hover(self._on_hover)
        self.info = html_part("wce-density-info")
        self.resolution: int | None = None
        self.n_drawn = 0
        self._key: Any = None
        self.children = [self.info, self.map] if self.own_map else [self.info]
        self.map.observe(self._on_view, names=["zoom"])
        self._observe_state(self.refresh, ["preview_density", "preview_status", "samples", "samples_stale"])
        self.refresh()

    def _on_view(self, change: dict) -> None:
        self.refresh()

    @property
    def hidden(self) -> bool:
        """Whether the fetched samples of the current filters are on the map instead."""
        return self.hide_when_fetched and self.state.samples is not None and not self.state.samples_stale

    @property
    def outdated(self) -> bool:
        """The density drawn is from earlier inputs (a newer preview is on its way, or previews are off)."""
        return self.state.preview_status in ("pending", "loading", "stale", "cancelled")

    def refresh(self, change: dict | None = None) -> None:
        """Redraw for the current preview and zoom (called on every change of either)."""
        with self._render_lock:
            density = self.state.preview_density
            if density is None or not len(density) or self.hidden:
                self._clear("" if density is None or self.hidden else "the preview found no samples to map")
                return
            source = density.attrs.get("resolution")
            if source is None:
                source = h3.get_resolution(str(density["h3_cell"].iloc[0]))
            lat = float(self.map.center[0]) if self.map.center else 0.0
            resolution = min(int(source), h3_resolution_for_zoom(self.map.zoom, lat, self.min_px))
            while True:
                counts = merge_cells(density, resolution)
                if len(counts) <= self.max_cells or resolution == 0:
                    break
                resolution -= 1
            outdated = self.outdated
            key = (id(density), resolution, outdated)
            if key != self._key:
                self._key = key
                self._draw(counts, resolution, outdated)
            total = int(density["count"].sum())
            note = " (updating\u2026)" if outdated else ""
            self.info.value = (f"<span style='color:#555'>preview: {total:,} samples a fetch would bring, "
                               f"{len(counts):,} H3 cells (resolution {resolution}){html.escape(note)}</span>")

    def _clear(self, text: str) -> None:
        self.group.layers = ()
        self.resolution = None
        self.n_drawn = 0
        self._key = None
        self.info.value = f"<span style='color:#555'>{html.escape(text)}</span>" if text else ""

    def _draw(self, counts: pd.Series, resolution: int, outdated: bool) -> None:
        values = counts.to_numpy()
        top = math.log10(max(int(values.max()), 1)) or 1.0
        features = []
        for cell, count in zip(counts.index, values, strict=True):
            ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(str(cell))]
            ring.append(ring[0])
            step = min(len(COUNT_RAMP) - 1, int(math.log10(max(int(count), 1)) / top * (len(COUNT_RAMP) - 1)))
            features.append({
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"count": int(count), "cell": str(cell), "style": {"fillColor": COUNT_RAMP[step]}},
            })
        dim = 0.4 if outdated else 1.0
        style = {"color": "#7f2704", "weight": 0.5, "opacity": 0.6 * dim, "fillOpacity": 0.55 * dim}
        if outdated:
            style["dashArray"] = "3"
        self.layer.style = style
        self.layer.data = {"type": "FeatureCollection", "features": features}
        if self.group.layers != (self.layer,):
            self.group.layers = (self.layer,)
        self.resolution = resolution
        self.n_drawn = len(features)

    def _on_hover(self, feature: dict | None = None, **kwargs: Any) -> None:
        props = (feature or {}).get("properties") or {}
        if "count" in props:
            self.info.value = (f"<span style='color:#555'>H3 cell {html.escape(str(props.get('cell', '')))}: "
                               f"{int(props['count']):,} samples a fetch would bring</span>")
