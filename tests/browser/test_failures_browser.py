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
