"""Voilà + headless Chromium helpers shared by the browser tests (recipe: ../shared/docs/browser-testing.md).

Every non-loopback request (map tiles, CDN fonts) is aborted, so the tests run offline and cannot hang on DNS.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def serve_voila(notebook: Path, env: dict[str, str], workdir: Path) -> Iterator[str]:
    """Serve one notebook with Voila on 127.0.0.1 (kernel env: ``os.environ`` + ``env``); yield its URL."""
    port = free_port()
    log_path = workdir / "voila.log"
    full_env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # kernel = this Python
        "XDG_CACHE_HOME": str(workdir / "cache"),
        "XDG_CONFIG_HOME": str(workdir / "config"),  # the token cache stays in the test's folder
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        **env,
    }
    for name in ("WORLDCEREAL_RDM_TOKEN", "WORLDCEREAL_RDM_REFRESH_TOKEN"):
        full_env.pop(name, None)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
             "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
             # the app's cell sends hundreds of widget messages: on a busy machine they take more than
             # the default 4 s to drain, and Voila then drops the cell's output (a blank page)
             "--VoilaExecutor.iopub_timeout=60"],
            stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=workdir,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:  # ready when a static file answers (GET / would start a kernel)
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited rc={proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(base + "/voila/static/voila.js", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"voila did not answer within 90 s; see {log_path}") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()  # SIGTERM: voila shuts its kernels down cleanly
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
    context.route(lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:")),
                  lambda route: route.abort())
    return context
