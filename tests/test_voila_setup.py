"""The dashboard's Voila server: a page's kernel ends when the page closes, and kernels no page holds are culled.

Voila's page asks the server to shut its kernel down as it unloads (a beacon carrying the ``_xsrf``
cookie); Voila 0.5 never sets that cookie, so the server refused the beacon and every page view left a kernel
running. These tests play the beacon and the culling against a real Voila process (the browser side is in
``tests/browser/test_dashboard.py``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.conftest import REPO_ROOT
from tests.voila_support import (
    dashboard_env,
    dump_kernel_stacks,
    kernel_alive,
    serve_voila,
    wait_until_kernel_gone,
)

pytestmark = pytest.mark.notebook

APP = REPO_ROOT / "apps" / "rdm_explorer.ipynb"


def _open_page(opener, base: str) -> str:
    """GET the dashboard page as a browser would (this starts its kernel); return the kernel id."""
    with opener.open(f"{base}/", timeout=300) as response:
        html = response.read().decode()
    return re.search(r'"kernelId": "([0-9a-f-]+)"', html).group(1)


def test_the_unload_beacon_of_a_page_shuts_its_kernel_down(rdm_url, tmp_path):
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with serve_voila(APP, dashboard_env(rdm_url), tmp_path) as base:
        kernel_id = _open_page(opener, base)
        assert kernel_alive(base, kernel_id)
        xsrf = {cookie.name: cookie.value for cookie in jar}.get("_xsrf")
        assert xsrf, f"the page set no _xsrf cookie (cookies: {sorted(cookie.name for cookie in jar)})"
        # what the page's beforeunload handler sends: a form with the cookie's value, and the cookie
        beacon = urllib.request.Request(f"{base}/voila/api/shutdown/{kernel_id}", method="POST",
                                        data=urllib.parse.urlencode({"_xsrf": xsrf}).encode())
        with opener.open(beacon, timeout=30) as response:
            assert response.status == 204
        assert wait_until_kernel_gone(base, kernel_id, timeout_s=30)

        # a beacon without the cookie's value is still refused (the XSRF check stays on)
        other = _open_page(opener, base)
        forged = urllib.request.Request(f"{base}/voila/api/shutdown/{other}", method="POST", data=b"")
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(forged, timeout=30)
        refused.value.close()  # it holds the response's socket
        assert refused.value.code == 403 and kernel_alive(base, other)


async def _connect_to_kernel(base: str, kernel_id: str, on_message):
    """Open the kernel's websocket, as a page's widget manager does (the server then counts it connected);
    every message goes to ``on_message`` as it comes (``None`` once the connection has closed), so nothing
    waits on a reader, as a page reads all its kernel sends."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = base.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
    # tornado's 20 s default ran out on a loaded machine while Voila was still starting the kernels
    return await websocket_connect(HTTPRequest(url, connect_timeout=120, request_timeout=120),
                                   on_message_callback=on_message)


#: Idle seconds before the test server culls a kernel with no connection (20 s: at 10 s a loaded CI machine
#: once timed out serving the second page, whose kernel may go idle while Voila renders it). Long enough that the held page's
#: websocket is open before its kernel could be culled on a loaded machine (2 s was not: the first page's
#: kernel went while the second page was still being served, and the connection got a 404 or 500).
TEST_CULL_IDLE_S = 20


def test_kernels_no_page_holds_are_culled_and_open_pages_keep_theirs(rdm_url, tmp_path):
    opener = urllib.request.build_opener()
    cull = (f"--MappingKernelManager.cull_idle_timeout={TEST_CULL_IDLE_S}", "--MappingKernelManager.cull_interval=1")
    with serve_voila(APP, dashboard_env(rdm_url), tmp_path, extra_args=cull) as base:

        async def scenario() -> tuple[bool, bool]:
            closed = asyncio.Event()
            held = await asyncio.to_thread(_open_page, opener, base)
            # held before the other page is even asked for
            connection = await _connect_to_kernel(base, held, lambda message: message is None and closed.set())
            try:
                left = await asyncio.to_thread(_open_page, opener, base)
                gone = await asyncio.to_thread(wait_until_kernel_gone, base, left, 60 + TEST_CULL_IDLE_S)
                return gone, await asyncio.to_thread(kernel_alive, base, held)
            finally:
                connection.close()
                # wait for the closing handshake, so the socket is closed before asyncio.run ends the loop
                # (else it is left to the garbage collector: a ResourceWarning in a later test)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(closed.wait(), 30)

        # a thread of its own: the browser tests' Playwright may already run an event loop in this one
        pool = concurrent.futures.ThreadPoolExecutor(1)
        try:
            left_culled, held_kept = pool.submit(asyncio.run, scenario()).result(timeout=300)
        except concurrent.futures.TimeoutError:
            dump_kernel_stacks()  # into the Voila log: where the kernels were when the page never came
            log = (tmp_path / "voila.log").read_text(errors="replace")
            pytest.fail(f"the scenario took over 300 s; the Voila log ends:\n{log[-12_000:]}")
        finally:
            pool.shutdown(wait=False)  # a hung scenario ends with the Voila server it waits on
        assert left_culled, "the kernel no page held was not culled"
        assert held_kept, "the kernel an open page held was culled"


def test_binder_config_and_the_demo_command_give_voila_the_same_settings(tmp_path):
    """binder/jupyter-config (read by the Jupyter server Binder starts, Voila inside it) and the
    `worldcereal-explorer demo` launcher both apply ``voila_setup.configure``."""
    check = ("from jupyter_server.serverapp import ServerApp; from voila.configuration import VoilaConfiguration; "
             "from jupyter_server.services.kernels.kernelmanager import MappingKernelManager as M; "
             "app = ServerApp(); app.load_config_file(); v = VoilaConfiguration(config=app.config); m = M(config=app.config); "
             "print(getattr(v.prelaunch_hook, '__name__', None), m.cull_idle_timeout, m.cull_connected)")
    env = {"HOME": str(tmp_path / "home"), "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter"),
           "JUPYTER_CONFIG_PATH": str(REPO_ROOT / "binder" / "jupyter-config"), "PYTHONPATH": str(REPO_ROOT),
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["give_the_page_its_xsrf_cookie", "900", "False"]
