"""The results table (widgets/results_table.py) against the local server."""

from __future__ import annotations

from worldcereal_explorer.state.counts import whole_collection_totals
from worldcereal_explorer.widgets.results_table import COLUMNS, ResultsTable, header_width


def test_results_table_sort_and_select(state):
    table = ResultsTable(state, page_size=50)
    state.refresh()
    ids = [c.id for c in table.rows]
    assert ids == sorted(ids)
    table.sort_buttons["total"].click()
    totals = whole_collection_totals(state.class_counts, state.collections)
    counts = [totals[c.id] for c in table.rows]
    assert counts == sorted(counts, reverse=True)
    shown = [cell.value for cell in table.cells("total")]
    assert len(shown) == len(ids)
    assert shown[0].startswith(f"<span title='{counts[0]:,} (in the whole collection")
    assert shown[0].endswith(f">{counts[0]:,}</span>")
    # no preview: the matching column has no number, and says why
    assert {cell.value.rsplit(">", 2)[-2][:-6] for cell in table.cells("samples")} == {"\u2013"}
    assert "not counted yet" in table.sort_buttons["samples"].tooltip
    first = table.rows[0].id
    table.row_boxes[first].value = True
    assert state.selected_ids == [first]
    state.selected_ids = []
    assert table.row_boxes[first].value is False
    table.select_all.value = True
    assert sorted(state.selected_ids) == sorted(ids)


def test_rows_take_no_tick_while_they_are_stale(state):
    # rows are refilled in place when a search lands: a tick sent meanwhile must not select whichever
    # collection the row shows by then
    table = ResultsTable(state, page_size=5)
    state.bbox = (-180.0, -90.0, 180.0, 90.0)
    state.refresh()
    boxes = list(table.row_boxes.values())
    assert boxes and not any(box.disabled for box in boxes) and not table.select_all.disabled
    state.bbox = (3.0, 50.0, 6.0, 52.0)  # not searched yet: the rows answer the world
    assert table.stale and all(box.disabled for box in boxes) and table.select_all.disabled
    state.refresh()
    assert not table.stale and not any(box.disabled for box in table.row_boxes.values())
    assert not table.select_all.disabled
    first = table.rows[0].id
    table.row_boxes[first].value = True
    assert state.selected_ids == [first]


def _as_the_browser_shows_it(table: ResultsTable) -> dict[str, tuple]:
    """Each shown collection's checkbox and id link, as the browser shows them until it draws a new render."""
    links = {cell.description: cell for cell in table.cells("id")}
    return {ref_id: (box, links[ref_id]) for ref_id, box in table.row_boxes.items()}


def test_clicks_sent_before_the_browser_shows_a_new_order_act_on_what_the_user_saw(state):
    # A click carries nothing of what its row showed, and the browser draws a render some time after the
    # kernel makes it: a tick or id click sent just after a sort or a page turn must act on the collection
    # the user saw there, not on whichever one the kernel has put in that row meanwhile.
    table = ResultsTable(state, page_size=5)
    state.bbox = (-180.0, -90.0, 180.0, 90.0)
    state.refresh()
    seen = _as_the_browser_shows_it(table)
    top_by_id = table.rows[0].id
    table.sort_buttons["total"].click()  # the kernel refills the rows; the browser has not drawn them yet
    assert table.rows[0].id != top_by_id
    seen[top_by_id][0].value = True  # the user ticks the row that showed the first collection by id
    assert state.selected_ids == [top_by_id]
    seen[top_by_id][1].click()  # and opens it
    assert table.details.ref_id == top_by_id

    seen = _as_the_browser_shows_it(table)
    last_on_page_one = table.rows[4].id
    table.next_button.click()
    assert last_on_page_one not in table.row_boxes
    seen[last_on_page_one][0].value = True
    assert sorted(state.selected_ids) == sorted([top_by_id, last_on_page_one])
    seen[last_on_page_one][1].click()
    assert table.details.ref_id == last_on_page_one


def test_a_late_tick_on_a_collection_no_longer_found_is_ignored(state):
    table = ResultsTable(state, page_size=5)
    state.bbox = (-180.0, -90.0, 180.0, 90.0)
    state.refresh()
    seen = _as_the_browser_shows_it(table)
    state.bbox = (3.0, 50.0, 6.0, 52.0)
    state.refresh()
    gone = next(ref_id for ref_id in seen if ref_id not in {c.id for c in state.collections})
    seen[gone][0].value = True  # ticked before the browser drew the new results
    assert state.selected_ids == []


def test_results_table_pages(state):
    table = ResultsTable(state, page_size=5)
    state.refresh()
    assert len(table.row_boxes) == 5 == len(table.cells("id"))
    first_page = [cell.value for cell in table.cells("id")]
    table.next_button.click()
    assert table.page == 1 and "page 2/" in table.footer.value
    assert [cell.value for cell in table.cells("id")] != first_page


def test_fixed_columns_fit_their_header_and_sort_arrow(state):
    table = ResultsTable(state)
    widths = table.grid.layout.grid_template_columns.split(" ", 1)[1]
    fixed = [(header, int(css[:-2])) for (_k, header, *_), css in zip(COLUMNS, _columns(widths), strict=True)
             if css.endswith("px")]
    assert fixed and all(width >= header_width(header) for header, width in fixed)
    assert {"Matching samples", "Whole collection"} <= {header for header, _width in fixed}


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


def test_a_column_that_comes_back_shows_its_own_open_sort_button(make_state):
    """Rows' cells are closed once replaced; the header's buttons are kept, even while their column is
    hidden (closing one would put a closed model in the grid when its column comes back)."""
    from worldcereal_explorer.widgets.results_table import ResultsTable

    state = make_state(auto_search=False)
    table = ResultsTable(state)
    try:
        state.refresh()
        with_codes_before = set(map(id, table.grid.children))
        state.ewoc_codes = [1101010001]
        state.refresh()
        state.ewoc_codes = []
        state.refresh()
        state.ewoc_codes = [1101010001]
        state.refresh()
        assert with_codes_before  # drawn
        assert all(child.comm is not None for child in table.grid.children), "a closed widget is shown"
        assert all(button.comm is not None for button in table.sort_buttons.values())
    finally:
        table.close()
