"""Results table: the matching collections, sortable, with rows selectable to restrict the sample query."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..state import RdmQueryState
from ._base import StateWidget


def _years(coll: Any) -> str:
    extent = coll.temporal_extent
    if not extent:
        return str(coll.year or "")
    start, end = (str(v)[:4] for v in extent)
    return start if start == end else f"{start}\u2013{end}"


def _confidence(coll: Any) -> str:
    return f"{coll.confidence_lc or 0:g} / {coll.confidence_ct or 0:g}"


SAMPLES_TOOLTIP = ("whole-collection totals from the RDM code statistics (of the selected crop types when any "
                   "are ticked), not only the samples inside your area and dates: fetch the samples for those")

#: (key, header, cell text, sort key, CSS width); text and sort key get the collection and its sample total.
COLUMNS: list[tuple[str, str, Callable[[Any, int | None], str], Callable[[Any, int | None], Any], str]] = [
    ("id", "Collection id", lambda c, n: c.id, lambda c, n: c.id, "minmax(220px, 2fr)"),
    ("title", "Title", lambda c, n: c.title, lambda c, n: (c.title or "").lower(), "minmax(150px, 3fr)"),
    ("type", "Type", lambda c, n: c.data_type, lambda c, n: c.data_type or "", "65px"),
    ("access", "Access", lambda c, n: c.access_type, lambda c, n: c.access_type, "70px"),
    ("samples", "Total samples", lambda c, n: "\u2013" if n is None else f"{n:,}",
     lambda c, n: -1 if n is None else n, "80px"),
    ("years", "Years", lambda c, n: _years(c), lambda c, n: _years(c), "80px"),
    ("confidence", "Conf. LC/CT", lambda c, n: _confidence(c),
     lambda c, n: (c.confidence_lc or 0, c.confidence_ct or 0), "100px"),
]

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
    collections); the selection follows ``state.selected_ids`` when it changes elsewhere.

    Parameters
    ----------
    state
        The query state to bind to (a new one when ``None``).
    page_size
        Rows per page (the page is rebuilt on sort and page changes; keeping it small keeps Voilà snappy).
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
            tooltip = f"sort by {header.lower()}" + (f": {SAMPLES_TOOLTIP}" if key == "samples" else "")
            button = w.Button(description=header, tooltip=tooltip,
                              layout=w.Layout(width="100%", padding="0 6px", overflow="visible"))
            button.add_class("wce-sort")
            button.add_class(f"wce-sort-{key}")
            button.on_click(lambda _, k=key: self.sort_by(k))
            self.sort_buttons[key] = button
        self.select_all = w.Checkbox(indent=False, layout=w.Layout(width="28px"), tooltip="select all")
        self.select_all.observe(self._on_select_all, "value")
        self.grid = w.GridBox(layout=w.Layout(
            grid_template_columns="32px " + " ".join(_column_width(col[1], col[4]) for col in COLUMNS), grid_gap="2px 6px",
            width="100%", align_items="center"))
        self.grid.add_class("wce-results-grid")
        self.row_boxes: dict[str, w.Checkbox] = {}
        self._cells: dict[str, list[w.HTML]] = {}
        self.prev_button = w.Button(description="\u25c0", layout=w.Layout(width="40px"))
        self.next_button = w.Button(description="\u25b6", layout=w.Layout(width="40px"))
        self.prev_button.on_click(lambda _: self.go_to(self.page - 1))
        self.next_button.on_click(lambda _: self.go_to(self.page + 1))
        self.footer = w.HTML()
        self.footer.add_class("wce-results-footer")
        self.children = [
            w.HTML("<b>Matching collections</b> <span style='color:#666'>(tick rows to fetch samples "
                   "from those only)</span>"),
            self.grid,
            w.HBox([self.prev_button, self.next_button, self.footer], layout=w.Layout(align_items="center")),
        ]
        self._observe_state(lambda _: self.go_to(0), ["collections", "counts"])
        self._observe_state(self._on_selected, "selected_ids")
        self._render()

    @property
    def rows(self) -> list:
        """The collections in display order (all pages)."""
        key = next(col[3] for col in COLUMNS if col[0] == self.sort_key)
        totals = self.state.collection_totals()
        return sorted(self.state.collections, key=lambda c: key(c, totals.get(c.id)), reverse=not self.ascending)

    def sample_total(self, ref_id: str) -> int | None:
        """The Samples column's number for ``ref_id``: the collection's total (of the selected crop types)."""
        return self.state.collection_totals().get(ref_id)

    def cells(self, key: str) -> list[w.HTML]:
        """The cells of column ``key`` (see :data:`COLUMNS`) on the current page, top to bottom."""
        return list(self._cells.get(key, []))

    def sort_by(self, key: str) -> None:
        """Sort by column ``key``; sorting by the same column again reverses the order."""
        if key == self.sort_key:
            self.ascending = not self.ascending
        else:
            self.sort_key, self.ascending = key, key not in ("samples", "confidence")
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

    def _on_row(self, ref_id: str, ticked: bool) -> None:
        if self._syncing:
            return
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

    def _render(self) -> None:
        with self._render_lock:
            rows = self.rows
            start = self.page * self.page_size
            page_rows = rows[start:start + self.page_size]
            selected = set(self.state.selected_ids)
            totals = self.state.collection_totals()
            for key, header, *_ in COLUMNS:
                arrow = (" \u25b2" if self.ascending else " \u25bc") if key == self.sort_key else ""
                self.sort_buttons[key].description = header + arrow
            cells: list[w.Widget] = [self.select_all, *self.sort_buttons.values()]
            by_column: dict[str, list[w.HTML]] = {key: [] for key, *_ in COLUMNS}
            self.row_boxes = {}
            with self._sync():
                self.select_all.value = bool(rows) and len(selected) == len(rows)
                for coll in page_rows:
                    box = w.Checkbox(value=coll.id in selected, indent=False, layout=w.Layout(width="28px"))
                    box.add_class("wce-row-select")
                    box.observe(lambda ch, ref=coll.id: self._on_row(ref, ch["new"]), "value")
                    self.row_boxes[coll.id] = box
                    cells.append(box)
                    for key, _header, text, _sort, _width in COLUMNS:
                        shown = html.escape(str(text(coll, totals.get(coll.id))))
                        title = f"{shown} ({html.escape(SAMPLES_TOOLTIP)})" if key == "samples" else shown
                        cell = w.HTML(f"<span title='{title}'>{shown}</span>",
                                      layout=w.Layout(overflow="hidden"))
                        cell.add_class(f"wce-cell-{key}")
                        cells.append(cell)
                        by_column[key].append(cell)
            self._cells = by_column
            self.grid.children = cells
            self._update_footer()

    def _update_footer(self) -> None:
        total = len(self.state.collections)
        pages = max(1, -(-total // self.page_size))
        n_sel = len(self.state.selected_ids)
        which = f"{n_sel} selected" if n_sel else "all used for samples"
        self.footer.value = f"page {self.page + 1}/{pages} \u00b7 {total} collection{'s' if total != 1 else ''} \u00b7 {which}"
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= pages - 1
