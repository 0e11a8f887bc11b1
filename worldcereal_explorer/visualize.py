"""Quick looks on an ipyleaflet map, for notebooks (the dashboard has its own map widget)."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .rdm.models import Collection

if TYPE_CHECKING:
    from .legend import Legend

#: Outline colours by access type, as the RDM web UI colours its pins.
ACCESS_COLOURS = {"Public": "#1f77b4", "Private": "#d4a017", "Restricted": "#2ca02c"}


def visualize_spatial_extents(collections: Iterable[Collection], *, height: str = "450px"):
    """Draw the bounding boxes of collections on an ipyleaflet map.

    Parameters
    ----------
    collections
        Collections (as returned by ``get_collections``); those without a spatial extent are skipped.
    height
        CSS height of the map.

    Returns
    -------
    ipyleaflet.Map
        The map, zoomed to fit all boxes, one outlined rectangle per collection with its id as tooltip.
    """
    from ipyleaflet import LayerGroup, Map, Rectangle, ScaleControl
    from ipywidgets import HTML, Layout

    from .widgets.map_view import view_fitter

    boxes = [(c, c.spatial_extent) for c in collections if c.spatial_extent is not None]
    if boxes:
        west = min(b.west for _, b in boxes)
        south = min(b.south for _, b in boxes)
        east = max(b.east for _, b in boxes)
        north = max(b.north for _, b in boxes)
        center = ((south + north) / 2, (west + east) / 2)
    else:
        west, south, east, north = -180.0, -60.0, 180.0, 75.0
        center = (20.0, 0.0)
    m = Map(center=center, zoom=3, scroll_wheel_zoom=True, layout=Layout(height=height))
    m.add(ScaleControl(position="bottomleft"))
    group = LayerGroup(name="collection extents")
    for collection, bbox in boxes:
        rectangle = Rectangle(
            bounds=((bbox.south, bbox.west), (bbox.north, bbox.east)),
            color=ACCESS_COLOURS.get(collection.access_type, "#555555"),
            weight=2,
            fill_opacity=0.1,
            name=collection.id,
        )
        rectangle.popup = HTML(f"<b>{collection.id}</b><br>{collection.title}<br>{collection.feature_count} samples")
        group.add(rectangle)
    m.add(group)
    if boxes:
        view_fitter(m).fit((west, south, east, north))
    return m


#: Colours for crop classes, most frequent first (tab20-like, colour-blind friendly ones first).
SAMPLE_COLOURS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
    "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5",
    "#dbdb8d", "#393b79",
]
#: Points drawn at most by :func:`visualize_rdm_geoparquet` unless told otherwise (GeoJSON in the browser
#: slows down noticeably beyond a few thousand markers).
DEFAULT_MAX_POINTS = 5000


def _colour(index: int) -> str:
    if index < len(SAMPLE_COLOURS):
        return SAMPLE_COLOURS[index]
    import colorsys

    hue = (index * 0.618033988749895) % 1.0  # golden-ratio steps keep extra hues apart
    r, g, b = colorsys.hsv_to_rgb(hue, 0.65, 0.85)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def visualize_rdm_geoparquet(
    path: str | os.PathLike[str],
    selected_sample_ids: Iterable[Any] | None = None,
    *,
    legend: Legend | None = None,
    max_points: int | None = DEFAULT_MAX_POINTS,
    seed: int = 0,
    height: str = "450px",
):
    """Draw the samples of a local RDM GeoParquet file on an ipyleaflet map, coloured by crop type.

    Every sample is drawn as a circle marker (polygons at a point inside them), one layer per crop class
    (so the layer control can hide classes), with a legend ``label (ewoc_code): count``. Files with more
    than ``max_points`` samples are thinned to a random ``max_points`` of them, and a note on the map
    says so.

    Parameters
    ----------
    path
        A local GeoParquet file with an ``ewoc_code`` column (as downloaded from the RDM or exported).
    selected_sample_ids
        As in the reference client: when given (needs a ``sample_id`` column), the selected samples are
        drawn large and coloured by crop, the others small and red in one "not selected" layer.
    legend
        The legend translating ``ewoc_code`` into labels; :func:`~worldcereal_explorer.legend.default_legend`
        when ``None`` (which may download the official legend once).
    max_points
        Most samples drawn; ``None`` draws all.
    seed
        Seed of the random thinning (the same file gives the same map).
    height
        CSS height of the map.

    Returns
    -------
    ipyleaflet.Map
        The map, fitted to the samples. It carries ``wce_n_samples`` (samples in the file),
        ``wce_n_drawn`` (markers drawn) and ``wce_sample_layers`` (the GeoJSON layers, one per class).

    Raises
    ------
    BadParameterError
        When the file is missing or not GeoParquet, lacks ``ewoc_code``, or ``max_points`` is not a
        positive integer.
    """
    import geopandas as gpd
    import pandas as pd
    import pyarrow.parquet as pq
    from ipyleaflet import GeoJSON, LayersControl, Map, ScaleControl, WidgetControl
    from ipywidgets import HTML, Layout, VBox

    from .errors import BadParameterError
    from .legend import default_legend
    from .widgets.map_view import view_fitter

    if max_points is not None and (isinstance(max_points, bool) or not isinstance(max_points, int)
                                   or max_points < 1):
        raise BadParameterError(f"max_points={max_points!r} is not allowed; use a positive integer or None")
    source = Path(path)
    if not source.is_file():
        raise BadParameterError(f"samples file {str(source)!r} does not exist or is not a file")
    try:
        schema = pq.read_schema(source)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for non-Parquet content
        raise BadParameterError(f"{str(source)!r} is not a (Geo)Parquet file: {exc}") from None
    names = set(schema.names)
    if "ewoc_code" not in names:
        raise BadParameterError(f"{str(source)!r} has no 'ewoc_code' column; columns: {', '.join(schema.names)}")
    want_ids = selected_sample_ids is not None
    if want_ids and "sample_id" not in names:
        raise BadParameterError(f"selected_sample_ids needs a 'sample_id' column, which {str(source)!r} lacks")
    try:
        frame = gpd.read_parquet(source)
    except Exception as exc:  # no or broken "geo" metadata
        raise BadParameterError(f"{str(source)!r} is not a GeoParquet file: {exc}") from None
    keep = ["ewoc_code"] + (["sample_id"] if "sample_id" in frame.columns else [])
    frame = frame[[*keep, frame.geometry.name]]
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    n_samples = len(frame)
    if max_points is not None and n_samples > max_points:
        frame = frame.sample(n=max_points, random_state=seed)
    legend = legend if legend is not None else default_legend()

    # -1 stands for a missing or non-numeric code (ewoc codes are positive)
    codes = pd.to_numeric(frame["ewoc_code"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    selected_mask = (frame["sample_id"].isin(set(selected_sample_ids)).to_numpy() if selected_sample_ids is not None
                     else np.ones(len(frame), dtype=bool))
    ranked = pd.Series(codes[selected_mask]).value_counts()
    colours = {int(code): _colour(i) for i, code in enumerate(ranked.index)}
    points = frame.geometry.representative_point()
    ids = frame["sample_id"].astype(str).tolist() if "sample_id" in frame.columns else [""] * len(frame)
    xs, ys = points.x.to_numpy(), points.y.to_numpy()

    m = Map(center=(20.0, 0.0), zoom=2, scroll_wheel_zoom=True, layout=Layout(height=height))
    m.add(ScaleControl(position="bottomleft"))
    hover = HTML()

    def features(mask) -> list[dict]:
        return [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(xs[i]), float(ys[i])]},
                 "properties": {"ewoc_code": int(codes[i]) if codes[i] >= 0 else None, "sample_id": ids[i]}}
                for i in np.flatnonzero(mask)]

    def on_hover(feature: dict | None = None, **kwargs: Any) -> None:
        props = (feature or {}).get("properties") or {}
        code = props.get("ewoc_code")
        label = legend.label(code) if code is not None else "no ewoc_code"
        hover.value = f"<small>{html.escape(str(props.get('sample_id', '')))}: {html.escape(label)}</small>"

    layers = []
    rows = []
    if want_ids and (~selected_mask).any():
        layer = GeoJSON(data={"type": "FeatureCollection", "features": features(~selected_mask)},
                        name=f"not selected ({int((~selected_mask).sum()):,})",
                        point_style={"radius": 3, "color": "darkred", "fillColor": "red", "opacity": 0.6,
                                     "fillOpacity": 0.4, "weight": 1})
        layer.on_hover(on_hover)
        layers.append(layer)
        rows.append(f"<span style='color:red'>&#11044;</span> not selected: {int((~selected_mask).sum()):,}")
    for code, count in ranked.items():
        code = int(code)
        mask = selected_mask & (codes == code)
        label = f"{legend.label(code)} ({code})" if code >= 0 else "no ewoc_code"
        colour = colours[code]
        layer = GeoJSON(data={"type": "FeatureCollection", "features": features(mask)}, name=label,
                        point_style={"radius": 6 if want_ids else 5, "color": "black", "fillColor": colour,
                                     "opacity": 1, "fillOpacity": 0.75, "weight": 1})
        layer.on_hover(on_hover)
        layers.append(layer)
        rows.append(f"<span style='color:{colour}'>&#11044;</span> {html.escape(label)}: {int(count):,}")
    for layer in layers:
        m.add(layer)

    n_drawn = len(frame)
    note = ""
    if n_drawn < n_samples:
        note = (f"<i style='color:#e65100'>showing a random {n_drawn:,} of {n_samples:,} samples "
                "(pass max_points= to change)</i>")
    elif n_samples == 0:
        note = "<i>the file holds no samples</i>"
    title = f"<b>{html.escape(source.name)}</b>: {n_samples:,} samples"
    box = VBox([HTML(title), *([HTML(note)] if note else []), *(HTML(r) for r in rows), hover],
               layout=Layout(max_height="300px", overflow="auto", padding="4px"))
    m.add(WidgetControl(widget=box, position="topright"))
    m.add(LayersControl(position="topleft"))
    if n_drawn:
        view_fitter(m).fit((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())))
    m.wce_n_samples = n_samples
    m.wce_n_drawn = n_drawn
    m.wce_sample_layers = layers
    m.wce_note = re.sub(r"<[^>]+>", "", note)
    return m
