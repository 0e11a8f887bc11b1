"""Issue 10.2, 10.3, 10.6: stale results are marked, the chart note counts right, the status line says one thing.

Widgets are driven as in tests/widgets: trait changes and ``.click()`` against the local RDM server; the
chart-note and status cases set the state's outputs directly (no server needed for those).
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.widgets.conftest import make_client
from worldcereal_explorer.errors import BadExtentError
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.widgets._base import STALE_RESULTS_TEXT
from worldcereal_explorer.widgets.counts_chart import CountsChart, chart_note
from worldcereal_explorer.widgets.results_table import ResultsTable
from worldcereal_explorer.widgets.samples_preview import SamplesPreview
from worldcereal_explorer.widgets.status import STALE_NOTE, StatusBar

EUROPE = (-5.0, 40.0, 10.0, 55.0)
SMALL = (3.0, 50.0, 6.0, 52.0)


@pytest.fixture
def make_state(rdm_url):
    made = []

    def factory(**traits):
        traits.setdefault("debounce_s", 0.05)
        state = RdmQueryState(client=make_client(rdm_url), **traits)
        made.append(state)
        return state

    yield factory
    for state in made:
        state.close()


@pytest.fixture
def offline_state():
    """A state that never calls its client (outputs are set by the test)."""
    state = RdmQueryState(endpoint="http://127.0.0.1:9", auto_search=False)
    yield state
    state.close()


def _dimmed(widget) -> bool:
    return "wce-stale-dim" in widget._dom_classes


# --- 10.2 stale results ----------------------------------------------------------------------------------
def test_results_are_marked_stale_until_the_matching_search_applies(make_state):
    state = make_state(auto_search=False)
    table, chart = ResultsTable(state), CountsChart(state)
    state.bbox = EUROPE
    state.refresh()
    assert state.results_stale is False
    assert not _dimmed(table.grid) and not _dimmed(chart.figure)
    assert STALE_RESULTS_TEXT not in table.stale_note.value

    state.bbox = SMALL  # no search yet: what is shown answers EUROPE
    assert state.results_stale is True
    assert _dimmed(table.grid) and _dimmed(chart.figure)
    assert STALE_RESULTS_TEXT in table.stale_note.value and STALE_RESULTS_TEXT in chart.stale_note.value
    assert table.stale_note.layout.display != "none"
    state.refresh()
    assert state.results_stale is False and not _dimmed(table.grid) and not _dimmed(chart.figure)
    assert table.stale_note.layout.display == "none"

    state.bbox = (1, 2, 3)  # invalid input: the search fails, the earlier results stay marked
    with pytest.raises(BadExtentError):
        state.refresh()
    assert state.status == "error" and state.results_stale is True
    assert "failed" in table.stale_note.value


def test_stale_while_a_search_runs_and_after_it_is_cancelled(make_state):
    state = make_state(auto_search=True, debounce_s=5.0)  # long debounce: the search stays pending
    table = ResultsTable(state)
    state.bbox = EUROPE
    assert state.status == "loading" and state.results_stale is True
    assert "searching" in table.stale_note.value
    state.cancel()
    assert state.wait(10)
    assert state.results_stale is True  # cancelled: still the earlier filters' results
    state.search(delay=0)
    assert state.wait(30) and state.status == "idle"
    assert state.results_stale is False and not _dimmed(table.grid)


def test_a_search_landing_after_a_fetch_of_the_same_filters_still_names_the_samples(make_state):
    # Fetch clicked while the search of the new box is still pending: the fetch lands first, and the
    # search's summary must not hide that the samples on the map are there
    state = make_state(auto_search=True, debounce_s=5.0)
    state.bbox = SMALL
    state.fetch_samples(wait=True)
    n = len(state.samples)
    assert n > 0 and state.message.endswith("match your filters")
    state.search(delay=0)
    assert state.wait(30) and state.status == "idle"
    assert "found" in state.message and state.message.endswith(f"; {n:,} samples fetched")
    state.bbox = EUROPE  # the samples answer SMALL now: the next summary does not count them
    state.search(delay=0)
    assert state.wait(30) and state.samples_stale
    assert "found" in state.message and "fetched" not in state.message


def test_samples_preview_is_dimmed_when_samples_are_stale(make_state):
    state = make_state(auto_search=False)
    preview = SamplesPreview(state)
    state.bbox = SMALL
    state.refresh()
    state.fetch_samples()
    assert not preview.stale and not _dimmed(preview.html)
    state.min_quality_lc = 10
    assert preview.stale and _dimmed(preview.html)
    assert STALE_RESULTS_TEXT in preview.stale_note.value


# --- 10.3 chart note --------------------------------------------------------------------------------------
def _counts(n_labels: int, zero_labels: int = 0) -> pd.DataFrame:
    codes = list(range(1000, 1000 + n_labels + zero_labels))
    labels = [f"crop {i}" for i in range(len(codes))]
    values = [100 + i for i in range(n_labels)] + [0] * zero_labels
    index = pd.MultiIndex.from_arrays([codes, labels], names=["ewoc_code", "Label"])
    return pd.DataFrame({"coll_a": values}, index=index)


def test_chart_note_counts_classes_with_samples_and_says_how_many_are_shown(offline_state):
    chart = CountsChart(offline_state, max_labels=15)
    offline_state.counts = _counts(37, zero_labels=3)
    text = chart.note.value
    assert "in 37 crop classes (top 14 shown)" in text  # 14 bars + "other crops"; the 3 empty classes not counted
    assert len(chart.labels) == 15 and chart.labels[-1] == "other crops"
    offline_state.counts = _counts(1, zero_labels=2)
    assert "100 samples in 1 crop class" in chart.note.value and "top" not in chart.note.value
    assert "classes" not in chart.note.value
    assert chart_note(1, 1, 1) == "1 sample in 1 crop class"
    assert chart_note(2500, 15, 15) == "2,500 samples in 15 crop classes"


# --- 10.6 status line --------------------------------------------------------------------------------------
def test_status_shows_one_message_at_a_time(offline_state):
    status = StatusBar(offline_state)
    state = offline_state
    state.samples = pd.DataFrame({"a": [1]})
    state.samples_stale = True
    state.message = "3 collections found"
    assert STALE_NOTE in status.label.value and "3 collections found" not in status.label.value
    state.status = "loading"
    state.message = "fetching samples\u2026"
    assert "fetching samples" in status.label.value
    assert STALE_NOTE not in status.label.value and "&#9888;" not in status.label.value
    state.status = "error"
    state.message = "the RDM did not answer"
    assert status.kind == "error" and STALE_NOTE not in status.label.value


def test_cancelled_has_a_neutral_mark(offline_state):
    status = StatusBar(offline_state)
    offline_state.status = "loading"
    offline_state.message = "searching collections\u2026"
    offline_state.message = "cancelled"  # what cancel() leaves after a running query
    offline_state.status = "idle"
    assert status.kind == "cancelled"
    assert "&#10003;" not in status.label.value and "cancelled" in status.label.value
    assert "data-kind='cancelled'" in status.label.value


def test_progress_bar_shows_collections_done_and_never_a_bare_zero(offline_state):
    status = StatusBar(offline_state)
    state = offline_state
    state.status = "loading"
    state.message = "searching collections\u2026"
    assert status.progress.layout.visibility == "hidden"  # a search has no numbers: no bar
    state.message = "fetching samples\u2026"
    assert status.progress.layout.visibility == "hidden" and status.progress_text.value == ""
    state.progress_total, state.progress_done, state.progress = 14, 3, 3 / 14
    assert status.progress.layout.visibility == "visible"
    assert status.progress_text.value == "3/14 collections"
    state.status = "idle"
    assert status.progress.layout.visibility == "hidden"


def test_a_real_fetch_reports_collections_done_of_total(make_state):
    state = make_state(auto_search=False)
    seen = []
    state.observe(lambda ch: seen.append((state.progress_done, state.progress_total)), "progress_done")
    state.bbox = EUROPE
    n = len(state.refresh())
    state.fetch_samples()
    assert n > 1 and seen
    assert seen[-1] == (n, n) and all(0 <= d <= t == n for d, t in seen)
