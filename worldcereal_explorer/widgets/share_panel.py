"""Share and reproduce: the Python code for the current filters, a link, and saved sessions.

:class:`SharePanel` shows, for the query state's current filters, the code that fetches the same samples
with :class:`~worldcereal_explorer.rdm.client.RdmClient`, a link holding the filters in its query string
(``?bbox=...&start=...``, with the crop groups and the training panel's cap and split), and a Save / Load pair
for a small JSON session file holding the same.

The page-side part is :class:`PageBridge`, a tiny `anywidget <https://anywidget.dev>`_ front end (no
network, its JavaScript travels with the widget) that keeps the browser's address bar on the current
filters (``history.replaceState``, only where ``sync`` is on, which the dashboard does under Voilà) and
copies text to the clipboard. Without anywidget installed the panel still works; the address bar then
does not follow and the copy buttons ask to copy by hand.
"""

from __future__ import annotations

import base64
import html
import json
from contextlib import suppress
from typing import Any

import ipywidgets as w
import traitlets

from ..errors import InvalidInputError
from ..state import SAMPLE_INPUTS, RdmQueryState
from ..state.serialize import apply_state_dict, parse_state_json, state_to_dict
from ..state.snippet import state_to_code
from ..state.training import SHARED_SETTINGS, service_of
from ._base import StateWidget, anywidget_available, optional_anywidget
from .parts import html_part

__all__ = ["PageBridge", "SharePanel", "page_bridge_available"]

_BRIDGE_ESM = r"""
function copyText(text) {
  const fallback = () => {
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  };
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text).then(() => true, () => fallback());
  }
  return Promise.resolve(fallback());
}

function render({ model, el }) {
  el.style.display = "none";
  el.classList.add("wce-page-bridge");
  const link = () => {
    const q = model.get("query");
    return location.origin + location.pathname + (q ? "?" + q : "");
  };
  const apply = () => {
    if (!model.get("sync")) return;
    const q = model.get("query");
    const url = location.pathname + (q ? "?" + q : "") + location.hash;
    if (url !== location.pathname + location.search + location.hash) {
      history.replaceState(history.state, "", url);
    }
  };
  model.on("change:query", apply);
  model.on("change:sync", apply);
  model.on("msg:custom", (msg) => {
    if (!msg || !msg.copy) return;
    const text = msg.copy === "link" ? link() : msg.text;
    copyText(text).then((ok) => {
      model.set("copied", (model.get("copied") || 0) + 1);
      model.set("copy_ok", !!ok);
      model.save_changes();
    });
  });
  model.set("page_url", location.origin + location.pathname);
  model.save_changes();
  apply();
}
export default { render };
"""


def page_bridge_available() -> bool:
    """True when ``anywidget`` is installed, so :class:`PageBridge` can talk to the page."""
    return anywidget_available()


def _bridge_class(base: Any) -> type:
    class PageBridge(base):
        """An invisible widget that keeps the address bar on ``query`` (when ``sync``) and copies text.

        Attributes
        ----------
        query : str
            The query string the address bar shows (without ``?``).
        sync : bool
            Change the address bar (the dashboard turns this on under Voilà only).
        page_url : str
            The page's address without its query string, as the browser reports it.
        copied : int
            How many copy requests the page has answered; ``copy_ok`` says whether the last one worked.
        """

        _esm = _BRIDGE_ESM
        query = traitlets.Unicode("").tag(sync=True)
        sync = traitlets.Bool(False).tag(sync=True)
        page_url = traitlets.Unicode("").tag(sync=True)
        copied = traitlets.Int(0).tag(sync=True)
        copy_ok = traitlets.Bool(False).tag(sync=True)

        def copy(self, text: str) -> None:
            """Ask the page to copy ``text`` to the clipboard."""
            self.send({"copy": "text", "text": text})

        def copy_link(self) -> None:
            """Ask the page to copy its own address with ``query`` to the clipboard."""
            self.send({"copy": "link"})

    return PageBridge


#: The bridge widget class, or ``None`` when anywidget is not installed.
PageBridge = optional_anywidget(_bridge_class)

_STYLE = """
<style>
.wce-share .wce-share-code textarea { font-family: monospace; font-size: 12px; }
.wce-share .wce-share-message-error { color: #b71c1c; }
.wce-share .wce-share-message-ok { color: #2e7d32; }
.wce-share a.wce-save-session { display: inline-block; padding: 4px 10px; margin: 2px; border: 1px solid #bbb;
  border-radius: 2px; background: #eee; color: #000; text-decoration: none; font-size: 13px; }
</style>
"""


class SharePanel(StateWidget):
    """Copy as code, copy link, and save / load the whole query as a JSON session file.

    Parameters
    ----------
    state
        The query state it writes out as code, a link or a session file, and that a loaded session
        file replaces (a new state when ``None``).
    url_sync
        Keep the browser's address bar on the current filters (the dashboard turns it on under Voilà;
        in JupyterLab it would change the notebook's own address, so it is off by default).
    session_name
        File name offered by the Save link.

    Attributes
    ----------
    code : ipywidgets.Textarea
        The Python that reproduces the current samples (``RdmClient(endpoint).get_samples(...)``).
    link : ipywidgets.Text
        The dashboard link for the current filters.
    upload : ipywidgets.FileUpload
        Load a saved session (``.json``).
    message : ipywidgets.HTML
        What the last Load / copy did, or why it failed.
    bridge : PageBridge or None
        The page-side helper (``None`` without anywidget).
    """

    def __init__(self, state: RdmQueryState | None = None, *, url_sync: bool = False,
                 session_name: str = "worldcereal-query.json", **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-share")
        self.session_name = session_name
        self.bridge = PageBridge(sync=url_sync) if PageBridge is not None else None
        self.code = w.Textarea(layout=w.Layout(width="100%", height="230px"))
        self.code.add_class("wce-share-code")
        self.copy_code_button = w.Button(description="Copy code", icon="copy",
                                         tooltip="copy the Python that fetches these samples")
        self.copy_code_button.add_class("wce-copy-code")
        self.copy_link_button = w.Button(description="Copy link", icon="link",
                                         tooltip="copy a link that opens the dashboard with these filters")
        self.copy_link_button.add_class("wce-copy-link")
        self.link = w.Text(layout=w.Layout(width="100%"), description="Link", continuous_update=False)
        self.link.add_class("wce-share-link")
        self.save_link = html_part("wce-save-box")
        self.upload = w.FileUpload(accept=".json,application/json", multiple=False, description="Load session")
        self.upload.add_class("wce-load-session")
        self.message = html_part("wce-share-message")
        self.copy_code_button.on_click(lambda _: self._copy(code=True))
        self.copy_link_button.on_click(lambda _: self._copy(code=False))
        self.upload.observe(self._on_upload, "value")
        header = w.HTML("<b>Share and reproduce</b> <span style='color:#555;font-size:12px'>the Python that "
                        "fetches these samples, a link to these filters, a session file</span>" + _STYLE)
        children: list[Any] = [header, self.code,
                               w.HBox([self.copy_code_button, self.copy_link_button, self.save_link, self.upload]),
                               self.link, self.message]
        if self.bridge is not None:
            children.append(self.bridge)
            self.bridge.observe(self._on_page, ["page_url", "copied"])
        self.children = children
        self._observe_state(self._refresh, [*SAMPLE_INPUTS, "grouping", "collections"])
        # the link and the session carry the training panel's cap and split (the dashboard makes that panel first)
        self._training = service_of(self.state)
        if self._training is not None:
            self._training.observe(self._refresh, names=list(SHARED_SETTINGS))
        self._refresh()

    def close(self) -> None:
        """Stop following the state and its training settings, then close the panel."""
        training, self._training = getattr(self, "_training", None), None
        if training is not None:
            with suppress(ValueError):
                training.unobserve(self._refresh, names=list(SHARED_SETTINGS))
        super().close()

    # --- state -> panel -------------------------------------------------------------------------------
    def query_string(self) -> str:
        """The link's query string for the current filters (without ``?``)."""
        return self.state.to_query_string()

    def link_url(self) -> str:
        """The full link when the page has reported its address, else ``?<query>``."""
        query = self.query_string()
        base = self.bridge.page_url if self.bridge is not None else ""
        return f"{base}?{query}" if query else (base or "?")

    def _refresh(self, change: dict | None = None) -> None:
        with self._render_lock:
            try:
                self.code.value = state_to_code(self.state)
                query = self.query_string()
                saved = json.dumps(state_to_dict(self.state), indent=2)
            except Exception as exc:  # never a traceback in the dashboard
                self.code.value = f"# the current filters cannot be written as code: {exc}"
                return
            if self.bridge is not None:
                self.bridge.query = query
            self.link.value = self.link_url()
            data = base64.b64encode(saved.encode()).decode()
            name = html.escape(self.session_name, quote=True)
            self.save_link.value = (f"<a class='wce-save-session' download='{name}' "
                                    f"href='data:application/json;base64,{data}' "
                                    "title='save these filters as a JSON session file'>Save session</a>")

    def _on_page(self, change: dict) -> None:
        if change["name"] == "page_url":
            self.link.value = self.link_url()
        elif self.bridge is not None and self.bridge.copy_ok:
            self._say("copied to the clipboard", ok=True)
        else:
            self._say("the browser did not allow copying: select the text and press Ctrl+C", ok=False)

    # --- actions --------------------------------------------------------------------------------------
    def _say(self, text: str, ok: bool) -> None:
        kind = "ok" if ok else "error"
        self.message.value = f"<span class='wce-share-message-{kind}'>{html.escape(text)}</span>"

    def _copy(self, code: bool) -> None:
        if self.bridge is None:
            self._say("select the text and press Ctrl+C to copy it", ok=False)
            return
        if code:
            self.bridge.copy(self.code.value)
        else:
            self.bridge.copy_link()

    def load_json(self, text: str | bytes, name: str = "the session file") -> bool:
        """Apply a saved session's JSON to the state; show what happened. Returns ``True`` on success.

        The state is left unchanged when the file is not valid (the message names the bad field).
        """
        try:
            values = parse_state_json(text, source=name)
            apply_state_dict(self.state, values, validated=True)
        except InvalidInputError as exc:
            self._say(f"not loaded: {exc}", ok=False)
            return False
        note = ""
        saved = values.get("endpoint")
        current = getattr(self.state.client, "endpoint", None)
        if saved and current and saved != current:
            note = f" (saved against {saved}; this dashboard stays on {current})"
        self._say(f"loaded {name}{note}", ok=True)
        return True

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        self.load_json(bytes(item.get("content", b"")), name=str(item.get("name") or "the session file"))
        with self._sync():
            self.upload.value = ()
