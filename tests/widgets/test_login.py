"""Login and logout through the state (state.auth, state.login/logout) and the widgets that show them,
against the local OIDC provider and an RDM server that validates its tokens."""

from __future__ import annotations

import json
import threading
import time

from worldcereal_explorer.demo import DEMO_USER_SUB
from worldcereal_explorer.rdm.auth import DeviceCodeAuth, StaticTokenProvider
from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.state import AuthSession, RdmQueryState
from worldcereal_explorer.widgets.login import LoginWidget
from worldcereal_explorer.widgets.privacy import PrivacyToggle


def _own_private_collection(catalog) -> str:
    for folder in sorted(p for p in catalog.iterdir() if (p / "access.json").is_file()):
        access = json.loads((folder / "access.json").read_text())
        if access.get("owner") == DEMO_USER_SUB:
            return json.loads((folder / "collection.json").read_text())["collectionId"]
    raise AssertionError("the demo catalogue has no private collection of the demo user")


def _eventually(predicate, timeout: float = 30.0) -> bool:
    """Poll ``predicate`` (for values a login thread sets, which no condition announces)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _ids(state) -> set[str]:
    return {c.id for c in state.collections}


def test_login_and_logout_through_the_state(idp, secured_rdm, demo_catalog, tmp_path):
    private_id = _own_private_collection(demo_catalog)
    auth = DeviceCodeAuth(idp.issuer, cache_path=tmp_path / "tokens.json", timeout=(5.0, 10.0))
    client = RdmClient(secured_rdm.url, retries=2, backoff_factor=0.01, token_provider=auth,
                       legend=f"{secured_rdm.url}/legend.csv")
    state = RdmQueryState(client=client, auto_search=False, include_private=True)
    try:
        privacy = PrivacyToggle(state)
        login = privacy.login_widget
        assert isinstance(login, LoginWidget) and login.session is state.auth and state.auth.provider is auth
        # Without a session the search stays public and says how to get the rest; no login starts.
        assert private_id not in {c.id for c in state.refresh()}
        assert "log in to include private" in state.message
        assert state.auth_status == "logged_out" and idp.pending_user_codes() == []

        assert state.login() is True
        assert state.login() is False  # one login at a time
        user_code = idp.wait_for_user_code(timeout_s=30)
        assert state.auth_status == "waiting"
        assert _eventually(lambda: user_code in login.code_html.value)  # the widget shows what the state's session holds
        idp.approve(user_code, DEMO_USER_SUB)
        assert state.auth.wait(30)
        assert state.auth_status == "logged_in" and state.auth_user == DEMO_USER_SUB
        assert f"<b class='wcx-username'>{DEMO_USER_SUB}</b>" in login.status_html.value
        # the state re-ran the search by itself, now with the session
        assert state.wait_for(lambda: private_id in _ids(state), timeout=30)
        assert "log in to include" not in state.message
        assert client.collection_memo.get(private_id) is not None

        login.logout_button.click()  # the widget only asks the state's session
        assert state.auth_status == "logged_out" and state.auth_user is None and not auth.is_logged_in
        assert client.collection_memo.get(private_id) is None  # forgotten with the session that could see it
        assert idp.stats.revocations == 1
        assert state.wait_for(lambda: private_id not in _ids(state) and not state.busy, timeout=30)
    finally:
        assert state.close()


def test_cancel_login_through_the_state(idp, secured_rdm, tmp_path):
    auth = DeviceCodeAuth(idp.issuer, cache_path=tmp_path / "tokens.json", timeout=(5.0, 10.0))
    state = RdmQueryState(client=RdmClient(secured_rdm.url, token_provider=auth), auto_search=False)
    before = set(threading.enumerate())
    try:
        state.login()
        idp.wait_for_user_code(timeout_s=30)
        assert state.auth.thread is not None
        state.cancel_login()
        assert state.auth.wait(30)
        assert state.auth_status == "cancelled" and "cancelled" in state.auth.message
        assert not auth.login_in_progress
        state.login()  # a login waiting for approval when the state closes ...
        idp.wait_for_user_code(timeout_s=30)
    finally:
        assert state.close(timeout=30)
    # ... is cancelled, and its thread is gone
    assert [t for t in threading.enumerate() if t not in before and t.name == "wce-device-login"] == []


def test_the_state_installs_a_login_provider_only_when_asked(rdm_url, monkeypatch):
    monkeypatch.delenv("WORLDCEREAL_RDM_TOKEN", raising=False)
    monkeypatch.delenv("WORLDCEREAL_RDM_REFRESH_TOKEN", raising=False)
    state = RdmQueryState(client=RdmClient(rdm_url), auto_search=False)
    try:
        assert state.client.token_provider is None  # nothing until a login is wanted
        session = state.auth
        assert isinstance(session, AuthSession) and state.client.token_provider is session.provider
        assert state.auth is session
    finally:
        assert state.close()


def test_a_fixed_token_needs_no_login(rdm_url):
    state = RdmQueryState(client=RdmClient(rdm_url, token_provider=StaticTokenProvider("fixed")),
                          auto_search=False, include_private=True)
    try:
        privacy = PrivacyToggle(state)
        assert state.auth_status == "token" and not state.auth.interactive
        assert state.login() is False
        assert "Using the configured access token" in privacy.login_widget.status_html.value
        assert privacy.login_widget.login_button.layout.display == "none"
    finally:
        assert state.close()
