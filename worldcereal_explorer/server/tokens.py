"""Bearer-token validation for the local RDM server: a signed JWT in, a :class:`Principal` out.

:class:`JwtTokenValidator` is the ``token_validator`` that :func:`~worldcereal_explorer.server.create_app`
takes. It checks what a resource server must check before trusting an OIDC access token:

* the signature, against the provider's JWKS (cached for ``jwks_cache_ttl_s``, fetched again early
  when a token names an unknown ``kid``, as after a key rotation, at most once per
  ``jwks_refetch_interval_s``);
* the algorithm, from an allow-list of asymmetric algorithms, so ``alg=none`` and the HS256-with-the-
  public-key confusion are refused before any key is used;
* ``exp`` (required), ``nbf``/``iat`` when present, ``iss`` (equal to the issuer), and the audience:
  ``aud`` contains it or ``azp`` equals it (Keycloak puts the client in ``azp``);
* that it is not an ID token (``typ: ID``) presented as an access token.

Every failure raises :class:`InvalidTokenError` (an :class:`~worldcereal_explorer.errors.AuthenticationError`)
whose message says what is wrong and never contains the token; the server answers 401 with it.

Example
-------
>>> validator = JwtTokenValidator(idp.issuer, audience="openeo-worldcereal-rdm")    # doctest: +SKIP
>>> app = create_app(catalog_dir, token_validator=validator)                       # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import requests
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwk import KeySet, KeySetSerialization

from ..errors import AuthenticationError, BadParameterError
from .access import Principal

#: Asymmetric JWS algorithms only: a symmetric algorithm would let anyone holding the public key sign.
DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_SYMMETRIC = ("HS256", "HS384", "HS512", "none")


class InvalidTokenError(AuthenticationError):
    """A bearer token was refused (bad signature, expired, wrong issuer or audience, bad algorithm...)."""

    def __init__(self, message: str):
        super().__init__(message, status=401)


class JwtTokenValidator:
    """Validate OIDC access tokens (signed JWTs) and turn them into :class:`Principal` objects.

    Parameters
    ----------
    issuer
        The expected ``iss`` claim (the OIDC issuer URL, without trailing slash).
    audience
        The client id the tokens must be meant for: in ``aud``, or equal to ``azp``.
    jwks_url
        Where to fetch the provider's keys; default: the ``jwks_uri`` of the issuer's discovery document.
    jwks
        A fixed JWKS document instead of fetching one (never refetched).
    algorithms
        Accepted JWS algorithms; symmetric ones and ``none`` are not allowed.
    leeway_s
        Clock skew tolerated on ``exp``/``nbf``/``iat``.
    jwks_cache_ttl_s
        Keys are fetched again after this long, so keys the provider withdrew stop being trusted.
    jwks_refetch_interval_s
        Minimum time between two JWKS fetches triggered by unknown key ids (so that a stream of forged
        ``kid`` values cannot make the server hammer the provider).
    timeout_s
        Timeout of the discovery and JWKS requests.
    groups_claim
        The claim that lists the caller's groups (consortium membership).
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        *,
        jwks: KeySetSerialization | None = None,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway_s: float = 30.0,
        jwks_cache_ttl_s: float = 300.0,
        jwks_refetch_interval_s: float = 10.0,
        timeout_s: float = 5.0,
        groups_claim: str = "groups",
    ):
        if not issuer or not audience:
            raise BadParameterError(
                f"issuer={issuer!r} and audience={audience!r} are not allowed: both must be non-empty strings"
            )
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.algorithms = tuple(algorithms)
        bad = [alg for alg in self.algorithms if alg in _SYMMETRIC or alg.startswith("HS")]
        if bad or not self.algorithms:
            raise BadParameterError(
                f"algorithms {bad or self.algorithms!r} are not allowed for access tokens; "
                f"use asymmetric ones such as {', '.join(DEFAULT_ALGORITHMS)}"
            )
        self.jwks_url = jwks_url
        self.leeway_s = int(leeway_s)
        self.jwks_cache_ttl_s = float(jwks_cache_ttl_s)
        self.jwks_refetch_interval_s = float(jwks_refetch_interval_s)
        self.timeout_s = float(timeout_s)
        self.groups_claim = groups_claim
        self._static = jwks is not None
        self._keys: KeySet | None = KeySet.import_key_set(jwks) if jwks is not None else None
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        #: How many times the JWKS was fetched (tests assert the cache works).
        self.jwks_fetches = 0

    def __repr__(self) -> str:
        return f"JwtTokenValidator(issuer={self.issuer!r}, audience={self.audience!r})"

    # ------------------------------------------------------------------ keys

    def _resolve_jwks_url(self) -> str:
        if self.jwks_url:
            return self.jwks_url
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=self.timeout_s)
            response.raise_for_status()
            jwks_uri = response.json()["jwks_uri"]
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise InvalidTokenError(
                f"cannot check tokens: the issuer's discovery document {url} gave no jwks_uri "
                f"({type(exc).__name__})"
            ) from None
        self.jwks_url = jwks_uri
        return jwks_uri

    def _fetch_keys_locked(self) -> None:
        url = self._resolve_jwks_url()
        try:
            response = requests.get(url, timeout=self.timeout_s)
            response.raise_for_status()
            keys = KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError, JoseError) as exc:
            raise InvalidTokenError(f"cannot check tokens: fetching the JWKS {url} failed ({type(exc).__name__})") \
                from None
        self._keys = keys
        self._fetched_at = time.monotonic()
        self.jwks_fetches += 1

    def _keys_for(self, kid: str | None) -> KeySet:
        with self._lock:
            age = None if self._fetched_at is None else time.monotonic() - self._fetched_at
            if self._keys is None or (not self._static and age is not None and age >= self.jwks_cache_ttl_s):
                self._fetch_keys_locked()
            elif not self._static and kid is not None and not _has_kid(self._keys, kid):
                recently = (
                    self._fetched_at is not None
                    and time.monotonic() - self._fetched_at < self.jwks_refetch_interval_s
                )
                if not recently:  # the provider may have rotated its keys
                    self._fetch_keys_locked()
            assert self._keys is not None
            if kid is not None and not _has_kid(self._keys, kid):
                raise InvalidTokenError(f"token signed with unknown key id {kid!r} (not in the issuer's JWKS)")
            return self._keys

    # ------------------------------------------------------------------ validation

    def validate(self, token: str) -> dict[str, Any]:
        """Return the verified claims of ``token``; raise :class:`InvalidTokenError` if it is not acceptable."""
        if not isinstance(token, str) or token.count(".") != 2:
            raise InvalidTokenError("bearer token is not a JWT (expected three dot-separated parts)")
        try:
            header = jws.extract_compact(token.encode("ascii")).protected
        except (JoseError, ValueError, UnicodeError):
            raise InvalidTokenError("bearer token is not a well-formed JWT (undecodable header)") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise InvalidTokenError(f"token algorithm {alg!r} is not allowed; allowed: {', '.join(self.algorithms)}")
        kid = header.get("kid")
        keys = self._keys_for(kid if isinstance(kid, str) else None)
        try:
            decoded = jwt.decode(token, keys, algorithms=list(self.algorithms))
        except BadSignatureError:
            raise InvalidTokenError("token signature does not verify against the issuer's keys") from None
        except (JoseError, ValueError) as exc:
            raise InvalidTokenError(f"token could not be verified: {_jose_reason(exc)}") from None
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=self.leeway_s,
            iss={"essential": True, "value": self.issuer},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise InvalidTokenError("token has expired") from None
        except MissingClaimError as exc:
            raise InvalidTokenError(f"token lacks the required claim {exc.claim!r}") from None
        except JoseError as exc:
            if getattr(exc, "claim", None) == "iss":
                raise InvalidTokenError(
                    f"token issuer {claims.get('iss')!r} is not the expected issuer {self.issuer!r}"
                ) from None
            raise InvalidTokenError(f"token claims are not valid: {_jose_reason(exc)}") from None
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else list(aud or [])
        if self.audience not in audiences and claims.get("azp") != self.audience:
            raise InvalidTokenError(
                f"token is meant for audience {aud!r} (azp {claims.get('azp')!r}), not {self.audience!r}"
            )
        if claims.get("typ") == "ID":
            raise InvalidTokenError("an ID token was sent; send the access token")
        return claims

    def __call__(self, token: str) -> Principal:
        """Validate ``token`` and return who it belongs to (``sub``, groups, display name)."""
        claims = self.validate(token)
        raw_groups = claims.get(self.groups_claim) or []
        if isinstance(raw_groups, str):
            raw_groups = [raw_groups]
        # Keycloak's group mapper may send full paths ("/worldcereal-consortium").
        groups = frozenset(str(group).lstrip("/") for group in raw_groups if str(group).strip("/"))
        name = claims.get("preferred_username") or claims.get("name")
        return Principal(sub=str(claims["sub"]), groups=groups, name=str(name) if name else None)


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def _jose_reason(exc: Exception) -> str:
    # joserfc messages name the error and the claim, never the token itself.
    return str(exc)[:200] or type(exc).__name__


__all__ = ["DEFAULT_ALGORITHMS", "InvalidTokenError", "JwtTokenValidator"]
