"""Stored content stays text (issue 22): a catalogue whose titles, metadata values, sample ids and legend
labels carry ``<img onerror>``, ``<svg onload>``, ``<script>`` and attribute breakers, served by the local
RDM server and shown by the real dashboard in Voila, with the local identity provider for the served-mode
login messages.

Every view that shows stored (or typed) text is opened, and each time the page must hold no rendered
payload (no ``img[src=x]``, no element with an ``onerror``/``onload`` attribute, no ``.xss-bold``, no
``<script>`` carrying ``__xss``), no handler may have run (``window.__xss`` stays undefined) and no dialog
may open, while the payload is visible there as text (so the test cannot pass by showing nothing).
"""

from __future__ import annotations

import contextlib
import urllib.parse

import pytest

from tests.browser.hostile_catalog import (
    BREAK,
    IMG,
    POINTS,
    SCRIPT,
    SECOND,
    SHOWN,
    SVG,
    TITLE,
    make_hostile_catalog,
)
from tests.voila_support import DASHBOARD_APP, dashboard_env, open_dashboard, serve_voila

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT_MS = 60_000
#: Typed by the visitor: a crop group name, a country, the identity at the provider, the link's query.
#: "Logged in as" shows ``preferred_username``, which the local provider sets to the sub: both carry markup.
GROUP_NAME = f"{SVG} my group"
PLACE = f"{IMG} nowhere"
LOGIN_SUB = f"<img src=x onerror=\"window.__xss=(window.__xss||[]).concat('login')\">{BREAK}"
LOGIN_NAME = f"{SVG}{SCRIPT} Mallory"
QUERY = urllib.parse.urlencode({"start": IMG, "codes": SVG, "access": BREAK})

#: The stroke colours of the collections' outlines on the map (widgets/bbox_map.py: found, selected), as JS.
OUTLINE_COLOURS = "['#1565c0', '#ef6c00']"
#: Everything a rendered payload leaves in the page; [] when the page is inert.
INERT_JS = """() => {
  const bad = [];
  if (window.__xss !== undefined) bad.push('handlers ran: ' + JSON.stringify(window.__xss));
  for (const e of document.querySelectorAll("img[src='x'], .xss-bold")) bad.push('rendered ' + e.outerHTML.slice(0, 160));
  for (const e of document.querySelectorAll('.wce-explorer [onerror], .wce-explorer [onload], .bqplot_tooltip_div [onerror], .bqplot_tooltip_div [onload]'))
    bad.push('handler attribute on ' + e.outerHTML.slice(0, 160));
  for (const s of document.querySelectorAll('script')) if (s.textContent.includes('__xss')) bad.push('script element ' + s.outerHTML.slice(0, 160));
  return bad;
}"""

#: A point of the map where the topmost element is the first of the overlay pane's paths for which
#: ``filter`` (a JS expression of the path ``e`` and its rect ``r``) holds, or null.
POINT_ON_PATH_JS = """([filter]) => {
  const keep = new Function('e', 'r', 'return ' + filter);
  const paths = [...document.querySelectorAll('.wce-map .leaflet-overlay-pane path.leaflet-interactive')];
  const map = document.querySelector('.wce-map .leaflet-container').getBoundingClientRect();
  const steps = [0.5, 0.35, 0.65, 0.2, 0.8, 0.1, 0.9, 0.03, 0.97];
  for (const e of paths) {
    const r = e.getBoundingClientRect();
    if (!r.width || !keep(e, r)) continue;
    const x0 = Math.max(r.left, map.left + 5), x1 = Math.min(r.right, map.right - 5);
    const y0 = Math.max(r.top, map.top + 5), y1 = Math.min(r.bottom, map.bottom - 5);
    if (x1 <= x0 || y1 <= y0) continue;
    for (const fy of steps) for (const fx of steps) {
      const x = x0 + (x1 - x0) * fx, y = y0 + (y1 - y0) * fy;
      if (document.elementFromPoint(x, y) === e) return [x, y];
    }
  }
  return null;
}"""

#: What the map draws (for the message of a failed hover): stroke, fill, rect of every overlay path.
PATHS_JS = """() => [...document.querySelectorAll('.wce-map .leaflet-overlay-pane path')].slice(0, 12).map(e => {
  const r = e.getBoundingClientRect();
  return [e.getAttribute('class'), e.getAttribute('stroke'), e.getAttribute('fill'), Math.round(r.left),
          Math.round(r.top), Math.round(r.width), Math.round(r.height)].join(' ');
}).concat([JSON.stringify(document.querySelector('.wce-map .leaflet-container').getBoundingClientRect())])"""

#: The middle of the tallest bar of the counts chart.
BAR_JS = """() => {
  const bars = [...document.querySelectorAll('.wce-counts .bqplot rect.bar')].map(b => b.getBoundingClientRect())
    .filter(r => r.height > 2).sort((a, b) => b.height - a.height);
  return bars.length ? [bars[0].left + bars[0].width / 2, bars[0].top + bars[0].height / 2] : null;
}"""


@pytest.fixture
def hostile_stack(demo_catalog, tmp_path):
    """The local IdP, the RDM server (checking its tokens) on the hostile copy, and Voila on the dashboard."""
    from worldcereal_explorer.server import serve_in_thread
    from worldcereal_explorer.server.idp import serve_idp_in_thread
    from worldcereal_explorer.server.tokens import JwtTokenValidator

    if not DASHBOARD_APP.exists():
        pytest.skip(f"the dashboard notebook {DASHBOARD_APP} is not there")
    poisoned = make_hostile_catalog(demo_catalog, tmp_path / "hostile-catalog")
    with contextlib.ExitStack() as stack:
        idp = stack.enter_context(serve_idp_in_thread(poll_interval_s=0.2))
        validator = JwtTokenValidator(idp.issuer, idp.client_id)
        rdm = stack.enter_context(serve_in_thread(tmp_path / "hostile-catalog", token_validator=validator))
        env = dashboard_env(rdm.url, WORLDCEREAL_OIDC_ISSUER=idp.issuer, WORLDCEREAL_OIDC_CLIENT_ID=idp.client_id)
        work = tmp_path / "voila"
        work.mkdir()
        url = stack.enter_context(serve_voila(DASHBOARD_APP, env, work))
        yield {"idp": idp, "url": url, **poisoned}


class _Checks:
    """The inertness check, run after every view; the names of the views it passed."""

    def __init__(self, page, artifacts_dir):
        self.page, self.artifacts_dir = page, artifacts_dir
        self.dialogs: list[str] = []
        self.views: list[str] = []
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        with contextlib.suppress(Exception):
            dialog.dismiss()

    def inert(self, view: str, screenshot: str | None = None) -> None:
        bad = self.page.evaluate(INERT_JS)
        assert not bad, f"{view}: markup from the catalogue rendered or ran: {bad}"
        assert not self.dialogs, f"{view}: a dialog opened: {self.dialogs}"
        self.views.append(view)
        if screenshot:
            self.page.screenshot(path=str(self.artifacts_dir / f"hostile_{screenshot}.png"), full_page=True)


def _hover_path(page, filter_js: str, shows, what: str) -> None:
    """Move the mouse onto a drawn path the filter picks (one the pointer can reach), until ``shows`` holds
    (a locator whose text must contain something: checked by the caller's expect)."""
    from playwright.sync_api import expect

    point = None
    for _ in range(3):
        page.mouse.move(5, 5)  # off the map first: the move onto the path is a new "mouseover"
        point = page.evaluate(POINT_ON_PATH_JS, [filter_js])
        assert point, f"no {what} on the map to hover; paths: {page.evaluate(PATHS_JS)}"
        page.mouse.move(point[0], point[1], steps=4)
        try:
            expect(shows[0]).to_contain_text(shows[1], timeout=15_000)
            return
        except AssertionError:
            continue
    expect(shows[0]).to_contain_text(shows[1], timeout=15_000)


def test_hostile_catalogue_stays_text(hostile_stack, page, artifacts_dir):
    """Each view is first waited for on text of its own (not the payload), then checked for rendered
    markup, then for the payload shown as text: a view that renders a tag fails at once, with what it
    rendered."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    labels: dict[int, str] = hostile_stack["labels"]
    idp, url = hostile_stack["idp"], hostile_stack["url"]
    checks = _Checks(page, artifacts_dir)
    status = page.locator(".wce-status")
    idle = page.locator(".wce-status [data-status='idle']")

    # --- a link whose query string carries markup: the "ignored ..." lines under the header echo it
    open_dashboard(page, url, query=QUERY, parts=(".leaflet-container",))
    problems = page.locator(".wce-url-problems")
    expect(problems).to_contain_text("ignored access=")
    expect(status).to_contain_text("collections found")  # the status line: counts, inert
    checks.inert("url problems and status line")
    _shows(problems, SHOWN[IMG], SHOWN[SVG], SHOWN[BREAK], view="url problems")

    # --- the results table: both hostile titles
    grid = page.locator(".wce-results-grid")
    expect(grid).to_contain_text(POINTS)
    expect(grid).to_contain_text(SECOND)
    checks.inert("results table", "1_table")
    _shows(grid, SHOWN[IMG] + " onerror=", "rice points", SHOWN[BREAK] + "bold", SHOWN[SCRIPT] + "window.__xss",
           "wheat belt", view="results table")

    # --- the collection details: title, metadata values (links too), crop statistics with legend labels
    page.locator(".wce-open-details", has_text=POINTS).click()
    body = page.locator(".wce-details-body")
    expect(body).to_contain_text("Citation")
    expect(page.locator(".wce-details-title")).to_contain_text(POINTS)
    checks.inert("collection details", "2_details")
    _shows(page.locator(".wce-details-title"), SHOWN[IMG], view="details title")
    _shows(body, "Provider " + SHOWN[IMG], "licence " + SHOWN[SVG], "Cite " + SHOWN[SCRIPT], "method " + SHOWN[BREAK],
           "Description " + SHOWN[SVG], "https://example.org/" + SHOWN[BREAK], "10.1234/" + SHOWN[BREAK],
           *(label for label in labels.values()), view="details body")
    page.locator(".wce-details-close").click()

    # --- the crop picker: a search finds the hostile legend labels; tick two, group one under a typed name
    rice = next(code for code, label in labels.items() if label.startswith(IMG) and label.endswith(" rice"))
    cane = next(code for code, label in labels.items() if label.startswith(SCRIPT))
    page.locator(".wce-crop-search input").fill("xss")
    for code in labels:
        expect(page.locator(f".wce-code-{code} .wce-crop-label")).to_contain_text("(")  # its count
    checks.inert("crop picker search")
    for code, label in labels.items():
        _shows(page.locator(f".wce-code-{code} .wce-crop-label"), label, view=f"crop tree row {code}")
    page.locator(f".wce-code-{cane} .wce-crop-check").click()
    expect(page.locator(".wce-crop-summary")).to_contain_text("1 class selected")
    page.locator(".wce-group-name input").fill(GROUP_NAME)
    page.locator(".wce-group-button").click()
    expect(page.locator(".wce-crop-summary")).to_contain_text("groups: ")
    page.locator(f".wce-code-{rice} .wce-crop-check").click()
    expect(page.locator(".wce-crop-summary")).to_contain_text("2 classes selected")
    expect(page.locator(f".wce-chip-{rice}")).to_contain_text(" rice")
    expect(status).to_contain_text("samples of the selected crop types")
    expect(idle).to_be_visible()
    checks.inert("crop picker ticks, chips and typed group name", "3_picker")
    _shows(page.locator(".wce-crop-summary"), "groups: " + GROUP_NAME, view="crop summary")
    _shows(page.locator(f".wce-code-{cane} .wce-crop-label"), "\u2192 " + GROUP_NAME, view="grouped tree row")
    _shows(page.locator(f".wce-chip-{rice}"), labels[rice], view="chip")

    # --- the fetch preview under the map: what a fetch would bring, per class (legend label / typed group)
    fetch_preview = page.locator(".wce-preview-details")
    expect(fetch_preview).to_contain_text("classes: ")
    checks.inert("fetch preview")
    preview_classes = fetch_preview.inner_text()
    assert labels[rice] in preview_classes or GROUP_NAME in preview_classes, preview_classes

    # --- the counts chart: axis labels (a legend label, the typed group) and a bar's tooltip
    expect(page.locator(".wce-counts-note")).to_contain_text("in 2 crop classes")
    for shown in (SHOWN[IMG], SHOWN[SVG]):  # short_label cuts the labels after 23 characters
        page.wait_for_function("t => [...document.querySelectorAll('.wce-counts .tick text')]"
                               ".some(e => e.textContent.includes(t))", arg=shown)
    page.wait_for_function(f"() => ({BAR_JS})() !== null")
    # bqplot draws the tooltip's row labels first and its values on a later mouse event; under load the
    # first hover can show "crop / samples" with no values, so hover again until a value shows.
    tip_has_class = ("names => [...document.querySelectorAll('.bqplot_tooltip_div')]"
                     ".some(e => names.some(n => e.textContent.includes(n)))")
    for attempt in range(3):
        page.mouse.move(5, 5)
        page.mouse.move(*page.evaluate(BAR_JS), steps=3)
        try:
            page.wait_for_function(tip_has_class, arg=[labels[rice], GROUP_NAME], timeout=WAIT_MS // 3)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    checks.inert("counts chart (axis and tooltip)")
    tip_text = " | ".join(page.locator(".bqplot_tooltip_div").all_text_contents())
    assert labels[rice] in tip_text or GROUP_NAME in tip_text, tip_text
    page.mouse.move(5, 5)

    # --- tick the India collection, fetch its samples: preview, map legend, sample and extent hovers
    ids = [text.strip() for text in page.locator(".wce-results-grid .wce-cell-id").all_inner_texts()]
    page.locator(".wce-row-select input").nth(ids.index(POINTS)).check()
    expect(page.locator(".wce-results-footer")).to_contain_text("1 selected")
    page.locator(".wce-fetch-samples").click()
    expect(status).to_contain_text("samples match your filters")
    preview = page.locator(".wce-samples-preview")
    expect(preview).to_contain_text(POINTS)
    legend_box = page.locator(".leaflet-control-legend")
    expect(legend_box).to_contain_text("Samples")
    checks.inert("samples preview and map legend", "4_samples")
    preview_text = preview.inner_text()
    assert " #" in preview_text and any(shown in preview_text for shown in SHOWN.values()), preview_text  # ids
    assert labels[rice] in preview_text or GROUP_NAME in preview_text, preview_text  # label / new_label
    _shows(legend_box, labels[rice], GROUP_NAME, view="map legend")

    sample_hover = page.locator(".wce-samples-hover")
    _hover_path(page, f"r.width < 14 && r.height < 14 && !{OUTLINE_COLOURS}.includes(e.getAttribute('stroke'))",
                (sample_hover, "\u2014 sample "), "sample")
    checks.inert("sample hover")
    hover_text = sample_hover.inner_text()
    assert " #" in hover_text and any(shown in hover_text for shown in SHOWN.values()), hover_text
    assert labels[rice] in hover_text or GROUP_NAME in hover_text, hover_text
    # the collections' outlines: at this zoom only the India collection's is on the map (ipyleaflet 0.20 lets
    # the layer's style override the per-feature one, so a selected outline is drawn blue, not orange)
    extent_hover = page.locator(".wce-extent-hover")
    _hover_path(page, f"{OUTLINE_COLOURS}.includes(e.getAttribute('stroke')) && r.width > 50", (extent_hover, POINTS),
                "collection extent")
    checks.inert("collection extent hover", "5_hovers")
    _shows(extent_hover, f"collection {POINTS}: {TITLE}", view="extent hover")

    # --- a typed country that matches nothing: the place search echoes it
    page.locator(".wce-place-box input").fill(PLACE)
    page.locator(".wce-place-go").click()
    expect(page.locator(".wce-place-message")).to_contain_text("no country or region named")
    checks.inert("place search message")
    _shows(page.locator(".wce-place-message"), f"no country or region named \u201c{PLACE}\u201d", view="place search")

    # --- served-mode login as a user whose sub and name carry markup: "Logged in as" and the scope note
    page.locator(".wce-access-private input").check()
    page.locator(".wcx-login-widget").wait_for()
    expect(page.locator(".wcx-login-scope")).to_contain_text("stays in this page only")
    link = page.locator("a.wcx-login-link")
    if not link.is_visible():
        page.locator(".wcx-login").click()
    expect(link).to_be_visible()
    checks.inert("served-mode login prompt")
    user_code = page.locator(".wcx-user-code").inner_text()
    assert user_code in idp.pending_user_codes()
    with page.context.expect_page() as new_tab:
        link.click()
    provider = new_tab.value
    provider.wait_for_load_state("domcontentloaded")
    assert provider.locator("#known_user").input_value() == ""
    provider.locator("#sub").fill(LOGIN_SUB)
    provider.locator("#name").fill(LOGIN_NAME)
    provider.locator("#groups").fill("")
    provider.locator("#approve").click()
    expect(provider.locator("#result")).to_contain_text("approved")
    provider.close()
    page.bring_to_front()
    expect(page.locator(".wcx-login-status")).to_contain_text("Logged in as")
    expect(page.locator(".wcx-login-scope")).to_contain_text("stays in this page only")
    expect(idle).to_be_visible()
    checks.inert("served-mode login messages", "6_login")
    expect(page.locator(".wcx-username")).to_have_text(LOGIN_SUB, timeout=5_000)
    _shows(page.locator(".wcx-login-status"), "Logged in as " + LOGIN_SUB, view="login status")

    assert not page.page_errors, page.page_errors
    assert len(checks.views) == 13, checks.views


def _shows(locator, *texts: str, view: str) -> None:
    """Every one of ``texts`` is in the text the element shows (as text: the page was checked inert)."""
    shown = locator.inner_text()
    for text in texts:
        assert text in shown, f"{view}: {text!r} is not shown as text; it shows {shown!r}"
