"""Place search: type or pick a country and it becomes the query area (its outline, or only its box).

The countries come with the package (:mod:`worldcereal_explorer.places`, Natural Earth, public domain), so
this works offline; the widget reads no file and makes no request of its own.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w
from shapely.geometry import mapping

from ..places import Country, country_names, find_country, match_countries
from ..state import RdmQueryState
from ._base import StateWidget

__all__ = ["PlaceSearch"]


class PlaceSearch(StateWidget):
    """A country box: picking "Kenya" from the list (or typing it) sets the query area in one step.

    With "use outline" ticked (default) the country's outline is the query polygon (``state.polygon``,
    and ``state.bbox`` its bounds); unticked, only its bounding box (``state.bbox``). A name or alias typed
    in full (or picked from the list) applies at once; "Go" also takes ISO alpha-3 codes (``KEN``) and the first name
    starting with the text.

    Parameters
    ----------
    state
        The query state to bind to (a new one when ``None``).
    zoom_to
        Called with ``(west, south, east, north)`` after a country is applied (the map's ``zoom_to``).

    Attributes
    ----------
    country : Country or None
        The country last applied (cleared when the area changes elsewhere).
    """

    def __init__(self, state: RdmQueryState | None = None, *, zoom_to: Callable[[tuple], Any] | None = None,
                 **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-place-search")
        self.zoom_to = zoom_to
        self.country: Country | None = None
        self._applying = False
        self.box = w.Combobox(placeholder="country, e.g. Kenya", options=country_names(), ensure_option=False,
                              continuous_update=True, layout=w.Layout(width="220px"))
        self.box.add_class("wce-place-box")
        self.box.observe(self._on_text, "value")
        self.go_button = w.Button(description="Go", icon="search", layout=w.Layout(width="auto"),
                                  tooltip="set the area to this country")
        self.go_button.add_class("wce-place-go")
        self.go_button.on_click(lambda _: self.apply(self.box.value))
        self.outline = w.Checkbox(value=True, description="use outline", indent=False,
                                  tooltip="filter by the country's outline; untick for its bounding box only",
                                  layout=w.Layout(width="auto"))
        self.outline.add_class("wce-place-outline")
        self.outline.observe(self._on_outline, "value")
        self.message = w.HTML()
        self.message.add_class("wce-place-message")
        self.children = [w.HBox([w.HTML("<b>Country</b>", layout=w.Layout(margin="0 6px 0 0")), self.box,
                                 self.go_button, self.outline, self.message],
                                layout=w.Layout(flex_flow="row wrap", align_items="center"))]
        self._observe_state(self._on_state_extent, ["bbox", "polygon"])

    def _on_text(self, change: dict) -> None:
        if self._applying:
            return
        country = find_country(change["new"], codes=False)
        if country is not None and (self.country is None or country.name != self.country.name):
            self.apply(country)

    def _on_outline(self, change: dict) -> None:
        if self.country is not None:
            self.apply(self.country)

    def apply(self, place: str | Country) -> Country | None:
        """Make ``place`` (a name, alias, ISO alpha-3 code, the start of a name, or a :class:`Country`) the
        query area; say so when nothing matches. Returns the country applied."""
        country = place if isinstance(place, Country) else find_country(place)
        if country is None and not isinstance(place, Country):
            matches = match_countries(place, limit=1)
            country = matches[0] if matches else None
        if country is None:
            text = str(place or "").strip()
            self.message.value = (f"<span style='color:#b71c1c'>no country named "
                                  f"\u201c{html.escape(text)}\u201d</span>" if text else "")
            return None
        use_outline = self.outline.value
        bounds = country.bbox
        self._applying = True
        try:
            with self.state.hold_trait_notifications():
                self.state.polygon = mapping(country.geometry) if use_outline else None
                self.state.bbox = bounds
            self.country = country
            if self.box.value != country.name:
                self.box.value = country.name
        finally:
            self._applying = False
        what = "outline" if use_outline else "bounding box"
        self.message.value = (f"<span style='color:#555'>area: {html.escape(country.name)} ({what})</span>")
        if self.zoom_to is not None:
            self.zoom_to(bounds)
        return country

    def reset(self) -> None:
        """Forget the country (the box empties); the area itself is the map's to clear."""
        self._applying = True
        try:
            self.box.value = ""
        finally:
            self._applying = False
        self.country = None
        self.message.value = ""

    def _on_state_extent(self, change: dict | None = None) -> None:
        if self._applying or self.country is None:
            return
        # The area was changed elsewhere (drawn, typed, uploaded, cleared): the box no longer describes it.
        self.reset()
