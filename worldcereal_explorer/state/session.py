"""The login session shared by the query state, the client and the login widget.

:class:`AuthSession` runs the OIDC device login on a background thread and exposes its progress as
traits (``status``, ``username``, ``message``, ``authorization``), so a widget only observes it and
calls :meth:`~AuthSession.login` / :meth:`~AuthSession.cancel` / :meth:`~AuthSession.logout`. It wraps
the token provider the :class:`~worldcereal_explorer.rdm.client.RdmClient` uses, so a login here
authorises the client's requests. No trait ever holds a token: only the verification link, the user
code and the user's display name.
"""

from __future__ import annotations

import threading
from typing import Any

import traitlets
from traitlets import Any as AnyTrait
from traitlets import Bool, Enum, HasTraits, Unicode, observe

from ..errors import WorldCerealExplorerError
from .kernel_thread import call_on_kernel_thread, drain

__all__ = ["AUTH_STATUSES", "AuthSession", "LoginMixin"]

#: Values of :attr:`AuthSession.status`. ``"token"``: the client uses a fixed access token (for example
#: ``$WORLDCEREAL_RDM_TOKEN``); there is nothing to log into.
AUTH_STATUSES = ("logged_out", "waiting", "logged_in", "cancelled", "error", "token")


class AuthSession(HasTraits):
    """Device login / logout around a token provider, observable as traits.

    Parameters
    ----------
    provider
        The token provider shared with the client, usually a
        :class:`~worldcereal_explorer.rdm.auth.DeviceCodeAuth`; ``None`` builds the default one
        (configured issuer and client id, token cache). A provider without ``login`` (a fixed token)
        gives a session with status ``"token"``.

    Attributes
    ----------
    status : str
        One of :data:`AUTH_STATUSES`.
    username : str or None
        Who is logged in (``preferred_username``, ``name`` or ``sub``).
    message : str
        The last progress or error line.
    authorization : DeviceAuthorization or None
        While a login waits for approval: the verification link and user code to show (no secret).
    interactive : bool
        Whether the provider can run a device login.
    served : bool
        Whether the dashboard is served to whoever opens it (Voila; see
        :func:`~worldcereal_explorer.config.served_mode`).
    remembered : bool
        Whether a login is kept on disk (the token cache) for later sessions; never in served mode unless
        ``single_person_server_remember_login`` is on.
    """

    status = Enum(AUTH_STATUSES, default_value="logged_out")
    username = Unicode(None, allow_none=True)
    message = Unicode("")
    authorization = AnyTrait(None, allow_none=True, help="DeviceAuthorization while waiting for approval")
    interactive = Bool(True, read_only=True)
    served = Bool(False, read_only=True)
    remembered = Bool(False, read_only=True)

    def __init__(self, provider: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        if provider is None:
            from ..rdm.auth import default_interactive_provider  # lazy: importing the state stays light

            provider = default_interactive_provider()
        self.provider = provider
        interactive = hasattr(provider, "login") and getattr(provider, "allow_device_flow", True)
        self.set_trait("interactive", bool(interactive))
        from ..config import served_mode

        self.set_trait("served", served_mode())
        self.set_trait("remembered", getattr(provider, "cache", None) is not None)
        self._lock = threading.Lock()
        self._cancel_event: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        if not self.interactive:
            self.status = "token"
            return
        # Logins started elsewhere (the client asking for private data) and sessions ending show up here.
        provider.add_listener(self._on_provider_event)
        if provider.is_logged_in:  # a cached session
            self.username = provider.username
            self.status = "logged_in"

    # ------------------------------------------------------------------ actions
    def login(self) -> threading.Thread | None:
        """Start the device login on a background thread.

        Returns
        -------
        threading.Thread or None
            The login thread; ``None`` when a login is already running, a session is open, the
            provider cannot log in (a fixed token) or the session is closed.
        """
        with self._lock:
            if self._closed or not self.interactive:
                return None
            if self._thread is not None and self._thread.is_alive():
                return None
            if self.provider.is_logged_in and self.status == "logged_in":
                return None
            self._cancel_event = threading.Event()
            self.authorization = None
            self.message = "Contacting the identity provider\u2026"
            self.status = "waiting"
            self._thread = threading.Thread(target=self._run_login, args=(self._cancel_event,),
                                            name="wce-device-login", daemon=True)
            self._thread.start()
            return self._thread

    def cancel(self) -> None:
        """Stop waiting for approval (the pending code is abandoned), whoever started the login."""
        if self._cancel_event is not None:
            self._cancel_event.set()
        if getattr(self.provider, "login_in_progress", False):
            self.provider.cancel_login()

    def logout(self) -> None:
        """End the session: tokens dropped, cache entry deleted, provider told."""
        if not self.interactive:
            return
        self.cancel()
        self.provider.logout()
        self.authorization = None
        self.username = None
        self.message = "Logged out."
        self.status = "logged_out"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a running login to end; ``True`` if it ended within ``timeout`` seconds."""
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        drain()  # in a kernel, what the login thread queued for this thread
        return not thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        """The login thread while it runs, else ``None``."""
        thread = self._thread
        return thread if thread is not None and thread.is_alive() else None

    def close(self, timeout: float = 5.0) -> bool:
        """Cancel a running login, stop following the provider and join the login thread.

        Returns ``True`` when no login thread is left alive.
        """
        with self._lock:
            self._closed = True
        if self.interactive:
            self.cancel()
            self.provider.remove_listener(self._on_provider_event)
        return self.wait(timeout)

    # ------------------------------------------------------------------ background thread
    def _run_login(self, cancel_event: threading.Event) -> None:
        from ..rdm.auth import LoginCancelledError

        try:
            self.provider.login(display=self._show_authorization, cancel_event=cancel_event, progress=self._progress)
        except LoginCancelledError:
            outcome = {"message": "Login cancelled.", "status": "cancelled"}
        except WorldCerealExplorerError as exc:
            outcome = {"message": f"Login failed: {exc}", "status": "error"}  # package errors never carry tokens
        except Exception as exc:  # keep the UI alive whatever happens on this thread
            outcome = {"message": f"Login failed: unexpected {type(exc).__name__}", "status": "error"}
        else:
            outcome = {"username": self.provider.username, "message": "", "status": "logged_in"}
        outcome = {"authorization": None, **outcome}
        call_on_kernel_thread(lambda: self._set(**outcome))

    def _set(self, **values: Any) -> None:
        """Set traits in the given order (the status last: the views key on it)."""
        for name, value in values.items():
            setattr(self, name, value)

    def _show_authorization(self, authorization: Any) -> None:
        call_on_kernel_thread(lambda: self._set(message="Waiting for you to approve the login\u2026",
                                                authorization=authorization))

    def _progress(self, seconds_left: float) -> None:
        minutes, seconds = divmod(int(seconds_left), 60)
        text = f"Waiting for you to approve the login\u2026 (code valid for {minutes} min {seconds:02d} s)"
        call_on_kernel_thread(lambda: self._set(message=text), key=(id(self), "login progress"))

    def _on_provider_event(self, event: str) -> None:
        # the provider tells from whichever thread logged in or refreshed; the traits change on the kernel's
        own_login = self._thread is not None and self._thread.is_alive()
        call_on_kernel_thread(lambda: self._follow_provider(event, own_login))

    def _follow_provider(self, event: str, own_login: bool) -> None:
        if event == "login_started":
            # Also for logins the client starts (private data requested): show the link and code.
            authorization = getattr(self.provider, "pending_authorization", None)
            if authorization is not None:
                self.status = "waiting"
                self._show_authorization(authorization)
        elif event == "login_failed" and not own_login:
            message = f"Login failed: {getattr(self.provider, 'last_login_error', None) or 'unknown reason'}"
            self.authorization = None
            self.message = message
            self.status = "cancelled" if "cancelled" in message else "error"
        elif event == "logged_in":
            self.username = self.provider.username
            self.status = "logged_in"
        elif event == "logged_out" and self.status == "logged_in":
            self.username = None
            self.message = "The session ended; log in again to see private data."
            self.status = "logged_out"

    def __repr__(self) -> str:
        return f"AuthSession(status={self.status!r}, username={self.username!r})"


class LoginMixin(HasTraits):
    """The query state's login: ``auth_status`` / ``auth_user`` traits, :attr:`auth`, :meth:`login`,
    :meth:`cancel_login` and :meth:`logout`.

    One of the bases of :class:`~worldcereal_explorer.state.RdmQueryState`; it expects the host to have
    ``client``, ``include_private``, ``include_restricted`` and ``search()``.
    """

    auth_status = Enum(AUTH_STATUSES, default_value="logged_out", help="the login session's status")
    auth_user = Unicode(None, allow_none=True, help="who is logged in")

    def _init_login(self) -> None:
        self._auth_lock = threading.RLock()
        self._auth: AuthSession | None = None
        self._auth_links: list[Any] = []

    @property
    def auth(self) -> AuthSession:
        """The login session around the client's token provider (made on first use).

        When the client has no token provider yet, the default device-login provider is installed on
        it here, so a login in this session authorises the client's searches and sample reads.
        """
        with self._auth_lock:
            if self._auth is None:
                client = self.client
                if getattr(client, "token_provider", None) is None:
                    self._auth = AuthSession()
                    client.token_provider = self._auth.provider
                else:
                    self._auth = AuthSession(client.token_provider)
                self._auth_links = [traitlets.dlink((self._auth, "status"), (self, "auth_status")),
                                    traitlets.dlink((self._auth, "username"), (self, "auth_user"))]
            return self._auth

    @observe("auth_status")
    def _on_auth_status(self, change: dict) -> None:
        if change["old"] == "logged_in":
            # What this client learned of private collections goes with the session that could see them.
            memo = getattr(self.client, "collection_memo", None)
            if memo is not None:
                memo.clear()
        # A session opening or ending changes what the search may return: run it again.
        if "logged_in" in (change["old"], change["new"]) and (self.include_private or self.include_restricted):
            self.search(delay=0)

    def login(self, wait: bool = False, timeout: float | None = 300.0) -> bool:
        """Start the device login on a background thread; ``auth.authorization`` then holds the link and
        code to show. When the session opens, the search runs again.

        Parameters
        ----------
        wait
            Block until the login ends (approved, denied, cancelled), at most ``timeout`` seconds.
        timeout
            Seconds to wait when ``wait`` is true.

        Returns
        -------
        bool
            ``True`` when a session is open (with ``wait``) or a login was started (without).
        """
        thread = self.auth.login()
        if wait:
            self.auth.wait(timeout)
            return self.auth_status == "logged_in"
        return thread is not None

    def cancel_login(self) -> None:
        """Stop waiting for a login's approval."""
        if self._auth is not None:
            self._auth.cancel()

    def logout(self) -> None:
        """End the session (tokens dropped, cache entry deleted, provider told); the search runs again."""
        if self._auth is not None:
            self._auth.logout()

    def _close_login(self, timeout: float) -> bool:
        with self._auth_lock:
            session, links, self._auth_links = self._auth, self._auth_links, []
        for link in links:
            link.unlink()
        return True if session is None else session.close(timeout)
