"""A page script that notices when the dashboard's kernel has gone, says so, and offers a reload.

When Voilà's kernel dies (or Voilà itself stops) the page keeps looking normal while every button silently
does nothing. :class:`KernelWatch` is an invisible `anywidget <https://anywidget.dev>`_ whose front end
listens (capture phase, so no widget can swallow it) for clicks and keys on the page's controls. After each
one it asks two things at once:

* the kernel, by a custom comm message (``{"ping": n}``) that the Python side answers (``{"pong": n}``);
* the server, by ``GET {baseUrl}api/kernels/{kernelId}`` (the id Voilà wrote into the page's
  ``jupyter-config-data``): a 404 means the kernel is gone, a failed request that the server is.

A gone kernel or server shows the message at once; a kernel that does not answer within
:data:`ANSWER_TIMEOUT_MS` shows it too, worded as "not answering", and it goes away by itself if the answer
comes after all (a kernel only busy). The message is a ``role="alert"`` box fixed at the top of the page
with a Reload button that takes the keyboard focus. Without anywidget :func:`kernel_watch` returns
``None`` and the page is as before.
"""

from __future__ import annotations

from typing import Any

import traitlets

from ._base import optional_anywidget

__all__ = ["ANSWER_TIMEOUT_MS", "GONE_TEXT", "KernelWatch", "SILENT_TEXT", "kernel_watch"]

#: How long a click waits for the kernel's answer before the page says it is not answering (ms); with the
#: message's own rendering this stays within 5 s of the click.
ANSWER_TIMEOUT_MS = 3000

#: The message when the server says the kernel (or the server itself) is gone.
GONE_TEXT = ("The dashboard has stopped: its Python kernel is gone, so the buttons no longer do anything. "
             "Reload the page to start a new session.")
#: The message when the kernel is there but did not answer in time.
SILENT_TEXT = ("The dashboard is not answering: the connection to its Python kernel may be lost. "
               "Reload the page if this stays.")

_ESM = r"""
function render({ model, el }) {
  el.style.display = "none";
  el.classList.add("wce-kernel-watch");
  const timeoutMs = () => model.get("timeout_ms") || 3000;
  let config = {};
  try {
    const node = document.getElementById("jupyter-config-data");
    config = node ? JSON.parse(node.textContent) : {};
  } catch (e) { config = {}; }
  let serial = 0, waiting = null, timer = null, banner = null, gone = false;

  const show = (text, state) => {
    if (!banner) {
      banner = document.createElement("div");
      banner.className = "wce-kernel-lost";
      banner.setAttribute("role", "alert");
      banner.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:100000;padding:10px 16px;" +
        "background:#fdecea;color:#611a15;border-bottom:2px solid #b71c1c;font:15px/1.4 sans-serif;" +
        "display:flex;gap:12px;align-items:center;box-shadow:0 2px 6px rgba(0,0,0,.2)";
      const message = document.createElement("span");
      message.className = "wce-kernel-lost-text";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "wce-kernel-reload";
      button.textContent = "Reload page";
      button.style.cssText = "font:inherit;padding:4px 12px;cursor:pointer";
      button.addEventListener("click", (event) => { event.stopPropagation(); location.reload(); });
      banner.append(message, button);
      document.body.append(banner);
      button.focus();
    }
    banner.dataset.state = state;
    banner.querySelector(".wce-kernel-lost-text").textContent = text;
  };
  const hide = () => { if (banner && !gone) { banner.remove(); banner = null; } };
  const dead = () => { gone = true; show(model.get("gone_text"), "gone"); };

  const probeServer = () => {
    if (!config.kernelId) return;
    const url = new URL((config.baseUrl || "/") + "api/kernels/" + config.kernelId, location.href);
    fetch(url, { cache: "no-store", credentials: "same-origin" })
      .then((response) => { if (response.status === 404) dead(); })
      .catch(() => dead());  // the server no longer answers at all
  };
  const check = (event) => {
    if (gone || waiting !== null) return;
    if (banner && banner.contains(event.target)) return;
    const control = event.target.closest && event.target.closest(
      "button, input, select, textarea, a, [role=button], [role=slider], [role=checkbox], [role=option], " +
      ".jupyter-widgets, .leaflet-container");
    if (!control) return;
    waiting = ++serial;
    timer = setTimeout(() => {
      if (waiting !== null) show(model.get("silent_text"), "silent");
      waiting = null;
    }, timeoutMs());
    probeServer();
    try { model.send({ ping: waiting }); } catch (e) { /* no connection: the timer reports it */ }
  };
  model.on("msg:custom", (message) => {
    if (message && message.pong !== undefined) {
      if (message.pong === waiting) { clearTimeout(timer); waiting = null; }
      el.dataset.answered = String(message.pong);  // the last ping answered (tests wait for it)
      hide();  // an answer, even a late one: the kernel is there
    }
  });
  document.addEventListener("click", check, true);
  document.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") check(event); },
                            true);
  return () => {
    document.removeEventListener("click", check, true);
    clearTimeout(timer);
  };
}
export default { render };
"""


def _watch_class(base: Any) -> type:
    class KernelWatch(base):
        """An invisible widget that shows a Reload message once the page's kernel stops answering.

        Its page script sends ``{"ping": n}`` after each click or key on a control; this side answers
        ``{"pong": n}``, and a missing answer (or a 404 for the kernel from the server) brings the message.

        Attributes
        ----------
        timeout_ms : int
            How long a click waits for the kernel's answer (default :data:`ANSWER_TIMEOUT_MS`).
        gone_text, silent_text : str
            The messages (default :data:`GONE_TEXT`, :data:`SILENT_TEXT`).
        pings : int
            How many pings this kernel has answered.
        """

        _esm = _ESM
        timeout_ms = traitlets.Int(ANSWER_TIMEOUT_MS, min=100).tag(sync=True)
        gone_text = traitlets.Unicode(GONE_TEXT).tag(sync=True)
        silent_text = traitlets.Unicode(SILENT_TEXT).tag(sync=True)
        pings = traitlets.Int(0)

        def __init__(self, **kwargs: Any):
            super().__init__(**kwargs)
            self.on_msg(self._answer)

        def _answer(self, _widget: Any, content: Any, _buffers: Any) -> None:
            # the answer is what proves the kernel alive: nothing else to do
            if isinstance(content, dict) and "ping" in content:
                self.pings += 1
                self.send({"pong": content["ping"]})

    return KernelWatch


#: The widget class, or ``None`` when anywidget is not installed.
KernelWatch = optional_anywidget(_watch_class)


def kernel_watch(**traits: Any) -> Any:
    """A :class:`KernelWatch` (``traits`` for its attributes); ``None`` without anywidget (the page then
    has no such message)."""
    if KernelWatch is None:
        return None
    return KernelWatch(**traits)
