"""Issue 10.1: what is filtered is what is drawn.

A polygon drawn on the map has edges that are straight in Web Mercator (that is how the map draws them);
the samples fetched, and the collections listed and counted, must be those inside that shape. The oracle
projects every sample of the server's files to EPSG:3857 with pyproj and tests it against the polygon whose
vertices are the drawn corners — no densification involved, so it checks the package independently.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box, mapping

from tests.widgets.conftest import make_client
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.widgets.bbox_map import BBoxMap

#: The issue's triangle over the Ukraine demo collection (≥ 25° of latitude), and a small one.
LARGE = [(20.0, 35.0), (40.0, 35.0), (22.0, 62.0)]
SMALL = [(36.6, -0.4), (37.4, -0.4), (36.9, 0.5)]


def draw(control, geometry):
    feature = {"type": "Feature", "properties": {"style": {}}, "geometry": mapping(geometry)}
    control._handle_leaflet_event(control, {"event": "draw:created", "geo_json": feature}, [])


@pytest.fixture(scope="module")
def all_samples(demo_catalog) -> gpd.GeoDataFrame:
    frames = []
    for folder in sorted(p for p in demo_catalog.iterdir() if p.is_dir()):
        if (folder / "access.json").exists():
            continue
        path = next(p for p in folder.glob("*.geoparquet") if not p.name.startswith("sample_"))
        frame = gpd.read_parquet(path)
        frame["ref_id"] = folder.name
        frames.append(frame)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


def inside_as_drawn(samples: gpd.GeoDataFrame, corners) -> set[str]:
    """Sample ids inside the polygon whose edges are straight in Web Mercator."""
    drawn = Polygon([gpd.GeoSeries.from_xy([x], [y], crs="EPSG:4326").to_crs("EPSG:3857").iloc[0].coords[0]
                     for x, y in corners])
    projected = samples.to_crs("EPSG:3857")
    return set(samples.loc[projected.intersects(drawn).to_numpy(), "sample_id"])


@pytest.mark.parametrize("corners", [SMALL, LARGE], ids=["small", "large"])
def test_fetched_samples_are_those_inside_the_drawn_shape(rdm_url, all_samples, corners):
    expected = inside_as_drawn(all_samples, corners)
    assert expected, "the shape must hold demo samples"
    state = RdmQueryState(client=make_client(rdm_url), auto_search=False)
    try:
        view = BBoxMap(state)
        draw(view.draw, Polygon(corners))
        collections = state.refresh()
        got = state.fetch_samples()
        assert set(got["sample_id"]) == expected
        # listed and counted: exactly the collections the drawn shape can contain
        lon_lat_shape = gpd.GeoSeries([Polygon(corners)], crs="EPSG:4326").iloc[0]
        holding = {r for r in all_samples.loc[all_samples["sample_id"].isin(expected), "ref_id"]}
        listed = {c.id for c in collections}
        assert holding <= listed
        for c in collections:
            assert box(*c.bbox.as_tuple()).intersects(lon_lat_shape.envelope)
        assert set(state.class_counts.columns) <= listed
    finally:
        state.close()


def test_a_large_drawn_triangle_differs_from_its_lon_lat_reading(all_samples):
    """The test above would not notice the bug if both readings agreed on the demo data."""
    as_drawn = inside_as_drawn(all_samples, LARGE)
    straight_in_degrees = set(all_samples.loc[all_samples.intersects(Polygon(LARGE)).to_numpy(), "sample_id"])
    assert as_drawn != straight_in_degrees
