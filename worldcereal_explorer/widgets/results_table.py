"""Results table: the matching collections, sortable, with rows selectable to restrict the sample query.

Two numbers per collection, each with one meaning (docs/architecture.md, "One number per meaning"):
"Matching samples" is what a fetch returns from it with every filter (the preview's count: area, dates,
crop types, quality, subset), "…" while the preview counts and "–" without one; "Whole collection" is its
size over every crop type, area and date (the RDM code statistics). Clicking a collection id opens
:class:`~.collection_details.CollectionDetails` under the table. While ``state.results_stale`` the table is
dimmed and says it shows the results for earlier filters.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ..state import counts as _counts
from ._base import StateWidget, style_widget
from .collection_details import CollectionDetails
from .keyed_pool import KeyedPool


def _years(coll: Any) -> str:
    extent = coll.temporal_extent
    if not extent:
        return str(coll.year or "")
    start, end = (str(v)[:4] for v in extent)
    return start if start == end else f"{start}\u2013{end}"


def _confidence(coll: Any) -> str:
    return f"{coll.confidence_lc or 0:g} / {coll.confidence_ct or 0:g}"


SAMPLES_TOOLTIP = ("in the whole collection: every crop type, area and date (the RDM code statistics), before "
                   "any of your filters")
MATCHING_TOOLTIP = ("matching your filters (area, dates, crop types, quality, subset): exactly the samples a fetch "
                    "returns from the collection")
#: The matching column's tooltip while the preview has no count for the current filters.
UNCOUNTED_TOOLTIP = "matching your filters: not counted yet for the current filters"
MATCHING_HEADER = "Matching samples"
WHOLE_HEADER = "Whole collection"

#: (key, header, cell text, sort key, CSS width); text and sort key get the collection and its sample total.
COLUMNS: list[tuple[str, str, Callable[[Any, int | None], str], Callable[[Any, int | None], Any], str]] = [
    ("id", "Collection id", lambda c, n: c.id, lambda c, n: c.id, "minmax(220px, 2fr)"),
    ("title", "Title", lambda c, n: c.title, lambda c, n: (c.title or "").lower(), "minmax(150px, 3fr)"),
    ("type", "Type", lambda c, n: c.data_type, lambda c, n: c.data_type or "", "65px"),
    ("access", "Access", lambda c, n: c.access_type, lambda c, n: c.access_type, "70px"),
    ("samples", MATCHING_HEADER, lambda c, n: "\u2013" if n is None else f"{n:,}",
     lambda c, n: -1 if n is None else n, "80px"),
    ("total", WHOLE_HEADER, lambda c, n: "\u2013" if n is None else f"{n:,}",
     lambda c, n: -1 if n is None else n, "80px"),
    ("years", "Years", lambda c, n: _years(c), lambda c, n: _years(c), "80px"),
    ("confidence", "Conf. LC/CT", lambda c, n: _confidence(c),
     lambda c, n: (c.confidence_lc or 0, c.confidence_ct or 0), "100px"),
]

_TOOLTIPS = {"samples": MATCHING_TOOLTIP, "total": SAMPLES_TOOLTIP}


class _LinkCell(w.Button):
    """A collection id drawn as a link: clicking it opens the collection's details."""

    @property
    def value(self) -> str:
        """The cell's text as HTML (as the other cells' ``value``)."""
        return f"<span title='{html.escape(self.tooltip or '')}'>{html.escape(self.description)}</span>"


#: Header buttons are bold 13px text with 6px padding each side; a fixed column must fit its header
#: plus the sort arrow, or the arrow is the part that gets cut off.
_HEADER_CHAR_PX, _HEADER_PADDING_PX = 8.5, 16


def header_width(header: str) -> int:
    """Pixels a header button needs for ``header`` and the sort arrow (" \u25b2")."""
    return int(round((len(header) + 2) * _HEADER_CHAR_PX + _HEADER_PADDING_PX))


def _column_width(header: str, css: str) -> str:
    if css.endswith("px"):
        return f"{max(int(css[:-2]), header_width(header))}px"
    return css


class ResultsTable(StateWidget):
    """The collections in ``state.collections`` as a sortable, paged table.

    Ticking a row adds its id to ``state.selected_ids`` (the sample query then reads only the ticked
    collections); the selection follows ``state.selected_ids`` when it changes elsewhere. Clicking an id
    opens its details (:attr:`details`).

    Parameters
    ----------
    state
        The query state to bind to (a new one when ``None``).
    page_size
        Rows per page (keeping it small keeps Voilà snappy). Row widgets are shown again on every sort,
        page and search, never made anew: at most three pages of them are ever made (see keyed_pool.py).

    Attributes
    ----------
    details : CollectionDetails
        The details panel under the table (hidden until an id is clicked); set ``details.zoom_to`` to a
        ``(west, south, east, north)`` callable (the map's ``zoom_to``) to enable its "Zoom to extent".
    stale_note : ipywidgets.HTML
        "results for earlier filters", shown while ``state.results_stale``.
    """

    def __init__(self, state: RdmQueryState | None = None, *, page_size: int = 12, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-results")
        self.page_size = page_size
        self.sort_key = "id"
        self.ascending = True
        self.page = 0
        self.sort_buttons: dict[str, w.Button] = {}
        for key, header, *_ in COLUMNS:
            button = w.Button(description=header, tooltip=self._tooltip(key, header),
                              layout=w.Layout(width="100%", padding="0 6px", overflow="visible"))
            button.add_class("wce-sort")
            button.add_class(f"wce-sort-{key}")
            button.on_click(lambda _, k=key: self.sort_by(k))
            self.sort_buttons[key] = button
        self.select_all = w.Checkbox(indent=False, layout=w.Layout(width="28px"), tooltip="select all",
                                     description="Select every collection found")
        self.select_all.add_class("wce-sr-label")  # the name is for screen readers; the box speaks for itself
        self.select_all.observe(self._on_select_all, "value")
        self.grid = w.GridBox(layout=w.Layout(
            grid_template_columns=self._template(COLUMNS), grid_gap="2px 6px", width="100%", align_items="center"))
        self.grid.add_class("wce-results-grid")
        self.row_boxes: dict[str, w.Checkbox] = {}
        self._cells: dict[str, list[Any]] = {}
        self._pooled_widgets: list[w.Widget] = []  # every pooled row's widgets, so closing the table reaches them
        #: Row widgets made once and shown again on every page, sort and search (see keyed_pool.py): a row
        #: keeps its collection while the browser may still show it there, so a late tick or id click acts
        #: on the collection the user saw.
        self._rows: KeyedPool[_Row] = KeyedPool(self._new_row, lambda row: row.ref_id)
        #: The page as last drawn: (collection, its row).
        self._shown: list[tuple[Any, _Row]] = []
        self.prev_button = w.Button(description="\u25c0", layout=w.Layout(width="40px"),
                                    tooltip="previous page of collections")
        self.next_button = w.Button(description="\u25b6", layout=w.Layout(width="40px"),
                                    tooltip="next page of collections")
        self.prev_button.add_class("wce-results-prev")
        self.next_button.add_class("wce-results-next")
        self.prev_button.on_click(lambda _: self.go_to(self.page - 1))
        self.next_button.on_click(lambda _: self.go_to(self.page + 1))
        self.footer = w.HTML()
        self.footer.add_class("wce-results-footer")
        self.stale_note = w.HTML(layout=w.Layout(display="none"))
        self.stale_note.add_class("wce-results-stale")
        self.details = CollectionDetails(self.state)
        self.children = [
            style_widget(),
            w.HTML("<b>Matching collections</b> <span style='color:#666'>(tick rows to fetch samples "
                   "from those only; click an id for its details)</span>"),
            self.stale_note,
            self.grid,
            w.HBox([self.prev_button, self.next_button, self.footer], layout=w.Layout(align_items="center")),
            self.details,
        ]
        self._observe_state(lambda _: self.go_to(0), ["collections", "counts", "class_counts"])
        # the matching numbers arrive (or go) with the preview: into the rows shown, in place (rows reordered
        # under the pointer when a count lands would take the user's next click elsewhere)
        self._observe_state(self._refresh_numbers, ["preview_status", "preview_counts", "preview_skipped"])
        self._observe_state(self._on_selected, "selected_ids")
        self._observe_state(self._on_stale, ["results_stale", "status"])
        self._render()
        self._on_stale()

    # --- columns and numbers ------------------------------------------------------------------------------
    @staticmethod
    def _template(columns: list) -> str:
        return "32px " + " ".join(_column_width(col[1], col[4]) for col in columns)

    def _tooltip(self, key: str, header: str) -> str:
        tip = self.cell_tooltip(key)
        return f"sort by {header.lower()}" + (f": {tip}" if tip else "")

    def cell_tooltip(self, key: str) -> str | None:
        """What the numbers of column ``key`` are (``None`` for a column without a note)."""
        if key == "samples" and not self.state.matching_ready:
            return UNCOUNTED_TOOLTIP
        return _TOOLTIPS.get(key)

    @property
    def columns(self) -> list:
        """The columns shown: :data:`COLUMNS`."""
        return list(COLUMNS)

    @property
    def counting(self) -> bool:
        """Whether the preview is counting the matching samples for the current filters (cells show "…")."""
        return self.state.preview_status in ("pending", "loading")

    def _numbers(self) -> dict[str, dict[str, int]]:
        """``{"samples": matching your filters (empty without a preview for them), "total": whole-collection
        totals over every crop type}``."""
        return {"samples": self.state.matching_totals() or {},
                "total": _counts.whole_collection_totals(self.state.class_counts, self.state.collections)}

    @property
    def rows(self) -> list:
        """The collections in display order (all pages)."""
        column = next((col for col in self.columns if col[0] == self.sort_key), COLUMNS[0])
        numbers = self._numbers().get(column[0], {})
        key = column[3]
        return sorted(self.state.collections, key=lambda c: key(c, numbers.get(c.id)), reverse=not self.ascending)

    def sample_total(self, ref_id: str) -> int | None:
        """"Matching samples" of ``ref_id``: what a fetch returns from it (``None`` until the preview has
        counted the current filters, or when it is not read)."""
        return self._numbers()["samples"].get(ref_id)

    def whole_total(self, ref_id: str) -> int | None:
        """"Whole collection": the collection's samples over every crop type, area and date."""
        return self._numbers()["total"].get(ref_id)

    @property
    def headers(self) -> list[str]:
        """The headers of the columns shown, left to right (without the sort arrow)."""
        return [col[1] for col in self.columns]

    def cells(self, key: str) -> list[Any]:
        """The cells of column ``key`` (see :data:`COLUMNS`) on the current page, top to bottom; each has a
        ``value`` (HTML); the ``id`` cells are buttons that open the details."""
        return list(self._cells.get(key, []))

    # --- actions ------------------------------------------------------------------------------------------
    def sort_by(self, key: str) -> None:
        """Sort by column ``key``; sorting by the same column again reverses the order."""
        if key == self.sort_key:
            self.ascending = not self.ascending
        else:
            self.sort_key, self.ascending = key, key not in ("samples", "total", "confidence")
        self._render()

    def go_to(self, page: int) -> None:
        """Show page ``page`` (0-based, clamped)."""
        pages = max(1, -(-len(self.state.collections) // self.page_size))
        self.page = min(max(0, page), pages - 1)
        self._render()

    def select(self, ref_ids: list[str]) -> None:
        """Restrict the sample query to ``ref_ids`` (empty = all matching collections)."""
        with self._sync():
            self.state.selected_ids = list(ref_ids)
        self._render()

    def open_details(self, ref_id: str) -> None:
        """Show the details of collection ``ref_id`` under the table."""
        self.details.show(ref_id)

    def _on_row(self, ref_id: str, ticked: bool) -> None:
        if self._syncing or not any(c.id == ref_id for c in self.state.collections):
            return  # a late tick on a row of earlier results: that collection is no longer found
        selected = [i for i in self.state.selected_ids if i != ref_id]
        if ticked:
            selected.append(ref_id)
        with self._sync():
            self.state.selected_ids = selected
        self._update_footer()

    def _on_select_all(self, change: dict) -> None:
        if self._syncing:
            return
        self.select([c.id for c in self.state.collections] if change["new"] else [])

    def _on_selected(self, change: dict) -> None:
        if not self._syncing:
            self._render()

    # --- staleness ------------------------------------------------------------------------------------
    @property
    def stale(self) -> bool:
        """Whether the rows shown are from earlier filters (dimmed, with :attr:`stale_note`)."""
        return bool(self.state.results_stale)

    def _on_stale(self, change: dict | None = None) -> None:
        self._show_stale(self.stale, [self.grid], self.stale_note)
        self._lock_ticks()

    def _lock_ticks(self) -> None:
        # Rows are refilled in place when the search lands: a tick the browser sends while the refill is on
        # its way would select whichever collection the row shows by then. Stale rows therefore take no
        # tick (they are dimmed and about to change anyway).
        locked = self.stale
        for box in [self.select_all, *(row.box for row in self._rows.items)]:
            if box.disabled != locked:
                box.disabled = locked

    # --- drawing --------------------------------------------------------------------------------------
    def _render(self) -> None:
        with self._render_lock:
            columns = self.columns
            rows = self.rows
            start = self.page * self.page_size
            page_rows = rows[start:start + self.page_size]
            selected = set(self.state.selected_ids)
            numbers = self._numbers()
            for key, header, *_ in columns:
                arrow = (" \u25b2" if self.ascending else " \u25bc") if key == self.sort_key else ""
                self.sort_buttons[key].description = header + arrow
                self.sort_buttons[key].tooltip = self._tooltip(key, header)
            page_pool = self._rows.assign([coll.id for coll in page_rows])
            cells: list[w.Widget] = [self.select_all, *(self.sort_buttons[col[0]] for col in columns)]
            by_column: dict[str, list[Any]] = {key: [] for key, *_ in columns}
            self.row_boxes = {}
            self._shown = list(zip(page_rows, page_pool, strict=True))
            with self._sync():
                self.select_all.value = bool(rows) and len(selected) == len(rows)
                for coll, row in zip(page_rows, page_pool, strict=True):
                    row.show(coll, coll.id in selected, columns, numbers)
                    self.row_boxes[coll.id] = row.box
                    cells.append(row.box)
                    for key, *_ in columns:
                        cells.append(row.cells[key])
                        by_column[key].append(row.cells[key])
            self._cells = by_column
            template = self._template(columns)
            if self.grid.layout.grid_template_columns != template:
                self.grid.layout.grid_template_columns = template
            if list(self.grid.children) != cells:
                self.grid.children = cells
            self._lock_ticks()
            self._update_footer()

    def _refresh_numbers(self, change: dict | None = None) -> None:
        """Refill the numbers of the rows shown (and the headers' notes, the footer), keeping the rows' order."""
        with self._render_lock:
            columns, numbers = self.columns, self._numbers()
            selected = set(self.state.selected_ids)
            for key, header, *_ in columns:
                self.sort_buttons[key].tooltip = self._tooltip(key, header)
            with self._sync():
                for coll, row in self._shown:
                    row.show(coll, coll.id in selected, columns, numbers)
            self._update_footer()

    def _new_row(self) -> _Row:
        row = _Row(self)
        self._pooled_widgets += [row.box, *row.cells.values()]
        return row

    def _update_footer(self) -> None:
        total = len(self.state.collections)
        pages = max(1, -(-total // self.page_size))
        n_sel = len(self.state.selected_ids)
        which = f"{n_sel} selected" if n_sel else "all used for samples"
        matching = self.state.matching_totals()
        matched = "" if matching is None else f" \u00b7 {_counts.plural(sum(matching.values()), 'sample')} match your filters"
        self.footer.value = (f"page {self.page + 1}/{pages} \u00b7 {total} collection{'s' if total != 1 else ''} "
                             f"\u00b7 {which}{matched}")
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= pages - 1


class _Row:
    """The widgets of one table row, refilled with whichever collection the row shows.

    Parameters
    ----------
    table
        The table whose row this is; ticking the box and clicking the id act on :attr:`ref_id`.
    """

    def __init__(self, table: ResultsTable):
        self.table = table
        self.ref_id: str | None = None
        self.box = w.Checkbox(indent=False, layout=w.Layout(width="28px"))
        self.box.add_class("wce-row-select")
        # "Select collection <id>" (set in show) is the box's accessible name, hidden on screen
        self.box.add_class("wce-sr-label")
        self.box.observe(self._on_tick, "value")
        self.cells: dict[str, Any] = {}
        for key, *_ in COLUMNS:
            if key == "id":
                cell = _LinkCell(layout=w.Layout(width="100%", overflow="hidden"))
                cell.add_class("wce-link-button")
                cell.add_class("wce-open-details")
                cell.on_click(self._on_open)
            else:
                cell = w.HTML(layout=w.Layout(overflow="hidden"))
            cell.add_class(f"wce-cell-{key}")
            self.cells[key] = cell

    def _on_tick(self, change: dict) -> None:
        if self.ref_id is not None:
            self.table._on_row(self.ref_id, change["new"])

    def _on_open(self, _button: Any) -> None:
        if self.ref_id is not None:
            self.table.open_details(self.ref_id)

    def show(self, coll: Any, ticked: bool, columns: list, numbers: dict[str, dict[str, int]]) -> None:
        """Fill the row with collection ``coll`` (only traits that change are sent to the browser)."""
        self.ref_id = coll.id
        self.box.value = ticked
        name = f"Select collection {coll.id} (fetch samples from the ticked collections only)"
        if self.box.description != name:
            self.box.description = name
        for key, _header, text, _sort, _width in columns:
            number = numbers.get(key, {}).get(coll.id)
            shown = html.escape(str(text(coll, number)))
            if key == "samples" and number is None and self.table.counting:
                shown = "\u2026"  # the preview is counting these filters
            cell = self.cells[key]
            if key == "id":
                cell.description = str(coll.id)
                cell.tooltip = f"Open the details of collection {coll.id}"
            else:
                tip = self.table.cell_tooltip(key)
                title = f"{shown} ({html.escape(tip)})" if tip else shown
                cell.value = f"<span title='{title}'>{shown}</span>"
