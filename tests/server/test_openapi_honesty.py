"""The published OpenAPI document says what the server really answers (issue 9.8), and 405s carry Allow."""

from __future__ import annotations

import pytest
import requests

PUBLIC_ID = "2021_bel_lpisdemo_poly_110"


@pytest.fixture(scope="module")
def spec(rdm_url):
    return requests.get(f"{rdm_url}/openapi.json", timeout=30).json()


def operation(spec, path):
    return spec["paths"][path]["get"]


def test_no_route_documents_fastapis_422_and_errors_are_json(spec):
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert "422" not in op["responses"], (method, path)
            for status, answer in op["responses"].items():
                if status in ("400", "401", "403", "404") and not path.startswith("/files/"):
                    assert list(answer["content"]) == ["application/json"], (path, status)


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/collections/search", {"200", "400", "401"}),
        ("/collections", {"200", "400", "401"}),
        ("/collections/{collection_id}", {"200", "401", "404"}),
        ("/collections/{collection_id}/download", {"200", "401", "404"}),
        ("/collections/{collection_id}/items", {"200", "400", "401", "404"}),
        ("/collections/{collection_id}/metadata/download", {"200", "401", "404"}),
        ("/legend.csv", {"200", "404"}),
        ("/files/{scope}/{collection_id}/{file_name}", {"200", "206", "400", "403", "404", "416"}),
    ],
)
def test_each_route_documents_the_answers_it_gives(spec, path, statuses):
    assert set(operation(spec, path)["responses"]) == statuses


def test_content_types_are_the_real_ones(spec, rdm_url):
    assert list(operation(spec, "/legend.csv")["responses"]["200"]["content"]) == ["text/csv"]
    assert list(operation(spec, "/collections/{collection_id}/download")["responses"]["200"]["content"]) == [
        "text/plain"]
    assert list(operation(spec, "/collections/{collection_id}/metadata/download")["responses"]["200"]["content"]) == [
        "application/octet-stream"]
    reply = requests.get(f"{rdm_url}/legend.csv", timeout=30)
    assert reply.headers["content-type"].split(";")[0] == "text/csv"


def test_paging_schema_agrees_with_behaviour(spec, rdm_url):
    params = {p["name"]: p["schema"] for p in operation(spec, "/collections")["parameters"]}
    assert params["MaxResultCount"]["minimum"] == 1 and params["MaxResultCount"]["maximum"] == 1000
    assert params["SkipCount"]["minimum"] == 0
    item_params = {p["name"]: p["schema"] for p in operation(spec, "/collections/{collection_id}/items")["parameters"]}
    assert item_params["MaxResultCount"]["minimum"] == 1
    # The documented bounds are exactly what is accepted.
    for value, status in ((0, 400), (1, 200), (1000, 200), (1001, 400)):
        reply = requests.get(f"{rdm_url}/collections", params={"MaxResultCount": value}, timeout=30)
        assert reply.status_code == status, (value, reply.text)
    huge = requests.get(f"{rdm_url}/collections/{PUBLIC_ID}/items", params={"SkipCount": 2**31}, timeout=30)
    assert huge.status_code == 400 and "SkipCount" in huge.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/collections/search", "GET"),
        ("DELETE", f"/collections/{PUBLIC_ID}", "GET"),
        ("PUT", "/legend.csv", "GET"),
        ("POST", f"/files/public/{PUBLIC_ID}/x.parquet", "GET, HEAD"),
    ],
)
def test_405_answers_carry_allow(rdm_url, method, path, allow):
    reply = requests.request(method, f"{rdm_url}{path}", timeout=30)
    assert reply.status_code == 405 and reply.headers["allow"] == allow
    assert f"allowed: {allow}" in reply.json()["error"]["message"]
