"""Small pure functions of the sample reader: ref_id from URLs, valid_time conversion, file layouts."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import shapely

from worldcereal_explorer.errors import DownloadError
from worldcereal_explorer.rdm.samples import FileLayout, as_timestamp, ref_id_from_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ewocstorage.blob.core.windows.net/public/2017_tza_osfafsis_point_110/2017_TZA_OSF-AFSIS_POINT_110.geoparquet",
         "2017_tza_osfafsis_point_110"),
        ("http://127.0.0.1:8000/files/private/2023_nld_x_poly_110/sample_X.parquet?expires=1&sig=abc/def",
         "2023_nld_x_poly_110"),
    ],
)
def test_ref_id_is_the_second_to_last_path_segment(url, expected):
    assert ref_id_from_url(url) == expected


def test_ref_id_from_a_url_without_folder_is_an_error():
    with pytest.raises(DownloadError, match="collection id"):
        ref_id_from_url("file.parquet")


@pytest.mark.parametrize(
    "array",
    [
        pa.array([dt.date(2021, 6, 1), None], pa.date32()),
        pa.array([dt.datetime(2021, 6, 1), None], pa.timestamp("us")),
        pa.array([dt.datetime(2021, 6, 1, tzinfo=dt.timezone.utc), None], pa.timestamp("ms", tz="UTC")),
        pa.array(["2021-06-01", None]),
        pa.array(["2021-06-01T00:00:00Z", None]),
        pa.array(["2021-06-01", None]).dictionary_encode(),
    ],
)
def test_valid_time_of_any_storage_becomes_naive_utc_ns(array):
    out = as_timestamp(array)
    assert out.type == pa.timestamp("ns")
    assert out.to_pylist()[0] == dt.datetime(2021, 6, 1) and out.to_pylist()[1] is None


def test_layout_detection():
    wkb = FileLayout.from_schema(pa.schema([("sample_id", pa.string()), ("geometry", pa.binary())]))
    assert (wkb.geometry_column, wkb.geometry_kind, wkb.covering) == ("geometry", "wkb", None)
    wkt = FileLayout.from_schema(pa.schema([("geom_text", pa.string()), ("lon", pa.float64()), ("lat", pa.float64())]))
    assert (wkt.geometry_column, wkt.geometry_kind) == ("geom_text", "wkt")
    lonlat = FileLayout.from_schema(pa.schema([("lon", pa.float64()), ("lat", pa.float64())]))
    assert lonlat.geometry_kind == "lonlat" and lonlat.geometry_source_columns == ("lon", "lat")
    assert "ref_id" in lonlat.available and "geometry" in lonlat.available


def _wkb_table(geometries, *, large=False, byte_order=1):
    values = [None if g is None else shapely.to_wkb(g, byte_order=byte_order) for g in geometries]
    return pa.table({"geometry": pa.array(values, pa.large_binary() if large else pa.binary())})


@pytest.mark.parametrize("large", [False, True])
def test_point_coordinates_are_read_from_the_wkb_bytes(large):
    from worldcereal_explorer.rdm.samples.convert import wkb_point_coordinates

    layout = FileLayout.from_schema(pa.schema([("geometry", pa.binary())]))
    points = shapely.points([5.25, -179.5, 0.1], [50.75, -89.0, 1e-9])
    table = _wkb_table(points, large=large)
    x, y = wkb_point_coordinates(table, layout)
    assert x.tolist() == [5.25, -179.5, 0.1] and y.tolist() == [50.75, -89.0, 1e-9]
    sliced = table.slice(1, 2)  # an array that starts at an offset into its buffers
    x, y = wkb_point_coordinates(sliced, layout)
    assert x.tolist() == [-179.5, 0.1] and y.tolist() == [-89.0, 1e-9]


@pytest.mark.parametrize(
    ("geometries", "byte_order"),
    [
        ([shapely.Point(1, 2), shapely.box(0, 0, 1, 1)], 1),  # not only points
        ([shapely.Point(1, 2), None], 1),  # a missing geometry
        ([shapely.Point(1, 2), shapely.Point()], 1),  # POINT EMPTY (NaN coordinates in WKB)
        ([shapely.Point(1, 2, 3)], 1),  # 3D
        ([shapely.Point(1, 2)], 0),  # big-endian
        ([], 1),
    ],
    ids=["mixed", "null", "empty point", "3d", "big endian", "no rows"],
)
def test_anything_but_plain_points_is_left_to_geos(geometries, byte_order):
    from worldcereal_explorer.rdm.samples.convert import wkb_point_coordinates

    layout = FileLayout.from_schema(pa.schema([("geometry", pa.binary())]))
    assert wkb_point_coordinates(_wkb_table(geometries, byte_order=byte_order), layout) is None
