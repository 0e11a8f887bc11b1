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


def _printed(lazy) -> str:
    """Everything Dask shows of a lazy frame: pprint, tree_repr, reprs of the frame, its graph and its specs."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        lazy.expr.pprint()
    specs = _specs(lazy)
    return "\n".join([buffer.getvalue(), lazy.expr.tree_repr(), repr(lazy), str(lazy), repr(lazy.expr),
                      str(dict(lazy.dask)), repr(specs), str(specs), *map(str, specs)])


def _specs(lazy) -> list:
    from dask.dataframe.dask_expr.io import FromMap

    specs = [spec for expr in lazy.expr.walk() if isinstance(expr, FromMap) for it in expr.iterables for spec in it]
    assert specs
    return specs


def test_dask_partitions_carry_the_token_hidden(private_setup):
    pytest.importorskip("dask_geopandas")
    from worldcereal_explorer.rdm.http import Secret

    server, token, private_ids = private_setup
    with RdmClient(server.url, token_provider=StaticTokenProvider(token)) as client:
        lazy = client.get_samples(ref_ids=private_ids, engine="dask", progress=False)
        signature = client.get_download_url(private_ids[0]).split("sig=", 1)[1]
    specs = _specs(lazy)
    assert all(isinstance(spec.token, Secret) and spec.token.value == token for spec in specs)
    assert not any(isinstance(getattr(spec, "headers", None), (dict, tuple)) for spec in specs)
    text = _printed(lazy)
    assert "PartitionSpec(" in text and "<hidden>" in text
    assert token not in text
    assert token.split(".")[1] not in text  # not even the JWT's payload
    assert "Authorization" not in text and "Bearer" not in text
    assert signature not in text and "sig=" not in text


def test_a_failing_partition_raises_only_package_errors_without_the_token(private_setup):
    import pickle
    from dataclasses import replace

    from worldcereal_explorer.errors import AuthenticationError, WorldCerealExplorerError
    from worldcereal_explorer.rdm.samples import SampleQuery, read_partition

    server, token, private_ids = private_setup
    with RdmClient(server.url, token_provider=StaticTokenProvider(token)) as client:
        lazy = client.get_samples(ref_ids=private_ids[:1], engine="dask", progress=False)
    spec = _specs(lazy)[0]
    query = SampleQuery.build()
    tampered = replace(spec, url=spec.url.replace("sig=", "sig=0"))  # the file store refuses it
    unreachable = replace(spec, url="http://127.0.0.1:9/files/private/x/y.parquet?sig=abc",
                          policy=spec.policy.with_(retries=0))
    for bad, kind in ((tampered, AuthenticationError), (unreachable, WorldCerealExplorerError)):
        with pytest.raises(WorldCerealExplorerError) as info:
            read_partition(bad, query)
        error = info.value
        assert isinstance(error, kind), repr(error)
        assert private_ids[0] in str(error)
        assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
        pickled = pickle.dumps(error)
        assert token.encode() not in pickled and b"Authorization" not in pickled
        assert type(pickle.loads(pickled)) is type(error)
