"""Issue 27.8: when the dashboard's kernel is gone the page says so, with a Reload button, within 5 s of the
first dead click (real Voilà, real Chromium; the kernel is shut down through Voilà's own REST API)."""

from __future__ import annotations

import time

import pytest

from tests.voila_support import KERNEL_ID_JS, open_dashboard, wait_until_kernel_gone
from worldcereal_explorer.widgets.kernel_watch import GONE_TEXT

pytestmark = pytest.mark.browser

_DELETE_KERNEL_JS = """async (id) => {
  const config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
  const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1];
  const response = await fetch(new URL((config.baseUrl || '/') + 'api/kernels/' + id, location.href), {
    method: 'DELETE', headers: xsrf ? {'X-XSRFToken': decodeURIComponent(xsrf)} : {}});
  return response.status;
}"""


def test_a_dead_kernel_is_said_within_5_s_of_a_click_and_reload_brings_the_page_back(page, voila_url):
    from playwright.sync_api import expect

    open_dashboard(page, voila_url)
    banner = page.locator(".wce-kernel-lost")
    fetch = page.locator(".wce-fetch-samples")
    # A live kernel answers the watch's ping: no message.
    page.locator(".wce-status").click()
    page.wait_for_selector(".wce-kernel-watch[data-answered='1']", state="attached")
    expect(banner).to_have_count(0)

    kernel_id = page.evaluate(KERNEL_ID_JS)
    # Shut the kernel down as Jupyter's own front ends do: DELETE with the page's XSRF token.
    status = page.evaluate(_DELETE_KERNEL_JS, kernel_id)
    assert status == 204, f"DELETE /api/kernels/{kernel_id} answered {status}"
    assert wait_until_kernel_gone(voila_url, kernel_id)

    clicked = time.monotonic()
    fetch.click()
    page.wait_for_selector(".wce-kernel-lost", state="visible", timeout=5_000)
    elapsed = time.monotonic() - clicked
    assert elapsed < 5.0, f"the message came {elapsed:.1f} s after the click"
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_contain_text(GONE_TEXT)
    reload = page.get_by_role("button", name="Reload page")
    expect(reload).to_be_focused()
    print(f"dead kernel: message {elapsed:.2f} s after the click")

    reload.click()
    open_dashboard(page, voila_url)  # a new kernel, a working page
    expect(banner).to_have_count(0)
    assert page.evaluate(KERNEL_ID_JS) != kernel_id


def test_a_fetch_with_the_rdm_server_stopped_is_red_and_keeps_the_samples(page, demo_catalog, tmp_path):
    """Issue 27.1 on the page: the RDM server stops after a fetch; the next fetch says so in red, no tick,
    and the samples fetched before stay (the status line says how many)."""
    from playwright.sync_api import expect

    from tests.browser.conftest import APP
    from tests.voila_support import dashboard_env, serve_voila
    from worldcereal_explorer.server import serve_in_thread

    (tmp_path / "voila").mkdir()
    server = serve_in_thread(demo_catalog)
    server.__enter__()
    try:
        with serve_voila(APP, dashboard_env(server.url), tmp_path / "voila") as url:
            open_dashboard(page, url, found=True)
            status = page.locator(".wce-status")
            page.locator(".wce-fetch-samples").click()
            expect(status.locator("[data-kind='idle']")).to_contain_text("samples match your filters")
            fetched = status.inner_text().split(" samples match")[0].split()[-1]
            server.__exit__(None, None, None)  # the RDM server stops mid-session
            page.locator(".wce-fetch-samples").click()
            error = status.locator("[data-kind='error']")
            expect(error).to_contain_text("fetch failed: none of the")
            expect(error).to_contain_text(f"kept the {fetched} samples fetched before")
            assert "\u2713" not in status.inner_text()
            # leave the page before this Voila stops (stopping, it shuts its kernels down); the fixture
            # then has no kernel of a stopped server to wait for
            page.goto("about:blank")
    finally:
        server.__exit__(None, None, None)
