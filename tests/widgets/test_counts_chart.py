"""The crop counts chart (widgets/counts_chart.py) against the local server."""

from __future__ import annotations

import numpy as np

from worldcereal_explorer.widgets.counts_chart import (
    MAX_TICK_CHARS,
    MIN_SLOTS,
    CountsChart,
    label_margins,
    short_label,
)

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
    assert labelled == [short_label(str(c)) for c in frame.index]
    chart.mode.value = "stacked"
    assert chart.figure.marks == [chart.bars] and chart.figure.axes[0].scale is chart.bars.scales["x"]


def test_axis_labels_are_short_and_fit_the_margins(state):
    """Long crop names are shortened on the axis (never in the data or the tooltip), and the figure's margins
    follow the labels: deep enough below for the longest, wide enough on the left for the first."""
    chart = CountsChart(state, max_labels=50)
    state.bbox = EUROPE
    state.refresh()
    labels = list(chart.bars.x)
    long = [label for label in labels if len(label) > MAX_TICK_CHARS]
    assert long  # otherwise shortening proves nothing
    shown = chart.figure.axes[0].tick_labels
    assert all(shown[label] == short_label(label) and len(shown[label]) == MAX_TICK_CHARS for label in long)
    assert set(labels) <= set(shown)  # every bar keeps its whole name as its key (tooltip, selection)
    margins = chart.figure.fig_margin
    assert margins == label_margins(labels)
    assert label_margins(["maize"])["bottom"] < margins["bottom"] <= 170
    assert label_margins(["unspecified_winter_wheat", "maize"])["left"] > label_margins(["maize", "x" * 24])["left"]


def test_a_few_bars_keep_the_width_of_a_bar_among_many(state):
    """One or two crops no longer stretch across the chart: empty, unlabelled slots either side."""
    chart = CountsChart(state, max_labels=1)
    state.bbox = EUROPE
    state.refresh()
    domain = list(chart.bars.scales["x"].domain)
    assert len(chart.bars.x) == 1 and len(domain) == MIN_SLOTS
    (only,) = chart.bars.x
    assert domain.index(only) == (MIN_SLOTS - 1) // 2  # in the middle
    assert [chart.figure.axes[0].tick_labels[k] for k in domain if k != only] == [""] * (MIN_SLOTS - 1)
    many = CountsChart(state, max_labels=50)
    assert list(many.bars.scales["x"].domain) == list(many.bars.x)  # enough crops: no empty slot


def test_new_crops_relabel_the_same_axis(state):
    """The crop axis is one model for the chart's lifetime: new labels go on it (no axis made or closed per
    update, which would race the browser still drawing the old one), and its scale always has an explicit
    domain (an axis whose scale goes back to the marks' own domain keeps drawing the old ticks)."""
    chart = CountsChart(state)
    axis = chart.figure.axes[0]
    state.bbox = EUROPE
    state.refresh()
    europe = dict(axis.tick_labels)
    state.bbox = (3.0, 50.0, 6.0, 52.0)  # other collections, other crops: other labels
    state.refresh()
    assert chart.figure.axes[0] is axis and axis.comm is not None
    domain = chart.bars.scales["x"].domain
    assert domain and set(axis.tick_labels) == set(domain) and axis.tick_labels != europe
    assert all(axis.tick_labels[label] == short_label(label) for label in chart.labels)
    state.bbox = EUROPE
    state.refresh()
    assert axis.tick_labels == europe and chart.bars.scales["x"].domain


def test_empty_counts_leave_no_crop_name_on_the_axis(state):
    """Counts going empty (a crop no collection holds): unlabelled slots on an explicit domain, since an
    axis whose scale goes back to the marks' own domain keeps drawing the old names (bqplot 0.13)."""
    from worldcereal_explorer.state import counts as _counts

    chart = CountsChart(state)
    state.bbox = EUROPE
    state.refresh()
    assert any(chart.figure.axes[0].tick_labels.values())
    state.counts = _counts.empty_counts()
    for bars, axis in ((chart.bars, chart.figure.axes[0]), (chart.grouped_bars, chart._grouped_axis)):
        domain = list(bars.scales["x"].domain)
        assert list(bars.x) == [] and domain and set(axis.tick_labels) == set(domain)
        assert not any(axis.tick_labels.values())
    assert "no samples in the whole collections" in chart.note.value  # no preview: whole-collection numbers
