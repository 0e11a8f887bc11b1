"""The map's offline base layer: country outlines shown when the browser reports tiles failing, by hand
from the checkbox, and not switched off again by the tile watch once the user chose."""

from __future__ import annotations

import pytest


@pytest.fixture
def map_and_base():
    from ipyleaflet import Map

    from worldcereal_explorer.widgets.outline_base import OutlineBase

    leaflet_map = Map()
    base = OutlineBase(leaflet_map)
    yield leaflet_map, base
    leaflet_map.close()


def test_outlines_sit_above_the_tiles_and_wait_unsent(map_and_base):
    leaflet_map, base = map_and_base
    assert leaflet_map.layers[1] is base.layer and leaflet_map.layers[0].base
    assert base.watch is not None  # anywidget is installed with the dashboard extra
    assert not base.layer.visible and not base.toggle.value and base.layer.data["features"] == []


def test_tile_failure_shows_the_outlines_and_a_loaded_tile_hides_them(map_and_base):
    _, base = map_and_base
    base.watch.tiles_failed = True
    assert base.layer.visible and base.toggle.value
    names = {f["properties"]["name"] for f in base.layer.data["features"]}
    assert {"Kenya", "France", "Brazil"} <= names and len(names) > 150
    assert "did not load" in base.note.value
    base.watch.tiles_loaded = True
    assert not base.layer.visible and not base.toggle.value and base.note.value == ""


def test_the_checkbox_wins_over_the_watch(map_and_base):
    _, base = map_and_base
    base.toggle.value = True
    assert base.layer.visible
    base.watch.tiles_loaded = True  # tiles work, but the user asked for the outlines
    assert base.layer.visible
    base.toggle.value = False
    base.watch.tiles_failed = True
    assert not base.layer.visible
