"""100,000 samples in the dashboard: the map shows H3 aggregates and keeps answering zoom and pan."""

from __future__ import annotations

import json
import re
import time

import pytest

from worldcereal_explorer.widgets.samples_layer import COUNT_RAMP

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HEXES = ".leaflet-overlay-pane path.leaflet-interactive"
#: Screen centre of the darkest (most samples) hexagon inside the map, or of the densest marker cluster.
DENSEST_HEX_JS = """ramp => {
  const map = document.querySelector('.wce-map .leaflet-container').getBoundingClientRect();
  let best = null, bestRank = -2;
  for (const p of document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive')) {
    const r = p.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < map.left + 20 || x > map.right - 20 || y < map.top + 20 || y > map.bottom - 20) continue;
    const rank = ramp.indexOf((p.getAttribute('fill') || '').toLowerCase());
    if (rank > bestRank) { bestRank = rank; best = [x, y]; }
  }
  return best || [map.left + map.width / 2, map.top + map.height / 2];
}"""


def _paths(page) -> int:
    return page.locator(HEXES).count()


def test_100k_samples_map_stays_usable(page, big_voila_url, artifacts_dir):
    from playwright.sync_api import expect

    timings: dict[str, float] = {}
    status = page.locator(".wce-status")
    info = page.locator(".wce-samples-info")
    t0 = time.monotonic()
    page.goto(big_voila_url + "/", wait_until="domcontentloaded")
    page.wait_for_selector(".leaflet-container")
    expect(status).to_contain_text("2 collections found (100,000 samples in the whole collections)")
    timings["page_ready_s"] = time.monotonic() - t0

    t0 = time.monotonic()
    page.locator(".wce-fetch-samples").click()
    expect(status).to_contain_text("100,000 samples match your filters")
    expect(info).to_contain_text("H3 cells")
    # two collection outlines, then at least one hexagon per collection
    page.wait_for_function(f"() => document.querySelectorAll('{HEXES}').length >= 4", polling=100)
    timings["fetch_to_hexagons_s"] = time.monotonic() - t0
    n_hexes = _paths(page)
    assert 4 <= n_hexes <= 2000 + 2  # aggregated: hexagons (+ outlines), not 100,000 markers
    x, y = page.evaluate(DENSEST_HEX_JS, COUNT_RAMP)
    page.mouse.move(x, y)  # hovering a hexagon tells how many samples it holds
    expect(page.locator(".wce-samples-hover")).to_contain_text(re.compile(r"H3 cell \w+: [\d,]+ samples"))
    page.screenshot(path=str(artifacts_dir / "many_samples_1_aggregated.png"), full_page=True)

    # Zoom in on the data by double-clicking a hexagon, as a user would, until samples appear one by one.
    resolutions = [int(re.search(r"resolution (\d+)", info.inner_text()).group(1))]
    steps = []
    for _ in range(14):
        if "individually" in info.inner_text():
            break
        before = info.inner_text()
        x, y = page.evaluate(DENSEST_HEX_JS, COUNT_RAMP)
        t0 = time.monotonic()
        page.mouse.dblclick(x, y)
        expect(info).not_to_have_text(before)
        steps.append(time.monotonic() - t0)
        match = re.search(r"resolution (\d+)", info.inner_text())
        if match:
            resolutions.append(int(match.group(1)))
    timings["zoom_step_s"] = steps
    assert "individually" in info.inner_text(), info.inner_text()
    assert resolutions == sorted(resolutions) and resolutions[-1] > resolutions[0]  # finer as you zoom in
    shown = int(re.search(r"([\d,]+) in view drawn individually", info.inner_text()).group(1).replace(",", ""))
    assert 0 < shown <= 5000
    page.wait_for_function(f"n => document.querySelectorAll('{HEXES}').length >= n", arg=shown, polling=100)
    page.screenshot(path=str(artifacts_dir / "many_samples_2_zoomed_in.png"), full_page=True)

    # Pan: drag the map; the layer follows the view.
    before = info.inner_text()
    map_box = page.locator(".wce-map .leaflet-container").bounding_box()
    cx, cy = map_box["x"] + map_box["width"] / 2, map_box["y"] + map_box["height"] / 2
    t0 = time.monotonic()
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 300, cy - 150, steps=8)
    page.mouse.up()
    expect(info).not_to_have_text(before)
    timings["pan_s"] = time.monotonic() - t0

    # Zoom back out with the control: aggregates again.
    for _ in range(8):
        if "H3 cells" in info.inner_text():
            break
        before = info.inner_text()
        page.locator(".leaflet-control-zoom-out").click()
        expect(info).not_to_have_text(before)
    expect(info).to_contain_text("H3 cells")
    page.screenshot(path=str(artifacts_dir / "many_samples_3_zoomed_out.png"), full_page=True)
    (artifacts_dir / "many_samples_timings.json").write_text(json.dumps(timings, indent=2))
    assert not page.page_errors
