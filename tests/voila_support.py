"""Voilà + headless Chromium helpers shared by the browser tests (recipe: ../shared/docs/browser-testing.md).

Every non-loopback request (map tiles, CDN fonts) is aborted, so the tests run offline and cannot hang on DNS.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.voila_process import CHROMIUM, CHROMIUM_ARGS, block_non_local_requests, voila_process
from tests.conftest import REPO_ROOT

#: The dashboard notebook Voila serves.
DASHBOARD_APP = REPO_ROOT / "apps" / "rdm_explorer.ipynb"

#: The logs of the Voila servers started in this session (the kernels' stderr goes there too), and the
#: servers' process ids: a failing browser test asks their kernels for their stacks and prints the logs.
VOILA_LOGS: list[Path] = []
VOILA_PIDS: list[int] = []
#: On the servers' and kernels' PYTHONPATH: SIGUSR1 prints every thread's stack (faulthandler).
DIAGNOSTICS = Path(__file__).resolve().parent / "kernel_diagnostics"


def dump_kernel_stacks(timeout_s: float = 5.0) -> None:
    """Ask every process under the Voila servers (their kernels) for its threads' stacks, which go to the
    Voila logs; return once the logs have grown (or after ``timeout_s``)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) in VOILA_PIDS:  # the parent pid
                children.append(int(stat.parent.name))
    sizes = {path: path.stat().st_size for path in VOILA_LOGS if path.exists()}
    for pid in children:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout_s
    while children and time.monotonic() < deadline:
        if any(path.exists() and path.stat().st_size > size for path, size in sizes.items()):
            time.sleep(0.5)  # the rest of the dump (every thread) follows within moments
            return
        time.sleep(0.05)


@contextlib.contextmanager
def serve_voila(notebook: Path, env: dict[str, str], workdir: Path, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """Serve one notebook with Voila on 127.0.0.1 (kernel env: ``os.environ`` + ``env``; more Voila options
    in ``extra_args``); yield its URL."""
    log_path = workdir / "voila.log"
    VOILA_LOGS.append(log_path)
    full_env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # kernel = this Python
        "XDG_CACHE_HOME": str(workdir / "cache"),
        "XDG_CONFIG_HOME": str(workdir / "config"),  # the token cache stays in the test's folder
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), str(DIAGNOSTICS), os.environ.get("PYTHONPATH")])),
        **env,
    }
    for name in ("WORLDCEREAL_RDM_TOKEN", "WORLDCEREAL_RDM_REFRESH_TOKEN"):
        full_env.pop(name, None)
    # Voila with the dashboard's settings, as `worldcereal-explorer demo` runs it
    command = ["worldcereal_explorer.voila_setup", str(notebook), *extra_args]
    with voila_process(command, env=full_env, cwd=workdir, log_path=log_path) as (base, proc):
        VOILA_PIDS.append(proc.pid)
        yield base


#: The kernel id Voila wrote into the page it served.
KERNEL_ID_JS = "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"


def kernel_alive(base_url: str, kernel_id: str) -> bool:
    """Whether the Voila server at ``base_url`` still runs kernel ``kernel_id`` (its REST API says so; a
    server that has stopped runs no kernel)."""
    try:
        urllib.request.urlopen(f"{base_url}/api/kernels/{kernel_id}", timeout=10).close()
    except urllib.error.HTTPError as error:
        # the error holds the response's socket; left to the garbage collector it is a ResourceWarning in
        # whatever code runs then (under -W error, a failure of some other test)
        error.close()
        if error.code == 404:
            return False
        raise
    except urllib.error.URLError as error:
        if isinstance(error.reason, ConnectionRefusedError):
            return False
        raise
    return True


def wait_until_kernel_gone(base_url: str, kernel_id: str, timeout_s: float = 30.0) -> bool:
    """Poll until the server no longer runs ``kernel_id``; return whether it went within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while kernel_alive(base_url, kernel_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


#: How long a closed page's unload beacon gets to shut its kernel down before the test sends that request itself.
BEACON_WAIT_S = 5.0


def close_page_and_its_kernel(pg) -> None:
    """Close the page as a user closes a tab, then wait until Voila has shut its kernel down: closing the
    browser profile at once would abort the page's shutdown beacon, and every test would leave a kernel
    (with a whole dashboard in it) running until the session ends.

    Headless Chromium loses the beacon now and then (3 to 6 of the 16 closes of test_dashboard_issue10.py: the
    kernel stayed until a 30 s wait ran out; a beacon that arrives ends the kernel within 2 s). Then the test sends the beacon's own
    request, ``POST /voila/api/shutdown/<kernel>`` with the page's ``_xsrf`` cookie; the deployment's
    backstop for a lost beacon is the cull of disconnected kernels (``voila_setup``), tested on its own.
    """
    kernel_id, base = None, "/".join(pg.url.split("/")[:3])
    xsrf = ""
    if pg.url.startswith("http://127.0.0.1"):
        with contextlib.suppress(Exception):  # a page that never loaded Voila has no kernel
            kernel_id = pg.evaluate(KERNEL_ID_JS)
            xsrf = next((c["value"] for c in pg.context.cookies(base) if c["name"] == "_xsrf"), "")
    pg.close(run_before_unload=True)
    if not kernel_id or wait_until_kernel_gone(base, kernel_id, timeout_s=BEACON_WAIT_S):
        return
    request = urllib.request.Request(f"{base}/voila/api/shutdown/{kernel_id}", method="POST",
                                     data=urllib.parse.urlencode({"_xsrf": xsrf}).encode(),
                                     headers={"Cookie": f"_xsrf={xsrf}"})
    with contextlib.suppress(urllib.error.URLError):
        urllib.request.urlopen(request, timeout=30).close()
    if not wait_until_kernel_gone(base, kernel_id, timeout_s=30):
        print(f"warning: Voila still runs kernel {kernel_id} after its page closed and a shutdown request",
              file=sys.stderr)


def dashboard_env(rdm_url: str, **extra: str) -> dict[str, str]:
    """Kernel environment pointing the dashboard (API and legend) at a local RDM server."""
    return {"WORLDCEREAL_RDM_URL": rdm_url, "WORLDCEREAL_LEGEND_URL": f"{rdm_url}/legend.csv", **extra}


@contextlib.contextmanager
def launch_browser() -> Iterator[object]:
    """Headless Debian Chromium through Playwright (one per test session: Playwright's sync API allows one)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (set $CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def offline_context(browser, **options):
    """A fresh browser profile whose non-loopback requests (tiles, CDN fonts) are aborted at once."""
    context = browser.new_context(**{"viewport": {"width": 1400, "height": 1000}, **options})
    block_non_local_requests(context)
    return context


#: How long a page waits for an element or a navigation (kernels answer slowly on a busy 2-core machine).
PAGE_TIMEOUT_MS = 120_000


def new_page(context):
    """A new tab of ``context`` with the tests' patient timeout; the errors its scripts raise are collected
    in ``page.page_errors``."""
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.page_errors = []
    page.on("pageerror", lambda exc: page.page_errors.append(str(exc)))
    return page


def open_dashboard(page, base_url: str, *, query: str = "", parts: tuple[str, ...] = (".leaflet-container", ".bqplot"),
                   found: bool = False, legend: bool = False) -> None:
    """Load the dashboard Voila serves at ``base_url`` (with ``?query`` when given) and wait until it is
    usable: its ``parts`` are on the page and its first search has ended (the status line is idle).

    Parameters
    ----------
    found
        Also wait until the status line says the search found collections.
    legend
        Also wait until the crop tree shows the legend's rows.
    """
    from playwright.sync_api import expect

    page.goto(f"{base_url}/" + (f"?{query}" if query else ""), wait_until="domcontentloaded")
    for selector in (".wce-explorer", *parts):
        page.wait_for_selector(selector)
    idle = page.locator(".wce-status [data-status='idle']")
    if found:
        expect(idle).to_contain_text("found")
    else:
        expect(idle).to_be_visible()
    if legend:
        expect(page.locator(".wce-crop-tree .wce-crop-row").first).to_be_visible()
