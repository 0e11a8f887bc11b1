"""The tokens one login yields, and the unverified claims used to show who is logged in."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["USER_INFO_CLAIMS", "TokenSet", "unverified_claims"]

#: Claims shown as "logged in as"; everything else in a token stays out of reach of the UI.
USER_INFO_CLAIMS = ("sub", "preferred_username", "name", "email", "groups")

#: Lifetime assumed for an access token whose answer says nothing and that is not a JWT (seconds).
_FALLBACK_LIFETIME_S = 300.0


@dataclass
class TokenSet:
    """Access, refresh and ID token of one session, and when the access token expires.

    ``repr``/``str`` show neither token; :meth:`to_json` does (it is what the private cache file holds).
    """

    access_token: str
    expires_at: float  # epoch seconds (wall clock: the cache outlives the process)
    refresh_token: str | None = None
    id_token: str | None = None

    def __repr__(self) -> str:  # never show a token
        return f"TokenSet(expires_at={self.expires_at:.0f}, has_refresh_token={self.refresh_token is not None})"

    __str__ = __repr__

    def to_json(self) -> dict[str, Any]:
        """The tokens as a JSON-able dict (for the token cache only)."""
        return {
            "access_token": self.access_token,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "id_token": self.id_token,
        }

    @classmethod
    def from_json(cls, data: Any) -> TokenSet | None:
        """A token set from :meth:`to_json` output; ``None`` for anything else (a damaged cache entry)."""
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            return None
        return cls(
            access_token=data["access_token"],
            expires_at=float(data.get("expires_at") or 0),
            refresh_token=data.get("refresh_token"),
            id_token=data.get("id_token"),
        )

    @classmethod
    def from_token_response(cls, body: dict[str, Any]) -> TokenSet:
        """A token set from a token endpoint's answer (RFC 6749 section 5.1)."""
        access_token = body["access_token"]
        if body.get("expires_in") is not None:
            expires_at = time.time() + float(body["expires_in"])
        else:
            expires_at = float(unverified_claims(access_token).get("exp") or time.time() + _FALLBACK_LIFETIME_S)
        return cls(
            access_token=access_token,
            expires_at=expires_at,
            refresh_token=body.get("refresh_token"),
            id_token=body.get("id_token"),
        )

    def user_info(self) -> dict[str, Any]:
        """The :data:`USER_INFO_CLAIMS` of the ID token (else of the access token) that are present."""
        claims = unverified_claims(self.id_token) or unverified_claims(self.access_token)
        return {key: claims[key] for key in USER_INFO_CLAIMS if key in claims}


def unverified_claims(token: str | None) -> dict[str, Any]:
    """The payload of a JWT, unverified: only used to show who is logged in and when the token expires.

    The token came straight from the provider's token endpoint, so it is trusted for display; access
    decisions are the resource server's, which verifies the signature.

    Parameters
    ----------
    token
        A compact JWS, or anything else (opaque tokens give ``{}``).

    Returns
    -------
    dict
        The claims, or ``{}`` when ``token`` is not a readable JWT.
    """
    if not token or token.count(".") != 2:
        return {}
    from joserfc import jws

    try:
        payload = jws.extract_compact(token.encode("ascii")).payload
        claims = json.loads(payload)
    except Exception:  # opaque (non-JWT) tokens are allowed by OAuth
        return {}
    return claims if isinstance(claims, dict) else {}
