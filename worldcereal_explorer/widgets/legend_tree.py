"""The legend hierarchy as an expandable tree with tri-state check boxes and a search box.

Rows are built lazily (only for expanded branches and search hits), because the official legend has
almost 900 classes and a widget per class would make the page slow to load in Voilà.

:class:`LegendTree` only draws and reports clicks; what a row shows and what a click does belong to its
owner, :class:`~worldcereal_explorer.widgets.crop_picker.CropTypePicker`.

The tree follows the `WAI-ARIA tree pattern <https://www.w3.org/WAI/ARIA/apg/patterns/treeview/>`_: a
tiny page-side helper (:data:`TreeKeys`, an anywidget) gives the rows ``role="tree"`` / ``"treeitem"``,
``aria-level``, ``aria-posinset`` / ``aria-setsize`` (the rows are one flat, keyed list, which the pattern
allows instead of ``role="group"`` boxes), ``aria-expanded`` and ``aria-checked`` (``true`` / ``false`` /
``mixed``) from the classes the kernel puts on each row, and makes the tree one tab stop walked with the
arrow keys (Up/Down move, Right/Left expand/collapse or go to the first child / the parent, Home/End,
Space ticks, Enter expands). Every button carries an accessible name (its ``tooltip``, which the helper
also sets as ``aria-label``): "Include maize (520 samples)", "Expand temporary crops".
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import traitlets

__all__ = ["CHECKED", "DROPPED", "MARKS", "PARTIAL", "UNCHECKED", "LegendTree", "TreeKeys", "TreeRow"]

UNCHECKED, CHECKED, PARTIAL, DROPPED = "\u2610", "\u2611", "\u25a3", "\u2612"
#: The check box shown for each row state a picker reports.
MARKS = {"checked": CHECKED, "unchecked": UNCHECKED, "partial": PARTIAL, "dropped": DROPPED}

_TAGS = re.compile(r"<[^>]+>")

_TREE_KEYS_ESM = r"""
function render({ model, el }) {
  el.style.display = "none";
  let stopped = false, observer = null, tries = 0;
  const start = () => {   // the view is put in the page after render: wait until it is there
    if (stopped) return;
    const owner = el.closest(".wce-legend-tree");
    if (owner) { observer = setup(owner); return; }
    if (tries++ < 3000) setTimeout(start, 100);
  };
  start();
  return () => { stopped = true; if (observer) observer.disconnect(); };

function setup(owner) {
  let active = null;        // the code of the row that holds the tab stop
  let wantFocus = false;    // the user walks the tree with the keyboard: keep the focus on a row
  let scheduled = false;
  const tree = () => owner.querySelector(".wce-crop-tree");
  const rows = () => { const t = tree(); return t ? [...t.querySelectorAll(":scope > .wce-crop-row")] : []; };
  const codeOf = (row) => { const m = /(?:^| )wce-code-(\d+)/.exec(row.className); return m ? m[1] : null; };
  const levelOf = (row) => { const m = /(?:^| )wce-level-(\d+)/.exec(row.className); return m ? +m[1] : 1; };
  const labelText = (row) => { const l = row.querySelector(".wce-crop-label"); return l ? l.textContent.trim() : ""; };
  const decorate = () => {
    scheduled = false;
    const t = tree();
    if (!t) return;
    const all = rows();
    if (!all.length) {   // a message instead of rows ("loading legend", "no crop type matches"): no tree
      for (const name of ["role", "aria-label", "aria-multiselectable"]) t.removeAttribute(name);
      return;
    }
    t.setAttribute("role", "tree");
    t.setAttribute("aria-label", model.get("label") || "tree");
    t.setAttribute("aria-multiselectable", "true");
    if (!all.some((r) => codeOf(r) === active)) active = all.length ? codeOf(all[0]) : null;
    const levels = all.map(levelOf);
    all.forEach((row, i) => {
      const level = levels[i];
      row.setAttribute("role", "treeitem");
      row.setAttribute("aria-level", String(level));
      let pos = 1, size = 1;
      for (let j = i - 1; j >= 0 && levels[j] >= level; j--) if (levels[j] === level) pos++;
      size = pos;
      for (let j = i + 1; j < all.length && levels[j] >= level; j++) if (levels[j] === level) size++;
      row.setAttribute("aria-posinset", String(pos));
      row.setAttribute("aria-setsize", String(size));
      if (/(?:^| )wce-has-children(?: |$)/.test(row.className)) {
        row.setAttribute("aria-expanded", /(?:^| )wce-open(?: |$)/.test(row.className) ? "true" : "false");
      } else {
        row.removeAttribute("aria-expanded");
      }
      const check = row.querySelector(".wce-crop-check");
      if (check) {
        const c = check.className;
        const state = /wce-partial/.test(c) ? "mixed" : /wce-(checked|dropped)/.test(c) ? "true" : "false";
        row.setAttribute("aria-checked", state);
        row.setAttribute("aria-selected", state === "true" ? "true" : "false");
      }
      row.setAttribute("aria-label", labelText(row));
      row.tabIndex = codeOf(row) === active ? 0 : -1;
      for (const button of row.querySelectorAll("button")) {
        button.tabIndex = -1;   // one tab stop: the tree; the buttons stay clickable and named
        if (button.title) button.setAttribute("aria-label", button.title);
      }
      const spacer = row.querySelector(".wce-crop-expand");
      if (spacer && !/(?:^| )wce-has-children(?: |$)/.test(row.className)) {
        spacer.setAttribute("aria-hidden", "true");   // a leaf's (disabled) arrow is only a spacer
      }
    });
    if (wantFocus && (!document.activeElement || document.activeElement === document.body)) {
      const row = all.find((r) => codeOf(r) === active);
      if (row) row.focus();
    }
  };
  const schedule = () => { if (!scheduled) { scheduled = true; requestAnimationFrame(decorate); } };
  const observer = new MutationObserver(schedule);
  observer.observe(owner, { childList: true, subtree: true, attributes: true, attributeFilter: ["class", "title"] });
  const focusRow = (row) => { if (!row) return; active = codeOf(row); wantFocus = true; decorate(); row.focus(); };
  owner.addEventListener("focusin", (event) => {
    const row = event.target.closest && event.target.closest(".wce-crop-row");
    if (row && tree() && tree().contains(row)) { active = codeOf(row); } else { wantFocus = false; }
  });
  owner.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !owner.contains(event.relatedTarget)) wantFocus = false;
  });
  owner.addEventListener("keydown", (event) => {
    const row = event.target.closest && event.target.closest(".wce-crop-row");
    if (!row || !tree() || !tree().contains(row)) return;
    const all = rows();
    const i = all.indexOf(row);
    const level = levelOf(row);
    const expand = row.querySelector(".wce-crop-expand");
    const hasChildren = /(?:^| )wce-has-children(?: |$)/.test(row.className);
    const open = /(?:^| )wce-open(?: |$)/.test(row.className);
    let handled = true;
    switch (event.key) {
      case "ArrowDown": focusRow(all[i + 1]); break;
      case "ArrowUp": focusRow(all[i - 1]); break;
      case "Home": focusRow(all[0]); break;
      case "End": focusRow(all[all.length - 1]); break;
      case "ArrowRight":
        if (hasChildren && !open) { wantFocus = true; expand.click(); }
        else if (hasChildren && all[i + 1] && levelOf(all[i + 1]) > level) focusRow(all[i + 1]);
        break;
      case "ArrowLeft":
        if (hasChildren && open) { wantFocus = true; expand.click(); }
        else { for (let j = i - 1; j >= 0; j--) if (levelOf(all[j]) < level) { focusRow(all[j]); break; } }
        break;
      case " ": case "Spacebar": {
        const check = row.querySelector(".wce-crop-check");
        wantFocus = true;
        if (check && !check.disabled) check.click();
        break;
      }
      case "Enter": if (hasChildren) { wantFocus = true; expand.click(); } break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); event.stopPropagation(); }
  });
  schedule();
  return observer;
}
}
export default { render };
"""


def _tree_keys_class() -> type | None:
    try:
        import anywidget
    except ImportError:  # pragma: no cover - anywidget is a dependency
        return None

    class TreeKeys(anywidget.AnyWidget):
        """The page-side half of the tree's WAI-ARIA pattern (roles, states, arrow keys); invisible.

        Attributes
        ----------
        label : str
            The tree's accessible name.
        """

        _esm = _TREE_KEYS_ESM
        label = traitlets.Unicode("tree").tag(sync=True)

    return TreeKeys


#: The page-side helper widget class (``None`` without anywidget).
TreeKeys = _tree_keys_class()


class TreeRow(w.HBox):
    """One tree row: expand arrow, tri-state check box, label with the sample count.

    Attributes
    ----------
    node
        The legend node the row shows.
    expand, check : ipywidgets.Button
        Open / close the branch; tick / untick (their ``tooltip`` is their accessible name).
    label : ipywidgets.HTML
        The name, counts and notes.
    """

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
        if has_children:
            self.add_class("wce-has-children")
        self.level_class = ""
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
    action_of
        The accessible name of a row's check box, saying what a click does ("Include maize (520 samples)");
        default: "Tick <name>" / "Untick <name>".
    tree_label
        The tree's accessible name.
    max_search_results
        How many matches the search lists at most.
    lock
        The lock rebuilds run under (shared with the owner's own rebuilds); a new one when ``None``.
    """

    def __init__(self, *, on_toggle: Callable[[int], None], mark_of: Callable[[int], str],
                 label_of: Callable[[int], str] | None = None, name_of: Callable[[int], str] | None = None,
                 disabled_of: Callable[[int], bool] | None = None, max_search_results: int = 60,
                 lock: Any = None, action_of: Callable[[int], str] | None = None, tree_label: str = "Crop types",
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("wce-legend-tree")
        self.on_toggle = on_toggle
        self._mark_of = mark_of
        self._name_of = name_of or (lambda code: str(self._nodes[code].label))
        self._label_of = label_of or (lambda code: html.escape(self._name_of(code)))
        self._disabled_of = disabled_of or (lambda code: False)
        self._action_of = action_of or (
            lambda code: f"{'Untick' if self._mark_of(code) in ('checked', 'dropped') else 'Tick'} {self._name_of(code)}")
        self.max_search_results = max_search_results
        self.lock = lock if lock is not None else threading.RLock()
        self.root: Any = None
        self._nodes: dict[int, Any] = {}
        self._depth: dict[int, int] = {}
        self._subtree: dict[int, frozenset[int]] = {}
        self._top: list[int] = []
        self._expanded: set[int] = set()
        self._rows: dict[int, TreeRow] = {}
        self.message = w.HTML()  # shown instead of rows ("loading legend…", "no crop type matches"): one, reused
        self.search = w.Text(placeholder="search crop types\u2026", layout=w.Layout(width="100%"),
                             continuous_update=True)
        self.search.tooltip = f"Search {tree_label.lower()} by name or code"
        self.search.add_class("wce-crop-search")
        self.search.observe(lambda _: self.render(), "value")
        self.tree_box = w.VBox(layout=w.Layout(max_height="320px", overflow="auto", width="100%",
                                               border="1px solid #ddd"))
        self.tree_box.add_class("wce-crop-tree")
        #: The page-side helper of the ARIA tree pattern (``None`` without anywidget).
        self.aria = TreeKeys(label=tree_label) if TreeKeys is not None else None
        self.children = [self.search, self.tree_box, *([self.aria] if self.aria is not None else [])]

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

    def row(self, code: int) -> TreeRow:
        """The row of ``code`` (its ``check`` and ``expand`` buttons, its ``label``)."""
        code = int(code)
        with self.lock:
            row = self._rows.get(code)
            if row is None:
                row = self._rows[code] = TreeRow(self._nodes[code], self._depth[code], self)
                self._paint(code, row)  # up to date even before it is shown
            return row

    def _paint(self, code: int, row: TreeRow) -> None:
        mark = self._mark_of(code)
        row.check.description = MARKS[mark]
        for name in MARKS:
            if name != mark:
                row.check.remove_class(f"wce-{name}")
        row.check.add_class(f"wce-{mark}")
        row.check.disabled = bool(self._disabled_of(code))
        row.check.tooltip = self._action_of(code)
        searching = bool(self.search.value.strip())
        level_class = f"wce-level-{1 if searching else self._depth[code] + 1}"
        if row.level_class != level_class:
            if row.level_class:
                row.remove_class(row.level_class)
            row.add_class(level_class)
            row.level_class = level_class
        if row.node.children:
            is_open = code in self._expanded and not searching
            row.expand.description = "\u25be" if code in self._expanded else "\u25b8"
            row.expand.tooltip = (f"{'Collapse' if code in self._expanded else 'Expand'} "
                                  f"{self._name_of(code).replace('_', ' ')}")
            if is_open:
                row.add_class("wce-open")
            else:
                row.remove_class("wce-open")
        row.layout.margin = "0" if searching else f"0 0 0 {16 * self._depth[code]}px"
        row.label.value = self._label_of(code)

    def plain_label(self, code: int) -> str:
        """A row's label as plain text (what a screen reader reads for it)."""
        return html.unescape(_TAGS.sub("", self._label_of(code))).strip()

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
