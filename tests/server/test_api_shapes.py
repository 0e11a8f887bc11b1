"""Our JSON has exactly the shapes of the live API's recorded responses (``../shared/data/api-examples``)."""

from __future__ import annotations

import json

import pytest
import requests

pytestmark = pytest.mark.shared_data

PUBLIC_ID = "2021_bel_lpisdemo_poly_110"


def load(shared_data, name):
    return json.loads((shared_data / "api-examples" / name).read_text())


def shape(value):
    """The structure of a JSON value: key order and value types, lists by their first element."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def assert_same_shape(ours, recorded, nullable=()):
    """Same keys in the same order and the same value types (``None`` allowed for ``nullable`` keys)."""
    assert list(ours) == list(recorded)
    for key in recorded:
        if key in nullable and (ours[key] is None or recorded[key] is None):
            continue
        assert shape(ours[key]) == shape(recorded[key]), key


NULLABLE_AUDIT = ("lastModificationTime", "lastModifierId", "creationTime", "creatorId")


def test_search_objects_match_the_recorded_search(shared_data, rdm_url):
    recorded = load(shared_data, "collections_search_response_2024-09.json")
    ours = requests.get(f"{rdm_url}/collections/search", params={"Bbox": [-180, -90, 180, 90]}).json()
    assert isinstance(recorded, list) and isinstance(ours, list)
    for obj in ours:
        assert_same_shape(obj, recorded[0], nullable=NULLABLE_AUDIT)
    assert {o["type"] for o in ours} <= {"Point", "Polygon"} and {r["type"] for r in recorded} <= {"Point", "Polygon"}


def test_collections_page_matches_the_recorded_pages(shared_data, rdm_url):
    recorded = load(shared_data, "collections_pages_MaxResultCount10_2024-11.json")[0]
    ours = requests.get(f"{rdm_url}/collections", params={"SkipCount": 0, "MaxResultCount": 10}).json()
    assert list(ours) == list(recorded) == ["totalCount", "items"]
    assert len(ours["items"]) == len(recorded["items"]) == 10
    for obj in ours["items"]:
        assert_same_shape(obj, recorded["items"][0], nullable=NULLABLE_AUDIT)
    authenticated = load(shared_data, "collections_response_MaxResultCount100_authenticated_2024-07.json")
    assert list(authenticated) == list(ours)


def test_items_match_the_recorded_feature_collection(shared_data, rdm_url):
    recorded = load(shared_data, "collection_items_response_2017afoneacrefundmelpoint110_2024-07.json")
    ours = requests.get(f"{rdm_url}/collections/2021_usa_cornbeltdemo_point_110/items").json()
    assert list(ours) == list(recorded)
    assert ours["NumberReturned"] == recorded["NumberReturned"] == 10  # same default page size
    assert_same_shape(ours["features"][0], recorded["features"][0])
    polygons = load(shared_data, "collection_items_features_all335_2023idnvitocampaignpoly110_2024-07.json")
    ours_poly = requests.get(f"{rdm_url}/collections/{PUBLIC_ID}/items").json()["features"][0]
    assert_same_shape(ours_poly, polygons[0])


def test_metadata_items_match_the_recorded_items(shared_data, rdm_url):
    recorded_names = set()
    for name in ("collection_metadata_items_2017bellpisflanderspoly110_2024-06.json",
                 "collection_metadata_items_2017ugaradiantearth01poly110_2024-07.json",
                 "collection_metadata_items_2019afnhicropharvestpoly100_2024-09.json"):
        recorded = load(shared_data, name)
        recorded_names |= {i["name"] for i in recorded}
        reference = recorded[0]
    recorded_names |= set(load(shared_data, "collection_metadata_dict_2017_tza_osfafsis_point_110_2025.json"))
    ours = requests.get(f"{rdm_url}/collections/{PUBLIC_ID}/metadata/items").json()
    for item in ours:
        assert_same_shape(item, reference)
    names = {i["name"] for i in ours}
    assert names <= recorded_names, names - recorded_names  # only keys the live API uses
    assert {"codeStats", "GeoParquetDownloadUrl", "SampleDownloadUrl", "CuratedDataSet:Harmonization:Pdf"} <= names


def test_code_stats_match_the_recorded_code_stats(shared_data, rdm_url):
    recorded = load(shared_data, "metadata_codeStats_2017_tza_osfafsis_point_110_2025.json")
    items = requests.get(f"{rdm_url}/collections/{PUBLIC_ID}/metadata/items").json()
    ours = json.loads(next(i["value"] for i in items if i["name"] == "codeStats"))
    assert shape(ours) == shape(recorded)
    route = requests.get(f"{rdm_url}/collections/{PUBLIC_ID}/items/codestats").json()
    # The route uses camelCase {code, count} (swagger StatsItem), with the metadata item's key names.
    assert list(route) == [k[0].lower() + k[1:] for k in recorded]
    assert [{"code": s["Code"], "count": s["Count"]} for s in ours["EwocStats"]] == route["ewocStats"]

