"""The device login (RFC 8628 + PKCE) against the local OIDC provider, over real HTTP.

Covers the whole flow to a private collection, refresh before expiry and after a 401, slow_down,
denied / expired / cancelled logins, an unreachable provider, logout, the token cache and env tokens.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time

import pytest
import requests

from tests.auth.helpers import FAST_POLL_S, assert_no_secret, session_tokens, wait_for
from tests.conftest import free_port
from worldcereal_explorer.config import (
    DEFAULT_OIDC_CLIENT_ID,
    ENV_OIDC_ISSUER,
    ENV_RDM_REFRESH_TOKEN,
    ENV_RDM_TOKEN,
)
from worldcereal_explorer.errors import AuthenticationError, BadParameterError
from worldcereal_explorer.rdm.auth import (
    DeviceCodeAuth,
    IdentityProviderUnreachableError,
    LoginCancelledError,
    StaticTokenProvider,
    TokenCache,
    TokenProvider,
    token_provider_from_env,
)
from worldcereal_explorer.server.idp import serve_idp_in_thread


def _auth(idp, tmp_path, **kwargs) -> DeviceCodeAuth:
    kwargs.setdefault("cache_path", tmp_path / "cache" / "tokens.json")
    kwargs.setdefault("timeout", (5.0, 10.0))
    return DeviceCodeAuth(idp.issuer, **kwargs)


def _secrets_of(auth: DeviceCodeAuth) -> list[str]:
    tokens = session_tokens(auth)  # the test needs the real strings to search outputs for them
    return [tokens.access_token, tokens.refresh_token, tokens.id_token]


def test_device_flow_logs_in_and_reads_private_collection(
    idp, rdm_for, demo_access, approve_next, tmp_path, capsys, debug_logs
):
    rdm = rdm_for(idp)
    private_id = demo_access["private"]
    # Anonymous first: the private collection is hidden (404, the same as an unknown id) until a login.
    assert requests.get(f"{rdm.url}/collections/{private_id}", timeout=10).status_code == 404

    shown = []
    auth = _auth(idp, tmp_path, display=shown.append)
    assert isinstance(auth, TokenProvider)
    assert auth.get_access_token(interactive=False) is None  # no session, not interactive: anonymous

    approver = approve_next(idp, sub=demo_access["private_owner"], name="Demo User")
    token = auth.get_access_token(interactive=True)
    user_code = approver.join()

    assert shown and shown[0].user_code == user_code
    assert shown[0].link == f"{idp.issuer}/device?user_code={user_code}"
    assert idp.stats.device.authorizations == 1 and idp.stats.device.tokens_issued == 1
    assert auth.username == "demo-user" and auth.user_info["sub"] == "demo-user"

    response = requests.get(
        f"{rdm.url}/collections/{private_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["collectionId"] == private_id

    # Nothing the user or a log reader can see carries a token.
    captured = capsys.readouterr()
    assert "as demo-user" in debug_logs.text  # the login is logged (who, never what token)
    assert_no_secret(
        _secrets_of(auth), captured.out, captured.err, debug_logs.text, repr(auth), repr(session_tokens(auth)),
        repr(auth.cache), auth.user_info, shown, where="outputs of a login",
    )


def test_default_display_prints_link_and_code_only(idp, approve_next, tmp_path, capsys):
    auth = _auth(idp, tmp_path)
    approver = approve_next(idp)
    auth.login()
    user_code = approver.join()
    out = capsys.readouterr().out
    assert f"{idp.issuer}/device?user_code={user_code}" in out and f"code {user_code}" in out
    assert_no_secret(_secrets_of(auth), out, where="printed instructions")


def test_pkce_is_required_and_verified_by_the_provider(idp):
    # The provider refuses a device login without a code challenge, so the client's PKCE is exercised.
    response = requests.post(f"{idp.issuer}/device_authorization", data={"client_id": idp.client_id}, timeout=10)
    assert response.status_code == 400 and "PKCE" in response.json()["error_description"]
    start = requests.post(
        f"{idp.issuer}/device_authorization",
        data={"client_id": idp.client_id, "code_challenge": "A" * 43, "code_challenge_method": "S256"},
        timeout=10,
    ).json()
    idp.approve(start["user_code"])
    wrong = requests.post(
        f"{idp.issuer}/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": start["device_code"],
              "client_id": idp.client_id, "code_verifier": "not-the-verifier-" * 3},
        timeout=10,
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_refresh_before_expiry(start_idp, approve_next, validator_for, tmp_path):
    # Tokens live 20 s and the client refreshes 30 s before expiry: the next use must refresh.
    idp = start_idp(access_token_lifetime_s=20)
    auth = _auth(idp, tmp_path, refresh_margin_s=30)
    approver = approve_next(idp)
    auth.login()
    approver.join()
    first = session_tokens(auth).access_token
    assert idp.stats.refresh.grants == 0

    second = auth.get_access_token()
    assert idp.stats.refresh.grants == 1
    assert second != first
    assert validator_for(idp)(second).sub == "demo-user"


def test_no_refresh_while_token_is_fresh(start_idp, approve_next, tmp_path):
    idp = start_idp(access_token_lifetime_s=600)
    auth = _auth(idp, tmp_path, refresh_margin_s=30)
    approver = approve_next(idp)
    token = auth.get_access_token(interactive=True)
    approver.join()
    assert auth.get_access_token() == token
    assert idp.stats.refresh.grants == 0


def test_refresh_after_401_when_provider_rotates_keys(idp, rdm_for, demo_access, approve_next, tmp_path):
    rdm = rdm_for(idp, jwks_cache_ttl_s=0)  # the server notices withdrawn keys at once
    url = f"{rdm.url}/collections/{demo_access['private']}/items/codestats"
    auth = _auth(idp, tmp_path)
    approver = approve_next(idp, sub=demo_access["private_owner"])
    token = auth.get_access_token(interactive=True)
    approver.join()
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200

    idp.rotate_signing_key()  # the old key leaves the JWKS: the token still looks valid to the client
    assert auth.get_access_token() == token
    rejected = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert rejected.status_code == 401

    assert auth.handle_unauthorized() is True  # what the client does after a 401: one refresh
    assert idp.stats.refresh.grants == 1
    fresh = auth.get_access_token()
    assert fresh != token
    assert requests.get(url, headers={"Authorization": f"Bearer {fresh}"}, timeout=10).status_code == 200


def test_rdm_client_retries_once_after_401(idp, rdm_for, demo_access, approve_next, tmp_path):
    from worldcereal_explorer.rdm.client import RdmClient

    rdm = rdm_for(idp, jwks_cache_ttl_s=0)
    auth = _auth(idp, tmp_path)
    approver = approve_next(idp, sub=demo_access["private_owner"])
    auth.login()
    approver.join()
    idp.rotate_signing_key()
    with RdmClient(rdm.url, token_provider=auth, retries=0) as client:
        stats = client.get_code_stats(demo_access["private"])
    assert stats, "codestats of the private collection should not be empty"
    assert idp.stats.refresh.grants == 1


def test_handle_unauthorized_without_refresh_possible(idp, tmp_path):
    auth = _auth(idp, tmp_path)
    assert auth.handle_unauthorized() is False  # no session: nothing to retry with
    assert StaticTokenProvider("x.y.z").handle_unauthorized() is False


def test_slow_down_grows_the_interval_by_the_increment(start_idp, approve_next, tmp_path, monkeypatch):
    # The provider answers slow_down to the first poll and then enforces interval + increment: a client that
    # did not back off would get slow_down again (and the count would exceed 1). RFC 8628's 5 s increment is
    # shrunk on both sides so the test does not wait 5 s.
    increment = 0.2
    monkeypatch.setattr("worldcereal_explorer.server.idp_core.SLOW_DOWN_INCREMENT_S", increment)
    idp = start_idp(forced_slow_downs=1)
    auth = _auth(idp, tmp_path, slow_down_increment_s=increment)
    intervals = []
    started = time.monotonic()
    approver = approve_next(idp)
    auth.login(progress=lambda _left: intervals.append(auth.pending_authorization.interval_s))
    approver.join()
    assert idp.stats.device.slow_down_answers == 1
    assert idp.stats.device.tokens_issued == 1
    assert intervals[0] == pytest.approx(FAST_POLL_S)
    assert intervals[-1] - intervals[0] == pytest.approx(increment)  # grown once, by exactly the increment
    assert time.monotonic() - started < 5.0


def test_slow_down_increment_must_be_a_number_of_seconds(idp):
    with pytest.raises(BadParameterError, match="slow_down_increment_s"):
        DeviceCodeAuth(idp.issuer, use_cache=False, slow_down_increment_s=-1)
    assert DeviceCodeAuth(idp.issuer, use_cache=False).slow_down_increment_s == 5.0  # RFC 8628 by default


def test_denied_login_ends_with_clear_message(idp, approve_next, tmp_path):
    auth = _auth(idp, tmp_path)
    approver = approve_next(idp, action="deny")
    with pytest.raises(AuthenticationError, match="denied"):
        auth.login()
    approver.join()
    assert not auth.is_logged_in


def test_expired_device_code_ends_with_clear_message(idp, approve_next, tmp_path):
    auth = _auth(idp, tmp_path)
    approver = approve_next(idp, action="expire")
    with pytest.raises(AuthenticationError, match="expired"):
        auth.login()
    approver.join()
    assert not auth.is_logged_in


def test_device_code_lifetime_runs_out(start_idp, tmp_path):
    idp = start_idp(device_code_lifetime_s=0.3)  # nobody approves
    auth = _auth(idp, tmp_path)
    with pytest.raises(AuthenticationError, match="expired"):
        auth.login()


def test_cancelled_login(idp, tmp_path):
    cancel = threading.Event()
    auth = _auth(idp, tmp_path)
    with pytest.raises(LoginCancelledError, match="cancelled"):
        auth.login(display=lambda _authorization: cancel.set(), cancel_event=cancel)
    assert not auth.is_logged_in


def test_cancel_interrupts_a_long_poll_interval(start_idp, tmp_path):
    # The provider asks for 30 s between polls; cancelling must not wait for the interval to pass.
    idp = start_idp(poll_interval_s=30)
    auth = _auth(idp, tmp_path)
    threading.Timer(0.3, auth.cancel_login).start()
    started = time.monotonic()
    with pytest.raises(LoginCancelledError, match="cancelled"):
        auth.login(display=lambda _authorization: None)
    assert time.monotonic() - started < 3.0
    assert idp.stats.device.polls == 0 and not auth.login_in_progress


def test_unreachable_provider_times_out_with_clear_message(tmp_path):
    port = free_port()  # nothing listens there
    auth = DeviceCodeAuth(f"http://127.0.0.1:{port}", timeout=(1.0, 1.0), use_cache=False)
    with pytest.raises(IdentityProviderUnreachableError) as info:
        auth.login()
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "within 1 s" in message and "connection refused" in message
    assert "WORLDCEREAL_OIDC_ISSUER" in message


def test_bad_issuer_is_refused():
    with pytest.raises(BadParameterError, match="http://example.org"):
        DeviceCodeAuth("http://example.org/realm", use_cache=False)


def test_logout_revokes_and_forgets(idp, approve_next, tmp_path):
    cache_file = tmp_path / "cache" / "tokens.json"
    auth = _auth(idp, tmp_path, cache_path=cache_file)
    approver = approve_next(idp)
    auth.login()
    approver.join()
    refresh_token = session_tokens(auth).refresh_token
    assert cache_file.exists()

    auth.logout()
    assert not auth.is_logged_in and auth.username is None
    assert auth.get_access_token() is None
    assert not cache_file.exists()
    assert idp.stats.revocations == 1
    # The provider ended the session: the refresh token no longer works.
    response = requests.post(
        f"{idp.issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": idp.client_id},
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_session_ended_at_provider_means_logged_out(idp, approve_next, tmp_path):
    auth = _auth(idp, tmp_path, refresh_margin_s=10**6)  # every use refreshes
    approver = approve_next(idp)
    auth.login()
    approver.join()
    events = []
    auth.add_listener(events.append)
    idp.revoke_all()
    assert auth.get_access_token(interactive=False) is None
    assert events == ["logged_out"] and not auth.is_logged_in


def test_cache_file_is_0600_and_reused(idp, approve_next, tmp_path):
    cache_file = tmp_path / "config" / "worldcereal-explorer" / "tokens.json"
    old_umask = os.umask(0)  # even with a permissive umask the file must be private
    try:
        auth = _auth(idp, tmp_path, cache_path=cache_file)
        approver = approve_next(idp)
        auth.login()
        approver.join()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert [p.name for p in cache_file.parent.iterdir()] == [cache_file.name], "temp file left behind"
    token = session_tokens(auth).access_token

    again = _auth(idp, tmp_path, cache_path=cache_file)
    assert again.is_logged_in and again.username == "demo-user"
    assert again.get_access_token() == token
    assert idp.stats.device.authorizations == 1  # no second login


def test_loosened_cache_file_is_tightened(tmp_path):
    cache = TokenCache(tmp_path / "tokens.json")
    from worldcereal_explorer.rdm.auth import TokenSet

    cache.store("k", TokenSet(access_token="a.b.c", expires_at=0, refresh_token="r"))
    os.chmod(cache.path, 0o644)
    assert cache.load("k").refresh_token == "r"
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600


def test_cache_opt_out_writes_nothing(idp, approve_next, tmp_path):
    cache_file = tmp_path / "cache" / "tokens.json"
    auth = DeviceCodeAuth(idp.issuer, use_cache=False, cache_path=cache_file)
    approver = approve_next(idp)
    auth.login()
    approver.join()
    assert auth.cache is None and not cache_file.exists() and not cache_file.parent.exists()


def test_issuer_and_client_id_from_env(idp, monkeypatch):
    monkeypatch.setenv(ENV_OIDC_ISSUER, idp.issuer)
    auth = DeviceCodeAuth(use_cache=False)
    assert auth.issuer == idp.issuer and auth.client_id == DEFAULT_OIDC_CLIENT_ID
    assert DeviceCodeAuth("https://other.example/realms/x", "my-client", use_cache=False).client_id == "my-client"


def test_env_refresh_token_for_headless_jobs(idp, validator_for, monkeypatch, debug_logs):
    minted = idp.issue_tokens("batch-user", groups=["worldcereal-consortium"])
    monkeypatch.delenv(ENV_RDM_TOKEN, raising=False)
    monkeypatch.setenv(ENV_RDM_REFRESH_TOKEN, minted["refresh_token"])
    monkeypatch.setenv(ENV_OIDC_ISSUER, idp.issuer)
    provider = token_provider_from_env()
    assert isinstance(provider, DeviceCodeAuth) and provider.cache is None
    token = provider.get_access_token()
    principal = validator_for(idp)(token)
    assert principal.sub == "batch-user" and "worldcereal-consortium" in principal.groups
    assert idp.stats.refresh.grants == 1

    # A refused refresh token ends in a clear error naming the variable, never an interactive login.
    idp.revoke_all()
    headless = token_provider_from_env()
    with pytest.raises(AuthenticationError, match=ENV_RDM_REFRESH_TOKEN) as info:
        headless.get_access_token(interactive=True)
    assert idp.stats.device.authorizations == 0
    assert_no_secret(
        [minted["refresh_token"], token], str(info.value), repr(provider), repr(headless), debug_logs.text,
        where="headless errors and logs",
    )


def test_env_access_token(monkeypatch):
    monkeypatch.setenv(ENV_RDM_TOKEN, "header.payload-secret-value.signature")
    provider = token_provider_from_env()
    assert isinstance(provider, StaticTokenProvider)
    assert provider.get_access_token() == "header.payload-secret-value.signature"
    assert "secret" not in repr(provider)


def test_token_responses_are_not_cached_by_http_caches(idp):
    minted = idp.issue_tokens("u")
    response = requests.post(
        f"{idp.issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": minted["refresh_token"], "client_id": idp.client_id},
        timeout=10,
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_auth_cannot_be_pickled(idp):
    import pickle

    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(DeviceCodeAuth(idp.issuer, use_cache=False))


def test_provider_serves_discovery_and_verification_page(idp):
    meta = requests.get(f"{idp.issuer}/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == idp.issuer
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert json.loads(requests.get(meta["jwks_uri"], timeout=10).text)["keys"][0]["alg"] == "RS256"
    start = requests.post(
        meta["device_authorization_endpoint"],
        data={"client_id": idp.client_id, "code_challenge": "B" * 43, "code_challenge_method": "S256"},
        timeout=10,
    ).json()
    page = requests.get(start["verification_uri_complete"], timeout=10)
    assert page.status_code == 200 and start["user_code"] in page.text and "id=\"approve\"" in page.text
    # The browser form approves the code as the user typed in it.
    decision = requests.post(
        f"{idp.issuer}/device",
        data={"user_code": start["user_code"], "sub": "browser-user", "groups": "g1, g2", "decision": "approve"},
        timeout=10,
    )
    assert decision.status_code == 200 and "approved" in decision.text
    assert idp.pending_user_codes() == []
    unknown = requests.post(f"{idp.issuer}/device", data={"user_code": "XXXX-XXXX", "decision": "approve"}, timeout=10)
    assert unknown.status_code == 400 and "XXXX-XXXX" in unknown.text


def test_serve_idp_binds_loopback_only():
    with serve_idp_in_thread() as idp:
        assert idp.issuer.startswith("http://127.0.0.1:")
        assert requests.get(f"{idp.issuer}/jwks", timeout=10).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{idp.issuer}/jwks", timeout=2)


def test_early_refresh_failure_keeps_the_still_valid_token(start_idp, approve_next, tmp_path, debug_logs):
    idp = start_idp(access_token_lifetime_s=20)
    auth = _auth(idp, tmp_path, refresh_margin_s=30, timeout=(0.5, 0.5))
    approver = approve_next(idp)
    token = auth.get_access_token(interactive=True)
    approver.join()
    idp.stop()  # the provider goes away while the token is inside the refresh margin
    assert auth.get_access_token() == token
    assert "could not refresh the access token early" in debug_logs.text


def test_expired_token_and_unreachable_provider_raise(start_idp, approve_next, tmp_path):
    idp = start_idp(access_token_lifetime_s=1)
    auth = _auth(idp, tmp_path, refresh_margin_s=0, timeout=(0.5, 0.5))
    approver = approve_next(idp)
    auth.login()
    approver.join()
    idp.stop()
    expires_at = session_tokens(auth).expires_at
    wait_for(lambda: time.time() > expires_at, timeout_s=10, what="the access token to expire")
    with pytest.raises(IdentityProviderUnreachableError, match="could not reach the identity provider"):
        auth.get_access_token()


def test_concurrent_logins_share_one_flow(idp, approve_next, tmp_path):
    # The widget and the client may both ask for a login at once: one device flow, one session.
    auth = _auth(idp, tmp_path, display=lambda _authorization: None)
    approver = approve_next(idp)
    results = []
    threads = [threading.Thread(target=lambda: results.append(auth.get_access_token(interactive=True)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    approver.join()
    for thread in threads:
        thread.join(30)
    assert len(results) == 3 and len(set(results)) == 1 and results[0]
    assert idp.stats.device.authorizations == 1
    assert auth.login() == auth.user_info and idp.stats.device.authorizations == 1  # no second flow
