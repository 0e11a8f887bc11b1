"""The dashboard's filters in its address, in headless Chromium under Voilà against the local RDM server."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import urlsplit

import pytest

from tests.voila_support import close_page_and_its_kernel

pytestmark = pytest.mark.browser

EUROPE = (-5.0, 40.0, 10.0, 55.0)


def _expected(rdm_url, **inputs):
    """What a state with these inputs finds: its status line and collections (the page must show the same)."""
    from worldcereal_explorer.rdm.client import RdmClient
    from worldcereal_explorer.state import RdmQueryState

    state = RdmQueryState(client=RdmClient(rdm_url, retries=1, legend=f"{rdm_url}/legend.csv"),
                          auto_search=False, **inputs)
    try:
        state.refresh()
        return state.message, [c.id for c in state.collections], state.to_query_string()
    finally:
        state.close()


def _query(page) -> str:
    return urlsplit(page.evaluate("location.href")).query


def test_link_opens_with_its_filters_and_the_address_follows(page, share_voila_url, rdm_url, client, artifacts_dir):
    from playwright.sync_api import expect

    code = sorted(client.get_collections(spatial_extent=EUROPE)[0].ewoc_codes)[0]
    message, ids, canonical = _expected(rdm_url, bbox=EUROPE, ewoc_codes=[code])
    assert ids and canonical == f"bbox=-5,40,10,55&codes={code}"
    page.goto(f"{share_voila_url}/?bbox=-5,40,10,55&codes={code}&bogus=1&min_lc=abc", wait_until="domcontentloaded")
    page.wait_for_selector(".wce-explorer")
    status = page.locator(".wce-status")
    expect(status).to_contain_text(message)  # same filters, same results as the state in Python
    expect(page.locator(".wce-row-select")).to_have_count(len(ids))
    expect(page.locator(".wce-bbox-west input")).to_have_value("-5")
    problems = page.locator(".wce-url-problems")
    expect(problems).to_contain_text("ignored bogus=1: unknown parameter")
    expect(problems).to_contain_text("ignored min_lc=abc")
    expect(page.locator(".wce-data-banner")).to_contain_text("Demo data: a local RDM server")
    expect(page.locator(".wce-share-code textarea")).to_have_value(re.compile(rf"ewoc_codes=\[{code}\]"))
    # the address bar now holds the canonical link (the ignored parameters gone)
    page.wait_for_function("q => location.search === '?' + q", arg=canonical)
    page.screenshot(path=str(artifacts_dir / "share_1_link_opened.png"), full_page=True)

    # change a filter: the address changes with it
    north = page.locator(".wce-bbox-north input")
    north.fill("50")
    north.press("Enter")
    page.wait_for_function("() => location.search.includes('bbox=-5,40,10,50')")
    message2, ids2, _ = _expected(rdm_url, bbox=(-5.0, 40.0, 10.0, 50.0), ewoc_codes=[code])
    expect(status).to_contain_text(message2)
    assert _query(page) == f"bbox=-5,40,10,50&codes={code}"

    # copy link: the clipboard holds the page's address; opening it gives the same filters
    page.locator(".wce-copy-link").click()
    expect(page.locator(".wce-share-message")).to_contain_text("copied to the clipboard")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.evaluate("location.href")
    expect(page.locator(".wce-share-link input")).to_have_value(copied)

    # copy code: the clipboard holds the code shown
    page.locator(".wce-copy-code").click()
    page.wait_for_function("() => navigator.clipboard.readText().then(t => t.includes('get_samples('))")

    # save session: the link's JSON is the state's dictionary
    href = page.locator("a.wce-save-session").get_attribute("href")
    saved = json.loads(base64.b64decode(href.split(",", 1)[1]))
    assert saved["bbox"] == [-5.0, 40.0, 10.0, 50.0] and saved["ewoc_codes"] == [code] and saved["version"] == 1

    page2 = page.context.new_page()
    page2.goto(copied, wait_until="domcontentloaded")
    expect(page2.locator(".wce-status")).to_contain_text(message2)
    expect(page2.locator(".wce-bbox-north input")).to_have_value("50")
    expect(page2.locator(".wce-url-problems")).to_be_hidden()
    close_page_and_its_kernel(page2)
    assert not page.page_errors


def _upload(page, path) -> None:
    with page.expect_file_chooser() as chooser:
        page.locator(".wce-load-session").click()
    chooser.value.set_files(str(path))


def test_load_session_file_in_the_page(page, share_voila_url, rdm_url, tmp_path):
    from playwright.sync_api import expect

    from worldcereal_explorer.state import RdmQueryState

    saved = RdmQueryState(rdm_url, auto_search=False, bbox=EUROPE, min_quality_ct=20)
    path = saved.save(tmp_path / "session.json")
    saved.close()
    message, _, canonical = _expected(rdm_url, bbox=EUROPE, min_quality_ct=20)
    page.goto(f"{share_voila_url}/", wait_until="domcontentloaded")
    page.wait_for_selector(".wce-load-session")
    expect(page.locator(".wce-status [data-status='idle']")).to_be_visible()
    _upload(page, path)
    expect(page.locator(".wce-share-message")).to_contain_text("loaded session.json")
    expect(page.locator(".wce-status")).to_contain_text(message)
    page.wait_for_function("q => location.search === '?' + q", arg=canonical)
    # a broken file: a specific message
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "bbox": [1, 2, 3]}))
    _upload(page, bad)
    expect(page.locator(".wce-share-message")).to_contain_text("bad.json: bbox:")
