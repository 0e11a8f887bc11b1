"""No auth object or auth error shows a secret: tokens, refresh tokens, device codes or PKCE verifiers.

Logins run against the local OIDC provider over real HTTP. A recording wrapper around the transport's
``request`` collects every secret that crossed the wire (sent form fields and received token answers), and
the tests look for each of them in the ``repr``/``str`` of the auth objects, in the messages, tracebacks and
pickles of the errors a failed login or refresh raises, and in the logs.
"""

from __future__ import annotations

import contextlib
import pickle
import threading
import traceback

import pytest

from tests.auth.helpers import assert_no_secret, session_tokens
from tests.conftest import free_port
from worldcereal_explorer.errors import AuthenticationError, WorldCerealExplorerError
from worldcereal_explorer.rdm.auth import (
    DeviceAuthorization,
    DeviceCodeAuth,
    IdentityProviderUnreachableError,
    LoginCancelledError,
    StaticTokenProvider,
    TokenCache,
    TokenSet,
)
from worldcereal_explorer.rdm.auth.errors import RefreshRefusedError
from worldcereal_explorer.rdm.auth.oidc import OidcProvider, default_policy
from worldcereal_explorer.rdm.http import HttpTransport

#: Form fields and answer fields that are credentials.
SECRET_FIELDS = ("access_token", "refresh_token", "id_token", "device_code", "code_verifier", "token")


class WireSecrets:
    """Wraps a transport's ``request`` and keeps every secret value sent in a form or received as JSON."""

    def __init__(self, transport: HttpTransport):
        self.values: dict[str, set[str]] = {}
        inner = transport.request

        def request(url, **kwargs):
            self._collect(kwargs.get("data"))
            response = inner(url, **kwargs)
            with contextlib.suppress(ValueError):  # discovery and revocation answers may not be token JSON
                self._collect(response.json())
            return response

        transport.request = request

    def _collect(self, mapping) -> None:
        if isinstance(mapping, dict):
            for key in SECRET_FIELDS:
                value = mapping.get(key)
                if isinstance(value, str) and value:
                    self.values.setdefault(key, set()).add(value)

    def all(self) -> list[str]:
        return sorted(value for values in self.values.values() for value in values)


def _recorded_auth(idp, tmp_path, **kwargs) -> tuple[DeviceCodeAuth, WireSecrets]:
    transport = HttpTransport(default_policy((5.0, 10.0)))
    wire = WireSecrets(transport)
    kwargs.setdefault("cache_path", tmp_path / "tokens.json")
    return DeviceCodeAuth(idp.issuer, transport=transport, **kwargs), wire


def _error_views(exc: BaseException) -> list[object]:
    """Everything an error shows: message, repr, args, attributes, traceback text and its pickle."""
    views: list[object] = [str(exc), repr(exc), exc.args, vars(exc)]
    views.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    chained = exc.__cause__ or exc.__context__
    if chained is not None:
        views += [str(chained), repr(chained)]
    data = pickle.dumps(exc)
    views.append(data.decode("latin-1"))
    restored = pickle.loads(data)
    views += [str(restored), repr(restored), vars(restored)]
    return views


def test_login_objects_show_no_secret(idp, approve_next, tmp_path, capsys, debug_logs):
    shown: list[DeviceAuthorization] = []
    auth, wire = _recorded_auth(idp, tmp_path, display=shown.append)
    approver = approve_next(idp, sub="demo-user", name="Demo User")
    auth.login()
    user_code = approver.join()

    for field in ("device_code", "code_verifier", "access_token", "refresh_token", "id_token"):
        assert wire.values.get(field), f"no {field} crossed the wire: the test would check nothing"
    secrets = wire.all()
    tokens = session_tokens(auth)
    assert tokens.access_token in secrets and tokens.refresh_token in secrets

    authorization = shown[0]
    # The user code is meant to be shown; the device code is not.
    assert user_code in repr(authorization) and user_code in authorization.instructions()
    with pytest.raises(TypeError, match="cannot be pickled") as info:
        pickle.dumps(auth)
    captured = capsys.readouterr()
    assert_no_secret(
        secrets,
        repr(auth), str(auth), repr(tokens), str(tokens), repr(auth.cache), repr(auth.transport),
        repr(auth._provider), repr(authorization), str(authorization), authorization.instructions(),
        auth.user_info, str(info.value), captured.out, captured.err, debug_logs.text,
        where="auth objects after a login",
    )
    assert "Bearer" not in debug_logs.text

    auth.logout()  # sends the refresh token to the revocation endpoint
    assert_no_secret(secrets, repr(auth), debug_logs.text, where="auth objects after a logout")


def test_static_provider_and_token_set_show_no_token(idp, tmp_path):
    minted = idp.issue_tokens("demo-user", name="Demo User")
    secrets = [minted["access_token"], minted["refresh_token"], minted["id_token"]]
    static = StaticTokenProvider(minted["access_token"])
    tokens = TokenSet.from_token_response(minted)
    cache = TokenCache(tmp_path / "tokens.json")
    cache.store("k", tokens)
    assert cache.load("k").refresh_token == minted["refresh_token"]
    assert_no_secret(
        secrets, repr(static), str(static), repr(tokens), str(tokens), repr(cache), str(cache), tokens.user_info(),
        where="token holders",
    )


def test_refused_refresh_errors_show_no_secret(idp, tmp_path, debug_logs):
    minted = idp.issue_tokens("batch-user")
    # a refresh margin longer than any token's life: every use refreshes
    auth = DeviceCodeAuth(idp.issuer, refresh_token=minted["refresh_token"], cache_path=tmp_path / "tokens.json",
                          use_cache=True, allow_device_flow=False, refresh_margin_s=10**6)
    assert auth.get_access_token()  # the refresh token works once (and is rotated)
    rotated = session_tokens(auth)
    secrets = [minted["refresh_token"], minted["access_token"], rotated.refresh_token, rotated.access_token]
    idp.revoke_all()
    with pytest.raises(AuthenticationError, match="refused the refresh token") as info:
        auth.get_access_token()
    assert not auth.is_logged_in
    assert_no_secret(secrets, *_error_views(info.value), repr(auth), debug_logs.text,
                     where="a refused refresh")

    # The provider client's own error (caught inside DeviceCodeAuth) is clean as well.
    provider = OidcProvider(idp.issuer, idp.client_id, HttpTransport(default_policy(5.0)))
    with pytest.raises(RefreshRefusedError) as refused:
        provider.refresh(TokenSet(access_token="", expires_at=0, refresh_token=minted["refresh_token"]))
    assert refused.value.status == 400
    assert_no_secret(secrets, *_error_views(refused.value), where="RefreshRefusedError")


def test_unreachable_provider_errors_show_no_secret(start_idp, approve_next, tmp_path):
    idp = start_idp(access_token_lifetime_s=1)
    auth, wire = _recorded_auth(idp, tmp_path, refresh_margin_s=10**6, timeout=(0.5, 0.5))
    approver = approve_next(idp)
    auth.login()
    approver.join()
    idp.stop()  # the refresh margin outlasts the token: the next use refreshes, and must fail loudly
    with pytest.raises(IdentityProviderUnreachableError) as info:
        auth.get_access_token()
    assert_no_secret(wire.all(), *_error_views(info.value), where="an unreachable provider")


@pytest.mark.parametrize("outcome", ["deny", "expire", "cancel"])
def test_failed_login_errors_show_no_secret(outcome, idp, approve_next, tmp_path, debug_logs):
    cancel = threading.Event()
    auth, wire = _recorded_auth(idp, tmp_path, display=lambda _authorization: None)
    if outcome == "cancel":
        expected = LoginCancelledError
        approver = None
        display = lambda _authorization: cancel.set()  # noqa: E731 - the person closes the dialog at once
    else:
        expected = AuthenticationError
        approver = approve_next(idp, action=outcome)
        display = None
    with pytest.raises(expected) as info:
        auth.login(display=display, cancel_event=cancel)
    if approver is not None:
        approver.join()
    assert wire.values.get("device_code")
    if outcome != "cancel":  # a cancelled login never polls, so its verifier never leaves the process
        assert wire.values.get("code_verifier")
    assert_no_secret(
        wire.all(), *_error_views(info.value), auth.last_login_error, repr(auth), debug_logs.text,
        where=f"a login that ended with {outcome}",
    )


def test_login_against_nothing_chains_only_package_errors():
    # A requests/urllib3 exception in the chain could carry the prepared request (headers, form body).
    auth = DeviceCodeAuth(f"http://127.0.0.1:{free_port()}", timeout=(0.3, 0.3), use_cache=False)
    with pytest.raises(IdentityProviderUnreachableError) as info:
        auth.login()
    assert "connection refused" in str(info.value)
    chain, current = [], info.value
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    assert all(isinstance(exc, WorldCerealExplorerError) for exc in chain), [type(exc) for exc in chain]
