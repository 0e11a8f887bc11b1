"""The Voilà dashboard in headless Chromium, used as a person would, against the local RDM server.

Expected numbers come from an RdmClient asking the same server directly, so every assertion checks that
what the page shows is what the RDM holds for the filters typed and clicked.
"""

from __future__ import annotations

import re

import pytest

from tests.voila_support import open_dashboard

pytestmark = pytest.mark.browser

EUROPE = (-5.0, 40.0, 10.0, 55.0)


@pytest.fixture
def rdm(rdm_url):
    from worldcereal_explorer.rdm.client import RdmClient

    with RdmClient(rdm_url, retries=2, backoff_factor=0.01, legend=f"{rdm_url}/legend.csv") as client:
        yield client


_open = open_dashboard


def _summary(rdm, **filters):
    collections = rdm.get_collections(**filters)
    ids = [c.id for c in collections]
    counts = rdm.get_crop_counts(ids, ewoc_codes=filters.get("ewoc_codes")) if ids else None
    total = int(counts.to_numpy().sum()) if counts is not None else 0
    n = len(ids)
    what = "samples of the selected crop types" if filters.get("ewoc_codes") else "samples"
    return ids, f"{n} collection{'s' if n != 1 else ''} found ({total:,} {what} in the whole collections)", total


def _matching(rdm, ids, **filters):
    """The samples a fetch returns for ``filters`` (what every "matching your filters" number must equal)."""
    return rdm.get_samples(ids, progress=False, **filters)


def _type_bbox(page, bbox):
    for name, value in zip(("west", "south", "east", "north"), bbox, strict=True):
        field = page.locator(f".wce-bbox-{name} input")
        field.fill(str(value))
        field.press("Enter")


def test_search_filter_and_fetch(page, voila_url, rdm, artifacts_dir):
    from playwright.sync_api import expect

    status = page.locator(".wce-status")
    _open(page, voila_url)
    all_ids, message, _ = _summary(rdm)
    expect(status).to_contain_text(message)
    expect(page.locator(".wce-row-select")).to_have_count(min(12, len(all_ids)))
    page.wait_for_function("n => document.querySelectorAll('.bqplot rect.bar').length >= n", arg=1)
    bars_before = page.locator(".bqplot rect.bar").count()
    _assert_headers_not_cut(page)
    page.screenshot(path=str(artifacts_dir / "dashboard_1_opened.png"), full_page=True)

    # 1. type a bounding box
    _type_bbox(page, EUROPE)
    eu_ids, message, total = _summary(rdm, spatial_extent=EUROPE)
    assert 0 < len(eu_ids) < len(all_ids)
    expect(status).to_contain_text(message)
    expect(page.locator(".wce-row-select")).to_have_count(len(eu_ids))
    for ref_id in eu_ids:
        expect(page.locator(".wce-results-grid")).to_contain_text(ref_id)
    # the chart counts the samples matching the filters once the preview has counted them (issue 27.2)
    in_box = _matching(rdm, eu_ids, spatial_extent=EUROPE)
    expect(page.locator(".wce-counts-note")).to_contain_text(f"{len(in_box):,} samples")
    expect(page.locator(".wce-counts-note")).to_contain_text("match your filters")
    assert page.locator(".bqplot rect.bar").count() != bars_before
    _check_grouped_bars(page, rdm, in_box, artifacts_dir)

    # a typo (east west of west) is explained in the status bar, and fixing it recovers
    east = page.locator(".wce-bbox-east input")
    east.fill("-50")
    east.press("Enter")
    expect(page.locator(".wce-status [data-status='error']")).to_contain_text("west=-5.0 is greater than east=-50.0")
    east.fill(str(EUROPE[2]))
    east.press("Enter")
    expect(status).to_contain_text(message)

    # 2. pick a crop in the tree (search, then tick)
    legend = rdm.legend
    maize = next(code for code in legend.frame.index if legend.label(code) == "maize")
    codes = legend.tree().find(maize).descendant_codes()
    page.locator(".wce-crop-search input").fill("maize")
    page.locator(f".wce-code-{maize} .wce-crop-check").click()
    expect(page.locator(f".wce-code-{maize} .wce-crop-check")).to_have_class(re.compile(r"wce-checked"))
    maize_ids, message, total = _summary(rdm, spatial_extent=EUROPE, ewoc_codes=codes)
    expect(status).to_contain_text(message)
    matching = len(_matching(rdm, maize_ids, spatial_extent=EUROPE, ewoc_codes=codes))
    expect(page.locator(".wce-counts-note")).to_contain_text(f"{matching:,} samples")
    # maize and its sub-classes are one class, maize (the default fold; tests/widgets/test_subclasses.py)
    expect(page.locator(".wce-crop-summary")).to_contain_text(
        "1 class selected" + (f" ({len(codes)} crop codes)" if len(codes) > 1 else ""))
    # the table's "Matching samples" add up to what a fetch returns, as the estimate says
    expect(page.locator(".wce-row-select")).to_have_count(len(maize_ids))
    expect(page.locator(".wce-preview-line")).to_contain_text(f"a fetch would bring {matching:,} sample")
    # wait for the numbers, not only the rows: the cells refresh a moment after the row count settles
    page.wait_for_function(
        "t => [...document.querySelectorAll('.wce-cell-samples')]"
        ".reduce((s, e) => s + (parseInt(e.innerText.replace(/,/g, ''), 10) || 0), 0) === t", arg=matching)
    # the tree still counts the classes that are not ticked (it showed "(0)" for every one of them)
    unticked = _unticked_count(rdm, EUROPE, legend, codes)
    page.locator(".wce-crop-search input").fill(unticked[0])
    expect(page.locator(f".wce-code-{unticked[1]} .wce-crop-label")).to_contain_text(f"({unticked[2]:,})")
    page.locator(".wce-crop-search input").fill("")

    # 3. change the dates
    page.locator(".wce-start-date input").fill("2021-01-01")
    page.locator(".wce-end-date input").fill("2021-12-31")
    dated_ids, message, total = _summary(rdm, spatial_extent=EUROPE, ewoc_codes=codes,
                                         temporal_extent=("2021-01-01", "2021-12-31"))
    assert dated_ids
    expect(status).to_contain_text(message)
    page.screenshot(path=str(artifacts_dir / "dashboard_2_filtered.png"), full_page=True)

    # 4. fetch the samples and see them on the map
    expected = rdm.get_samples(dated_ids, spatial_extent=EUROPE, ewoc_codes=codes,
                               temporal_extent=("2021-01-01", "2021-12-31"), progress=False)
    assert 0 < len(expected) <= 5000  # drawn one by one
    page.locator(".wce-fetch-samples").click()
    expect(status).to_contain_text(f"{len(expected):,} samples match your filters")
    expect(page.locator(".wce-samples-info")).to_contain_text(f"{len(expected):,} samples")
    page.wait_for_function(
        "n => document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive').length >= n",
        arg=len(expected), polling=200)
    preview = page.locator(".wce-samples-preview")
    expect(preview).to_contain_text(f"{len(expected):,} samples")
    first_row = preview.locator("tbody tr").first.locator("td").first.inner_text()
    assert first_row in set(expected["sample_id"].astype(str))
    legend_box = page.locator(".leaflet-control-legend")
    # maize's sub-classes take its name (the default fold), so the map's legend names maize, not green silo maize
    folded = rdm.label_samples(expected, {code: "maize" for code in codes})
    assert set(folded["new_label"]) == {"maize"}
    expect(legend_box).to_contain_text(folded["new_label"].value_counts().index[0])
    page.screenshot(path=str(artifacts_dir / "dashboard_3_samples.png"), full_page=True)

    # 5. change a sample filter: the samples on the map are marked stale until fetched again
    slider = page.locator(".wce-quality-lc .slider-container")
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    expect(status).to_contain_text("filters changed \u2014 press Fetch samples")
    expect(page.locator(".wce-samples-info")).to_contain_text("filters changed \u2014 press Fetch samples")
    page.screenshot(path=str(artifacts_dir / "dashboard_3b_stale.png"), full_page=True)
    page.locator(".wce-fetch-samples").click()
    expect(status).not_to_contain_text("filters changed")
    expect(page.locator(".wce-samples-info")).not_to_contain_text("filters changed")
    assert not page.page_errors
    # nothing the page loaded failed in the visitor's console (the map tiles are blocked offline on purpose);
    # jupytext's JupyterLab plugin did, on every page, until voila_setup kept it out of the dashboard
    console_errors = [line for line in page.console_lines
                      if line.startswith("error:") and "net::ERR_FAILED" not in line]
    assert not console_errors, console_errors


def _assert_headers_not_cut(page):
    """Every results header shows its whole text and the sort arrow (it was cut to "Sampl\u2026")."""
    from playwright.sync_api import expect

    for key in ("samples", "confidence", "access", "years", "type"):
        button = page.locator(f".wce-sort-{key}")
        button.click()  # sorted by it: the arrow is part of the text now
        expect(button).to_contain_text(re.compile("[\u25b2\u25bc]"))
        cut = button.evaluate("el => el.scrollWidth > el.clientWidth + 1")
        assert not cut, f"the {key} header is cut off: {button.inner_text()!r}"
    page.locator(".wce-sort-id").click()


def _check_grouped_bars(page, rdm, samples, artifacts_dir):
    """Grouped mode draws side-by-side bars with real heights (bqplot's own grouped bars were all 0 px)."""
    from playwright.sync_api import expect

    labels = samples["ewoc_code"].map(rdm.legend.label)
    nonzero = len(set(zip(labels, samples["ref_id"], strict=True)))  # (crop, collection) pairs the chart draws
    crops = labels.nunique()
    page.locator(".wce-counts-mode button", has_text="grouped").click()
    expect(page.locator(".wce-counts-mode button.mod-active")).to_have_text("grouped")
    heights_js = ("() => Array.from(document.querySelectorAll('.wce-counts .bqplot rect.bar'))"
                  ".map(r => r.getBoundingClientRect().height)")
    xs_js = ("() => Array.from(document.querySelectorAll('.wce-counts .bqplot rect.bar'))"
             ".filter(r => r.getBoundingClientRect().height > 0)"
             ".map(r => Math.round(r.getBoundingClientRect().x))")
    # side by side: once the figure has swapped its marks (the stacked bars leave the page a moment after
    # the grouped ones arrive), the drawn bars never share an x position
    page.wait_for_function(f"n => {{ const xs = ({xs_js})(); return xs.length >= n && new Set(xs).size === xs.length; }}",
                           arg=min(crops, 15))
    heights = page.evaluate(heights_js)
    assert sum(h > 0 for h in heights) <= nonzero, heights
    xs = page.evaluate(xs_js)
    assert len(xs) == len(set(xs))
    page.locator(".wce-counts").screenshot(path=str(artifacts_dir / "dashboard_1b_grouped.png"))
    page.locator(".wce-counts-mode button", has_text="stacked").click()
    expect(page.locator(".wce-counts-mode button.mod-active")).to_have_text("stacked")


def _unticked_count(rdm, bbox, legend, ticked):
    """(label, code, unfiltered total over its subtree) of a class with samples in ``bbox`` not ticked."""
    ids = [c.id for c in rdm.get_collections(spatial_extent=bbox)]
    totals = rdm.get_crop_counts(ids).sum(axis=1).droplevel(1)
    for code, total in totals.sort_values(ascending=False).items():
        if int(code) not in ticked and total > 0:
            subtree = legend.tree().find(int(code)).descendant_codes()
            return legend.label(int(code)), int(code), int(totals.reindex(list(subtree)).fillna(0).sum())
    raise AssertionError("every class with samples is ticked")


def _download(page, link, target):
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.failure() is None
    download.save_as(str(target))
    return download.suggested_filename


def test_download_samples_and_documents(page, voila_url, rdm, artifacts_dir, tmp_path):
    import geopandas as gpd
    import pandas as pd
    from playwright.sync_api import expect

    belgium = (2.5, 50.0, 6.5, 52.0)
    status = page.locator(".wce-status")
    _open(page, voila_url)
    _type_bbox(page, belgium)
    ids, message, _ = _summary(rdm, spatial_extent=belgium)
    expect(status).to_contain_text(message)
    expected = rdm.get_samples(ids, spatial_extent=belgium, progress=False)
    page.locator(".wce-fetch-samples").click()
    expect(status).to_contain_text(f"{len(expected):,} samples match your filters")

    links = page.locator(".wce-download-links")
    page.locator(".wce-download-format select").select_option("GeoParquet")
    page.locator(".wce-save-samples").click()
    link = links.locator("a.wce-download-link")
    expect(link).to_contain_text(".geoparquet")
    name = _download(page, link, tmp_path / "samples.geoparquet")
    assert name.endswith(".geoparquet")
    back = gpd.read_parquet(tmp_path / "samples.geoparquet")
    assert sorted(back["sample_id"]) == sorted(expected["sample_id"])
    assert back.crs.to_epsg() == 4326
    merged = back.set_index("sample_id").geometry.geom_equals_exact(
        expected.set_index("sample_id").geometry, tolerance=1e-9, align=True)
    assert merged.all()

    page.locator(".wce-download-format select").select_option("CSV")
    page.locator(".wce-save-samples").click()
    expect(link).to_contain_text(".csv")
    _download(page, link, tmp_path / "samples.csv")
    table = pd.read_csv(tmp_path / "samples.csv")
    assert sorted(table["sample_id"]) == sorted(expected["sample_id"])

    ref_id = page.locator(".wce-download-collection select").input_value()
    assert ref_id in ids
    page.locator(".wce-download-metadata").click()
    expect(link).to_contain_text(f"{ref_id}_metadata.xlsx")
    _download(page, link, tmp_path / "metadata.xlsx")
    assert (tmp_path / "metadata.xlsx").read_bytes()[:2] == b"PK"
    sheet = pd.read_excel(tmp_path / "metadata.xlsx", sheet_name=None)
    assert sheet  # a readable workbook
    page.locator(".wce-download-pdf").click()
    expect(link).to_contain_text(".pdf")
    _download(page, link, tmp_path / "harmonization.pdf")
    assert (tmp_path / "harmonization.pdf").read_bytes()[:5] == b"%PDF-"
    page.screenshot(path=str(artifacts_dir / "dashboard_4_downloads.png"), full_page=True)
    assert not page.page_errors


def test_private_collections_after_login(page, private_stack, demo_catalog, artifacts_dir):
    import json

    from playwright.sync_api import expect

    from worldcereal_explorer.demo import DEMO_USER_SUB

    idp, _rdm_url, voila_url = private_stack
    mine = []
    for folder in sorted(p for p in demo_catalog.iterdir() if (p / "access.json").is_file()):
        if json.loads((folder / "access.json").read_text()).get("owner") == DEMO_USER_SUB:
            mine.append(json.loads((folder / "collection.json").read_text()))
    assert mine
    own = mine[0]
    west, south, east, north = own["extent"]["spatial"]["bbox"][0]

    status = page.locator(".wce-status")
    grid = page.locator(".wce-results-grid")
    _open(page, voila_url)
    _type_bbox(page, (west, south, east, north))
    expect(status).to_contain_text("found")
    expect(grid).not_to_contain_text(own["collectionId"])

    page.locator(".wce-access-private input").check()
    expect(status).to_contain_text("log in to include private and restricted collections")
    page.locator(".wcx-login").click()
    user_code = idp.wait_for_user_code(timeout_s=60)
    expect(page.locator(".wce-login-area")).to_contain_text(user_code)  # shown to the user to confirm
    page.screenshot(path=str(artifacts_dir / "dashboard_5_login_code.png"), full_page=True)
    idp.approve(user_code)  # what the person does on the identity provider's page

    expect(grid).to_contain_text(own["collectionId"])
    expect(status).not_to_contain_text("log in to include")
    row_cells = grid.locator(".wce-cell-access")
    expect(row_cells.filter(has_text="Private")).not_to_have_count(0)
    # only public collections have a harmonization PDF: the button is off for a private one
    page.locator(".wce-download-collection select").select_option(own["collectionId"])
    expect(page.locator(".wce-download-pdf")).to_be_disabled()
    expect(page.locator(".wce-download-metadata")).to_be_enabled()
    page.screenshot(path=str(artifacts_dir / "dashboard_6_logged_in.png"), full_page=True)
    assert not page.page_errors


def test_draw_a_rectangle_on_the_map(page, voila_url, rdm, artifacts_dir):
    from playwright.sync_api import expect

    status = page.locator(".wce-status")
    _open(page, voila_url)
    expect(status).to_contain_text(_summary(rdm)[1])
    container = page.locator(".wce-map .leaflet-container")
    box = container.bounding_box()
    page.locator(".leaflet-draw-draw-rectangle").click()
    x0, y0 = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.25
    x1, y1 = box["x"] + box["width"] * 0.60, box["y"] + box["height"] * 0.45
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=6)
    page.mouse.up()
    # the drawn box lands in the typed fields (rounded by the browser's pixel grid)...
    west = page.locator(".wce-bbox-west input")
    expect(west).not_to_have_value("-180")
    values = [float(page.locator(f".wce-bbox-{n} input").input_value()) for n in ("west", "south", "east", "north")]
    assert values[0] < values[2] and values[1] < values[3]
    assert (values[2] - values[0]) < 180
    # ... and the search ran for it
    _, message, _ = _summary(rdm, spatial_extent=tuple(values))
    expect(status).to_contain_text(message)
    page.screenshot(path=str(artifacts_dir / "dashboard_7_drawn_box.png"), full_page=True)
    assert not page.page_errors


def test_the_wheel_over_the_dashboard_map_scrolls_the_page(page, voila_url):
    """Scrolling down the dashboard over its map moves the page, not the map's zoom (issue 27, item 10): Leaflet
    takes a wheel it zooms with (it cancels the event), so the page moving shows the map let it through."""
    page.set_viewport_size({"width": 1280, "height": 720})
    _open(page, voila_url)
    page.wait_for_selector(".wce-wheel-helper", state="attached")  # the Ctrl/Cmd+wheel helper is in the page
    container = page.locator(".wce-map .leaflet-container")
    container.scroll_into_view_if_needed()
    box = container.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    top = page.evaluate("() => document.querySelector('.wce-map .leaflet-container').getBoundingClientRect().top")
    page.mouse.wheel(0, 300)
    page.wait_for_function("() => document.querySelector('.wce-map .leaflet-container')"
                           f".getBoundingClientRect().top < {top} - 100")
    assert not page.page_errors


def test_cancel_a_slow_sample_query(page, slow_voila_url, artifacts_dir):
    from playwright.sync_api import expect

    status = page.locator(".wce-status")
    _open(page, slow_voila_url)
    expect(status).to_contain_text("collections found")
    page.locator(".wce-fetch-samples").click()
    loading = page.locator(".wce-status [data-status='loading']")
    expect(loading).to_be_visible()  # every request takes 0.5 s: the query is still running
    cancel = page.locator(".wce-cancel")
    expect(cancel).to_be_enabled()
    page.screenshot(path=str(artifacts_dir / "dashboard_8_loading.png"), full_page=True)
    cancel.click()
    expect(page.locator(".wce-status [data-status='idle']")).to_contain_text("cancelled")
    expect(page.locator(".wce-samples-info")).to_contain_text("no samples fetched yet")
    expect(cancel).to_be_disabled()
    assert not page.page_errors


def test_closing_the_page_shuts_its_kernel_down(browser, voila_url):
    """A closed tab frees its kernel (and the dashboard in it) at once, not when the server stops."""
    from tests.voila_support import (
        KERNEL_ID_JS,
        kernel_alive,
        new_page,
        offline_context,
        wait_until_kernel_gone,
    )

    context = offline_context(browser)
    try:
        page = new_page(context)
        page.goto(voila_url + "/", wait_until="domcontentloaded")
        page.wait_for_selector(".wce-explorer")
        kernel_id = page.evaluate(KERNEL_ID_JS)
        assert kernel_alive(voila_url, kernel_id)
        page.close(run_before_unload=True)
        assert wait_until_kernel_gone(voila_url, kernel_id, timeout_s=30), f"kernel {kernel_id} outlived its page"
    finally:
        context.close()
