"""The crop-type picker: one widget for the dashboard and for the reference client's drop-in.

:class:`CropTypePicker` draws the legend as a lazily built, keyboard-walkable tree
(:class:`~worldcereal_explorer.widgets.legend_tree.LegendTree`) and works in one of two bindings:

* **bound to a query state** (``CropTypePicker(state)``, the dashboard's): ticks are the crop filter
  ``state.ewoc_codes`` (Include mode), or leave classes out of it (Drop mode: the filter becomes every code of
  the collections found but the dropped ones); class names are ``state.grouping``. The picker observes both
  traits and never calls the network.
* **on its own** (``CropTypePicker(ewoc_codes=DEMO_CROPS)``, ``sample_df=...``: the reference client's
  ``notebook_utils.croptypepicker`` as a drop-in): the legend restricted to some codes (with sample counts),
  Include / Drop ticks on tree nodes (a ticked node stands for every class below it), "Apply" giving
  ``.croptypes``, and :func:`apply_croptypepicker_to_df`.

In both, the classes can be edited as the reference's rewritten picker (PR #768) allows: move a code to
another class (:meth:`CropTypePicker.move`), combine classes (:meth:`~CropTypePicker.combine`), split a class
back into its codes (:meth:`~CropTypePicker.split`), rename one (:meth:`~CropTypePicker.rename`), start empty
(:meth:`~CropTypePicker.start_empty`) or from a named class scheme (:meth:`~CropTypePicker.from_scheme`,
``CROPTYPE24`` ...), and two binary shortcuts: crop / non-crop (:meth:`~CropTypePicker.crop_noncrop`) and
this class / everything else (:meth:`~CropTypePicker.one_vs_rest`). Every action can be undone
(:meth:`~CropTypePicker.undo`, the Undo button).

Example
-------
>>> picker = CropTypePicker(ewoc_codes=DEMO_CROPS, display_ui=False)   # doctest: +SKIP
>>> picker.toggle(1101000000); picker.apply_selection()                # doctest: +SKIP
>>> apply_croptypepicker_to_df(samples, picker)["downstream_class"]    # doctest: +SKIP
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import ipywidgets as w
import pandas as pd
import traitlets

from ..errors import BadParameterError
from ..extents import normalize_ewoc_codes
from ..state import RdmQueryState
from ..state.croptype_selection import (
    SELECTION_MODES,
    CropTypeSelection,
    PickerTree,
    apply_croptypepicker_to_df,
    build_picker_tree,
    classes_of,
    combine_classes,
    crop_noncrop_mapping,
    croptypes_frame,
    empty_croptypes,
    move_code,
    one_vs_rest_mapping,
    rename_class,
    split_class,
)
from ..state.legend_loading import DefaultLegendLoader
from ._base import style_widget
from .keyed_pool import KeyedPool
from .legend_tree import CHECKED, DROPPED, MARKS, PARTIAL, UNCHECKED, LegendTree, TreeRow

__all__ = ["CHECKED", "DEMO_CROPS", "DROPPED", "MARKS", "PARTIAL", "SELECTION_MODES", "UNCHECKED", "CropTypePicker",
           "CropTypeSelection", "DefaultLegendLoader", "LegendTree", "PickerTree", "TreeRow",
           "apply_croptypepicker_to_df", "build_picker_tree"]

#: What the numbers in the crop list are (shown over the tree and on each number).
COUNTS_NOTE = ("numbers: samples in the whole collections found (before area, date, quality and subset filters), "
               "incl. sub-classes")
#: Most chips shown above the tree; the rest are summed up as "+N more".
MAX_CHIPS = 40
#: The chip box's fixed height: two rows of chips (24 px and 2 px margins each).
CHIPS_HEIGHT = "56px"
#: What the chip box shows when nothing is ticked.
NO_CHIPS = "no crop type ticked: every crop type counts"
#: The fold choice (bound): sub-classes of a ticked class take its name, or keep their own.
FOLD_TEXT = "sub-classes take the ticked class's name"
FOLD_TOOLTIP = ("ticked: ticking maize makes maize and green silo maize one class, 'maize' (new_label in the "
                "exports); unticked: each sub-class stays a class of its own")
#: Most actions :meth:`CropTypePicker.undo` can take back.
MAX_UNDO = 100
#: The "start from" choices besides the named class schemes.
START_EMPTY, START_CROP_NONCROP = "empty", "crop / non-crop"

#: Classes for a first look, like the reference's ``DEMO_CROPS``: every one of them has samples in the
#: demo catalogue (``worldcereal_explorer.demo``) and a row in the official legend.
DEMO_CROPS: list[int] = [
    1100000000,  # temporary_crops
    1101000000,  # cereals
    1101010000,  # wheat
    1101010001,  # winter wheat
    1101010002,  # spring wheat
    1101020000,  # barley
    1101020001,  # winter barley
    1101060000,  # maize
    1101070000,  # sorghum
    1101080000,  # rice
    1101120000,  # millet
    1101120040,  # pearl millet
    1105000000,  # dry pulses, legumes
    1105010010,  # beans
    1105010040,  # chickpeas
    1105010050,  # cowpeas
    1106000000,  # oilseeds
    1106000010,  # sunflower
    1106000020,  # soybeans
    1106000030,  # rapeseed
    1106000050,  # groundnuts
    1107000000,  # root / tuber crops
    1107000010,  # potatoes
    1107000031,  # sugar beet
    1107000040,  # cassava
    1108000010,  # cotton
    1111010100,  # sugar cane
    1111020010,  # alfalfa
    1200000000,  # permanent crops
    1201000010,  # vineyards
    1202000010,  # coffee
    1203000010,  # olive
    1203000030,  # oil palm
    2000000000,  # non-cropland herbaceous
    2001020010,  # pastures
    3000000000,  # shrubland
    4000000000,  # trees
    5000000000,  # bare, sparsely vegetated
    6000000000,  # built-up
    7000000000,  # open water
]


class CropTypePicker(w.VBox):
    """Pick crop types from the legend tree and shape them into classes; bound to a query state or on its own.

    Parameters
    ----------
    ewoc_codes
        On its own: the classes to offer (default: every class of the legend). An
        :class:`~worldcereal_explorer.state.RdmQueryState` here binds the picker to it (``CropTypePicker(state)``,
        the same as ``state=state``).
    sample_df
        On its own: a samples table with an ``ewoc_code`` column; only its classes are offered, with their sample
        counts (intersected with ``ewoc_codes`` when both are given).
    count_threshold
        With ``sample_df``: classes (and branches) with fewer samples are hidden.
    expand
        Open every branch at the start.
    display_ui
        Display the picker in the notebook at once; ``False`` only builds it (scripts, tests). Default: on its
        own yes (as the reference does), bound to a state no (the dashboard places it).
    selection_modes
        ``"Include"`` and/or ``"Drop"``; the first is the starting mode.
    state
        The query state to bind to: the picker then sets ``state.ewoc_codes`` and ``state.grouping`` and
        follows changes made elsewhere; its legend is the state's, loaded in the background.
    legend
        A :class:`~worldcereal_explorer.legend.Legend`; by default the state's, or on its own the process-wide
        default legend, loaded in the background ("loading legend…" shows until it is there).
    max_search_results
        How many matches the search box lists at most.

    Attributes
    ----------
    croptypes : pandas.DataFrame
        The included classes: index ``ewoc_code``, columns ``new_label`` (the class name) and ``original_label``.
        Bound: the current selection. On its own: empty until :meth:`apply_selection`.
    included_croptypes, dropped_croptypes : pandas.DataFrame
        The included classes (= ``croptypes``) and the dropped ones, same columns.
    classes : dict
        ``{class name: codes}`` of the included codes as they are now (before Apply, on its own).
    state : RdmQueryState or None
        The state the picker is bound to.
    selection : CropTypeSelection
        On its own: the ticks (traits).
    selected, dropped : set of int
        Bound: the codes ticked in Include mode and in Drop mode.
    mode_toggle : ipywidgets.ToggleButtons
        ``"Include"`` / ``"Drop"`` (also ``selection_mode``; settable through :attr:`mode`).
    tree : LegendTree
        The tree view (``tree.row(code).check.click()`` ticks like a user).
    ready : bool
        Whether the legend is there and the tree is drawn.
    """

    def __init__(self, ewoc_codes: Any = None, sample_df: pd.DataFrame | None = None,
                 count_threshold: int = 0, expand: bool = False, display_ui: bool | None = None,
                 selection_modes: Sequence[str] = SELECTION_MODES, *, state: RdmQueryState | None = None,
                 legend: Any = None, max_search_results: int = 60, **kwargs: Any):
        if isinstance(ewoc_codes, RdmQueryState):
            if state is not None and state is not ewoc_codes:
                raise BadParameterError("two states given: pass the query state once")
            state, ewoc_codes = ewoc_codes, None
        if state is not None and (ewoc_codes is not None or sample_df is not None):
            raise BadParameterError("ewoc_codes and sample_df restrict a picker on its own; a picker bound to a "
                                    "query state offers the state's legend (its codes are state.ewoc_codes)")
        super().__init__(**kwargs)
        self.state: RdmQueryState | None = state
        self.add_class("wce-crop-picker")
        if state is None:
            self.add_class("wce-croptype-picker")
        modes = list(selection_modes or [])
        unknown = [m for m in modes if m not in SELECTION_MODES]
        if unknown or not modes:
            raise BadParameterError(f"selection_modes must be 'Include' and/or 'Drop', not {list(selection_modes)!r}")
        self.selection_modes = list(dict.fromkeys(modes))
        self.ewoc_codes = None if ewoc_codes is None else normalize_ewoc_codes(list(ewoc_codes))
        self.sample_counts: pd.Series | None = None
        if sample_df is not None:
            if "ewoc_code" not in getattr(sample_df, "columns", ()):
                raise BadParameterError("sample_df has no 'ewoc_code' column")
            self.sample_counts = (
                pd.to_numeric(sample_df["ewoc_code"]).astype("int64").value_counts().sort_index().rename("count"))
        self.count_threshold = int(count_threshold)
        self.expand = bool(expand)
        self.legend: Any = None
        self.picker_tree: PickerTree | None = None
        self._syncing = False
        self._render_lock = threading.RLock()
        self._observers: list[tuple[Any, Any]] = []
        self._undo: list[tuple] = []
        self._shown_classes: tuple = ()
        # on its own: the ticks and the applied frames; bound: the two modes' code sets and the counts
        self.selection = CropTypeSelection(mode=self.selection_modes[0])
        self._applied = empty_croptypes()
        self._applied_dropped = empty_croptypes()
        self.selected: set[int] = {int(c) for c in state.ewoc_codes} if state is not None else set()
        self.dropped: set[int] = set()
        self._counts: dict[int, int] = {}

        self.tree = LegendTree(on_toggle=self.toggle, mark_of=self.node_state, label_of=self._row_label,
                               name_of=self.name_of, disabled_of=self._disabled_of, action_of=self._action_of,
                               max_search_results=max_search_results, lock=self._render_lock,
                               layout=w.Layout(width="100%"))
        self.search, self.tree_box = self.tree.search, self.tree.tree_box
        self.mode_toggle = w.ToggleButtons(options=self.selection_modes, value=self.selection_modes[0],
                                           tooltips=[{"Include": "tick the classes to keep",
                                                      "Drop": "tick the classes to leave out"}[m]
                                                     for m in self.selection_modes],
                                           style={"button_width": "80px"})
        self.mode_toggle.add_class("wce-crop-mode")
        self.selection_mode = self.mode_toggle  # the drop-in's name for it
        self._mode_link: Any = None
        if state is None:
            self._mode_link = traitlets.link((self.selection, "mode"), (self.mode_toggle, "value"))
        if len(self.selection_modes) < 2:
            self.mode_toggle.layout.display = "none"
        self.mode_toggle.observe(self._on_mode, "value")
        self.title = w.HTML()
        self.clear_button = w.Button(description="Clear" if state is not None else "Clear selection",
                                     icon="times", tooltip="untick every crop type",
                                     layout=w.Layout(width="auto"))
        self.clear_button.on_click(lambda _: self.clear() if self.state is not None else self.clear_selection())
        self.apply_button = w.Button(description="Apply", button_style="success", icon="check",
                                     tooltip="apply the selection: the classes become croptypes")
        self.apply_button.on_click(lambda _: self._apply_clicked())
        self.group_name = w.Text(placeholder="new label", layout=w.Layout(width="45%"))
        self.group_name.add_class("wce-group-name")
        self.group_button = w.Button(description="Group", tooltip="give the selected classes this label",
                                     layout=w.Layout(width="auto"))
        self.group_button.add_class("wce-group-button")
        self.group_button.on_click(lambda _: self.group_selected(self.group_name.value) if self.state is not None
                                   else self.group_ticked(self.group_name.value))
        self.ungroup_button = w.Button(description="Ungroup", tooltip="give every class its own name again",
                                       layout=w.Layout(width="auto"))
        self.ungroup_button.on_click(lambda _: self.ungroup())
        self.undo_button = w.Button(description="Undo", icon="undo", tooltip="undo the last change to the classes",
                                    disabled=True, layout=w.Layout(width="auto"))
        self.undo_button.add_class("wce-crop-undo")
        self.undo_button.on_click(lambda _: self._button(self.undo))
        self.summary = w.HTML()
        self.summary.add_class("wce-crop-summary" if state is not None else "wce-croptype-summary")
        #: The ticked classes of the current mode as removable chips (bound only; a fully ticked branch is one chip,
        #: "maize + 1 sub-class"). The box keeps its height whatever it holds (CHIPS_HEIGHT; more chips scroll in
        #: it): a chip added above the tree must not push the row the user is about to click down under the pointer.
        self.chips = w.Box(layout=w.Layout(flex_flow="row wrap", width="100%", align_items="center",
                                           align_content="flex-start", height=CHIPS_HEIGHT, min_height=CHIPS_HEIGHT,
                                           overflow="hidden auto"))
        self.chips.add_class("wce-crop-chips")
        self.no_chips = w.HTML(f"<span style='color:#666;font-size:12px;line-height:24px'>{html.escape(NO_CHIPS)}</span>")
        self.no_chips.add_class("wce-crop-no-chips")
        #: Bound: whether ticking a class with sub-classes gives them the class's name (one class, as the chip says)
        #: or leaves each its own; the choice is written into ``state.grouping``, so everything that carries the
        #: grouping (exports, copied code, links, sessions, training) carries it too.
        self.fold = w.Checkbox(value=True, indent=False, description=FOLD_TEXT, tooltip=FOLD_TOOLTIP,
                               layout=w.Layout(width="auto"))
        self.fold.add_class("wce-crop-fold")
        self.fold.observe(self._on_fold, "value")
        self.chip_buttons: dict[int, w.Button] = {}
        self._pooled_widgets: list[w.Widget] = []  # the pool's buttons, so closing the picker reaches them
        #: Chip buttons made once and shown again as the selection changes (see keyed_pool.py): a chip keeps
        #: its code while the browser may still show it, so clicking two chips quickly unticks those two.
        self._chips: KeyedPool[_Chip] = KeyedPool(self._new_chip, lambda chip: chip.code)
        self.more_chips = w.HTML()
        self.counts_note = w.HTML(f"<span style='color:#666;font-size:12px'>{html.escape(COUNTS_NOTE)}</span>")
        self.counts_note.add_class("wce-crop-counts-note")
        self._build_class_editor()

        if state is not None:
            self.apply_button.layout.display = "none"
            self.children = [
                style_widget(), w.HTML("<b>Crop types</b>"), self.mode_toggle, self.chips, self.fold, self.counts_note,
                self.tree, w.HBox([self.group_name, self.group_button, self.ungroup_button]),
                w.HBox([self.summary, self.clear_button], layout=w.Layout(justify_content="space-between")),
                self.class_editor,
            ]
            self._observe_state(self._on_state_codes, ["ewoc_codes", "grouping"])
            self._observe_state(self._on_counts, "class_counts")
        else:
            self.children = [
                style_widget(), w.HTML("<b>Selection mode</b>"), self.mode_toggle, self.title, self.tree,
                w.HBox([self.group_name, self.group_button, self.ungroup_button]),
                w.HBox([self.apply_button, self.clear_button]), self.summary, self.class_editor,
            ]
            self.selection.observe(self._on_selection, ["mode", "include", "drop", "labels"])
            self._update_title()

        self.loader: DefaultLegendLoader | None = None
        if legend is not None:
            self._set_legend(legend)
        elif state is not None:
            self._observe_state(self._on_legend, ["legend", "legend_status"])
            # The state loads it on a worker thread; the tree fills in from _on_legend.
            state.load_legend()
            self._on_legend()
        else:
            self.loader = DefaultLegendLoader()
            self.loader.observe(self._on_legend, ["legend", "legend_status"])
            self.loader.load_legend()
            self._on_legend()
        if state is not None:
            self._on_counts()
        if display_ui if display_ui is not None else state is None:
            self.display()

    # --- plumbing ----------------------------------------------------------------------------------------
    @property
    def bound(self) -> bool:
        """Whether the picker is bound to a query state (the dashboard's binding)."""
        return self.state is not None

    @contextmanager
    def _sync(self) -> Iterator[None]:
        """Suppress the echo of a change we are making ourselves (widget -> state -> widget)."""
        previous, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = previous

    def _observe_state(self, handler: Any, names: Any) -> None:
        assert self.state is not None
        self.state.observe(handler, names=names)
        self._observers.append((handler, names))

    def _bound_state(self) -> RdmQueryState:
        assert self.state is not None
        return self.state

    # --- legend ------------------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether the legend is there and the tree is drawn."""
        return self.tree.ready

    @property
    def root(self) -> Any:
        """The tree's root node (``None`` until the legend is there)."""
        return self.tree.root

    def wait_ready(self, timeout: float | None = 60.0) -> bool:
        """Block until the legend is loaded and the tree drawn (or loading failed); ``ready``."""
        if not self.ready:
            if self.loader is not None:
                self.loader.load_legend(wait=True, timeout=timeout)
            elif self.state is not None:
                self.state.load_legend(wait=True, timeout=timeout)
        return self.ready

    def _on_legend(self, change: dict | None = None) -> None:
        source: Any = self.state if self.state is not None else self.loader
        if source is None:
            return
        if source.legend is not None:
            self._set_legend(source.legend)
        elif source.legend_status == "error":
            self.tree.show_message("<span class='wce-crop-error' style='color:#b71c1c'>Crop types unavailable: "
                                   f"{html.escape(source.legend_message)}</span>")
        else:
            self.tree.show_message("<i class='wce-crop-loading'>loading legend\u2026</i>")

    def _set_legend(self, legend: Any) -> None:
        with self._render_lock:
            if self.legend is not None:
                return
            if self.state is not None:
                self.legend = legend
                self.tree.set_root(legend.tree())
            else:
                codes: set[int] | None = None if self.ewoc_codes is None else set(self.ewoc_codes)
                counts = None
                if self.sample_counts is not None:
                    present = {int(c) for c in self.sample_counts.index}
                    codes = present if codes is None else codes & present
                    counts = {int(k): int(v) for k, v in self.sample_counts.items()}  # type: ignore[call-overload]
                self.picker_tree = build_picker_tree(legend, codes, counts, self.count_threshold)
                self.legend = legend
                self.tree.set_root(self.picker_tree.root)
            if self.expand:
                self.tree.expand_all()
            elif self.state is None and len(self.tree.top_codes) == 1:
                self.tree.toggle_expanded(self.tree.top_codes[0])
        self._render()

    def display(self) -> None:
        """Show the picker in the notebook (Jupyter / Voilà)."""
        from IPython.display import display

        display(self)

    @property
    def widget(self) -> CropTypePicker:
        """The picker itself (the reference keeps its widget in ``.widget``)."""
        return self

    # --- tree bookkeeping (delegated to the tree) ----------------------------------------------------------
    def subtree_codes(self, code: int) -> frozenset[int]:
        """``code`` and every code below it in the tree."""
        return self.tree.subtree_codes(code)

    @property
    def top_codes(self) -> list[int]:
        """Codes of the top rows, in tree order (empty until the legend is there)."""
        return self.tree.top_codes

    @property
    def nodes(self) -> dict[int, Any]:
        """Every tree node by code (a copy; empty until the legend is there)."""
        return self.tree.nodes

    def row(self, code: int) -> TreeRow:
        """The tree row of ``code`` (its ``check`` and ``expand`` buttons, its ``label``)."""
        return self.tree.row(code)

    def toggle_expanded(self, code: int) -> None:
        """Open or close the branch under ``code``."""
        self.tree.toggle_expanded(code)

    def expand_to(self, code: int) -> None:
        """Open every ancestor of ``code`` so its row is visible."""
        self.tree.expand_to(code)

    def name_of(self, code: int) -> str:
        """A node's name. Bound: its legend label. On its own: the name it gives its classes, its heading in the
        hierarchy when it has sub-classes shown (``cereals``), else its label (``maize``)."""
        node = self.tree.node(code)
        if self.state is None and node.children:
            return str(node.group_name or node.label)
        return str(node.label)

    def _original_label(self, code: int) -> str:
        if self.state is None and int(code) in self.tree.nodes:
            return self.name_of(code)
        if self.legend is not None:
            return str(self.legend.label(int(code)))
        return f"unknown ({int(code)})"

    # --- modes -------------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """``"Include"`` or ``"Drop"``: what ticking a class means (bound: setting it switches the filter)."""
        return str(self.mode_toggle.value)

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in self.selection_modes:
            raise BadParameterError(f"mode must be one of {self.selection_modes}, not {value!r}")
        self.mode_toggle.value = value

    def _on_mode(self, change: dict | None = None) -> None:
        if self.state is not None:
            self._push()

    def _other(self) -> str:
        return "Include" if self.mode == "Drop" else "Drop"

    def drop_filter_codes(self) -> list[int]:
        """Bound: the code filter of Drop mode, every code of ``state.class_counts`` except the dropped ones
        (empty when nothing is dropped or no counts are there yet)."""
        state = self.state
        if state is None or not self.dropped or state.class_counts is None:
            return []
        return sorted(set(state.counts_by_code(unfiltered=True)) - self.dropped)

    # --- what a row shows --------------------------------------------------------------------------------
    def covered(self, code: int, mode: str | None = None) -> int | None:
        """On its own: the ticked node of ``mode`` that ``code`` is, or is nearest under; else ``None``."""
        ticked = set(self.selection.ticked(mode))
        if int(code) in ticked:
            return int(code)
        return next((a for a in self.tree.ancestors(code) if a in ticked), None)

    def node_state(self, code: int) -> str:
        """``"checked"``, ``"unchecked"``, ``"partial"`` (some of the subtree ticked) or, in Drop mode,
        ``"dropped"``, in the current mode."""
        drop = self.mode == "Drop"
        if self.state is None:
            if self.covered(code) is not None:
                return "dropped" if drop else "checked"
            return "partial" if self.tree.subtree_codes(code) & set(self.selection.ticked()) else "unchecked"
        subtree = self.tree.subtree_codes(code)
        n = len(subtree & (self.dropped if drop else self.selected))
        if n == 0:
            return "unchecked"
        if n < len(subtree):
            return "partial"
        return "dropped" if drop else "checked"

    def _disabled_of(self, code: int) -> bool:
        if self.state is not None:
            return False
        ticked = set(self.selection.ticked())
        under_ticked = int(code) not in ticked and any(a in ticked for a in self.tree.ancestors(code))
        return under_ticked or int(code) in set(self.selection.ticked(self._other()))

    def _count_of(self, code: int) -> int | None:
        if self.state is None:
            tree = self.picker_tree
            return None if tree is None or tree.counts is None else int(tree.counts.get(int(code), 0))
        if self.state.class_counts is None:
            return None
        return sum(self._counts.get(c, 0) for c in self.tree.subtree_codes(code))

    def _action_of(self, code: int) -> str:
        """The check box's accessible name: what a click does ("Include maize (520 samples)")."""
        count = self._count_of(code)
        what = self.name_of(code).replace("_", " ") + ("" if count is None else f" ({count:,} samples)")
        mark = self.node_state(code)
        if self._disabled_of(code):
            return f"{what}: covered by a tick above it or in the other mode"
        if mark in ("checked", "dropped"):
            return f"Untick {what}"
        verb = "Drop" if self.mode == "Drop" else "Include"
        return f"{verb} {'all of ' if mark == 'partial' else ''}{what}"

    def _row_label(self, code: int) -> str:
        code = int(code)
        if self.state is None:
            return self._standalone_label(code)
        count = self._count_of(code)
        count_html = "" if count is None else (
            f" <span class='wce-crop-count' title='{count:,} samples in the collections found, incl. "
            f"sub-classes' style='color:#666'>({count:,})</span>")
        label = {int(k): v for k, v in self.state.grouping.items()}.get(code)
        named = str(self.tree.node(code).label)
        group_html = (f" <span style='color:#6a1b9a'>&rarr; {html.escape(str(label))}</span>"
                      if label and str(label) != named else "")
        return f"{html.escape(named)}{count_html}{group_html}"

    def _standalone_label(self, code: int) -> str:
        text = html.escape(self.name_of(code))
        tree = self.picker_tree
        if tree is not None and tree.counts is not None:
            text += f" <span style='color:#666'>({tree.counts.get(code, 0):,} samples)</span>"
        elif tree is not None and len(tree.codes.get(code, ())) > 1:
            n = len(tree.codes[code] - {code})
            text += f" <span style='color:#666'>({n} subclasses)</span>"
        if code in set(self.selection.ticked(self._other())):
            colour, word = ("#b71c1c", "dropped") if self._other() == "Drop" else ("#1b5e20", "included")
            text += f" <span style='color:{colour}'>({word})</span>"
        label = self._labels().get(code)
        if label and self.mode == "Include":
            text += f" <span style='color:#6a1b9a'>&rarr; {html.escape(label)}</span>"
        return text

    def _labels(self) -> dict[int, str]:
        return {int(k): str(v) for k, v in self.selection.labels.items()}

    # --- undo --------------------------------------------------------------------------------------------
    def _snapshot(self) -> tuple:
        if self.state is None:
            sel = self.selection
            return ("own", tuple(sel.include), tuple(sel.drop), tuple(sorted(self._labels().items())), self.mode)
        grouping = tuple(sorted((int(k), str(v)) for k, v in self.state.grouping.items()))
        return ("bound", tuple(sorted(self.selected)), tuple(sorted(self.dropped)), grouping, self.mode)

    @contextmanager
    def _recorded(self) -> Iterator[None]:
        """Remember the picker as it was before an action, so :meth:`undo` can go back (if it changed)."""
        before = self._snapshot()
        try:
            yield
        finally:
            if self._snapshot() != before:
                self._undo.append(before)
                del self._undo[:-MAX_UNDO]
            self.undo_button.disabled = not self._undo

    @property
    def can_undo(self) -> bool:
        """Whether there is an action to undo."""
        return bool(self._undo)

    def undo(self) -> None:
        """Take back the last action (a tick, a grouping, a class edit, a scheme, a shortcut, a clear).

        Raises
        ------
        BadParameterError
            When there is nothing to undo.
        """
        if not self._undo:
            raise BadParameterError("nothing to undo")
        kind, include, drop, labels, mode = self._undo.pop()
        self.undo_button.disabled = not self._undo
        if self.state is None:
            with self.selection.hold_trait_notifications():
                self.selection.mode = mode
                self.selection.include, self.selection.drop = list(include), list(drop)
                self.selection.labels = dict(labels)
            return
        with self._sync():
            self.mode_toggle.value = mode
            self.state.grouping = dict(labels)
        self.selected, self.dropped = set(include), set(drop)
        self._push()

    # --- ticks -------------------------------------------------------------------------------------------
    def toggle(self, code: int) -> None:
        """Tick ``code`` in the current mode, or untick it.

        Bound: the whole subtree of ``code`` is ticked (or unticked when it is fully ticked). On its own: the
        node is ticked and stands for every class below it; a node under a ticked node, or ticked in the other
        mode, cannot be ticked (its box is disabled).
        """
        code = int(code)
        with self._recorded():
            if self.state is not None:
                subtree = self.tree.subtree_codes(code)
                ticked = self.dropped if self.mode == "Drop" else self.selected
                codes = ticked - subtree if subtree <= ticked else ticked | subtree
                if self.mode == "Drop":
                    self.set_dropped(codes)
                elif subtree <= ticked or not self.fold.value:
                    self.set_selection(codes)
                else:  # its sub-classes take its name (a fold below it gives way, a group the user made stays)
                    fold = self._fold_of(code, self._user_grouped())
                    self.selected = {int(c) for c in codes}
                    self._push(fold)
                return
            ticked = set(self.selection.ticked())
            if code in ticked:
                self.selection.set_ticked(ticked - {code})
            elif self._disabled_of(code):
                self.summary.value = ("<span style='color:#b71c1c'>"
                                      f"{html.escape(self.name_of(code))} is already covered by a tick.</span>")
            else:
                self.selection.set_ticked((ticked - self.tree.subtree_codes(code)) | {code})

    def tick(self, codes: Iterable[int], mode: str | None = None) -> None:
        """Tick ``codes`` in ``mode`` (default: the current one), as :meth:`toggle` would, leaving ticked
        ones ticked."""
        previous = self.mode
        if mode is not None:
            self.mode = mode
        try:
            for code in codes:
                if self.state is not None:
                    ticked = self.dropped if self.mode == "Drop" else self.selected
                    if not self.tree.subtree_codes(code) <= ticked:
                        self.toggle(code)
                elif self.covered(code) is None:
                    self.toggle(code)
        finally:
            self.mode = previous

    def set_selection(self, codes: Any) -> None:
        """Bound: replace the Include ticks (and push them to the state when in Include mode)."""
        self.selected = {int(c) for c in codes}
        self._push()

    def set_dropped(self, codes: Any) -> None:
        """Bound: replace the Drop ticks (and push the resulting filter to the state when in Drop mode).

        Dropping every class of the collections found is refused with a message (an empty filter would
        mean "every crop").
        """
        codes = {int(c) for c in codes}
        present = set(self._bound_state().counts_by_code(unfiltered=True))
        if codes and present and present <= codes:
            self.summary.value = "<span style='color:#b71c1c'>Cannot drop every class of the collections found.</span>"
            return
        self.dropped = codes
        self._push()

    def untick(self, code: int) -> None:
        """Bound: remove ``code`` and everything below it from the current mode's ticks (a chip's \u00d7)."""
        code = int(code)
        remove = self.tree.subtree_codes(code) if code in self.tree.nodes else frozenset({code})
        with self._recorded():
            if self.mode == "Drop":
                self.set_dropped(self.dropped - remove)
            else:
                self.set_selection(self.selected - remove)

    def clear(self) -> None:
        """Untick everything in the current mode (on its own: in both modes, as :meth:`clear_selection`)."""
        if self.state is None:
            self.clear_selection()
            return
        with self._recorded():
            if self.mode == "Drop":
                self.set_dropped([])
            else:
                self.set_selection([])

    def clear_selection(self, change: Any = None) -> None:
        """Untick everything in both modes and forget the applied selection."""
        with self._recorded():
            if self.state is not None:
                with self._sync():
                    self.state.grouping = {}
                self.dropped = set()
                self.set_selection([])
                return
            with self.selection.hold_trait_notifications():
                self.selection.include, self.selection.drop, self.selection.labels = [], [], {}
        self._applied = self._applied_dropped = empty_croptypes()
        self.summary.value = "Selection cleared."

    def reset(self) -> None:
        """Back to the default: nothing ticked in either mode, no grouping, the first mode, an empty search
        box and nothing to undo."""
        self._undo.clear()
        self.undo_button.disabled = True
        self.tree.search.value = ""
        self.group_name.value = ""
        if self.state is None:
            self.clear_selection()
            self._undo.clear()
            self.undo_button.disabled = True
            self.mode = self.selection_modes[0]
            return
        self.dropped = set()
        self.selected = set()
        with self._sync():
            self.mode_toggle.value = self.selection_modes[0]
            self.fold.value = True
        with self._sync(), self.state.hold_trait_notifications():
            if list(self.state.ewoc_codes):
                self.state.ewoc_codes = []
            if dict(self.state.grouping):
                self.state.grouping = {}
        self._render()

    # --- grouping ----------------------------------------------------------------------------------------
    def group(self, codes: Iterable[int], new_label: str) -> None:
        """Give the included codes (bound) or ticked nodes (on its own) ``codes`` the class ``new_label``.

        Raises
        ------
        BadParameterError
            When ``new_label`` is empty or a code is not included (the codes are named).
        """
        name = (new_label or "").strip()
        if not name:
            raise BadParameterError("new_label is empty")
        codes = [int(c) for c in codes]
        included = self.selected if self.state is not None else set(self.selection.include)
        missing = [c for c in codes if c not in included]
        if missing:
            raise BadParameterError(f"only included (ticked) classes can be grouped; not ticked: {missing}")
        with self._recorded():
            if self.state is not None:
                current = {int(k): str(v) for k, v in self.state.grouping.items()}
                self._set_grouping({**current, **dict.fromkeys(codes, name)})
            else:
                labels: dict[Any, str] = {**self._labels(), **dict.fromkeys(codes, name)}
                self.selection.labels = labels

    def group_selected(self, new_label: str) -> None:
        """Give every included, not yet grouped class the label ``new_label`` (the Group button)."""
        name = (new_label or "").strip()
        if not name:
            self.summary.value = "<span style='color:#b71c1c'>Type a name for the new label first.</span>"
            return
        if self.state is None:
            self.group_ticked(name)
            return
        codes = sorted(self.selected - self._user_grouped())  # a folded sub-class is not grouped by the user
        if not codes:
            self.summary.value = "<span style='color:#b71c1c'>Select classes that are not grouped yet.</span>"
            return
        self.group(codes, name)
        self.group_name.value = ""

    def group_ticked(self, new_label: str) -> None:
        """Give every included, not yet grouped node the label ``new_label`` (the Group button on its own)."""
        if self.state is not None:
            self.group_selected(new_label)
            return
        codes = [c for c in self.selection.include if c not in self._labels()]
        if not (new_label or "").strip() or not codes:
            self.summary.value = ("<span style='color:#b71c1c'>Tick classes to include and type a new label "
                                  "first.</span>")
            return
        self.group(codes, new_label)
        self.group_name.value = ""

    def ungroup(self) -> None:
        """Give every included class its own name again."""
        with self._recorded():
            if self.state is not None:
                self._set_grouping({})
            else:
                self.selection.labels = {}

    def _set_grouping(self, grouping: dict[Any, str]) -> None:
        with self._sync():
            self._bound_state().grouping = grouping
        self._render()

    # --- classes -----------------------------------------------------------------------------------------
    def class_mapping(self) -> dict[int, str]:
        """``{ewoc_code: class name}`` of the included codes as they are now (on its own: what Apply would
        give, dropped codes left out)."""
        if self.state is not None:
            grouping = {int(k): str(v) for k, v in self.state.grouping.items()}
            return {c: grouping.get(c) or self._original_label(c) for c in sorted(self.selected)}
        tree = self.picker_tree
        if tree is None:
            return {}
        dropped = {c for t in self.selection.drop for c in tree.codes.get(t, ())}
        labels = self._labels()
        out: dict[int, str] = {}
        # nearest tick wins: ancestors first, the ticks below them overwrite their codes
        for tick in sorted(self.selection.include, key=lambda t: len(self.tree.ancestors(t)) if t in self.tree.nodes else 0):
            name = labels.get(tick) or self.name_of(tick)
            for code in tree.codes.get(tick, ()):
                if code not in dropped:
                    out[code] = name
        return dict(sorted(out.items()))

    @property
    def classes(self) -> dict[str, list[int]]:
        """``{class name: codes}`` of the included codes as they are now (see :meth:`class_mapping`)."""
        return classes_of(self.class_mapping())

    def classable_codes(self) -> list[int]:
        """The codes the class actions work on. On its own: every class the tree offers. Bound: the codes of
        the collections found, or every legend class before a search."""
        if self.state is None:
            tree = self.picker_tree
            return sorted(c for c, codes in tree.codes.items() if c in codes) if tree is not None else []
        found = self.state.counts_by_code(unfiltered=True) if self.state.class_counts is not None else {}
        return sorted(found) if found else sorted(self.tree.nodes)

    def _need_tree(self) -> None:
        if not self.ready:
            raise BadParameterError("the legend is not loaded yet; wait for the crop types to show")

    def _write(self, mapping: dict[int, str], drop: Iterable[int] | None = None) -> None:
        """Make the included classes ``mapping`` (and, when given, the dropped codes ``drop``), in Include mode."""
        mapping = {int(k): str(v) for k, v in mapping.items()}
        if self.state is not None:
            grouping: dict[Any, str] = {c: n for c, n in mapping.items() if n != self._original_label(c)}
            with self._sync():
                if "Include" in self.selection_modes:
                    self.mode_toggle.value = "Include"
                self.state.grouping = grouping
            if drop is not None:
                self.dropped = {int(c) for c in drop}
            self.selected = set(mapping)
            self._push()
            return
        nodes = self.tree.nodes
        unknown = sorted(c for c in mapping if c not in nodes)
        if unknown:  # a code hidden by the count threshold: it follows its nearest shown ancestor
            mapping = {c: n for c, n in mapping.items() if c in nodes}
        with self.selection.hold_trait_notifications():
            if "Include" in self.selection_modes:
                self.selection.mode = "Include"
            self.selection.include = sorted(mapping)
            renamed: dict[Any, str] = {c: n for c, n in mapping.items() if n != self.name_of(c)}
            self.selection.labels = renamed
            if drop is not None:
                self.selection.drop = sorted(int(c) for c in drop if int(c) in nodes)

    def _edit(self, mapping: dict[int, str], drop: Iterable[int] | None = None) -> dict[str, list[int]]:
        with self._recorded():
            self._write(mapping, drop)
        return self.classes

    def move(self, code: int, to_class: str, *, create: bool = False) -> dict[str, list[int]]:
        """Move ``code`` into the class ``to_class`` (out of the class it was in; an unticked code is added).

        Parameters
        ----------
        code
            A code of the tree.
        to_class
            An existing class, or a new one with ``create=True``.
        create
            Allow a new class.

        Returns
        -------
        dict
            :attr:`classes` after the move.

        Raises
        ------
        BadParameterError
            For a code not in the tree or an unknown class (both named), or before the legend is there.
        """
        self._need_tree()
        code = int(code)
        known = set(self.classable_codes()) | set(self.tree.nodes)
        return self._edit(move_code(self.class_mapping(), code, to_class, codes=known, create=create))

    def combine(self, names: Iterable[str], into: str | None = None) -> dict[str, list[int]]:
        """Make the classes ``names`` one class, named ``into`` (default: the first of ``names``).

        Raises
        ------
        BadParameterError
            For fewer than two classes, an unknown class (named), or ``into`` naming another existing class.
        """
        self._need_tree()
        return self._edit(combine_classes(self.class_mapping(), names, into))

    def split(self, name: str) -> dict[str, list[int]]:
        """Split the class ``name`` back into its codes, each a class named by its legend label.

        Raises
        ------
        BadParameterError
            For an unknown class (named, with the classes there are).
        """
        self._need_tree()
        return self._edit(split_class(self.class_mapping(), name, self._original_label))

    def rename(self, old: str, new: str) -> dict[str, list[int]]:
        """Call the class ``old`` ``new``.

        Raises
        ------
        BadParameterError
            For an unknown class, an empty name, or a name another class already has (combine them instead).
        """
        self._need_tree()
        return self._edit(rename_class(self.class_mapping(), old, new))

    def start_empty(self) -> dict[str, list[int]]:
        """Start again with no class at all (nothing ticked in either mode); undoable, unlike :meth:`reset`."""
        return self._edit({}, drop=[])

    def from_scheme(self, name: str, source: Any = None) -> dict[str, list[int]]:
        """Start from a named class scheme (``"CROPTYPE24"``, ``"LANDCOVER10"`` ...): each code of
        :meth:`classable_codes` the scheme names goes to the scheme's class; on its own, the scheme's ``ignore``
        codes are dropped (when Drop is a mode), as the training builder leaves them out. Codes the scheme does not
        name stay out of the classes (``other`` for :func:`apply_croptypepicker_to_df`); on its own, a code the scheme
        does not name under one it names follows that one (a tick stands for the classes below it), and an ignored
        code with classed codes below it is left to ``other`` rather than dropped with its branch.

        Parameters
        ----------
        name
            The scheme (:func:`~worldcereal_explorer.training.class_scheme`; case does not matter).
        source
            Where the schemes come from (see :func:`~worldcereal_explorer.training.class_schemes`).

        Raises
        ------
        BadParameterError
            For an unknown scheme (the allowed ones are listed), or when the scheme classes none of the codes.
        """
        from ..training import class_scheme, scheme_grouping
        from ..training.schemes import IGNORE

        self._need_tree()
        scheme = class_scheme(name, source)
        codes = self.classable_codes()
        mapping = scheme_grouping(scheme.name, codes, source=source)
        if not mapping:
            raise BadParameterError(f"class scheme {scheme.name} classes none of the picker's codes; "
                                    "pick another scheme")
        drop = None
        if self.state is None and "Drop" in self.selection_modes and self.picker_tree is not None:
            # a drop tick stands for its whole branch: only ignored codes with no classed code below them
            below = self.picker_tree.codes
            drop = [c for c in codes if scheme.mapping.get(c) == IGNORE and not set(below.get(c, ())) & set(mapping)]
        return self._edit(mapping, drop)

    def crop_noncrop(self, crop: str = "crop", non_crop: str = "non-crop") -> dict[str, list[int]]:
        """Two classes: ``crop`` (the legend's temporary and permanent crops) and ``non_crop`` (everything
        else), over :meth:`classable_codes`.

        Raises
        ------
        BadParameterError
            When the two names are the same or empty.
        """
        self._need_tree()
        return self._edit(crop_noncrop_mapping(self.classable_codes(), self.legend, crop, non_crop))

    def one_vs_rest(self, name: str, other: str = "other") -> dict[str, list[int]]:
        """Two classes: ``name`` as it is, and ``other`` for every other code of :meth:`classable_codes`.

        Raises
        ------
        BadParameterError
            For an unknown class (named), or ``other`` equal to ``name``.
        """
        self._need_tree()
        return self._edit(one_vs_rest_mapping(self.class_mapping(), name, self.classable_codes(), other))

    # --- the class editor (buttons for the class actions) --------------------------------------------------
    def _build_class_editor(self) -> None:
        self.start_from = w.Dropdown(options=[START_EMPTY, START_CROP_NONCROP, *self._scheme_names()],
                                     value=START_EMPTY, description="Start from", layout=w.Layout(width="auto"))
        self.start_from.add_class("wce-crop-start-from")
        self.start_button = w.Button(description="Start", tooltip="start the classes from the chosen scheme",
                                     layout=w.Layout(width="auto"))
        self.start_button.add_class("wce-crop-start")
        self.start_button.on_click(lambda _: self._button(self._start_clicked))
        self.class_list = w.SelectMultiple(options=[], rows=5, description="Classes", layout=w.Layout(width="auto"))
        self.class_list.add_class("wce-crop-classes")
        self.class_name = w.Text(placeholder="class name", description="Name", layout=w.Layout(width="auto"))
        self.class_name.add_class("wce-crop-class-name")
        self.move_code = w.Dropdown(options=[], description="Code", layout=w.Layout(width="auto"))
        self.move_code.add_class("wce-crop-move-code")

        def button(text: str, tooltip: str, css: str, action: Any) -> w.Button:
            b = w.Button(description=text, tooltip=tooltip, layout=w.Layout(width="auto"))
            b.add_class(css)
            b.on_click(lambda _: self._button(action))
            return b

        self.move_button = button("Move", "move the chosen code into the selected class (or a new one named "
                                  "in Name)", "wce-crop-move", self._move_clicked)
        self.combine_button = button("Combine", "combine the selected classes into one (named in Name, or the first)",
                                     "wce-crop-combine", lambda: self.combine(
                                         list(self.class_list.value), self.class_name.value.strip() or None))
        self.split_button = button("Split", "split each selected class back into its codes", "wce-crop-split",
                                   lambda: [self.split(n) for n in self._chosen(1, many=True)])
        self.rename_button = button("Rename", "rename the selected class to Name", "wce-crop-rename",
                                    lambda: self.rename(self._chosen(1)[0], self.class_name.value))
        self.vs_rest_button = button("Class vs rest", "keep the selected class; every other code becomes 'other'",
                                     "wce-crop-vs-rest", lambda: self.one_vs_rest(
                                         self._chosen(1)[0], self.class_name.value.strip() or "other"))
        self.class_message = w.HTML()
        self.class_message.add_class("wce-crop-class-message")
        box = w.VBox([
            w.HBox([self.start_from, self.start_button, self.undo_button]),
            self.class_list, self.class_name,
            w.HBox([self.combine_button, self.split_button, self.rename_button, self.vs_rest_button],
                   layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.move_code, self.move_button]),
            self.class_message,
        ])
        self.class_editor = w.Accordion([box], titles=("Classes: move, combine, split, rename, undo",),
                                        selected_index=None)
        self.class_editor.add_class("wce-crop-class-editor")

    @staticmethod
    def _scheme_names() -> list[str]:
        try:
            from ..training import scheme_names

            return list(scheme_names())
        except Exception:  # an unreadable schemes file leaves the shortcuts  # noqa: BLE001
            return []

    def _chosen(self, n: int, *, many: bool = False) -> list[str]:
        names = list(self.class_list.value)
        if (len(names) != n and not many) or not names:
            raise BadParameterError(f"select {'one class' if n == 1 and not many else 'classes'} in the list first")
        return names

    def _start_clicked(self) -> None:
        choice = self.start_from.value
        if choice == START_EMPTY:
            self.start_empty()
        elif choice == START_CROP_NONCROP:
            self.crop_noncrop()
        else:
            self.from_scheme(str(choice))

    def _move_clicked(self) -> None:
        if self.move_code.value is None:
            raise BadParameterError("choose a code to move first")
        typed = self.class_name.value.strip()
        if typed and typed not in self.classes:
            self.move(int(self.move_code.value), typed, create=True)
        else:
            self.move(int(self.move_code.value), typed or self._chosen(1)[0])

    def _button(self, action: Any) -> None:
        try:
            action()
        except BadParameterError as exc:
            self.class_message.value = f"<span style='color:#b71c1c'>{html.escape(str(exc))}</span>"
        else:
            self.class_message.value = ""

    def _render_classes(self) -> None:
        mapping = self.class_mapping() if self.ready else {}
        shown = tuple(sorted(mapping.items()))
        if shown == self._shown_classes:
            return
        self._shown_classes = shown
        classes = classes_of(mapping)
        keep = [n for n in self.class_list.value if n in classes]
        self.class_list.options = [(f"{n} ({len(c)} code{'s' if len(c) != 1 else ''})", n) for n, c in classes.items()]
        self.class_list.value = tuple(keep)
        choices = [(f"{self._original_label(c)} ({c}) \u2192 {mapping[c]}", c) for c in sorted(mapping)]
        self.move_code.options = choices
        self.move_code.value = choices[0][1] if choices else None

    # --- the applied selection ---------------------------------------------------------------------------
    def _frame(self, codes: list[int]) -> pd.DataFrame:
        if self.legend is None:  # not loaded yet: name the codes by themselves
            original = [f"unknown ({c})" for c in codes]
        else:
            original = list(self.legend.labels(codes)) if codes else []
        grouping = {int(k): v for k, v in self._bound_state().grouping.items()}
        return pd.DataFrame(
            {"new_label": [grouping.get(c, lab) for c, lab in zip(codes, original, strict=True)], "original_label": original},
            index=pd.Index(codes, name="ewoc_code", dtype="int64"),
        )

    @property
    def croptypes(self) -> pd.DataFrame:
        """The included classes: index ``ewoc_code``; columns ``new_label`` and ``original_label``. Bound: the
        Include selection as it is; on its own: empty until :meth:`apply_selection`."""
        return self._frame(sorted(self.selected)) if self.state is not None else self._applied

    @property
    def included_croptypes(self) -> pd.DataFrame:
        """The same as :attr:`croptypes`."""
        return self.croptypes

    @property
    def dropped_croptypes(self) -> pd.DataFrame:
        """The dropped classes, same columns (``new_label`` = the ticked node's name)."""
        return self._frame(sorted(self.dropped)) if self.state is not None else self._applied_dropped

    @property
    def applied(self) -> bool:
        """Whether :meth:`apply_selection` has run since the last clear (bound: always the current selection)."""
        return not (self.included_croptypes.empty and self.dropped_croptypes.empty)

    def apply_selection(self, change: Any = None) -> pd.DataFrame:
        """Turn the ticks into ``croptypes`` / ``included_croptypes`` / ``dropped_croptypes``.

        Every class a ticked node stands for gets the name of its nearest ticked node (or the class name the user
        gave it) as ``new_label``; a class both included and dropped is dropped. Bound, the frames always follow
        the selection: this only returns ``croptypes``.

        Returns
        -------
        pandas.DataFrame
            ``croptypes``.

        Raises
        ------
        BadParameterError
            When the legend is not loaded yet, or "Include" is a mode and nothing is ticked to include.
        """
        if self.state is not None:
            return self.croptypes
        if self.picker_tree is None:
            raise BadParameterError("the legend is not loaded yet; wait for the crop types to show")
        codes_of = self.picker_tree.codes
        dropped = {c: self.name_of(t) for t in self.selection.drop for c in codes_of.get(t, ())}
        included = self.class_mapping()
        if "Include" in self.selection_modes and not included:
            raise BadParameterError("No crop types selected to include: tick classes in Include mode, then Apply.")
        self._applied = croptypes_frame(included, self.legend)
        self._applied_dropped = croptypes_frame(dropped, self.legend)
        self._show_summary()
        return self._applied

    def _apply_clicked(self) -> None:
        try:
            self.apply_selection()
        except BadParameterError as exc:
            self.summary.value = f"<span style='color:#b71c1c'>{html.escape(str(exc))}</span>"

    # --- bound: state <-> widget ---------------------------------------------------------------------------
    def _push(self, fold: dict[int, str] | None = None) -> None:
        """Write the current mode's filter (and the grouping of the still selected codes, with ``fold`` over it)
        to the state."""
        state = self._bound_state()
        codes = self.drop_filter_codes() if self.mode == "Drop" else sorted(self.selected)
        grouping: dict[Any, Any] = {c: lab for c, lab in state.grouping.items() if int(c) in self.selected}
        if fold:
            grouping = {**{c: lab for c, lab in grouping.items() if int(c) not in fold}, **fold}
        with self._sync(), state.hold_trait_notifications():
            if list(state.ewoc_codes) != codes:
                state.ewoc_codes = codes
            if grouping != dict(state.grouping):
                state.grouping = grouping
        self._render()

    def _on_state_codes(self, change: dict | None = None) -> None:
        if self._syncing:
            return
        state = self._bound_state()
        if change is not None and change.get("name") == "grouping":
            self._render()
            return
        # A filter set elsewhere is an Include selection: show it as such.
        self.selected = {int(c) for c in state.ewoc_codes}
        if self.mode == "Drop" and list(state.ewoc_codes) != self.drop_filter_codes():
            with self._sync():
                self.mode_toggle.value = "Include"
        self._render()

    def _on_counts(self, change: dict | None = None) -> None:
        # Every class's totals over the space / time / access search, whatever is ticked: counts filtered
        # by the selection would show (0) for every class not ticked.
        self._counts = self._bound_state().counts_by_code(unfiltered=True)
        if self.mode == "Drop" and self.dropped:
            self._push()  # the filter is "every code found but the dropped": follow the codes found
        else:
            self._render()

    # --- bound: chips ------------------------------------------------------------------------------------
    def chip_codes(self, mode: str | None = None) -> list[int]:
        """Bound: the codes shown as chips in ``mode`` (default: the current one), each fully ticked branch once
        (by its top code), then ticked codes the legend does not have."""
        ticked = self.dropped if (mode or self.mode) == "Drop" else self.selected
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

    def subclass_count(self, code: int) -> int:
        """Bound: how many classes below ``code`` ticking it ticks too (0 for a code the legend lacks)."""
        return len(self.tree.subtree_codes(code)) - 1 if int(code) in self.tree.nodes else 0

    def _chip_text(self, code: int) -> str:
        """A chip's text: the class, and how many sub-classes its tick holds ("maize + 1 sub-class")."""
        n = self.subclass_count(code)
        return self._chip_label(code) + (f" + {n} sub-class{'es' if n != 1 else ''}" if n else "")

    def _render_chips(self) -> None:
        codes = self.chip_codes()
        drop = self.mode == "Drop"
        shown = codes[:MAX_CHIPS]
        folded = set(self.folded_codes().values()) if not drop else set()
        buttons: dict[int, w.Button] = {}
        for code, chip in zip(shown, self._chips.assign(shown), strict=True):
            n = self.subclass_count(code)
            note = ("" if not n or drop else
                    f"; sub-classes named {self._chip_label(code)}" if code in folded else "; sub-classes kept apart")
            chip.show(code, self._chip_text(code), drop, note)
            buttons[code] = chip.button
        self.chip_buttons = buttons
        more = len(codes) - len(buttons)
        self.more_chips.value = f"<span style='color:#666;font-size:12px'>+{more} more</span>" if more > 0 else ""
        children = [*buttons.values(), *([self.more_chips] if more > 0 else [])] or [self.no_chips]
        if list(self.chips.children) != children:
            self.chips.children = children

    # --- bound: sub-classes folded into the ticked class ---------------------------------------------------
    def folded_codes(self) -> dict[int, int]:
        """Bound: ``{code: ticked class}`` of the included codes whose class is the name of the ticked class above
        them (a fully ticked branch, :meth:`chip_codes`) through the fold (:attr:`fold`), that class included."""
        if self.state is None or not self.tree.ready:
            return {}
        grouping = {int(k): str(v) for k, v in self.state.grouping.items()}
        out: dict[int, int] = {}
        for top in self.chip_codes("Include"):
            if self.subclass_count(top):
                name = self._chip_label(top)
                out.update({c: top for c in self.tree.subtree_codes(top) if grouping.get(c) == name})
        return out

    def _fold_of(self, code: int, user_grouped: Iterable[int]) -> dict[int, str]:
        """The grouping entries folding ``code``'s sub-classes into its name: every code of its branch but the
        ones the user grouped (``user_grouped``); nothing for a class without sub-classes."""
        if not self.subclass_count(code):
            return {}
        name, keep = self._chip_label(code), set(user_grouped)
        return {c: name for c in sorted(self.tree.subtree_codes(code)) if c not in keep}

    def _user_grouped(self) -> set[int]:
        """Bound: the codes the user grouped (the grouping's codes but the folded ones)."""
        return {int(c) for c in self._bound_state().grouping} - set(self.folded_codes())

    def _on_fold(self, change: dict | None = None) -> None:
        if self.state is None or self._syncing or not self.tree.ready:
            return
        grouping = {int(k): str(v) for k, v in self.state.grouping.items()}
        with self._recorded():
            if self.fold.value:
                user = self._user_grouped()
                for top in self.chip_codes("Include"):
                    grouping.update(self._fold_of(top, user))
            else:
                for code in self.folded_codes():
                    grouping.pop(code, None)
            self._set_grouping(grouping)

    def _new_chip(self) -> _Chip:
        chip = _Chip(self.untick)
        self._pooled_widgets.append(chip.button)
        return chip

    # --- rendering ---------------------------------------------------------------------------------------
    def _on_selection(self, change: dict | None = None) -> None:
        self._update_title()
        self._render()

    def _update_title(self) -> None:
        verb = "drop" if self.mode == "Drop" else "include"
        self.title.value = f"<b>Select classes to {verb}:</b>"

    def _render(self) -> None:
        with self._render_lock:
            self.tree.render()
            self._render_classes()
            if self.state is None:
                return
            self._render_chips()
            grouping = {int(k): v for k, v in self.state.grouping.items()}
            n, d = len(self.selected), len(self.dropped)
            self.fold.disabled = self.mode == "Drop"
            folded = self.folded_codes()
            groups = sorted({str(v) for c, v in grouping.items() if c not in folded})
            # a class is what a sample's new_label can be: a fold or a group makes several codes one class
            k = len(classes_of(self.class_mapping()))
            if self.mode == "Drop":
                text = ("nothing dropped (no filter)" if d == 0 else
                        f"{d} class{'es' if d != 1 else ''} dropped")
            else:
                text = ("every crop type (no filter)" if n == 0 else
                        f"{k} class{'es' if k != 1 else ''} selected"
                        + (f" ({n} crop codes)" if n != k else "")
                        + (f"; groups: {html.escape(', '.join(groups))}" if groups else ""))
            self.summary.value = text

    def _show_summary(self) -> None:
        def block(title: str, colour: str, frame: pd.DataFrame) -> str:
            groups = sorted(set(frame["new_label"])) if not frame.empty else []
            items = "".join(f"<li>{html.escape(g)}</li>" for g in groups) or "<li><em>none</em></li>"
            return (f"<div style='color:{colour};font-weight:600'>{title}: {len(frame)} classes</div>"
                    f"<ul style='margin:2px 0 4px 16px'>{items}</ul>")

        parts = []
        if "Include" in self.selection_modes:
            parts.append(block("Included", "#16a34a", self.included_croptypes))
        if "Drop" in self.selection_modes:
            parts.append(block("Dropped", "#dc2626", self.dropped_croptypes))
        self.summary.value = "".join(parts)

    def close(self) -> None:
        """Detach from the state (or stop the legend loader), then close the widget; closing again does nothing."""
        observers, self._observers = getattr(self, "_observers", []), []
        for handler, names in observers:
            with suppress(ValueError):
                self._bound_state().unobserve(handler, names=names)
        loader, self.loader = getattr(self, "loader", None), None
        if loader is not None:
            loader.unobserve_all()
            loader.close()
        link, self._mode_link = getattr(self, "_mode_link", None), None
        if link is not None:
            link.unlink()
        super().close()


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

    def show(self, code: int, label: str, dropped: bool, note: str = "") -> None:
        """Show ``code`` (labelled ``label``, ``note`` added to its tooltip); ``dropped`` marks a chip of the
        Drop mode."""
        if self.code != code:
            if self.code is not None:
                self.button.remove_class(f"wce-chip-{self.code}")
            self.button.add_class(f"wce-chip-{code}")
            self.code = code
        self.button.description = f"{label} \u00d7"
        self.button.tooltip = f"untick {label} ({code}){note}"
        if dropped:
            self.button.add_class("wce-chip-dropped")
        else:
            self.button.remove_class("wce-chip-dropped")
