"""Private collections: signed file URLs (with a query string) read with the client's token, over real HTTP
against the local RDM server validating tokens of the local OIDC provider."""

from __future__ import annotations

import json

import pytest

from worldcereal_explorer.errors import RdmError
from worldcereal_explorer.rdm.auth import StaticTokenProvider
from worldcereal_explorer.rdm.client import RdmClient

from .conftest import assert_same_samples, oracle, read_plain


@pytest.fixture(scope="module")
def private_setup(demo_catalog):
    from worldcereal_explorer.demo import DEMO_USER_SUB
    from worldcereal_explorer.server import serve_in_thread
    from worldcereal_explorer.server.idp import serve_idp_in_thread
    from worldcereal_explorer.server.tokens import JwtTokenValidator

    private_ids = sorted(
        p.parent.name for p in demo_catalog.glob("*/access.json")
        if json.loads(p.read_text()).get("owner") == DEMO_USER_SUB
    )
    assert private_ids, "the demo catalogue has a private collection of the demo user"
    with serve_idp_in_thread() as idp, \
            serve_in_thread(demo_catalog, token_validator=JwtTokenValidator(idp.issuer, idp.client_id)) as server:
        token = idp.issue_tokens(DEMO_USER_SUB, name="Demo User")["access_token"]
        yield server, token, private_ids


def frames_for(demo_catalog, ref_ids):
    return {
        ref_id: {"full": read_plain(next(p for p in (demo_catalog / ref_id).glob("*.geoparquet")
                                         if not p.name.startswith("sample_"))),
                 "subset": read_plain(next((demo_catalog / ref_id).glob("sample_*")))}
        for ref_id in ref_ids
    }


def test_private_samples_are_read_with_the_token(private_setup, demo_catalog):
    server, token, private_ids = private_setup
    with RdmClient(server.url, token_provider=StaticTokenProvider(token)) as client:
        url = client.get_download_url(private_ids[0])
        assert "?" in url and "sig=" in url  # a signed, short-lived URL
        gdf = client.get_samples(include_public=False, include_private=True, progress=False)
        assert set(gdf["ref_id"]) == set(private_ids)
        assert_same_samples(gdf, oracle(frames_for(demo_catalog, private_ids), private_ids))
        subset = client.get_samples(ref_ids=private_ids, subset=True, min_quality_ct=50, progress=False)
        assert_same_samples(subset, oracle(frames_for(demo_catalog, private_ids), private_ids, subset=True,
                                           min_ct=50))


def test_private_samples_with_the_dask_engine(private_setup):
    server, token, private_ids = private_setup
    with RdmClient(server.url, token_provider=StaticTokenProvider(token)) as client:
        eager = client.get_samples(ref_ids=private_ids, progress=False)
        lazy = client.get_samples(ref_ids=private_ids, engine="dask", progress=False)
        result = lazy.compute().reset_index(drop=True)
    assert list(result["sample_id"]) == list(eager["sample_id"])


def test_private_collection_without_token_fails_naming_it(private_setup):
    server, _, private_ids = private_setup
    with RdmClient(server.url, retries=1) as client, pytest.raises(RdmError) as info:
        client.get_samples(ref_ids=private_ids[:1], progress=False)
    assert private_ids[0] in str(info.value)
