"""The dashboard for keyboard and screen-reader users, measured with axe-core in headless Chromium.

axe-core (the ``axe.min.js`` that the ``axe-playwright-python`` test dependency ships; no network at test
time) runs the WCAG 2.0/2.1 level A and AA rules on the Voilà page in five states: on load, after a search
with a crop ticked, with a collection's details open, after a fetch (table, chart and map filled), and
during the device login. A critical or serious node fails the test, named by rule id and target.

The same tests take screenshots at 1024x640, 1280x720 and 1920x1080 and check that nothing is out of reach
(no button beyond the scrollable width, no horizontal overflow of the dashboard), that the area can be set
from the keyboard alone (one-line search, typed edges), and that the map orients offline (country outlines
drawn when no tile loads: these tests abort every non-loopback request).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.voila_support import open_dashboard

pytestmark = pytest.mark.browser

#: The rule sets axe runs (WCAG 2.0 and 2.1, levels A and AA).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SIZES = [(1024, 640), (1280, 720), (1920, 1080)]


def _axe_script() -> Path:
    import axe_playwright_python

    path = Path(axe_playwright_python.__file__).with_name("axe.min.js")
    assert path.is_file(), path
    return path


def _axe(page, where: str, artifacts_dir: Path) -> list[str]:
    """Run axe on the page; return ``"impact rule-id: target — summary"`` for every critical/serious node
    (and write the whole report to ``artifacts_dir/axe_<where>.json``)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(_axe_script()))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS)
    (artifacts_dir / f"axe_{where}.json").write_text(json.dumps(result["violations"], indent=1))
    found = []
    for violation in result["violations"]:
        for node in violation["nodes"]:
            impact = node.get("impact") or violation.get("impact")
            if impact in ("critical", "serious"):
                found.append(f"{impact} {violation['id']}: {' '.join(map(str, node['target']))} \u2014 "
                             f"{(node.get('failureSummary') or '').splitlines()[-1].strip()[:160]}")
    return found


def _assert_no_serious(page, where: str, artifacts_dir: Path) -> None:
    found = _axe(page, where, artifacts_dir)
    assert not found, f"axe ({where}): {len(found)} critical/serious node(s):\n" + "\n".join(found)


def _open(page, url):
    open_dashboard(page, url, legend=True)  # the legend has arrived: the crop tree is checked too


def test_axe_on_load_search_details_and_fetch(page, voila_url, artifacts_dir):
    from playwright.sync_api import expect

    _open(page, voila_url)
    # the names set by the page script (widgets/aria.py) are there before axe looks
    expect(page.locator(".wce-quality-lc [role=slider]")).to_have_attribute("aria-label", re.compile("quality"))
    expect(page.locator(".leaflet-draw-draw-rectangle")).to_have_attribute("aria-label", re.compile("W, S, E, N"))
    problems = {"on load": _axe(page, "load", artifacts_dir)}

    # search with a crop ticked: one line, Enter
    box = page.locator(".wce-text-search-box input")
    box.fill("maize Kenya 2021")
    box.press("Enter")
    readout = page.locator(".wce-text-search-readout")
    expect(readout).to_contain_text("crop: maize \u00b7 area: Kenya \u00b7 dates: 2021-01-01\u20262021-12-31")
    status = page.locator(".wce-status")
    expect(status).to_contain_text("1 collection found")
    expect(page.locator(".wce-row-select")).to_have_count(1)
    problems["search with a crop ticked"] = _axe(page, "search", artifacts_dir)

    # the details panel
    page.locator(".wce-open-details").first.click()
    expect(page.locator(".wce-details-title")).to_contain_text("Kenya")
    problems["details open"] = _axe(page, "details", artifacts_dir)

    # a fetch: table, chart and map filled
    page.locator(".wce-fetch-samples").click()
    expect(status).to_contain_text("samples match your filters")
    page.wait_for_function("() => document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive')"
                           ".length > 0", polling=200)
    page.wait_for_function("() => document.querySelectorAll('.bqplot rect.bar').length > 0")
    problems["after a fetch"] = _axe(page, "fetch", artifacts_dir)
    report = "\n".join(f"[{where}] {line}" for where, lines in problems.items() for line in lines)
    assert not report, "axe: critical/serious nodes\n" + report
    assert not page.page_errors


def test_axe_during_the_device_login(page, private_stack, artifacts_dir):
    from playwright.sync_api import expect

    idp, _, url = private_stack
    _open(page, url)
    page.locator(".wce-access-private input").check()
    page.locator(".wcx-login").click()
    user_code = idp.wait_for_user_code(timeout_s=60)
    expect(page.locator(".wce-login-area")).to_contain_text(user_code)
    page.screenshot(path=str(artifacts_dir / "a11y_login.png"), full_page=True)
    _assert_no_serious(page, "login", artifacts_dir)


def test_offline_map_shows_country_outlines(page, voila_url, artifacts_dir):
    """These tests abort every tile request: the map switches to the package's country outlines."""
    from playwright.sync_api import expect

    _open(page, voila_url)
    expect(page.locator(".wce-outline-toggle input")).to_be_checked()
    expect(page.locator(".wce-outline-note")).to_contain_text("map tiles did not load")
    outlines = ".leaflet-wce-outlines-pane path"
    page.wait_for_function(f"() => document.querySelectorAll('{outlines}').length > 150")
    # under the data: the outlines' pane is below the one the extents and hexagons are drawn in
    z = page.evaluate("""() => [getComputedStyle(document.querySelector('.leaflet-wce-outlines-pane')).zIndex,
                                getComputedStyle(document.querySelector('.leaflet-overlay-pane')).zIndex]""")
    assert int(z[0]) < int(z[1]), z
    page.locator(".wce-map .leaflet-container").screenshot(path=str(artifacts_dir / "a11y_offline_map.png"))
    # and off again by hand, from the keyboard
    toggle = page.locator(".wce-outline-toggle input")
    toggle.focus()
    page.keyboard.press("Space")
    expect(toggle).not_to_be_checked()
    page.wait_for_function(f"() => document.querySelectorAll('{outlines}').length === 0 || "
                           f"getComputedStyle(document.querySelector('{outlines}')).display === 'none' || "
                           f"document.querySelector('.leaflet-wce-outlines-pane').childElementCount === 0")


def test_keyboard_only_area_rows_and_details(page, voila_url, artifacts_dir):
    """An area from the keyboard (one-line search, typed edges), a row ticked with Space and opened with
    Enter, and a visible focus ring on the focused control."""
    from playwright.sync_api import expect

    _open(page, voila_url)
    status = page.locator(".wce-status")
    box = page.locator(".wce-text-search-box input")
    box.focus()
    page.keyboard.type("Kenya 2021")
    page.keyboard.press("Enter")
    expect(page.locator(".wce-text-search-readout")).to_contain_text("area: Kenya")
    expect(page.locator(".wce-place-box input")).to_have_value("")  # the country box did not do it
    expect(status).to_contain_text("found")
    west = page.locator(".wce-bbox-west input")
    expect(west).not_to_have_value("0")
    assert 33 < float(west.input_value()) < 35

    # typed edges, Enter after each
    for name, value in zip(("west", "south", "east", "north"), (33.0, -5.0, 42.0, 6.0), strict=True):
        field = page.locator(f".wce-bbox-{name} input")
        field.focus()
        field.fill(str(value))
        page.keyboard.press("Enter")
    # "found" is still on the line from the Kenya search: wait for the typed area to reach the state (the
    # address follows it) and its search to end, else the rows are replaced while the test focuses one
    page.wait_for_function("() => location.search.includes('bbox=33,-5,42,6')")
    expect(page.locator(".wce-status [data-status='idle']")).to_contain_text("found")
    first = page.locator(".wce-row-select input").first
    # focus and read the style in one step: nothing can replace the row in between
    outline = first.evaluate("element => { element.focus(); return getComputedStyle(element).outlineStyle; }")
    assert outline == "solid", outline  # :focus-visible after keyboard focus
    expect(first).to_be_focused()
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    expect(page.locator(".wce-results-footer")).to_contain_text("1 selected")
    opener = page.locator(".wce-open-details").first
    opener.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".wce-details-title")).to_be_visible()
    assert not page.page_errors


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_screenshots_nothing_out_of_reach(page, voila_url, artifacts_dir, width, height):
    """At each window size: no horizontal overflow of the dashboard, every button within the scrollable
    width, no panel that scrolls inside the page (a nested scroll trap); a screenshot to look at."""
    page.set_viewport_size({"width": width, "height": height})
    _open(page, voila_url)
    page.locator(".wce-text-search-box input").fill("maize Kenya 2021")
    page.locator(".wce-text-search-box input").press("Enter")
    page.locator(".wce-text-search-readout").filter(has_text="area: Kenya").wait_for()
    page.screenshot(path=str(artifacts_dir / f"a11y_{width}x{height}.png"))
    # the whole dashboard: Voilà scrolls an inner element, so a full-page shot would be the viewport again;
    # a window as tall as the dashboard (same width) shows all of it
    tall = page.evaluate("() => Math.ceil(document.querySelector('.wce-explorer').getBoundingClientRect().height) + 80")
    page.set_viewport_size({"width": width, "height": max(height, tall)})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=str(artifacts_dir / f"a11y_{width}x{height}_full.png"))
    page.set_viewport_size({"width": width, "height": height})
    report = page.evaluate("""() => {
      const root = document.querySelector('.wce-explorer');
      const width = document.documentElement.clientWidth;
      const off = [...root.querySelectorAll('button, input, select, textarea, a[href]')]
        .filter(e => e.offsetParent !== null)
        .map(e => [e, e.getBoundingClientRect()])
        .filter(([e, r]) => r.width > 0 && (r.right + window.scrollX > width + 1 || r.left + window.scrollX < -1))
        .map(([e, r]) => `${e.tagName}.${[...(e.closest('.jupyter-widgets') || e).classList].join('.')}` +
                         ` ${Math.round(r.left)}..${Math.round(r.right)}`);
      const traps = [...root.querySelectorAll('*')].filter(e => {
        const s = getComputedStyle(e);
        return (['auto', 'scroll'].includes(s.overflowY) && e.scrollHeight > e.clientHeight + 2 &&
                !e.closest('.leaflet-container') && e.tagName !== 'TEXTAREA' && e.tagName !== 'SELECT');
      }).map(e => [...e.classList].join('.'));
      return {overflow: root.scrollWidth - root.clientWidth, rootRight: root.getBoundingClientRect().right,
              width, off, traps, docOverflow: document.documentElement.scrollWidth - width};
    }""")
    assert report["rootRight"] <= report["width"] + 1, report
    assert report["docOverflow"] <= 1, report
    assert report["overflow"] <= 1, report
    assert not report["off"], report
    assert not report["traps"], report
