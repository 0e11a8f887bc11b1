"""Issue 27.2: one number per meaning.

Every count the dashboard shows is either *matching your filters* (every filter applied: area, dates, crop
types, access, quality, subset, the ticked collections) or *in the whole collection*, and says which where it
stands. For 20 filter combinations on the demo catalogue (the issue's query, then 19 from a seeded RNG), the
widgets are driven from Python against the local RDM server as the dashboard composes them (``auto_preview``
on, as the preview panel sets it), and every filtered count on screen (status, table, chart, estimate, preview
details, fetched-samples summary, the saved file) must equal what a fetch then returns, exactly; the whole-collection ones
(status summary, crop tree, table's "Whole collection") must say so and equal the code statistics.
"""

from __future__ import annotations

import html
import random
import re

import geopandas as gpd
import pandas as pd
import pytest

from tests.widgets.conftest import make_client
from worldcereal_explorer.demo.codes import MAIZE, SPRING_WHEAT, SUNFLOWER, WINTER_WHEAT
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.state.counts import whole_collection_totals
from worldcereal_explorer.widgets.counts_chart import CountsChart
from worldcereal_explorer.widgets.crop_picker import CropTypePicker
from worldcereal_explorer.widgets.preview_panel import PreviewPanel
from worldcereal_explorer.widgets.results_table import ResultsTable
from worldcereal_explorer.widgets.samples_preview import SamplesPreview
from worldcereal_explorer.widgets.status import StatusBar

SEED = 272
#: The query of the issue: winter wheat, spring wheat, maize, sunflower; min CT quality 80.
ISSUE_BOX = (-25.0, 34.0, 45.0, 72.0)
BOXES = [None, ISSUE_BOX, (3.0, 50.0, 6.0, 52.0), (-10.0, 35.0, 30.0, 60.0), (25.0, -5.0, 42.0, 5.0),
         (-20.0, -40.0, 55.0, 38.0), (-130.0, 20.0, -60.0, 55.0)]
ISSUE_CROPS = (WINTER_WHEAT, SPRING_WHEAT, MAIZE, SUNFLOWER)


@pytest.fixture(scope="module")
def dashboard(rdm_url):
    """The counting widgets on one state, as the dashboard has them (the preview on), closed afterwards."""
    state = RdmQueryState(client=make_client(rdm_url), auto_search=False, debounce_s=0.0)
    assert state.load_legend(wait=True) is not None
    widgets = {"status": StatusBar(state), "table": ResultsTable(state, page_size=100), "chart": CountsChart(state),
               "panel": PreviewPanel(state, top=100), "samples": SamplesPreview(state), "tree": CropTypePicker(state)}
    yield state, widgets
    for widget in widgets.values():
        widget.close()
    state.close()


def _ticked(legend, codes) -> list[int]:
    """The codes ticking ``codes`` in the crop tree filters on: each with its sub-classes."""
    tree = legend.tree()
    return sorted({int(c) for code in codes for c in tree.find(code).descendant_codes()})


def _combos(state) -> list[dict]:
    """The issue's query, then 19 combinations over crop codes, box, dates, quality, subset and access."""
    state.refresh()  # every collection: the codes the catalogue holds
    held = sorted(int(c) for c in state.class_counts.index.get_level_values(0).unique())
    rng = random.Random(SEED)
    combos = [dict(ewoc_codes=_ticked(state.legend, ISSUE_CROPS), bbox=ISSUE_BOX, start_date="2020-01-01",
                   end_date="2023-12-31", min_quality_ct=80)]
    while len(combos) < 20:
        combo: dict = {"ewoc_codes": rng.sample(held, rng.choice([0, 1, 2, 4, 6])), "bbox": rng.choice(BOXES),
                       "min_quality_lc": rng.choice([0, 0, 60, 85]), "min_quality_ct": rng.choice([0, 50, 80, 90]),
                       "subset": rng.random() < 0.3, "include_private": rng.random() < 0.3,
                       "tick_first": len(combos) % 4 == 3}
        if rng.random() < 0.6:
            start = rng.randint(2018, 2022)  # the demo catalogue holds 2019-2022
            combo.update(start_date=f"{start}-01-01", end_date=f"{rng.randint(start, 2023)}-12-31")
        combos.append(combo)
    return combos


def _text(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", value))


def _number(text: str) -> int:
    return int(re.search(r"([\d,]+) samples?", text).group(1).replace(",", ""))


def _apply(state, combo: dict) -> None:
    defaults = dict(ewoc_codes=[], bbox=None, start_date=None, end_date=None, min_quality_lc=0, min_quality_ct=0,
                    subset=False, include_private=False, selected_ids=[])
    for name, value in {**defaults, **combo}.items():
        setattr(state, name, value)


def _check_one(state, widgets, combo, folder) -> dict:
    _apply(state, combo)
    state.refresh()
    if combo.get("tick_first") and len(state.collections) > 1:
        state.selected_ids = [state.collections[0].id]  # the ticked collections are a filter too
    assert state.wait_preview(60) and state.preview_status == "ready", state.preview_message
    table, chart, panel = widgets["table"], widgets["chart"], widgets["panel"]

    # --- whole-collection numbers: labelled so, equal to the code statistics
    # (the status bar shows it until samples exist; then "filters changed — press Fetch samples")
    assert "in the whole collections" in state.message
    whole = whole_collection_totals(state.class_counts, state.collections)
    assert {c.id: table.whole_total(c.id) for c in table.rows} == {c.id: whole[c.id] for c in state.collections}
    assert "in the whole collection" in table.sort_buttons["total"].tooltip
    tree = widgets["tree"]
    assert "whole collections" in tree.counts_note.value
    by_code = state.counts_by_code(unfiltered=True)
    for code in tree.top_codes[:5]:
        shown = re.search(r"\(([\d,]+)\)", _text(tree.row(code).label.value))
        expected = sum(by_code.get(c, 0) for c in tree.subtree_codes(code))
        assert shown is not None and int(shown.group(1).replace(",", "")) == expected

    # --- what the page shows as matching, read before fetching
    shown = {
        "estimate": _number(_text(panel.line.value)),
        "table": sum(n for c in table.rows if (n := table.sample_total(c.id)) is not None),
        "table footer": _number(_text(table.footer.value).split("\u00b7")[-1]) if state.collections else 0,
        "chart": _number(_text(chart.note.value)) if "no samples" not in chart.note.value else 0,
    }
    per_collection = {c.id: table.sample_total(c.id) for c in table.rows}
    cells = {c.id: _text(cell.value) for c, cell in zip(table.rows, table.cells("samples"), strict=True)}
    assert all("matching your filters" in table.cell_tooltip("samples") for _ in cells)
    chart_bars = dict(zip(chart.labels, pd.DataFrame(chart.bars.y).sum(axis=0), strict=False)) if len(chart.labels) \
        else {}
    assert chart.meaning == "matching" and "match your filters" in _text(chart.note.value)
    by_class = {int(code): int(n) for code, _label, n in state.preview_by_class().itertuples(index=False)}
    details = _text(panel.details.value)

    samples = state.fetch_samples()
    n = len(samples)
    fetched = {key: value for key, value in shown.items() if value != n}
    assert not fetched, f"{combo}: shown {shown}, a fetch returned {n}"
    got = samples["ref_id"].value_counts().to_dict() if n else {}
    assert {k: v for k, v in per_collection.items() if v} == got
    for ref_id, text in cells.items():
        assert text == f"{got.get(ref_id, 0):,}" or (text == "\u2013" and ref_id not in state.selected_ids)
    by_label = samples["new_label"].value_counts().to_dict() if n else {}
    assert {k: int(v) for k, v in chart_bars.items()} == {str(k): v for k, v in by_label.items()} or \
        len(by_label) > chart.max_labels
    assert by_class == ({int(k): v for k, v in samples["ewoc_code"].value_counts().items()} if n else {})
    for code, count in by_class.items():
        assert f"{count:,}" in details, (code, details)
    # after the fetch: the status line and the samples summary are the fetch's own number
    assert _text(widgets["status"].label.value).endswith(f"{n:,} sample{'s' if n != 1 else ''} match your filters")
    if n:
        assert f"{n:,} samples fetched" in _text(widgets["samples"].html.value)
        # "Save samples" writes those rows (the issue's saved file held the estimate's number: it must)
        saved = gpd.read_parquet(state.export_samples(folder / str(len(list(folder.iterdir())))))
        assert len(saved) == n
    return {"samples": n, "collections": len(state.collections), "ticked": len(state.selected_ids), **shown}


def test_every_filtered_count_shown_is_what_a_fetch_returns(dashboard, artifacts_dir, tmp_path):
    state, widgets = dashboard
    combos = _combos(state)
    rows = [{"combo": i, **_check_one(state, widgets, combo, tmp_path), "filters": combo}
            for i, combo in enumerate(combos)]
    report = pd.DataFrame(rows)
    (artifacts_dir / "one_number_27_2.txt").write_text(report.to_string(index=False) + "\n")
    assert rows[0]["samples"] > 0 and sum(r["samples"] > 0 for r in rows) >= 12  # not 20 empty answers
    assert len({r["samples"] for r in rows}) >= 10
    assert any(r["ticked"] for r in rows)  # the ticked collections were a filter at least once


def test_before_the_preview_no_number_says_it_matches(rdm_url):
    """Without a preview for the current filters the table and the chart show whole-collection numbers only,
    labelled so; the matching column waits ("…" while counting, "–" with the preview off)."""
    state = RdmQueryState(client=make_client(rdm_url), auto_search=False, debounce_s=0.0)
    table, chart = ResultsTable(state, page_size=100), CountsChart(state)
    try:
        state.bbox = ISSUE_BOX
        state.min_quality_ct = 80
        state.refresh()
        assert state.preview_status == "off" and not state.matching_ready
        assert chart.meaning == "whole" and "in the whole collections" in _text(chart.note.value)
        assert "whole collections" in chart.figure.title
        assert {_text(cell.value) for cell in table.cells("samples")} == {"\u2013"}
        assert "not counted yet" in table.sort_buttons["samples"].tooltip
        assert "match your filters" not in table.footer.value
        state.preview(wait=True)
        assert chart.meaning == "matching" and "matching your filters" in chart.figure.title
        state.min_quality_ct = 90  # a sample filter changed: the preview's numbers no longer answer it
        assert not state.matching_ready and chart.meaning == "whole"
        assert {_text(cell.value) for cell in table.cells("samples")} == {"\u2013"}
    finally:
        table.close()
        chart.close()
        state.close()
