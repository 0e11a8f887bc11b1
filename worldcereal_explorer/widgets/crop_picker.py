"""Crop-type picker of the dashboard: the legend tree bound to the query state, Include / Drop, grouping.

The tree itself (search box, lazily built rows, expansion) is
:class:`~worldcereal_explorer.widgets.legend_tree.LegendTree`, shared with the reference client's drop-in
in :mod:`worldcereal_explorer.widgets.croptype_picker`; it and the check-box marks are re-exported here.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import pandas as pd

from ..state import RdmQueryState
from ..state.croptype_selection import SELECTION_MODES
from ._base import StateWidget, style_widget
from .keyed_pool import KeyedPool
from .legend_tree import CHECKED, DROPPED, MARKS, PARTIAL, UNCHECKED, LegendTree, _Row

__all__ = ["CHECKED", "DROPPED", "MARKS", "PARTIAL", "SELECTION_MODES", "UNCHECKED", "CropTypePicker", "LegendTree"]

#: What the numbers in the crop list are (shown over the tree and on each number).
COUNTS_NOTE = "numbers: samples in the collections found, incl. sub-classes"
#: Most chips shown above the tree; the rest are summed up as "+N more".
MAX_CHIPS = 40


class CropTypePicker(StateWidget):
    """Pick crop types from the legend tree; optionally group them into new labels.

    Two selection modes: in ``"Include"`` mode the ticked classes are the crop filter
    (``state.ewoc_codes``); in ``"Drop"`` mode the ticked classes are left out: the filter becomes every
    code of the collections found (``state.class_counts``) except the dropped ones and their
    descendants. Each mode keeps its own ticks; the filter follows the mode shown.

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
    selected : set of int
        The codes ticked in Include mode.
    dropped : set of int
        The codes ticked in Drop mode.
    mode_toggle : ipywidgets.ToggleButtons
        ``"Include"`` / ``"Drop"``; also settable through :attr:`mode`.
    ready : bool
        Whether the legend is there and the tree is drawn.
    """

    def __init__(self, state: RdmQueryState | None = None, legend: Any = None, *,
                 max_search_results: int = 60, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-crop-picker")
        self.legend: Any = None
        self.selected: set[int] = {int(c) for c in self.state.ewoc_codes}
        self.dropped: set[int] = set()
        self._counts: dict[int, int] = {}
        self.tree = LegendTree(on_toggle=self.toggle, mark_of=self.node_state, label_of=self._row_label,
                               max_search_results=max_search_results, lock=self._render_lock,
                               layout=w.Layout(width="100%"))
        self.search, self.tree_box = self.tree.search, self.tree.tree_box
        self.mode_toggle = w.ToggleButtons(options=list(SELECTION_MODES), value="Include",
                                           tooltips=["tick the classes to keep", "tick the classes to leave out"],
                                           style={"button_width": "80px"})
        self.mode_toggle.add_class("wce-crop-mode")
        self.mode_toggle.observe(self._on_mode, "value")
        self.clear_button = w.Button(description="Clear", icon="times", layout=w.Layout(width="auto"))
        self.clear_button.on_click(lambda _: self.clear())
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
        #: The ticked classes of the current mode as removable chips (a fully ticked branch is one chip).
        self.chips = w.Box(layout=w.Layout(flex_flow="row wrap", width="100%", align_items="center"))
        self.chips.add_class("wce-crop-chips")
        self.chip_buttons: dict[int, w.Button] = {}
        self._pooled_widgets: list[w.Widget] = []  # the pool's buttons, so closing the picker reaches them
        #: Chip buttons made once and shown again as the selection changes (see keyed_pool.py): a chip keeps
        #: its code while the browser may still show it, so clicking two chips quickly unticks those two.
        self._chips: KeyedPool[_Chip] = KeyedPool(self._new_chip, lambda chip: chip.code)
        self.more_chips = w.HTML()
        self.counts_note = w.HTML(f"<span style='color:#666;font-size:12px'>{html.escape(COUNTS_NOTE)}</span>")
        self.counts_note.add_class("wce-crop-counts-note")
        self.children = [
            style_widget(),
            w.HTML("<b>Crop types</b>"),
            self.mode_toggle,
            self.chips,
            self.counts_note,
            self.tree,
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
        return self.tree.ready

    @property
    def root(self) -> Any:
        """The legend tree's root node (``None`` until the legend is there)."""
        return self.tree.root

    def _on_legend(self, change: dict | None = None) -> None:
        legend = self.state.legend
        if legend is not None:
            self._set_legend(legend)
        elif self.state.legend_status == "error":
            self.tree.show_message("<span class='wce-crop-error' style='color:#b71c1c'>Crop types unavailable: "
                                   f"{html.escape(self.state.legend_message)}</span>")
        else:
            self.tree.show_message("<i class='wce-crop-loading'>loading legend\u2026</i>")

    def _set_legend(self, legend: Any) -> None:
        with self._render_lock:
            if self.tree.ready:
                return
            self.legend = legend
            self.tree.set_root(legend.tree())
        self._render()

    # --- tree bookkeeping (delegated to the tree) --------------------------------------------------
    def subtree_codes(self, code: int) -> frozenset[int]:
        """``code`` and every code below it in the legend tree."""
        return self.tree.subtree_codes(code)

    @property
    def top_codes(self) -> list[int]:
        """Codes of the legend's top-level classes, in tree order (empty until the legend is there)."""
        return self.tree.top_codes

    @property
    def nodes(self) -> dict[int, Any]:
        """Every legend node by code (a copy; empty until the legend is there)."""
        return self.tree.nodes

    def row(self, code: int) -> _Row:
        """The tree row of ``code`` (its ``check`` and ``expand`` buttons, its ``label``)."""
        return self.tree.row(code)

    def toggle_expanded(self, code: int) -> None:
        """Open or close the branch under ``code``."""
        self.tree.toggle_expanded(code)

    def expand_to(self, code: int) -> None:
        """Open every ancestor of ``code`` so its row is visible."""
        self.tree.expand_to(code)

    def node_state(self, code: int) -> str:
        """``"checked"``, ``"unchecked"`` or ``"partial"`` (some but not all of the subtree ticked) in the
        current mode; a fully ticked subtree is ``"dropped"`` in Drop mode."""
        subtree = self.tree.subtree_codes(code)
        ticked = self.dropped if self.mode == "Drop" else self.selected
        n = len(subtree & ticked)
        if n == 0:
            return "unchecked"
        if n < len(subtree):
            return "partial"
        return "dropped" if self.mode == "Drop" else "checked"

    # --- modes -------------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """``"Include"`` or ``"Drop"``: what ticking a class means (setting it switches the filter)."""
        return self.mode_toggle.value

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in SELECTION_MODES:
            raise ValueError(f"mode must be one of {SELECTION_MODES}, not {value!r}")
        self.mode_toggle.value = value

    def _on_mode(self, change: dict | None = None) -> None:
        self._push()

    def drop_filter_codes(self) -> list[int]:
        """The code filter of Drop mode: every code of ``state.class_counts`` except the dropped ones
        (empty when nothing is dropped or no counts are there yet)."""
        if not self.dropped or self.state.class_counts is None:
            return []
        present = self.state.counts_by_code(unfiltered=True)
        return sorted(set(present) - self.dropped)

    # --- user actions --------------------------------------------------------------------------------
    def toggle(self, code: int) -> None:
        """Tick the whole subtree of ``code`` in the current mode, or untick it when it is fully ticked."""
        subtree = self.tree.subtree_codes(code)
        ticked = self.dropped if self.mode == "Drop" else self.selected
        codes = ticked - subtree if subtree <= ticked else ticked | subtree
        if self.mode == "Drop":
            self.set_dropped(codes)
        else:
            self.set_selection(codes)

    def set_selection(self, codes: Any) -> None:
        """Replace the Include ticks (and push them to the state when in Include mode)."""
        self.selected = {int(c) for c in codes}
        self._push()

    def set_dropped(self, codes: Any) -> None:
        """Replace the Drop ticks (and push the resulting filter to the state when in Drop mode).

        Dropping every class of the collections found is refused with a message (an empty filter would
        mean "every crop").
        """
        codes = {int(c) for c in codes}
        present = set(self.state.counts_by_code(unfiltered=True))
        if codes and present and present <= codes:
            self.summary.value = "<span style='color:#b71c1c'>Cannot drop every class of the collections found.</span>"
            return
        self.dropped = codes
        self._push()

    def clear(self) -> None:
        """Untick everything in the current mode."""
        if self.mode == "Drop":
            self.set_dropped([])
        else:
            self.set_selection([])

    def reset(self) -> None:
        """Back to the default: nothing ticked in either mode, no grouping, Include mode, empty search box."""
        self.dropped = set()
        self.selected = set()
        self.tree.search.value = ""
        self.group_name.value = ""
        with self._sync():
            self.mode_toggle.value = "Include"
        with self._sync(), self.state.hold_trait_notifications():
            if list(self.state.ewoc_codes):
                self.state.ewoc_codes = []
            if dict(self.state.grouping):
                self.state.grouping = {}
        self._render()

    def untick(self, code: int) -> None:
        """Remove ``code`` and everything below it from the current mode's ticks (a chip's \u00d7)."""
        code = int(code)
        remove = self.tree.subtree_codes(code) if code in self.tree.nodes else frozenset({code})
        if self.mode == "Drop":
            self.set_dropped(self.dropped - remove)
        else:
            self.set_selection(self.selected - remove)

    def chip_codes(self) -> list[int]:
        """The codes shown as chips: each fully ticked branch once (by its top code), then ticked codes the
        legend does not have."""
        ticked = self.dropped if self.mode == "Drop" else self.selected
        if not ticked:
            return []
        if not self.tree.ready:
            return sorted(ticked)
        out: list[int] = []

        def visit(codes: list[int]) -> None:
            for code in codes:
                subtree = self.tree.subtree_codes(code)
                if subtree <= ticked:
                    out.append(code)
                elif subtree & ticked:
                    visit([int(c.code) for c in self.tree.node(code).children])

        visit(self.tree.top_codes)
        known = self.tree.nodes
        return out + sorted(c for c in ticked if c not in known)

    def _chip_label(self, code: int) -> str:
        try:
            return str(self.tree.node(code).label)
        except KeyError:  # a code set elsewhere that the legend does not have
            return f"code {code}"

    def _render_chips(self) -> None:
        codes = self.chip_codes()
        drop = self.mode == "Drop"
        shown = codes[:MAX_CHIPS]
        buttons: dict[int, w.Button] = {}
        for code, chip in zip(shown, self._chips.assign(shown), strict=True):
            chip.show(code, self._chip_label(code), drop)
            buttons[code] = chip.button
        self.chip_buttons = buttons
        more = len(codes) - len(buttons)
        self.more_chips.value = f"<span style='color:#666;font-size:12px'>+{more} more</span>" if more > 0 else ""
        children = [*buttons.values(), *([self.more_chips] if more > 0 else [])]
        if list(self.chips.children) != children:
            self.chips.children = children
        self.chips.layout.display = "" if buttons else "none"

    def _new_chip(self) -> _Chip:
        chip = _Chip(self.untick)
        self._pooled_widgets.append(chip.button)
        return chip

    def _push(self) -> None:
        """Write the current mode's filter (and the grouping of the still selected codes) to the state."""
        codes = self.drop_filter_codes() if self.mode == "Drop" else sorted(self.selected)
        grouping = {c: lab for c, lab in self.state.grouping.items() if int(c) in self.selected}
        with self._sync(), self.state.hold_trait_notifications():
            if list(self.state.ewoc_codes) != codes:
                self.state.ewoc_codes = codes
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

    def _set_grouping(self, grouping: dict[Any, str]) -> None:
        with self._sync():
            self.state.grouping = grouping
        self._render()

    def _frame(self, codes: list[int]) -> pd.DataFrame:
        if self.legend is None:  # not loaded yet: name the codes by themselves
            original = [f"unknown ({c})" for c in codes]
        else:
            original = list(self.legend.labels(codes)) if codes else []
        grouping = {int(k): v for k, v in self.state.grouping.items()}
        return pd.DataFrame(
            {"new_label": [grouping.get(c, lab) for c, lab in zip(codes, original, strict=True)], "original_label": original},
            index=pd.Index(codes, name="ewoc_code", dtype="int64"),
        )

    @property
    def croptypes(self) -> pd.DataFrame:
        """The Include selection: index ``ewoc_code``; columns ``new_label`` and ``original_label``."""
        return self._frame(sorted(self.selected))

    @property
    def dropped_croptypes(self) -> pd.DataFrame:
        """The Drop ticks: index ``ewoc_code``; columns ``new_label`` and ``original_label``."""
        return self._frame(sorted(self.dropped))

    # --- state -> widget -------------------------------------------------------------------------------
    def _on_state_codes(self, change: dict | None = None) -> None:
        if self._syncing:
            return
        if change is not None and change.get("name") == "grouping":
            self._render()
            return
        # A filter set elsewhere is an Include selection: show it as such.
        self.selected = {int(c) for c in self.state.ewoc_codes}
        if self.mode == "Drop" and list(self.state.ewoc_codes) != self.drop_filter_codes():
            with self._sync():
                self.mode_toggle.value = "Include"
        self._render()

    def _on_counts(self, change: dict | None = None) -> None:
        # Every class's totals over the space / time / access search, whatever is ticked: counts filtered
        # by the selection would show (0) for every class not ticked.
        self._counts = self.state.counts_by_code(unfiltered=True)
        if self.mode == "Drop" and self.dropped:
            self._push()  # the filter is "every code found but the dropped": follow the codes found
        else:
            self._render()

    # --- rendering ---------------------------------------------------------------------------------------
    def _count_of(self, code: int) -> int | None:
        if self.state.class_counts is None:
            return None
        return sum(self._counts.get(c, 0) for c in self.tree.subtree_codes(code))

    def _row_label(self, code: int) -> str:
        count = self._count_of(code)
        count_html = "" if count is None else (
            f" <span class='wce-crop-count' title='{count:,} samples in the collections found, incl. "
            f"sub-classes' style='color:#666'>({count:,})</span>")
        label = {int(k): v for k, v in self.state.grouping.items()}.get(int(code))
        group_html = f" <span style='color:#6a1b9a'>&rarr; {html.escape(label)}</span>" if label else ""
        return f"{html.escape(str(self.tree.node(code).label))}{count_html}{group_html}"

    def _render(self) -> None:
        with self._render_lock:
            self.tree.render()
            self._render_chips()
            grouping = {int(k): v for k, v in self.state.grouping.items()}
            n, d = len(self.selected), len(self.dropped)
            groups = sorted(set(grouping.values()))
            if self.mode == "Drop":
                text = ("nothing dropped (no filter)" if d == 0 else
                        f"{d} class{'es' if d != 1 else ''} dropped")
            else:
                text = ("every crop type (no filter)" if n == 0 else
                        f"{n} class{'es' if n != 1 else ''} selected"
                        + (f"; groups: {html.escape(', '.join(groups))}" if groups else ""))
            self.summary.value = text


class _Chip:
    """One reusable chip: a button that unticks whichever code it shows.

    Parameters
    ----------
    untick
        Called with the chip's code when it is clicked.
    """

    def __init__(self, untick: Any):
        self.code: int | None = None
        self._untick = untick
        self.button = w.Button(layout=w.Layout(width="auto", max_width="100%"))
        self.button.add_class("wce-chip")
        self.button.on_click(self._on_click)

    def _on_click(self, _button: Any) -> None:
        if self.code is not None:
            self._untick(self.code)

    def show(self, code: int, label: str, dropped: bool) -> None:
        """Show ``code`` (labelled ``label``); ``dropped`` marks a chip of the Drop mode."""
        if self.code != code:
            if self.code is not None:
                self.button.remove_class(f"wce-chip-{self.code}")
            self.button.add_class(f"wce-chip-{code}")
            self.code = code
        self.button.description = f"{label} \u00d7"
        self.button.tooltip = f"untick {label} ({code})"
        if dropped:
            self.button.add_class("wce-chip-dropped")
        else:
            self.button.remove_class("wce-chip-dropped")
