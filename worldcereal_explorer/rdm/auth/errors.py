"""Errors of the authentication layer (all of them :class:`~worldcereal_explorer.errors.AuthenticationError`)."""

from __future__ import annotations

from ...errors import AuthenticationError, RdmConnectionError

__all__ = ["IdentityProviderUnreachableError", "LoginCancelledError", "RefreshRefusedError"]


class IdentityProviderUnreachableError(AuthenticationError, RdmConnectionError):
    """The identity provider could not be reached (refused, DNS, timeout) within the connect timeout."""


class LoginCancelledError(AuthenticationError):
    """The device login was cancelled by the caller (cancel event set, for example the widget's button)."""


class RefreshRefusedError(AuthenticationError):
    """The provider refused the refresh token (expired, revoked): a new login is needed.

    Internal: :class:`~worldcereal_explorer.rdm.auth.DeviceCodeAuth` turns it into "logged out" (or a
    clear error for headless sessions). Its message names the OAuth error, never the token.
    """
