"""Login widget: device login with a clickable link and user code, progress, cancel, "logged in as", log out.

The widget talks only to a :class:`~worldcereal_explorer.rdm.auth.DeviceCodeAuth` object (which does the
HTTP); the login runs on a background thread so the notebook or Voila page stays responsive. No widget
value ever holds a token: only the verification link, the user code and the user's display name.

Example
-------
>>> from worldcereal_explorer.rdm.auth import DeviceCodeAuth
>>> auth = DeviceCodeAuth()
>>> login = LoginWidget(auth)        # doctest: +SKIP
>>> login                            # click "Log in", open the link, enter the code
>>> login.observe(lambda change: print(change.new), names="status")   # doctest: +SKIP
"""

from __future__ import annotations

import html
import threading

import ipywidgets as widgets
import traitlets

from ..errors import WorldCerealExplorerError
from ..rdm.auth import DeviceAuthorization, DeviceCodeAuth, LoginCancelledError

#: Values of :attr:`LoginWidget.status`.
STATUSES = ("logged_out", "waiting", "logged_in", "cancelled", "error")


class LoginWidget(widgets.VBox):
    """Log in to the RDM's identity provider with the device flow, and show who is logged in.

    Parameters
    ----------
    auth
        The authentication object shared with the client (``RdmClient(token_provider=auth)``), so the
        client's requests carry the session this widget opens. Default: a new :class:`DeviceCodeAuth`
        with the configured issuer and client id.

    Attributes
    ----------
    status : str
        ``"logged_out"``, ``"waiting"`` (link and code shown, waiting for approval), ``"logged_in"``,
        ``"cancelled"`` or ``"error"``. Observe it to react to logins (for example the privacy toggle).
    username : str or None
        Who is logged in (``preferred_username``, ``name`` or ``sub``), else ``None``.
    message : str
        The last progress or error line shown.
    """

    status = traitlets.Enum(STATUSES, default_value="logged_out")
    username = traitlets.Unicode(None, allow_none=True)
    message = traitlets.Unicode("")

    def __init__(self, auth: DeviceCodeAuth | None = None, **kwargs):
        self.auth = auth if auth is not None else DeviceCodeAuth()
        self._cancel_event: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

        self.login_button = widgets.Button(description="Log in", icon="sign-in", tooltip="Log in to see private data")
        self.cancel_button = widgets.Button(description="Cancel", icon="times", tooltip="Stop waiting for the login")
        self.logout_button = widgets.Button(description="Log out", icon="sign-out", tooltip="End the session")
        self.code_html = widgets.HTML(value="")
        self.status_html = widgets.HTML(value="")
        for button in (self.login_button, self.cancel_button, self.logout_button):
            button.add_class("wcx-login-button")
        self.login_button.add_class("wcx-login")
        self.cancel_button.add_class("wcx-login-cancel")
        self.logout_button.add_class("wcx-logout")
        self.code_html.add_class("wcx-login-code")
        self.status_html.add_class("wcx-login-status")
        self.login_button.on_click(lambda _: self.login())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.logout_button.on_click(lambda _: self.logout())

        super().__init__(
            children=[
                self.status_html,
                self.code_html,
                widgets.HBox([self.login_button, self.cancel_button, self.logout_button]),
            ],
            **kwargs,
        )
        self.add_class("wcx-login-widget")
        # Logins started elsewhere (the client asking for private data) and sessions ending show up here too.
        self.auth.add_listener(self._on_auth_event)
        if self.auth.is_logged_in:  # a cached session
            self.status = "logged_in"
            self.username = self.auth.username
        self._render()

    # ------------------------------------------------------------------ actions

    def login(self) -> threading.Thread | None:
        """Start the device login on a background thread (what the "Log in" button does).

        Returns the thread, or ``None`` when a login is already running or a session is open.
        """
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return None
            if self.auth.is_logged_in and self.status == "logged_in":
                return None
            self._cancel_event = threading.Event()
            self.message = "Contacting the identity provider…"
            self.status = "waiting"
            self.code_html.value = ""
            self._thread = threading.Thread(
                target=self._run_login, args=(self._cancel_event,), name="wcx-device-login", daemon=True
            )
            self._thread.start()
            return self._thread

    def cancel(self) -> None:
        """Stop waiting for approval (the pending code is abandoned), whoever started the login."""
        if self._cancel_event is not None:
            self._cancel_event.set()
        if self.auth.login_in_progress:
            self.auth.cancel_login()

    def logout(self) -> None:
        """End the session (tokens dropped, cache entry deleted, provider told)."""
        self.cancel()
        self.auth.logout()
        self.status = "logged_out"
        self.username = None
        self.message = "Logged out."
        self.code_html.value = ""
        self._render()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a running login to end; True if it ended within ``timeout`` seconds."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # ------------------------------------------------------------------ background thread

    def _run_login(self, cancel_event: threading.Event) -> None:
        try:
            self.auth.login(display=self._show_authorization, cancel_event=cancel_event, progress=self._progress)
        except LoginCancelledError:
            self.message = "Login cancelled."
            self.status = "cancelled"
        except WorldCerealExplorerError as exc:
            self.message = f"Login failed: {exc}"  # package errors never carry tokens
            self.status = "error"
        except Exception as exc:  # keep the UI alive whatever happens on this thread
            self.message = f"Login failed: unexpected {type(exc).__name__}"
            self.status = "error"
        else:
            self.username = self.auth.username
            self.message = ""
            self.status = "logged_in"
        finally:
            self.code_html.value = ""
            self._render()

    def _show_authorization(self, authorization: DeviceAuthorization) -> None:
        link = html.escape(authorization.link, quote=True)
        shown = html.escape(authorization.verification_uri)  # the short form; the link may carry the code
        code = html.escape(authorization.user_code)
        self.code_html.value = (
            "<div style='line-height:1.6'>"
            f"<div>1. Open <a class='wcx-login-link' href=\"{link}\" target=\"_blank\" rel=\"noopener noreferrer\" "
            f"style='word-break:break-all'>{shown}</a></div>"
            f"<div>2. Enter the code <code class='wcx-user-code' style='font-size:1.2em;font-weight:bold'>{code}</code>"
            "</div></div>"
        )
        self.message = "Waiting for you to approve the login…"
        self._render()

    def _progress(self, seconds_left: float) -> None:
        minutes, seconds = divmod(int(seconds_left), 60)
        self.message = f"Waiting for you to approve the login… (code valid for {minutes} min {seconds:02d} s)"
        self._render()

    def _on_auth_event(self, event: str) -> None:
        own_login = self._thread is not None and self._thread.is_alive()
        if event == "login_started":
            # Also for logins the client starts (private data requested): show the link and code here.
            authorization = self.auth.pending_authorization
            if authorization is not None:
                self.status = "waiting"
                self._show_authorization(authorization)
            return
        if event == "login_failed" and not own_login:
            self.message = f"Login failed: {self.auth.last_login_error or 'unknown reason'}"
            self.status = "cancelled" if "cancelled" in self.message else "error"
            self.code_html.value = ""
        elif event == "logged_in":
            self.username = self.auth.username
            self.status = "logged_in"
        elif event == "logged_out" and self.status == "logged_in":
            self.username = None
            self.status = "logged_out"
            self.message = "The session ended; log in again to see private data."
        self._render()

    # ------------------------------------------------------------------ view

    def _render(self) -> None:
        status = self.status
        if status == "logged_in":
            line = f"Logged in as <b class='wcx-username'>{html.escape(self.username or '?')}</b>"
        elif status == "waiting":
            line = html.escape(self.message)
        elif status in ("error", "cancelled"):
            line = f"<span class='wcx-login-{status}'>{html.escape(self.message)}</span>"
        else:
            line = html.escape(self.message) if self.message else "Not logged in (public data only)."
        self.status_html.value = line
        waiting = status == "waiting"
        self.login_button.layout.display = "none" if waiting or status == "logged_in" else None
        self.cancel_button.layout.display = None if waiting else "none"
        self.logout_button.layout.display = None if status == "logged_in" else "none"

    def __repr__(self) -> str:
        return f"LoginWidget(status={self.status!r}, username={self.username!r})"


__all__ = ["LoginWidget", "STATUSES"]
