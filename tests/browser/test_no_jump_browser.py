"""Issue 27.7: nothing moves under the pointer. Ticking a crop adds a chip above the tree and a search starts;
a country typed in the box brings a message that may take two lines: neither may move the next control down
(the chip box and the country message keep their space whether they are empty or not).

Ticking two crops in a row is done as a user does it: the pointer moves by the rows' step and clicks again.
Every animation frame from the first click to the end, the page's positions are recorded, so a jump that
lasts only while a search runs is caught too. Headless Chromium at 1280x720, as the issue measured it.
"""

from __future__ import annotations

import re

import pytest

from tests.voila_support import open_dashboard

pytestmark = pytest.mark.browser

TEMPORARY_CROPS, CEREALS, MAIZE = 1100000000, 1101000000, 1101060000

#: Records every frame the viewport top of each selector's element (null when it is not there) until stopped.
TRACK_JS = """selectors => {
  const track = window.__wceTrack = {samples: [], stop: false};
  const frame = () => {
    track.samples.push(selectors.map(s => { const e = document.querySelector(s);
                                             return e ? e.getBoundingClientRect().top : null; }));
    if (!track.stop) requestAnimationFrame(frame);
  };
  frame();
}"""
STOP_JS = "() => { window.__wceTrack.stop = true; return window.__wceTrack.samples; }"
ROWS_JS = """() => [...document.querySelectorAll('.wce-crop-tree > .wce-crop-row')].map(r => {
  const b = r.getBoundingClientRect(); return [+/wce-code-(\\d+)/.exec(r.className)[1], b.top, b.height]; })"""


def _moves(samples: list[list[float | None]], selectors: list[str]) -> dict[str, float]:
    """How far each selector's element moved (max - min of its tops) over the recorded frames."""
    out = {}
    for i, selector in enumerate(selectors):
        tops = [s[i] for s in samples if s[i] is not None]
        assert tops, f"{selector} never on the page"
        out[selector] = max(tops) - min(tops)
    return out


def _centre(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _idle(page):
    from playwright.sync_api import expect

    expect(page.locator(".wce-status [data-status='idle']")).to_be_visible()


def test_ticking_two_crops_in_a_row_and_a_country_message_move_nothing(page, voila_url, artifacts_dir):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1280, "height": 720})
    open_dashboard(page, voila_url, parts=(".leaflet-container",), found=True, legend=True)
    for code in (TEMPORARY_CROPS, CEREALS):  # open the branches down to maize
        page.locator(f".wce-crop-tree .wce-code-{code} .wce-crop-expand").click()
    maize_row = page.locator(f".wce-crop-tree .wce-code-{MAIZE}")
    expect(maize_row).to_be_visible()
    # the crop after maize in the tree (maize's branch is closed: its next row is its sibling)
    second = page.evaluate("code => +/wce-code-(\\d+)/.exec(document.querySelector("
                           "`.wce-crop-tree .wce-code-${code}`).nextElementSibling.className)[1]", MAIZE)
    maize_row.scroll_into_view_if_needed()
    page.evaluate("() => window.scrollBy(0, -120)")  # leave room above, as a user scrolls to the tree
    _idle(page)
    rows_before = page.evaluate(ROWS_JS)
    first_box = page.locator(f".wce-code-{MAIZE} .wce-crop-check").bounding_box()
    second_box = page.locator(f".wce-code-{second} .wce-crop-check").bounding_box()
    step = second_box["y"] - first_box["y"]
    assert 20 <= step <= 40, step  # one row down

    selectors = [f".wce-crop-tree .wce-code-{MAIZE}", f".wce-crop-tree .wce-code-{second}", ".wce-crop-search",
                 ".wce-crop-chips", ".wce-crop-fold", ".leaflet-container"]
    page.evaluate(TRACK_JS, selectors)
    x, y = _centre(first_box)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    expect(page.locator(f".wce-code-{MAIZE} .wce-crop-check")).to_have_class(re.compile(r"wce-checked"))
    expect(page.locator(f".wce-chip-{MAIZE}")).to_contain_text("maize + 1 sub-class")
    _idle(page)
    rows_between = page.evaluate(ROWS_JS)
    page.mouse.move(x, y + step)
    page.mouse.click(x, y + step)  # the same step: the second crop, not maize again
    expect(page.locator(f".wce-code-{second} .wce-crop-check")).to_have_class(re.compile(r"wce-checked"))
    expect(page.locator(f".wce-chip-{second}")).to_be_visible()
    expect(page.locator(f".wce-code-{MAIZE} .wce-crop-check")).to_have_class(re.compile(r"wce-checked"))
    expect(page.locator(".wce-crop-summary")).to_contain_text("2 classes selected")
    _idle(page)
    moved = _moves(page.evaluate(STOP_JS), selectors)
    rows_after = page.evaluate(ROWS_JS)
    page.screenshot(path=str(artifacts_dir / "no_jump_1_two_crops.png"))
    print(f"tree rows (code, top, height) before: {rows_before[:6]}\nafter one tick: {rows_between[:6]}"
          f"\nafter two: {rows_after[:6]}\nmoved over every frame (px): {moved}")
    assert all(d < 0.5 for d in moved.values()), moved
    assert [c for c, _, _ in rows_after] == [c for c, _, _ in rows_before]
    for (code, top, height), (_, top2, height2) in zip(rows_before, rows_after, strict=True):
        assert abs(top2 - top) < 0.5 and abs(height2 - height) < 0.5, (code, top, top2)

    # --- the country box: an unknown name (a two-line message), then a region: the map stays where it is
    page.evaluate("() => window.scrollTo(0, 0)")
    box = page.locator(".wce-place-box input")
    box.scroll_into_view_if_needed()
    message = page.locator(".wce-place-message")
    selectors = [".leaflet-container", ".wce-place-box", ".wce-aoi-upload"]
    map_before = page.locator(".leaflet-container").bounding_box()
    page.evaluate(TRACK_JS, selectors)
    box.fill("Narnia")
    box.press("Enter")
    expect(message).to_contain_text("no country or region named \u201cNarnia\u201d")
    box.fill("Sub-Saharan Africa")
    expect(message).to_contain_text("area: Sub-Saharan Africa (outline of")
    _idle(page)
    moved = _moves(page.evaluate(STOP_JS), selectors)
    map_after = page.locator(".leaflet-container").bounding_box()
    page.screenshot(path=str(artifacts_dir / "no_jump_2_country.png"))
    print(f"map box before: {map_before}\nafter: {map_after}\nmoved over every frame (px): {moved}")
    assert all(d < 0.5 for d in moved.values()), moved
    assert abs(map_after["y"] - map_before["y"]) < 0.5 and abs(map_after["height"] - map_before["height"]) < 0.5
    assert page.evaluate("() => document.querySelector('.wce-place-message').getBoundingClientRect().height") == 32
    assert not page.page_errors, page.page_errors
