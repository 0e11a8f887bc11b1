"""What every route needs: the app's configuration (:class:`ServerContext`) and the shared dependencies
(who is calling, which collection they may see, signed file URLs).

Routers find the context at ``request.app.state.ctx``, so one router module serves any number of apps.
"""

# No "from __future__ import annotations": FastAPI resolves the Annotated[...] dependencies at runtime.
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import Depends, Request

from .access import AccessDecision, Principal, TokenValidator, UrlSigner, decide_access
from .api_errors import ApiError, collection_not_found
from .catalog import Catalog, CatalogEntry
from .faults import FailurePlay

__all__ = ["ServerContext", "get_context", "current_principal", "ContextDep", "PrincipalDep", "not_found"]


@dataclass
class ServerContext:
    """One app's configuration and collaborators.

    Attributes
    ----------
    catalog
        The served catalogue.
    signer
        Signs and verifies non-public file URLs (holds the secret key; not shown in ``repr``).
    base_url
        Base of the file URLs handed out; ``None``: each request's own base URL.
    token_validator
        ``token -> Principal``; ``None`` refuses every bearer token.
    play
        The failure play (:mod:`~worldcereal_explorer.server.faults`).
    """

    catalog: Catalog
    signer: UrlSigner = field(repr=False)
    base_url: str | None = None
    token_validator: TokenValidator | None = field(default=None, repr=False)
    play: FailurePlay = field(default_factory=FailurePlay)

    @property
    def synthetic(self) -> bool:
        """True when the catalogue says its data is synthetic."""
        return bool(self.catalog.info.get("synthetic", False))

    def visible_entry(self, collection_id: str, principal: Principal | None) -> CatalogEntry:
        """The collection, if ``principal`` may see it; else the same 404 as for an id that does not exist.

        Anonymous callers get that 404 too (not a 401): a 401 would confirm that a private id exists.
        """
        entry = self.catalog.get(collection_id)
        if entry is None or decide_access(entry.policy, principal) is not AccessDecision.ALLOW:
            raise not_found(collection_id)
        return entry

    def file_url(self, request: Request, entry: CatalogEntry, name: str) -> str:
        """The URL of one of ``entry``'s files; signed and short-lived unless the collection is public."""
        scope = "public" if entry.is_public else "private"
        path = f"/files/{scope}/{entry.collection_id}/{name}"
        base = self.base_url or str(request.base_url).rstrip("/")
        url = base + quote(path)
        if not entry.is_public:
            url += "?" + urlencode(self.signer.sign(path))
        return url


#: The one 404 for unknown and hidden collections alike (:func:`.api_errors.collection_not_found`).
not_found = collection_not_found


def get_context(request: Request) -> ServerContext:
    """FastAPI dependency: the app's :class:`ServerContext`."""
    return request.app.state.ctx


ContextDep = Annotated[ServerContext, Depends(get_context)]


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "<token>") if secret else text


def current_principal(request: Request, ctx: ContextDep) -> Principal | None:
    """FastAPI dependency: the caller's :class:`Principal`, ``None`` when no Authorization header was sent.

    Raises
    ------
    ApiError
        401 for a malformed header or a token the validator refuses (the message never echoes the token).
    """
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "Unauthorized", "the Authorization header must be 'Bearer <access token>'",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_request"'})
    if ctx.token_validator is None:
        raise ApiError(401, "Unauthorized",
                       "token validation not configured: this server only serves anonymous (public) requests",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    try:
        principal = ctx.token_validator(token)
    except Exception as exc:  # any validator failure means the token is not accepted
        reason = _scrub(str(exc), token) or type(exc).__name__
        raise ApiError(401, "Unauthorized", f"bearer token rejected: {reason}",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    if not isinstance(principal, Principal):
        raise ApiError(500, "InternalError", "token validator did not return a Principal")
    return principal


PrincipalDep = Annotated[Principal | None, Depends(current_principal)]
