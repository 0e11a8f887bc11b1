"""Log in from the dashboard's privacy toggle and see the demo user's private collection appear.

Real parts only: the dashboard notebook (``apps/rdm_explorer.ipynb``) in Voila, headless Chromium, the
local RDM server validating JWTs of the local OIDC provider, and the provider's browser verification
page where the code is approved. The kernel's token cache goes to the test's folder.
"""

from __future__ import annotations

import re

import pytest

from tests.voila_support import DASHBOARD_APP, new_page, serve_voila

pytestmark = [pytest.mark.browser, pytest.mark.slow]

JWT_PATTERN = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}")


def test_login_from_privacy_toggle_shows_private_collection(private_dashboard, demo_access, tmp_path,
                                                            artifacts_dir, browser_context):
    from playwright.sync_api import expect

    idp, rdm, env = private_dashboard
    private_id = demo_access["private"]
    with serve_voila(DASHBOARD_APP, env, tmp_path) as url:
        page = new_page(browser_context)
        page_errors = page.page_errors
        page.goto(url + "/", wait_until="domcontentloaded")
        grid = page.locator(".wce-results-grid")
        expect(page.locator(".wce-row-select").first).to_be_visible()
        expect(grid).not_to_contain_text(private_id)

        # Ask for private data: the login widget appears (the search may already have started the login).
        page.locator(".wce-access-private input").check()
        page.locator(".wcx-login-widget").wait_for()
        link = page.locator("a.wcx-login-link")
        if not link.is_visible():
            page.locator(".wcx-login").click()
        expect(link).to_be_visible()
        user_code = page.locator(".wcx-user-code").inner_text()
        assert user_code in idp.pending_user_codes()
        page.screenshot(path=str(artifacts_dir / "dashboard_login_code.png"), full_page=True)

        with browser_context.expect_page() as new_tab:
            link.click()
        provider_page = new_tab.value
        provider_page.wait_for_load_state("domcontentloaded")
        assert provider_page.locator("#user_code").input_value() == user_code
        assert provider_page.locator("#sub").input_value() == demo_access["private_owner"]
        provider_page.locator("#approve").click()
        expect(provider_page.locator("#result")).to_contain_text("approved")
        provider_page.close()

        expect(page.locator(".wcx-username")).to_have_text(demo_access["private_owner"])
        # Only private collections now: the demo user's one must be listed.
        page.locator(".wce-access-public input").uncheck()
        expect(grid).to_contain_text(private_id)
        expect(grid).not_to_contain_text(demo_access["restricted"])  # not a consortium member
        page.screenshot(path=str(artifacts_dir / "dashboard_login_private.png"), full_page=True)

        html = page.content()
        assert not JWT_PATTERN.search(html), "something that looks like a JWT is in the page"
        assert not any(token in html for token in [session.refresh_token for session in idp.sessions()])
        assert idp.stats.device.tokens_issued == 1
        assert not page_errors, page_errors
