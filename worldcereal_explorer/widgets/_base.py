"""What every explorer widget shares: a (possibly shared) query state and loop-free two-way syncing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager, suppress
from typing import Any

import ipywidgets as w
import traitlets

from ..state import RdmQueryState

#: Shown over results (table, chart, samples) that do not answer the current filters.
STALE_RESULTS_TEXT = "results for earlier filters"

#: The CSS the widgets rely on (dimmed stale results, links that look like links, crop chips, crop rows on
#: one line, a compact map legend: ipyleaflet's gives each entry a paragraph's margins). Every widget that needs it carries it in a hidden ``HTML`` (:func:`style_widget`), so it works
#: outside the dashboard; the dashboard may also put it in its header once.
CSS = """<style>
.wce-stale-dim { opacity: 0.4; filter: grayscale(60%); transition: opacity 0.2s; }
.wce-stale-note { color: #e65100; font-size: 12px; font-weight: 600; }
a.wce-link, .wce-download-links a, .wce-collection-details a, .wce-results a, .wce-place-search a,
.wce-download-link { color: #1565c0 !important; text-decoration: underline !important; cursor: pointer; }
.jupyter-button.wce-link-button { background: transparent; color: #1565c0; text-decoration: underline;
  box-shadow: none; border: none; padding: 0 2px; text-align: left; justify-content: flex-start;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.jupyter-button.wce-link-button:hover { color: #0d47a1; background: #e3f2fd; }
.jupyter-button.wce-chip { background: #e3f2fd; color: #0d47a1; border-radius: 12px; height: 24px;
  line-height: 22px; padding: 0 8px; margin: 2px 3px 2px 0; font-size: 12px; width: auto; max-width: 100%;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.jupyter-button.wce-chip.wce-chip-dropped { background: #fbe9e7; color: #bf360c; }
.jupyter-button.wce-chip:hover { background: #bbdefb; }
.wce-crop-row { flex-wrap: nowrap; }
.wce-crop-row .jupyter-button { flex-shrink: 0; }
.wce-crop-label { min-width: 0; flex: 1 1 auto; overflow: hidden; }
.wce-crop-label .widget-html-content { white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  line-height: 24px; }
/* accessibility: a visible focus ring on every control; a name for screen readers only; contrast >= 4.5:1 */
.wce-explorer :focus-visible, .wce-focus-ring :focus-visible, .jupyter-widgets :focus-visible,
.leaflet-container a:focus-visible { outline: 2px solid #0d47a1 !important; outline-offset: 1px !important; }
.wce-sr-label .widget-label-basic > span, .wce-sr-only { position: absolute !important; width: 1px !important;
  height: 1px !important; overflow: hidden !important; clip: rect(0 0 0 0) !important; white-space: nowrap !important;
  margin: -1px !important; padding: 0 !important; border: 0 !important; }
.jupyter-button.mod-success { background-color: #2e7d32; }
.jupyter-button.mod-warning { background-color: #b45309; }
.jupyter-button.mod-info { background-color: #0277bd; }
.jupyter-widget-Collapse-header, .jupyter-widget-Collapse-header > span { color: #37474f !important; }
div.leaflet-control-legend { line-height: 14px; font-size: 11px; padding: 4px 8px 4px 6px; max-width: 190px; }
div.leaflet-control-legend > h4 { font-size: 12px; margin: 0 0 3px; }
div.leaflet-control-legend > i { width: 12px; height: 12px; margin: 1px 5px 0 0; }
div.leaflet-control-legend > p { margin: 0; max-width: 160px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; vertical-align: top; }
</style>"""


def style_widget() -> w.HTML:
    """A zero-size ``HTML`` widget carrying :data:`CSS`."""
    style = w.HTML(CSS, layout=w.Layout(height="0px", width="0px", margin="0", overflow="hidden"))
    style.add_class("wce-style")
    return style


def widget_tree(root: w.Widget, *, attributes: bool = True) -> list[w.Widget]:
    """``root`` and every widget it holds, root first: the widgets its synced traits name (children,
    layout and style, map layers and controls, a figure's marks, axes and scales) and the ones its plain
    attributes hold, directly or in a list or dict (parts kept aside: a view not shown right now, pooled
    rows or chips out of the grid), and so on down.

    Closing a box closes only the box; its parts keep their models, in the kernel and in the browser.
    Closing the whole tree is what frees a composed widget. Only traits serialised as widgets are
    followed, so a layer's GeoJSON or a mark's data is never walked. ``attributes=False`` follows the
    synced traits only (for a widget whose attributes may point at widgets it does not own, such as the
    map a layer was drawn for).
    """
    to_widget_json = w.widget_serialization["to_json"]
    found: dict[int, w.Widget] = {}
    pending: list[Any] = [root]
    while pending:
        widget = pending.pop()
        if id(widget) in found:
            continue
        found[id(widget)] = widget
        held = [getattr(widget, name, None) for name in widget.keys
                if widget.trait_metadata(name, "to_json") is to_widget_json]
        if attributes:
            held += [value for name, value in vars(widget).items() if not name.startswith("__")]
        for value in held:
            items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
            pending.extend(item for item in items if isinstance(item, w.Widget))
    return list(found.values())


def close_widgets(widgets: Iterable[w.Widget]) -> None:
    """Close each of ``widgets`` with what its synced traits hold (its layout, style, children)."""
    for widget in widgets:
        for part in widget_tree(widget, attributes=False):
            part.close()


def action_button(description: str, icon: str, css_class: str, action: Callable[[], Any],
                  **kwargs: Any) -> w.Button:
    """A button sized to its label that calls ``action`` when clicked.

    Parameters
    ----------
    description : str
        Its label.
    icon : str
        A Font Awesome icon name.
    css_class : str
        The class tests and page scripts find it by.
    action : callable
        Called with no argument on each click.
    **kwargs
        More ``ipywidgets.Button`` traits (``tooltip``, ``disabled`` ...).

    Returns
    -------
    ipywidgets.Button
    """
    # width "auto": the default 148px cuts labels such as "Harmonization (PDF)" off
    button = w.Button(description=description, icon=icon, layout=w.Layout(width="auto"), **kwargs)
    button.add_class(css_class)
    button.on_click(lambda _: action())
    return button


def anywidget_available() -> bool:
    """True when ``anywidget`` is installed, so the page-side helper widgets can exist.

    Returns
    -------
    bool
    """
    try:
        import anywidget  # noqa: F401
    except ImportError:
        return False
    return True


def optional_anywidget(build: Callable[[Any], type]) -> type | None:
    """Build an anywidget class, or give ``None`` when anywidget is not installed.

    anywidget is optional: each small page-side helper (accessible names, tile watch, page bridge) is
    defined inside ``build`` so its module imports without it, and the widgets that use the helper
    leave it out when this returns ``None``.

    Parameters
    ----------
    build : callable
        Called with ``anywidget.AnyWidget``; defines and returns the subclass.

    Returns
    -------
    type or None
        What ``build`` returned, or ``None`` without anywidget.
    """
    try:
        import anywidget
    except ImportError:
        return None
    return build(anywidget.AnyWidget)


def stale_note_html(status: str, why: str | None = None) -> str:
    """The note over stale results, saying why they are stale.

    Parameters
    ----------
    status
        ``state.status``: the default reason follows it (search running, failed, or not run).
    why
        The reason to give instead.
    """
    if why is None:
        why = {"loading": "searching for the current filters\u2026",
               "error": "the search for the current filters failed; see the status line"}.get(
            status, "the current filters have not been searched (invalid, cancelled or not run yet)")
    return (f"<span class='wce-stale-note' data-stale='true'>&#9888; {STALE_RESULTS_TEXT} \u2014 "
            f"{why}</span>")


class StateWidget(w.VBox):
    """An ipywidgets ``VBox`` bound to an :class:`~worldcereal_explorer.state.RdmQueryState`.

    Parameters
    ----------
    state
        The shared state; a new one (endpoint from ``$WORLDCEREAL_RDM_URL``) when ``None``, so every
        widget also works on its own.
    """

    def __init__(self, state: RdmQueryState | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.state = state if state is not None else RdmQueryState()
        self._syncing = False
        # State changes arrive on worker threads while clicks arrive on the kernel's main thread;
        # widgets that rebuild their children do it under this lock so two rebuilds never interleave.
        self._render_lock = threading.RLock()
        self._observers: list[tuple[Any, str | list[str]]] = []
        #: traitlets links to the state, undone on close
        self._links: list[Any] = []

    @contextmanager
    def _sync(self):
        """Suppress the echo of a change we are making ourselves (widget -> state -> widget)."""
        previous = self._syncing
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = previous

    def _show_stale(self, stale: bool, targets: list[Any], note: w.HTML | None) -> None:
        """Dim ``targets`` (CSS class ``wce-stale-dim``) and fill ``note`` while ``stale``; undo both after."""
        for target in targets:
            if stale:
                target.add_class("wce-stale-dim")
            else:
                target.remove_class("wce-stale-dim")
        if note is not None:
            note.value = stale_note_html(self.state.status) if stale else ""
            note.layout.display = "" if stale else "none"

    def _observe_state(self, handler: Any, names: str | list[str]) -> None:
        self.state.observe(handler, names=names)
        self._observers.append((handler, names))

    def _link_state(self, state_trait: str, widget: Any, widget_trait: str = "value") -> Any:
        """Keep ``state.<state_trait>`` and ``widget.<widget_trait>`` equal both ways until close."""
        link = traitlets.link((self.state, state_trait), (widget, widget_trait))
        self._links.append(link)
        return link

    def close(self) -> None:
        """Detach from the state, then close the widget. Closing again does nothing (``Widget.__del__``
        closes a widget that was already closed by hand)."""
        # Lists are emptied before unhooking, so a second close (or one raising half-way) has nothing left.
        observers, self._observers = getattr(self, "_observers", []), []
        links, self._links = getattr(self, "_links", []), []
        for handler, names in observers:
            with suppress(ValueError):
                self.state.unobserve(handler, names=names)
        for link in links:
            with suppress(ValueError):
                link.unlink()
        super().close()
