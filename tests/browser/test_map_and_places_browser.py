"""The map's wheel and the country box in a real Voilà page (headless Chromium), issue 27 items 9 and 10.

The page is a small notebook of the test's own: a page taller than the window with the country box (bound to
a query state on the demo RDM server) and :class:`~worldcereal_explorer.widgets.ui_map.AoiMap` in it, and
lines the kernel writes (the map's zoom, whether it takes the wheel, the query area), so the test reads what
the kernel received from the browser.
"""

from __future__ import annotations

import nbformat
import pytest

from tests.voila_support import dashboard_env, serve_voila

pytestmark = pytest.mark.browser

NOTEBOOK_SOURCE = """\
import os
import ipywidgets as w
from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.widgets.place_search import PlaceSearch
from worldcereal_explorer.widgets.ui_map import AoiMap

url = os.environ["WORLDCEREAL_RDM_URL"]
state = RdmQueryState(client=RdmClient(url, legend=f"{url}/legend.csv"), auto_search=False)
place = PlaceSearch(state)
aoi = AoiMap(display_ui=False, height="400px")
zoom = w.HTML(f"zoom {aoi.map.zoom:g}")
zoom.add_class("wce-test-zoom")
wheel = w.HTML("wheel off")
wheel.add_class("wce-test-wheel")
area = w.HTML("area none")
area.add_class("wce-test-area")
aoi.map.observe(lambda c: setattr(zoom, "value", f"zoom {c['new']:g}"), "zoom")
aoi.map.observe(lambda c: setattr(wheel, "value", "wheel " + ("on" if c["new"] else "off")), "scroll_wheel_zoom")
state.observe(lambda c: setattr(area, "value", f"area {state.bbox}"), ["bbox"])
typed = w.Button(description="typed box")
typed.add_class("wce-test-typed")
typed.on_click(lambda _: setattr(state, "bbox", (5.0, 50.0, 6.0, 51.0)))
display(w.VBox([w.HTML("<div style='height:250px'>top of the page</div>"), place, typed, area, zoom, wheel, aoi,
                w.HTML("<div style='height:2000px'>rest of the page</div>")]))
"""


@pytest.fixture
def places_voila_url(rdm_url, tmp_path):
    notebook = tmp_path / "map_and_places.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK_SOURCE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebook)
    with serve_voila(notebook, dashboard_env(rdm_url), tmp_path) as url:
        yield url


def _open(page, url: str) -> None:
    page.goto(f"{url}/", wait_until="domcontentloaded")
    page.wait_for_selector(".wce-aoi-map .leaflet-container")
    page.wait_for_selector(".wce-wheel-helper", state="attached")
    page.wait_for_selector(".wce-place-box input")


def _map_top(page) -> float:
    return page.evaluate("() => document.querySelector('.wce-aoi-map .leaflet-container').getBoundingClientRect().top")


def test_the_wheel_scrolls_the_page_until_the_map_is_clicked(page, places_voila_url):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1280, "height": 720})
    _open(page, places_voila_url)
    zoom, wheel = page.locator(".wce-test-zoom"), page.locator(".wce-test-wheel")
    expect(zoom).to_have_text("zoom 2")
    leaflet = page.locator(".wce-aoi-map .leaflet-container")
    leaflet.scroll_into_view_if_needed()
    box = leaflet.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    top = _map_top(page)

    # not clicked: the wheel scrolls the page, the map keeps its zoom
    page.mouse.wheel(0, 200)
    page.wait_for_function(f"() => document.querySelector('.wce-aoi-map .leaflet-container')"
                           f".getBoundingClientRect().top < {top} - 100")
    # Ctrl+wheel zooms the unclicked map one step; had the plain wheel zoomed it too, this would not read 3
    top = _map_top(page)
    box = leaflet.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)  # over the map again: the page moved under the pointer
    page.keyboard.down("Control")
    page.mouse.wheel(0, -100)
    page.keyboard.up("Control")
    expect(zoom).to_have_text("zoom 3")
    assert _map_top(page) == top  # neither the page scrolled nor the browser zoomed it
    expect(wheel).to_have_text("wheel off")

    # clicked: the wheel zooms the map and the page stays
    page.mouse.click(x, y)
    expect(wheel).to_have_text("wheel on")
    page.mouse.wheel(0, -100)
    expect(zoom).not_to_have_text("zoom 3")
    zoomed_in = float(zoom.inner_text().split()[1])
    assert zoomed_in > 3  # Leaflet's own wheel zoom (100 px of wheel may be more than one level)
    assert _map_top(page) == top

    # the pointer leaves: the wheel is the page's again
    page.mouse.move(x, box["y"] - 40)
    expect(wheel).to_have_text("wheel off")
    page.mouse.move(x, y)
    page.mouse.wheel(0, 200)
    page.wait_for_function(f"() => document.querySelector('.wce-aoi-map .leaflet-container')"
                           f".getBoundingClientRect().top < {top} - 100")
    expect(zoom).to_have_text(f"zoom {zoomed_in:g}")
    assert not page.page_errors


def test_the_country_box_names_the_closest_and_offers_regions(page, places_voila_url):
    from playwright.sync_api import expect

    from worldcereal_explorer.places import find_country
    from worldcereal_explorer.regions import find_region

    _open(page, places_voila_url)
    box = page.locator(".wce-place-box input")
    message, area = page.locator(".wce-place-message"), page.locator(".wce-test-area")
    box.fill("United States of America")  # typed in full: applies at once
    usa = f"area {find_country('United States of America').bbox}"
    expect(area).to_have_text(usa)

    box.fill("Narnia")
    box.press("Enter")
    expect(message).to_contain_text("no country or region named \u201cNarnia\u201d; closest: Armenia")
    expect(message).to_contain_text("the area is unchanged")
    expect(area).to_have_text(usa)

    box.fill("Europe")  # a continent, from the list
    expect(message).to_contain_text("area: Europe (outline of 39 countries)")
    expect(area).to_have_text(f"area {find_region('Europe').bbox}")

    box.fill("Atlantis")
    page.locator(".wce-place-go").click()
    expect(message).to_contain_text("no country or region named \u201cAtlantis\u201d")
    page.locator(".wce-test-typed").click()  # the area set another way: the message is stale
    expect(area).to_have_text("area (5.0, 50.0, 6.0, 51.0)")
    expect(message).to_have_text("")
    expect(box).to_have_value("")
    assert not page.page_errors
