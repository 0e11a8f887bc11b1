"""The "Training set" panel under the dashboard in a real Voilà page (headless Chromium), against the demo RDM.

The page is a small notebook of the test's own showing :class:`RdmExplorer`, whose "Training set" panel sits
under the samples. Expected numbers come from the training functions run in the test on samples read straight from the server.
"""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from tests.voila_support import dashboard_env, open_dashboard, serve_voila

pytestmark = pytest.mark.browser

PRAIRIE = "2021_can_prairiedemo_poly_110"
CROPWATCH = "2021_can_cropwatchdemo_poly_110"

NOTEBOOK_SOURCE = """\
from worldcereal_explorer import RdmExplorer

app = RdmExplorer()
display(app)
"""


@pytest.fixture
def training_voila_url(rdm_url, tmp_path):
    notebook = tmp_path / "training.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK_SOURCE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebook)
    with serve_voila(notebook, dashboard_env(rdm_url), tmp_path) as url:
        yield url


def test_training_panel_in_the_dashboard(page, training_voila_url, rdm_url, artifacts_dir, tmp_path):
    from playwright.sync_api import expect

    from worldcereal_explorer.rdm.client import RdmClient
    from worldcereal_explorer.training import deduplicate, read_card

    with RdmClient(rdm_url, retries=2, backoff_factor=0.01) as rdm:
        expected = rdm.get_samples(progress=False)
    _, report = deduplicate(expected, 10.0)
    pair = report.pairs.set_index(["kept_ref_id", "duplicate_ref_id"])["count"]

    open_dashboard(page, training_voila_url, parts=(), found=True)
    panel = page.locator(".wce-training")
    expect(panel).to_be_visible()
    expect(panel.locator(".wce-training-status")).to_contain_text("fetch samples first")
    expect(page.locator(".wce-status")).to_contain_text("collections found")
    page.locator(".wce-fetch-samples").click()

    status = panel.locator(".wce-training-status")
    expect(status).to_contain_text(f"training set: {len(expected) - report.n_duplicates:,} samples")
    dedup = panel.locator(".wce-training-dedup")
    for (kept, duplicate), count in pair.items():
        row = dedup.locator(f"tr[data-kept='{kept}'][data-duplicate='{duplicate}']")
        expect(row).to_have_attribute("data-count", str(count))
        expect(row).to_contain_text(f"{count:,}")
    assert {PRAIRIE, CROPWATCH} <= set(pair.index.get_level_values(0))
    page.wait_for_function(
        "n => document.querySelectorAll('.wce-training-balance rect.bar').length >= n", arg=2, polling=200)

    # the season window across the year end: what it would remove, before applying it
    panel.locator(".wce-training-season-start select").select_option(label="Nov")
    panel.locator(".wce-training-season-end select").select_option(label="Mar")
    months = pd.to_datetime(expected["valid_time"]).dt.month
    outside = int((~months.isin([11, 12, 1, 2, 3])).sum())
    season = panel.locator(".wce-training-season-preview")
    expect(season).to_contain_text(f"Nov\u2013Mar (11-03) would remove {outside:,} of {len(expected):,} samples")
    expect(status).to_contain_text(f"training set: {len(expected) - report.n_duplicates:,} samples")  # not applied

    panel.locator(".wce-training-season-start select").select_option(label="Jan")
    panel.locator(".wce-training-season-end select").select_option(label="Dec")
    expect(season).to_contain_text("would remove 0 of")
    panel.locator(".wce-training-export").click()
    links = panel.locator("a.wce-training-link")
    expect(links).to_have_count(3)
    with page.expect_download() as info:
        links.first.click()
    download = info.value
    assert download.failure() is None and download.suggested_filename.endswith(".parquet")
    download.save_as(str(tmp_path / "train.parquet"))
    card = read_card(tmp_path / "train.parquet")
    assert card is not None and card.data["n_samples"] == len(expected) - report.n_duplicates
    flags = {r["id"]: r["flags"] for r in card.data["restricted_licences"]}
    assert flags[PRAIRIE] == ["non-commercial"] and flags[CROPWATCH] == ["share-alike"]
    expect(panel.locator(".wce-training-licences")).to_contain_text(PRAIRIE)
    page.screenshot(path=str(artifacts_dir / "training_panel.png"), full_page=True)
    assert not page.page_errors
