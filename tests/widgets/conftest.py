"""Fixtures for the explorer state and widget tests: states bound to the local RDM server over HTTP."""

from __future__ import annotations

import pytest


def make_client(url: str):
    from worldcereal_explorer.rdm.client import RdmClient

    # The catalogue serves its own legend; the official one is not reachable offline.
    return RdmClient(url, retries=2, backoff_factor=0.01, legend=f"{url}/legend.csv")


@pytest.fixture
def make_state(rdm_url):
    """Factory for states on the local server (closed after the test)."""
    from worldcereal_explorer.state import RdmQueryState

    made = []

    def factory(url: str | None = None, **traits):
        traits.setdefault("debounce_s", 0.05)
        state = RdmQueryState(client=make_client(url or rdm_url), **traits)
        made.append(state)
        return state

    yield factory
    for state in made:
        state.close()


@pytest.fixture
def state(make_state):
    """A state that does not search on its own (tests call refresh()/search())."""
    return make_state(auto_search=False)


@pytest.fixture
def live_state(make_state):
    """A state that searches by itself after every input change (as in the dashboard)."""
    return make_state(auto_search=True)


@pytest.fixture(scope="module")
def slow_server(demo_catalog):
    """A second local server on the same catalogue that delays every request by 0.3 s."""
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(demo_catalog, latency_s=0.3) as server:
        yield server


@pytest.fixture
def idp():
    """A local OIDC provider (device flow) with fast polling, stopped after the test."""
    from worldcereal_explorer.server.idp import serve_idp_in_thread

    with serve_idp_in_thread(poll_interval_s=0.05) as provider:
        yield provider


@pytest.fixture
def secured_rdm(demo_catalog, idp):
    """The local RDM server over the demo catalogue, accepting tokens of ``idp``."""
    from worldcereal_explorer.server import serve_in_thread
    from worldcereal_explorer.server.tokens import JwtTokenValidator

    validator = JwtTokenValidator(idp.issuer, idp.client_id, jwks_refetch_interval_s=0.0)
    with serve_in_thread(demo_catalog, token_validator=validator) as server:
        yield server
