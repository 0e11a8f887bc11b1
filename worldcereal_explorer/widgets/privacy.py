"""Access filter: public / private / restricted collections, with login for the non-public ones."""

from __future__ import annotations

import importlib
from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ._base import StateWidget

LOGIN_REQUIRED_MESSAGE = (
    "Login required: private and restricted collections are only listed for a logged-in user. "
    "This installation has no login widget yet; set the environment variable WORLDCEREAL_RDM_TOKEN "
    "before starting the dashboard to use an existing access token."
)


def _login_widget_class():
    """``widgets.login.LoginWidget`` when that module exists (written by the auth work), else ``None``."""
    try:
        module = importlib.import_module("worldcereal_explorer.widgets.login")
    except ImportError:
        return None
    return getattr(module, "LoginWidget", None)


class PrivacyToggle(StateWidget):
    """Three checkboxes bound to ``state.include_public/include_private/include_restricted``.

    Asking for private or restricted collections shows the login widget (or, where it is not
    available, a clear "login required" message).

    Parameters
    ----------
    state
        The query state to bind to (a new one when ``None``).
    """

    def __init__(self, state: RdmQueryState | None = None, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.public = w.Checkbox(description="Public", indent=False, layout=w.Layout(width="auto"))
        self.private = w.Checkbox(description="Private", indent=False, layout=w.Layout(width="auto"))
        self.restricted = w.Checkbox(description="Restricted", indent=False, layout=w.Layout(width="auto"))
        for box, name in ((self.public, "public"), (self.private, "private"), (self.restricted, "restricted")):
            box.add_class(f"wce-access-{name}")
        self._link_state("include_public", self.public)
        self._link_state("include_private", self.private)
        self._link_state("include_restricted", self.restricted)
        self.login_area = w.VBox()
        self.login_area.add_class("wce-login-area")
        self.login_widget = None
        self.children = [w.HTML("<b>Access</b>"), w.HBox([self.public, self.private, self.restricted]),
                         self.login_area]
        self._observe_state(self._update_login, ["include_private", "include_restricted"])
        self._update_login()

    def _update_login(self, change: dict | None = None) -> None:
        if not (self.state.include_private or self.state.include_restricted):
            self.login_area.children = []
            return
        if self.login_widget is None:
            cls = _login_widget_class()
            if cls is None:
                self.login_widget = w.HTML(
                    f"<div class='wce-login-required' style='color:#b71c1c'>{LOGIN_REQUIRED_MESSAGE}</div>"
                )
            else:
                # Share one auth object between the widget and the client, so logging in here
                # authorises the state's searches and sample reads.
                client = self.state.client
                auth = getattr(client, "token_provider", None)
                if auth is not None and not hasattr(auth, "login"):
                    # A fixed token (WORLDCEREAL_RDM_TOKEN) is already in use; there is nothing to log into.
                    self.login_widget = w.HTML("<div class='wce-login-token'>Using the configured access token.</div>")
                else:
                    self.login_widget = cls(auth=auth)
                    if auth is None:
                        client.token_provider = self.login_widget.auth
                    self.login_widget.observe(self._on_login, "status")
        self.login_area.children = [self.login_widget]

    def _on_login(self, change: dict) -> None:
        # A new session changes what the search may return: run it again.
        if change["new"] == "logged_in":
            self.state.search(delay=0)
