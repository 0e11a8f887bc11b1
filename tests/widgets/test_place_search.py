"""The country box (widgets/place_search.py) and its regions (regions.py), bound to a state on the local server."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import shape

from worldcereal_explorer.places import countries, find_country
from worldcereal_explorer.regions import closest_place_names, find_place, find_region, region_names, regions
from worldcereal_explorer.widgets.place_search import MESSAGE_HEIGHT, PlaceSearch

SMALL = (5.0, 50.0, 6.0, 51.0)


def _submit(search: PlaceSearch, text: str) -> None:
    """What the browser sends when Enter is pressed in the box: the text, then a "submit" message."""
    search.box.value = text
    search.box._handle_custom_msg({"event": "submit"}, [])


def test_enter_on_an_unknown_name_names_the_closest_and_keeps_the_area(state):
    search = PlaceSearch(state)
    search.box.value = "United States of America"
    usa = find_country("United States of America")
    assert state.bbox == usa.bbox
    _submit(search, "Narnia")
    message = search.message.value
    assert "no country or region named \u201cNarnia\u201d" in message
    assert "closest: Armenia" in message and "the area is unchanged" in message
    assert state.bbox == usa.bbox  # the area stayed
    _submit(search, "Kenia")  # a typo: the closest name is the one meant
    assert "closest: Kenya" in search.message.value


def test_go_and_enter_apply_codes_prefixes_and_regions(state):
    search = PlaceSearch(state)
    _submit(search, "KEN")
    assert search.country is not None and search.country.name == "Kenya"
    search.box.value = "Sub-Saharan"
    search.go_button.click()
    assert search.country is not None and search.country.name == "Sub-Saharan Africa"
    assert "Sub-Saharan Africa (outline of 44 countries)" in search.message.value


def test_the_message_has_a_slot_of_its_own_whose_size_never_changes(state):
    # issue 27.7: a message that came or wrapped next to the box moved the map below it
    search = PlaceSearch(state)
    (box_row,) = search.children
    message = search.message
    assert message in box_row.children  # beside the box, in a slot whose size does not follow its text
    assert message.layout.height == message.layout.min_height == MESSAGE_HEIGHT and message.layout.width == "0"
    flex = message.layout.flex
    search.apply("Narnia")
    assert message.layout.height == MESSAGE_HEIGHT and message.layout.flex == flex
    assert "-webkit-line-clamp:2" in message.value  # two lines at most, the rest cut off ...
    assert 'title="no country or region named \u201cNarnia\u201d; closest: Armenia' in message.value  # ... and in the tooltip


@pytest.mark.parametrize("change", ["typed box", "drawn shape", "cleared"])
def test_a_stale_message_goes_when_the_area_changes_another_way(state, change):
    search = PlaceSearch(state)
    search.apply("Atlantis")
    assert "no country or region named" in search.message.value and search.country is None
    if change == "typed box":
        state.bbox = SMALL
    elif change == "drawn shape":
        with state.hold_trait_notifications():
            state.polygon = shapely.geometry.mapping(shapely.box(*SMALL))
            state.bbox = SMALL
    else:
        state.bbox = None
        state.bbox = SMALL
        state.bbox = None
    assert search.message.value == "" and search.box.value == ""


def test_picking_europe_sets_the_union_of_its_countries(state):
    search = PlaceSearch(state)
    assert region_names()[:2] == ["Africa", "Asia"] and search.box.options[: len(regions())] == tuple(region_names())
    search.box.value = "Europe"  # picked from the list: applies at once
    europe = find_region("Europe")
    assert search.country is europe
    area = shape(state.polygon)
    assert area.contains(find_country("France").geometry.intersection(shapely.box(-10, 40, 10, 52)))
    assert area.contains(find_country("Poland").geometry)
    assert not area.intersects(find_country("Kenya").geometry)
    west, south, east, north = state.bbox
    assert state.bbox == europe.bbox and -25 < west < -20 and east == 60.0 and 34 < south < 36 and north > 80
    state.refresh()
    assert state.status != "error" and state.collections  # the server takes the union as the query polygon


def test_regions_are_unions_of_the_shipped_countries():
    by_name = {r.name: r for r in regions()}
    africa, ssa = by_name["Africa"], by_name["Sub-Saharan Africa"]
    assert len(africa.members) == sum(c.continent == "Africa" for c in countries()) == 51
    assert {c.name for c in africa.members} - {c.name for c in ssa.members} == {
        "Algeria", "Egypt", "Libya", "Morocco", "Sudan", "Tunisia", "W. Sahara"}
    assert ssa.geometry.contains(find_country("Kenya").geometry.representative_point())
    assert not ssa.geometry.intersects(find_country("Egypt").geometry.representative_point())
    for region in regions():
        west, south, east, north = region.bbox
        assert region.geometry.is_valid and not region.geometry.is_empty, region.name
        assert east - west < 200, region.name  # none spans the whole world (the antimeridian is clipped)
    assert find_place("eu") is by_name["European Union"] and find_place("sub saharan africa") is ssa
    assert find_place("KEN").name == "Kenya"


def test_closest_names_rank_the_meant_place_first():
    assert closest_place_names("Germny")[0] == "Germany"
    assert closest_place_names("Untied States")[0] == "United States of America"
    assert closest_place_names("europ")[0] == "Europe"
    assert closest_place_names("") == []
