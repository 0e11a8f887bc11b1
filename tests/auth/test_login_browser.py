"""Log in through the login widget in a real Voila page in headless Chromium.

The person's path, end to end: click "Log in", follow the link (it opens a new tab on the local OIDC
provider's verification page), click "Approve", and see "Logged in as demo-user" back in the page.
Then the page is searched for anything that looks like a token.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.voila_support import new_page, serve_voila

pytestmark = [pytest.mark.browser, pytest.mark.slow]

JWT_PATTERN = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}")

NOTEBOOK_SOURCE = """\
import os
from worldcereal_explorer.rdm.auth import DeviceCodeAuth
from worldcereal_explorer.widgets.login import LoginWidget

auth = DeviceCodeAuth(os.environ["WORLDCEREAL_OIDC_ISSUER"], use_cache=False)
login = LoginWidget(auth)
login
"""


@pytest.fixture
def voila_login_page(start_idp, tmp_path, browser_context):
    idp = start_idp(poll_interval_s=0.5)
    notebook = tmp_path / "login.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK_SOURCE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebook)
    with serve_voila(notebook, {"WORLDCEREAL_OIDC_ISSUER": idp.issuer}, tmp_path) as url:
        page = new_page(browser_context)
        page.goto(url + "/", wait_until="domcontentloaded")
        yield idp, browser_context, page


def test_login_in_voila_through_the_verification_page(voila_login_page, artifacts_dir):
    from playwright.sync_api import expect

    idp, context, page = voila_login_page
    page.locator(".wcx-login").click()
    link = page.locator("a.wcx-login-link")
    expect(link).to_be_visible()
    user_code = page.locator(".wcx-user-code").inner_text()
    assert link.get_attribute("target") == "_blank"
    assert link.get_attribute("href") == f"{idp.issuer}/device?user_code={user_code}"
    expect(page.locator(".wcx-login-cancel")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "login_widget_waiting.png"), full_page=True)

    with context.expect_page() as new_tab:
        link.click()
    provider_page = new_tab.value
    provider_page.wait_for_load_state("domcontentloaded")
    assert provider_page.locator("#user_code").input_value() == user_code
    provider_page.locator("#approve").click()
    expect(provider_page.locator("#result")).to_contain_text("approved")

    expect(page.locator(".wcx-username")).to_have_text("demo-user")
    expect(page.locator(".wcx-logout")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "login_widget_logged_in.png"), full_page=True)

    html = page.content()
    assert not JWT_PATTERN.search(html), "something that looks like a JWT is in the page"
    refresh_tokens = [session.refresh_token for session in idp.sessions()]
    assert refresh_tokens and not any(token in html for token in refresh_tokens)

    page.locator(".wcx-logout").click()
    expect(page.locator(".wcx-login")).to_be_visible()
    expect(page.locator(".wcx-login-status")).to_contain_text("Logged out")
    assert idp.stats.revocations == 1
