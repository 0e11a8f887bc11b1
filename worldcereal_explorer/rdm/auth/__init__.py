"""Authentication for the RDM: the token-provider protocol the client uses, env tokens and OIDC device login.

The client (:class:`~worldcereal_explorer.rdm.client.RdmClient`) only knows :class:`TokenProvider`:
it asks for an access token (``interactive=True`` when private data is requested, which may start a
login) and calls :meth:`TokenProvider.handle_unauthorized` once after a 401. The providers here are

* :class:`StaticTokenProvider`: a fixed access token (``$WORLDCEREAL_RDM_TOKEN``), for batch jobs and CI;
* :class:`DeviceCodeAuth`: the OAuth 2.0 device authorization grant (RFC 8628) with PKCE S256 (RFC 7636)
  against an OpenID Connect provider discovered from ``{issuer}/.well-known/openid-configuration``
  (the Copernicus Data Space realm by default), refresh tokens used before expiry and after a 401,
  an optional token cache readable only by the user (mode 0600), and :meth:`DeviceCodeAuth.logout`.
  Given a refresh token (``$WORLDCEREAL_RDM_REFRESH_TOKEN``) it works headless, without the device flow.

Tokens are secrets: no repr, log line, exception message or widget value of this package contains one.

Modules: ``providers`` (protocol, static and env providers), ``tokens`` (token sets, claims),
``token_cache`` (the 0600 cache file), ``oidc`` (HTTP to the provider through
:class:`~worldcereal_explorer.transport.http.HttpTransport`), ``device_flow`` (one RFC 8628 login),
``device_auth`` (:class:`DeviceCodeAuth`, the session) and ``errors``.

Example
-------
>>> auth = DeviceCodeAuth()                      # doctest: +SKIP
>>> auth.login()                                 # prints the link and the user code, waits for approval
>>> auth.username
'jane'
"""

from __future__ import annotations

from .device_auth import DeviceCodeAuth
from .device_flow import (
    DEVICE_CODE_GRANT,
    SLOW_DOWN_INCREMENT_S,
    DeviceAuthorization,
    print_device_instructions,
)
from .errors import IdentityProviderUnreachableError, LoginCancelledError
from .oidc import default_policy
from .providers import (
    StaticTokenProvider,
    TokenProvider,
    default_interactive_provider,
    token_provider_from_env,
)
from .token_cache import CONFIG_APP_NAME, TOKEN_CACHE_FILENAME, TokenCache
from .tokens import USER_INFO_CLAIMS, TokenSet

#: The token set's former private name (kept for code that imported it from here).
_TokenSet = TokenSet

__all__ = [
    "CONFIG_APP_NAME",
    "DEVICE_CODE_GRANT",
    "SLOW_DOWN_INCREMENT_S",
    "TOKEN_CACHE_FILENAME",
    "USER_INFO_CLAIMS",
    "DeviceAuthorization",
    "DeviceCodeAuth",
    "IdentityProviderUnreachableError",
    "LoginCancelledError",
    "StaticTokenProvider",
    "TokenCache",
    "TokenProvider",
    "TokenSet",
    "default_interactive_provider",
    "default_policy",
    "print_device_instructions",
    "token_provider_from_env",
]
