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
