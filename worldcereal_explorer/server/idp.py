"""A local OpenID Connect provider on loopback, for the demo and the tests.

It implements just enough of an OIDC provider for the WorldCereal explorer to log in the way it logs in
to the Copernicus Data Space identity provider:

* discovery (``/.well-known/openid-configuration``) and JWKS (an RS256 key pair generated at start);
* the OAuth 2.0 device authorization grant (RFC 8628) with PKCE S256 (RFC 7636), including the
  ``authorization_pending``, ``slow_down``, ``access_denied`` and ``expired_token`` answers;
* the refresh-token grant (refresh tokens rotate: each one can be used once);
* signed JWT access and ID tokens with ``iss``, ``sub``, ``aud`` (= the client id), ``azp``, ``exp``,
  ``iat``, ``groups`` (consortium membership) and ``preferred_username``;
* userinfo, token revocation (RFC 7009) and an end-session (logout) endpoint;
* a verification page ``/device`` where a person approves or denies a pending user code in a browser,
  and :meth:`LocalIdentityProvider.approve` / :meth:`~LocalIdentityProvider.deny` for tests and the demo.

.. warning::
   Anyone who can reach the port can approve a code as any user: this provider exists to exercise the
   real login code paths on one machine. It binds to 127.0.0.1 only and keeps everything in memory.

Example
-------
>>> from worldcereal_explorer.server.idp import serve_idp_in_thread
>>> with serve_idp_in_thread(access_token_lifetime_s=60) as idp:     # doctest: +SKIP
...     print(idp.issuer)                                               # http://127.0.0.1:<port>
...     user_code = idp.wait_for_user_code(timeout_s=30)                # a client started the device flow
...     idp.approve(user_code, sub="demo-user", groups=["worldcereal-consortium"])
"""

from __future__ import annotations

import html
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from ..config import DEFAULT_OIDC_CLIENT_ID
from ..errors import BadParameterError
from .net import bind_loopback

log = logging.getLogger(__name__)

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 section 3.5: a client told to slow down adds 5 seconds to its polling interval.
SLOW_DOWN_INCREMENT_S = 5.0
#: RFC 8628 section 6.1: user codes from a consonant-only alphabet (no vowels, so no words; no 0/O, 1/I).
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


@dataclass(frozen=True)
class Identity:
    """Who approved a device code: the claims the provider puts into the tokens it issues."""

    sub: str
    groups: tuple[str, ...] = ()
    name: str | None = None
    preferred_username: str | None = None

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "sub": self.sub,
            "groups": list(self.groups),
            "preferred_username": self.preferred_username or self.sub,
        }
        if self.name:
            claims["name"] = self.name
        return claims


#: The identity the browser verification page proposes: the owner of the demo catalogue's private collection.
DEMO_IDENTITY = Identity(sub="demo-user", groups=(), name="Demo User", preferred_username="demo-user")


@dataclass
class _DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    scope: str
    code_challenge: str | None
    expires_at: float  # time.monotonic()
    interval_s: float
    last_poll: float | None = None
    forced_slow_downs: int = 0
    state: str = "pending"  # pending | approved | denied | expired | used
    identity: Identity | None = None


@dataclass
class _Session:
    """One login: the refresh token currently valid for it, and who it belongs to."""

    sid: str
    client_id: str
    scope: str
    identity: Identity
    refresh_token: str
    refresh_expires_at: float  # time.time()
    revoked: bool = False


@dataclass
class ProviderStats:
    """Counters a test can assert on (how the client behaved, seen from the provider)."""

    device_authorizations: int = 0
    device_polls: int = 0
    pending_answers: int = 0
    slow_down_answers: int = 0
    device_tokens_issued: int = 0
    refresh_grants: int = 0
    refused_refresh_grants: int = 0
    revocations: int = 0
    end_sessions: int = 0
    userinfo_requests: int = 0


class _OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _normalize_user_code(user_code: str) -> str:
    return "".join(ch for ch in str(user_code).upper() if ch.isalnum())


class LocalIdentityProvider:
    """An in-memory OIDC provider (device flow, refresh, JWKS) served by FastAPI on 127.0.0.1.

    Parameters
    ----------
    client_id
        The only client the provider knows (a public client, no secret); also the ``aud`` and ``azp``
        of every token. Defaults to the RDM's client id so that the explorer's defaults work unchanged.
    access_token_lifetime_s
        Lifetime of access and ID tokens (``expires_in``). Short values let tests exercise refresh.
    refresh_token_lifetime_s
        Lifetime of refresh tokens.
    device_code_lifetime_s
        ``expires_in`` of a device code.
    poll_interval_s
        The ``interval`` the client is told to wait between polls. RFC 8628 uses whole seconds; this
        provider also accepts fractions so that tests do not wait.
    forced_slow_downs
        Answer ``slow_down`` to this many polls of every device code, whatever their pace, so that a test
        can check the client backs off (after a ``slow_down`` the interval grows by 5 s for that code, and
        polling faster than the interval earns another ``slow_down``).
    require_pkce
        Refuse device authorization requests without an S256 ``code_challenge``.
    default_identity
        Who the browser verification page proposes to log in as.
    """

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_OIDC_CLIENT_ID,
        access_token_lifetime_s: float = 300.0,
        refresh_token_lifetime_s: float = 8 * 3600.0,
        device_code_lifetime_s: float = 600.0,
        poll_interval_s: float = 5.0,
        forced_slow_downs: int = 0,
        require_pkce: bool = True,
        default_identity: Identity = DEMO_IDENTITY,
    ):
        for name, value in [
            ("access_token_lifetime_s", access_token_lifetime_s),
            ("refresh_token_lifetime_s", refresh_token_lifetime_s),
            ("device_code_lifetime_s", device_code_lifetime_s),
        ]:
            if not value > 0:
                raise BadParameterError(f"{name}={value!r} is not allowed: it must be a positive number of seconds")
        if poll_interval_s < 0:
            raise BadParameterError(f"poll_interval_s={poll_interval_s!r} is not allowed: it must be >= 0")
        self.client_id = client_id
        self.access_token_lifetime_s = float(access_token_lifetime_s)
        self.refresh_token_lifetime_s = float(refresh_token_lifetime_s)
        self.device_code_lifetime_s = float(device_code_lifetime_s)
        self.poll_interval_s = float(poll_interval_s)
        self.forced_slow_downs = int(forced_slow_downs)
        self.require_pkce = require_pkce
        self.default_identity = default_identity
        self.stats = ProviderStats()
        self.issuer: str | None = None
        self.port: int | None = None

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._grants_by_device_code: dict[str, _DeviceGrant] = {}
        self._grants_by_user_code: dict[str, _DeviceGrant] = {}
        self._announced_user_codes: list[str] = []
        self._sessions_by_refresh_token: dict[str, _Session] = {}
        self._signing_key = self._new_signing_key()
        self._keys = KeySet([self._signing_key])
        self._server = None
        self._thread: threading.Thread | None = None
        self.app = self._build_app()

    def __repr__(self) -> str:
        return f"LocalIdentityProvider(issuer={self.issuer!r}, client_id={self.client_id!r})"

    # ------------------------------------------------------------------ keys and tokens

    @staticmethod
    def _new_signing_key() -> RSAKey:
        kid = uuid.uuid4().hex[:16]
        return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})

    def jwks(self) -> dict[str, Any]:
        """The public keys (JWKS document) tokens are verified with."""
        with self._lock:
            return self._keys.as_dict(private=False)

    def rotate_signing_key(self, *, keep_old_key: bool = False) -> str:
        """Sign new tokens with a fresh key and return its ``kid``.

        Without ``keep_old_key`` the old key leaves the JWKS, so tokens already issued stop validating:
        a resource server then answers 401 and a client must refresh (what happens when a real provider
        rotates keys).
        """
        new_key = self._new_signing_key()
        with self._lock:
            keys = [new_key] + (list(self._keys.keys) if keep_old_key else [])
            self._signing_key = new_key
            self._keys = KeySet(keys)
        return new_key.kid

    def sign(self, claims: dict[str, Any], *, header: dict[str, Any] | None = None) -> str:
        """Sign arbitrary claims with the current key (tests use it to forge wrong-issuer/audience tokens)."""
        with self._lock:
            key = self._signing_key
        full_header = {"alg": "RS256", "kid": key.kid, "typ": "JWT", **(header or {})}
        return jwt.encode(full_header, claims, key)

    def _require_issuer(self) -> str:
        if self.issuer is None:
            raise RuntimeError("the identity provider is not serving yet: call start() first")
        return self.issuer

    def _token_claims(self, identity: Identity, *, sid: str, scope: str, lifetime_s: float) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self._require_issuer(),
            "aud": self.client_id,
            "azp": self.client_id,
            "iat": now,
            "exp": now + int(round(lifetime_s)),
            "jti": uuid.uuid4().hex,
            "sid": sid,
            "scope": scope,
            **identity.claims(),
        }

    def issue_tokens(
        self,
        sub: str,
        *,
        groups: tuple[str, ...] | list[str] = (),
        name: str | None = None,
        preferred_username: str | None = None,
        scope: str = "openid",
        access_token_lifetime_s: float | None = None,
    ) -> dict[str, Any]:
        """Mint a token response for a user directly, as the token endpoint would after a login.

        Tests use it for users they do not walk through the device flow, and a negative
        ``access_token_lifetime_s`` gives an already-expired access token.
        """
        identity = Identity(sub=sub, groups=tuple(groups), name=name, preferred_username=preferred_username)
        with self._lock:
            return self._issue_locked(identity, self.client_id, scope, access_token_lifetime_s)

    def _issue_locked(
        self,
        identity: Identity,
        client_id: str,
        scope: str,
        access_token_lifetime_s: float | None = None,
        session: _Session | None = None,
    ) -> dict[str, Any]:
        lifetime = self.access_token_lifetime_s if access_token_lifetime_s is None else access_token_lifetime_s
        refresh_token = secrets.token_urlsafe(32)
        if session is None:
            session = _Session(
                sid=uuid.uuid4().hex,
                client_id=client_id,
                scope=scope,
                identity=identity,
                refresh_token=refresh_token,
                refresh_expires_at=time.time() + self.refresh_token_lifetime_s,
            )
        else:  # rotation: the old refresh token stops working
            self._sessions_by_refresh_token.pop(session.refresh_token, None)
            session.refresh_token = refresh_token
        self._sessions_by_refresh_token[refresh_token] = session
        claims = self._token_claims(identity, sid=session.sid, scope=scope, lifetime_s=lifetime)
        key = self._signing_key
        header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
        response: dict[str, Any] = {
            "access_token": jwt.encode(header, {**claims, "typ": "Bearer"}, key),
            "token_type": "Bearer",
            "expires_in": int(round(lifetime)),
            "refresh_token": refresh_token,
            "refresh_expires_in": int(round(session.refresh_expires_at - time.time())),
            "scope": scope,
        }
        if "openid" in scope.split():
            response["id_token"] = jwt.encode(header, {**claims, "typ": "ID"}, key)
        return response

    def _verify_own_token(self, token: str) -> dict[str, Any]:
        with self._lock:
            keys = self._keys
        try:
            decoded = jwt.decode(token, keys, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer}, exp={"essential": True}
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise _OAuthError("invalid_token", f"the access token is not valid: {exc}", status=401) from None
        return decoded.claims

    # ------------------------------------------------------------------ device flow (Python side)

    def _new_user_code(self) -> str:
        while True:
            raw = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
            if raw not in self._grants_by_user_code:
                return raw

    def _grant_for_user_code(self, user_code: str) -> _DeviceGrant:
        grant = self._grants_by_user_code.get(_normalize_user_code(user_code))
        if grant is None or grant.state != "pending" or time.monotonic() >= grant.expires_at:
            raise BadParameterError(
                f"user code {user_code!r} is not a pending device login (unknown, expired or already used); "
                f"pending codes: {self._pending_locked()}"
            )
        return grant

    def _pending_locked(self) -> list[str]:
        now = time.monotonic()
        return [
            _format_user_code(code)
            for code, grant in self._grants_by_user_code.items()
            if grant.state == "pending" and now < grant.expires_at
        ]

    def pending_user_codes(self) -> list[str]:
        """User codes of device logins waiting for approval (formatted ``XXXX-XXXX``)."""
        with self._lock:
            return self._pending_locked()

    def wait_for_user_code(self, timeout_s: float = 30.0) -> str:
        """Wait until a client starts a device login and return its user code (each code is returned once)."""
        with self._changed:
            ok = self._changed.wait_for(lambda: bool(self._announced_user_codes), timeout=timeout_s)
            if not ok:
                raise TimeoutError(f"no client started a device login within {timeout_s} s")
            return self._announced_user_codes.pop(0)

    def approve(
        self,
        user_code: str,
        sub: str | None = None,
        *,
        groups: tuple[str, ...] | list[str] = (),
        name: str | None = None,
        preferred_username: str | None = None,
    ) -> None:
        """Approve a pending device login as user ``sub`` (default: the demo user)."""
        if sub is None:
            identity = self.default_identity
        else:
            identity = Identity(sub=sub, groups=tuple(groups), name=name, preferred_username=preferred_username)
        with self._changed:
            grant = self._grant_for_user_code(user_code)
            grant.state = "approved"
            grant.identity = identity
            self._changed.notify_all()

    def deny(self, user_code: str) -> None:
        """Deny a pending device login: the client's next poll gets ``access_denied``."""
        with self._changed:
            self._grant_for_user_code(user_code).state = "denied"
            self._changed.notify_all()

    def expire(self, user_code: str) -> None:
        """Make a pending device code expire now: the client's next poll gets ``expired_token``."""
        with self._changed:
            self._grant_for_user_code(user_code).expires_at = time.monotonic()
            self._changed.notify_all()

    def revoke_all(self) -> None:
        """End every session: all refresh tokens stop working (access tokens live until they expire)."""
        with self._lock:
            for session in self._sessions_by_refresh_token.values():
                session.revoked = True
            self._sessions_by_refresh_token.clear()

    # ------------------------------------------------------------------ endpoints (logic)

    def _device_authorization(self, form: dict[str, str]) -> dict[str, Any]:
        client_id = form.get("client_id", "")
        if client_id != self.client_id:
            raise _OAuthError("invalid_client", f"unknown client_id {client_id!r}", status=401)
        challenge = form.get("code_challenge")
        method = form.get("code_challenge_method")
        if challenge is None and self.require_pkce:
            raise _OAuthError("invalid_request", "PKCE is required: send code_challenge with method S256")
        if challenge is not None and method != "S256":
            raise _OAuthError("invalid_request", f"code_challenge_method {method!r} is not supported; use S256")
        issuer = self._require_issuer()
        with self._changed:
            user_code = self._new_user_code()
            grant = _DeviceGrant(
                device_code=secrets.token_urlsafe(32),
                user_code=user_code,
                client_id=client_id,
                scope=form.get("scope") or "openid",
                code_challenge=challenge,
                expires_at=time.monotonic() + self.device_code_lifetime_s,
                interval_s=self.poll_interval_s,
                forced_slow_downs=self.forced_slow_downs,
            )
            self._grants_by_device_code[grant.device_code] = grant
            self._grants_by_user_code[user_code] = grant
            self._announced_user_codes.append(_format_user_code(user_code))
            self.stats.device_authorizations += 1
            self._changed.notify_all()
        formatted = _format_user_code(user_code)
        interval: float | int = self.poll_interval_s
        if float(interval).is_integer():
            interval = int(interval)
        return {
            "device_code": grant.device_code,
            "user_code": formatted,
            "verification_uri": f"{issuer}/device",
            "verification_uri_complete": f"{issuer}/device?user_code={formatted}",
            "expires_in": int(round(self.device_code_lifetime_s)) or 1,
            "interval": interval,
        }

    def _device_code_grant(self, form: dict[str, str]) -> dict[str, Any]:
        with self._changed:
            self.stats.device_polls += 1
            grant = self._grants_by_device_code.get(form.get("device_code", ""))
            if grant is None or grant.state == "used":
                raise _OAuthError("invalid_grant", "unknown or already used device_code")
            if form.get("client_id") != grant.client_id:
                raise _OAuthError("invalid_client", "client_id does not match the device code", status=401)
            now = time.monotonic()
            if grant.state == "expired" or now >= grant.expires_at:
                grant.state = "expired"
                raise _OAuthError("expired_token", "the device code has expired; start a new login")
            if grant.state == "denied":
                grant.state = "used"
                raise _OAuthError("access_denied", "the user denied the login request")
            too_fast = grant.last_poll is not None and now - grant.last_poll < grant.interval_s
            grant.last_poll = now
            if grant.forced_slow_downs > 0 or too_fast:
                grant.forced_slow_downs = max(0, grant.forced_slow_downs - 1)
                grant.interval_s += SLOW_DOWN_INCREMENT_S
                self.stats.slow_down_answers += 1
                raise _OAuthError("slow_down", f"polling too fast; wait {grant.interval_s:g} s between polls")
            if grant.state == "pending":
                self.stats.pending_answers += 1
                raise _OAuthError("authorization_pending", "the user has not approved the login yet")
            # approved
            if grant.code_challenge is not None:
                verifier = form.get("code_verifier")
                if not verifier or create_s256_code_challenge(verifier) != grant.code_challenge:
                    raise _OAuthError("invalid_grant", "PKCE verification failed: wrong or missing code_verifier")
            grant.state = "used"
            assert grant.identity is not None
            self.stats.device_tokens_issued += 1
            return self._issue_locked(grant.identity, grant.client_id, grant.scope)

    def _refresh_grant(self, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            session = self._sessions_by_refresh_token.get(form.get("refresh_token", ""))
            if session is None or session.revoked or time.time() >= session.refresh_expires_at:
                self.stats.refused_refresh_grants += 1
                raise _OAuthError("invalid_grant", "the refresh token is not valid (expired, revoked or used)")
            if form.get("client_id") != session.client_id:
                self.stats.refused_refresh_grants += 1
                raise _OAuthError("invalid_client", "client_id does not match the refresh token", status=401)
            self.stats.refresh_grants += 1
            return self._issue_locked(session.identity, session.client_id, session.scope, session=session)

    def _end_session_for_refresh_token(self, refresh_token: str) -> bool:
        with self._lock:
            session = self._sessions_by_refresh_token.pop(refresh_token, None)
            if session is None:
                return False
            session.revoked = True
            return True

    def _end_session_by_sid(self, sid: str) -> None:
        with self._lock:
            for token, session in list(self._sessions_by_refresh_token.items()):
                if session.sid == sid:
                    session.revoked = True
                    del self._sessions_by_refresh_token[token]

    def discovery_document(self) -> dict[str, Any]:
        """The OpenID Provider metadata served at ``/.well-known/openid-configuration``."""
        issuer = self._require_issuer()
        return {
            "issuer": issuer,
            "device_authorization_endpoint": f"{issuer}/device_authorization",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "revocation_endpoint": f"{issuer}/revoke",
            "end_session_endpoint": f"{issuer}/logout",
            "grant_types_supported": [DEVICE_CODE_GRANT, "refresh_token"],
            "response_types_supported": ["token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": ["iss", "sub", "aud", "azp", "exp", "iat", "name", "preferred_username", "groups"],
        }

    # ------------------------------------------------------------------ FastAPI app

    def _build_app(self):
        app = FastAPI(title="worldcereal-explorer local identity provider", docs_url=None, redoc_url=None)
        idp = self

        def oauth_error(exc: _OAuthError):
            headers = {"Cache-Control": "no-store"}
            if exc.status == 401:
                headers["WWW-Authenticate"] = f'Bearer error="{exc.error}"'
            return JSONResponse(
                {"error": exc.error, "error_description": exc.description}, status_code=exc.status, headers=headers
            )

        async def form_of(request: Request) -> dict[str, str]:
            form = await request.form()
            return {key: str(value) for key, value in form.items()}

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return idp.discovery_document()

        @app.get("/jwks")
        def jwks():
            return idp.jwks()

        @app.post("/device_authorization")
        async def device_authorization(request: Request):
            try:
                body = idp._device_authorization(await form_of(request))
            except _OAuthError as exc:
                return oauth_error(exc)
            return JSONResponse(body, headers={"Cache-Control": "no-store"})

        @app.post("/token")
        async def token(request: Request):
            form = await form_of(request)
            grant_type = form.get("grant_type")
            try:
                if grant_type == DEVICE_CODE_GRANT:
                    body = idp._device_code_grant(form)
                elif grant_type == "refresh_token":
                    body = idp._refresh_grant(form)
                else:
                    raise _OAuthError(
                        "unsupported_grant_type",
                        f"grant_type {grant_type!r} is not supported; use {DEVICE_CODE_GRANT} or refresh_token",
                    )
            except _OAuthError as exc:
                return oauth_error(exc)
            return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

        @app.api_route("/userinfo", methods=["GET", "POST"])
        def userinfo(request: Request):
            idp.stats.userinfo_requests += 1
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            try:
                if scheme.lower() != "bearer" or not value:
                    raise _OAuthError("invalid_token", "send the access token as a Bearer token", status=401)
                claims = idp._verify_own_token(value.strip())
            except _OAuthError as exc:
                return oauth_error(exc)
            keep = ("sub", "name", "preferred_username", "groups")
            return {key: claims[key] for key in keep if key in claims}

        @app.post("/revoke")
        async def revoke(request: Request):
            form = await form_of(request)
            # RFC 7009 section 2.2: answer 200 whether or not the token was known.
            if idp._end_session_for_refresh_token(form.get("token", "")):
                idp.stats.revocations += 1
            return Response(status_code=200)

        @app.api_route("/logout", methods=["GET", "POST"])
        async def logout(request: Request):
            params = dict(request.query_params)
            if request.method == "POST":
                params.update(await form_of(request))
            ended = False
            if params.get("refresh_token"):
                ended = idp._end_session_for_refresh_token(params["refresh_token"])
            hint = params.get("id_token_hint")
            if hint:
                try:
                    sid = idp._verify_own_token(hint).get("sid")
                except _OAuthError:
                    sid = None
                if sid:
                    idp._end_session_by_sid(sid)
                    ended = True
            if ended:
                idp.stats.end_sessions += 1
            return HTMLResponse(_page("Logged out", "<p>You are logged out of the local identity provider.</p>"))

        @app.get("/device")
        def device_page(user_code: str = ""):
            return HTMLResponse(idp._verification_page(user_code))

        @app.post("/device")
        async def device_decision(request: Request):
            form = await form_of(request)
            code = form.get("user_code", "")
            decision = form.get("decision", "")
            try:
                if decision == "approve":
                    groups = [g.strip() for g in form.get("groups", "").split(",") if g.strip()]
                    idp.approve(
                        code,
                        form.get("sub") or idp.default_identity.sub,
                        groups=groups,
                        name=form.get("name") or None,
                        preferred_username=form.get("preferred_username") or None,
                    )
                    body = "<p id='result'>Login approved. You can close this tab and return to the application.</p>"
                elif decision == "deny":
                    idp.deny(code)
                    body = "<p id='result'>Login denied.</p>"
                else:
                    body = f"<p id='result'>Unknown decision {html.escape(decision)!r}.</p>"
            except BadParameterError as exc:
                return HTMLResponse(_page("Device login", f"<p id='result'>{html.escape(str(exc))}</p>"), 400)
            return HTMLResponse(_page("Device login", body))

        return app

    def _verification_page(self, user_code: str) -> str:
        ident = self.default_identity
        code = html.escape(user_code)
        form = f"""
<form method="post" action="device">
  <p><label>User code <input id="user_code" name="user_code" value="{code}" autocomplete="off"></label></p>
  <p><label>Log in as (sub) <input id="sub" name="sub" value="{html.escape(ident.sub)}"></label></p>
  <p><label>Name <input id="name" name="name" value="{html.escape(ident.name or "")}"></label></p>
  <p><label>Groups (comma separated)
     <input id="groups" name="groups" value="{html.escape(",".join(ident.groups))}"></label></p>
  <p><button id="approve" type="submit" name="decision" value="approve">Approve</button>
     <button id="deny" type="submit" name="decision" value="deny">Deny</button></p>
</form>
<p><small>Local test identity provider: anyone on this machine can approve a code as any user.</small></p>"""
        return _page("Device login", form)

    # ------------------------------------------------------------------ serving

    def start(self, port: int = 0) -> LocalIdentityProvider:
        """Serve the provider with uvicorn on ``127.0.0.1:port`` in a daemon thread (0 = a free port)."""
        import uvicorn

        if self._thread is not None:
            raise RuntimeError("the identity provider is already running")
        # Bind first so the issuer URL (which names the port) is known before the first request.
        sock = bind_loopback(port)
        self.port = sock.getsockname()[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="local-idp", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError(f"the local identity provider did not start on 127.0.0.1:{self.port}")
            time.sleep(0.01)
        self._server, self._thread, self._socket = server, thread, sock
        log.info("local identity provider serving at %s", self.issuer)
        return self

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()
        self._server = self._thread = None

    def __enter__(self) -> LocalIdentityProvider:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _format_user_code(raw: str) -> str:
    return f"{raw[:4]}-{raw[4:]}"


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def serve_idp_in_thread(port: int = 0, **provider_kwargs: Any) -> LocalIdentityProvider:
    """Start a :class:`LocalIdentityProvider` on ``127.0.0.1:port`` in a thread and return it.

    The returned provider has ``.issuer`` (``http://127.0.0.1:<port>``), ``.approve()``, ``.stop()`` and
    works as a context manager. Keyword arguments go to :class:`LocalIdentityProvider`.
    """
    return LocalIdentityProvider(**provider_kwargs).start(port)


__all__ = [
    "DEMO_IDENTITY",
    "Identity",
    "LocalIdentityProvider",
    "ProviderStats",
    "serve_idp_in_thread",
]
