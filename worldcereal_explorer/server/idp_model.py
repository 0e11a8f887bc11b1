"""The local OpenID Connect provider's data: identities, device grants, sessions, counters, errors.

The grant and session records hold secrets (device codes, refresh tokens): those fields are left out of
``repr``, so printing or logging a record never shows one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEVICE_CODE_GRANT",
    "SLOW_DOWN_INCREMENT_S",
    "DEMO_IDENTITY",
    "KNOWN_IDENTITIES",
    "PARTNER_IDENTITY",
    "Identity",
    "DeviceGrant",
    "Session",
    "DeviceFlowStats",
    "RefreshStats",
    "ProviderStats",
    "OAuthError",
    "normalize_user_code",
    "format_user_code",
    "USER_CODE_ALPHABET",
]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 section 3.5: a client told to slow down adds 5 seconds to its polling interval.
SLOW_DOWN_INCREMENT_S = 5.0
#: RFC 8628 section 6.1: user codes from a consonant-only alphabet (no vowels, so no words; no 0/O, 1/I).
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


@dataclass(frozen=True)
class Identity:
    """Who approved a device code: the claims the provider puts into the tokens it issues."""

    sub: str
    groups: tuple[str, ...] = ()
    name: str | None = None
    preferred_username: str | None = None

    def claims(self) -> dict[str, Any]:
        """The token claims for this identity (``sub``, ``groups``, ``preferred_username``, ``name``)."""
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
#: The second demo user (owner of the restricted demo collection, a consortium member): a second visitor.
PARTNER_IDENTITY = Identity(sub="partner-user", groups=("worldcereal-consortium",), name="Partner User",
                            preferred_username="partner-user")
#: The identities the verification page offers by name, so two people can log in as two users.
KNOWN_IDENTITIES = {identity.sub: identity for identity in (DEMO_IDENTITY, PARTNER_IDENTITY)}


@dataclass
class DeviceGrant:
    """One device login. The device code is the client's secret for polling: kept out of ``repr``."""

    device_code: str = field(repr=False)
    user_code: str
    client_id: str
    scope: str
    code_challenge: str | None = field(repr=False)
    expires_at: float  # time.monotonic()
    interval_s: float
    last_poll: float | None = None
    forced_slow_downs: int = 0
    state: str = "pending"  # pending | approved | denied | expired | used
    identity: Identity | None = None


@dataclass
class Session:
    """One login: the refresh token currently valid for it, and who it belongs to."""

    sid: str
    client_id: str
    scope: str
    identity: Identity
    refresh_token: str = field(repr=False)  # a bearer secret: never in repr/str, so never in a log line
    refresh_expires_at: float  # time.time()
    revoked: bool = False


@dataclass
class DeviceFlowStats:
    """What the provider saw of device logins."""

    authorizations: int = 0
    """Device authorizations granted (each starts one login)."""
    polls: int = 0
    """Token requests with the device-code grant, whatever the answer."""
    pending_answers: int = 0
    """Polls answered ``authorization_pending`` (the user has not approved yet)."""
    slow_down_answers: int = 0
    """Polls answered ``slow_down`` (the client polled sooner than its interval)."""
    tokens_issued: int = 0
    """Device-code polls that got tokens."""


@dataclass
class RefreshStats:
    """What the provider saw of refresh-token grants."""

    grants: int = 0
    """Grants that got new tokens."""
    refused: int = 0
    """Grants refused (expired, revoked or unknown token, or another client's)."""


@dataclass
class ProviderStats:
    """Counters a test can assert on (how the client behaved, seen from the provider)."""

    device: DeviceFlowStats = field(default_factory=DeviceFlowStats)
    refresh: RefreshStats = field(default_factory=RefreshStats)
    revocations: int = 0
    """Revocation requests that ended a session (RFC 7009 answers 200 to unknown tokens too)."""
    end_sessions: int = 0
    """Logout (end-session) requests that ended a session."""
    userinfo_requests: int = 0
    """Userinfo requests, answered or refused."""


class OAuthError(Exception):
    """An OAuth 2.0 error answer: ``error`` code, ``error_description`` and HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def normalize_user_code(user_code: str) -> str:
    """``bcdf-ghjk`` -> ``BCDFGHJK``: how a typed user code is looked up."""
    return "".join(ch for ch in str(user_code).upper() if ch.isalnum())


def format_user_code(raw: str) -> str:
    """``BCDFGHJK`` -> ``BCDF-GHJK`` (how user codes are shown and typed)."""
    return f"{raw[:4]}-{raw[4:]}"
