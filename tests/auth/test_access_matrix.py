"""The access matrix, over real HTTP: (anonymous / owner / other user / consortium member)
x (public / private / restricted collection) x (search, metadata, counts, download URL, file fetch).

Tokens come from the local OIDC provider and are validated by the local RDM server against its JWKS.
The observed matrix is written to ``test-artifacts/access_matrix.md`` (and printed) for the note.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

CALLERS = ("anonymous", "owner", "other user", "consortium member")
KINDS = ("public", "private", "restricted")
OPERATIONS = ("search", "metadata", "counts", "download URL", "file")
WORLD = [("Bbox", -180), ("Bbox", -90), ("Bbox", 180), ("Bbox", 90)]

# What each caller must get. "listed"/"hidden": whether /collections/search returns the collection.
# Denied callers fetch the file's unsigned path (what a guessed URL would be): 403. Anonymous callers get the
# same 404 as other users (not a 401), so a private id cannot be confirmed without a token that may see it.
ALLOWED = {"search": "listed", "metadata": 200, "counts": 200, "download URL": 200, "file": 200}
HIDDEN = {"search": "hidden", "metadata": 404, "counts": 404, "download URL": 404, "file": 403}
EXPECTED = {
    ("anonymous", "public"): ALLOWED,
    ("anonymous", "private"): HIDDEN,
    ("anonymous", "restricted"): HIDDEN,
    ("owner", "public"): ALLOWED,
    ("owner", "private"): ALLOWED,
    ("owner", "restricted"): ALLOWED,
    ("other user", "public"): ALLOWED,
    ("other user", "private"): HIDDEN,
    ("other user", "restricted"): HIDDEN,
    ("consortium member", "public"): ALLOWED,
    ("consortium member", "private"): HIDDEN,
    ("consortium member", "restricted"): ALLOWED,
}


def _headers(token: str | None) -> dict[str, str]:
    return {"accept": "*/*", **({"Authorization": f"Bearer {token}"} if token else {})}


def _tokens(idp, demo_access) -> dict[tuple[str, str], str | None]:
    """The bearer token each caller sends for each collection kind (the owner differs per collection)."""
    group = demo_access["restricted_group"]
    other = idp.issue_tokens("other-user", preferred_username="other")["access_token"]
    member = idp.issue_tokens("consortium-member", groups=[group])["access_token"]
    owners = {
        "public": idp.issue_tokens(demo_access["private_owner"])["access_token"],
        "private": idp.issue_tokens(demo_access["private_owner"])["access_token"],
        "restricted": idp.issue_tokens(demo_access["restricted_owner"])["access_token"],
    }
    tokens = {}
    for kind in KINDS:
        tokens[("anonymous", kind)] = None
        tokens[("owner", kind)] = owners[kind]
        tokens[("other user", kind)] = other
        tokens[("consortium member", kind)] = member
    return tokens


def _unsigned(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@pytest.fixture(scope="module")
def observed_matrix(secured_rdm, module_idp, demo_access):
    base = secured_rdm.url
    tokens = _tokens(module_idp, demo_access)
    # The real file path of each collection (learned as its owner) for the unsigned-fetch attempts.
    file_paths = {}
    for kind in KINDS:
        url = requests.get(
            f"{base}/collections/{demo_access[kind]}/download", headers=_headers(tokens[("owner", kind)]), timeout=30
        ).text
        file_paths[kind] = _unsigned(url)

    observed = {}
    for caller in CALLERS:
        for kind in KINDS:
            collection_id = demo_access[kind]
            headers = _headers(tokens[(caller, kind)])
            cell = {}
            search = requests.get(f"{base}/collections/search", params=WORLD, headers=headers, timeout=30)
            assert search.status_code == 200, f"search failed for {caller}: {search.text}"
            ids = {c["collectionId"] for c in search.json()}
            cell["search"] = "listed" if collection_id in ids else "hidden"
            cell["metadata"] = requests.get(
                f"{base}/collections/{collection_id}/metadata/items", headers=headers, timeout=30
            ).status_code
            cell["counts"] = requests.get(
                f"{base}/collections/{collection_id}/items/codestats", headers=headers, timeout=30
            ).status_code
            download = requests.get(f"{base}/collections/{collection_id}/download", headers=headers, timeout=30)
            cell["download URL"] = download.status_code
            # Files are fetched without a token, as DuckDB/fsspec/a browser would: the URL must suffice.
            file_url = download.text.strip() if download.status_code == 200 else file_paths[kind]
            if kind != "public" and download.status_code != 200:
                assert file_url == file_paths[kind] and "sig=" not in file_url
            cell["file"] = requests.get(file_url, headers={"Range": "bytes=0-3"}, timeout=30).status_code
            if cell["file"] in (200, 206):
                cell["file"] = 200
            observed[(caller, kind)] = cell
    return observed


def _markdown(observed) -> str:
    lines = [
        "| caller | operation | public | private | restricted |",
        "|---|---|---|---|---|",
    ]
    for caller in CALLERS:
        for op in OPERATIONS:
            cells = []
            for kind in KINDS:
                got = observed[(caller, kind)][op]
                ok = got == EXPECTED[(caller, kind)][op]
                cells.append(f"{got}" if ok else f"**{got}** (expected {EXPECTED[(caller, kind)][op]})")
            lines.append(f"| {caller} | {op} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def test_access_matrix(observed_matrix, artifacts_dir, demo_access):
    table = _markdown(observed_matrix)
    header = (
        "Access matrix observed over HTTP against the local RDM server with tokens from the local OIDC provider.\n"
        f"Collections: public `{demo_access['public']}`, private `{demo_access['private']}` "
        f"(owner `{demo_access['private_owner']}`), restricted `{demo_access['restricted']}` "
        f"(owner `{demo_access['restricted_owner']}`, group `{demo_access['restricted_group']}`).\n"
        "search = listed/hidden in /collections/search; metadata = /metadata/items; counts = /items/codestats; "
        "download URL = /download; file = GET of the returned signed URL without a token (denied callers: "
        "the unsigned file path).\n\n"
    )
    (artifacts_dir / "access_matrix.md").write_text(header + table, encoding="utf-8")
    print("\n" + table)
    mismatches = {
        key: (observed_matrix[key], EXPECTED[key]) for key in EXPECTED if observed_matrix[key] != EXPECTED[key]
    }
    assert not mismatches, f"access matrix differs from the rules:\n{table}"


@pytest.mark.parametrize("caller", ["owner", "consortium member"])
def test_signed_url_is_bound_to_its_file(caller, secured_rdm, module_idp, demo_access):
    token = _tokens(module_idp, demo_access)[(caller, "restricted")]
    url = requests.get(
        f"{secured_rdm.url}/collections/{demo_access['restricted']}/download", headers=_headers(token), timeout=30
    ).text.strip()
    assert "sig=" in url and "expires=" in url
    assert requests.get(url, headers={"Range": "bytes=0-3"}, timeout=30).status_code in (200, 206)
    forged = url.replace("sig=", "sig=0")
    assert requests.get(forged, timeout=30).status_code == 403
    moved = url.replace(demo_access["restricted"], demo_access["private"], 1)
    assert requests.get(moved, timeout=30).status_code in (403, 404)


@pytest.mark.parametrize("caller", ["anonymous", "other user"])
@pytest.mark.parametrize("route", ["", "/metadata/items", "/items/codestats", "/download"])
def test_hidden_collection_looks_like_an_unknown_one(caller, route, secured_rdm, module_idp, demo_access):
    # A 401 or a different body for an existing private id would confirm that the id exists.
    headers = _headers(_tokens(module_idp, demo_access)[(caller, "private")])
    private_id = demo_access["private"]
    unknown_id = "2099_xxx_doesnotexist_poly_110"
    hidden = requests.get(f"{secured_rdm.url}/collections/{private_id}{route}", headers=headers, timeout=30)
    unknown = requests.get(f"{secured_rdm.url}/collections/{unknown_id}{route}", headers=headers, timeout=30)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text.replace(private_id, "<id>") == unknown.text.replace(unknown_id, "<id>")
    assert "WWW-Authenticate" not in hidden.headers


def test_invalid_token_on_a_collection_is_still_401(secured_rdm, demo_access):
    # A broken token is the caller's problem to fix (log in again), unlike a valid token that may not see it.
    response = requests.get(
        f"{secured_rdm.url}/collections/{demo_access['private']}", headers=_headers("not.a.token"), timeout=30
    )
    assert response.status_code == 401
