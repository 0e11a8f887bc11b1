"""The OAuth 2.0 device authorization grant (RFC 8628) with PKCE S256 (RFC 7636): one login, start to tokens.

:func:`run_device_flow` asks the provider for a device code, shows the person the link and user code
(:class:`DeviceAuthorization`), and polls the token endpoint until the login is approved, denied, expires or
is cancelled. Session keeping (refresh, cache, logout) is :class:`~worldcereal_explorer.rdm.auth.DeviceCodeAuth`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ...errors import AuthenticationError, QueryCancelledError, RdmTimeoutError
from ...transport.http import AnyEvent, CallScope, Cancellable, Secret
from .errors import LoginCancelledError
from .oidc import OidcProvider, oauth_error_text
from .tokens import TokenSet

__all__ = [
    "DEVICE_CODE_GRANT",
    "SLOW_DOWN_INCREMENT_S",
    "DeviceAuthorization",
    "print_device_instructions",
    "run_device_flow",
]

log = logging.getLogger(__name__)

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 section 3.5: after ``slow_down`` the polling interval grows by 5 seconds for good.
SLOW_DOWN_INCREMENT_S = 5.0
#: RFC 8628 section 3.2: the interval when the provider does not send one.
DEFAULT_INTERVAL_S = 5.0


@dataclass(frozen=True)
class DeviceAuthorization:
    """What a person needs to approve a device login: where to go and which code to enter.

    Deliberately holds no secret (the device code stays inside :func:`run_device_flow`), so it can be
    shown, logged or put into a widget. The user code is meant to be shown.

    Attributes
    ----------
    verification_uri
        The page where the code is entered.
    user_code
        The code the person types (or finds filled in at :attr:`link`).
    expires_in_s
        Seconds the code is valid for.
    interval_s
        Seconds between polls of the token endpoint (grows after a ``slow_down`` answer).
    verification_uri_complete
        The page with the code filled in, when the provider offers it.
    """

    verification_uri: str
    user_code: str
    expires_in_s: float
    interval_s: float
    verification_uri_complete: str | None = None

    @property
    def link(self) -> str:
        """The link to open: the one with the code filled in when the provider offers it."""
        return self.verification_uri_complete or self.verification_uri

    def instructions(self) -> str:
        """One line telling the person what to do (link and user code only)."""
        minutes = max(1, round(self.expires_in_s / 60))
        return (
            f"To log in, open {self.link} and enter the code {self.user_code} "
            f"(valid for about {minutes} min)."
        )


def print_device_instructions(authorization: DeviceAuthorization) -> None:
    """Default ``display`` callback: print the verification link and the user code (never a token)."""
    print(authorization.instructions(), flush=True)


def run_device_flow(
    provider: OidcProvider,
    *,
    scopes: tuple[str, ...],
    display: Callable[[DeviceAuthorization], None],
    cancel_event: Cancellable | None = None,
    progress: Callable[[float], None] | None = None,
    on_authorization: Callable[[DeviceAuthorization], None] | None = None,
    max_poll_time_s: float = 300.0,
    slow_down_increment_s: float = SLOW_DOWN_INCREMENT_S,
) -> TokenSet:
    """Run one device login and return its tokens.

    Parameters
    ----------
    provider
        The identity provider (discovery gives the device authorization and token endpoints).
    scopes
        Scopes to request.
    display
        Called once with the :class:`DeviceAuthorization` to show.
    cancel_event
        When set (from any thread) the login stops at once, even in the middle of a request or a wait.
    progress
        Called before each poll with the seconds left before the code expires.
    on_authorization
        Called with the current :class:`DeviceAuthorization` when the login starts and whenever it changes
        (the interval after ``slow_down``), before ``display``.
    max_poll_time_s
        Give up after this long even when the device code lives longer.
    slow_down_increment_s
        Seconds added to the interval after each ``slow_down`` answer (RFC 8628: 5).

    Raises
    ------
    LoginCancelledError
        ``cancel_event`` was set.
    AuthenticationError
        Denied, expired or refused login.
    IdentityProviderUnreachableError
        The provider could not be reached.
    """
    # No deadline for the login as a whole until the provider says how long the code lives.
    login_scope = CallScope(deadline_s=None, cancel_event=AnyEvent(cancel_event), what="the device login")
    try:
        return _run(provider, login_scope, scopes=scopes, display=display, progress=progress,
                    on_authorization=on_authorization, max_poll_time_s=max_poll_time_s,
                    slow_down_increment_s=slow_down_increment_s)
    except QueryCancelledError:
        raise LoginCancelledError("the device login was cancelled") from None


def _run(
    provider: OidcProvider,
    login_scope: CallScope,
    *,
    scopes: tuple[str, ...],
    display: Callable[[DeviceAuthorization], None],
    progress: Callable[[float], None] | None,
    on_authorization: Callable[[DeviceAuthorization], None] | None,
    max_poll_time_s: float,
    slow_down_increment_s: float,
) -> TokenSet:
    metadata = provider.metadata(parent=login_scope)
    code_verifier = Secret(generate_token(64))  # RFC 7636: 43-128 unreserved characters
    status, body = provider.post_form(
        metadata["device_authorization_endpoint"],
        {
            "client_id": provider.client_id,
            "scope": " ".join(scopes),
            "code_challenge": create_s256_code_challenge(code_verifier.value),
            "code_challenge_method": "S256",
        },
        parent=login_scope,
    )
    if status != 200 or "device_code" not in body:
        raise AuthenticationError(
            f"the identity provider {provider.issuer!r} refused to start a device login: {oauth_error_text(body)}",
            status=status,
        )
    device_code = Secret(str(body.pop("device_code")))
    expires_in = float(body.get("expires_in") or max_poll_time_s)
    interval = float(body.get("interval") or DEFAULT_INTERVAL_S)
    authorization = DeviceAuthorization(
        verification_uri=body.get("verification_uri") or body.get("verification_url", ""),
        verification_uri_complete=body.get("verification_uri_complete"),
        user_code=body.get("user_code", ""),
        expires_in_s=expires_in,
        interval_s=interval,
    )
    if on_authorization is not None:
        on_authorization(authorization)
    display(authorization)

    budget = min(expires_in, max_poll_time_s)
    poll_scope = CallScope(deadline_s=budget, cancel_event=None, what="the device login", parent=login_scope)
    while True:
        try:
            poll_scope.wait(interval)
            left = poll_scope.remaining() or 0.0
            if progress is not None:
                progress(left)
            status, body = provider.post_form(
                metadata["token_endpoint"],
                {
                    "grant_type": DEVICE_CODE_GRANT,
                    "device_code": device_code,
                    "client_id": provider.client_id,
                    "code_verifier": code_verifier,
                },
                parent=poll_scope,
            )
        except RdmTimeoutError:
            if not poll_scope.tripped or poll_scope.reason != "deadline":
                raise
            raise AuthenticationError(
                f"the device login was not approved within {budget:g} s; the code has expired, "
                "start the login again"
            ) from None
        if status == 200 and "access_token" in body:
            return TokenSet.from_token_response(body)
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += slow_down_increment_s
            log.debug("identity provider asked to slow down; polling every %g s", interval)
            if on_authorization is not None:
                on_authorization(replace(authorization, interval_s=interval))
            continue
        if error == "access_denied":
            raise AuthenticationError(f"the login was denied at the identity provider {provider.issuer!r}",
                                      status=status)
        if error == "expired_token":
            raise AuthenticationError(
                "the device code expired before the login was approved; start the login again", status=status
            )
        raise AuthenticationError(
            f"the identity provider {provider.issuer!r} refused the device login: {oauth_error_text(body)}",
            status=status,
        )
