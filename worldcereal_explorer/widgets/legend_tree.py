"""The legend hierarchy as an expandable tree with tri-state check boxes and a search box.

Rows are built lazily (only for expanded branches and search hits), because the official legend has
almost 900 classes and a widget per class would make the page slow to load in Voilà.

:class:`LegendTree` only draws and reports clicks, so two pickers share it: the dashboard's
:class:`~worldcereal_explorer.widgets.crop_picker.CropTypePicker`, bound to the query state, and the
reference client's drop-in :class:`~worldcereal_explorer.widgets.croptype_picker.CropTypePicker`.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as w

__all__ = ["CHECKED", "DROPPED", "MARKS", "PARTIAL", "UNCHECKED", "LegendTree"]

UNCHECKED, CHECKED, PARTIAL, DROPPED = "\u2610", "\u2611", "\u25a3", "\u2612"
#: The check box shown for each row state a picker reports.
MARKS = {"checked": CHECKED, "unchecked": UNCHECKED, "partial": PARTIAL, "dropped": DROPPED}
class _Row(w.HBox):
    """One tree row: expand arrow, tri-state check box, label with the sample count."""

    def __init__(self, node: Any, depth: int, tree: LegendTree):
        self.node = node
        has_children = bool(node.children)
        self.expand = w.Button(description="\u25b8" if has_children else "", disabled=not has_children,
                               layout=w.Layout(width="26px", height="24px", padding="0"))
        self.expand.add_class("wce-crop-expand")
        self.check = w.Button(description=UNCHECKED, layout=w.Layout(width="30px", height="24px", padding="0"))
        self.check.add_class("wce-crop-check")
        self.label = w.HTML(layout=w.Layout(margin="0 0 0 4px"))
        self.label.add_class("wce-crop-label")
        super().__init__([self.expand, self.check, self.label],
                         layout=w.Layout(margin=f"0 0 0 {16 * depth}px", align_items="center", min_height="26px"))
        self.add_class("wce-crop-row")
        self.add_class(f"wce-code-{node.code}")
        self.expand.on_click(lambda _: tree.toggle_expanded(node.code))
        self.check.on_click(lambda _: tree.on_toggle(int(node.code)))


class LegendTree(w.VBox):
    """A legend hierarchy as a lazily drawn, expandable tree with a search box.

    The tree draws and reports clicks; what a row shows and what a click does belong to its owner.

    Parameters
    ----------
    on_toggle
        Called with a row's code when its check box is clicked.
    mark_of
        A row's state: ``"checked"``, ``"unchecked"``, ``"partial"`` or ``"dropped"``.
    label_of
        A row's label as HTML (name, counts, notes); default: the node's label.
    name_of
        A row's plain name, which the search box matches; default: the node's label.
    disabled_of
        Whether a row's check box is disabled; default: never.
    max_search_results
        How many matches the search lists at most.
    lock
        The lock rebuilds run under (shared with the owner's own rebuilds); a new one when ``None``.
    """

    def __init__(self, *, on_toggle: Callable[[int], None], mark_of: Callable[[int], str],
                 label_of: Callable[[int], str] | None = None, name_of: Callable[[int], str] | None = None,
                 disabled_of: Callable[[int], bool] | None = None, max_search_results: int = 60,
                 lock: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.on_toggle = on_toggle
        self._mark_of = mark_of
        self._name_of = name_of or (lambda code: str(self._nodes[code].label))
        self._label_of = label_of or (lambda code: html.escape(self._name_of(code)))
        self._disabled_of = disabled_of or (lambda code: False)
        self.max_search_results = max_search_results
        self.lock = lock if lock is not None else threading.RLock()
        self.root: Any = None
        self._nodes: dict[int, Any] = {}
        self._depth: dict[int, int] = {}
        self._subtree: dict[int, frozenset[int]] = {}
        self._top: list[int] = []
        self._expanded: set[int] = set()
        self._rows: dict[int, _Row] = {}
        self.message = w.HTML()  # shown instead of rows ("loading legend…", "no crop type matches"): one, reused
        self.search = w.Text(placeholder="search crop types\u2026", layout=w.Layout(width="100%"),
                             continuous_update=True)
        self.search.add_class("wce-crop-search")
        self.search.observe(lambda _: self.render(), "value")
        self.tree_box = w.VBox(layout=w.Layout(max_height="320px", overflow="auto", width="100%",
                                               border="1px solid #ddd"))
        self.tree_box.add_class("wce-crop-tree")
        self.children = [self.search, self.tree_box]

    # --- content -------------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether a hierarchy is set and drawn."""
        return self.root is not None

    def set_root(self, root: Any) -> None:
        """Draw the hierarchy under ``root`` (its children are the top rows); only the first call counts."""
        with self.lock:
            if self.root is not None:
                return
            for node in root.children:
                self._index(node, 0)
            self._top = [int(n.code) for n in root.children]
            self.root = root
        self.render()

    def show_message(self, message_html: str) -> None:
        """Show ``message_html`` instead of the tree (while there is no hierarchy yet)."""
        with self.lock:
            if self.root is None:
                self.message.value = message_html
                self.tree_box.children = [self.message]

    def _index(self, node: Any, depth: int) -> frozenset[int]:
        code = int(node.code)
        self._nodes[code] = node
        self._depth[code] = depth
        codes = {code}
        for child in node.children or []:
            codes |= self._index(child, depth + 1)
        self._subtree[code] = frozenset(codes)
        return self._subtree[code]

    def subtree_codes(self, code: int) -> frozenset[int]:
        """``code`` and every code below it in the tree."""
        return self._subtree[int(code)]

    def ancestors(self, code: int) -> list[int]:
        """Codes of the rows above ``code``, nearest first."""
        out = []
        node = self._nodes[int(code)].parent
        while node is not None and int(node.code) in self._nodes:
            out.append(int(node.code))
            node = node.parent
        return out

    def node(self, code: int) -> Any:
        """The node of ``code``."""
        return self._nodes[int(code)]

    @property
    def top_codes(self) -> list[int]:
        """Codes of the top rows, in tree order (empty until there is a hierarchy)."""
        return list(self._top)

    @property
    def nodes(self) -> dict[int, Any]:
        """Every node by code (a copy; empty until there is a hierarchy)."""
        return dict(self._nodes)

    def row(self, code: int) -> _Row:
        """The row of ``code`` (its ``check`` and ``expand`` buttons, its ``label``)."""
        code = int(code)
        with self.lock:
            row = self._rows.get(code)
            if row is None:
                row = self._rows[code] = _Row(self._nodes[code], self._depth[code], self)
                self._paint(code, row)  # up to date even before it is shown
            return row

    def _paint(self, code: int, row: _Row) -> None:
        mark = self._mark_of(code)
        row.check.description = MARKS[mark]
        for name in MARKS:
            row.check.remove_class(f"wce-{name}")
        row.check.add_class(f"wce-{mark}")
        row.check.disabled = bool(self._disabled_of(code))
        if row.node.children:
            row.expand.description = "\u25be" if code in self._expanded else "\u25b8"
        row.layout.margin = "0" if self.search.value.strip() else f"0 0 0 {16 * self._depth[code]}px"
        row.label.value = self._label_of(code)

    # --- expansion -------------------------------------------------------------------------------------
    def toggle_expanded(self, code: int) -> None:
        """Open or close the branch under ``code``."""
        self._expanded ^= {int(code)}
        self.render()

    def expand_to(self, code: int) -> None:
        """Open every ancestor of ``code`` so its row is visible."""
        if int(code) in self._nodes:
            self._expanded.update(self.ancestors(code))
        self.render()

    def expand_all(self) -> None:
        """Open every branch."""
        self._expanded = {code for code, node in self._nodes.items() if node.children}
        self.render()

    def collapse_all(self) -> None:
        """Close every branch."""
        self._expanded = set()
        self.render()

    @property
    def expanded(self) -> frozenset[int]:
        """Codes of the open branches."""
        return frozenset(self._expanded)

    # --- rendering ---------------------------------------------------------------------------------------
    def visible_codes(self) -> list[int]:
        """Codes of the rows shown: the search hits, or the top rows and the open branches."""
        query = self.search.value.strip().lower()
        if query:
            hits = []
            for code in self._nodes:
                name = self._name_of(code).lower()
                if query in name.replace("_", " ") or query in name or query in str(code):
                    hits.append(code)
                    if len(hits) >= self.max_search_results:
                        break
            return hits
        out: list[int] = []

        def visit(codes: list[int]) -> None:
            for code in codes:
                out.append(code)
                if code in self._expanded:
                    visit([int(c.code) for c in self._nodes[code].children])

        visit(self._top)
        return out

    def render(self) -> None:
        """Redraw the visible rows from the owner's callbacks."""
        with self.lock:
            if self.root is None:
                return
            rows = []
            for code in self.visible_codes():
                row = self.row(code)
                self._paint(code, row)
                rows.append(row)
            if not rows:
                self.message.value = "<i>no crop type matches</i>"
                rows = [self.message]
            self.tree_box.children = rows
