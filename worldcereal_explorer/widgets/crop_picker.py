"""Crop-type picker: the legend hierarchy as an expandable tree with tri-state parents.

Rows are built lazily (only for expanded branches and search hits), because the official legend has
almost 900 classes and a widget per class would make the page slow to load in Voilà.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import ipywidgets as w
import pandas as pd

from ..state import RdmQueryState
from ._base import StateWidget

UNCHECKED, CHECKED, PARTIAL = "\u2610", "\u2611", "\u25a3"


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", None) or []:
        yield from _walk(child)


class _Row(w.HBox):
    """One tree row: expand arrow, tri-state check box, label with the sample count."""

    def __init__(self, node: Any, depth: int, picker: CropTypePicker):
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
        self.expand.on_click(lambda _: picker.toggle_expanded(node.code))
        self.check.on_click(lambda _: picker.toggle(node.code))


class CropTypePicker(StateWidget):
    """Pick crop types from the legend tree; optionally group them into new labels.

    Parameters
    ----------
    state
        The query state to bind to (a new one when ``None``); the picker sets ``state.ewoc_codes`` and
        ``state.grouping`` and follows changes made elsewhere.
    legend
        A :class:`~worldcereal_explorer.legend.Legend`; default: the state's, which the state loads in
        the background (:meth:`~worldcereal_explorer.state.RdmQueryState.load_legend`). Until it is
        there the tree says "loading legend…", and it fills in when ``state.legend`` is set.
    max_search_results
        How many matches the text search lists at most.

    Attributes
    ----------
    croptypes : pandas.DataFrame
        The selection as the RDM demo notebook's ``CropTypePicker`` returns it: indexed by ``ewoc_code``
        with columns ``new_label`` and ``original_label``.
    ready : bool
        Whether the legend is there and the tree is drawn.
    """

    def __init__(self, state: RdmQueryState | None = None, legend: Any = None, *,
                 max_search_results: int = 60, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-crop-picker")
        self.legend: Any = None
        self.root: Any = None
        self.max_search_results = max_search_results
        self._nodes: dict[int, Any] = {}
        self._depth: dict[int, int] = {}
        self._subtree: dict[int, frozenset[int]] = {}
        self._top: list[int] = []
        self.selected: set[int] = {int(c) for c in self.state.ewoc_codes}
        self._expanded: set[int] = set()
        self._rows: dict[int, _Row] = {}
        self._counts: dict[int, int] = {}

        self.search = w.Text(placeholder="search crop types\u2026", layout=w.Layout(width="100%"),
                             continuous_update=True)
        self.search.add_class("wce-crop-search")
        self.search.observe(lambda _: self._render(), "value")
        self.tree_box = w.VBox(layout=w.Layout(max_height="320px", overflow="auto", width="100%",
                                               border="1px solid #ddd"))
        self.tree_box.add_class("wce-crop-tree")
        self.clear_button = w.Button(description="Clear", icon="times", layout=w.Layout(width="auto"))
        self.clear_button.on_click(lambda _: self.set_selection([]))
        self.group_name = w.Text(placeholder="new label", layout=w.Layout(width="45%"))
        self.group_name.add_class("wce-group-name")
        self.group_button = w.Button(description="Group", tooltip="give the selected classes this label",
                                     layout=w.Layout(width="auto"))
        self.group_button.add_class("wce-group-button")
        self.group_button.on_click(lambda _: self.group_selected(self.group_name.value))
        self.ungroup_button = w.Button(description="Ungroup", layout=w.Layout(width="auto"))
        self.ungroup_button.on_click(lambda _: self._set_grouping({}))
        self.summary = w.HTML()
        self.summary.add_class("wce-crop-summary")
        self.children = [
            w.HTML("<b>Crop types</b>"),
            self.search,
            self.tree_box,
            w.HBox([self.group_name, self.group_button, self.ungroup_button]),
            w.HBox([self.summary, self.clear_button], layout=w.Layout(justify_content="space-between")),
        ]
        self._observe_state(self._on_state_codes, ["ewoc_codes", "grouping"])
        self._observe_state(self._on_counts, "class_counts")
        if legend is not None:
            self._set_legend(legend)
        else:
            self._observe_state(self._on_legend, ["legend", "legend_status"])
            # The state loads it on a worker thread; the tree fills in from _on_legend.
            self.state.load_legend()
            self._on_legend()
        self._on_counts()

    # --- legend ------------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether the legend is there and the tree is drawn."""
        return self.root is not None

    def _on_legend(self, change: dict | None = None) -> None:
        legend = self.state.legend
        if legend is not None:
            self._set_legend(legend)
        elif self.state.legend_status == "error":
            with self._render_lock:
                self.tree_box.children = [w.HTML(
                    "<span class='wce-crop-error' style='color:#b71c1c'>Crop types unavailable: "
                    f"{html.escape(self.state.legend_message)}</span>")]
        else:
            with self._render_lock:
                if self.root is None:
                    self.tree_box.children = [w.HTML("<i class='wce-crop-loading'>loading legend\u2026</i>")]

    def _set_legend(self, legend: Any) -> None:
        with self._render_lock:
            if self.root is not None:
                return
            root = legend.tree()
            for node in root.children:
                self._index(node, 0)
            self._top = [int(n.code) for n in root.children]
            self.legend, self.root = legend, root
        self._render()

    # --- tree bookkeeping --------------------------------------------------------------------------
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
        """``code`` and every code below it in the legend tree."""
        return self._subtree[int(code)]

    @property
    def top_codes(self) -> list[int]:
        """Codes of the legend's top-level classes, in tree order (empty until the legend is there)."""
        return list(self._top)

    @property
    def nodes(self) -> dict[int, Any]:
        """Every legend node by code (a copy; empty until the legend is there)."""
        return dict(self._nodes)

    def row(self, code: int) -> _Row:
        """The tree row of ``code`` (its ``check`` and ``expand`` buttons, its ``label``)."""
        return self._row(int(code))

    def node_state(self, code: int) -> str:
        """``"checked"``, ``"unchecked"`` or ``"partial"`` (some but not all of the subtree selected)."""
        subtree = self._subtree[int(code)]
        n = len(subtree & self.selected)
        if n == 0:
            return "unchecked"
        return "checked" if n == len(subtree) else "partial"

    # --- user actions --------------------------------------------------------------------------------
    def toggle(self, code: int) -> None:
        """Select the whole subtree of ``code``, or deselect it when it is fully selected."""
        subtree = self._subtree[int(code)]
        if subtree <= self.selected:
            self.set_selection(self.selected - subtree)
        else:
            self.set_selection(self.selected | subtree)

    def toggle_expanded(self, code: int) -> None:
        """Open or close the branch under ``code``."""
        code = int(code)
        self._expanded ^= {code}
        self._render()

    def expand_to(self, code: int) -> None:
        """Open every ancestor of ``code`` so its row is visible."""
        node = self._nodes[int(code)].parent if int(code) in self._nodes else None
        while node is not None and int(node.code) in self._nodes:
            self._expanded.add(int(node.code))
            node = node.parent
        self._render()

    def set_selection(self, codes: Any) -> None:
        """Replace the selection (and push it to the state)."""
        self.selected = {int(c) for c in codes}
        grouping = {c: lab for c, lab in self.state.grouping.items() if int(c) in self.selected}
        with self._sync(), self.state.hold_trait_notifications():
            self.state.ewoc_codes = sorted(self.selected)
            if grouping != dict(self.state.grouping):
                self.state.grouping = grouping
        self._render()

    def group_selected(self, new_label: str) -> None:
        """Give every selected, not yet grouped class the label ``new_label``."""
        name = (new_label or "").strip()
        if not name:
            self.summary.value = "<span style='color:#b71c1c'>Type a name for the new label first.</span>"
            return
        grouped = {int(c) for c in self.state.grouping}
        codes = sorted(self.selected - grouped)
        if not codes:
            self.summary.value = "<span style='color:#b71c1c'>Select classes that are not grouped yet.</span>"
            return
        self._set_grouping({**{int(k): v for k, v in self.state.grouping.items()}, **dict.fromkeys(codes, name)})
        self.group_name.value = ""

    def _set_grouping(self, grouping: dict[int, str]) -> None:
        with self._sync():
            self.state.grouping = grouping
        self._render()

    @property
    def croptypes(self) -> pd.DataFrame:
        """The selection: index ``ewoc_code``; columns ``new_label`` and ``original_label``."""
        codes = sorted(self.selected)
        if self.legend is None:  # not loaded yet: name the codes by themselves
            original = [f"unknown ({c})" for c in codes]
        else:
            original = list(self.legend.labels(codes)) if codes else []
        grouping = {int(k): v for k, v in self.state.grouping.items()}
        frame = pd.DataFrame(
            {"new_label": [grouping.get(c, lab) for c, lab in zip(codes, original, strict=True)], "original_label": original},
            index=pd.Index(codes, name="ewoc_code", dtype="int64"),
        )
        return frame

    # --- state -> widget -------------------------------------------------------------------------------
    def _on_state_codes(self, change: dict | None = None) -> None:
        if self._syncing:
            return
        self.selected = {int(c) for c in self.state.ewoc_codes}
        self._render()

    def _on_counts(self, change: dict | None = None) -> None:
        # Every class's totals over the space / time / access search, whatever is ticked: counts filtered
        # by the selection would show (0) for every class not ticked.
        self._counts = self.state.counts_by_code(unfiltered=True)
        self._render()

    # --- rendering ---------------------------------------------------------------------------------------
    def _visible_codes(self) -> list[int]:
        query = self.search.value.strip().lower()
        if query:
            hits = []
            for code, node in self._nodes.items():
                if query in str(node.label).lower().replace("_", " ") or query in str(node.label).lower() \
                        or query in str(code):
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

    def _row(self, code: int) -> _Row:
        row = self._rows.get(code)
        if row is None:
            row = self._rows[code] = _Row(self._nodes[code], self._depth[code], self)
        return row

    def _count_of(self, code: int) -> int | None:
        if self.state.class_counts is None:
            return None
        return sum(self._counts.get(c, 0) for c in self._subtree[code])

    def _render(self) -> None:
        with self._render_lock:
            if self.root is None:  # the legend is not there yet: _on_legend shows why
                return
            marks = {"checked": CHECKED, "unchecked": UNCHECKED, "partial": PARTIAL}
            grouping = {int(k): v for k, v in self.state.grouping.items()}
            searching = bool(self.search.value.strip())
            rows = []
            for code in self._visible_codes():
                row = self._row(code)
                node_state = self.node_state(code)
                row.check.description = marks[node_state]
                for name in ("checked", "unchecked", "partial"):
                    row.check.remove_class(f"wce-{name}")
                row.check.add_class(f"wce-{node_state}")
                if row.node.children:
                    row.expand.description = "\u25be" if code in self._expanded else "\u25b8"
                row.layout.margin = "0" if searching else f"0 0 0 {16 * self._depth[code]}px"
                count = self._count_of(code)
                count_html = "" if count is None else f" <span style='color:#666'>({count:,})</span>"
                group_html = (f" <span style='color:#6a1b9a'>&rarr; {html.escape(grouping[code])}</span>"
                              if code in grouping else "")
                row.label.value = f"{html.escape(str(row.node.label))}{count_html}{group_html}"
                rows.append(row)
            if not rows:
                rows = [w.HTML("<i>no crop type matches</i>")]
            self.tree_box.children = rows
            n = len(self.selected)
            groups = sorted(set(grouping.values()))
            self.summary.value = (
                "every crop type (no filter)" if n == 0 else
                f"{n} class{'es' if n != 1 else ''} selected" + (f"; groups: {html.escape(', '.join(groups))}" if groups else "")
            )
