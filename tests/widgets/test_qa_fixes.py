"""Regression tests for the explorer QA pass: grouped bars, honest headline counts, crop tree counts
independent of the selection, idempotent close, stale samples, header widths and the harmonization button.

Everything runs against the local RDM server over HTTP; expected numbers come from an RdmClient asking
the same server directly.
"""

from __future__ import annotations

import dataclasses
import gc
import warnings

import numpy as np
import pytest

from worldcereal_explorer.state import search_summary
from worldcereal_explorer.widgets.bbox_map import BBoxMap
from worldcereal_explorer.widgets.counts_chart import CountsChart
from worldcereal_explorer.widgets.crop_picker import CropTypePicker
from worldcereal_explorer.widgets.date_range import DateRangePicker
from worldcereal_explorer.widgets.download_panel import DownloadPanel
from worldcereal_explorer.widgets.privacy import PrivacyToggle
from worldcereal_explorer.widgets.quality import QualityFilter
from worldcereal_explorer.widgets.results_table import COLUMNS, ResultsTable, header_width
from worldcereal_explorer.widgets.samples_layer import SamplesLayer
from worldcereal_explorer.widgets.samples_preview import SamplesPreview
from worldcereal_explorer.widgets.status import STALE_NOTE, StatusBar
from worldcereal_explorer.widgets.subset import SubsetToggle

EUROPE = (-5.0, 40.0, 10.0, 55.0)
SMALL = (3.0, 50.0, 6.0, 52.0)


# --- 1. grouped bars ------------------------------------------------------------------------------------
def test_grouped_mode_lays_bars_side_by_side(state):
    chart = CountsChart(state, max_labels=50, max_collections=50, mode="grouped")
    state.bbox = EUROPE
    state.refresh()
    frame = state.counts_by_label()
    n_crops, n_coll = frame.shape
    assert n_coll > 1  # otherwise "side by side" proves nothing
    assert chart.figure.marks == [chart.grouped_bars]
    bars = chart.grouped_bars
    # one slot per (crop, collection) plus an empty slot between crops, every key distinct
    assert len(bars.x) == n_crops * n_coll + (n_crops - 1) == len(set(bars.x))
    assert bars.y.ndim == 1  # a single series: bqplot's broken type="grouped" is never used
    assert bars.type == "stacked"
    heights = np.asarray(bars.y)
    assert int((heights > 0).sum()) == int((frame.to_numpy() > 0).sum())
    assert heights.sum() == frame.to_numpy().sum()
    # each crop's bars carry the collections' colours in the legend's order
    first = [k for k in bars.x if k.startswith(f"{frame.index[0]} \u00b7 ")]
    assert [bars.colors[list(bars.x).index(k)] for k in first] == list(chart.bars.colors[:n_coll])
    # the axis names each crop once, under its group
    labelled = [v for v in chart.figure.axes[0].tick_labels.values() if v]
    assert labelled == [str(c) for c in frame.index]
    chart.mode.value = "stacked"
    assert chart.figure.marks == [chart.bars] and chart.figure.axes[0].scale is chart.bars.scales["x"]


# --- 2. headline counts say what they are ------------------------------------------------------------
def test_status_and_table_agree_on_collection_totals(state, client):
    status, table = StatusBar(state), ResultsTable(state, page_size=50)
    state.bbox = SMALL
    found = state.refresh()
    ids = [c.id for c in found]
    expected = client.get_crop_counts(ids)
    totals = state.collection_totals()
    assert totals == {i: int(expected[i].sum()) for i in ids}
    total = sum(totals.values())
    assert state.message == search_summary(len(ids), total, filtered=False)
    assert "in total in those collections" in status.label.value
    samples = state.fetch_samples()
    assert len(samples) < total  # the bbox holds fewer samples than the collections: the point of the wording
    assert state.message == f"{len(samples):,} samples match your filters"
    assert table.sort_buttons["samples"].description.startswith("Total samples")
    assert "whole-collection totals" in table.sort_buttons["samples"].tooltip

    # with crop codes: the totals of the selected codes in the collections holding them, everywhere
    code = int(expected.sum(axis=1).idxmax()[0])
    state.ewoc_codes = [code]
    with_code = state.refresh()
    assert sorted(c.id for c in with_code) == sorted(c.id for c in client.get_collections(
        spatial_extent=SMALL, ewoc_codes=[code]))
    code_totals = {i: int(expected.loc[code, i].sum()) for i in (c.id for c in with_code)}
    assert state.collection_totals() == code_totals
    assert state.message == search_summary(len(with_code), sum(code_totals.values()), filtered=True)
    assert "of the selected crop types" in state.message
    shown = {c.id: cell.value for c, cell in zip(
        table.rows, [x for x in table.grid.children if "wce-cell-samples" in x._dom_classes], strict=True)}
    for ref_id, n in code_totals.items():
        assert shown[ref_id].endswith(f">{n:,}</span>")


# --- 3. the crop tree counts every class, whatever is ticked -----------------------------------------------
def test_crop_tree_counts_ignore_the_selection(state, client):
    state.bbox = EUROPE
    state.refresh()
    picker = CropTypePicker(state)
    unfiltered = state.counts_by_code()
    present = sorted(unfiltered, key=unfiltered.get, reverse=True)
    ticked = present[0]
    other = next(c for c in present if c not in picker.subtree_codes(ticked)
                 and ticked not in picker.subtree_codes(c))

    def subtree_total(code):
        return sum(unfiltered.get(c, 0) for c in picker.subtree_codes(code))

    assert subtree_total(other) > 0 and subtree_total(ticked) > 0
    picker.expand_to(ticked)
    picker.expand_to(other)
    picker._rows[ticked].check.click()
    state.refresh()
    assert f"({subtree_total(other):,})" in picker._rows[other].label.value  # was "(0)"
    assert f"({subtree_total(ticked):,})" in picker._rows[ticked].label.value
    assert state.counts_by_code(unfiltered=True) == unfiltered
    assert set(state.counts_by_code()) <= picker.subtree_codes(ticked)


def test_one_code_statistics_request_per_collection(make_state, rdm_server, client):
    state = make_state(auto_search=False)
    state.bbox = EUROPE
    in_area = [c.id for c in client.get_collections(spatial_extent=EUROPE)]
    state.ewoc_codes = [int(client.get_crop_counts(in_area).sum(axis=1).idxmax()[0])]
    stats = rdm_server.app.state.stats

    def codestats_requests():
        return sum(v.get("requests", 0) for k, v in stats.snapshot()["by_path"].items() if "codestats" in k)

    before = codestats_requests()
    state.refresh()
    # the filtered view is derived from the unfiltered statistics: at most one request per collection
    assert codestats_requests() - before <= len(in_area)
    assert state.class_counts.shape[1] == len(in_area) >= len(state.collections)


def test_ticking_crops_reuses_the_unfiltered_search(make_state, rdm_server, client):
    state = make_state(auto_search=True)
    state.bbox = EUROPE
    assert state.wait(30) and state.collections
    stats = rdm_server.app.state.stats

    def requests():
        return sum(v.get("requests", 0) for v in stats.snapshot()["by_path"].values())

    before = requests()
    code = int(next(iter(state.counts_by_code())))
    state.ewoc_codes = [code]
    assert state.wait(30)
    assert requests() == before  # derived from the last unfiltered search: no request at all
    assert sorted(c.id for c in state.collections) == sorted(
        c.id for c in client.get_collections(spatial_extent=EUROPE, ewoc_codes=[code]))
    assert list(state.counts.index.get_level_values(0)) == [code]
    state.refresh()  # an explicit search asks the RDM again
    assert requests() > before


# --- 4. close is idempotent ------------------------------------------------------------------------------
@pytest.mark.parametrize("factory", [
    PrivacyToggle, QualityFilter, SubsetToggle, StatusBar, DateRangePicker, ResultsTable, CountsChart,
    SamplesPreview, SamplesLayer, DownloadPanel, BBoxMap, CropTypePicker,
], ids=lambda f: f.__name__)
def test_close_twice_and_garbage_collection(state, factory):
    widget = factory(state)
    widget.close()
    widget.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pytest turns "Exception ignored in __del__" into a warning
        widget.__del__()
        del widget
        gc.collect()
    state.min_quality_lc = 10  # the state still works without the closed widget listening


# --- 5. stale samples --------------------------------------------------------------------------------------
@pytest.mark.parametrize("change", [
    ("min_quality_lc", 30), ("subset", True), ("bbox", (3.0, 50.0, 5.0, 52.0)), ("selected_ids", "first"),
    ("ewoc_codes", "first"),
])
def test_changed_filters_mark_samples_stale(state, change):
    status, layer = StatusBar(state), SamplesLayer(state)
    state.bbox = SMALL
    state.refresh()
    samples = state.fetch_samples()
    assert not state.samples_stale and STALE_NOTE not in status.label.value
    opacity = layer.group.layers[0].style["fillOpacity"]
    name, value = change
    if value == "first":
        value = [state.collections[0].id] if name == "selected_ids" else [int(samples["ewoc_code"].iloc[0])]
    setattr(state, name, value)
    assert state.samples_stale
    assert STALE_NOTE in status.label.value
    assert STALE_NOTE in layer.info.value and "dimmed" in layer.info.value
    assert layer.group.layers[0].style["fillOpacity"] < opacity  # still drawn, dimmed
    assert layer.n_drawn > 0
    state.refresh()
    assert STALE_NOTE in status.label.value  # a new collection search does not make old samples current
    state.fetch_samples()
    assert not state.samples_stale and STALE_NOTE not in status.label.value
    assert STALE_NOTE not in layer.info.value
    assert layer.group.layers[0].style["fillOpacity"] == opacity


def test_filter_changed_during_a_fetch_leaves_the_samples_stale(make_state, slow_server):
    state = make_state(slow_server.url, auto_search=False)
    state.bbox = SMALL
    state.refresh()
    state.fetch_samples(wait=False)
    assert state.wait_for(lambda: state.queries_started["samples"] == 1, timeout=30)
    state.min_quality_ct = 50  # while the (0.3 s per request) sample query runs with the old value
    assert state.wait(60)
    assert state.samples is not None and state.samples_stale


def test_dashboard_fetch_button_follows_staleness(make_state, tmp_path):
    from worldcereal_explorer.app import RdmExplorer

    state = make_state(auto_search=False)
    explorer = RdmExplorer(state=state, search=False, download_dir=tmp_path)
    try:
        state.bbox = SMALL
        state.refresh()
        state.fetch_samples()
        assert explorer.fetch_button.button_style == "success"
        state.subset = True
        assert explorer.fetch_button.button_style == "warning" and "fetch them again" in explorer.fetch_button.tooltip
        state.fetch_samples()
        assert explorer.fetch_button.button_style == "success"
    finally:
        explorer.close()
        explorer.close()  # closing twice is harmless


def test_grouping_does_not_make_samples_stale(state):
    state.bbox = SMALL
    state.refresh()
    samples = state.fetch_samples()
    state.grouping = {int(samples["ewoc_code"].iloc[0]): "mine"}
    assert not state.samples_stale


# --- 6. table headers fit -------------------------------------------------------------------------------
def test_fixed_columns_fit_their_header_and_sort_arrow(state):
    table = ResultsTable(state)
    widths = table.grid.layout.grid_template_columns.split(" ", 1)[1]
    fixed = [(header, int(css[:-2])) for (_k, header, *_), css in zip(COLUMNS, _columns(widths), strict=True)
             if css.endswith("px")]
    assert fixed and all(width >= header_width(header) for header, width in fixed)
    assert ("Total samples", header_width("Total samples")) in fixed or any(
        h == "Total samples" and wd >= header_width(h) for h, wd in fixed)


def _columns(template: str) -> list[str]:
    """Split a grid template on top-level spaces (``minmax(a, b)`` holds one)."""
    out, depth, current = [], 0, ""
    for char in template:
        depth += char == "("
        depth -= char == ")"
        if char == " " and depth == 0:
            out.append(current)
            current = ""
        else:
            current += char
    return [*out, current] if current else out


# --- the harmonization PDF exists for public collections only ------------------------------------------------
def test_pdf_button_disabled_for_non_public_collections(state):
    panel = DownloadPanel(state)
    state.refresh()
    public = next(c for c in state.collections if c.is_public)
    assert not panel.pdf_button.disabled
    # A private collection as a logged-in search returns it (the demo server lists those only with a token).
    private = dataclasses.replace(public, id=public.id + "_private", access_type="Private")
    state.collections = [*state.collections, private]
    panel.collection.value = private.id
    assert panel.pdf_button.disabled and not panel.metadata_button.disabled
    assert "only public collections" in panel.pdf_button.tooltip and private.id in panel.pdf_button.tooltip
    panel.collection.value = public.id
    assert not panel.pdf_button.disabled
