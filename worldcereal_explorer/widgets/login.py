"""Login widget: device login with a clickable link and user code, progress, cancel, "logged in as", log out.

The widget is a view of an :class:`~worldcereal_explorer.state.AuthSession` (the state's ``auth``):
the session runs the login on a background thread and talks to the identity provider; the widget only
calls its methods and draws its traits. No widget value ever holds a token: only the verification link,
the user code and the user's display name.

Example
-------
>>> from worldcereal_explorer.state import RdmQueryState
>>> state = RdmQueryState()
>>> login = LoginWidget(state)       # doctest: +SKIP
>>> login                            # click "Log in", open the link, enter the code
>>> login.observe(lambda change: print(change.new), names="status")   # doctest: +SKIP
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets
import traitlets

from ..state import AUTH_STATUSES, AuthSession, RdmQueryState

#: Values of :attr:`LoginWidget.status`.
STATUSES = AUTH_STATUSES


def _session_for(source: Any) -> AuthSession:
    if isinstance(source, AuthSession):
        return source
    if isinstance(source, RdmQueryState):
        return source.auth
    # A token provider (e.g. DeviceCodeAuth) or None: a session of its own around it.
    return AuthSession(source)


class LoginWidget(widgets.VBox):
    """Log in to the RDM's identity provider with the device flow, and show who is logged in.

    Parameters
    ----------
    auth
        What to log into: an :class:`~worldcereal_explorer.state.RdmQueryState` (its ``auth`` session,
        shared with its client, so a login here authorises the state's searches), an
        :class:`~worldcereal_explorer.state.AuthSession`, or a token provider such as
        :class:`~worldcereal_explorer.rdm.auth.DeviceCodeAuth` (wrapped in a session of its own).
        Default: a session with a new device-login provider.

    Attributes
    ----------
    session : AuthSession
        The session the widget shows and drives.
    auth
        The session's token provider.
    status : str
        The session's status: ``"logged_out"``, ``"waiting"`` (link and code shown, waiting for
        approval), ``"logged_in"``, ``"cancelled"``, ``"error"`` or ``"token"`` (a fixed access token).
        Observe it to react to logins.
    username : str or None
        Who is logged in (``preferred_username``, ``name`` or ``sub``), else ``None``.
    message : str
        The last progress or error line shown.
    """

    status = traitlets.Enum(STATUSES, default_value="logged_out")
    username = traitlets.Unicode(None, allow_none=True)
    message = traitlets.Unicode("")

    def __init__(self, auth: Any = None, **kwargs: Any):
        self.session = _session_for(auth)
        self.auth = self.session.provider

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
        self._links = [traitlets.dlink((self.session, name), (self, name)) for name in ("username", "message", "status")]
        self.session.observe(self._render, names=["status", "username", "message", "authorization"])
        self._render()

    # ------------------------------------------------------------------ actions (all on the session)
    def login(self) -> threading.Thread | None:
        """Start the device login (what the "Log in" button does); see :meth:`AuthSession.login`."""
        return self.session.login()

    def cancel(self) -> None:
        """Stop waiting for approval, whoever started the login."""
        self.session.cancel()

    def logout(self) -> None:
        """End the session."""
        self.session.logout()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a running login to end; True if it ended within ``timeout`` seconds."""
        return self.session.wait(timeout)

    def close(self) -> None:
        """Stop following the session (the session itself, and a login it runs, go on), then close."""
        links, self._links = getattr(self, "_links", []), []
        for link in links:
            link.unlink()
        if links:
            self.session.unobserve(self._render, names=["status", "username", "message", "authorization"])
        super().close()

    # ------------------------------------------------------------------ view
    def _authorization_html(self) -> str:
        authorization = self.session.authorization
        if authorization is None:
            return ""
        link = html.escape(authorization.link, quote=True)
        shown = html.escape(authorization.verification_uri)  # the short form; the link may carry the code
        code = html.escape(authorization.user_code)
        return (
            "<div style='line-height:1.6'>"
            f"<div>1. Open <a class='wcx-login-link' href=\"{link}\" target=\"_blank\" rel=\"noopener noreferrer\" "
            f"style='word-break:break-all'>{shown}</a></div>"
            f"<div>2. Enter the code <code class='wcx-user-code' style='font-size:1.2em;font-weight:bold'>{code}</code>"
            "</div></div>"
        )

    def _served_note(self) -> str:
        """What a visitor of a served dashboard must know about their login (nothing in personal use)."""
        session = self.session
        if not session.served:
            return ""
        if session.remembered:
            return ("<div class='wcx-login-shared-warning'>This server remembers the login for everyone who "
                    "opens it: use it only if nobody else can reach it.</div>")
        return ("<div class='wcx-login-scope'>A login here stays in this page only: closing the page ends it, "
                "and other visitors of this dashboard never share it.</div>")

    def _render(self, change: Any = None) -> None:
        session = self.session
        status, message = session.status, session.message
        if status == "logged_in":
            line = f"Logged in as <b class='wcx-username'>{html.escape(session.username or '?')}</b>"
            line += self._served_note()
        elif status == "token":
            line = "Using the configured access token."
        elif status == "waiting":
            line = html.escape(message)
        elif status in ("error", "cancelled"):
            line = f"<span class='wcx-login-{status}'>{html.escape(message)}</span>"
        else:
            line = html.escape(message) if message else "Not logged in (public data only)."
            line += self._served_note()
        self.code_html.value = self._authorization_html()
        self.status_html.value = line
        waiting = status == "waiting"
        self.login_button.layout.display = "none" if waiting or status in ("logged_in", "token") else None
        self.cancel_button.layout.display = None if waiting else "none"
        self.logout_button.layout.display = None if status == "logged_in" else "none"

    def __repr__(self) -> str:
        return f"LoginWidget(status={self.status!r}, username={self.username!r})"


__all__ = ["LoginWidget", "STATUSES"]
