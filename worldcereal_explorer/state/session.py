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
from collections.abc import Callable
from typing import Any, Protocol

import traitlets
from traitlets import Any as AnyTrait
from traitlets import Bool, Enum, HasTraits, Unicode

from ..errors import WorldCerealExplorerError
from .kernel_thread import call_on_kernel_thread, drain

__all__ = ["AUTH_STATUSES", "AuthSession", "LoginOutputs", "LoginService"]

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

        outcome: dict[str, Any]
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


class LoginOutputs(Protocol):
    """The traits :class:`LoginService` writes (the query state's ``auth_status`` and ``auth_user``)."""

    auth_status: str
    auth_user: str | None


class LoginService:
    """The query state's login: the :class:`AuthSession` around the client's token provider, made on first
    use, with its status and user followed by ``outputs.auth_status`` / ``outputs.auth_user``.

    Parameters
    ----------
    client
        ``client()`` returns the RDM client (its ``token_provider`` is shared with the session).
    outputs
        Where ``auth_status`` / ``auth_user`` are (see :class:`LoginOutputs`).
    """

    def __init__(self, client: Callable[[], Any], outputs: LoginOutputs):
        self._client = client
        self.outputs = outputs
        self._lock = threading.RLock()
        self._session: AuthSession | None = None
        self._links: list[Any] = []

    @property
    def session(self) -> AuthSession:
        """The login session around the client's token provider (made on first use).

        When the client has no token provider yet, the default device-login provider is installed on
        it here, so a login in this session authorises the client's searches and sample reads.
        """
        with self._lock:
            if self._session is None:
                client = self._client()
                if getattr(client, "token_provider", None) is None:
                    self._session = AuthSession()
                    client.token_provider = self._session.provider
                else:
                    self._session = AuthSession(client.token_provider)
                self._links = [traitlets.dlink((self._session, "status"), (self.outputs, "auth_status")),
                               traitlets.dlink((self._session, "username"), (self.outputs, "auth_user"))]
            return self._session

    def session_changed(self, old: str) -> None:
        """The session's status left ``old``: what the client learned of private collections goes with the
        session that could see them."""
        if old == "logged_in":
            memo = getattr(self._client(), "collection_memo", None)
            if memo is not None:
                memo.clear()

    def login(self, wait: bool = False, timeout: float | None = 300.0) -> bool:
        """Start the device login on a background thread (see :meth:`AuthSession.login`).

        Returns
        -------
        bool
            ``True`` when a session is open (with ``wait``) or a login was started (without).
        """
        session = self.session
        thread = session.login()
        if wait:
            session.wait(timeout)
            return session.status == "logged_in"
        return thread is not None

    def cancel(self) -> None:
        """Stop waiting for a login's approval."""
        if self._session is not None:
            self._session.cancel()

    def logout(self) -> None:
        """End the session (tokens dropped, cache entry deleted, provider told)."""
        if self._session is not None:
            self._session.logout()

    def close(self, timeout: float) -> bool:
        """Stop a login, unlink the traits and join the login thread; ``True`` when none is left."""
        with self._lock:
            session, links, self._links = self._session, self._links, []
        for link in links:
            link.unlink()
        return True if session is None else session.close(timeout)
