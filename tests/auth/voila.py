"""Voila + headless Chromium helpers for the auth browser tests (recipe: ../shared/docs/browser-testing.md)."""

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
             "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"],
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


@contextlib.contextmanager
def browser_context() -> Iterator[object]:
    """A fresh offline Chromium context (non-loopback requests aborted)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (set $CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.route(lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:")),
                          lambda route: route.abort())
            yield context
        finally:
            browser.close()
