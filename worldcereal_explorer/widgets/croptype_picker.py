"""The reference client's crop-type picker as a drop-in: Include / Drop, Apply, ``apply_croptypepicker_to_df``.

``notebook_utils.croptypepicker`` of the reference client shows the legend restricted to some codes (or to
the codes of a samples table, with counts), lets the user tick classes to include or to drop, and after
"Apply" gives ``.croptypes`` (indexed by ``ewoc_code``, column ``new_label`` = the ticked class's name).
This module offers the same names and shapes, drawn with the explorer's own tree
(:class:`~worldcereal_explorer.widgets.legend_tree.LegendTree`) instead of a widget per class. The
non-widget parts live in the state layer and are re-exported here: the selection model and
:func:`apply_croptypepicker_to_df` (:mod:`~worldcereal_explorer.state.croptype_selection`) and the
background legend loader (:class:`~worldcereal_explorer.state.legend_loading.DefaultLegendLoader`).

Example
-------
>>> picker = CropTypePicker(ewoc_codes=DEMO_CROPS, display_ui=False)   # doctest: +SKIP
>>> picker.toggle(1101000000); picker.apply_selection()                # doctest: +SKIP
>>> apply_croptypepicker_to_df(samples, picker)["downstream_class"]    # doctest: +SKIP
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import ipywidgets as w
import pandas as pd
import traitlets

from ..errors import BadParameterError
from ..extents import normalize_ewoc_codes
from ..state.croptype_selection import (
    SELECTION_MODES,
    CropTypeSelection,
    PickerTree,
    apply_croptypepicker_to_df,
    build_picker_tree,
    croptypes_frame,
    empty_croptypes,
)
from ..state.legend_loading import DefaultLegendLoader
from .legend_tree import LegendTree

__all__ = ["DEMO_CROPS", "CropTypePicker", "CropTypeSelection", "DefaultLegendLoader", "PickerTree",
           "apply_croptypepicker_to_df", "build_picker_tree"]

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
    """Tick crop types to include or to drop, then "Apply" (the reference client's ``CropTypePicker``).

    Parameters
    ----------
    ewoc_codes
        The classes to offer; by default every class of the legend.
    sample_df
        A samples table with an ``ewoc_code`` column: only its classes are offered, with their sample
        counts (intersected with ``ewoc_codes`` when both are given).
    count_threshold
        With ``sample_df``: classes (and branches) with fewer samples are hidden.
    expand
        Open every branch at the start.
    display_ui
        Display the picker in the notebook at once; ``False`` only builds it (scripts, tests).
    selection_modes
        ``"Include"`` and/or ``"Drop"``; the first is the starting mode.
    legend
        A :class:`~worldcereal_explorer.legend.Legend`; by default the process-wide default legend, loaded
        in the background ("loading legend…" shows until it is there).
    max_search_results
        How many matches the search box lists at most.

    Attributes
    ----------
    croptypes : pandas.DataFrame
        Empty until :meth:`apply_selection`; then the included classes: index ``ewoc_code``, columns
        ``new_label`` (the ticked node's name, or the name the user gave) and ``original_label``.
    included_croptypes : pandas.DataFrame
        The same as ``croptypes``.
    dropped_croptypes : pandas.DataFrame
        The dropped classes, same columns (``new_label`` = the ticked node's name).
    selection : CropTypeSelection
        The ticks (traits); :attr:`selection_mode` is its mode as toggle buttons.
    tree : LegendTree
        The tree view (``tree.row(code).check.click()`` ticks like a user).
    sample_counts : pandas.Series or None
        Samples per code of ``sample_df``.
    """

    def __init__(self, ewoc_codes: Sequence[int] | None = None, sample_df: pd.DataFrame | None = None,
                 count_threshold: int = 0, expand: bool = False, display_ui: bool = True,
                 selection_modes: Sequence[str] = SELECTION_MODES, *, legend: Any = None,
                 max_search_results: int = 60, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("wce-croptype-picker")
        modes = list(selection_modes or [])
        unknown = [m for m in modes if m not in SELECTION_MODES]
        if unknown or not modes:
            raise BadParameterError(f"selection_modes must be 'Include' and/or 'Drop', not {list(selection_modes)!r}")
        self.selection_modes = list(dict.fromkeys(modes))
        self.ewoc_codes = None if ewoc_codes is None else normalize_ewoc_codes(list(ewoc_codes))
        if sample_df is not None:
            if "ewoc_code" not in getattr(sample_df, "columns", ()):
                raise BadParameterError("sample_df has no 'ewoc_code' column")
            self.sample_counts: pd.Series | None = (
                pd.to_numeric(sample_df["ewoc_code"]).astype("int64").value_counts().sort_index().rename("count"))
        else:
            self.sample_counts = None
        self.count_threshold = int(count_threshold)
        self.expand = bool(expand)
        self.legend: Any = None
        self.picker_tree: PickerTree | None = None
        self.croptypes = empty_croptypes()
        self.included_croptypes = empty_croptypes()
        self.dropped_croptypes = empty_croptypes()
        self._lock = threading.RLock()

        self.selection = CropTypeSelection(mode=self.selection_modes[0])
        self.selection_mode = w.ToggleButtons(options=self.selection_modes, value=self.selection_modes[0])
        self.selection_mode.add_class("wce-crop-mode")
        self._mode_link: Any = traitlets.link((self.selection, "mode"), (self.selection_mode, "value"))
        if len(self.selection_modes) < 2:
            self.selection_mode.layout.display = "none"
        self.title = w.HTML()
        self.tree = LegendTree(on_toggle=self.toggle, mark_of=self._mark_of, label_of=self._label_of,
                               name_of=self.name_of, disabled_of=self._disabled_of,
                               max_search_results=max_search_results, lock=self._lock,
                               layout=w.Layout(width="100%"))
        self.apply_button = w.Button(description="Apply", button_style="success", icon="check")
        self.apply_button.on_click(lambda _: self._apply_clicked())
        self.clear_button = w.Button(description="Clear selection", button_style="danger")
        self.clear_button.on_click(lambda _: self.clear_selection())
        self.group_name = w.Text(placeholder="new label for the ticked classes", layout=w.Layout(width="45%"))
        self.group_button = w.Button(description="Group", tooltip="give the ticked, not yet grouped classes this label")
        self.group_button.on_click(lambda _: self.group_ticked(self.group_name.value))
        self.ungroup_button = w.Button(description="Ungroup")
        self.ungroup_button.on_click(lambda _: setattr(self.selection, "labels", {}))
        self.summary = w.HTML()
        self.summary.add_class("wce-croptype-summary")
        self.children = [
            w.HTML("<b>Selection mode</b>"), self.selection_mode, self.title, self.tree,
            w.HBox([self.group_name, self.group_button, self.ungroup_button]),
            w.HBox([self.apply_button, self.clear_button]), self.summary,
        ]
        self.selection.observe(self._on_selection, ["mode", "include", "drop", "labels"])
        self._update_title()

        self.loader: DefaultLegendLoader | None = None
        if legend is not None:
            self._set_legend(legend)
        else:
            self.loader = DefaultLegendLoader()
            self.loader.observe(self._on_legend, ["legend", "legend_status"])
            self.loader.load_legend()
            self._on_legend()
        if display_ui:
            self.display()

    # --- legend ----------------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether the legend is there and the tree is drawn."""
        return self.tree.ready

    def wait_ready(self, timeout: float | None = 60.0) -> bool:
        """Block until the legend is loaded and the tree drawn (or loading failed); ``ready``."""
        if self.loader is not None and not self.ready:
            self.loader.load_legend(wait=True, timeout=timeout)
        return self.ready

    def _on_legend(self, change: dict | None = None) -> None:
        loader = self.loader
        if loader is None:
            return
        if loader.legend is not None:
            self._set_legend(loader.legend)
        elif loader.legend_status == "error":
            self.tree.show_message("<span class='wce-crop-error' style='color:#b71c1c'>Crop types unavailable: "
                                   f"{html.escape(loader.legend_message)}</span>")
        else:
            self.tree.show_message("<i class='wce-crop-loading'>loading legend\u2026</i>")

    def _set_legend(self, legend: Any) -> None:
        with self._lock:
            if self.legend is not None:
                return
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
            elif len(self.tree.top_codes) == 1:
                self.tree.toggle_expanded(self.tree.top_codes[0])

    def display(self) -> None:
        """Show the picker in the notebook (Jupyter / Voilà)."""
        from IPython.display import display

        display(self)

    @property
    def widget(self) -> CropTypePicker:
        """The picker itself (the reference keeps its widget in ``.widget``)."""
        return self

    # --- the tree's questions -------------------------------------------------------------------------------
    def name_of(self, code: int) -> str:
        """The name a node gives its classes: its heading in the hierarchy when it has sub-classes shown
        (``cereals``), else its label (``maize``)."""
        node = self.tree.node(code)
        return str(node.group_name or node.label) if node.children else str(node.label)

    def covered(self, code: int, mode: str | None = None) -> int | None:
        """The ticked node of ``mode`` that ``code`` is (or is under), else ``None``."""
        ticked = set(self.selection.ticked(mode))
        if int(code) in ticked:
            return int(code)
        return next((a for a in self.tree.ancestors(code) if a in ticked), None)

    def _other(self) -> str:
        return "Include" if self.selection.mode == "Drop" else "Drop"

    def _mark_of(self, code: int) -> str:
        if self.covered(code) is not None:
            return "dropped" if self.selection.mode == "Drop" else "checked"
        subtree = self.tree.subtree_codes(code)
        return "partial" if subtree & set(self.selection.ticked()) else "unchecked"

    def _disabled_of(self, code: int) -> bool:
        under_ticked = any(a in set(self.selection.ticked()) for a in self.tree.ancestors(code))
        return under_ticked or int(code) in set(self.selection.ticked(self._other()))

    def _label_of(self, code: int) -> str:
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
        if label and self.selection.mode == "Include":
            text += f" <span style='color:#6a1b9a'>&rarr; {html.escape(label)}</span>"
        return text

    def _labels(self) -> dict[int, str]:
        return {int(k): str(v) for k, v in self.selection.labels.items()}

    # --- user actions ---------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """The current selection mode (``"Include"`` or ``"Drop"``)."""
        return self.selection.mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in self.selection_modes:
            raise BadParameterError(f"mode must be one of {self.selection_modes}, not {value!r}")
        self.selection.mode = value

    def toggle(self, code: int) -> None:
        """Tick ``code`` in the current mode (it then stands for every class below it), or untick it.

        A node under a ticked node, or ticked in the other mode, cannot be ticked (its box is disabled).
        """
        code = int(code)
        ticked = set(self.selection.ticked())
        if code in ticked:
            self.selection.set_ticked(ticked - {code})
        elif self._disabled_of(code):
            self.summary.value = ("<span style='color:#b71c1c'>"
                                  f"{html.escape(self.name_of(code))} is already covered by a tick.</span>")
        else:
            self.selection.set_ticked((ticked - self.tree.subtree_codes(code)) | {code})

    def tick(self, codes: Iterable[int], mode: str | None = None) -> None:
        """Tick ``codes`` in ``mode`` (default: the current one), as :meth:`toggle` would."""
        previous = self.selection.mode
        if mode is not None:
            self.mode = mode
        try:
            for code in codes:
                if self.covered(code) is None:
                    self.toggle(code)
        finally:
            self.selection.mode = previous

    def group(self, codes: Iterable[int], new_label: str) -> None:
        """Give the included (ticked) nodes ``codes`` the label ``new_label`` instead of their names."""
        name = (new_label or "").strip()
        if not name:
            raise BadParameterError("new_label is empty")
        codes = [int(c) for c in codes]
        missing = [c for c in codes if c not in set(self.selection.include)]
        if missing:
            raise BadParameterError(f"only included (ticked) classes can be grouped; not ticked: {missing}")
        labels: dict[Any, str] = {**self._labels(), **dict.fromkeys(codes, name)}
        self.selection.labels = labels

    def group_ticked(self, new_label: str) -> None:
        """Give every included, not yet grouped node the label ``new_label`` (the Group button)."""
        codes = [c for c in self.selection.include if c not in self._labels()]
        if not (new_label or "").strip() or not codes:
            self.summary.value = ("<span style='color:#b71c1c'>Tick classes to include and type a new label "
                                  "first.</span>")
            return
        self.group(codes, new_label)
        self.group_name.value = ""

    def clear_selection(self, change: Any = None) -> None:
        """Untick everything in both modes and forget the applied selection."""
        with self.selection.hold_trait_notifications():
            self.selection.include, self.selection.drop, self.selection.labels = [], [], {}
        self.croptypes = self.included_croptypes = empty_croptypes()
        self.dropped_croptypes = empty_croptypes()
        self.summary.value = "Selection cleared."

    @property
    def applied(self) -> bool:
        """Whether :meth:`apply_selection` has run since the last clear."""
        return not (self.included_croptypes.empty and self.dropped_croptypes.empty)

    def _frame(self, mapping: dict[int, str]) -> pd.DataFrame:
        return croptypes_frame(mapping, self.legend)

    def apply_selection(self, change: Any = None) -> pd.DataFrame:
        """Turn the ticks into ``croptypes`` / ``included_croptypes`` / ``dropped_croptypes``.

        Every class a ticked node stands for gets the node's name (or the label the user gave it) as
        ``new_label``; a class both included and dropped is dropped.

        Returns
        -------
        pandas.DataFrame
            ``croptypes``.

        Raises
        ------
        BadParameterError
            When the legend is not loaded yet, or "Include" is a mode and nothing is ticked to include.
        """
        if self.picker_tree is None:
            raise BadParameterError("the legend is not loaded yet; wait for the crop types to show")
        codes_of = self.picker_tree.codes
        dropped = {c: self.name_of(t) for t in self.selection.drop for c in codes_of.get(t, ())}
        labels = self._labels()
        included = {c: labels.get(t, self.name_of(t))
                    for t in self.selection.include for c in codes_of.get(t, ()) if c not in dropped}
        if "Include" in self.selection_modes and not included:
            raise BadParameterError("No crop types selected to include: tick classes in Include mode, then Apply.")
        self.included_croptypes = self._frame(included)
        self.croptypes = self.included_croptypes
        self.dropped_croptypes = self._frame(dropped)
        self._show_summary()
        return self.croptypes

    def _apply_clicked(self) -> None:
        try:
            self.apply_selection()
        except BadParameterError as exc:
            self.summary.value = f"<span style='color:#b71c1c'>{html.escape(str(exc))}</span>"

    # --- rendering ------------------------------------------------------------------------------------------
    def _on_selection(self, change: dict | None = None) -> None:
        self._update_title()
        self.tree.render()

    def _update_title(self) -> None:
        verb = "drop" if self.selection.mode == "Drop" else "include"
        self.title.value = f"<b>Select classes to {verb}:</b>"

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
        """Stop the legend loader (if any) and close the widget."""
        loader, self.loader = getattr(self, "loader", None), None
        if loader is not None:
            loader.unobserve_all()
            loader.close()
        link, self._mode_link = getattr(self, "_mode_link", None), None
        if link is not None:
            link.unlink()
        super().close()
