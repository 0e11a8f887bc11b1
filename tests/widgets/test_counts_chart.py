"""The crop counts chart (widgets/counts_chart.py) against the local server."""

from __future__ import annotations

import numpy as np

from worldcereal_explorer.widgets.counts_chart import CountsChart

EUROPE = (-5.0, 40.0, 10.0, 55.0)


def test_counts_chart_follows_counts_and_grouping(state):
    chart = CountsChart(state, max_labels=50, max_collections=50)
    assert list(chart.labels) == []
    state.bbox = EUROPE
    state.refresh()
    by_label = state.counts_by_label()
    assert list(chart.labels) == list(by_label.index)
    assert chart.bars.y.shape == (len(by_label.columns), len(by_label))
    assert list(chart.bars.labels) == list(by_label.sum().sort_values(ascending=False).index)
    codes = list(state.counts_by_code())[:2]
    state.grouping = dict.fromkeys(codes, "grouped_label")
    assert "grouped_label" in list(chart.labels)
    chart.mode.value = "grouped"
    assert chart.figure.marks == [chart.grouped_bars]  # drawn side by side by hand, see below


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
