"""Issue 10 in the browser: the dashboard's layout and the journeys the issue lists, in Voilà + headless Chromium.

Every expected number is computed here from the demo catalogue's files (the ``demo_catalog`` folder the
local RDM server serves), not from the package's client, so a test fails when the page shows anything else.
Screenshots of the main states at 1400x1000, 1280x720 and 1024x768 go to ``test-artifacts/`` (``issue10_*``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.voila_support import open_dashboard

pytestmark = pytest.mark.browser

#: Viewport sizes the layout must work at: a laptop, a small laptop (the issue's 1280x720) and a tablet width.
SIZES = [(1400, 1000), (1280, 720), (1024, 768)]
BELGIUM = (2.5, 50.0, 6.5, 52.0)
#: the status after searching BELGIUM in the demo catalogue (one LPIS collection)
BELGIUM_FOUND = "1 collection found"

#: Leaflet registers itself as ``window.L`` (Leaflet.draw needs the global); this init script catches that
#: moment and records every map created afterwards in ``window.__wceMaps``, so a test can convert between
#: lon/lat and pixels (``latLngToContainerPoint``) and read the view.
LEAFLET_HOOK = """
(() => {
  let stored;
  Object.defineProperty(window, 'L', {configurable: true, get() { return stored; }, set(value) {
    stored = value;
    if (value && value.Map && value.Map.addInitHook && !value.__wceHooked) {
      value.__wceHooked = true;
      value.Map.addInitHook(function () { (window.__wceMaps = window.__wceMaps || []).push(this); });
    }
  }});
})();
"""

#: Elements of the dashboard that scroll inside the page: scrollable overflow (auto/scroll) that overflows.
#: Form fields (a text area's own scrolling) are not panels and are left out.
NESTED_SCROLLERS_JS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('.wce-explorer *')) {
    if (['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName)) continue;
    const s = getComputedStyle(el);
    const y = /(auto|scroll)/.test(s.overflowY) && el.scrollHeight > el.clientHeight + 1;
    const x = /(auto|scroll)/.test(s.overflowX) && el.scrollWidth > el.clientWidth + 1;
    if (x || y) out.push(`${el.tagName}.${[...el.classList].join('.')} ${el.scrollWidth}x${el.scrollHeight}` +
                         ` in ${el.clientWidth}x${el.clientHeight}`);
  }
  return out;
}"""

#: The element the page scrolls with (Voilà scrolls an inner panel, not the document).
SCROLLER_JS = """() => {
  let el = document.querySelector('.wce-explorer');
  while (el && !(/(auto|scroll)/.test(getComputedStyle(el).overflowY) && el.scrollHeight > el.clientHeight + 1)) {
    el = el.parentElement;
  }
  return el || document.scrollingElement;
}"""


# --- helpers ------------------------------------------------------------------------------------------
def _open(page, url, size=None):
    """Load the dashboard (with the Leaflet hook) and wait until the first search has answered."""
    if size is not None:
        page.set_viewport_size({"width": size[0], "height": size[1]})
    page.add_init_script(LEAFLET_HOOK)
    open_dashboard(page, url, found=True, legend=True)
    page.wait_for_function("() => (window.__wceMaps || []).length > 0")


def _scroll_to(page, y):
    page.evaluate(f"y => ({SCROLLER_JS})().scrollTop = y", y)


def _box(page, selector):
    """Bounding box of the first ``selector`` in page coordinates (independent of the scroll position)."""
    return page.evaluate(
        f"""sel => {{ const r = document.querySelector(sel).getBoundingClientRect();
                     const s = ({SCROLLER_JS})();
                     return {{x: r.x, y: r.y + s.scrollTop, width: r.width, height: r.height,
                             bottom: r.bottom + s.scrollTop, right: r.right}}; }}""", selector)


def _shoot(page, path, whole=True):
    """A screenshot of what the viewport shows, or (``whole``) of the whole page: Voilà scrolls an inner
    panel, so ``full_page`` gives the viewport only; the window is made as tall as the page for the shot
    (nothing in the layout depends on the window's height) and put back."""
    if not whole:
        page.screenshot(path=str(path))
        return
    size = page.viewport_size
    # The page may still grow after it was measured (a search answering re-renders the table and the tree's
    # counts): then measure again and make the window taller, until the page fits in it.
    fits_or_grew = f"""full => {{ const s = ({SCROLLER_JS})();
        if (s.scrollHeight <= s.clientHeight + 1) return 'fits';
        return s.scrollHeight > full ? s.scrollHeight : false; }}"""
    try:
        full = page.evaluate(f"() => ({SCROLLER_JS})().scrollHeight")
        for _ in range(8):
            page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(full) + 40)})
            outcome = page.wait_for_function(fits_or_grew, arg=full).json_value()
            if outcome == "fits":
                break
            full = outcome
        else:
            raise AssertionError(f"the page kept growing while it was shot ({full} px)")
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)


def _type_bbox(page, bbox):
    for name, value in zip(("west", "south", "east", "north"), bbox, strict=True):
        field = page.locator(f".wce-bbox-{name} input")
        field.fill(str(value))
        field.press("Enter")


def _public_collections(catalog: Path) -> list[tuple[Path, dict]]:
    out = []
    for folder in sorted(p for p in catalog.iterdir() if (p / "collection.json").is_file()):
        coll = json.loads((folder / "collection.json").read_text())
        if (coll.get("accessType") or "").lower() == "public":
            out.append((folder, coll))
    return out


def _samples_file(folder: Path):
    import geopandas as gpd

    return gpd.read_parquet(next(folder.glob("*.geoparquet")))


def _mercator(lon, lat):
    """EPSG:3857 metres of lon/lat (arrays or numbers), as Leaflet projects them."""
    import numpy as np

    r = 6378137.0
    lat = np.clip(lat, -85.0511287798, 85.0511287798)
    return np.radians(lon) * r, np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * r


def _maize_codes(catalog: Path) -> tuple[int, set[int]]:
    """The code of "maize" and its whole subtree, from the legend file the server serves."""
    from worldcereal_explorer.legend import load_legend

    legend = load_legend(str(catalog / "legend.csv"))
    maize = next(code for code in legend.frame.index if legend.label(code) == "maize")
    return int(maize), {int(c) for c in legend.tree().find(maize).descendant_codes()}


def _tick(page, code, search):
    from playwright.sync_api import expect

    page.locator(".wce-crop-search input").fill(search)
    page.locator(f".wce-code-{code} .wce-crop-check").click()
    expect(page.locator(f".wce-code-{code} .wce-crop-check")).to_have_class(re.compile(r"wce-checked"))
    page.locator(".wce-crop-search input").fill("")


def _map_view(page):
    return page.evaluate("() => { const m = window.__wceMaps[0]; const c = m.getCenter();"
                         " return {zoom: m.getZoom(), lat: c.lat, lng: c.lng}; }")


# --- item 9: layout ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_layout_page_scrolls_panels_grow(page, voila_url, demo_catalog, artifacts_dir, size):
    """The page scrolls and the panels grow: no panel scrolls inside it, the map is wholly in the first
    viewport, the collections sit right under the map whatever the crop tree's height, the crop rows stay
    one line with children indented, the table and the samples preview fit the width."""
    from playwright.sync_api import expect

    width, height = size
    name = f"issue10_{width}x{height}"
    _open(page, voila_url, size)
    _shoot(page, artifacts_dir / f"{name}_1_opened.png", whole=False)

    # the map is entirely in the first viewport (at 1280x720 it was cut off under a taller header/panel)
    _scroll_to(page, 0)
    leaflet = page.locator(".wce-map .leaflet-container").bounding_box()
    assert leaflet["y"] >= 0 and leaflet["y"] + leaflet["height"] <= height, leaflet
    assert leaflet["height"] >= 380  # a fixed, useful height
    # the matching collections follow the map directly: scrolling past the map reaches them
    results_before = _box(page, ".wce-results-panel")
    map_panel = _box(page, ".wce-map-panel")
    assert 0 <= results_before["y"] - map_panel["bottom"] <= 20, (results_before, map_panel)

    # open every top-level branch of the crop tree: the tree grows (it scrolled inside a 320 px box before)
    tree = page.locator(".wce-crop-tree")
    rows_before = page.locator(".wce-crop-row").count()
    parents = page.evaluate("""() => [...document.querySelectorAll('.wce-crop-row')]
        .filter(r => !r.querySelector('.wce-crop-expand').disabled)
        .map(r => [...r.classList].find(c => /^wce-code-\\d+$/.test(c)))""")
    assert parents
    for code_class in parents:
        expander = page.locator(f".{code_class} .wce-crop-expand")
        expander.click()
        expect(expander).to_have_text("\u25be")
    expect(page.locator(".wce-crop-row")).not_to_have_count(rows_before)
    assert tree.bounding_box()["height"] > 400
    assert page.evaluate(NESTED_SCROLLERS_JS) == []
    # ... and the collections did not move: the tall panel is beside them, not above them
    results_after = _box(page, ".wce-results-panel")
    assert abs(results_after["y"] - results_before["y"]) <= 2, (results_before, results_after)

    # crop rows: label and count on one line, nothing cut; children indented under their parent
    rows = page.evaluate("""() => [...document.querySelectorAll('.wce-crop-label .widget-html-content')].map(e => ({
        text: e.innerText, height: e.getBoundingClientRect().height,
        lineHeight: parseFloat(getComputedStyle(e).lineHeight) || 20,
        cut: e.scrollWidth > e.clientWidth + 1}))""")
    assert rows and all(r["height"] <= 1.5 * r["lineHeight"] for r in rows), rows
    assert all(re.search(r"\(\d[\d,]*\)", r["text"]) for r in rows), rows  # every row has its count
    assert not [r["text"] for r in rows if r["cut"]]
    temporary = page.locator(".wce-crop-row", has_text="temporary_crops").first
    parent_x = temporary.locator(".wce-crop-check").bounding_box()["x"]
    child = temporary.locator("xpath=following-sibling::*[1]")
    assert child.locator(".wce-crop-check").bounding_box()["x"] >= parent_x + 12

    # a crop filter adds a column: every header shows its whole text, the table fits its panel
    maize, _ = _maize_codes(demo_catalog)
    _tick(page, maize, "maize")
    # the search for maize has answered (the table and the tree's counts are re-rendered by then)
    expect(page.locator(".wce-status [data-status='idle']")).to_contain_text("selected crop types")
    expect(page.locator(".wce-results-grid .wce-sort-total")).to_be_visible()
    for key in ("id", "title", "type", "access", "samples", "total", "years", "confidence"):
        header = page.locator(f".wce-results-grid .wce-sort-{key}")
        assert not header.evaluate("e => e.scrollWidth > e.clientWidth + 1"), header.inner_text()
    grid, panel = _box(page, ".wce-results-grid"), _box(page, ".wce-results-panel")
    assert grid["right"] <= panel["right"] + 1, (grid, panel)
    assert page.evaluate("() => { const g = document.querySelector('.wce-results-grid');"
                         " return g.scrollWidth <= g.clientWidth + 1; }")
    _shoot(page, artifacts_dir / f"{name}_2_tree_open_maize.png")

    # samples: the preview takes the whole width, its headers are on one line and whole
    page.locator(".wce-crop-chips .wce-chip").first.click()  # untick: every crop
    _type_bbox(page, BELGIUM)
    # the search of Belgium itself: an idle "found" can still be the previous search's until the kernel has
    # taken the typed box (then a fetch clicked now is overtaken by that search's summary)
    expect(page.locator(".wce-status [data-status='idle']")).to_contain_text(BELGIUM_FOUND)
    page.locator(".wce-fetch-samples").click()
    expect(page.locator(".wce-status")).to_contain_text("samples match your filters")
    preview = page.locator(".wce-samples-preview")
    expect(preview.locator("tbody tr")).not_to_have_count(0)
    explorer_width = page.locator(".wce-explorer").bounding_box()["width"]
    assert preview.bounding_box()["width"] >= 0.9 * explorer_width
    headers = preview.locator("th")
    for i in range(headers.count()):
        th = headers.nth(i)
        one_line = ("e => e.scrollWidth <= e.clientWidth + 1 &&"
                    " e.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(e).lineHeight)")
        assert th.evaluate(one_line), th.inner_text()
    assert page.evaluate(NESTED_SCROLLERS_JS) == []
    # no sideways scrolling of the page at this width
    assert page.evaluate("() => { const e = document.querySelector('.wce-explorer');"
                         " return e.scrollWidth <= e.clientWidth + 1 && e.getBoundingClientRect().right <= innerWidth; }")
    _shoot(page, artifacts_dir / f"{name}_3_samples.png")

    # the details of a collection, under the table
    page.locator(".wce-open-details").first.click()
    details = page.locator(".wce-collection-details")
    expect(details.locator(".wce-details-summary")).to_be_visible()
    details.scroll_into_view_if_needed()
    _shoot(page, artifacts_dir / f"{name}_4_details.png", whole=False)
    assert page.evaluate(NESTED_SCROLLERS_JS) == []
    assert not page.page_errors


# --- (a) the RDM demo notebook's exercise --------------------------------------------------------------
def test_kenya_maize_2021_in_one_step(page, voila_url, demo_catalog, artifacts_dir):
    """"Collections in Kenya with maize in 2021: how many public maize samples?" answered with the place
    search (one step), a tick and two dates; the number is the one the server's files hold."""
    from playwright.sync_api import expect
    from shapely.geometry import box

    from worldcereal_explorer.places import find_country

    kenya = find_country("Kenya").geometry
    maize, codes = _maize_codes(demo_catalog)
    expected_ids, expected = [], 0
    for folder, coll in _public_collections(demo_catalog):
        start, end = (str(v)[:10] for v in coll["extent"]["temporal"]["interval"][0])
        if not box(*coll["extent"]["spatial"]["bbox"][0]).intersects(kenya):
            continue
        if end < "2021-01-01" or start > "2021-12-31":
            continue
        samples = _samples_file(folder)
        n = int(samples["ewoc_code"].astype("int64").isin(codes).sum())
        expected_ids.append(coll["collectionId"])
        expected += n
    assert expected_ids and expected > 0

    _open(page, voila_url)
    page.locator(".wce-place-box input").fill("Kenya")  # the whole area in one step
    expect(page.locator(".wce-place-message")).to_contain_text("Kenya")
    _tick(page, maize, "maize")
    page.locator(".wce-start-date input").fill("2021-01-01")
    page.locator(".wce-end-date input").fill("2021-12-31")
    n = len(expected_ids)
    message = (f"{n} collection{'s' if n != 1 else ''} found ({expected:,} samples of the selected crop types "
               f"in the whole collections)")
    expect(page.locator(".wce-status [data-status='idle']")).to_have_text(re.compile(re.escape(message)))
    expect(page.locator(".wce-row-select")).to_have_count(n)
    # every sample of those collections is in Kenya and 2021: the matching numbers are the whole ones here
    page.wait_for_function(
        "t => [...document.querySelectorAll('.wce-results-grid .wce-cell-samples')]"
        ".reduce((s, e) => s + (parseInt(e.innerText.replace(/,/g, ''), 10) || 0), 0) === t", arg=expected)
    for ref_id in expected_ids:
        expect(page.locator(".wce-results-grid")).to_contain_text(ref_id)
    _shoot(page, artifacts_dir / "issue10_a_kenya_maize_2021.png")
    assert not page.page_errors


# --- (b) stale marking -----------------------------------------------------------------------------------
def test_invalid_filter_dims_the_results(page, voila_url, artifacts_dir):
    """W=-10 with only a start date: the table and the chart stay dimmed with "results for earlier filters"
    until the filter is valid again."""
    from playwright.sync_api import expect

    _open(page, voila_url)
    grid, figure = page.locator(".wce-results-grid"), page.locator(".wce-counts .bqplot").first
    opacity = "e => parseFloat(getComputedStyle(e).opacity)"
    assert grid.evaluate(opacity) == 1 and figure.evaluate(opacity) == 1
    west = page.locator(".wce-bbox-west input")
    west.fill("-10")
    west.press("Enter")
    page.locator(".wce-start-date input").fill("2021-01-01")
    expect(page.locator(".wce-status [data-status='error']")).to_contain_text("end date is not set")
    for note in (".wce-results-stale", ".wce-counts-stale"):
        expect(page.locator(note)).to_be_visible()
        expect(page.locator(note)).to_contain_text("results for earlier filters")
    expect(grid).to_have_class(re.compile("wce-stale-dim"))
    page.wait_for_function(f"() => ({opacity})(document.querySelector('.wce-results-grid')) < 0.6")
    assert figure.evaluate("e => !!e.closest('.wce-stale-dim')")
    _shoot(page, artifacts_dir / "issue10_b_stale.png")

    page.locator(".wce-end-date input").fill("2021-12-31")  # valid again: the search answers, undimmed
    expect(page.locator(".wce-status [data-status='idle']")).to_contain_text("found")
    expect(page.locator(".wce-results-stale")).to_be_hidden()
    expect(grid).not_to_have_class(re.compile("wce-stale-dim"))
    assert not page.page_errors


# --- (c) status during a slow fetch, Cancel next to Fetch --------------------------------------------------
def test_status_during_a_slow_fetch_and_cancel(page, slow_voila_url, artifacts_dir):
    """One message at a time, "n/N collections" beside the bar; Cancel sits next to Fetch and leaves a
    neutral mark (not a tick)."""
    from playwright.sync_api import expect

    _open(page, slow_voila_url)
    fetch, cancel = page.locator(".wce-fetch-samples"), page.locator(".wce-cancel")
    assert cancel.count() == 1
    expect(cancel).to_be_disabled()
    fetch_box = fetch.bounding_box()
    fetch.click()
    expect(cancel).to_be_enabled()
    cancel_box = cancel.bounding_box()
    # beside Fetch: same row, just right of it (it was at the far end of the status line)
    assert abs(cancel_box["y"] - fetch_box["y"]) <= 4 and 0 <= cancel_box["x"] - (fetch_box["x"] + fetch_box["width"]) <= 20
    progress_text = page.locator(".wce-progress-text")
    expect(progress_text).to_have_text(re.compile(r"^\d+/\d+ collections?$"))
    assert page.locator(".wce-status [data-kind]").count() == 1  # one message
    expect(page.locator(".wce-status [data-kind='loading']")).to_contain_text("fetching")
    bar = page.locator(".wce-progress").bounding_box()
    text_box = progress_text.bounding_box()
    assert text_box["x"] >= bar["x"] + bar["width"] - 1 and abs(
        (text_box["y"] + text_box["height"] / 2) - (bar["y"] + bar["height"] / 2)) <= 12
    _shoot(page, artifacts_dir / "issue10_c_fetching.png", whole=False)
    cancel.click()
    done = page.locator(".wce-status [data-kind='cancelled']")
    expect(done).to_contain_text("cancelled")
    assert "\u2713" not in done.inner_text() and "\u2298" in done.inner_text()
    assert page.locator(".wce-status [data-kind]").count() == 1
    expect(page.locator(".wce-progress")).to_be_hidden()
    expect(cancel).to_be_disabled()
    _shoot(page, artifacts_dir / "issue10_c_cancelled.png", whole=False)
    assert not page.page_errors


# --- (d) Reset all ----------------------------------------------------------------------------------------
def test_reset_all_restores_defaults_and_results(page, voila_url, demo_catalog, artifacts_dir):
    from playwright.sync_api import expect

    _open(page, voila_url)
    status = page.locator(".wce-status")
    first_message = status.inner_text().strip()
    first_rows = page.locator(".wce-row-select").count()
    maize, _ = _maize_codes(demo_catalog)
    page.locator(".wce-place-box input").fill("Kenya")
    expect(page.locator(".wce-place-message")).to_contain_text("Kenya")
    _tick(page, maize, "maize")
    page.locator(".wce-start-date input").fill("2021-01-01")
    page.locator(".wce-end-date input").fill("2021-12-31")
    page.locator(".wce-subset input").check()
    expect(status).not_to_have_text(first_message)
    assert _map_view(page)["zoom"] > 2

    page.locator(".wce-reset-all").click()
    expect(status).to_have_text(first_message)
    expect(page.locator(".wce-row-select")).to_have_count(first_rows)
    for name, value in (("west", -180), ("south", -90), ("east", 180), ("north", 90)):
        expect(page.locator(f".wce-bbox-{name} input")).to_have_value(str(value))
    expect(page.locator(".wce-place-box input")).to_have_value("")
    expect(page.locator(".wce-start-date input")).to_have_value("")
    expect(page.locator(".wce-end-date input")).to_have_value("")
    expect(page.locator(".wce-subset input")).not_to_be_checked()
    expect(page.locator(".wce-crop-chips .wce-chip")).to_have_count(0)
    expect(page.locator(".wce-crop-summary")).to_contain_text("no filter")
    page.wait_for_function("() => window.__wceMaps[0].getZoom() === 2")
    _shoot(page, artifacts_dir / "issue10_d_after_reset.png", whole=False)
    assert not page.page_errors


# --- (e) the delete tool -----------------------------------------------------------------------------------
def test_delete_tool_clears_the_area(page, voila_url):
    from playwright.sync_api import expect

    _open(page, voila_url)
    status = page.locator(".wce-status")
    world = status.inner_text().strip()
    box = page.locator(".wce-map .leaflet-container").bounding_box()
    page.locator(".leaflet-draw-draw-rectangle").click()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.45, steps=6)
    page.mouse.up()
    west = page.locator(".wce-bbox-west input")
    expect(west).not_to_have_value("-180")
    expect(status).not_to_have_text(world)

    page.locator(".leaflet-draw-edit-remove").click()
    page.locator(".leaflet-draw-actions a", has_text="Clear All").click()
    expect(west).to_have_value("-180")
    expect(page.locator(".wce-bbox-north input")).to_have_value("90")
    expect(status).to_have_text(world)
    assert not page.page_errors


# --- (f) polygons drawn with the mouse -----------------------------------------------------------------------
POLYGONS = {
    "small": [(3.5, 50.4), (5.6, 50.5), (4.2, 51.2)],  # over the Belgian demo collection
    "large": [(20.0, 35.0), (40.0, 35.0), (22.0, 62.0)],  # 27 degrees of latitude, over the Ukraine collection
}


@pytest.mark.parametrize("which", list(POLYGONS))
def test_polygon_drawn_with_the_mouse(page, voila_url, demo_catalog, artifacts_dir, which):
    """A polygon clicked on the map selects the samples inside the shape as drawn: edges straight in Web
    Mercator (for the large one a lon/lat reading of the same corners gives another number)."""
    import numpy as np
    import shapely
    from playwright.sync_api import expect
    from shapely.geometry import Polygon

    corners = POLYGONS[which]
    _open(page, voila_url)
    lons, lats = [c[0] for c in corners], [c[1] for c in corners]
    pad = 0.15 * max(max(lons) - min(lons), max(lats) - min(lats))
    page.evaluate("""b => new Promise(done => { const m = window.__wceMaps[0];
        m.once('moveend', () => done()); m.fitBounds([[b[1], b[0]], [b[3], b[2]]], {animate: false}); })""",
                  [min(lons) - pad, min(lats) - pad, max(lons) + pad, max(lats) + pad])
    # lon/lat -> page pixels through the map itself; click whole pixels and read back where they are
    points = page.evaluate("""cs => { const m = window.__wceMaps[0], c = m.getContainer(), r = c.getBoundingClientRect();
        return cs.map(([lon, lat]) => { const p = m.latLngToContainerPoint([lat, lon]);
          const x = Math.round(r.left + c.clientLeft + p.x), y = Math.round(r.top + c.clientTop + p.y);
          const ll = m.containerPointToLatLng([x - r.left - c.clientLeft, y - r.top - c.clientTop]);
          return {x, y, lon: ll.lng, lat: ll.lat}; }); }""", corners)
    page.locator(".leaflet-draw-draw-polygon").click()
    vertices = page.locator(".leaflet-marker-pane .leaflet-editing-icon")
    for i, p in enumerate(points):
        page.mouse.move(p["x"] - 20, p["y"] - 20)
        page.mouse.move(p["x"], p["y"], steps=4)
        page.mouse.down()
        page.mouse.up()
        expect(vertices).to_have_count(i + 1)
    page.locator(".leaflet-draw-actions a", has_text="Finish").click()
    expect(page.locator(".wce-bbox-west input")).not_to_have_value("-180")
    drawn = [(p["lon"], p["lat"]) for p in points]
    assert max(abs(a - b) for c, d in zip(drawn, corners, strict=True) for a, b in zip(c, d, strict=True)) < 0.5

    shape_3857 = Polygon(list(zip(*_mercator(np.array([p[0] for p in drawn]), np.array([p[1] for p in drawn])),
                                  strict=True)))
    shape_lonlat = Polygon(drawn)
    expected = straight_in_degrees = 0
    for folder, _coll in _public_collections(demo_catalog):
        geometry = _samples_file(folder).geometry.values
        if not len(geometry):
            continue
        projected = shapely.transform(geometry, lambda xy: np.column_stack(_mercator(xy[:, 0], xy[:, 1])))
        expected += int(shapely.intersects(shape_3857, projected).sum())
        straight_in_degrees += int(shapely.intersects(shape_lonlat, geometry).sum())
    assert expected > 0
    if which == "large":
        assert expected != straight_in_degrees  # the test tells the two readings apart

    page.locator(".wce-fetch-samples").click()
    expect(page.locator(".wce-status")).to_contain_text(f"{expected:,} samples match your filters")
    expect(page.locator(".wce-samples-info")).to_contain_text(f"{expected:,} samples")
    _shoot(page, artifacts_dir / f"issue10_f_polygon_{which}.png", whole=False)
    assert not page.page_errors


# --- (g) details, (h) links -------------------------------------------------------------------------------
def test_collection_row_opens_details_and_links_look_like_links(page, voila_url, demo_catalog, artifacts_dir):
    from playwright.sync_api import expect

    _open(page, voila_url)
    link = page.locator(".wce-open-details").first
    ref_id = link.inner_text().strip()
    coll = json.loads((demo_catalog / ref_id / "collection.json").read_text())
    details = page.locator(".wce-collection-details")
    expect(details).to_be_hidden()
    link.click()
    expect(details).to_be_visible()
    expect(details.locator(".wce-details-title")).to_contain_text(ref_id)
    expect(details.locator(".wce-details-summary")).to_contain_text(f"{coll['featureCount']:,}")
    details.locator(".wce-details-zoom").click()
    west, south, east, north = coll["extent"]["spatial"]["bbox"][0]
    page.wait_for_function("() => window.__wceMaps[0].getZoom() > 2")
    view = _map_view(page)
    assert south <= view["lat"] <= north and west <= view["lng"] <= east
    _shoot(page, artifacts_dir / "issue10_g_details.png")

    # (h) links look like links: underlined or in the link colour, with a pointing hand
    style = ("e => { const s = getComputedStyle(e); return {line: s.textDecorationLine, colour: s.color,"
             " cursor: s.cursor}; }")
    anchors = details.locator("a")
    expect(anchors).not_to_have_count(0)
    for target in [anchors.nth(i) for i in range(anchors.count())] + [link]:
        got = target.evaluate(style)
        assert "underline" in got["line"] or got["colour"] == "rgb(21, 101, 192)", got
        assert got["cursor"] == "pointer", got
    assert not page.page_errors



# --- a place fills the map, whatever the map's size ----------------------------------------------------------
@pytest.mark.parametrize("size", [(1400, 1000), (1024, 768)], ids=["1400x1000", "1024x768"])
def test_a_place_is_shown_at_the_zoom_leaflet_itself_would_fit_it_to(page, voila_url, size):
    """The zoom is computed for the map's real size (an 800 x 480 map was assumed before): Leaflet's own
    ``getBoundsZoom`` for the place's box, in this browser, is the zoom the map shows."""
    from playwright.sync_api import expect

    from worldcereal_explorer.places import find_country

    _open(page, voila_url, size)
    for name in ("Kenya", "France"):
        west, south, east, north = find_country(name).geometry.bounds
        page.locator(".wce-place-box input").fill(name)
        expect(page.locator(".wce-place-message")).to_contain_text(name)
        view_js = """b => { const m = window.__wceMaps[0]; const c = m.getCenter(); const s = m.getSize();
                           return {zoom: m.getZoom(), fits: m.getBoundsZoom([[b[1], b[0]], [b[3], b[2]]]),
                                   lat: c.lat, lng: c.lng, size: [s.x, s.y]}; }"""
        try:
            page.wait_for_function(
                f"""b => {{ const v = ({view_js})(b);
                           return v.zoom === v.fits && v.lng > b[0] && v.lng < b[2] && v.lat > b[1] && v.lat < b[3]; }}""",
                arg=[west, south, east, north], timeout=60_000)
        except Exception:  # say what the map showed instead
            raise AssertionError((name, page.evaluate(view_js, [west, south, east, north]))) from None
        shown = page.evaluate("() => { const b = window.__wceMaps[0].getBounds();"
                              " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }")
        assert shown[0] <= west and shown[1] <= south and shown[2] >= east and shown[3] >= north, (name, shown)
    assert not page.page_errors


# --- the counts chart: labels inside the figure, no empty band under them, a lone bar stays narrow ---------
CHART_GEOMETRY_JS = """() => {
  const fig = document.querySelector('.wce-counts .bqplot');
  const svg = fig.querySelector('svg').getBoundingClientRect();
  const axis = [...fig.querySelectorAll('.axis')].find(a => a.querySelector('.tick text[transform*="rotate"]'));
  const labels = [...axis.querySelectorAll('.tick text')].filter(t => t.textContent)
      .map(t => { const r = t.getBoundingClientRect(); return {text: t.textContent, left: r.left, bottom: r.bottom}; });
  const bars = [...fig.querySelectorAll('rect.bar')].map(r => r.getBoundingClientRect())
      .filter(r => r.height > 0).map(r => r.width);
  const plot = fig.querySelector('.plotarea_background, rect.plotarea_events') || fig.querySelector('svg');
  return {svg: {left: svg.left, right: svg.right, bottom: svg.bottom}, labels, bars,
          plotWidth: plot.getBoundingClientRect().width};
}"""


@pytest.mark.parametrize("size", [(1400, 1000), (1024, 768)], ids=["1400x1000", "1024x768"])
def test_counts_chart_labels_fit_and_a_lone_crop_keeps_a_narrow_bar(page, voila_url, demo_catalog, size):
    from playwright.sync_api import expect

    _open(page, voila_url, size)
    page.wait_for_function("() => document.querySelectorAll('.wce-counts rect.bar').length > 0")
    chart = page.evaluate(CHART_GEOMETRY_JS)
    assert len(chart["labels"]) > 3
    for label in chart["labels"]:  # every crop name inside the figure: not cut on the left, not below it
        assert label["left"] >= chart["svg"]["left"] - 1 and label["bottom"] <= chart["svg"]["bottom"] + 1, (label, chart["svg"])
        assert len(label["text"]) <= 24, label
    lowest = max(label["bottom"] for label in chart["labels"])
    assert chart["svg"]["bottom"] - lowest <= 40, (lowest, chart["svg"])  # no empty band under the labels

    maize, _ = _maize_codes(demo_catalog)
    page.locator(".wce-crop-search input").fill("maize")
    page.locator(f".wce-code-{maize} .wce-crop-check").click()  # maize only: one crop, one stacked bar
    expect(page.locator(".wce-status [data-status='idle']")).to_contain_text("selected crop types")
    page.wait_for_function("() => [...document.querySelectorAll('.wce-counts .axis .tick text')]"
                           ".filter(t => t.textContent && !/^[\\d,]+$/.test(t.textContent)).length <= 2")
    chart = page.evaluate(CHART_GEOMETRY_JS)
    assert chart["bars"] and max(chart["bars"]) <= chart["plotWidth"] / 5, chart  # not across the chart
    # the same axis relabelled: the padding slots' keys never show, only the crops' short labels
    assert all(label["text"].strip() and not label["text"].startswith(" ") and len(label["text"]) <= 24
               for label in chart["labels"]), chart["labels"]

    page.locator(".wce-crop-chips .wce-chip").first.click()  # every crop again: many labels on the same axis
    expect(page.locator(".wce-status [data-status='idle']")).not_to_contain_text("selected crop types")
    page.wait_for_function("() => [...document.querySelectorAll('.wce-counts .axis .tick text')]"
                           ".filter(t => t.textContent && !/^[\\d,]+$/.test(t.textContent)).length > 3")
    chart = page.evaluate(CHART_GEOMETRY_JS)
    assert all(not label["text"].startswith(" ") and len(label["text"]) <= 24 for label in chart["labels"]), chart
    assert not page.page_errors


# --- the samples legend is compact and the samples are fitted beside it -----------------------------------
def test_the_samples_legend_is_compact_and_covers_no_sample(page, voila_url):
    from playwright.sync_api import expect

    _open(page, voila_url, (1400, 1000))
    _type_bbox(page, BELGIUM)
    # the search of Belgium itself: an idle "found" can still be the previous search's until the kernel has
    # taken the typed box (then a fetch clicked now is overtaken by that search's summary)
    expect(page.locator(".wce-status [data-status='idle']")).to_contain_text(BELGIUM_FOUND)
    page.locator(".wce-fetch-samples").click()
    expect(page.locator(".wce-status")).to_contain_text("samples match your filters")
    legend = page.locator(".leaflet-control-legend")
    expect(legend).to_be_visible()
    page.wait_for_function("() => document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive')"
                           ".length > 100")
    entries = page.evaluate("() => document.querySelectorAll('.leaflet-control-legend > p').length")
    box = legend.bounding_box()
    assert entries >= 5 and box["height"] <= 24 + 16 * entries, (entries, box)  # one short line per entry
    samples = page.evaluate("""() => { const rs = [...document.querySelectorAll(
            '.leaflet-overlay-pane path.leaflet-interactive')].map(p => p.getBoundingClientRect());
        return {left: Math.min(...rs.map(r => r.left)), right: Math.max(...rs.map(r => r.right)),
                top: Math.min(...rs.map(r => r.top)), bottom: Math.max(...rs.map(r => r.bottom))}; }""")
    assert samples["right"] <= box["x"] or samples["bottom"] <= box["y"], (samples, box)  # nothing under it
    assert not page.page_errors
