"""Place search: type or pick a country, continent or region and it becomes the query area (its outline, or
only its box).

The countries come with the package (:mod:`worldcereal_explorer.places`, Natural Earth, public domain) and the
continents and regions are unions of them (:mod:`worldcereal_explorer.regions`), so this works offline; the
widget reads no file and makes no request of its own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import ipywidgets as w
from shapely.geometry import mapping

from ..places import Country, country_names, match_countries
from ..regions import Region, closest_place_names, find_place, region_names, regions
from ..state import RdmQueryState
from ._base import StateWidget

__all__ = ["MESSAGE_HEIGHT", "PlaceSearch"]

#: The height kept for the message under the box, whether or not there is one: two lines of 16 px.
MESSAGE_HEIGHT = "32px"


class PlaceSearch(StateWidget):
    """A country box: picking "Kenya" (or "Europe", "Sub-Saharan Africa") from the list, or typing it, sets the
    query area in one step.

    With "use outline" ticked (default) the place's outline is the query polygon (``state.polygon``,
    and ``state.bbox`` its bounds); unticked, only its bounding box (``state.bbox``). A name or alias typed
    in full (or picked from the list) applies at once; Enter and "Go" also take ISO alpha-3 codes (``KEN``) and
    the first name starting with the text, and for a text that names nothing say so with the closest names
    (the area stays as it was). The message goes when the area is changed another way (drawn, typed,
    uploaded, cleared).

    Parameters
    ----------
    state
        The query state to bind to (a new one when ``None``).
    zoom_to
        Called with ``(west, south, east, north)`` after a country is applied (the map's ``zoom_to``).

    Attributes
    ----------
    country : Country or Region or None
        The country or region last applied (cleared when the area changes elsewhere).
    """

    def __init__(self, state: RdmQueryState | None = None, *, zoom_to: Callable[[tuple], Any] | None = None,
                 **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-place-search")
        self.zoom_to = zoom_to
        self.country: Country | Region | None = None
        self._applying = False
        # continents and regions first: an empty box's list starts with the large areas
        self.box = w.Combobox(placeholder="country or region, e.g. Kenya", options=region_names() + country_names(),
                              ensure_option=False, continuous_update=True, layout=w.Layout(width="220px"))
        self.box.add_class("wce-place-box")
        self.box.observe(self._on_text, "value")
        # Enter: the text box sends a "submit" message (Text.on_submit is deprecated, and warns)
        self.box.on_msg(self._on_box_msg)
        self.go_button = w.Button(description="Go", icon="search", layout=w.Layout(width="auto"),
                                  tooltip="set the area to this country or region")
        self.go_button.add_class("wce-place-go")
        self.go_button.on_click(lambda _: self.apply(self.box.value))
        self.outline = w.Checkbox(value=True, description="use outline", indent=False,
                                  tooltip="filter by the country's outline; untick for its bounding box only",
                                  layout=w.Layout(width="auto"))
        self.outline.add_class("wce-place-outline")
        self.outline.observe(self._on_outline, "value")
        # The message has a slot of its own of a fixed size (MESSAGE_HEIGHT: two lines of text, the rest cut off
        # with its whole text as a tooltip) beside the box, where the row has room, else on the next line; its
        # size never depends on its text, so a message that comes, goes or wraps never moves the map below.
        self.message = w.HTML(layout=w.Layout(height=MESSAGE_HEIGHT, min_height=MESSAGE_HEIGHT, flex="1 1 160px",
                                              width="0", min_width="160px", overflow="hidden", margin="0 0 0 6px"))
        self.message.add_class("wce-place-message")
        self.children = [w.HBox([w.HTML("<b>Country</b>", layout=w.Layout(margin="0 6px 0 0")), self.box,
                                 self.go_button, self.outline, self.message],
                                layout=w.Layout(flex_flow="row wrap", align_items="center"))]
        self._observe_state(self._on_state_extent, ["bbox", "polygon"])

    def _on_text(self, change: dict) -> None:
        if self._applying:
            return
        place = find_place(change["new"], codes=False)
        if place is not None and (self.country is None or place.name != self.country.name):
            self.apply(place)

    def _on_box_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "submit":
            self.apply(self.box.value)

    def _on_outline(self, change: dict) -> None:
        if self.country is not None:
            self.apply(self.country)

    def apply(self, place: str | Country | Region) -> Country | Region | None:
        """Make ``place`` (a country's or region's name or alias, an ISO alpha-3 code, the start of a name, a
        :class:`~worldcereal_explorer.places.Country` or :class:`~worldcereal_explorer.regions.Region`) the
        query area. When nothing matches, the area stays and the message names the closest places.

        Returns
        -------
        Country or Region or None
            The place applied, ``None`` when nothing matched.
        """
        country = place if isinstance(place, (Country, Region)) else _lookup(place)
        if country is None:
            text = str(place or "").strip()
            self.message.value = _note(_unknown_message(text, self.state.bbox is not None)) if text else ""
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
        if isinstance(country, Region):
            what += f" of {len(country.members)} countries"
        self.message.value = _note(f"<span style='color:#555'>area: {html.escape(country.name)} ({what})</span>")
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
        if self._applying or (self.country is None and not self.message.value and not self.box.value):
            return
        # The area was changed elsewhere (drawn, typed, uploaded, cleared): the box and its message (the
        # place applied, or "no country named ...") no longer describe it.
        self.reset()


def _note(message_html: str) -> str:
    """``message_html`` set to fit :data:`MESSAGE_HEIGHT`: 12 px text on 16 px lines, at most two of them (the
    rest cut off with an ellipsis; the whole text is the tooltip)."""
    plain = html.escape(html.unescape(re.sub(r"<[^>]+>", "", message_html)), quote=True)
    return (f"<div class='wce-place-note' title=\"{plain}\" style='font-size:12px;line-height:16px;overflow:hidden;"
            f"display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical'>{message_html}</div>")


def _lookup(text: str) -> Country | Region | None:
    """The place ``text`` names, else the first country, then region, whose name starts with it."""
    found = find_place(text)
    if found is not None:
        return found
    matches = match_countries(text, limit=1)
    if matches:
        return matches[0]
    key = " ".join(str(text or "").casefold().split())
    return next((r for r in regions() if key and r.name.casefold().startswith(key)), None)


def _unknown_message(text: str, has_area: bool) -> str:
    """``no country or region named "Narnia"; closest: Armenia, Argentina, Africa`` (and that the area stays)."""
    closest = ", ".join(html.escape(n) for n in closest_place_names(text, 3))
    kept = " (the area is unchanged)" if has_area else ""
    return (f"<span style='color:#b71c1c'>no country or region named \u201c{html.escape(text)}\u201d"
            f"{'; closest: ' + closest if closest else ''}{kept}</span>")
