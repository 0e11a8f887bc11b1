""":class:`DeviceCodeAuth`: an OIDC session for the client (device login, refresh, token cache, logout)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from ...config import (
    DEFAULT_OIDC_CLIENT_ID,
    DEFAULT_OIDC_ISSUER,
    ENV_OIDC_CLIENT_ID,
    ENV_OIDC_ISSUER,
    ENV_RDM_REFRESH_TOKEN,
    ENV_RDM_TOKEN,
)
from ...errors import AuthenticationError, BadParameterError
from ...transport.http import AnyEvent, HttpPolicy, HttpTransport
from .device_flow import (
    SLOW_DOWN_INCREMENT_S,
    DeviceAuthorization,
    print_device_instructions,
    run_device_flow,
)
from .errors import IdentityProviderUnreachableError, RefreshRefusedError
from .events import SessionEvents
from .oidc import OidcProvider, default_policy
from .token_cache import TokenCache
from .tokens import TokenSet

__all__ = ["DeviceCodeAuth"]

log = logging.getLogger(__name__)

_LOCAL_HTTP = ("http://127.0.0.1", "http://localhost", "http://[::1]")


class DeviceCodeAuth(SessionEvents):
    """OIDC login with the device authorization grant (RFC 8628) + PKCE S256, with refresh and a token cache.

    Implements :class:`~worldcereal_explorer.rdm.auth.TokenProvider`, so it can be given to
    ``RdmClient(token_provider=...)``; the client then logs in only when private data is requested.

    Parameters
    ----------
    issuer
        OIDC issuer URL; default ``$WORLDCEREAL_OIDC_ISSUER``, else the Copernicus Data Space realm.
    client_id
        Public OIDC client id; default ``$WORLDCEREAL_OIDC_CLIENT_ID``, else the RDM's client.
    scopes
        Scopes requested at login.
    display
        Called with a :class:`DeviceAuthorization` when a login starts, to show the link and the user code;
        default prints them. Widgets pass their own.
    use_cache
        Keep tokens in a cache file (mode 0600) so a new session does not need a new login. ``False``
        keeps them in memory only. ``None`` (the default) decides by
        :func:`~worldcereal_explorer.config.token_cache_allowed`: the cache in personal use (JupyterLab,
        JupyterHub, the CLI), memory only when the dashboard is served by Voila, where every page view
        runs as the same user and a shared cache would log each visitor in as the first.
    cache_path
        The cache file (default in the user config dir, see :class:`TokenCache`).
    refresh_token
        Start from this refresh token (headless use) instead of a login.
    allow_device_flow
        With ``False`` the provider never starts an interactive login (headless jobs): it raises
        :class:`~worldcereal_explorer.errors.AuthenticationError` instead.
    timeout
        ``(connect, read)`` seconds for requests to the provider. Refused connections are retried for about
        ``connect`` seconds; then :class:`IdentityProviderUnreachableError` is raised. Ignored when
        ``policy`` or ``transport`` is given.
    refresh_margin_s
        Refresh the access token when it expires within this many seconds.
    max_poll_time_s
        Give up waiting for approval after this long even if the device code lives longer.
    slow_down_increment_s
        Seconds added to the polling interval after each ``slow_down`` answer (RFC 8628 says 5; tests
        against a local provider use less).
    policy
        The HTTP policy for requests to the provider (default: :func:`~.oidc.default_policy` of ``timeout``).
    transport
        The transport to use (default: a new one with ``policy``); it must not add bearer tokens.
    """

    def __init__(
        self,
        issuer: str | None = None,
        client_id: str | None = None,
        *,
        scopes: tuple[str, ...] | list[str] = ("openid",),
        display: Callable[[DeviceAuthorization], None] | None = None,
        use_cache: bool | None = None,
        cache_path: str | os.PathLike[str] | None = None,
        refresh_token: str | None = None,
        allow_device_flow: bool = True,
        timeout: float | tuple[float, float] = (10.0, 30.0),
        refresh_margin_s: float = 30.0,
        max_poll_time_s: float = 300.0,
        slow_down_increment_s: float = SLOW_DOWN_INCREMENT_S,
        policy: HttpPolicy | None = None,
        transport: HttpTransport | None = None,
    ):
        super().__init__()
        self.issuer = (issuer or os.environ.get(ENV_OIDC_ISSUER) or DEFAULT_OIDC_ISSUER).rstrip("/")
        self.client_id = client_id or os.environ.get(ENV_OIDC_CLIENT_ID) or DEFAULT_OIDC_CLIENT_ID
        if not self.issuer.startswith(("https://", *_LOCAL_HTTP)):
            raise BadParameterError(
                f"OIDC issuer {self.issuer!r} is not allowed: use an https:// URL "
                "(plain http only for a provider on this machine)"
            )
        _check_seconds("refresh_margin_s", refresh_margin_s, zero_ok=True)
        _check_seconds("max_poll_time_s", max_poll_time_s, zero_ok=False)
        _check_seconds("slow_down_increment_s", slow_down_increment_s, zero_ok=True)
        self.scopes = tuple(scopes)
        self.display = display or print_device_instructions
        self.refresh_margin_s = float(refresh_margin_s)
        self.max_poll_time_s = float(max_poll_time_s)
        self.slow_down_increment_s = float(slow_down_increment_s)
        self.allow_device_flow = allow_device_flow
        if use_cache is None:
            from ...config import token_cache_allowed

            use_cache = token_cache_allowed()
        self.cache = TokenCache(cache_path) if use_cache else None
        if transport is None:
            transport = HttpTransport(policy if policy is not None else default_policy(timeout))
        self.transport = transport
        self._provider = OidcProvider(self.issuer, self.client_id, transport)
        self._state_lock = threading.RLock()
        self._login_lock = threading.Lock()
        self._tokens: TokenSet | None = None
        self._cache_loaded = False
        self._handed_out = threading.local()  # the token this thread last got, to spot concurrent refreshes
        self._login_cancel = threading.Event()
        #: The running device login's link and code (no secret), or ``None``: what a UI shows.
        self.pending_authorization: DeviceAuthorization | None = None
        #: Why the last login failed (a message without secrets), or ``None``.
        self.last_login_error: str | None = None
        if refresh_token:
            # Headless start: the first get_access_token() exchanges it at the token endpoint.
            self._tokens = TokenSet(access_token="", expires_at=0.0, refresh_token=refresh_token)
            self._cache_loaded = True  # an explicit token wins over the cache

    # ------------------------------------------------------------------ public state

    def __repr__(self) -> str:
        who = self.username
        state = f"logged_in_as={who!r}" if who else f"logged_in={self.is_logged_in}"
        return f"DeviceCodeAuth(issuer={self.issuer!r}, client_id={self.client_id!r}, {state})"

    __str__ = __repr__

    def __getstate__(self):  # a pickled copy (Dask, multiprocessing) would carry the tokens
        raise TypeError("DeviceCodeAuth holds tokens and cannot be pickled; pass a StaticTokenProvider instead")

    @property
    def cache_key(self) -> str:
        """The token cache entry of this session: issuer and client id."""
        return f"{self.issuer} {self.client_id}"

    @property
    def is_logged_in(self) -> bool:
        """Whether a session (an access or refresh token) is held."""
        self._load_cache_once()
        return self._tokens is not None

    @property
    def user_info(self) -> dict[str, Any]:
        """Who is logged in: ``sub``, ``preferred_username``, ``name``, ``email``, ``groups`` where known."""
        self._load_cache_once()
        tokens = self._tokens
        return {} if tokens is None else tokens.user_info()

    @property
    def username(self) -> str | None:
        """A name to show as "logged in as": ``preferred_username``, else ``name``, else ``sub``."""
        info = self.user_info
        return info.get("preferred_username") or info.get("name") or info.get("sub")

    @property
    def login_in_progress(self) -> bool:
        """Whether a device login is waiting for approval right now."""
        return self.pending_authorization is not None

    # ------------------------------------------------------------------ TokenProvider

    def get_access_token(self, *, interactive: bool = False) -> str | None:
        """Return a valid access token, refreshing or (``interactive=True``) logging in when needed.

        Returns ``None`` when there is no session and ``interactive`` is false (anonymous access).

        Raises
        ------
        AuthenticationError
            The login failed (denied, expired code, cancelled) or interactive login is disabled.
        IdentityProviderUnreachableError
            The identity provider did not answer.
        """
        token = self._current_or_refreshed_token()
        if token is None and interactive:
            self.login()
            token = self._current_or_refreshed_token()
        self._handed_out.token = token
        return token

    def handle_unauthorized(self) -> bool:
        """After a 401: refresh the access token once; True when a different token is ready to retry with."""
        with self._state_lock:
            tokens = self._tokens
            if tokens is None:
                return False
            handed_out = getattr(self._handed_out, "token", None)
            if handed_out is not None and tokens.access_token and tokens.access_token != handed_out:
                return True  # another thread already refreshed after the same failure
            if not tokens.refresh_token:
                return False
            try:
                self._refresh_locked()
            except RefreshRefusedError:
                self._drop_tokens_locked()
                return False
            return True

    def _current_or_refreshed_token(self) -> str | None:
        self._load_cache_once()
        with self._state_lock:
            tokens = self._tokens
            if tokens is None:
                return None
            if tokens.access_token and tokens.expires_at - time.time() > self.refresh_margin_s:
                return tokens.access_token
            if tokens.refresh_token:
                try:
                    return self._refresh_locked().access_token
                except IdentityProviderUnreachableError:
                    if tokens.access_token and tokens.expires_at > time.time():
                        # Early refresh failed but the token still works: use it, try again next time.
                        log.warning("could not refresh the access token early (identity provider unreachable)")
                        return tokens.access_token
                    raise
                except RefreshRefusedError:
                    self._drop_tokens_locked()
                    if not self.allow_device_flow:
                        raise AuthenticationError(
                            "the identity provider refused the refresh token (expired or revoked); "
                            f"supply a new one (${ENV_RDM_REFRESH_TOKEN}) or log in again"
                        ) from None
                    return None
            if tokens.access_token and tokens.expires_at > time.time():
                return tokens.access_token  # inside the margin but still valid, and nothing to refresh with
            self._drop_tokens_locked()
            return None

    # ------------------------------------------------------------------ login / logout

    def login(
        self,
        *,
        display: Callable[[DeviceAuthorization], None] | None = None,
        cancel_event: threading.Event | None = None,
        progress: Callable[[float], None] | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        """Run the device flow: show the link and code, poll until approved, keep the tokens.

        Only one login runs at a time; a caller arriving while another login runs waits for it and,
        unless ``force``, uses the session it opened instead of starting a second one.

        Parameters
        ----------
        display
            Overrides the instance's ``display`` callback for this login.
        cancel_event
            Set it (from another thread) to stop waiting; raises :class:`LoginCancelledError`.
        progress
            Called before each poll with the seconds left before the code expires.
        force
            Log in again even when a session is already open.

        Returns
        -------
        dict
            :attr:`user_info` of the new session.

        Raises
        ------
        AuthenticationError
            Denied, expired, refused or cancelled login, or interactive login disabled.
        IdentityProviderUnreachableError
            The identity provider did not answer.
        """
        if not self.allow_device_flow:
            raise AuthenticationError(
                "interactive login is disabled for this session (headless); supply a token in "
                f"${ENV_RDM_TOKEN} or a refresh token in ${ENV_RDM_REFRESH_TOKEN}"
            )
        with self._login_lock:
            self._load_cache_once()
            if self._tokens is not None and not force:
                return self.user_info
            self._login_cancel.clear()
            self.last_login_error = None
            try:
                tokens = run_device_flow(
                    self._provider,
                    scopes=self.scopes,
                    display=display or self.display,
                    cancel_event=AnyEvent(cancel_event, self._login_cancel),
                    progress=progress,
                    on_authorization=self._on_authorization,
                    max_poll_time_s=self.max_poll_time_s,
                    slow_down_increment_s=self.slow_down_increment_s,
                )
            except AuthenticationError as exc:
                self.last_login_error = str(exc)
                self._emit("login_failed")
                raise
            finally:
                self.pending_authorization = None
            with self._state_lock:
                self._store_tokens_locked(tokens)
        log.info("logged in to %s as %s", self.issuer, self.username)
        self._emit("logged_in")
        return self.user_info

    def _on_authorization(self, authorization: DeviceAuthorization) -> None:
        first = self.pending_authorization is None
        self.pending_authorization = authorization
        if first:
            self._emit("login_started")

    def cancel_login(self) -> None:
        """Stop a running device login (from any thread); it raises :class:`LoginCancelledError`."""
        self._login_cancel.set()

    def logout(self) -> None:
        """Forget the session: drop the tokens, delete them from the cache, and end the session at the provider.

        The provider is told through its revocation endpoint (RFC 7009) or, failing that, its
        end-session endpoint, when it advertises one. Failing to reach it does not keep the tokens.
        """
        self._load_cache_once()
        with self._state_lock:
            tokens = self._tokens
            self._tokens = None
            if self.cache is not None:
                self.cache.delete(self.cache_key)
        if tokens is not None:
            self._emit("logged_out")
        if tokens is None or not tokens.refresh_token:
            return
        try:
            self._provider.end_session(tokens.refresh_token)
        except AuthenticationError as exc:
            log.warning("logged out locally, but could not end the session at %s: %s", self.issuer, exc)

    def close(self) -> None:
        """Close the connections to the provider (they reopen when needed)."""
        self.transport.close()

    # ------------------------------------------------------------------ internals

    def _load_cache_once(self) -> None:
        if self._cache_loaded:
            return
        with self._state_lock:
            if self._cache_loaded:
                return
            self._cache_loaded = True
            if self.cache is not None and self._tokens is None:
                self._tokens = self.cache.load(self.cache_key)

    def _drop_tokens_locked(self) -> None:
        had_session = self._tokens is not None
        self._tokens = None
        if self.cache is not None:
            self.cache.delete(self.cache_key)
        if had_session:
            self._emit("logged_out")  # the session ended at the provider (refresh refused or expired)

    def _store_tokens_locked(self, tokens: TokenSet) -> None:
        self._tokens = tokens
        if self.cache is not None and tokens.refresh_token:
            self.cache.store(self.cache_key, tokens)

    def _refresh_locked(self) -> TokenSet:
        tokens = self._tokens
        assert tokens is not None and tokens.refresh_token
        try:
            new = self._provider.refresh(tokens)
        except RefreshRefusedError as exc:
            log.info("%s", exc)
            raise
        self._store_tokens_locked(new)
        log.debug("refreshed the access token from %s", self.issuer)
        return new


def _check_seconds(name: str, value: object, *, zero_ok: bool) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or value != value  # NaN
            or value < 0 or (value == 0 and not zero_ok)):
        bound = ">= 0" if zero_ok else "> 0"
        raise BadParameterError(f"{name}={value!r} is not allowed: use a number of seconds {bound}")
