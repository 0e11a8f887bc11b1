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
    # The local RDM server runs in this process too: the worker threads its request handling starts (AnyIO's
    # pool, kept for reuse) are the server's, not the dashboard's.
    left = [t for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith("AnyIO worker thread")]
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



WORLD = (-180.0, -90.0, 180.0, 90.0)


def _use_the_dashboard(state, explorer) -> None:
    """Searches, fetches, map moves, crop ticks, table pages: what a session repeats all day."""
    for bbox in (WORLD, SMALL):
        state.bbox = bbox
        state.refresh()
        state.fetch_samples()
        for zoom in (3, 6):
            explorer.map.map.zoom = zoom
    code = int(state.samples["ewoc_code"].iloc[0])
    state.ewoc_codes = [code]
    state.refresh()
    state.ewoc_codes = []
    state.refresh()
    state.wait_preview()  # sorted by "Matching samples": the same numbers every round, so the same rows
    explorer.table.sort_by("samples")
    explorer.table.go_to(1)


def test_a_long_session_makes_no_new_widgets(make_state, tmp_path):
    # ipywidgets keeps every widget (and the browser its model) until closed: a redraw that makes new
    # table cells, chips or map layers leaks them for the life of the kernel
    state = make_state(auto_search=False)
    explorer = RdmExplorer(state=state, search=False, download_dir=tmp_path)
    try:
        _use_the_dashboard(state, explorer)  # the pools of rows and chips fill up to what is shown
        assert len(state.collections) > 0 and state.samples is not None
        after_first_round = _open_widgets()
        for _ in range(3):
            _use_the_dashboard(state, explorer)
        assert _open_widgets() == after_first_round, (
            f"{_open_widgets() - after_first_round} widgets made by three more rounds of the same work")
    finally:
        explorer.close()


def test_closing_reaches_rows_and_chips_not_shown_right_now(make_state, tmp_path):
    before = _open_widgets()
    state = make_state(auto_search=False)
    explorer = RdmExplorer(state=state, search=False, download_dir=tmp_path)
    state.bbox = WORLD
    state.refresh()
    full_page = len(explorer.table.row_boxes)
    explorer.crop_picker.set_selection(explorer.crop_picker.top_codes[:3])
    state.bbox = SMALL
    state.refresh()
    explorer.crop_picker.set_selection([])
    assert len(explorer.table.row_boxes) < full_page  # some pooled rows are out of the grid
    assert explorer.crop_picker.chip_buttons == {}  # and every chip out of the chip box
    explorer.close()
    assert _open_widgets() == before, f"{_open_widgets() - before} widgets left open"
