"""Access control over real HTTP: anonymous, owner, group member and stranger; signed file URLs.

Authenticated requests use a small, real token validator that maps fixed opaque tokens to principals
(the JWT validator of the local OIDC provider plugs into the same ``token_validator`` hook).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.conftest import free_port
from worldcereal_explorer.server import Principal, serve_in_thread

PUBLIC_ID = "2021_bel_lpisdemo_poly_110"
PRIVATE_ID = "2023_nld_privatedemo_poly_110"
RESTRICTED_ID = "2022_khm_consortiumdemo_point_110"

PRINCIPALS = {
    "owner-token": Principal("demo-user", frozenset(), "Demo User"),
    "partner-token": Principal("partner-user"),
    "member-token": Principal("someone-else", frozenset({"worldcereal-consortium"})),
    "stranger-token": Principal("stranger", frozenset({"another-group"})),
}


def opaque_token_validator(token: str) -> Principal:
    """Accept only the fixed tokens above; anything else is refused as a real validator would."""
    try:
        return PRINCIPALS[token]
    except KeyError:
        raise PermissionError(f"unknown token {token}") from None


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def public_ids(catalog: Path) -> list[str]:
    return sorted(p.parent.name for p in catalog.glob("*/collection.json")
                  if json.loads(p.read_text())["accessType"] == "Public")


@pytest.fixture(scope="module")
def auth_server(demo_catalog):
    with serve_in_thread(demo_catalog, token_validator=opaque_token_validator,
                         url_signing_key=b"test-signing-key") as server:
        yield server


@pytest.fixture(scope="module")
def url(auth_server):
    return auth_server.url


def search_ids(url, headers=None):
    reply = requests.get(f"{url}/collections/search", params={"Bbox": [-180, -90, 180, 90]}, headers=headers)
    assert reply.status_code == 200, reply.text
    return sorted(c["collectionId"] for c in reply.json())


def test_search_and_list_show_what_each_principal_may_see(url, demo_catalog):
    public = public_ids(demo_catalog)
    assert search_ids(url) == public
    assert search_ids(url, bearer("stranger-token")) == public
    assert search_ids(url, bearer("owner-token")) == sorted([*public, PRIVATE_ID])
    assert search_ids(url, bearer("member-token")) == sorted([*public, RESTRICTED_ID])
    assert search_ids(url, bearer("partner-token")) == sorted([*public, RESTRICTED_ID])
    listing = requests.get(f"{url}/collections", params={"MaxResultCount": 100}, headers=bearer("owner-token")).json()
    assert listing["totalCount"] == len(public) + 1
    assert PRIVATE_ID in [c["collectionId"] for c in listing["items"]]
    assert requests.get(f"{url}/collections").json()["totalCount"] == len(public)


@pytest.mark.parametrize(
    ("cid", "token", "status"),
    [
        (PRIVATE_ID, None, 404),
        (PRIVATE_ID, "owner-token", 200),
        (PRIVATE_ID, "member-token", 404),
        (PRIVATE_ID, "stranger-token", 404),
        (RESTRICTED_ID, None, 404),
        (RESTRICTED_ID, "partner-token", 200),
        (RESTRICTED_ID, "member-token", 200),
        (RESTRICTED_ID, "stranger-token", 404),
        (PUBLIC_ID, None, 200),
        (PUBLIC_ID, "stranger-token", 200),
    ],
)
@pytest.mark.parametrize("route", ["", "/items/codestats", "/metadata/items", "/metadata/download", "/download",
                                   "/sample/download", "/items"])
def test_collection_routes_apply_the_rules(url, cid, token, status, route):
    reply = requests.get(f"{url}/collections/{cid}{route}", headers=bearer(token) if token else None)
    assert reply.status_code == status, reply.text
    if status == 404:  # hidden exactly like an id that does not exist, for anonymous callers too
        unknown = requests.get(f"{url}/collections/2099_xyz_nothing_point_110{route}",
                               headers=bearer(token) if token else None)
        assert unknown.status_code == 404
        assert reply.headers["content-type"] == unknown.headers["content-type"]
        assert "www-authenticate" not in reply.headers and "www-authenticate" not in unknown.headers
        hidden, missing = reply.json(), unknown.json()
        assert hidden["error"]["message"] == missing["error"]["message"].replace("2099_xyz_nothing_point_110", cid)
        hidden["error"]["message"] = missing["error"]["message"] = ""
        assert hidden == missing


@pytest.mark.parametrize("cid", [PRIVATE_ID, RESTRICTED_ID, "2099_xyz_nothing_point_110"])
def test_unsigned_private_file_urls_are_refused_alike_whether_the_id_exists_or_not(url, cid):
    reply = requests.get(f"{url}/files/private/{cid}/anything.geoparquet")
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "Forbidden"


def test_bad_tokens_are_refused_with_401(url, rdm_url):
    reply = requests.get(f"{url}/collections/{PUBLIC_ID}", headers=bearer("forged-token-123"))
    assert reply.status_code == 401
    message = reply.json()["error"]["message"]
    assert message.startswith("bearer token rejected: unknown token") and "forged-token-123" not in message
    assert 'error="invalid_token"' in reply.headers["www-authenticate"]
    basic = requests.get(f"{url}/collections/search", params={"Bbox": [0, 0, 1, 1]},
                         headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401 and "must be 'Bearer <access token>'" in basic.json()["error"]["message"]
    # The shared demo server has no validator: any token is refused, clearly.
    unconfigured = requests.get(f"{rdm_url}/collections/search", params={"Bbox": [0, 0, 1, 1]},
                                headers=bearer("owner-token"))
    assert unconfigured.status_code == 401
    assert "token validation not configured" in unconfigured.json()["error"]["message"]


def test_private_files_use_short_lived_signed_urls(auth_server, url, demo_catalog):
    download = requests.get(f"{url}/collections/{PRIVATE_ID}/download", headers=bearer("owner-token"))
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/plain")
    signed = download.text
    parts = urlsplit(signed)
    assert signed.startswith(f"{url}/files/private/{PRIVATE_ID}/")
    assert signed.split("/")[-2] == PRIVATE_ID  # the WorldCereal client derives ref_id this way
    query = parse_qs(parts.query)
    expires = int(query["expires"][0])
    assert time.time() < expires <= time.time() + 15 * 60 + 5

    expected = (demo_catalog / PRIVATE_ID / parts.path.rsplit("/", 1)[1]).read_bytes()
    fetched = requests.get(signed)  # no token needed: the signature is the credential
    assert fetched.status_code == 200 and fetched.content == expected
    ranged = requests.get(signed, headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == b"PAR1"

    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    tampered_sig = query["sig"][0][:-1] + ("0" if query["sig"][0][-1] != "0" else "1")
    cases = {
        "missing": base,
        "tampered signature": f"{base}?{urlencode({'expires': expires, 'sig': tampered_sig})}",
        "extended expiry": f"{base}?{urlencode({'expires': expires + 3600, 'sig': query['sig'][0]})}",
        "expired": f"{base}?{urlencode(auth_server.app.state.signer.sign(parts.path, now=time.time() - 3600))}",
    }
    for case, bad in cases.items():
        reply = requests.get(bad)
        assert reply.status_code == 403, case
        assert reply.json()["error"]["code"] == "Forbidden" and reply.content != expected
    other_file = signed.replace(parts.path.rsplit("/", 1)[1], "sample_" + parts.path.rsplit("/", 1)[1])
    assert requests.get(other_file.replace(".geoparquet?", ".parquet?")).status_code == 403  # bound to its path
    public_scope = f"{url}/files/public/{PRIVATE_ID}/{parts.path.rsplit('/', 1)[1]}"
    assert requests.get(public_scope).status_code == 404


def test_private_metadata_links_are_signed_and_have_no_pdf(url):
    items = requests.get(f"{url}/collections/{PRIVATE_ID}/metadata/items", headers=bearer("owner-token")).json()
    meta = {i["name"]: i["value"] for i in items}
    assert "CuratedDataSet:Harmonization:Pdf" not in meta
    for key in ("GeoParquetDownloadUrl", "SampleDownloadUrl"):
        assert f"/files/private/{PRIVATE_ID}/" in meta[key] and "sig=" in meta[key]
        assert requests.get(meta[key], headers={"Range": "bytes=0-3"}).content == b"PAR1"


def test_restricted_items_for_a_group_member(url, demo_catalog):
    page = requests.get(f"{url}/collections/{RESTRICTED_ID}/items", params={"MaxResultCount": 5},
                        headers=bearer("member-token")).json()
    assert page["NumberMatched"] == json.loads((demo_catalog / RESTRICTED_ID / "collection.json").read_text())[
        "featureCount"]


def test_serve_in_thread_on_a_chosen_port_and_stop(demo_catalog):
    port = free_port()
    with serve_in_thread(demo_catalog, port=port) as server:
        assert server.port == port and server.url == f"http://127.0.0.1:{port}"
        assert requests.get(f"{server.url}/collections/{PUBLIC_ID}/download").text.startswith(server.url)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/", timeout=2)
