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

Example
-------
>>> auth = DeviceCodeAuth()                      # doctest: +SKIP
>>> auth.login()                                 # prints the link and the user code, waits for approval
>>> auth.username
'jane'
"""

from __future__ import annotations

import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from ..config import (
    DEFAULT_OIDC_CLIENT_ID,
    DEFAULT_OIDC_ISSUER,
    ENV_OIDC_CLIENT_ID,
    ENV_OIDC_ISSUER,
    ENV_RDM_REFRESH_TOKEN,
    ENV_RDM_TOKEN,
)
from ..errors import AuthenticationError, BadParameterError, RdmConnectionError

log = logging.getLogger(__name__)

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 section 3.5: after ``slow_down`` the polling interval grows by 5 seconds for good.
SLOW_DOWN_INCREMENT_S = 5.0
#: Claims shown as "logged in as"; everything else in a token stays out of reach of the UI.
USER_INFO_CLAIMS = ("sub", "preferred_username", "name", "email", "groups")
#: Application name of the user config dir (platformdirs) that holds the token cache.
CONFIG_APP_NAME = "worldcereal-explorer"
TOKEN_CACHE_FILENAME = "oidc-tokens.json"


class IdentityProviderUnreachableError(AuthenticationError, RdmConnectionError):
    """The identity provider could not be reached (refused, DNS, timeout) within the connect timeout."""


class LoginCancelledError(AuthenticationError):
    """The device login was cancelled by the caller (cancel event set, for example the widget's button)."""


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


# ---------------------------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class DeviceAuthorization:
    """What a person needs to approve a device login: where to go and which code to enter.

    Deliberately holds no secret (the device code stays inside :class:`DeviceCodeAuth`), so it can be
    shown, logged or put into a widget.
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


@dataclass
class _TokenSet:
    access_token: str
    expires_at: float  # epoch seconds (wall clock: the cache outlives the process)
    refresh_token: str | None = None
    id_token: str | None = None

    def __repr__(self) -> str:  # never show a token
        return f"_TokenSet(expires_at={self.expires_at:.0f}, has_refresh_token={self.refresh_token is not None})"

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "id_token": self.id_token,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _TokenSet | None:
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            return None
        return cls(
            access_token=data["access_token"],
            expires_at=float(data.get("expires_at") or 0),
            refresh_token=data.get("refresh_token"),
            id_token=data.get("id_token"),
        )


def _unverified_claims(token: str | None) -> dict[str, Any]:
    """The payload of a JWT, unverified: only used to show who is logged in and when the token expires.

    The token came straight from the provider's token endpoint, so it is trusted for display; access
    decisions are the resource server's, which verifies the signature.
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


class TokenCache:
    """Refresh/access tokens on disk, one entry per (issuer, client id), readable only by the user.

    The file is written to a temporary file created with mode 0600 in the same folder and renamed over
    the old one, so it is never partially written nor, even briefly, readable by others.

    Parameters
    ----------
    path
        The cache file; default ``<user config dir>/worldcereal-explorer/oidc-tokens.json``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None):
        if path is None:
            import platformdirs

            path = platformdirs.user_config_path(CONFIG_APP_NAME) / TOKEN_CACHE_FILENAME
        self.path = Path(path)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenCache(path={str(self.path)!r})"

    def _read_all(self) -> dict[str, Any]:
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return {}
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Someone loosened the permissions: tighten them before trusting the contents.
            log.warning("token cache %s was readable by others; restricting it to mode 0600", self.path)
            os.chmod(self.path, 0o600)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("ignoring unreadable token cache %s", self.path)
            return {}
        return data.get("sessions", {}) if isinstance(data, dict) else {}

    def _write_all(self, sessions: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            if hasattr(os, "fchmod"):  # mkstemp creates 0600 already; be explicit in case a umask or OS differs
                os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": 1, "sessions": sessions}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, key: str) -> _TokenSet | None:
        with self._lock:
            return _TokenSet.from_json(self._read_all().get(key))

    def store(self, key: str, tokens: _TokenSet) -> None:
        with self._lock:
            sessions = self._read_all()
            sessions[key] = tokens.to_json()
            self._write_all(sessions)

    def delete(self, key: str) -> None:
        with self._lock:
            sessions = self._read_all()
            if key not in sessions:
                return
            del sessions[key]
            if sessions:
                self._write_all(sessions)
            else:
                self.path.unlink(missing_ok=True)


class _RefreshRefused(Exception):
    """The provider refused the refresh token (expired, revoked): a new login is needed."""


# ---------------------------------------------------------------------------------------------- device flow


class DeviceCodeAuth:
    """OIDC login with the device authorization grant (RFC 8628) + PKCE S256, with refresh and a token cache.

    Implements :class:`TokenProvider`, so it can be given to ``RdmClient(token_provider=...)``; the client
    then logs in only when private data is requested.

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
        keeps them in memory only.
    cache_path
        The cache file (default in the user config dir, see :class:`TokenCache`).
    refresh_token
        Start from this refresh token (headless use) instead of a login.
    allow_device_flow
        With ``False`` the provider never starts an interactive login (headless jobs): it raises
        :class:`~worldcereal_explorer.errors.AuthenticationError` instead.
    timeout
        ``(connect, read)`` seconds for requests to the provider. Connection failures are retried until
        ``connect`` seconds have passed; then :class:`IdentityProviderUnreachableError` is raised.
    refresh_margin_s
        Refresh the access token when it expires within this many seconds.
    max_poll_time_s
        Give up waiting for approval after this long even if the device code lives longer.
    """

    def __init__(
        self,
        issuer: str | None = None,
        client_id: str | None = None,
        *,
        scopes: tuple[str, ...] | list[str] = ("openid",),
        display: Callable[[DeviceAuthorization], None] | None = None,
        use_cache: bool = True,
        cache_path: str | os.PathLike[str] | None = None,
        refresh_token: str | None = None,
        allow_device_flow: bool = True,
        timeout: float | tuple[float, float] = (10.0, 30.0),
        refresh_margin_s: float = 30.0,
        max_poll_time_s: float = 300.0,
    ):
        self.issuer = (issuer or os.environ.get(ENV_OIDC_ISSUER) or DEFAULT_OIDC_ISSUER).rstrip("/")
        self.client_id = client_id or os.environ.get(ENV_OIDC_CLIENT_ID) or DEFAULT_OIDC_CLIENT_ID
        if not self.issuer.startswith(("https://", "http://127.0.0.1", "http://localhost", "http://[::1]")):
            raise BadParameterError(
                f"OIDC issuer {self.issuer!r} is not allowed: use an https:// URL "
                "(plain http only for a provider on this machine)"
            )
        self.scopes = tuple(scopes)
        self.display = display or print_device_instructions
        self._connect_timeout, self._read_timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        if refresh_margin_s < 0 or max_poll_time_s <= 0:
            raise BadParameterError(
                f"refresh_margin_s={refresh_margin_s!r} / max_poll_time_s={max_poll_time_s!r} are not allowed: "
                "the margin must be >= 0 and the poll time > 0"
            )
        self.refresh_margin_s = float(refresh_margin_s)
        self.max_poll_time_s = float(max_poll_time_s)
        self.allow_device_flow = allow_device_flow
        self.cache = TokenCache(cache_path) if use_cache else None
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json"
        self._metadata: dict[str, Any] | None = None
        self._state_lock = threading.RLock()
        self._login_lock = threading.Lock()
        self._tokens: _TokenSet | None = None
        self._cache_loaded = False
        self._handed_out = threading.local()  # the token this thread last got, to spot concurrent refreshes
        self._listeners: list[Callable[[str], None]] = []
        self._login_cancel = threading.Event()
        #: The running device login's link and code (no secret), or ``None``: what a UI shows.
        self.pending_authorization: DeviceAuthorization | None = None
        #: Why the last login failed (a message without secrets), or ``None``.
        self.last_login_error: str | None = None
        if refresh_token:
            # Headless start: the first get_access_token() exchanges it at the token endpoint.
            self._tokens = _TokenSet(access_token="", expires_at=0.0, refresh_token=refresh_token)
            self._cache_loaded = True  # an explicit token wins over the cache

    # ------------------------------------------------------------------ public state

    def __repr__(self) -> str:
        who = self.username
        state = f"logged_in_as={who!r}" if who else f"logged_in={self.is_logged_in}"
        return f"DeviceCodeAuth(issuer={self.issuer!r}, client_id={self.client_id!r}, {state})"

    def __getstate__(self):  # a pickled copy (Dask, multiprocessing) would carry the tokens
        raise TypeError("DeviceCodeAuth holds tokens and cannot be pickled; pass a StaticTokenProvider instead")

    @property
    def cache_key(self) -> str:
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
        if tokens is None:
            return {}
        claims = _unverified_claims(tokens.id_token) or _unverified_claims(tokens.access_token)
        return {key: claims[key] for key in USER_INFO_CLAIMS if key in claims}

    @property
    def username(self) -> str | None:
        """A name to show as "logged in as": ``preferred_username``, else ``name``, else ``sub``."""
        info = self.user_info
        return info.get("preferred_username") or info.get("name") or info.get("sub")

    @property
    def login_in_progress(self) -> bool:
        """Whether a device login is waiting for approval right now."""
        return self.pending_authorization is not None

    def add_listener(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(event)`` when the session changes, whoever started the login (a widget, or the
        client asking for private data), so a UI can follow it.

        Events: ``"login_started"`` (see :attr:`pending_authorization` for the link and code),
        ``"logged_in"``, ``"login_failed"`` (see :attr:`last_login_error`) and ``"logged_out"``.
        Callbacks run on the thread that changed the session; they receive no token.
        """
        if callback not in self._listeners:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[str], None]) -> None:
        """Stop calling a callback registered with :meth:`add_listener`."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _emit(self, event: str) -> None:
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:  # a broken UI callback must not break authentication
                log.exception("auth listener %r failed on %s", callback, event)

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
            except _RefreshRefused:
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
                    self._refresh_locked()
                    return self._tokens.access_token
                except IdentityProviderUnreachableError:
                    if tokens.access_token and tokens.expires_at > time.time():
                        # Early refresh failed but the token still works: use it, try again next time.
                        log.warning("could not refresh the access token early (identity provider unreachable)")
                        return tokens.access_token
                    raise
                except _RefreshRefused:
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
                tokens = self._device_flow(display or self.display, cancel_event, progress)
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
            metadata = self._provider_metadata()
            if metadata.get("revocation_endpoint"):
                self._post(
                    metadata["revocation_endpoint"],
                    {"token": tokens.refresh_token, "token_type_hint": "refresh_token", "client_id": self.client_id},
                )
            elif metadata.get("end_session_endpoint"):
                self._post(
                    metadata["end_session_endpoint"],
                    {"refresh_token": tokens.refresh_token, "client_id": self.client_id},
                )
        except AuthenticationError as exc:
            log.warning("logged out locally, but could not end the session at %s: %s", self.issuer, exc)

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

    def _store_tokens_locked(self, tokens: _TokenSet) -> None:
        self._tokens = tokens
        if self.cache is not None and tokens.refresh_token:
            self.cache.store(self.cache_key, tokens)

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP request to the provider; connection failures are retried until the connect timeout."""
        started = time.monotonic()
        delay = 0.05
        while True:
            try:
                return self._session.request(
                    method, url, timeout=(self._connect_timeout, self._read_timeout), allow_redirects=False, **kwargs
                )
            except requests.ConnectionError as exc:
                # Connection refused / DNS / connect timeout: nothing reached the provider, safe to retry.
                waited = time.monotonic() - started
                if waited + delay >= self._connect_timeout:
                    raise IdentityProviderUnreachableError(
                        f"could not reach the identity provider at {url} within {self._connect_timeout:g} s "
                        f"({_reason(exc)}); check the network and the issuer setting "
                        f"(argument or ${ENV_OIDC_ISSUER}, now {self.issuer!r})"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except requests.Timeout:
                raise IdentityProviderUnreachableError(
                    f"the identity provider at {url} did not answer within {self._read_timeout:g} s"
                ) from None

    def _post(self, url: str, data: dict[str, str]) -> requests.Response:
        return self._request("POST", url, data=data)

    def _provider_metadata(self) -> dict[str, Any]:
        if self._metadata is not None:
            return self._metadata
        url = f"{self.issuer}/.well-known/openid-configuration"
        response = self._request("GET", url)
        if response.status_code != 200:
            raise AuthenticationError(
                f"OIDC discovery failed: {url} answered HTTP {response.status_code}; is {self.issuer!r} an issuer?",
                status=response.status_code,
                url=url,
            )
        try:
            metadata = response.json()
        except ValueError:
            raise AuthenticationError(f"OIDC discovery failed: {url} did not return JSON", url=url) from None
        missing = [key for key in ("device_authorization_endpoint", "token_endpoint") if not metadata.get(key)]
        if missing:
            raise AuthenticationError(
                f"the identity provider {self.issuer!r} does not support the device login: "
                f"its discovery document lacks {', '.join(missing)}",
                url=url,
            )
        if metadata.get("issuer", self.issuer).rstrip("/") != self.issuer:
            raise AuthenticationError(
                f"OIDC discovery at {url} names issuer {metadata.get('issuer')!r}, not {self.issuer!r}", url=url
            )
        self._metadata = metadata
        return metadata

    def _device_flow(
        self,
        display: Callable[[DeviceAuthorization], None],
        cancel_event: threading.Event | None,
        progress: Callable[[float], None] | None,
    ) -> _TokenSet:
        metadata = self._provider_metadata()
        code_verifier = generate_token(64)  # RFC 7636: 43-128 unreserved characters
        response = self._post(
            metadata["device_authorization_endpoint"],
            {
                "client_id": self.client_id,
                "scope": " ".join(self.scopes),
                "code_challenge": create_s256_code_challenge(code_verifier),
                "code_challenge_method": "S256",
            },
        )
        body = _json_or_empty(response)
        if response.status_code != 200 or "device_code" not in body:
            raise AuthenticationError(
                f"the identity provider {self.issuer!r} refused to start a device login: {_oauth_error_text(body)}",
                status=response.status_code,
            )
        device_code = body["device_code"]
        expires_in = float(body.get("expires_in") or self.max_poll_time_s)
        interval = float(body.get("interval", 5))
        authorization = DeviceAuthorization(
            verification_uri=body.get("verification_uri") or body.get("verification_url", ""),
            verification_uri_complete=body.get("verification_uri_complete"),
            user_code=body.get("user_code", ""),
            expires_in_s=expires_in,
            interval_s=interval,
        )
        self.pending_authorization = authorization
        self._emit("login_started")
        display(authorization)
        deadline = time.monotonic() + min(expires_in, self.max_poll_time_s)
        cancel_events = [event for event in (cancel_event, self._login_cancel) if event is not None]
        while True:
            if _wait_any(cancel_events, interval):
                raise LoginCancelledError("the device login was cancelled")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AuthenticationError(
                    f"the device login was not approved within {min(expires_in, self.max_poll_time_s):g} s; "
                    "the code has expired, start the login again"
                )
            if progress is not None:
                progress(left)
            response = self._post(
                metadata["token_endpoint"],
                {
                    "grant_type": DEVICE_CODE_GRANT,
                    "device_code": device_code,
                    "client_id": self.client_id,
                    "code_verifier": code_verifier,
                },
            )
            body = _json_or_empty(response)
            if response.status_code == 200 and "access_token" in body:
                return self._token_set(body)
            error = body.get("error")
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += SLOW_DOWN_INCREMENT_S
                log.debug("identity provider asked to slow down; polling every %g s", interval)
                continue
            if error == "access_denied":
                raise AuthenticationError(
                    f"the login was denied at the identity provider {self.issuer!r}", status=response.status_code
                )
            if error == "expired_token":
                raise AuthenticationError(
                    "the device code expired before the login was approved; start the login again",
                    status=response.status_code,
                )
            raise AuthenticationError(
                f"the identity provider {self.issuer!r} refused the device login: {_oauth_error_text(body)}",
                status=response.status_code,
            )

    def _refresh_locked(self) -> None:
        tokens = self._tokens
        assert tokens is not None and tokens.refresh_token
        metadata = self._provider_metadata()
        response = self._post(
            metadata["token_endpoint"],
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token, "client_id": self.client_id},
        )
        body = _json_or_empty(response)
        if response.status_code == 200 and "access_token" in body:
            new = self._token_set(body)
            if new.refresh_token is None:  # providers that do not rotate keep the old one valid
                new.refresh_token = tokens.refresh_token
            if new.id_token is None:
                new.id_token = tokens.id_token
            self._store_tokens_locked(new)
            log.debug("refreshed the access token from %s", self.issuer)
            return
        if response.status_code in (400, 401) and body.get("error") in ("invalid_grant", "invalid_client"):
            log.info("the identity provider refused the refresh token: %s", _oauth_error_text(body))
            raise _RefreshRefused()
        raise AuthenticationError(
            f"refreshing the access token at {self.issuer!r} failed: HTTP {response.status_code} "
            f"{_oauth_error_text(body)}",
            status=response.status_code,
        )

    def _token_set(self, body: dict[str, Any]) -> _TokenSet:
        access_token = body["access_token"]
        if body.get("expires_in") is not None:
            expires_at = time.time() + float(body["expires_in"])
        else:
            expires_at = float(_unverified_claims(access_token).get("exp") or time.time() + 300)
        return _TokenSet(
            access_token=access_token,
            expires_at=expires_at,
            refresh_token=body.get("refresh_token"),
            id_token=body.get("id_token"),
        )


def _wait_any(events: list[threading.Event], timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for any of ``events``; True as soon as one is set."""
    deadline = time.monotonic() + timeout_s
    while True:
        if any(event.is_set() for event in events):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if len(events) == 1:
            events[0].wait(left)
        else:  # no wait-for-any in threading: block on one, waking every 50 ms to look at the others
            events[-1].wait(min(left, 0.05))


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _oauth_error_text(body: dict[str, Any]) -> str:
    """``error: description`` from an OAuth error body (RFC 6749 section 5.2); these never carry tokens."""
    error = str(body.get("error") or "unknown error")[:100]
    description = str(body.get("error_description") or "")[:300]
    return f"{error}: {description}" if description else error


def _reason(exc: requests.ConnectionError) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "timed out" in text or isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "host name not found"
    return type(exc).__name__


def token_provider_from_env(*, issuer: str | None = None, client_id: str | None = None) -> TokenProvider | None:
    """A provider from the environment, for headless use (batch jobs, CI, clusters), else ``None``.

    ``$WORLDCEREAL_RDM_TOKEN`` gives a :class:`StaticTokenProvider`; otherwise
    ``$WORLDCEREAL_RDM_REFRESH_TOKEN`` gives a :class:`DeviceCodeAuth` that exchanges the refresh token
    at the provider's token endpoint, refreshes as needed and never starts an interactive login.
    """
    token = os.environ.get(ENV_RDM_TOKEN)
    if token:
        return StaticTokenProvider(token)
    refresh_token = os.environ.get(ENV_RDM_REFRESH_TOKEN)
    if refresh_token:
        return DeviceCodeAuth(
            issuer, client_id, refresh_token=refresh_token, use_cache=False, allow_device_flow=False
        )
    return None


def default_interactive_provider() -> DeviceCodeAuth:
    """The provider the client creates when private data is requested and none was given.

    A :class:`DeviceCodeAuth` with the configured issuer and client id (arguments → env vars → the
    Copernicus Data Space defaults) and the token cache, so a cached session is reused.
    """
    return DeviceCodeAuth()


__all__ = [
    "default_interactive_provider",
    "DeviceAuthorization",
    "DeviceCodeAuth",
    "IdentityProviderUnreachableError",
    "LoginCancelledError",
    "StaticTokenProvider",
    "TokenCache",
    "TokenProvider",
    "print_device_instructions",
    "token_provider_from_env",
]
