"""The AOI map (``ui_map``) and its upload component, driven from Python: draw events as the front end
sends them, and uploads by setting the FileUpload ``value`` to the bytes of real files written here.

Expected numbers come from geopandas/pyproj directly, not from the module's helpers.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping
from shapely.geometry.polygon import orient

from worldcereal_explorer.errors import BadExtentError, BadParameterError
from worldcereal_explorer.widgets.bbox_map import BBoxMap
from worldcereal_explorer.widgets.ui_map import AoiBBox, AoiMap, aoi_area_km2, read_aoi_file, ui_map

# Two fields near Leuven (UTM 31N) and one triangle, in EPSG:4326.
TRIANGLE = Polygon([(4.60, 50.80), (4.80, 50.80), (4.60, 50.95)])
SQUARE = box(4.85, 50.85, 4.95, 50.92)
HOLED = Polygon(box(4.40, 50.70, 4.55, 50.78).exterior.coords, [box(4.45, 50.72, 4.50, 50.75).exterior.coords])


# --- helpers ------------------------------------------------------------------------------------------
def _draw(control, geometry, event="draw:created"):
    feature = {"type": "Feature", "properties": {"style": {}}, "geometry": mapping(geometry)}
    control._handle_leaflet_event(control, {"event": event, "geo_json": feature}, [])


def _upload(upload, name: str, data: bytes) -> None:
    """Set the FileUpload value the way ipywidgets 8 does when the browser sends a file."""
    upload.file_upload.value = ({"name": name, "type": "application/octet-stream", "size": len(data),
                                 "content": memoryview(data), "last_modified": dt.datetime.now(dt.timezone.utc)},)


def _frame(geometries, crs="EPSG:4326", names=None) -> gpd.GeoDataFrame:
    names = names or [f"field {i}" for i in range(len(geometries))]
    return gpd.GeoDataFrame({"name": names, "value": range(len(geometries))}, geometry=list(geometries), crs=crs)


def _write(frame: gpd.GeoDataFrame, kind: str, folder: Path) -> tuple[str, bytes]:
    """Write ``frame`` in one of the upload formats; return (file name, bytes)."""
    if kind == "gpkg":
        path = folder / "aoi.gpkg"
        frame.to_file(path, driver="GPKG", layer="fields")
    elif kind == "geojson":
        path = folder / "aoi.geojson"
        frame.to_crs(4326).to_file(path, driver="GeoJSON")
    elif kind == "parquet":
        path = folder / "aoi.parquet"
        frame.to_parquet(path)
    elif kind == "zip":
        shp_dir = folder / "shp"
        shp_dir.mkdir()
        frame.to_file(shp_dir / "fields.shp")
        path = folder / "aoi.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for part in shp_dir.iterdir():  # inside a folder, as zips made by file managers often are
                archive.write(part, f"fields/{part.name}")
    else:
        raise AssertionError(kind)
    return path.name, path.read_bytes()


def _same(a, b, tol=1e-9) -> bool:
    return shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=tol)


@pytest.fixture
def aoi() -> AoiMap:
    view = ui_map(display_ui=False)
    yield view
    view.close()


# --- uploads in every format ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["gpkg", "zip", "parquet", "geojson"])
def test_upload_each_format_sets_the_aoi_in_4326(aoi, tmp_path, kind):
    # Written in Web Mercator (GeoJSON is always lon/lat): the widget must reproject to EPSG:4326.
    source = _frame([HOLED]).to_crs(3857)
    name, data = _write(source, kind, tmp_path)
    _upload(aoi.upload, name, data)

    expected = source.to_crs(4326).geometry.iloc[0]  # geopandas' own reprojection
    assert "color:#c62828" not in aoi.message.value, aoi.message.value
    assert aoi.n_shapes == 1
    assert _same(aoi.get_poly(), expected, tol=1e-7)
    gdf = aoi.get_gdf()
    assert gdf.crs.to_epsg() == 4326 and list(gdf.columns) == ["id", "source", "geometry"]
    assert aoi.get_bbox() == pytest.approx(expected.bounds)
    assert aoi.upload.choice.layout.display == "none"  # one feature: no dropdown
    assert aoi.upload.file_upload.value == ()  # emptied, so the same file can be uploaded again
    assert name in aoi.message.value


def test_upload_several_features_union_then_pick_one(aoi, tmp_path):
    name, data = _write(_frame([TRIANGLE, SQUARE], names=["north", "east"]), "gpkg", tmp_path)
    _upload(aoi.upload, name, data)
    assert aoi.upload.choice.layout.display == ""
    labels = [label for label, _ in aoi.upload.choice.options]
    assert labels[0].startswith("all 2 features (union)")
    assert labels[1:] == ["1: north", "2: east"]
    assert _same(aoi.get_poly(), MultiPolygon([TRIANGLE, SQUARE]))  # the union by default
    assert aoi.n_shapes == 1

    aoi.upload.choice.value = "1"  # the user picks "2: east" in the dropdown
    assert _same(aoi.get_poly(), SQUARE)
    assert aoi.get_gdf()["id"].tolist() == ["aoi: 2: east"]
    aoi.upload.select("1: north")  # the same from Python, by label
    assert _same(aoi.get_poly(), TRIANGLE)
    aoi.upload.select("union")
    assert _same(aoi.get_poly(), MultiPolygon([TRIANGLE, SQUARE]))
    with pytest.raises(BadParameterError, match="not one of the choices"):
        aoi.upload.select("each")  # only in multi mode


def test_upload_mixed_geometries_keeps_polygons_and_says_so(aoi, tmp_path):
    frame = gpd.GeoDataFrame({"name": ["p", "f"]}, geometry=[Point(4.7, 50.9), SQUARE], crs=4326)
    name, data = _write(frame, "geojson", tmp_path)
    _upload(aoi.upload, name, data)
    assert _same(aoi.get_poly(), SQUARE)
    assert "1 feature(s) without a polygon were skipped" in aoi.message.value


# --- bad uploads --------------------------------------------------------------------------------------------
def test_unreadable_upload_names_the_file_and_the_formats(aoi, tmp_path):
    _upload(aoi.upload, "fields.txt", b"west,south,east,north\n4,50,5,51\n")
    message = aoi.message.value
    assert "fields.txt" in message and "color:#c62828" in message
    for fmt in ("GeoPackage", "Shapefile", "GeoParquet", "GeoJSON"):
        assert fmt in message
    with pytest.raises(BadExtentError, match="no area of interest yet"):
        aoi.get_poly()

    with pytest.raises(BadParameterError, match=r"'fields\.txt'.*allowed: GeoPackage"):
        read_aoi_file("fields.txt", b"west,south,east,north\n")


@pytest.mark.parametrize("case", ["zip-without-shp", "plain-parquet", "broken-gpkg", "points-only", "empty"])
def test_bad_files_are_refused_with_a_reason(tmp_path, case):
    if case == "zip-without-shp":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("readme.txt", "no shapes here")
        name, data, reason = "fields.zip", buffer.getvalue(), "holds no .shp"
    elif case == "plain-parquet":
        path = tmp_path / "table.parquet"
        pd.DataFrame({"a": [1, 2]}).to_parquet(path)
        name, data, reason = path.name, path.read_bytes(), "not a GeoParquet"
    elif case == "broken-gpkg":
        name, data, reason = "cut.gpkg", b"SQLite format 3\x00" + b"\x00" * 200, "not a readable GeoPackage"
    elif case == "points-only":
        frame = gpd.GeoDataFrame(geometry=[Point(4.7, 50.9), Point(4.8, 50.8)], crs=4326)
        name, data = _write(frame, "geojson", tmp_path)
        reason = "no polygon features"
    else:
        name, data, reason = "empty.gpkg", b"", "the file is empty"
    with pytest.raises(BadParameterError, match=reason) as caught:
        read_aoi_file(name, data)
    assert repr(name) in str(caught.value) and "allowed:" in str(caught.value)


# --- drawing ----------------------------------------------------------------------------------------------
def test_drawn_rectangle_then_polygon_single_mode_keeps_the_last(aoi):
    _draw(aoi.draw_control, SQUARE)
    assert _same(aoi.get_poly(), SQUARE)
    _draw(aoi.draw_control, TRIANGLE)
    assert aoi.n_shapes == 1 and _same(aoi.get_poly(), TRIANGLE)
    assert len(aoi.aoi_layer.data["features"]) == 1
    _draw(aoi.draw_control, TRIANGLE, event="draw:deleted")
    assert aoi.n_shapes == 0 and aoi.aoi_layer.data["features"] == []


def test_drawing_replaces_an_upload_in_single_mode(aoi, tmp_path):
    name, data = _write(_frame([TRIANGLE, SQUARE]), "geojson", tmp_path)
    _upload(aoi.upload, name, data)
    _draw(aoi.draw_control, HOLED)
    assert _same(aoi.get_poly(), HOLED)
    assert aoi.upload.choice.layout.display == "none"


def test_multi_mode_accumulates_draws_and_uploads():
    view = ui_map(display_ui=False, mode="multi")
    try:
        _draw(view.draw_control, SQUARE)
        _draw(view.draw_control, HOLED)
        assert view.n_shapes == 2
        view.upload.load("two.geojson", _frame([TRIANGLE, box(5.0, 50.0, 5.1, 50.1)]).to_json().encode())
        assert view.n_shapes == 3  # the union first
        view.upload.select("each")
        assert view.n_shapes == 4  # the new choice replaced that file's shape by its two features
        gdf = view.get_gdf()
        assert gdf["source"].str.startswith("upload:two.geojson").sum() == 2
        assert _same(view.get_poly(), shapely.union_all([SQUARE, HOLED, TRIANGLE, box(5.0, 50.0, 5.1, 50.1)]))
        _draw(view.draw_control, HOLED, event="draw:deleted")  # the trash tool removes that shape only
        assert view.n_shapes == 3 and not any(_same(g, HOLED) for g in view.get_gdf().geometry)
        with pytest.raises(BadParameterError, match="needs an outputname"):
            view.save_gdf(Path("unused"))
    finally:
        view.close()


# --- bbox, UTM, area ---------------------------------------------------------------------------------------
def test_get_bbox_latlon_and_utm_match_pyproj(aoi):
    _draw(aoi.draw_control, TRIANGLE)
    latlon = aoi.get_bbox()
    assert isinstance(latlon, AoiBBox) and latlon.epsg == 4326
    assert list(latlon) == pytest.approx([4.60, 50.80, 4.80, 50.95])
    assert (latlon.west, latlon.south, latlon.east, latlon.north) == tuple(latlon)
    assert aoi.get_bbox(projection="latlon") == latlon

    utm = aoi.get_bbox(projection="utm")
    expected_crs = gpd.GeoSeries([TRIANGLE], crs=4326).estimate_utm_crs()
    assert utm.epsg == expected_crs.to_epsg() == 32631
    transformer = pyproj.Transformer.from_crs(4326, utm.epsg, always_xy=True)
    assert list(utm) == pytest.approx(transformer.transform_bounds(4.60, 50.80, 4.80, 50.95, densify_pts=21),
                                      abs=1e-3)
    # geopandas on the lon/lat box: the same within a metre (corner-only projection misses the edge bulge)
    corners = gpd.GeoSeries([box(*latlon)], crs=4326).to_crs(utm.epsg).total_bounds
    assert list(utm) == pytest.approx(list(corners), abs=1.0)
    assert 13_000 < utm.east - utm.west < 15_000  # 0.2 degrees of longitude at 51 N


def test_get_bbox_utm_south_and_west(aoi):
    field = box(-47.9, -15.9, -47.7, -15.7)  # near Brasilia, zone 23 south
    aoi.set_shape(field)
    utm = aoi.get_bbox("utm")
    assert utm.epsg == gpd.GeoSeries([field], crs=4326).estimate_utm_crs().to_epsg() == 32723
    expected = gpd.GeoSeries([shapely.segmentize(field, 0.001)], crs=4326).to_crs(utm.epsg).total_bounds
    assert list(utm) == pytest.approx(list(expected), abs=1.0)


def test_area_is_equal_area_and_limit_refuses_with_numbers(tmp_path):
    geod = pyproj.Geod(ellps="WGS84")
    for geometry in (TRIANGLE, HOLED, box(10, 60, 12, 61)):
        oriented = orient(shapely.segmentize(geometry, 0.001), 1.0)  # pyproj wants clockwise holes
        geodesic = abs(geod.geometry_area_perimeter(oriented)[0]) / 1e6
        assert aoi_area_km2(geometry) == pytest.approx(geodesic, rel=1e-3)

    square_area = aoi_area_km2(SQUARE)  # ~55 km²
    view = ui_map(area_limit=100, display_ui=False)
    try:
        _draw(view.draw_control, SQUARE)
        assert view.n_shapes == 1
        big = box(4.0, 50.0, 5.0, 51.0)  # ~7,800 km²
        _draw(view.draw_control, big)
        message = view.message.value
        assert "color:#c62828" in message and "too large" in message
        assert f"{aoi_area_km2(big):,.2f} km²" in message and "100.00 km²" in message
        assert _same(view.get_poly(), SQUARE)  # the accepted shape stays
        assert view.get_area_km2() == pytest.approx(square_area)

        name, data = _write(_frame([big]), "gpkg", tmp_path)  # uploads are held to the same limit
        _upload(view.upload, name, data)
        assert "too large" in view.message.value and "aoi.gpkg" in view.message.value
        assert _same(view.get_poly(), SQUARE)
    finally:
        view.close()


# --- errors ------------------------------------------------------------------------------------------------
def test_clear_errors(aoi):
    with pytest.raises(BadExtentError, match="draw a rectangle or polygon .* or upload a file"):
        aoi.get_bbox()
    with pytest.raises(BadExtentError):
        aoi.get_gdf()
    with pytest.raises(BadExtentError):
        aoi.save_gdf(Path("unused"), "x")
    _draw(aoi.draw_control, SQUARE)
    with pytest.raises(BadParameterError, match="projection='mercator' is not allowed; use 'latlon' or 'utm'"):
        aoi.get_bbox(projection="mercator")
    with pytest.raises(BadParameterError, match="mode='double'"):
        AoiMap(display_ui=False, mode="double")
    with pytest.raises(BadParameterError, match="area_limit=-5"):
        AoiMap(area_limit=-5, display_ui=False)
    with pytest.raises(BadExtentError, match="LineString is not an area"):
        aoi.set_shape({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})
    with pytest.raises(BadParameterError, match="not a plain file name"):
        aoi.save_gdf(Path("unused"), "../escape")


# --- saving --------------------------------------------------------------------------------------------------
def test_save_gdf_round_trip(aoi, tmp_path):
    name, data = _write(_frame([HOLED]).to_crs(3035), "zip", tmp_path)
    _upload(aoi.upload, name, data)
    out = aoi.save_gdf(tmp_path / "out" / "nested", "my field")
    assert out == tmp_path / "out" / "nested" / "my field.gpkg"
    back = gpd.read_file(out)
    assert back.crs.to_epsg() == 4326
    assert back["id"].tolist() == aoi.get_gdf()["id"].tolist()
    assert _same(back.geometry.iloc[0], aoi.get_poly(), tol=1e-9)
    assert sorted(p.name for p in out.parent.iterdir()) == ["my field.gpkg"]  # no temporary file left
    default = aoi.save_gdf(tmp_path / "out")  # single mode: named after the shape
    assert default.name == "aoi_1_field_0.gpkg" and default.exists()


# --- the dashboard map shares the upload ---------------------------------------------------------------------------
def test_dashboard_map_upload_sets_state_polygon(state, tmp_path):
    view = BBoxMap(state, samples=False)
    try:
        name, data = _write(_frame([TRIANGLE, SQUARE]).to_crs(3857), "parquet", tmp_path)
        _upload(view.upload, name, data)
        union = shapely.union_all([TRIANGLE, SQUARE])
        assert _same(shapely.geometry.shape(state.polygon), union, tol=1e-7)
        assert state.bbox == pytest.approx(union.bounds)
        assert len(view.query_outline.data["features"]) == 1  # drawn as the query outline
        assert view.west.value == pytest.approx(4.60)

        view.upload.choice.value = "0"  # pick the triangle
        assert _same(shapely.geometry.shape(state.polygon), TRIANGLE, tol=1e-7)
        assert state.spatial_extent().geometry.equals(shapely.geometry.shape(state.polygon))

        _upload(view.upload, "notes.txt", b"nothing geographic")
        assert "notes.txt" in view.upload.message.value
        assert _same(shapely.geometry.shape(state.polygon), TRIANGLE, tol=1e-7)  # a bad file changes nothing

        _draw(view.draw, SQUARE)  # drawing takes over and hides the old file's choices
        assert state.polygon is None and state.bbox == pytest.approx(SQUARE.bounds)
        assert view.upload.choice.layout.display == "none"
        view.clear()
        assert state.polygon is None and state.bbox is None
    finally:
        view.close()
