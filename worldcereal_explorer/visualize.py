"""Quick looks on an ipyleaflet map, for notebooks (the dashboard has its own map widget)."""

from __future__ import annotations

from collections.abc import Iterable

from .rdm.models import Collection

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
        m.fit_bounds([[south, west], [north, east]])
    return m
