"""Browser fixtures: the local RDM server and Voilà on loopback, driven by headless Debian Chromium.

Recipe: ../shared/docs/browser-testing.md. Every non-loopback request (map tiles, CDN fonts) is aborted,
so the tests run offline and cannot hang on DNS.
"""

from __future__ import annotations

import collections
import contextlib
import json
import sys
import time
from pathlib import Path

import pytest

from tests.voila_support import (
    VOILA_LOGS,
    close_page_and_its_kernel,
    dashboard_env,
    dump_kernel_stacks,
    offline_context,
    serve_voila,
)

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
    pg.console_lines = console  # "<type>: <text>", for tests that assert on what the page logged
    traffic = _Traffic(pg)
    logs_before = {path: _size(path) for path in VOILA_LOGS}
    yield pg
    if getattr(request.node, "body_failed", False):
        dump_kernel_stacks()
        console = [line for line in console if "net::ERR_FAILED" not in line]  # the blocked map tiles
        print("--- browser console (last 60 lines) ---", *console[-60:], sep="\n", file=sys.stderr)
        print("--- page errors ---", *pg.page_errors, sep="\n", file=sys.stderr)
        traffic.report()
        for path in VOILA_LOGS:
            with contextlib.suppress(OSError):
                with open(path, errors="replace") as log:
                    log.seek(logs_before.get(path, 0))
                    lines = log.read().splitlines()
                print(f"--- {path} during the test (last 300 lines) ---", *lines[-300:], sep="\n", file=sys.stderr)
    close_page_and_its_kernel(pg)
    ctx.close()


class _Traffic:
    """What the page asked of the Voila server: HTTP requests still unanswered, and the kernel websocket's
    messages (a page that never renders shows here whether it waits on a file, the kernel, or neither)."""

    def __init__(self, pg) -> None:
        self.start = time.monotonic()
        self.pending: dict[int, str] = {}
        self.frames: list[tuple[float, str, str]] = []
        pg.on("request", lambda req: self.pending.__setitem__(id(req), req.url))
        pg.on("requestfinished", lambda req: self.pending.pop(id(req), None))
        pg.on("requestfailed", lambda req: self.pending.pop(id(req), None))
        pg.on("websocket", self._watch)

    def _watch(self, ws) -> None:
        ws.on("framesent", lambda payload: self._frame("sent", payload))
        ws.on("framereceived", lambda payload: self._frame("received", payload))

    def _frame(self, direction: str, payload) -> None:
        self.frames.append((time.monotonic() - self.start, direction, _describe_frame(payload)))

    def report(self) -> None:
        local = [url for url in self.pending.values() if url.startswith("http://127.0.0.1")]
        print("--- requests to the Voila server still unanswered ---", *local, sep="\n", file=sys.stderr)
        kinds = collections.Counter((direction, what.split(" (")[0]) for _, direction, what in self.frames)
        print(f"--- kernel websocket: {len(self.frames)} frames; by kind ---",
              *(f"{count:6d} {direction} {what}" for (direction, what), count in kinds.most_common(25)),
              "--- the first 15 and the last 25 frames ---",
              *(f"{t:7.2f} s {direction} {what}" for t, direction, what in
                (self.frames if len(self.frames) <= 40 else self.frames[:15] + self.frames[-25:])),
              sep="\n", file=sys.stderr)


def _describe_frame(payload: str | bytes) -> str:
    """``channel msg_type [comm method or execution state] (size)`` of a kernel websocket message, sent as
    JSON or in Jupyter's binary v1 framing (a count, offsets, then channel, header, parent, metadata, content)."""
    try:
        if isinstance(payload, str):
            message = json.loads(payload)
            channel, header, content = message.get("channel"), message.get("header") or {}, message.get("content")
        else:
            count = int.from_bytes(payload[:8], "little")
            offsets = [int.from_bytes(payload[8 * (i + 1):8 * (i + 2)], "little") for i in range(count)]
            parts = [payload[offsets[i]:offsets[i + 1]] for i in range(count - 1)]
            channel, header = parts[0].decode(), json.loads(parts[1])
            content = json.loads(parts[4]) if len(parts) > 4 else {}
    except (ValueError, IndexError, UnicodeDecodeError):
        return f"? ({len(payload)} B)"
    content = content if isinstance(content, dict) else {}
    data = content.get("data") if isinstance(content.get("data"), dict) else {}
    detail = data.get("method") or content.get("execution_state") or ""
    if header.get("msg_type") in ("stream", "error"):  # what the kernel printed or raised outside a cell
        detail = repr((content.get("text") or content.get("evalue") or "")[:160])
    comm = f" [{content['comm_id'][:8]}]" if "comm_id" in content else ""
    return f"{channel} {header.get('msg_type')} {detail}".rstrip() + f" ({len(payload)} B){comm}"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
