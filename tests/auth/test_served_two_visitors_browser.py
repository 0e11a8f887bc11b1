"""One Voila server, two visitors: nothing of A's login or private data ever reaches B.

Real parts only: the dashboard notebook in Voila (served mode, as ``worldcereal-explorer demo`` runs it),
two separate headless Chromium profiles (two people, no shared cookies), the local RDM server validating
the tokens of the local OIDC provider, and the provider's verification page where each person approves
their own code as their own user (A: the demo user, owner of the private collection; B: the partner user,
a consortium member who may see the restricted collection). Both kernels share one config folder, as the
kernels of one Voila server do.
"""

from __future__ import annotations

import re
import sys

import pytest

from tests.voila_support import (
    DASHBOARD_APP,
    KERNEL_ID_JS,
    kernel_alive,
    new_page,
    offline_context,
    serve_voila,
    wait_until_kernel_gone,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

JWT_PATTERN = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}")
#: Idle seconds after which this test's Voila culls a kernel no page is connected to. A closed page's
#: beacon shuts its kernel down at once; culling is the deployment's backstop when a browser drops the beacon
#: (`voila_setup` culls after 15 minutes; this test cannot wait that long).
CULL_IDLE_S = 20
CULL_DISCONNECTED = (f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_S}", "--MappingKernelManager.cull_interval=2")

#: How long a page may take to show what the kernel did (two kernels share two cores with the browser).
WAIT_MS = 60_000


def _open(context, url: str, *, rows: bool = True):
    """Open the dashboard in a new tab of ``context``; wait until it lists collections (``rows``) or at
    least shows its table."""
    page = new_page(context)
    page.goto(url, wait_until="domcontentloaded")
    page.locator(".wce-row-select" if rows else ".wce-results-grid").first.wait_for()
    return page, page.page_errors


def _ask_for_private_only(page) -> None:
    """Tick "private", untick "public" (the table then lists what needs a login only): the search needs a
    login, so the login widget shows its link and code."""
    page.locator(".wce-access-private input").check()
    _wait_for_login_prompt(page)
    page.locator(".wce-access-public input").uncheck()


def _wait_for_login_prompt(page) -> None:
    from playwright.sync_api import expect

    page.locator(".wcx-login-widget").wait_for()
    link = page.locator("a.wcx-login-link")
    if not link.is_visible():
        page.locator(".wcx-login").click()
    expect(link).to_be_visible(timeout=WAIT_MS)


def _approve_in_provider_page(context, page, idp, known_user: str) -> None:
    """Open the verification link in a tab of the same profile and approve the code as ``known_user``."""
    from playwright.sync_api import expect

    user_code = page.locator(".wcx-user-code").inner_text()
    assert user_code in idp.pending_user_codes()
    with context.expect_page() as new_tab:
        page.locator("a.wcx-login-link").click()
    provider_page = new_tab.value
    provider_page.wait_for_load_state("domcontentloaded")
    assert provider_page.locator("#user_code").input_value() == user_code
    provider_page.locator("#known_user").select_option(known_user)
    provider_page.locator("#approve").click()
    expect(provider_page.locator("#result")).to_contain_text("approved", timeout=WAIT_MS)
    provider_page.close()


def test_two_visitors_of_one_served_dashboard_share_nothing(private_dashboard, demo_access, tmp_path,
                                                             artifacts_dir, browser):
    from playwright.sync_api import expect

    idp, rdm, env = private_dashboard
    private_id, restricted_id = demo_access["private"], demo_access["restricted"]
    token_cache = tmp_path / "config" / "worldcereal-explorer" / "oidc-tokens.json"
    person_a = offline_context(browser, accept_downloads=True)
    person_b = offline_context(browser, accept_downloads=True)
    try:
        with serve_voila(DASHBOARD_APP, env, tmp_path, extra_args=CULL_DISCONNECTED) as url:
            # --- A logs in as the demo user and sees the private collection.
            page_a, errors_a = _open(person_a, url + "/")
            _ask_for_private_only(page_a)
            _approve_in_provider_page(person_a, page_a, idp, "demo-user")
            expect(page_a.locator(".wcx-username")).to_have_text("demo-user", timeout=WAIT_MS)
            expect(page_a.locator(".wcx-login-scope")).to_contain_text("stays in this page only", timeout=WAIT_MS)
            grid_a = page_a.locator(".wce-results-grid")
            expect(grid_a).to_contain_text(private_id, timeout=WAIT_MS)
            # Served mode: the login lives in A's kernel only; nothing went to the shared config folder.
            assert not token_cache.exists(), f"served mode wrote the token cache {token_cache}"
            assert not list((tmp_path / "config").rglob("*token*")), list((tmp_path / "config").rglob("*"))

            # --- B opens the same address in another profile: not logged in, nothing private.
            page_b, errors_b = _open(person_b, url + "/")
            expect(page_b.locator(".wce-status [data-status='idle']")).to_be_visible(timeout=WAIT_MS)
            assert page_b.locator(".wcx-username").count() == 0
            grid_b = page_b.locator(".wce-results-grid")
            expect(grid_b).not_to_contain_text(private_id, timeout=WAIT_MS)
            for text in ("demo-user", "Demo User", "Logged in"):
                assert text not in page_b.locator("body").inner_text(), f"B's page shows {text!r}"

            # B asks for private data: a login prompt of B's own, never A's session.
            _ask_for_private_only(page_b)
            assert page_b.locator(".wcx-username").count() == 0
            expect(grid_b).not_to_contain_text(private_id, timeout=WAIT_MS)

            # --- A link with access=private, opened by a third stranger: a login prompt, no private data.
            person_c = offline_context(browser)
            try:
                page_c, errors_c = _open(person_c, url + "/?access=private", rows=False)
                _wait_for_login_prompt(page_c)
                assert page_c.locator(".wcx-username").count() == 0
                expect(page_c.locator(".wce-results-grid")).not_to_contain_text(private_id, timeout=WAIT_MS)
                assert "demo-user" not in page_c.locator("body").inner_text()
                assert not errors_c, errors_c
            finally:
                person_c.close()

            # --- B logs in as the partner user: B's data (the restricted collection), not A's.
            _wait_for_login_prompt(page_b)
            _approve_in_provider_page(person_b, page_b, idp, "partner-user")
            expect(page_b.locator(".wcx-username")).to_have_text("partner-user", timeout=WAIT_MS)
            page_b.locator(".wce-access-restricted input").check()
            expect(grid_b).to_contain_text(restricted_id, timeout=WAIT_MS)
            expect(grid_b).not_to_contain_text(private_id, timeout=WAIT_MS)
            page_b.screenshot(path=str(artifacts_dir / "served_visitor_b.png"), full_page=True)

            # --- A logs out: A only. A's private collection goes from A's table; B stays logged in as B.
            page_a.locator(".wcx-logout").click()
            expect(page_a.locator(".wcx-username")).to_have_count(0, timeout=WAIT_MS)
            expect(grid_a).not_to_contain_text(private_id, timeout=WAIT_MS)
            expect(page_b.locator(".wcx-username")).to_have_text("partner-user", timeout=WAIT_MS)
            page_b.locator(".wce-search").click()
            expect(page_b.locator(".wce-status [data-status='idle']")).to_be_visible(timeout=WAIT_MS)
            expect(grid_b).to_contain_text(restricted_id, timeout=WAIT_MS)
            expect(grid_b).not_to_contain_text(private_id, timeout=WAIT_MS)
            assert not token_cache.exists()

            for page in (page_a, page_b):
                assert not JWT_PATTERN.search(page.content()), "something that looks like a JWT is in a page"
            assert idp.stats.device.tokens_issued == 2
            assert not errors_a and not errors_b, (errors_a, errors_b)

            # --- A closes the page: A's kernel, and the tokens in it, end.
            kernel_a = page_a.evaluate(KERNEL_ID_JS)
            assert kernel_alive(url, kernel_a)
            page_a.bring_to_front()  # the provider's tab had the focus last
            page_a.close(run_before_unload=True)
            gone = wait_until_kernel_gone(url, kernel_a, timeout_s=60 + CULL_IDLE_S)
            log = [line for line in (tmp_path / "voila.log").read_text().splitlines() if kernel_a in line]
            assert gone, "A's kernel outlived A's page; Voila's log of it:\n" + "\n".join(log)
            if any("Culling" in line for line in log):
                # the kernel still ended (the served deployment's backstop), but the page's beacon was lost
                print(f"warning: A's kernel was culled, not shut down by the page's beacon: {log}", file=sys.stderr)
    finally:
        person_a.close()
        person_b.close()
