"""The local OpenID Connect provider's state machine: device codes, sessions, token issuing (no HTTP).

:class:`IdentityProviderCore` holds everything the provider knows and decides, as plain Python calls:

* an RS256 signing key (rotatable) and the JWKS document;
* device authorization grants (RFC 8628) with PKCE S256 (RFC 7636): ``pending`` until
  :meth:`~IdentityProviderCore.approve` / :meth:`~IdentityProviderCore.deny` / expiry, and the
  ``authorization_pending``, ``slow_down``, ``access_denied`` and ``expired_token`` answers;
* sessions whose refresh tokens rotate (each one can be used once), revocation and end-session;
* signed JWT access and ID tokens with ``iss``, ``sub``, ``aud`` (= the client id), ``azp``, ``exp``,
  ``iat``, ``groups`` and ``preferred_username``.

The HTTP endpoints and pages that expose it live in :mod:`worldcereal_explorer.server.idp`
(:class:`~worldcereal_explorer.server.idp.LocalIdentityProvider` adds them to this class).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization, RSAKey

from ..config import DEFAULT_OIDC_CLIENT_ID
from ..errors import BadParameterError
from .idp_model import (
    DEMO_IDENTITY,
    SLOW_DOWN_INCREMENT_S,
    USER_CODE_ALPHABET,
    DeviceGrant,
    Identity,
    OAuthError,
    ProviderStats,
    Session,
    format_user_code,
    normalize_user_code,
)

__all__ = ["IdentityProviderCore"]


class IdentityProviderCore:
    """An in-memory OIDC provider's state (device flow, refresh, JWKS), without HTTP.

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
        self._grants_by_device_code: dict[str, DeviceGrant] = {}
        self._grants_by_user_code: dict[str, DeviceGrant] = {}
        self._announced_user_codes: list[str] = []
        self._sessions_by_refresh_token: dict[str, Session] = {}
        self._signing_key = self._new_signing_key()
        self._keys = KeySet([self._signing_key])

    def __repr__(self) -> str:
        # Only public facts: the signing key, grants and sessions hold secrets.
        return f"{type(self).__name__}(issuer={self.issuer!r}, client_id={self.client_id!r})"

    # ------------------------------------------------------------------ keys and tokens

    @staticmethod
    def _new_signing_key(kid: str | None = None) -> RSAKey:
        kid = kid or uuid.uuid4().hex[:16]
        return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})

    def jwks(self) -> KeySetSerialization:
        """The public keys (JWKS document) tokens are verified with."""
        with self._lock:
            return self._keys.as_dict(private=False)

    def rotate_signing_key(self, *, keep_old_key: bool = False) -> str:
        """Sign new tokens with a fresh key and return its ``kid``.

        Without ``keep_old_key`` the old key leaves the JWKS, so tokens already issued stop validating:
        a resource server then answers 401 and a client must refresh (what happens when a real provider
        rotates keys).
        """
        kid = uuid.uuid4().hex[:16]
        new_key = self._new_signing_key(kid)
        with self._lock:
            keys = [new_key] + (list(self._keys.keys) if keep_old_key else [])
            self._signing_key = new_key
            self._keys = KeySet(keys)
        return kid

    def sign(self, claims: dict[str, Any], *, header: dict[str, Any] | None = None) -> str:
        """Sign arbitrary claims with the current key (tests use it to forge wrong-issuer/audience tokens)."""
        with self._lock:
            key = self._signing_key
        full_header = {"alg": "RS256", "kid": key.kid, "typ": "JWT", **(header or {})}
        return jwt.encode(full_header, claims, key)

    def _require_issuer(self) -> str:
        if self.issuer is None:
            raise RuntimeError("the identity provider has no issuer URL yet: start serving it first")
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
        session: Session | None = None,
    ) -> dict[str, Any]:
        lifetime = self.access_token_lifetime_s if access_token_lifetime_s is None else access_token_lifetime_s
        refresh_token = secrets.token_urlsafe(32)
        if session is None:
            session = Session(
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

    def verify_own_token(self, token: str) -> dict[str, Any]:
        """The claims of a token this provider signed (current JWKS, issuer, expiry); else :class:`OAuthError`."""
        with self._lock:
            keys = self._keys
        issuer = self.issuer
        if issuer is None:  # not serving yet: it cannot have issued any token
            raise OAuthError("invalid_token", "the access token is not valid: the provider has no issuer yet",
                             status=401)
        try:
            decoded = jwt.decode(token, keys, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": issuer}, exp={"essential": True}
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise OAuthError("invalid_token", f"the access token is not valid: {exc}", status=401) from None
        return decoded.claims

    # ------------------------------------------------------------------ device flow (Python side)

    def _new_user_code(self) -> str:
        while True:
            raw = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
            if raw not in self._grants_by_user_code:
                return raw

    def _grant_for_user_code(self, user_code: str) -> DeviceGrant:
        grant = self._grants_by_user_code.get(normalize_user_code(user_code))
        if grant is None or grant.state != "pending" or time.monotonic() >= grant.expires_at:
            raise BadParameterError(
                f"user code {user_code!r} is not a pending device login (unknown, expired or already used); "
                f"pending codes: {self._pending_locked()}"
            )
        return grant

    def _pending_locked(self) -> list[str]:
        now = time.monotonic()
        return [
            format_user_code(code)
            for code, grant in self._grants_by_user_code.items()
            if grant.state == "pending" and now < grant.expires_at
        ]

    def sessions(self) -> list[Session]:
        """The login sessions alive now (one per refresh token), oldest first.

        Returns
        -------
        list of Session
            A snapshot; their ``repr`` shows who is logged in, never a token.
        """
        with self._lock:
            return list(self._sessions_by_refresh_token.values())

    def device_grants(self) -> list[DeviceGrant]:
        """Every device authorization started since the provider was made, oldest first, each with its state.

        Returns
        -------
        list of DeviceGrant
            A snapshot; their ``repr`` leaves the device code (the client's polling secret) out.
        """
        with self._lock:
            return list(self._grants_by_device_code.values())

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

    def device_authorization(self, form: dict[str, str]) -> dict[str, Any]:
        """Start a device login (RFC 8628 3.1-3.2): the device-authorization endpoint's answer to ``form``."""
        client_id = form.get("client_id", "")
        if client_id != self.client_id:
            raise OAuthError("invalid_client", f"unknown client_id {client_id!r}", status=401)
        challenge = form.get("code_challenge")
        method = form.get("code_challenge_method")
        if challenge is None and self.require_pkce:
            raise OAuthError("invalid_request", "PKCE is required: send code_challenge with method S256")
        if challenge is not None and method != "S256":
            raise OAuthError("invalid_request", f"code_challenge_method {method!r} is not supported; use S256")
        issuer = self._require_issuer()
        with self._changed:
            user_code = self._new_user_code()
            grant = DeviceGrant(
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
            self._announced_user_codes.append(format_user_code(user_code))
            self.stats.device.authorizations += 1
            self._changed.notify_all()
        formatted = format_user_code(user_code)
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

    def device_code_grant(self, form: dict[str, str]) -> dict[str, Any]:
        """One poll of the token endpoint with a device code: tokens, or the RFC 8628 3.5 :class:`OAuthError`."""
        with self._changed:
            self.stats.device.polls += 1
            grant = self._grants_by_device_code.get(form.get("device_code", ""))
            if grant is None or grant.state == "used":
                raise OAuthError("invalid_grant", "unknown or already used device_code")
            if form.get("client_id") != grant.client_id:
                raise OAuthError("invalid_client", "client_id does not match the device code", status=401)
            now = time.monotonic()
            if grant.state == "expired" or now >= grant.expires_at:
                grant.state = "expired"
                raise OAuthError("expired_token", "the device code has expired; start a new login")
            if grant.state == "denied":
                grant.state = "used"
                raise OAuthError("access_denied", "the user denied the login request")
            too_fast = grant.last_poll is not None and now - grant.last_poll < grant.interval_s
            grant.last_poll = now
            if grant.forced_slow_downs > 0 or too_fast:
                grant.forced_slow_downs = max(0, grant.forced_slow_downs - 1)
                grant.interval_s += SLOW_DOWN_INCREMENT_S
                self.stats.device.slow_down_answers += 1
                raise OAuthError("slow_down", f"polling too fast; wait {grant.interval_s:g} s between polls")
            if grant.state == "pending":
                self.stats.device.pending_answers += 1
                raise OAuthError("authorization_pending", "the user has not approved the login yet")
            # approved
            if grant.code_challenge is not None:
                verifier = form.get("code_verifier")
                if not verifier or create_s256_code_challenge(verifier) != grant.code_challenge:
                    raise OAuthError("invalid_grant", "PKCE verification failed: wrong or missing code_verifier")
            grant.state = "used"
            assert grant.identity is not None
            self.stats.device.tokens_issued += 1
            return self._issue_locked(grant.identity, grant.client_id, grant.scope)

    def refresh_grant(self, form: dict[str, str]) -> dict[str, Any]:
        """The refresh-token grant: new tokens, and the old refresh token stops working (rotation)."""
        with self._lock:
            session = self._sessions_by_refresh_token.get(form.get("refresh_token", ""))
            if session is None or session.revoked or time.time() >= session.refresh_expires_at:
                self.stats.refresh.refused += 1
                raise OAuthError("invalid_grant", "the refresh token is not valid (expired, revoked or used)")
            if form.get("client_id") != session.client_id:
                self.stats.refresh.refused += 1
                raise OAuthError("invalid_client", "client_id does not match the refresh token", status=401)
            self.stats.refresh.grants += 1
            return self._issue_locked(session.identity, session.client_id, session.scope, session=session)

    def end_session_for_refresh_token(self, refresh_token: str) -> bool:
        """Revoke the session of ``refresh_token``; False when no session has it."""
        with self._lock:
            session = self._sessions_by_refresh_token.pop(refresh_token, None)
            if session is None:
                return False
            session.revoked = True
            return True

    def end_session_by_sid(self, sid: str) -> None:
        """Revoke every refresh token of session ``sid`` (logout with an ``id_token_hint``)."""
        with self._lock:
            for token, session in list(self._sessions_by_refresh_token.items()):
                if session.sid == sid:
                    session.revoked = True
                    del self._sessions_by_refresh_token[token]
