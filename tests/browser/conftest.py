"""Browser fixtures: the local RDM server and Voilà on loopback, driven by headless Debian Chromium.

Recipe: ../shared/docs/browser-testing.md. Every non-loopback request (map tiles, CDN fonts) is aborted,
so the tests run offline and cannot hang on DNS.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "apps" / "rdm_explorer.ipynb"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Voila:
    """A Voilà process serving the dashboard notebook against one RDM server."""

    def __init__(self, rdm_url: str, workdir: Path, extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "voila.log"
        bin_dir = Path(sys.executable).parent
        env = {
            **os.environ,
            "WORLDCEREAL_RDM_URL": rdm_url,
            "WORLDCEREAL_LEGEND_URL": f"{rdm_url}/legend.csv",
            "XDG_CACHE_HOME": str(workdir / "cache"),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            # the kernel imports this checkout even where the package is not pip-installed
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        env.pop("WORLDCEREAL_RDM_TOKEN", None)
        env.pop("WORLDCEREAL_RDM_REFRESH_TOKEN", None)
        env.update(extra_env or {})
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voila", str(APP), "--no-browser", f"--port={self.port}",
             "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=str(workdir))
        deadline = time.monotonic() + 90
        while True:  # ready when a static file answers (GET / would start a kernel)
            if self.proc.poll() is not None:
                raise RuntimeError(f"voila exited rc={self.proc.returncode}; see {self.log_path}")
            try:
                urllib.request.urlopen(self.url + "/voila/static/voila.js", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"voila not ready in 90 s; see {self.log_path}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()  # SIGTERM: voila shuts its kernels down cleanly
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture(scope="session")
def voila_url(rdm_url, tmp_path_factory):
    """Voilà serving ``apps/rdm_explorer.ipynb`` against the demo catalogue's local RDM server."""
    voila = Voila(rdm_url, tmp_path_factory.mktemp("voila"))
    yield voila.url
    voila.stop()


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
    voila = Voila(big_rdm_url, tmp_path_factory.mktemp("voila-big"))
    yield voila.url
    voila.stop()


@pytest.fixture(scope="module")
def slow_voila_url(demo_catalog, tmp_path_factory):
    """Voilà against a local RDM server that delays every request by 0.5 s (for cancelling)."""
    from worldcereal_explorer.server import serve_in_thread

    with serve_in_thread(demo_catalog, latency_s=0.5) as server:
        voila = Voila(server.url, tmp_path_factory.mktemp("voila-slow"))
        yield voila.url
        voila.stop()


@pytest.fixture(scope="module")
def private_stack(demo_catalog, tmp_path_factory):
    """A local identity provider, an RDM server that checks its tokens, and Voilà configured for both."""
    from worldcereal_explorer.server import serve_in_thread
    from worldcereal_explorer.server.idp import serve_idp_in_thread
    from worldcereal_explorer.server.tokens import JwtTokenValidator

    with serve_idp_in_thread(poll_interval_s=0.2) as idp:
        validator = JwtTokenValidator(idp.issuer, idp.client_id)
        with serve_in_thread(demo_catalog, token_validator=validator) as server:
            voila = Voila(server.url, tmp_path_factory.mktemp("voila-private"),
                          {"WORLDCEREAL_OIDC_ISSUER": idp.issuer, "WORLDCEREAL_OIDC_CLIENT_ID": idp.client_id})
            yield idp, server.url, voila.url
            voila.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (set $CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    from playwright.sync_api import expect

    # Assertions wait for the page (kernel, websocket, rendering) on 2 shared cores: be patient.
    expect.set_options(timeout=60_000)
    """A fresh browser profile per test; offline (non-loopback requests aborted); page errors collected."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1700}, accept_downloads=True)
    ctx.route(lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:")),
              lambda route: route.abort())
    pg = ctx.new_page()
    pg.set_default_timeout(120_000)
    pg.page_errors = []
    pg.on("pageerror", lambda exc: pg.page_errors.append(str(exc)))
    yield pg
    pg.close(run_before_unload=True)
    ctx.close()
