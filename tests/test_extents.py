import datetime as dt
import math
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from worldcereal_explorer.errors import (
    BadEwocCodeError,
    BadExtentError,
    BadTemporalExtentError,
    InvalidInputError,
)
from worldcereal_explorer.extents import (
    BBox,
    normalize_bbox,
    normalize_ewoc_codes,
    normalize_spatial_extent,
    normalize_temporal_extent,
)


@pytest.mark.parametrize(
    "extent",
    [
        (4.0, 50.0, 5.0, 51.0),
        [4, 50, 5, 51],
        {"west": 4, "south": 50, "east": 5, "north": 51},
        {"minx": 4, "miny": 50, "maxx": 5, "maxy": 51},
        SimpleNamespace(west=4, south=50, east=5, north=51, crs="EPSG:4326"),  # openeo_gfmap BoundingBoxExtent shape
        box(4, 50, 5, 51),
        BBox(4, 50, 5, 51),
    ],
)
def test_bbox_likes_are_normalised(extent):
    assert normalize_bbox(extent).as_tuple() == (4.0, 50.0, 5.0, 51.0)


@pytest.mark.parametrize(
    "extent, fragment",
    [
        ((5, 50, 4, 51), "west=5"),
        ((4, 50, 5, 95), "north=95"),
        ((4, -91, 5, 51), "south=-91"),
        ((4, 50, 181, 51), "east=181"),
        ((math.nan, 50, 5, 51), "west=nan"),
        ((4, 52, 5, 51), "south=52"),
        ((4, 50, 5), "has 3 values"),
        ("4,50,5,51", "is not a bbox"),
        ({"w": 1}, "lacks keys"),
        (("a", 50, 5, 51), "'a' is not a number"),
    ],
)
def test_bad_bbox_names_the_value(extent, fragment):
    with pytest.raises(BadExtentError) as info:
        normalize_bbox(extent)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_polygon_extent_keeps_exact_shape():
    poly = Polygon([(0, 0), (2, 0), (0, 2)])
    extent = normalize_spatial_extent(poly)
    assert extent.bbox.as_tuple() == (0, 0, 2, 2)
    assert extent.geometry.equals(poly)
    multi = MultiPolygon([box(0, 0, 1, 1), box(3, 3, 4, 4)])
    assert normalize_spatial_extent(multi).bbox.as_tuple() == (0, 0, 4, 4)
    with pytest.raises(BadExtentError, match="LineString"):
        normalize_spatial_extent(LineString([(0, 0), (1, 1)]))


@given(
    st.floats(-180, 180), st.floats(-180, 180), st.floats(-90, 90), st.floats(-90, 90),
)
def test_any_ordered_box_is_accepted_and_any_reversed_box_rejected(x1, x2, y1, y2):
    west, east = sorted((x1, x2))
    south, north = sorted((y1, y2))
    assert normalize_bbox((west, south, east, north)).as_tuple() == (west, south, east, north)
    if west < east:
        with pytest.raises(BadExtentError):
            normalize_bbox((east, south, west, north))


def test_temporal_extents():
    expected = (dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    for value in [
        ("2020-01-01", "2020-12-31"),
        (dt.date(2020, 1, 1), dt.datetime(2020, 12, 31, 18)),
        {"start": "2020-01-01", "end": "2020-12-31"},
        SimpleNamespace(start_date="2020-01-01", end_date="2020-12-31"),  # openeo_gfmap TemporalContext shape
        ("2020-01-01T00:00:00", "2020-12-31T00:00:00Z"),
    ]:
        t = normalize_temporal_extent(value)
        assert (t.start, t.end) == expected
    assert normalize_temporal_extent(None) is None


@pytest.mark.parametrize(
    "value, fragment",
    [
        (("2021-01-01", "2020-01-01"), "start 2021-01-01 is after end 2020-01-01"),
        (("2021-13-01", "2022-01-01"), "'2021-13-01' is not a date"),
        (("2021-01-01",), "exactly 2 values"),
        ("2021", "is not allowed"),
    ],
)
def test_bad_temporal_extent(value, fragment):
    with pytest.raises(BadTemporalExtentError) as info:
        normalize_temporal_extent(value)
    assert fragment in str(info.value)


def test_ewoc_codes():
    assert normalize_ewoc_codes([1101060000, "1101010001", "11-01-08-000-0", 0, 1101060000]) == [
        1101060000, 1101010001, 1101080000, 0,
    ]
    assert normalize_ewoc_codes(None) is None
    assert normalize_ewoc_codes(1101060000) == [1101060000]
    for bad in [123, 11010600001, "maize", 1.5, True, -1101060000]:
        with pytest.raises(BadEwocCodeError) as info:
            normalize_ewoc_codes([bad])
        assert repr(bad) in str(info.value) and "10-digit" in str(info.value)
        assert isinstance(info.value, InvalidInputError)


def test_swapped_lat_lon_gets_a_hint():
    with pytest.raises(BadExtentError, match="did you swap latitude and longitude"):
        normalize_bbox((50.5, 4.0, 51.5, 96.0))


def test_endpoint_must_be_an_http_url(monkeypatch):
    from worldcereal_explorer.config import resolve_rdm_url
    from worldcereal_explorer.errors import BadParameterError

    assert resolve_rdm_url("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    with pytest.raises(BadParameterError, match="endpoint '127.0.0.1:8000' is not an http"):
        resolve_rdm_url("127.0.0.1:8000")
    monkeypatch.setenv("WORLDCEREAL_RDM_URL", "ftp://x")
    with pytest.raises(BadParameterError, match=r"\$WORLDCEREAL_RDM_URL 'ftp://x'"):
        resolve_rdm_url()
