"""The dashboard (app.py): composition and the fetch button's staleness hint."""

from __future__ import annotations

import threading

from worldcereal_explorer.app import RdmExplorer

SMALL = (3.0, 50.0, 6.0, 52.0)


def test_dashboard_fetch_button_follows_staleness(make_state, tmp_path):
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


def test_dashboard_close_leaves_no_thread(make_state, tmp_path):
    state = make_state(auto_search=True)
    before = set(threading.enumerate())
    explorer = RdmExplorer(state=state, search=True, download_dir=tmp_path)  # a search and the legend start
    state.bbox = SMALL  # and a debounced search is scheduled
    explorer.close()
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert left == []


def _open_widgets() -> int:
    from ipywidgets.widgets.widget import _instances  # every widget not closed yet (ipywidgets 8)

    return len(_instances)


def test_closing_the_dashboard_closes_every_widget_it_made(make_state, tmp_path):
    before = _open_widgets()
    state = make_state(auto_search=False)
    explorer = RdmExplorer(state=state, search=False, download_dir=tmp_path)
    state.bbox = SMALL
    state.refresh()
    state.fetch_samples()
    made = _open_widgets() - before
    explorer.close()
    assert made > 500  # the dashboard is about a thousand widget models
    assert _open_widgets() == before, f"{_open_widgets() - before} of {made} widgets left open"

