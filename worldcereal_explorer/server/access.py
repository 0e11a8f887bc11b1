"""Who may see which collection, and short-lived signed URLs for files that are not public.

The rules are pure functions of a collection's :class:`AccessPolicy` and the caller's
:class:`Principal` (``None`` when no token was sent), so they are unit-tested without a server.
The server turns :class:`AccessDecision` values into HTTP status codes:

* Public collections: everyone may see them.
* Private collections: only the owner (``sub`` equal to the policy's owner).
* Restricted collections: the owner, or a member of one of the policy's groups.
* No token on a non-public collection: ``UNAUTHENTICATED``; a principal who may not see it: ``NOT_FOUND``.
  The server answers both with the same HTTP 404 as for an id that does not exist, so that nobody can
  confirm that a private id exists (a client that gets a 404 for an id it expects can offer a login).

Token validation itself is pluggable: ``create_app(token_validator=...)`` takes any callable that
maps a bearer token to a :class:`Principal` and raises on an invalid token.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..errors import BadParameterError

__all__ = [
    "PUBLIC",
    "PRIVATE",
    "RESTRICTED",
    "Principal",
    "TokenValidator",
    "AccessPolicy",
    "AccessDecision",
    "decide_access",
    "may_see",
    "SignatureError",
    "UrlSigner",
    "DEFAULT_URL_LIFETIME_S",
]

PUBLIC = "Public"
PRIVATE = "Private"
RESTRICTED = "Restricted"

#: Lifetime of signed file URLs: long enough to start a download, short enough that a leaked link dies soon.
DEFAULT_URL_LIFETIME_S = 15 * 60


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, as a token validator reports it.

    Parameters
    ----------
    sub
        The subject (user id) claim; compared with a collection's owner.
    groups
        Group claims; compared with a restricted collection's groups.
    name
        Display name, for messages only.
    """

    sub: str
    groups: frozenset[str] = field(default_factory=frozenset)
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.sub, str) or not self.sub:
            raise BadParameterError(f"principal sub {self.sub!r} is not allowed; it must be a non-empty string")
        if not isinstance(self.groups, frozenset):
            object.__setattr__(self, "groups", frozenset(self.groups))


#: ``token -> Principal``; raises (any exception) when the token is not valid.
TokenValidator = Callable[[str], Principal]


@dataclass(frozen=True)
class AccessPolicy:
    """A collection's access type plus, for non-public ones, its owner and groups (``access.json``)."""

    access_type: str = PUBLIC
    owner: str | None = None
    groups: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.access_type not in (PUBLIC, PRIVATE, RESTRICTED):
            raise BadParameterError(
                f"access type {self.access_type!r} is not allowed; allowed: {PUBLIC}, {PRIVATE}, {RESTRICTED}"
            )
        if not isinstance(self.groups, frozenset):
            object.__setattr__(self, "groups", frozenset(self.groups))

    @property
    def is_public(self) -> bool:
        """True for public collections (no token, plain file URLs)."""
        return self.access_type == PUBLIC

    @classmethod
    def from_json(cls, access_type: str, access: dict | None) -> AccessPolicy:
        """Build from a collection's ``accessType`` and its ``access.json`` content (may be ``None``)."""
        access = access or {}
        groups: Iterable[str] = access.get("groups") or ()
        if isinstance(groups, str):
            groups = (groups,)
        return cls(access_type=access_type, owner=access.get("owner") or None, groups=frozenset(groups))


class AccessDecision(enum.Enum):
    """Outcome of :func:`decide_access`."""

    ALLOW = "allow"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"


def may_see(policy: AccessPolicy, principal: Principal | None) -> bool:
    """True when ``principal`` (``None`` = anonymous) may see a collection with ``policy``."""
    if policy.is_public:
        return True
    if principal is None:
        return False
    if policy.owner is not None and principal.sub == policy.owner:
        return True
    if policy.access_type == RESTRICTED:
        return bool(policy.groups & principal.groups)
    return False


def decide_access(policy: AccessPolicy, principal: Principal | None) -> AccessDecision:
    """Decide what a request for one collection gets (both denials are answered with the same 404)."""
    if may_see(policy, principal):
        return AccessDecision.ALLOW
    if principal is None:
        return AccessDecision.UNAUTHENTICATED
    return AccessDecision.NOT_FOUND


class SignatureError(Exception):
    """A signed URL is missing its signature, has expired or was tampered with."""


class UrlSigner:
    """HMAC-SHA256 signatures binding a URL path to an expiry time.

    A signed URL carries ``?expires=<unix seconds>&sig=<hex>``; the signature covers the exact path
    and the expiry, so neither can be changed without the key. Readers that cannot send headers
    (DuckDB, fsspec, a browser) can still fetch a private file for the URL's short lifetime.

    Parameters
    ----------
    key
        Secret key; a random 32-byte key when ``None`` (URLs then die with the process).
    lifetime_s
        Seconds a freshly signed URL stays valid.
    """

    def __init__(self, key: bytes | str | None = None, *, lifetime_s: float = DEFAULT_URL_LIFETIME_S):
        if key is None:
            key = secrets.token_bytes(32)
        elif isinstance(key, str):
            key = key.encode("utf-8")
        if not key:
            raise BadParameterError("url signing key is empty; give a non-empty key or None for a random one")
        if lifetime_s <= 0:
            raise BadParameterError(f"signed URL lifetime {lifetime_s!r} s is not allowed; it must be > 0")
        self._key = bytes(key)
        self.lifetime_s = lifetime_s

    def __repr__(self) -> str:
        # Never the key: a repr ends up in logs and tracebacks.
        return f"UrlSigner(lifetime_s={self.lifetime_s!r})"

    def _digest(self, path: str, expires: int) -> str:
        message = f"{path}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def sign(self, path: str, *, now: float | None = None) -> dict[str, str]:
        """Return the query parameters (``expires``, ``sig``) that make ``path`` fetchable until expiry."""
        now = time.time() if now is None else now
        expires = int(now + self.lifetime_s)
        return {"expires": str(expires), "sig": self._digest(path, expires)}

    def verify(self, path: str, expires: str | None, sig: str | None, *, now: float | None = None) -> None:
        """Raise :class:`SignatureError` unless ``sig`` is a valid, unexpired signature of ``path``."""
        if not expires or not sig:
            raise SignatureError("this file is not public: its URL needs the 'expires' and 'sig' parameters "
                                 "of a signed download URL (ask /collections/{id}/download for one)")
        try:
            expires_at = int(expires)
        except ValueError:
            raise SignatureError(f"signed URL parameter expires={expires!r} is not a unix time") from None
        if not hmac.compare_digest(self._digest(path, expires_at), sig.lower()):
            raise SignatureError("signed URL signature does not match its path and expiry")
        now = time.time() if now is None else now
        if now > expires_at:
            raise SignatureError("signed URL has expired; ask /collections/{id}/download for a fresh one")
