"""Shared fixtures: real local servers on 127.0.0.1 (free ports), the demo catalogue, shared test data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.voila_process import free_port  # noqa: F401 (the tests import it from here)

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("WORLDCEREAL_SHARED_DIR", REPO_ROOT.parent / "shared"))
SHARED_DATA = SHARED_DIR / "data"
ARTIFACTS = REPO_ROOT / "test-artifacts"


#: Fixtures that start Voila or a browser page, or run a notebook kernel: tests using them get the
#: ``browser`` / ``notebook`` marker even where the file forgot it, so ``-m "not browser and not notebook"``
#: is a reliable fast loop.
_BROWSER_FIXTURES = ("voila_url", "big_voila_url", "slow_voila_url", "browser_page", "page", "browser")
_NOTEBOOK_FIXTURES = ("notebook_kernel", "kernel")


#: Folders whose tests wait out deadlines or move millions of rows: ``slow`` (left out of the quickest loop).
_SLOW_FOLDERS = ("faults", "scale")


#: Our own warnings that tests in a folder trigger without asserting them, each to be asserted there with
#: ``pytest.warns`` and then removed from here (issue 23: the suite runs with -W error). Folder -> filters.
_OWN_WARNINGS_NOT_YET_ASSERTED: dict[str, tuple[str, ...]] = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for folder, filters in _OWN_WARNINGS_NOT_YET_ASSERTED.items():
            if Path(str(item.fspath)).parent.name == folder:
                for spec in filters:
                    item.add_marker(pytest.mark.filterwarnings(spec))
        if Path(str(item.fspath)).parent.name in _SLOW_FOLDERS and "slow" not in item.keywords:
            item.add_marker(pytest.mark.slow)
        names = set(getattr(item, "fixturenames", ()))
        if names.intersection(_BROWSER_FIXTURES) and "browser" not in item.keywords:
            item.add_marker(pytest.mark.browser)
        if names.intersection(_NOTEBOOK_FIXTURES) and "notebook" not in item.keywords:
            item.add_marker(pytest.mark.notebook)
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(
        reason=f"needs the shared test data folder {SHARED_DATA} (present in CI; absent in this clone)"
    )
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests using it carry the ``shared_data`` marker."""
    return SHARED_DATA


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave screenshots and logs for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def demo_catalog(tmp_path_factory) -> Path:
    """The demo catalogue, generated once per test session."""
    from worldcereal_explorer.demo import make_demo_catalog

    return make_demo_catalog(tmp_path_factory.mktemp("demo-catalog") / "catalog")


@pytest.fixture(scope="session")
def rdm_server(demo_catalog):
    """The local RDM server on 127.0.0.1 serving the demo catalogue, for the whole session."""
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(demo_catalog) as server:
        yield server


@pytest.fixture(scope="session")
def rdm_url(rdm_server) -> str:
    return rdm_server.url


@pytest.fixture
def client(rdm_url):
    """An RdmClient talking to the local server over real HTTP."""
    from worldcereal_explorer.rdm.client import RdmClient

    with RdmClient(rdm_url, retries=2, backoff_factor=0.01) as rdm:
        yield rdm


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium for the whole session, shared by every browser test."""
    from playwright.sync_api import expect

    from tests.voila_support import launch_browser

    # An assertion waits for its condition up to this long (Playwright's 5 s default is too short for a
    # kernel answering on a busy 2-core machine); a passing condition returns at once.
    expect.set_options(timeout=30_000)

    with launch_browser() as chromium:
        yield chromium


@pytest.fixture
def browser_context(browser):
    """A fresh offline browser profile for one test."""
    from tests.voila_support import offline_context

    context = offline_context(browser, accept_downloads=True)
    yield context
    context.close()
