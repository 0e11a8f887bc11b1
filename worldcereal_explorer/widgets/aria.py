"""Accessible names that ipywidgets and ipyleaflet cannot set from Python, set by one tiny page script.

ipywidgets gives a control an accessible name only through its ``description`` (a ``<label>``); a
slider's handle (``role="slider"``), a Leaflet draw tool, or an input whose visible label is one letter
("W") get none, or one that does not say what the control does. :class:`AriaLabels` is an invisible
`anywidget <https://anywidget.dev>`_ whose front end (no network; the JavaScript travels with the widget)
sets ``aria-label`` (or another attribute) on the elements matching each rule's CSS selector, now and
whenever the page's DOM changes (a ``MutationObserver`` on ``childList`` only, coalesced to one pass per
animation frame, and an attribute is only written when it differs, so it never feeds itself).

Why this way: a selector rule keyed on the classes the widgets already carry (``wce-bbox-west``,
``wce-quality-lc``) is the least fragile hook available. It needs no fork of the ipywidgets or ipyleaflet
views, survives their re-rendering (the observer puts the label back), and leaves the page as it was when
anywidget is missing (then :func:`aria_labels` returns ``None`` and the controls keep their visible
labels). Each name starts with the control's visible label (WCAG 2.5.3, label in name). Names that can be
given from Python are given there instead (a checkbox's ``description``, a
button's text and ``tooltip``); the rules here are only for what Python cannot reach.

A slider with no rule gets its ``description`` as its name (``[role=slider]`` inside ``.widget-slider``).
"""

from __future__ import annotations

from typing import Any

import traitlets

from ._base import optional_anywidget

__all__ = ["DASHBOARD_LABELS", "AriaLabels", "aria_labels"]

#: ``(CSS selector, attribute, value)``: the dashboard's names for controls Python cannot name.
DASHBOARD_LABELS: list[tuple[str, str, str]] = [
    (".wce-quality-lc [role=slider]", "aria-label", "Min quality LC: minimum land-cover label quality (0 = no minimum)"),
    (".wce-quality-ct [role=slider]", "aria-label", "Min quality CT: minimum crop-type label quality (0 = no minimum)"),
    (".wce-start-date input", "aria-label", "From: start date of the samples' validity"),
    (".wce-end-date input", "aria-label", "To: end date of the samples' validity"),
    (".wce-bbox-west input", "aria-label", "W: west edge of the area, longitude in degrees"),
    (".wce-bbox-south input", "aria-label", "S: south edge of the area, latitude in degrees"),
    (".wce-bbox-east input", "aria-label", "E: east edge of the area, longitude in degrees"),
    (".wce-bbox-north input", "aria-label", "N: north edge of the area, latitude in degrees"),
    (".wce-place-box input", "aria-label", "Country: sets the area to its outline"),
    (".wce-place-go", "aria-label", "Go: set the area to the country typed"),
    (".wce-text-search-apply", "aria-label", "Apply: set the crop, area and dates the line names"),
    (".wce-text-search-box input", "aria-label",
     "Search: one line of crop, country and year, e.g. maize Kenya 2021; Enter applies"),
    (".leaflet-draw-draw-rectangle", "aria-label",
     "Draw a rectangle on the map (mouse or touch; without one, type the W, S, E, N edges, a country, or "
     "upload an area file)"),
    (".leaflet-draw-draw-rectangle", "title",
     "Draw a rectangle (mouse; keyboard: type W/S/E/N, a country or upload a file below)"),
    (".leaflet-draw-draw-polygon", "aria-label",
     "Draw a polygon on the map (mouse or touch; without one, type a country or upload an area file)"),
    (".leaflet-draw-draw-polygon", "title", "Draw a polygon (mouse; keyboard: a country or a file below)"),
    (".leaflet-draw-edit-remove", "aria-label", "Delete the drawn area"),
    (".leaflet-draw-actions a", "role", "button"),
    (".leaflet-container", "aria-label",
     "Map of the query area, the matching collections and the fetched samples"),
    (".wce-results-prev", "aria-label", "Previous page of collections"),
    (".wce-results-next", "aria-label", "Next page of collections"),
]

_ESM = r"""
function render({ model, el }) {
  el.style.display = "none";
  el.classList.add("wce-aria-labels");
  let pending = false;
  const apply = () => {
    pending = false;
    for (const [selector, attribute, value] of model.get("rules") || []) {
      let nodes;
      try { nodes = document.querySelectorAll(selector); } catch (e) { continue; }
      for (const node of nodes) {
        if (node.getAttribute(attribute) !== value) node.setAttribute(attribute, value);
      }
    }
    // a slider without a name of its own is named by its widget's description
    for (const handle of document.querySelectorAll(".widget-slider [role=slider]")) {
      if (handle.hasAttribute("aria-label") || handle.hasAttribute("aria-labelledby")) continue;
      const label = handle.closest(".widget-slider").querySelector(".widget-label");
      const text = label ? label.textContent.trim() : "";
      if (text) handle.setAttribute("aria-label", text);
    }
  };
  const schedule = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(apply);
  };
  const observer = new MutationObserver(schedule);
  observer.observe(document.body, { childList: true, subtree: true });
  model.on("change:rules", schedule);
  schedule();
  return () => observer.disconnect();
}
export default { render };
"""


def _labels_class(base: Any) -> type:
    class AriaLabels(base):
        """An invisible widget that sets attributes on the page's elements by CSS selector.

        Attributes
        ----------
        rules : list of [selector, attribute, value]
            What to set (see :data:`DASHBOARD_LABELS`).
        """

        _esm = _ESM
        rules: traitlets.List[list[str]] = traitlets.List().tag(sync=True)

    return AriaLabels


#: The widget class, or ``None`` when anywidget is not installed.
AriaLabels = optional_anywidget(_labels_class)


def aria_labels(rules: list[tuple[str, str, str]] | None = None) -> Any:
    """An :class:`AriaLabels` widget applying ``rules`` (default :data:`DASHBOARD_LABELS`); ``None``
    without anywidget (the page then keeps ipywidgets' own labels)."""
    if AriaLabels is None:
        return None
    return AriaLabels(rules=[list(rule) for rule in (DASHBOARD_LABELS if rules is None else rules)])
