"""Access filter: public / private / restricted collections, with login for the non-public ones."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ._base import StateWidget
from .login import LoginWidget


class PrivacyToggle(StateWidget):
    """Three checkboxes bound to ``state.include_public/include_private/include_restricted``.

    Asking for private or restricted collections shows a :class:`~worldcereal_explorer.widgets.login.LoginWidget`
    on the state's login session (``state.auth``); the state re-runs the search when a session opens.
    With a fixed access token (``$WORLDCEREAL_RDM_TOKEN``) the widget just says that token is used.

    Takes the arguments of :class:`~worldcereal_explorer.widgets._base.StateWidget`: the query state to bind
    to (a new one when ``None``) and the ``VBox``'s keyword arguments.
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
        self.login_widget: LoginWidget | None = None
        self.children = [w.HTML("<b>Access</b>"), w.HBox([self.public, self.private, self.restricted]),
                         self.login_area]
        self._observe_state(self._update_login, ["include_private", "include_restricted"])
        self._update_login()

    def _update_login(self, change: dict | None = None) -> None:
        if not (self.state.include_private or self.state.include_restricted):
            self.login_area.children = []
            return
        if self.login_widget is None:
            # Made only now: the state's login session exists from the first request for private data.
            self.login_widget = LoginWidget(self.state)
            if self.login_widget.status == "token":
                self.login_widget.add_class("wce-login-token")
        self.login_area.children = [self.login_widget]

    def close(self) -> None:
        """Detach from the state (the login session stays with the state), then close."""
        login, self.login_widget = getattr(self, "login_widget", None), None
        if login is not None:
            login.close()
        super().close()
