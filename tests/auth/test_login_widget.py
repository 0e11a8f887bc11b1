"""The login widget driven like a user would (button clicks), against the local OIDC provider.

The widget never does HTTP itself; it runs the auth object's device flow on a thread. Every widget
value is searched for the tokens after a login.
"""

from __future__ import annotations

import re
import threading

import ipywidgets as widgets

from tests.auth.helpers import assert_no_secret, session_tokens, wait_for
from worldcereal_explorer.rdm.auth import DeviceCodeAuth
from worldcereal_explorer.widgets.login import LoginWidget


def _all_widget_states(widget: widgets.Widget) -> list[dict]:
    states, stack = [], [widget]
    while stack:
        current = stack.pop()
        states.append(current.get_state())
        stack.extend(child for child in getattr(current, "children", ()) if isinstance(child, widgets.Widget))
    return states


def _shown_user_code(login: LoginWidget) -> str:
    html = wait_for(lambda: login.code_html.value, what="the user code in the widget")
    return re.search(r"<code class='wcx-user-code'[^>]*>([A-Z-]+)</code>", html).group(1)


def _auth(idp, tmp_path) -> DeviceCodeAuth:
    return DeviceCodeAuth(idp.issuer, cache_path=tmp_path / "tokens.json", timeout=(5.0, 10.0))


def test_login_widget_full_flow_and_logout(idp, tmp_path, debug_logs):
    auth = _auth(idp, tmp_path)
    login = LoginWidget(auth)
    assert login.status == "logged_out" and login.username is None
    assert login.login_button.layout.display is None and login.logout_button.layout.display == "none"
    statuses = []
    login.observe(lambda change: statuses.append(change.new), names="status")

    login.login_button.click()
    user_code = _shown_user_code(login)
    assert user_code in idp.pending_user_codes()
    link = f"{idp.issuer}/device?user_code={user_code}"
    assert f'href="{link}" target="_blank"' in login.code_html.value
    assert login.status == "waiting" and login.cancel_button.layout.display is None

    idp.approve(user_code, "demo-user", name="Demo User")
    assert login.wait(timeout=30)
    assert login.status == "logged_in" and login.username == "demo-user"
    assert "Logged in as <b class='wcx-username'>demo-user</b>" in login.status_html.value
    assert login.logout_button.layout.display is None and login.login_button.layout.display == "none"
    assert statuses[0] == "waiting" and statuses[-1] == "logged_in"

    tokens = session_tokens(auth)
    secrets = [tokens.access_token, tokens.refresh_token, tokens.id_token]
    assert_no_secret(secrets, _all_widget_states(login), repr(login), debug_logs.text, where="widget values and logs")

    login.logout_button.click()
    assert login.status == "logged_out" and login.username is None
    assert not auth.is_logged_in and idp.stats.revocations == 1


def test_login_widget_cancel(idp, tmp_path):
    login = LoginWidget(_auth(idp, tmp_path))
    login.login()
    _shown_user_code(login)
    login.cancel_button.click()
    assert login.wait(timeout=30)
    assert login.status == "cancelled" and "cancelled" in login.status_html.value
    assert login.login_button.layout.display is None  # can try again


def test_login_widget_denied(idp, tmp_path):
    login = LoginWidget(_auth(idp, tmp_path))
    login.login()
    idp.deny(_shown_user_code(login))
    assert login.wait(timeout=30)
    assert login.status == "error" and "denied" in login.message


def test_login_widget_shows_logins_started_by_the_client(idp, tmp_path):
    # The client asks for private data -> the auth object starts the login; the widget shows the link
    # and code, then who is logged in.
    auth = _auth(idp, tmp_path)
    auth.display = lambda _authorization: None
    login = LoginWidget(auth)
    result = {}
    client_side = threading.Thread(
        target=lambda: result.update(token=auth.get_access_token(interactive=True)), daemon=True
    )
    client_side.start()
    user_code = _shown_user_code(login)
    assert login.status == "waiting" and user_code in idp.pending_user_codes()
    idp.approve(user_code)
    client_side.join(30)
    assert result["token"]
    assert login.status == "logged_in" and login.username == "demo-user"
    assert login.login() is None  # already logged in: nothing to do


def test_login_widget_cancels_a_login_started_by_the_client(idp, tmp_path):
    from worldcereal_explorer.rdm.auth import LoginCancelledError

    auth = _auth(idp, tmp_path)
    auth.display = lambda _authorization: None
    login = LoginWidget(auth)
    errors = []

    def client_side():
        try:
            auth.get_access_token(interactive=True)
        except LoginCancelledError as exc:
            errors.append(exc)

    thread = threading.Thread(target=client_side, daemon=True)
    thread.start()
    _shown_user_code(login)
    login.cancel_button.click()
    thread.join(30)
    assert errors and login.status == "cancelled"
    assert not auth.login_in_progress


def test_login_widget_shows_cached_session(idp, tmp_path):
    auth = _auth(idp, tmp_path)
    approver = threading.Thread(target=lambda: idp.approve(idp.wait_for_user_code(30)), daemon=True)
    approver.start()
    auth.login(display=lambda _authorization: None)
    approver.join(30)
    fresh = LoginWidget(_auth(idp, tmp_path))  # a new kernel: the cache holds the session
    assert fresh.status == "logged_in" and fresh.username == "demo-user"
    assert fresh.login() is None  # nothing to do
