"""Fixtures of the share tests: Voilà serving the dashboard against the local RDM server, browser pages."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT
from tests.voila_support import dashboard_env, offline_context, serve_voila

APP = REPO_ROOT / "apps" / "rdm_explorer.ipynb"


@pytest.fixture(scope="module")
def share_voila_url(rdm_url, tmp_path_factory):
    """Voilà serving ``apps/rdm_explorer.ipynb`` against the demo catalogue's local RDM server."""
    workdir = tmp_path_factory.mktemp("voila-share")
    env = dashboard_env(rdm_url, WORLDCEREAL_CONFIG=str(workdir / "no-config.toml"))
    with serve_voila(APP, env, workdir) as url:
        yield url


@pytest.fixture
def page(browser):
    """A fresh offline browser profile (clipboard allowed) per test, its page errors collected."""
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    ctx = offline_context(browser, viewport={"width": 1400, "height": 1700}, accept_downloads=True)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=None)
    pg = ctx.new_page()
    pg.set_default_timeout(120_000)
    pg.page_errors = []
    pg.on("pageerror", lambda exc: pg.page_errors.append(str(exc)))
    yield pg
    pg.close(run_before_unload=True)
    ctx.close()
