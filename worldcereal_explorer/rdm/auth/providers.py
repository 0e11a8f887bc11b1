"""Token providers: the protocol the client uses, a fixed token, and the providers built from the environment."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ...config import ENV_RDM_REFRESH_TOKEN, ENV_RDM_TOKEN

if TYPE_CHECKING:
    from .device_auth import DeviceCodeAuth

__all__ = ["StaticTokenProvider", "TokenProvider", "default_interactive_provider", "token_provider_from_env"]

log = logging.getLogger(__name__)


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
    """A fixed access token (for example from ``$WORLDCEREAL_RDM_TOKEN``): no refresh, no login.

    Parameters
    ----------
    access_token
        The bearer token sent with every RDM request. It never shows in ``repr``/``str``; pickling keeps
        it (a Dask worker reading private files needs it).
    """

    def __init__(self, access_token: str):
        self._token = access_token

    def get_access_token(self, *, interactive: bool = False) -> str | None:
        """The token given at construction (``interactive`` changes nothing)."""
        return self._token

    def handle_unauthorized(self) -> bool:
        """A fixed token cannot be renewed: always ``False``."""
        return False

    def __repr__(self) -> str:  # never show the token
        return "StaticTokenProvider(access_token=<hidden>)"

    __str__ = __repr__


def token_provider_from_env(*, issuer: str | None = None, client_id: str | None = None) -> TokenProvider | None:
    """A provider from the environment, for headless use (batch jobs, CI, clusters), else ``None``.

    ``$WORLDCEREAL_RDM_TOKEN`` gives a :class:`StaticTokenProvider`; otherwise
    ``$WORLDCEREAL_RDM_REFRESH_TOKEN`` gives a :class:`~worldcereal_explorer.rdm.auth.DeviceCodeAuth` that
    exchanges the refresh token at the provider's token endpoint, refreshes as needed and never starts an
    interactive login.

    In served mode (:func:`~worldcereal_explorer.config.served_mode`: a dashboard under Voila) neither is
    used, unless ``single_person_server_remember_login`` is on: a token in the server's environment would
    be every visitor's, giving strangers the private data of whoever the token belongs to.

    Parameters
    ----------
    issuer, client_id
        For the refresh-token case (default: the configured OIDC issuer and client).
    """
    names = [name for name in (ENV_RDM_TOKEN, ENV_RDM_REFRESH_TOKEN) if os.environ.get(name)]
    if names:
        from ...config import token_cache_allowed

        if not token_cache_allowed():
            log.warning("%s is set but not used: the dashboard is served to whoever opens it, and a token "
                        "in the server's environment would be every visitor's; visitors log in themselves",
                        " and ".join(f"${name}" for name in names))
            return None
    token = os.environ.get(ENV_RDM_TOKEN)
    if token:
        return StaticTokenProvider(token)
    refresh_token = os.environ.get(ENV_RDM_REFRESH_TOKEN)
    if refresh_token:
        from .device_auth import DeviceCodeAuth

        return DeviceCodeAuth(
            issuer, client_id, refresh_token=refresh_token, use_cache=False, allow_device_flow=False
        )
    return None


def default_interactive_provider() -> DeviceCodeAuth:
    """The provider the client creates when private data is requested and none was given.

    A :class:`~worldcereal_explorer.rdm.auth.DeviceCodeAuth` with the configured issuer and client id
    (env vars, else the Copernicus Data Space defaults). In personal use it has the token cache, so a
    cached session is reused; in served mode (Voila) its tokens stay in this kernel and end with it.
    """
    from .device_auth import DeviceCodeAuth

    return DeviceCodeAuth()
