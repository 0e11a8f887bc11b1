"""Authentication for the RDM: the token-provider protocol the client uses, and env-var tokens.

The OIDC device flow (RFC 8628 + PKCE), refresh and the token cache are added by the auth work
(issue 5) behind the same :class:`TokenProvider` protocol, so the client does not change.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

from ..config import ENV_RDM_TOKEN


@runtime_checkable
class TokenProvider(Protocol):
    """What :class:`~worldcereal_explorer.rdm.client.RdmClient` needs from an authentication source."""

    def get_access_token(self, *, interactive: bool = False) -> str | None:
        """Return a valid access token, refreshing it when close to expiry.

        With ``interactive=True`` and no session yet, run the login flow first; otherwise return
        ``None`` when there is no token (anonymous access).
        """

    def handle_unauthorized(self) -> bool:
        """Called once after a 401 on a request that carried a token; return True if a new token is ready."""


class StaticTokenProvider:
    """A fixed access token (for example from ``$WORLDCEREAL_RDM_TOKEN``): no refresh, no login."""

    def __init__(self, access_token: str):
        self._token = access_token

    def get_access_token(self, *, interactive: bool = False) -> str | None:
        return self._token

    def handle_unauthorized(self) -> bool:
        return False

    def __repr__(self) -> str:  # never show the token
        return "StaticTokenProvider(access_token=<hidden>)"


def token_provider_from_env() -> TokenProvider | None:
    """A provider for ``$WORLDCEREAL_RDM_TOKEN`` when it is set, else ``None``."""
    token = os.environ.get(ENV_RDM_TOKEN)
    return StaticTokenProvider(token) if token else None
