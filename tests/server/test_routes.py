"""Every route of the local RDM server over real HTTP, checked against the catalogue's own files."""

from __future__ import annotations

import datetime as dt
import http.client as httpclient
import io
import json
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import pandas as pd
import pytest
import requests
import shapely
from openpyxl import load_workbook

from worldcereal_explorer.errors import BadParameterError
from worldcereal_explorer.extents import BBox
from worldcereal_explorer.server import create_app

WORLD = {"Bbox": [-180, -90, 180, 90]}
PUBLIC_ID = "2021_bel_lpisdemo_poly_110"
SMALL_PUBLIC_ID = "2022_tza_smallholderdemo_poly_110"  # 600 samples
PRIVATE_ID = "2023_nld_privatedemo_poly_110"
RESTRICTED_ID = "2022_khm_consortiumdemo_point_110"


def records(catalog: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(catalog.glob("*/collection.json"))}


def public_records(catalog: Path) -> dict[str, dict]:
    return {k: v for k, v in records(catalog).items() if v["accessType"] == "Public"}


def full_file(catalog: Path, cid: str) -> Path:
    return next(p for p in (catalog / cid).glob("*.geoparquet") if not p.name.startswith("sample_"))


def assert_abp_error(reply: requests.Response, status: int, *fragments: str) -> dict:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    error = reply.json()["error"]
    assert set(error) == {"code", "message", "details", "data", "validationErrors"}
    for fragment in fragments:
        assert fragment in error["message"], (fragment, error["message"])
    return error


def raw_get(url: str, path: str) -> tuple[int, bytes]:
    """GET ``path`` byte for byte (no client-side normalisation of ``..`` or ``%2f``)."""
    parts = urlsplit(url)
    conn = httpclient.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def http():
    with requests.Session() as session:
        yield session


def search(http, rdm_url, **params):
    reply = http.get(f"{rdm_url}/collections/search", params={**WORLD, **params})
    assert reply.status_code == 200, reply.text
    found = reply.json()
    assert isinstance(found, list)
    return [c["collectionId"] for c in found]


# ---- /collections/search ---------------------------------------------------------------------------------


def test_search_world_returns_public_collections_as_bare_array(http, rdm_url, demo_catalog):
    reply = http.get(f"{rdm_url}/collections/search", params=WORLD)
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    body = reply.json()
    public = public_records(demo_catalog)
    assert [c["collectionId"] for c in body] == sorted(public)
    assert body == [public[c["collectionId"]] for c in body]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "Bbox is required"),
        ({"Bbox": [0, 0, 1]}, "exactly 4 times"),
        ({"Bbox": [0, 0, 1, 1, 2]}, "exactly 4 times"),
        ({"Bbox": [0, 0, "east", 1]}, "Bbox.2"),
        ({"Bbox": [10, 0, 5, 1]}, "west=10.0 is greater than east=5.0"),
        ({"Bbox": [0, -95, 1, 1]}, "south=-95.0"),
        ({"Bbox": [0, 0, "nan", 1]}, "not a finite number"),
        ({**WORLD, "ValidityTime.Start": "yesterday"}, "ValidityTime.Start='yesterday' is not a date-time"),
        ({**WORLD, "ValidityTime.Start": "2022-01-01T00:00:00Z", "ValidityTime.End": "2021-01-01T00:00:00Z"},
         "is after"),
        ({**WORLD, "EwocCodes": "maize"}, "EwocCodes"),
    ],
)
def test_search_rejects_bad_parameters_with_400(http, rdm_url, params, fragment):
    error = assert_abp_error(http.get(f"{rdm_url}/collections/search", params=params), 400, fragment)
    assert error["code"] == "ValidationError"


def test_search_bbox_intersects_including_touching_edges(http, rdm_url, demo_catalog):
    rec = public_records(demo_catalog)[PUBLIC_ID]
    west, south, east, north = rec["extent"]["spatial"]["bbox"][0]
    touching_east = [east, south, east + 1, north]
    touching_corner = [east, north, east + 1, north + 1]
    beyond_east = [east + 1e-6, south, east + 1, north]
    inside = [(west + east) / 2, (south + north) / 2, (west + east) / 2 + 1e-6, (south + north) / 2 + 1e-6]
    assert PUBLIC_ID in search(http, rdm_url, Bbox=touching_east)
    assert PUBLIC_ID in search(http, rdm_url, Bbox=touching_corner)
    assert PUBLIC_ID in search(http, rdm_url, Bbox=inside)
    assert PUBLIC_ID not in search(http, rdm_url, Bbox=beyond_east)
    europe = BBox(-10, 35, 30, 60)
    expected = sorted(k for k, r in public_records(demo_catalog).items()
                      if BBox(*r["extent"]["spatial"]["bbox"][0]).intersects(europe))
    assert search(http, rdm_url, Bbox=list(europe.as_tuple())) == expected
    assert PUBLIC_ID in expected and "2021_usa_cornbeltdemo_point_110" not in expected


def test_search_time_overlap_counts_the_whole_end_day(http, rdm_url, demo_catalog):
    rec = public_records(demo_catalog)[PUBLIC_ID]
    first = dt.date.fromisoformat(rec["extent"]["temporal"]["interval"][0][0][:10])
    last = dt.date.fromisoformat(rec["extent"]["temporal"]["interval"][0][1][:10])

    def hits(start: dt.date, end: dt.date) -> bool:
        return PUBLIC_ID in search(http, rdm_url, **{"ValidityTime.Start": f"{start}T00:00:00Z",
                                                    "ValidityTime.End": f"{end}T23:59:59Z"})

    day = dt.timedelta(days=1)
    assert hits(first - 30 * day, first)  # the query ends on the collection's first day
    assert not hits(first - 30 * day, first - day)
    assert hits(last, last + 30 * day)  # the query starts on the collection's last day
    assert not hits(last + day, last + 30 * day)
    assert hits(first + 10 * day, first + 11 * day)  # a window strictly inside the interval overlaps
    assert hits(first - 400 * day, last + 400 * day)
    only_start = search(http, rdm_url, **{"ValidityTime.Start": f"{last + day}T00:00:00Z"})
    assert PUBLIC_ID not in only_start and "2023_nld_privatedemo_poly_110" not in only_start


def test_search_codes_are_any_of(http, rdm_url, demo_catalog):
    public = public_records(demo_catalog)
    rice, soybean, absent = 1101080000, 1106000020, 1234567890

    def expected(codes):
        return sorted(k for k, r in public.items() if set(codes) & set(r["ewocCodes"]))

    assert search(http, rdm_url, EwocCodes=[rice]) == expected([rice]) != []
    assert search(http, rdm_url, EwocCodes=[rice, soybean]) == expected([rice, soybean])
    assert len(expected([rice, soybean])) > len(expected([rice]))
    assert search(http, rdm_url, EwocCodes=[absent]) == []
    assert search(http, rdm_url, EwocCodes=[absent, rice]) == expected([rice])


def test_search_irrigation_and_confidence_filters(http, rdm_url, demo_catalog):
    public = public_records(demo_catalog)
    drip = sorted(k for k, r in public.items() if 215 in r["irrTypes"])
    assert drip and search(http, rdm_url, IrrigationTypes=[215]) == drip
    confident = sorted(k for k, r in public.items() if r["confidenceCropType"] >= 90)
    found = search(http, rdm_url, **{"CropTypeConfidence.Start": 90, "CropTypeConfidence.End": 100})
    assert found == confident and 0 < len(found) < len(public)
    lc_range = sorted(k for k, r in public.items() if 80 <= r["confidenceLandCover"] <= 88)
    assert search(http, rdm_url, **{"LandCoverConfidence.Start": 80, "LandCoverConfidence.End": 88}) == lc_range


def test_search_accepts_but_does_not_page(http, rdm_url, demo_catalog):
    assert search(http, rdm_url, SkipCount=3, MaxResultCount=1) == sorted(public_records(demo_catalog))


# ---- /collections, /collections/{id} ---------------------------------------------------------------------


def test_collections_are_paged_in_id_order(http, rdm_url, demo_catalog):
    public = sorted(public_records(demo_catalog))
    first = http.get(f"{rdm_url}/collections").json()
    assert list(first) == ["totalCount", "items"]
    assert first["totalCount"] == len(public) and len(first["items"]) == 10  # ABP's default page size
    seen = []
    for skip in range(0, len(public), 4):
        page = http.get(f"{rdm_url}/collections", params={"SkipCount": skip, "MaxResultCount": 4}).json()
        assert page["totalCount"] == len(public)
        seen += [c["collectionId"] for c in page["items"]]
    assert seen == public
    beyond = http.get(f"{rdm_url}/collections", params={"SkipCount": 100}).json()
    assert beyond == {"totalCount": len(public), "items": []}
    everything = http.get(f"{rdm_url}/collections", params={"MaxResultCount": 1000}).json()
    assert [c["collectionId"] for c in everything["items"]] == public


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({"MaxResultCount": 1001}, "can not be more than 1000"), ({"MaxResultCount": 0}, "must be >= 1"),
     ({"SkipCount": -1}, "must be >= 0"), ({"SkipCount": "first"}, "SkipCount")],
)
def test_collections_paging_limits(http, rdm_url, params, fragment):
    assert_abp_error(http.get(f"{rdm_url}/collections", params=params), 400, fragment)


def test_one_collection(http, rdm_url, demo_catalog):
    reply = http.get(f"{rdm_url}/collections/{PUBLIC_ID}")
    assert reply.status_code == 200 and reply.json() == records(demo_catalog)[PUBLIC_ID]
    error = assert_abp_error(http.get(f"{rdm_url}/collections/2099_xyz_none_point_110"), 404, "2099_xyz_none_point_110")
    assert error["code"] == "EntityNotFound"


# ---- downloads and files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["download", "sample/download"])
def test_download_routes_answer_a_plain_text_url_back_to_the_server(http, rdm_url, demo_catalog, route):
    reply = http.get(f"{rdm_url}/collections/{PUBLIC_ID}/{route}")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    url = reply.text
    assert not url.startswith('"') and url.startswith(f"{rdm_url}/files/public/")
    assert url.split("/")[-2] == PUBLIC_ID
    name = url.rsplit("/", 1)[1]
    if route == "download":
        assert name == full_file(demo_catalog, PUBLIC_ID).name == "2021_BEL_LPIS-DEMO_POLY_110.geoparquet"
    else:
        assert name == "sample_2021_BEL_LPIS-DEMO_POLY_110.parquet"
    body = http.get(url)
    assert body.status_code == 200 and body.content == (demo_catalog / PUBLIC_ID / name).read_bytes()
    samples = gpd.read_parquet(io.BytesIO(body.content))
    assert len(samples) > 0 and samples.crs.to_epsg() == 4326


def test_files_support_range_and_head(http, rdm_url, demo_catalog):
    url = http.get(f"{rdm_url}/collections/{PUBLIC_ID}/download").text
    data = full_file(demo_catalog, PUBLIC_ID).read_bytes()
    head = http.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(data)
    assert head.headers["accept-ranges"] == "bytes" and head.content == b""

    part = http.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert part.content == data[100:1100]
    footer = http.get(url, headers={"Range": "bytes=-8"})  # Parquet readers start with the footer
    assert footer.status_code == 206 and footer.content == data[-8:] and footer.content.endswith(b"PAR1")
    tail = http.get(url, headers={"Range": f"bytes={len(data) - 10}-"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    assert http.get(url, headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416


def test_traffic_stats_count_bytes_per_path(rdm_server, http, demo_catalog):
    url = http.get(f"{rdm_server.url}/collections/{SMALL_PUBLIC_ID}/download").text
    path = urlsplit(url).path
    before = rdm_server.app.state.stats.snapshot()
    http.get(url, headers={"Range": "bytes=0-99"})
    # The server records a response after its last byte went out, so the client can be a moment ahead.
    # An earlier test may have read this file already: wait for this request's bytes, not for the path.
    bytes_before = before["by_path"].get(path, {"bytes": 0})["bytes"]

    def path_bytes() -> int:
        return rdm_server.app.state.stats.snapshot()["by_path"].get(path, {"bytes": 0})["bytes"]

    deadline = time.monotonic() + 10
    while path_bytes() == bytes_before and time.monotonic() < deadline:
        time.sleep(0.01)
    after = rdm_server.app.state.stats.snapshot()
    assert after["by_path"][path]["bytes"] - bytes_before == 100
    assert after["requests"] > before["requests"] and after["bytes_sent"] >= before["bytes_sent"] + 100


@pytest.mark.parametrize(
    "path",
    [
        "/files/public/..%2f..%2fcatalog.json/x",
        f"/files/public/{PUBLIC_ID}/..%2f..%2fcatalog.json",
        f"/files/public/{PUBLIC_ID}/%2e%2e%2fcollection.json",
        f"/files/public/{PUBLIC_ID}/collection.json",  # inside the folder, but not a served file
        f"/files/public/{PUBLIC_ID}/access.json",
        f"/files/public/{PUBLIC_ID}/../{PUBLIC_ID}/collection.json",
        "/files/public/%2fetc%2fpasswd/passwd",
        "/files/public/%2fetc/passwd",
        "/files/public//etc/passwd",
        "/files/..%2f..%2f..%2fetc/x/passwd",
        f"/files/private/{PUBLIC_ID}/2021_BEL_LPIS-DEMO_POLY_110.geoparquet",  # wrong scope
        "/collections/..%2f..%2fetc%2fpasswd",
        "/collections/%2e%2e/download",
        "/collections/..%2fcatalog.json/download",
        "/collections/%2fetc%2fpasswd/metadata/download",
        f"/collections/{PUBLIC_ID}%2f..%2f{PRIVATE_ID}",
        "/legend.csv/../catalog.json",
    ],
)
def test_path_traversal_never_leaves_the_catalogue(rdm_url, demo_catalog, path):
    status, body = raw_get(rdm_url, path)
    assert status in (400, 404), (path, status)
    assert b'"error"' in body
    for secret in (b"root:", b'"collectionId"', b'"owner"', b'"generator"'):
        assert secret not in body


# ---- stats, metadata -------------------------------------------------------------------------------------


def test_codestats_match_the_samples(http, rdm_url, demo_catalog):
    stats = http.get(f"{rdm_url}/collections/{PUBLIC_ID}/items/codestats").json()
    assert list(stats) == ["lcStats", "ewocStats", "irrStats"]
    samples = pd.read_parquet(full_file(demo_catalog, PUBLIC_ID), columns=["ewoc_code", "irrigation_status"])
    assert {s["code"]: s["count"] for s in stats["ewocStats"]} == samples["ewoc_code"].value_counts().to_dict()
    assert {s["code"]: s["count"] for s in stats["irrStats"]} == {0: len(samples)}
    for key in stats:
        assert all(list(s) == ["code", "count"] for s in stats[key])
        counts = [s["count"] for s in stats[key]]
        assert counts == sorted(counts, reverse=True) and sum(counts) == len(samples)


def test_metadata_items_point_back_at_the_server(http, rdm_url, demo_catalog):
    items = http.get(f"{rdm_url}/collections/{PUBLIC_ID}/metadata/items").json()
    assert all(list(i) == ["id", "name", "value", "type"] for i in items)
    meta = {i["name"]: i["value"] for i in items}
    download = http.get(f"{rdm_url}/collections/{PUBLIC_ID}/download").text
    assert meta["GeoParquetDownloadUrl"] == download
    assert meta["SampleDownloadUrl"] == http.get(f"{rdm_url}/collections/{PUBLIC_ID}/sample/download").text
    pdf_url = meta["CuratedDataSet:Harmonization:Pdf"]
    assert pdf_url.startswith(f"{rdm_url}/files/public/{PUBLIC_ID}/") and pdf_url.endswith(".pdf")
    pdf = http.get(pdf_url)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == (demo_catalog / PUBLIC_ID / "harmonization.pdf").read_bytes()
    stats = json.loads(meta["codeStats"])
    assert list(stats) == ["LcStats", "EwocStats", "IrrStats"]
    assert all(list(s) == ["Code", "Count"] for s in stats["EwocStats"])


def test_metadata_download_is_the_xlsx_sheet(http, rdm_url, demo_catalog):
    reply = http.get(f"{rdm_url}/collections/{PUBLIC_ID}/metadata/download")
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/octet-stream"
    assert f'filename="{PUBLIC_ID}_MetaDataUpload.xlsx"' in reply.headers["content-disposition"]
    assert reply.content == (demo_catalog / PUBLIC_ID / "metadata.xlsx").read_bytes()
    sheet = load_workbook(io.BytesIO(reply.content), read_only=True).active
    assert next(sheet.iter_rows(values_only=True)) == ("Name", "Value")


# ---- items -----------------------------------------------------------------------------------------------


def items(http, rdm_url, cid, **params):
    return http.get(f"{rdm_url}/collections/{cid}/items", params=params)


def test_items_default_page_and_feature_shape(http, rdm_url, demo_catalog):
    reply = items(http, rdm_url, SMALL_PUBLIC_ID)
    assert reply.status_code == 200
    page = reply.json()
    assert list(page) == ["type", "features", "NumberMatched", "NumberReturned", "UtcTimeStamp", "SkipCount"]
    assert page["type"] == "FeatureCollection" and page["SkipCount"] == 0
    assert page["NumberMatched"] == 600 and page["NumberReturned"] == len(page["features"]) == 10
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", page["UtcTimeStamp"])
    feature = page["features"][0]
    assert list(feature) == ["type", "geometry", "properties"] and feature["geometry"]["type"] == "Polygon"
    props = feature["properties"]
    assert list(props) == ["sample_id", "ewoc_code", "irrigation_status", "valid_time", "extract",
                           "quality_score_lc", "quality_score_ct", "h3_l3_cell"]
    assert re.fullmatch(r"2022-\d\d-\d\d", props["valid_time"])
    assert all(isinstance(props[k], int) for k in ("ewoc_code", "irrigation_status", "extract", "quality_score_lc"))
    samples = gpd.read_parquet(full_file(demo_catalog, SMALL_PUBLIC_ID)).set_index("sample_id")
    row = samples.loc[props["sample_id"]]
    assert props["ewoc_code"] == row["ewoc_code"] and props["h3_l3_cell"] == row["h3_l3_cell"]
    assert shapely.geometry.shape(feature["geometry"]).equals(row["geometry"])


def test_items_paging_walks_every_sample_once(http, rdm_url, demo_catalog):
    ids = []
    for skip in range(0, 600, 250):
        page = items(http, rdm_url, SMALL_PUBLIC_ID, SkipCount=skip, MaxResultCount=250).json()
        assert page["SkipCount"] == skip and page["NumberMatched"] == 600
        ids += [f["properties"]["sample_id"] for f in page["features"]]
    samples = pd.read_parquet(full_file(demo_catalog, SMALL_PUBLIC_ID), columns=["sample_id"])
    assert sorted(ids) == sorted(samples["sample_id"]) and len(set(ids)) == 600
    capped = items(http, rdm_url, "2021_usa_cornbeltdemo_point_110", MaxResultCount=5000).json()
    assert capped["NumberMatched"] == 2000 and capped["NumberReturned"] == 2000  # cap of the live API
    past_end = items(http, rdm_url, SMALL_PUBLIC_ID, SkipCount=600).json()
    assert past_end["NumberMatched"] == 600 and past_end["features"] == []


def test_items_filters(http, rdm_url, demo_catalog):
    samples = gpd.read_parquet(full_file(demo_catalog, PUBLIC_ID))
    west, south, east, north = samples.total_bounds
    box = [west, south, (west + east) / 2, (south + north) / 2]
    start, end = "2021-06-01", "2021-06-30"
    maize = 1101060000
    expected = samples[
        shapely.intersects(samples.geometry.values, shapely.box(*box))
        & samples["valid_time"].between(pd.Timestamp(start), pd.Timestamp(end))
        & samples["ewoc_code"].isin([maize, 1107000010])
    ]
    assert 0 < len(expected) < 2000
    page = items(http, rdm_url, PUBLIC_ID, Bbox=box, ValidityStartTime=start, ValidityEndTime=end,
                 EwocCodes=[maize, 1107000010], MaxResultCount=2000).json()
    assert page["NumberMatched"] == len(expected)
    assert sorted(f["properties"]["sample_id"] for f in page["features"]) == sorted(expected["sample_id"])

    last_day = samples["valid_time"].max()
    on_last_day = items(http, rdm_url, PUBLIC_ID, ValidityStartTime=f"{last_day:%Y-%m-%d}",
                        ValidityEndTime=f"{last_day:%Y-%m-%d}").json()
    assert on_last_day["NumberMatched"] == int((samples["valid_time"] == last_day).sum())


def test_items_without_match_is_404_and_bad_filters_are_400(http, rdm_url):
    assert_abp_error(items(http, rdm_url, PUBLIC_ID, EwocCodes=[1101080000]), 404, "no items")
    assert_abp_error(items(http, rdm_url, PUBLIC_ID, Bbox=[100, 0, 101, 1]), 404, "no items")
    assert_abp_error(items(http, rdm_url, PUBLIC_ID, Bbox=[1, 2, 3]), 400, "exactly 4 times")
    assert_abp_error(items(http, rdm_url, PUBLIC_ID, ValidityStartTime="June"), 400, "ValidityStartTime")
    assert_abp_error(items(http, rdm_url, PUBLIC_ID, MaxResultCount=0), 400, "MaxResultCount=0")
    assert_abp_error(items(http, rdm_url, "2099_none_point_110"), 404, "2099_none_point_110")


def test_one_item_by_sample_id(http, rdm_url):
    first = items(http, rdm_url, SMALL_PUBLIC_ID, MaxResultCount=1).json()["features"][0]
    sample_id = first["properties"]["sample_id"]
    reply = http.get(f"{rdm_url}/collections/{SMALL_PUBLIC_ID}/items/{sample_id}")
    assert reply.status_code == 200 and reply.json() == first
    assert_abp_error(http.get(f"{rdm_url}/collections/{SMALL_PUBLIC_ID}/items/nope"), 404, "'nope'")


# ---- legend, docs, misc ----------------------------------------------------------------------------------


def test_legend_is_the_catalogue_legend(http, rdm_url, demo_catalog):
    reply = http.get(f"{rdm_url}/legend.csv")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    assert reply.content == (demo_catalog / "legend.csv").read_bytes()


def test_openapi_pages(http, rdm_url):
    spec = http.get(f"{rdm_url}/openapi.json").json()
    for path in ("/collections/search", "/collections", "/collections/{collection_id}/items",
                 "/collections/{collection_id}/download", "/collections/{collection_id}/sample/download",
                 "/collections/{collection_id}/items/codestats", "/collections/{collection_id}/metadata/items",
                 "/collections/{collection_id}/metadata/download"):
        assert path in spec["paths"], path
    search_params = {p["name"] for p in spec["paths"]["/collections/search"]["get"]["parameters"]}
    assert {"Bbox", "ValidityTime.Start", "ValidityTime.End", "EwocCodes"} <= search_params
    docs = http.get(f"{rdm_url}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    redirect = http.get(f"{rdm_url}/swagger/index.html", allow_redirects=False)
    assert redirect.status_code in (302, 307) and redirect.headers["location"] == "/docs"
    root = http.get(f"{rdm_url}/").json()
    assert root["synthetic"] is True and root["collections"] == 18


def test_unknown_route_is_a_json_404(http, rdm_url):
    assert_abp_error(http.get(f"{rdm_url}/nothing/here"), 404, "/nothing/here")


def test_create_app_rejects_bad_arguments(tmp_path):
    with pytest.raises(BadParameterError, match="does not exist"):
        create_app(tmp_path / "missing")
    with pytest.raises(BadParameterError, match="holds no collection"):
        create_app(tmp_path)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "collection.json").write_text(json.dumps({"collectionId": "../evil", "accessType": "Public"}))
    with pytest.raises(BadParameterError, match="collectionId '../evil' is not allowed"):
        create_app(tmp_path)
    with pytest.raises(BadParameterError, match="latency_s=-1"):
        create_app(tmp_path, latency_s=-1)


def test_plain_parquet_files_without_metadata_still_serve_items_and_stats(demo_catalog, tmp_path):
    """Live-like files (plain WKB, text dates, no geo metadata) and no metadata_items.json."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from worldcereal_explorer.server import serve_in_thread

    root = tmp_path / "catalog"
    shutil.copytree(demo_catalog / SMALL_PUBLIC_ID, root / SMALL_PUBLIC_ID)
    shutil.copy(demo_catalog / "legend.csv", root / "legend.csv")
    (root / SMALL_PUBLIC_ID / "metadata_items.json").unlink()
    path = full_file(root, SMALL_PUBLIC_ID)
    samples = gpd.read_parquet(path)
    frame = pd.DataFrame(samples.drop(columns="geometry"))
    frame["valid_time"] = frame["valid_time"].dt.strftime("%Y-%m-%d")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("geometry", pa.array(shapely.to_wkb(samples.geometry.array), pa.binary()))
    pq.write_table(table.replace_schema_metadata(None), path)

    with serve_in_thread(root) as server, requests.Session() as session:
        stats = session.get(f"{server.url}/collections/{SMALL_PUBLIC_ID}/items/codestats").json()
        assert {s["code"]: s["count"] for s in stats["ewocStats"]} == samples["ewoc_code"].value_counts().to_dict()
        assert {s["code"] for s in stats["lcStats"]} == {11}  # LC_code of every crop in this collection
        day = samples["valid_time"].iloc[0].strftime("%Y-%m-%d")
        page = session.get(f"{server.url}/collections/{SMALL_PUBLIC_ID}/items",
                           params={"ValidityStartTime": day, "ValidityEndTime": day, "MaxResultCount": 2000}).json()
        assert page["NumberMatched"] == int((samples["valid_time"].dt.strftime("%Y-%m-%d") == day).sum())
        assert {f["properties"]["valid_time"] for f in page["features"]} == {day}
        assert session.get(f"{server.url}/collections/{SMALL_PUBLIC_ID}/metadata/items").json() == []


def test_parameter_names_are_case_insensitive_like_aspnet(http, rdm_url, demo_catalog):
    lower = http.get(f"{rdm_url}/collections/search?bbox=-180&BBOX=-90&bbox=180&bbox=90&ewoccodes=1101080000")
    assert lower.status_code == 200
    assert sorted(c["collectionId"] for c in lower.json()) == search(http, rdm_url, EwocCodes=[1101080000])
    page = http.get(f"{rdm_url}/collections?maxresultcount=3&skipcount=1").json()
    assert [c["collectionId"] for c in page["items"]] == sorted(public_records(demo_catalog))[1:4]
