"""Samples of the demo catalogue over real HTTP, shared by the training-set tests."""

from __future__ import annotations

import pytest

PRAIRIE = "2021_can_prairiedemo_poly_110"
CROPWATCH = "2021_can_cropwatchdemo_poly_110"


@pytest.fixture(scope="module")
def rdm(rdm_url):
    from worldcereal_explorer.rdm.client import RdmClient

    with RdmClient(rdm_url, retries=2, backoff_factor=0.01) as client:
        yield client


@pytest.fixture(scope="module")
def canada(rdm):
    """The two Canadian collections: parcels and a shifted copy of 40 % of them."""
    return rdm.get_samples(ref_ids=[PRAIRIE, CROPWATCH], progress=False)


@pytest.fixture(scope="module")
def public_samples(rdm):
    """Every public sample of the demo catalogue."""
    return rdm.get_samples(progress=False)
