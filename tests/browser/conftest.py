"""Browser fixtures: the local RDM server and Voilà on loopback, driven by headless Debian Chromium.

Recipe: ../shared/docs/browser-testing.md. Every non-loopback request (map tiles, CDN fonts) is aborted,
so the tests run offline and cannot hang on DNS.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest

from tests.voila_support import VOILA_LOGS, dashboard_env, dump_kernel_stacks, offline_context, serve_voila

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "apps" / "rdm_explorer.ipynb"


@pytest.fixture(scope="session")
def voila_url(rdm_url, tmp_path_factory):
    """Voilà serving ``apps/rdm_explorer.ipynb`` against the demo catalogue's local RDM server."""
    with serve_voila(APP, dashboard_env(rdm_url), tmp_path_factory.mktemp("voila")) as url:
        yield url


@pytest.fixture(scope="session")
def big_rdm_url(tmp_path_factory):
    """A local RDM server on a synthetic catalogue of 2 collections x 50,000 point samples."""
    from worldcereal_explorer.demo import make_synthetic_catalog
    from worldcereal_explorer.server import serve_in_thread

    catalog = make_synthetic_catalog(tmp_path_factory.mktemp("big") / "catalog", n_collections=2,
                                     n_samples=100_000, seed=7)
    with serve_in_thread(catalog) as server:
        yield server.url


@pytest.fixture(scope="session")
def big_voila_url(big_rdm_url, tmp_path_factory):
    with serve_voila(APP, dashboard_env(big_rdm_url), tmp_path_factory.mktemp("voila-big")) as url:
        yield url


@pytest.fixture(scope="module")
def slow_voila_url(demo_catalog, tmp_path_factory):
    """Voilà against a local RDM server that delays every request by 1 s (for cancelling: a fetch then takes
    several seconds, long enough to look at its progress before pressing Cancel)."""
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(demo_catalog, latency_s=1.0) as server, serve_voila(
        APP, dashboard_env(server.url), tmp_path_factory.mktemp("voila-slow")
    ) as url:
        yield url


@pytest.fixture(scope="module")
def private_stack(demo_catalog, tmp_path_factory):
    """A local identity provider, an RDM server that checks its tokens, and Voilà configured for both."""
    from worldcereal_explorer.server import serve_in_thread
    from worldcereal_explorer.server.idp import serve_idp_in_thread
    from worldcereal_explorer.server.tokens import JwtTokenValidator

    with serve_idp_in_thread(poll_interval_s=0.2) as idp:
        validator = JwtTokenValidator(idp.issuer, idp.client_id)
        with serve_in_thread(demo_catalog, token_validator=validator) as server:
            env = dashboard_env(server.url, WORLDCEREAL_OIDC_ISSUER=idp.issuer, WORLDCEREAL_OIDC_CLIENT_ID=idp.client_id)
            with serve_voila(APP, env, tmp_path_factory.mktemp("voila-private")) as url:
                yield idp, server.url, url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Note on the test item whether its body failed (the ``page`` fixture then prints what it saw)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.body_failed = True


@pytest.fixture
def page(browser, request):
    """A fresh offline browser profile per test, its page errors collected. When the test fails, the
    browser's console and the tails of the Voila logs (the kernels' stderr included) are printed with it."""
    from playwright.sync_api import expect

    # Assertions wait for the page (kernel, websocket, rendering) on 2 shared cores: be patient.
    expect.set_options(timeout=60_000)
    ctx = offline_context(browser, viewport={"width": 1400, "height": 1700}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(120_000)
    pg.page_errors = []
    pg.on("pageerror", lambda exc: pg.page_errors.append(str(exc)))
    console: list[str] = []
    pg.on("console", lambda message: console.append(f"{message.type}: {message.text[:500]}"))
    logs_before = {path: _size(path) for path in VOILA_LOGS}
    yield pg
    if getattr(request.node, "body_failed", False):
        dump_kernel_stacks()
        console = [line for line in console if "net::ERR_FAILED" not in line]  # the blocked map tiles
        print("--- browser console (last 60 lines) ---", *console[-60:], sep="\n", file=sys.stderr)
        print("--- page errors ---", *pg.page_errors, sep="\n", file=sys.stderr)
        for path in VOILA_LOGS:
            with contextlib.suppress(OSError):
                with open(path, errors="replace") as log:
                    log.seek(logs_before.get(path, 0))
                    lines = log.read().splitlines()
                print(f"--- {path} during the test (last 300 lines) ---", *lines[-300:], sep="\n", file=sys.stderr)
    pg.close(run_before_unload=True)
    ctx.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
