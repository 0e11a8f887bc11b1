"""Fixtures for the auth tests: the local OIDC provider and an RDM server that validates its tokens.

Everything runs over real HTTP on 127.0.0.1; the provider's approve/deny calls stand in for the person
who would click "Approve" in a browser (the browser path is covered by the verification-page test).
"""

from __future__ import annotations

import logging

import pytest

from tests.auth.helpers import FAST_POLL_S, Approver, collections_by_access
from worldcereal_explorer.server.idp import serve_idp_in_thread
from worldcereal_explorer.server.tokens import JwtTokenValidator


@pytest.fixture
def start_idp():
    """Factory: start a local OIDC provider with the given options; all are stopped after the test."""
    started = []

    def start(**kwargs):
        kwargs.setdefault("poll_interval_s", FAST_POLL_S)
        idp = serve_idp_in_thread(**kwargs)
        started.append(idp)
        return idp

    yield start
    for idp in started:
        idp.stop()


@pytest.fixture
def idp(start_idp):
    """A local OIDC provider with fast polling and default lifetimes."""
    return start_idp()


@pytest.fixture
def approve_next():
    """``approve_next(idp, action="approve", sub=..., groups=...)`` -> :class:`Approver` (started)."""
    return Approver


@pytest.fixture
def validator_for():
    def make(idp, **kwargs) -> JwtTokenValidator:
        kwargs.setdefault("jwks_refetch_interval_s", 0.0)
        return JwtTokenValidator(idp.issuer, idp.client_id, **kwargs)

    return make


@pytest.fixture(scope="module")
def module_idp():
    """One provider for a whole module (the access matrix): tokens are minted with ``issue_tokens``."""
    with serve_idp_in_thread(poll_interval_s=FAST_POLL_S) as idp:
        yield idp


@pytest.fixture(scope="module")
def secured_rdm(demo_catalog, module_idp):
    """The local RDM server over the demo catalogue, accepting tokens of ``module_idp``."""
    from worldcereal_explorer.server import serve_in_thread

    validator = JwtTokenValidator(module_idp.issuer, module_idp.client_id, jwks_refetch_interval_s=0.0)
    with serve_in_thread(demo_catalog, token_validator=validator) as server:
        yield server


@pytest.fixture
def rdm_for(demo_catalog, validator_for):
    """Factory: an RDM server that trusts the given provider (stopped after the test)."""
    from worldcereal_explorer.server import serve_in_thread

    servers = []

    def start(idp, **validator_kwargs):
        server = serve_in_thread(demo_catalog, token_validator=validator_for(idp, **validator_kwargs))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def private_dashboard(start_idp, rdm_for):
    """The served dashboard's parts for a login test: a provider, an RDM server trusting it, and the kernel
    environment pointing the dashboard at both (``(idp, rdm, env)``)."""
    from tests.voila_support import DASHBOARD_APP, dashboard_env

    if not DASHBOARD_APP.exists():
        pytest.skip(f"the dashboard notebook {DASHBOARD_APP} is not there")
    idp = start_idp(poll_interval_s=0.5)
    rdm = rdm_for(idp)
    return idp, rdm, dashboard_env(rdm.url, WORLDCEREAL_OIDC_ISSUER=idp.issuer)


@pytest.fixture(scope="session")
def demo_access(demo_catalog) -> dict[str, str]:
    """Ids of one public, the private and the restricted demo collection, plus their owners."""
    info = collections_by_access(demo_catalog)
    private = [cid for cid, a in info.items() if a["accessType"] == "Private"]
    restricted = [cid for cid, a in info.items() if a["accessType"] == "Restricted"]
    public = [cid for cid, a in info.items() if a["accessType"] == "Public"]
    assert private and restricted and public, f"demo catalogue lacks an access type: {info}"
    return {
        "public": public[0],
        "private": private[0],
        "restricted": restricted[0],
        "private_owner": info[private[0]]["owner"],
        "restricted_owner": info[restricted[0]]["owner"],
        "restricted_group": info[restricted[0]]["groups"][0],
    }


@pytest.fixture
def debug_logs(caplog):
    """Capture every log record at DEBUG level (all loggers, urllib3 included)."""
    caplog.set_level(logging.DEBUG)
    return caplog
