"""RdmQuery: normalisation, errors, equality, and every form it is written in (wire, JSON, links, Python)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging

import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping

from worldcereal_explorer.errors import (
    BadEwocCodeError,
    BadExtentError,
    BadParameterError,
    BadTemporalExtentError,
    InvalidInputError,
)
from worldcereal_explorer.extents import (
    BBox,
    BoundingBoxExtent,
    SpatialExtent,
    TemporalContext,
    TemporalExtent,
)
from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.rdm.query import (
    MAX_CODES_PER_SEARCH,
    SAMPLE_FIELDS,
    SAMPLE_ONLY_FIELDS,
    SEARCH_FIELDS,
    URL_PARAMS,
    RdmQuery,
    client_query,
    parse_url_query,
)

MAIZE, WHEAT, RICE = 1101060000, 1101010001, 1101080000
TRIANGLE = Polygon([(3.0, 50.0), (6.0, 50.0), (4.5, 52.123456789012)])
#: A "bow tie": self-intersecting, repaired into two triangles.
BOW_TIE = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])

FULL = dict(polygon=TRIANGLE, start_date="2021-01-01", end_date="2021-12-31", ewoc_codes=[WHEAT, MAIZE],
            include_public=False, include_private=True, include_restricted=True, min_quality_lc=10,
            min_quality_ct=75, subset=True, selected_ids=["2021_BEL_A", "2021_NLD_B"])


# --- normalisation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bbox", [(3, 50, 6, 52), [3.0, 50.0, 6.0, 52.0], {"west": 3, "south": 50, "east": 6,
                                  "north": 52}, BBox(3, 50, 6, 52), BoundingBoxExtent(3, 50, 6, 52),
                                  SpatialExtent(BBox(3, 50, 6, 52)), box(3, 50, 6, 52)])
def test_every_bbox_shape_is_stored_as_four_floats(bbox):
    q = RdmQuery(bbox=bbox)
    assert q.bbox == (3.0, 50.0, 6.0, 52.0)
    assert all(type(v) is float for v in q.bbox)
    assert q.spatial_extent == SpatialExtent(BBox(3.0, 50.0, 6.0, 52.0))
    assert q.area == q.bbox and q.polygon is None


def test_bbox_in_another_crs_is_reprojected():
    q = RdmQuery(bbox=BoundingBoxExtent(500_000, 5_600_000, 510_000, 5_610_000, epsg=32631))
    west, south, east, north = q.bbox
    assert 2.9 < west < east < 3.2 and 50.5 < south < north < 50.7


@pytest.mark.parametrize("polygon", [TRIANGLE, mapping(TRIANGLE), {"type": "Feature", "properties": {},
                                     "geometry": mapping(TRIANGLE)}, TRIANGLE.wkt])
def test_every_polygon_shape_is_stored_as_shapely(polygon):
    q = RdmQuery(polygon=polygon, bbox=(-10, -10, -5, -5))
    assert isinstance(q.polygon, Polygon) and q.polygon.equals(TRIANGLE)
    # the polygon decides the area: the bbox is its bounds, whatever was given with it
    assert q.bbox == (3.0, 50.0, 6.0, 52.123456789012)
    assert q.spatial_extent.geometry is q.polygon and q.spatial_extent.bbox == BBox(3.0, 50.0, 6.0, 52.123456789012)
    assert q.area is q.polygon


def test_invalid_polygon_is_repaired():
    q = RdmQuery(polygon=BOW_TIE)
    assert isinstance(q.polygon, MultiPolygon) and q.polygon.is_valid
    assert q.polygon.area == pytest.approx(2.0)


@pytest.mark.parametrize("start", ["2021-01-01", dt.date(2021, 1, 1), dt.datetime(2021, 1, 1, 12, 30),
                                   "2021-01-01T12:00:00Z", "2021-01-01T23:30:00+05:00"])
def test_dates_of_every_shape_become_dates(start):
    q = RdmQuery(start_date=start, end_date="2021-12-31")
    assert q.start_date == dt.date(2021, 1, 1) and q.end_date == dt.date(2021, 12, 31)
    assert type(q.start_date) is dt.date
    assert q.temporal_extent == TemporalExtent(dt.date(2021, 1, 1), dt.date(2021, 12, 31))


def test_aware_datetime_takes_its_utc_date():
    q = RdmQuery(start_date="2021-01-01T23:30:00-02:00", end_date="2021-02-01")
    assert q.start_date == dt.date(2021, 1, 2)


def test_codes_are_sorted_unique_ints():
    q = RdmQuery(ewoc_codes=[WHEAT, "11-01-06-000-0", MAIZE, str(RICE), WHEAT])
    assert q.ewoc_codes == (WHEAT, MAIZE, RICE)
    assert q.code_filter == [WHEAT, MAIZE, RICE]
    assert RdmQuery(ewoc_codes=MAIZE).ewoc_codes == (MAIZE,)
    assert RdmQuery(ewoc_codes=None).ewoc_codes == () and RdmQuery().code_filter is None


def test_quality_subset_and_ids():
    q = RdmQuery(min_quality_lc=75.5, min_quality_ct=0.0, subset=True, selected_ids=["b", "a", "b"])
    assert q.min_quality_lc == 76 and type(q.min_quality_ct) is int and q.min_quality_ct == 0
    assert q.selected_ids == ("b", "a")  # the user's order, duplicates dropped
    assert RdmQuery(selected_ids="one_id").selected_ids == ("one_id",)


def test_defaults_mean_no_filter():
    q = RdmQuery()
    assert q.spatial_extent is None and q.temporal_extent is None and q.area is None
    assert (q.include_public, q.include_private, q.include_restricted) == (True, False, False)
    assert all(q.is_default(name) for name in RdmQuery.FIELDS)
    assert repr(q) == "RdmQuery()"
    assert repr(RdmQuery(bbox=(3, 50, 6, 52), subset=True)) == "RdmQuery(bbox=(3.0, 50.0, 6.0, 52.0), subset=True)"


def test_access_rule():
    q = RdmQuery(include_public=False, include_private=True)
    assert [q.allows_access(a) for a in ("Public", "Private", "Restricted", "Other")] == [False, True, False, True]
    assert q.includes_non_public and not RdmQuery().includes_non_public
    assert RdmQuery(include_restricted=True).allows_access("restricted")


# --- errors --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kwargs", "error", "field", "says"),
    [
        (dict(bbox=(1, 2, 3)), BadExtentError, "bbox", "has 3 values"),
        (dict(bbox=(6, 50, 3, 52)), BadExtentError, "bbox", "west=6.0 is greater than east=3.0"),
        (dict(bbox=(3, 95, 6, 96)), BadExtentError, "bbox", "outside the allowed latitude range"),
        (dict(bbox=(3, 50, "x", 52)), BadExtentError, "bbox", "east='x' is not a number"),
        (dict(bbox="3,50,6,52"), BadExtentError, "bbox", "is not a bbox"),
        (dict(polygon=shapely.LineString([(0, 0), (1, 1)])), BadExtentError, "polygon", "type LineString"),
        (dict(polygon={"type": "Polygon", "coordinates": "nope"}), BadExtentError, "polygon", "not valid GeoJSON"),
        (dict(polygon="POLYGON ((0 0, 1"), BadExtentError, "polygon", "not valid WKT"),
        (dict(polygon=Polygon()), BadExtentError, "polygon", "empty"),
        (dict(polygon=5), BadExtentError, "polygon", "type int"),
        (dict(start_date="2021-01-01"), BadTemporalExtentError, "end_date", "end date is not set"),
        (dict(end_date="2021-01-01"), BadTemporalExtentError, "start_date", "start date is not set"),
        (dict(start_date="2021-13-01", end_date="2021-12-31"), BadTemporalExtentError, "start_date", "'2021-13-01'"),
        (dict(start_date="2021-12-31", end_date="2021-01-01"), BadTemporalExtentError, "end_date",
         "start 2021-12-31 is after end 2021-01-01"),
        (dict(ewoc_codes=[12]), BadEwocCodeError, "ewoc_codes", "12"),
        (dict(ewoc_codes=["maize"]), BadEwocCodeError, "ewoc_codes", "'maize' is not an integer"),
        (dict(ewoc_codes={MAIZE: "maize"}), BadEwocCodeError, "ewoc_codes", "use a list"),
        (dict(include_public="yes"), BadParameterError, "include_public", "include_public='yes'"),
        (dict(include_restricted=1), BadParameterError, "include_restricted", "use True or False"),
        (dict(subset=None), BadParameterError, "subset", "subset=None"),
        (dict(min_quality_lc=101), BadParameterError, "min_quality_lc", "from 0 to 100"),
        (dict(min_quality_ct=-1), BadParameterError, "min_quality_ct", "min_quality_ct=-1"),
        (dict(min_quality_ct=True), BadParameterError, "min_quality_ct", "True"),
        (dict(min_quality_lc="high"), BadParameterError, "min_quality_lc", "'high'"),
        (dict(selected_ids=["ok", ""]), BadParameterError, "selected_ids", "non-empty strings"),
        (dict(selected_ids=5), BadParameterError, "selected_ids", "selected_ids=5"),
    ],
)
def test_bad_values_raise_specific_errors(kwargs, error, field, says):
    with pytest.raises(error) as info:
        RdmQuery(**kwargs)
    assert says in str(info.value)
    assert info.value.field == field
    assert isinstance(info.value, InvalidInputError)


def test_replace_normalises_and_rejects_unknown_names():
    q = RdmQuery(bbox=(3, 50, 6, 52))
    other = q.replace(ewoc_codes=[WHEAT, MAIZE, WHEAT], min_quality_ct=70.2)
    assert other.ewoc_codes == (WHEAT, MAIZE) and other.min_quality_ct == 71 and other.bbox == q.bbox
    assert q.ewoc_codes == ()  # frozen: the original is unchanged
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.bbox = None  # type: ignore[misc]
    with pytest.raises(BadParameterError, match="'codes' is not a query field; fields: bbox, polygon, start_date"):
        q.replace(codes=[MAIZE])
    with pytest.raises(BadParameterError, match="from 0 to 100"):
        q.replace(min_quality_lc=500)


# --- equality and hashing ----------------------------------------------------------------------------------------

def test_equal_inputs_give_equal_hashable_queries():
    a = RdmQuery(bbox=[3, 50, 6, 52], start_date=dt.datetime(2021, 1, 1, 8), end_date="2021-12-31",
                 ewoc_codes=[MAIZE, WHEAT], min_quality_lc=69.5, selected_ids=["x", "x"])
    b = RdmQuery(bbox=(3.0, 50.0, 6.0, 52.0), start_date="2021-01-01", end_date=dt.date(2021, 12, 31),
                 ewoc_codes=("11-01-01-000-1", MAIZE), min_quality_lc=70, selected_ids=("x",))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != a.replace(subset=True) and a != a.replace(selected_ids=["y"])
    p1 = RdmQuery(polygon=TRIANGLE)
    p2 = RdmQuery(polygon=mapping(TRIANGLE), bbox=(0, 0, 1, 1))
    assert p1 == p2 and hash(p1) == hash(p2)
    assert p1 != RdmQuery(polygon=box(3, 50, 6, 52))


# --- field metadata ----------------------------------------------------------------------------------------------

def test_field_metadata():
    assert RdmQuery.FIELDS == ("bbox", "polygon", "start_date", "end_date", "ewoc_codes", "include_public",
                               "include_private", "include_restricted", "min_quality_lc", "min_quality_ct",
                               "subset", "selected_ids")
    # the dashboard state's search inputs and sample inputs (state/query.py SEARCH_INPUTS / SAMPLE_INPUTS)
    assert SEARCH_FIELDS == ("bbox", "polygon", "start_date", "end_date", "ewoc_codes", "include_public",
                             "include_private", "include_restricted")
    assert SAMPLE_FIELDS == RdmQuery.FIELDS
    assert SAMPLE_ONLY_FIELDS == ("min_quality_lc", "min_quality_ct", "subset", "selected_ids")
    for f in dataclasses.fields(RdmQuery):
        assert isinstance(f.metadata["doc"], str) and f.metadata["doc"] and "\n" not in f.metadata["doc"]
        assert isinstance(f.metadata["search"], bool) and isinstance(f.metadata["sample"], bool)
        if f.type == "int":
            assert (f.metadata["min"], f.metadata["max"]) == (0, 100)
            with pytest.raises(BadParameterError):
                RdmQuery(**{f.name: f.metadata["max"] + 1})


# --- the wire ------------------------------------------------------------------------------------------------

def test_to_params_no_filter_is_the_world():
    assert RdmQuery().to_params() == [("Bbox", "-180.0"), ("Bbox", "-90.0"), ("Bbox", "180.0"), ("Bbox", "90.0")]


def test_to_params_polygon_dates_codes():
    q = RdmQuery(polygon=Polygon([(3, 50), (6, 50), (4.5, 52.5)]), start_date="2021-01-01",
                 end_date="2021-12-31T23:30:00-02:00", ewoc_codes=[WHEAT, MAIZE], min_quality_ct=80, subset=True,
                 selected_ids=["a"])
    # written out from what the client sent before RdmQuery existed (search_params of the same filters)
    assert q.to_params() == [
        ("Bbox", "3.0"), ("Bbox", "50.0"), ("Bbox", "6.0"), ("Bbox", "52.5"),
        ("ValidityTime.Start", "2021-01-01T00:00:00Z"), ("ValidityTime.End", "2022-01-01T23:59:59Z"),
        ("EwocCodes", str(WHEAT)), ("EwocCodes", str(MAIZE)),
    ]
    assert q.to_params() == RdmClient.search_params(q.polygon, ("2021-01-01", "2021-12-31T23:30:00-02:00"),
                                                    [WHEAT, MAIZE])


def test_to_params_point_is_widened():
    assert RdmQuery(bbox=(4, 50, 4, 50)).to_params() == [
        ("Bbox", "3.999999"), ("Bbox", "49.999999"), ("Bbox", "4.000001"), ("Bbox", "50.000001")]


def test_to_params_matches_search_params_for_keyword_shapes():
    cases = [
        dict(spatial_extent=BoundingBoxExtent(-0.91010781, 34.45619011, -0.34539808, 34.79638823),
             temporal_extent=TemporalContext("2020-01-01", "2020-12-31"), ewoc_codes=[WHEAT, MAIZE]),
        dict(spatial_extent=(179.9999999, 89.9999999, 180, 90)),
        dict(temporal_extent={"start": "2020-01-01", "end": "2020-01-01"}),
        dict(ewoc_codes=[]),
    ]
    for kwargs in cases:
        q = RdmQuery.from_client_args(**kwargs)
        assert q.to_params() == RdmClient.search_params(**kwargs), kwargs


def test_to_params_codes_in_a_given_order_and_chunks():
    q = RdmQuery(ewoc_codes=[WHEAT, MAIZE])
    assert [v for k, v in q.to_params([MAIZE, WHEAT]) if k == "EwocCodes"] == [str(MAIZE), str(WHEAT)]
    with pytest.raises(BadEwocCodeError, match=str(RICE)):
        q.to_params([RICE])
    codes = [1_000_000_000 + i for i in range(2 * MAX_CODES_PER_SEARCH + 7)]
    sets = RdmQuery(bbox=(3, 50, 6, 52), ewoc_codes=codes).to_param_sets()
    assert [sum(k == "EwocCodes" for k, _ in s) for s in sets] == [MAX_CODES_PER_SEARCH, MAX_CODES_PER_SEARCH, 7]
    assert all(s[:4] == [("Bbox", "3.0"), ("Bbox", "50.0"), ("Bbox", "6.0"), ("Bbox", "52.0")] for s in sets)
    assert [int(v) for s in sets for k, v in s if k == "EwocCodes"] == codes
    assert RdmQuery().to_param_sets() == [RdmQuery().to_params()]
    with pytest.raises(BadParameterError, match="max_codes=0"):
        RdmQuery().to_param_sets(0)


# --- JSON ------------------------------------------------------------------------------------------------------

def test_to_dict_only_non_defaults_and_json_safe():
    assert RdmQuery().to_dict() == {}
    assert RdmQuery(bbox=(3, 50, 6, 52), subset=True).to_dict() == {"bbox": [3.0, 50.0, 6.0, 52.0], "subset": True}
    d = RdmQuery(**FULL).to_dict()
    assert list(d) == ["polygon", "start_date", "end_date", "ewoc_codes", "include_public", "include_private",
                       "include_restricted", "min_quality_lc", "min_quality_ct", "subset", "selected_ids"]
    assert d["polygon"]["type"] == "Polygon" and d["start_date"] == "2021-01-01"
    assert d["ewoc_codes"] == [WHEAT, MAIZE] and d["selected_ids"] == ["2021_BEL_A", "2021_NLD_B"]
    assert json.loads(json.dumps(d)) == d


@pytest.mark.parametrize("kwargs", [{}, FULL, dict(bbox=(-0.91010781, 34.45619011, -0.34539808, 34.79638823)),
                                    dict(polygon=BOW_TIE, ewoc_codes=[0]), dict(include_public=False)])
def test_dict_round_trip(kwargs):
    q = RdmQuery(**kwargs)
    assert RdmQuery.from_dict(json.loads(json.dumps(q.to_dict()))) == q


def test_from_dict_errors():
    with pytest.raises(BadParameterError, match=r"'grouping' is not a query field; fields: bbox, .*selected_ids") as info:
        RdmQuery.from_dict({"bbox": [3, 50, 6, 52], "grouping": {}})
    assert info.value.field == "grouping"
    with pytest.raises(BadParameterError, match="not list"):
        RdmQuery.from_dict([1, 2])
    with pytest.raises(BadTemporalExtentError) as info:
        RdmQuery.from_dict({"start_date": "2021-01-01"})
    assert info.value.field == "end_date"


# --- share links ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {}, FULL, dict(bbox=(3, 50, 6, 52.5)), dict(bbox=(-0.91010781, 34.45619011, -0.34539808, 34.79638823)),
    dict(polygon=BOW_TIE), dict(polygon=Polygon([(0.1, 0.2), (3.3333333333333335, 50.123456789012345),
                                                 (1e-7, 7.000000000000001)])),
    dict(include_public=False), dict(include_public=False, include_restricted=True),
    dict(start_date="2020-02-29", end_date="2020-02-29", min_quality_lc=100),
])
def test_url_query_round_trip(kwargs):
    q = RdmQuery(**kwargs)
    assert RdmQuery.from_url_query(q.to_url_query()) == q
    assert RdmQuery.from_url_query("?" + q.to_url_query()) == q


def test_url_query_format():
    assert RdmQuery().to_url_query() == ""
    assert RdmQuery(bbox=(3, 50, 6, 52)).to_url_query() == "bbox=3,50,6,52"
    assert RdmQuery(include_public=False).to_url_query() == "access=none"
    assert RdmQuery(**FULL).to_url_query() == (
        "wkt=POLYGON%20((3%2050,%206%2050,%204.5%2052.123456789012,%203%2050))&start=2021-01-01&end=2021-12-31"
        f"&codes={WHEAT},{MAIZE}&access=private,restricted&min_lc=10&min_ct=75&subset=1&ids=2021_BEL_A,2021_NLD_B"
    )
    assert set(URL_PARAMS) == {"bbox", "wkt", "start", "end", "codes", "access", "min_lc", "min_ct", "subset", "ids"}


#: Links the dashboard state wrote for these inputs (state/links.py before RdmQuery existed), written out.
DASHBOARD_LINKS = [
    (dict(bbox=(3, 50, 6, 52)), "bbox=3,50,6,52"),
    (dict(bbox=(3.5, -50.25, 6, 52), start_date="2021-01-01", end_date="2021-06-30"),
     "bbox=3.5,-50.25,6,52&start=2021-01-01&end=2021-06-30"),
    (dict(polygon=mapping(TRIANGLE), bbox=TRIANGLE.bounds, ewoc_codes=[MAIZE], include_private=True),
     "wkt=POLYGON%20((3%2050,%206%2050,%204.5%2052.123456789012,%203%2050))&codes=1101060000&access=public,private"),
    (dict(include_public=False, include_restricted=True, min_quality_lc=5, min_quality_ct=95, subset=True,
          selected_ids=["2021_BEL_A"]), "access=restricted&min_lc=5&min_ct=95&subset=1&ids=2021_BEL_A"),
    (dict(include_public=False), "access=none"),
]


@pytest.mark.parametrize(("kwargs", "link"), DASHBOARD_LINKS)
def test_links_written_by_the_dashboard_state_read_back(kwargs, link):
    q = RdmQuery(**kwargs)
    assert q.to_url_query() == link
    assert RdmQuery.from_url_query(link) == q


#: Every link format and what the dashboard (state/links.py parse_query_string) read from it, written out.
DASHBOARD_READS = [
    ("bbox=3,50,6,52", {"bbox": (3.0, 50.0, 6.0, 52.0)}),
    ("bbox=3.0,50.0,6.0,52.0", {"bbox": (3.0, 50.0, 6.0, 52.0)}),
    ("?bbox=-0.91010781,34.45619011,-0.34539808,34.79638823",
     {"bbox": (-0.91010781, 34.45619011, -0.34539808, 34.79638823)}),
    ("wkt=POLYGON%20((3%2050,%206%2050,%204.5%2052.123456789012,%203%2050))",
     {"polygon": {"type": "Polygon", "coordinates": [[[3.0, 50.0], [6.0, 50.0], [4.5, 52.123456789012],
                                                      [3.0, 50.0]]]}, "bbox": (3.0, 50.0, 6.0, 52.123456789012)}),
    ("wkt=MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((2 2,3 2,3 3,2 2)))",
     {"polygon": {"type": "MultiPolygon", "coordinates": [[[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]],
                                                          [[[2.0, 2.0], [3.0, 2.0], [3.0, 3.0], [2.0, 2.0]]]]},
      "bbox": (0.0, 0.0, 3.0, 3.0)}),
    ("start=2021-01-01&end=2021-12-31", {"start_date": dt.date(2021, 1, 1), "end_date": dt.date(2021, 12, 31)}),
    (f"codes={MAIZE},{WHEAT}", {"ewoc_codes": [MAIZE, WHEAT]}),
    ("codes=11-01-06-000-0", {"ewoc_codes": [MAIZE]}),
    ("access=public,private,restricted", {"include_public": True, "include_private": True,
                                          "include_restricted": True}),
    ("access=none", {"include_public": False, "include_private": False, "include_restricted": False}),
    ("access=Private", {"include_public": False, "include_private": True, "include_restricted": False}),
    ("min_lc=0&min_ct=100", {"min_quality_lc": 0, "min_quality_ct": 100}),
    ("subset=1", {"subset": True}),
    ("subset=true", {"subset": True}),
    ("subset=no", {"subset": False}),
    ("ids=a,b,a", {"selected_ids": ["a", "b"]}),
    ("bbox=3,50,6,52&voila-template=lab&voila-theme=dark&token=abc", {"bbox": (3.0, 50.0, 6.0, 52.0)}),
]


@pytest.mark.parametrize(("link", "read"), DASHBOARD_READS)
def test_every_link_format_reads_as_the_dashboard_reads_it(link, read):
    assert RdmQuery.from_url_query(link) == RdmQuery(**read)
    values, problems = parse_url_query(link)
    assert problems == []
    assert set(values) == set(read)  # the same fields, so a state sets the same traits
    assert RdmQuery(**values) == RdmQuery(**read)


BAD_LINK = "?bbox=1,2,3&codes=abc&foo=1&min_lc=200&access=public,secret&start=2021-01-01&min_ct=30"


def test_bad_link_parameters_are_explained_as_the_dashboard_explains_them():
    values, problems = parse_url_query(BAD_LINK)
    assert values == {"min_quality_ct": 30}
    assert problems == [  # what state/links.py parse_query_string said, written out
        "ignored bbox=1,2,3: bbox [1.0, 2.0, 3.0] has 3 values; a bbox needs 4: (west, south, east, north)",
        "ignored codes=abc: ewoc code 'abc' is not an integer; allowed: 0 or a 10-digit code such as 1101060000",
        "ignored foo=1: unknown parameter; known: bbox, wkt, start, end, codes, access, min_lc, min_ct, subset, ids",
        "ignored min_lc=200: needs a whole number from 0 to 100",
        "ignored access=public,secret: 'secret' is not an access kind; use public, private, restricted",
        "ignored start=: a link needs both start and end dates",
    ]
    assert parse_url_query("start=2021-12-31&end=2021-01-01")[1] == [
        "ignored start/end: start 2021-12-31 is after end 2021-01-01"]


@pytest.mark.parametrize(("link", "error", "says"), [
    ("bbox=1,2,3", BadExtentError, "bbox=1,2,3: bbox [1.0, 2.0, 3.0] has 3 values"),
    ("bbox=a,b,c,d", BadExtentError, "needs four numbers"),
    ("wkt=LINESTRING(0 0,1 1)", BadExtentError, "type LineString"),
    ("foo=1", BadParameterError, "foo=1: unknown parameter; known: bbox, wkt"),
    ("min_lc=200", BadParameterError, "min_lc=200: needs a whole number from 0 to 100"),
    ("access=secret", BadParameterError, "'secret' is not an access kind"),
    ("subset=maybe", BadParameterError, "use 1 or 0"),
    ("codes=abc", BadEwocCodeError, "codes=abc"),
    ("start=2021-01-01", BadTemporalExtentError, "start=: a link needs both start and end dates"),
    ("start=2021-12-31&end=2021-01-01", BadTemporalExtentError, "start/end: start 2021-12-31 is after end"),
    ("start=yesterday&end=2021-01-01", BadTemporalExtentError, "start=yesterday"),
])
def test_from_url_query_is_strict(link, error, says):
    with pytest.raises(error) as info:
        RdmQuery.from_url_query(link)
    assert says in str(info.value)


# --- Python -------------------------------------------------------------------------------------------------------

def _query_of(code: str) -> RdmQuery:
    """The ``query`` a to_code snippet makes (its last line, the fetch, is left out: no client here)."""
    lines = code.rstrip("\n").split("\n")
    assert lines[-1] == "samples = client.get_samples(query=query)"
    namespace: dict = {}
    exec(compile("\n".join(lines[:-1]), "<to_code>", "exec"), namespace)
    return namespace["query"]


@pytest.mark.parametrize("kwargs", [{}, FULL, dict(bbox=(3, 50, 6, 52.5), ewoc_codes=range(1_000_000_000,
                                    1_000_000_012)), dict(polygon=BOW_TIE, selected_ids=[f"id_{i}" for i in range(7)])])
def test_to_code_makes_an_equal_query(kwargs):
    q = RdmQuery(**kwargs)
    code = q.to_code()
    assert code.startswith("from worldcereal_explorer import RdmQuery\n")
    assert _query_of(code) == q


def test_to_code_text():
    assert RdmQuery(bbox=(3, 50, 6, 52), start_date="2021-01-01", end_date="2021-12-31").to_code("rdm") == (
        "from worldcereal_explorer import RdmQuery\n\nquery = RdmQuery(\n"
        "    bbox=(3.0, 50.0, 6.0, 52.0),  # west, south, east, north\n"
        "    start_date='2021-01-01',\n    end_date='2021-12-31',\n)\n"
        "samples = rdm.get_samples(query=query)\n"
    )
    with pytest.raises(BadParameterError, match="client_name='my client'"):
        RdmQuery().to_code("my client")


# --- the client's keyword arguments --------------------------------------------------------------------------------

def test_from_client_args():
    q = RdmQuery.from_client_args(bbox=BoundingBoxExtent(3, 50, 6, 52), temporal_extent=("2021-01-01", "2021-12-31"),
                                  ewoc_codes=[MAIZE], include_private=True, min_quality_ct=70.5, subset=True)
    assert q == RdmQuery(bbox=(3, 50, 6, 52), start_date="2021-01-01", end_date="2021-12-31", ewoc_codes=[MAIZE],
                         include_private=True, include_restricted=True, min_quality_ct=71, subset=True)
    assert RdmQuery.from_client_args(spatial_extent=TRIANGLE).polygon.equals(TRIANGLE)
    with pytest.raises(BadParameterError, match="pass either spatial_extent or bbox, not both"):
        RdmQuery.from_client_args(spatial_extent=(3, 50, 6, 52), bbox=(3, 50, 6, 52))
    with pytest.raises(BadTemporalExtentError, match="temporal extent start '2021-01-01garbage'"):
        RdmQuery.from_client_args(temporal_extent=("2021-01-01garbage", "2021-12-31"))


def test_empty_code_list_is_no_filter_and_logged(caplog):
    with caplog.at_level(logging.INFO, logger="worldcereal_explorer.extents"):
        assert RdmQuery.from_client_args(ewoc_codes=[]).ewoc_codes == ()
    assert "no crop-code filter" in caplog.text


def test_client_query_keywords_and_conflicts():
    q = RdmQuery(bbox=(3, 50, 6, 52), ewoc_codes=[MAIZE], min_quality_ct=70)
    assert client_query(None, bbox=(3, 50, 6, 52)) == RdmQuery(bbox=(3, 50, 6, 52))
    assert client_query(q) is q
    # keywords left at their defaults take the query's values; a given one that agrees is fine
    assert client_query(q, spatial_extent=None, include_public=True, min_quality_ct=70, ewoc_codes=[MAIZE]) is q
    with pytest.raises(BadParameterError, match=r"min_quality_ct=50 conflicts with query.min_quality_ct=70; .*"
                                                r"query.replace\(min_quality_ct=...\)"):
        client_query(q, min_quality_ct=50)
    with pytest.raises(BadParameterError, match="spatial_extent=.*conflicts with query.bbox"):
        client_query(q, spatial_extent=(0, 0, 1, 1))
    with pytest.raises(BadParameterError, match="subset=True conflicts"):
        client_query(q, subset=True)
    with pytest.raises(BadParameterError, match="query=.*is not allowed; use an RdmQuery"):
        client_query({"bbox": (3, 50, 6, 52)})
    with pytest.raises(BadParameterError, match="'clip' is not a query keyword"):
        client_query(q, clip=True)


# --- the client takes query= (over real HTTP, against the local RDM server on the demo catalogue) -------------

EUROPE = (-10.0, 35.0, 30.0, 60.0)
YEAR = ("2021-01-01", "2021-12-31")


def _ids(collections) -> list[str]:
    return [c.id for c in collections]


def test_get_collections_with_query_is_the_keyword_search(client):
    q = RdmQuery(bbox=EUROPE, start_date=YEAR[0], end_date=YEAR[1], ewoc_codes=[MAIZE])
    found = client.get_collections(query=q)
    assert found and _ids(found) == _ids(client.get_collections(bbox=EUROPE, temporal_extent=YEAR,
                                                                ewoc_codes=[MAIZE]))
    assert _ids(client.get_collections(query=RdmQuery(bbox=(-179, -89, -178, -88)))) == []
    # a keyword that agrees is fine; one that asks for something else is refused before any request
    assert _ids(client.get_collections(bbox=EUROPE, query=q)) == _ids(found)
    with pytest.raises(BadParameterError, match="ewoc_codes=.*conflicts with query.ewoc_codes"):
        client.get_collections(ewoc_codes=[WHEAT], query=q)
    with pytest.raises(BadParameterError, match="select nothing"):
        client.get_collections(query=RdmQuery(include_public=False))


def test_get_crop_counts_with_query(client):
    import pandas.testing as pdt

    q = RdmQuery(bbox=EUROPE, ewoc_codes=[MAIZE, WHEAT])
    ids = _ids(client.get_collections(query=q))
    by_query = client.get_crop_counts(query=q)
    assert list(by_query.columns) == sorted(ids)
    pdt.assert_frame_equal(by_query, client.get_crop_counts(ids, [MAIZE, WHEAT]))
    one = client.get_crop_counts(query=q.replace(selected_ids=ids[:1]))
    assert list(one.columns) == ids[:1]
    with pytest.raises(BadParameterError, match="needs ref_ids"):
        client.get_crop_counts()


@pytest.fixture
def small_query(client) -> RdmQuery:
    """A query of a few samples: one collection found in Europe, with a quality threshold."""
    found = client.get_collections(query=RdmQuery(bbox=EUROPE))
    assert found
    return RdmQuery(bbox=EUROPE, selected_ids=[found[0].id], min_quality_lc=10)


def _sorted(frame):
    return frame.sort_values("sample_id").reset_index(drop=True)


def test_sample_methods_with_query_are_the_keyword_calls(client, small_query, tmp_path):
    import geopandas as gpd
    import pandas.testing as pdt

    ids = list(small_query.selected_ids)
    keywords = dict(ref_ids=ids, bbox=EUROPE, min_quality_lc=10, progress=False)
    by_query = client.get_samples(query=small_query, progress=False)
    assert len(by_query) > 0 and set(by_query["ref_id"]) == set(ids)
    pdt.assert_frame_equal(_sorted(by_query), _sorted(client.get_samples(**keywords)))
    counts = client.count_samples(query=small_query, progress=False)
    assert int(counts["count"].sum()) == len(by_query)
    path = client.download_samples(tmp_path / "s.parquet", query=small_query, progress=False)
    assert len(gpd.read_parquet(path)) == len(by_query)
    with pytest.raises(BadParameterError, match="subset=True conflicts with query.subset=False"):
        client.get_samples(query=small_query, subset=True)
    with pytest.raises(BadParameterError, match="ref_ids=.*conflicts with query.selected_ids"):
        client.count_samples(["other_id"], query=small_query)


def test_to_code_runs_against_a_client(client, small_query):
    """The code :meth:`RdmQuery.to_code` writes runs as it is, with a client, and fetches the query's samples."""
    import pandas.testing as pdt

    namespace = {"client": client}
    exec(compile(small_query.to_code(), "<to_code>", "exec"), namespace)
    assert namespace["query"] == small_query
    pdt.assert_frame_equal(_sorted(namespace["samples"]), _sorted(client.get_samples(query=small_query,
                                                                                     progress=False)))


def test_get_items_with_query(client, small_query):
    ref_id = small_query.selected_ids[0]
    q = RdmQuery(bbox=EUROPE, start_date="2000-01-01", end_date="2030-12-31")
    by_query = client.get_items(ref_id, query=q, max_items=20)
    assert len(by_query) > 0
    assert sorted(by_query["sample_id"]) == sorted(client.get_items(ref_id, bbox=EUROPE, max_items=20,
                                                                    temporal_extent=("2000-01-01", "2030-12-31"))["sample_id"])
    with pytest.raises(BadParameterError, match="temporal_extent=.*conflicts with query.start_date"):
        client.get_items(ref_id, temporal_extent=YEAR, query=q)


# --- the training builder takes a query ----------------------------------------------------------------------------

def test_build_training_set_from_a_query(client):
    import pandas.testing as pdt

    from worldcereal_explorer.training import QUERY_ATTR, build_training_set

    q = RdmQuery(selected_ids=["2021_can_prairiedemo_poly_110"], min_quality_ct=10)
    built = build_training_set(query=q, client=client, max_per_class=5, seed=1)
    samples = client.get_samples(query=q, progress=False)
    by_hand = build_training_set(samples, max_per_class=5, seed=1)
    assert 0 < len(built) < len(samples)
    pdt.assert_frame_equal(_sorted(built), _sorted(by_hand))
    assert built.attrs[QUERY_ATTR] == q.to_dict() == {"min_quality_ct": 10,
                                                       "selected_ids": ["2021_can_prairiedemo_poly_110"]}
    # samples given with their query: the query is recorded, the caller's frame is left as it was
    recorded = build_training_set(samples, query=q)
    assert recorded.attrs[QUERY_ATTR] == q.to_dict() and QUERY_ATTR not in samples.attrs
    assert QUERY_ATTR not in by_hand.attrs


def test_build_training_set_query_errors(client):
    from worldcereal_explorer.training import build_training_set

    with pytest.raises(BadParameterError, match="needs samples .* or query="):
        build_training_set()
    with pytest.raises(BadParameterError, match="needs client="):
        build_training_set(query=RdmQuery())
    with pytest.raises(BadParameterError, match="query=.*is not allowed; use an RdmQuery"):
        build_training_set(query={"bbox": (3, 50, 6, 52)}, client=client)
