"""Counts chart: bqplot bars of sample counts per crop label, stacked or grouped by collection.

The bars are the samples *matching your filters* once the preview has counted them for the current filters
(``state.matching_by_label()``: exactly what a fetch returns), else the collections' *whole-collection*
numbers of the ticked crop types (``state.counts_by_label()``); the title and the note say which.

Each collection has one colour, preferred from its id (:func:`collection_colour`), so it keeps it across
queries; collections on screen together never share one (:func:`assign_colours`). While ``state.results_stale`` the chart is dimmed and says it shows the results for earlier filters.
"""

from __future__ import annotations

import html
import zlib
from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np
import pandas as pd

from ..state import RdmQueryState
from ..state.counts import plural
from ._base import StateWidget, style_widget

#: The palette collections take their colour from (grey is kept for "other collections"). Chosen from the
#: Tableau 10 and Kelly colours so that every two differ by at least 30 in CIELAB (CIE76 ΔE; 2.3 is a
#: just-noticeable difference), each is at least 30 from the grey and 20 from white, and none is darker than
#: L* 30 (the stacked bars stay told apart). The previous 20-colour list had pairs only 4.6 apart.
COLLECTION_COLOURS = ["#1f77b4", "#dcd300", "#be0032", "#008856", "#e377c2", "#654522", "#ff7f0e",
                      "#f99379", "#17becf", "#2ca02c", "#604e97"]
OTHER_COLLECTIONS_COLOUR = "#bdbdbd"
#: The bar summing the collections beyond ``max_collections``.
OTHER_COLLECTIONS = "other collections"
#: The bar summing the crop labels beyond ``max_labels``.
OTHER_CROPS = "other crops"
#: Empty slots at both ends of the grouped chart's scale: the first and last bars keep clear of the axes.
_GROUPED_ENDS = (" start", " end")
#: Axis labels longer than this are shortened with an ellipsis (the bar's tooltip shows the whole label).
MAX_TICK_CHARS = 24
#: A chart of fewer crops still has this many slots: one or two bars do not stretch across the whole chart.
MIN_SLOTS = 6
#: Horizontal extent of one character of a 10 px axis label, and the share of it a label rotated by 45°
#: takes both downwards and leftwards.
_CHAR_PX, _COS45 = 5.5, 0.71


def _crop_axis(scale: bq.OrdinalScale, tick_labels: dict[str, str]) -> bq.Axis:
    """The x axis of crop labels: rotated, small, ``tick_labels`` in place of the scale's keys."""
    return bq.Axis(scale=scale, tick_rotate=-45, tick_style={"font-size": "10px", "text-anchor": "end"},
                   tick_labels=tick_labels)


def short_label(label: str) -> str:
    """``label`` as the axis shows it: at most :data:`MAX_TICK_CHARS` characters."""
    return label if len(label) <= MAX_TICK_CHARS else label[: MAX_TICK_CHARS - 1] + "\u2026"


def label_margins(labels: list[str]) -> dict[str, int]:
    """The figure margins that fit the x axis' labels (rotated by 45°): below, as deep as the longest
    reaches; on the left, as wide as the first reaches past its bar's middle (it was cut off there)."""
    reach = [_COS45 * _CHAR_PX * len(short_label(label)) for label in labels] or [0.0]
    bottom = int(min(170, max(50, 16 + max(reach))))
    left = int(min(170, max(70, reach[0] - 12)))  # its bar's middle is at least ~20 px right of the axis
    return {"top": 40, "bottom": bottom, "left": left, "right": 20}


def collection_colour(ref_id: str) -> str:
    """The preferred colour of collection ``ref_id``: the same in every query and session (a CRC-32 of the id
    picks it from :data:`COLLECTION_COLOURS`); "other collections" is grey.

    Two collections may prefer the same colour; :func:`assign_colours` gives the ones on screen together
    different colours."""
    if ref_id == OTHER_COLLECTIONS:
        return OTHER_COLLECTIONS_COLOUR
    return COLLECTION_COLOURS[zlib.crc32(str(ref_id).encode("utf-8")) % len(COLLECTION_COLOURS)]


def assign_colours(ref_ids: Any, memory: dict[str, str] | None = None) -> list[str]:
    """Colours for the collections ``ref_ids`` shown together, in their order: no two share a colour.

    Each collection keeps the colour it had in ``memory`` (the colours last shown, updated in place), else
    takes its preferred one (:func:`collection_colour`) when free, else the first free colour of
    :data:`COLLECTION_COLOURS`. "other collections" is always grey.

    Parameters
    ----------
    ref_ids
        Collection ids (and possibly :data:`OTHER_COLLECTIONS`).
    memory
        ``{ref_id: colour}`` of earlier calls, so a collection keeps its colour from query to query.

    Returns
    -------
    list of str
        One ``#rrggbb`` per id. Up to ``len(COLLECTION_COLOURS)`` collections (11) all differ; beyond that
        colours repeat, in palette order (the charts sum collections beyond their ``max_collections`` into
        the grey "other collections", so keep ``max_collections`` at most 12).
    """
    ids = [str(r) for r in ref_ids]
    memory = {} if memory is None else memory
    chosen: dict[str, str] = {}
    used: set[str] = set()
    # in a fixed order (those remembered first, then by id), so the result does not depend on the bars' order
    order = sorted((r for r in dict.fromkeys(ids) if r != OTHER_COLLECTIONS),
                   key=lambda r: (r not in memory, r))
    for ref_id in order:
        for colour in (memory.get(ref_id), collection_colour(ref_id)):
            if colour is not None and colour in COLLECTION_COLOURS and colour not in used:
                break
        else:
            free = [c for c in COLLECTION_COLOURS if c not in used]
            colour = free[0] if free else COLLECTION_COLOURS[len(chosen) % len(COLLECTION_COLOURS)]
        chosen[ref_id] = colour
        used.add(colour)
    memory.update(chosen)
    return [OTHER_COLLECTIONS_COLOUR if r == OTHER_COLLECTIONS else chosen[r] for r in ids]


#: The figure's title and the note's ending for each meaning of the bars.
TITLES = {"matching": "Samples per crop type matching your filters",
          "whole": "Samples per crop type in the whole collections"}
NOTE_ENDINGS = {"matching": " match your filters", "whole": " in the whole collections"}
NOTE_TOOLTIPS = {"matching": "the samples a fetch returns: area, dates, crop types, quality and subset applied",
                 "whole": ("the RDM code statistics: every area and date, before quality and subset filters; "
                           "the samples matching your filters replace them once the preview has counted them")}


def chart_note(total: int, n_classes: int, n_shown: int) -> str:
    """The note over the chart: ``"1,234 samples in 37 crop classes (top 14 shown)"``.

    Parameters
    ----------
    total
        Samples over every class.
    n_classes
        Crop classes (labels) that have samples.
    n_shown
        Of those, how many have a bar of their own (the rest are summed into "other crops").
    """
    shown = f" (top {n_shown} shown)" if n_shown < n_classes else ""
    return f"{plural(total, 'sample')} in {plural(n_classes, 'crop class')}{shown}"


class CountsChart(StateWidget):
    """Sample counts per crop (labels from the legend, or the user's grouped labels) per collection.

    Parameters
    ----------
    state
        The query state whose counts are drawn: ``matching_by_label()`` once ``matching_ready``, else
        ``counts_by_label()``, grouped by ``grouping`` (a new state when ``None``).
    max_labels
        Show only the labels with the most samples; the rest are summed into "other crops".
    max_collections
        Collections beyond this many (by sample count) are summed into "other collections".
    mode
        ``"stacked"`` or ``"grouped"``.
    """

    def __init__(self, state: RdmQueryState | None = None, *, max_labels: int = 15, max_collections: int = 8,
                 mode: str = "stacked", **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-counts")
        self.max_labels = max_labels
        self.max_collections = max_collections
        self._colour_memory: dict[str, str] = {}
        x_scale, y_scale = bq.OrdinalScale(), bq.LinearScale(min=0)
        self.bars = bq.Bars(x=[], y=[], scales={"x": x_scale, "y": y_scale}, type="stacked",
                            colors=COLLECTION_COLOURS, display_legend=False, labels=[],
                            tooltip=bq.Tooltip(fields=["x", "y"], labels=["crop", "samples"]))
        # Grouped mode is drawn by hand: bqplot 0.13's Bars(type="grouped") draws every bar with zero
        # height in the browser. One single-series mark has a slot per (crop, collection) on its own
        # ordinal scale, a zero-height gap slot between crops, and a colour per slot; the axis labels
        # only the middle slot of each crop.
        grouped_scale, grouped_y = bq.OrdinalScale(), bq.LinearScale(min=0)  # own y: stacked totals are taller
        self.grouped_bars = bq.Bars(x=[], y=[], scales={"x": grouped_scale, "y": grouped_y}, type="stacked",
                                    colors=COLLECTION_COLOURS, display_legend=False, padding=0.08,
                                    tooltip=bq.Tooltip(fields=["x", "y"], labels=["crop · collection",
                                                                                   "samples"]))
        self._stacked_axis = _crop_axis(x_scale, {})
        self._grouped_axis = _crop_axis(grouped_scale, {})
        self._y_axis = bq.Axis(scale=y_scale, side="left", tick_format=",d")
        self._grouped_y_axis = bq.Axis(scale=grouped_y, side="left", tick_format=",d")
        self.figure = bq.Figure(marks=[self.bars], axes=[self._stacked_axis, self._y_axis],
                                title=TITLES["whole"],
                                fig_margin=label_margins([]),
                                layout=w.Layout(width="100%", height="420px"))
        self.mode = w.ToggleButtons(options=["stacked", "grouped"], value=mode,
                                    style={"button_width": "80px"})
        self.mode.add_class("wce-counts-mode")
        self.mode.observe(self._on_mode, "value")
        self.note = w.HTML()
        self.note.add_class("wce-counts-note")
        # An HTML legend under the figure: bqplot's own legend sits inside the plot and hides bars.
        self.legend = w.HTML()
        self.legend.add_class("wce-counts-legend")
        self.stale_note = w.HTML(layout=w.Layout(display="none"))
        self.stale_note.add_class("wce-counts-stale")
        #: Crop classes with samples, and how many of them have a bar of their own (see :func:`chart_note`).
        self.n_classes = 0
        self.n_shown = 0
        self.children = [style_widget(), w.HBox([self.mode, self.note], layout=w.Layout(align_items="center")),
                         self.stale_note, self.figure, self.legend]
        self._observe_state(self._update, ["counts", "grouping", "preview_status", "preview_counts", "legend"])
        self._observe_state(self._on_stale, ["results_stale", "status"])
        self._update()
        self._on_mode()
        self._on_stale()

    @property
    def stale(self) -> bool:
        """Whether the bars are from earlier filters (dimmed, with :attr:`stale_note`)."""
        return bool(self.state.results_stale)

    def _on_stale(self, change: dict | None = None) -> None:
        self._show_stale(self.stale, [self.figure, self.legend], self.stale_note)

    @property
    def meaning(self) -> str:
        """What the bars count: ``"matching"`` (your filters, from the preview) or ``"whole"`` (the whole
        collections: the code statistics)."""
        return "matching" if self.state.matching_ready else "whole"

    @property
    def labels(self) -> list[str]:
        """The crop labels on the x axis."""
        return list(self.bars.x)

    def _on_mode(self, change: dict | None = None) -> None:
        grouped = self.mode.value == "grouped"
        with self.figure.hold_sync():
            self.figure.marks = [self.grouped_bars if grouped else self.bars]
            self.figure.axes = ([self._grouped_axis, self._grouped_y_axis] if grouped
                                else [self._stacked_axis, self._y_axis])

    def _update_grouped(self, frame: pd.DataFrame) -> None:
        """Lay out ``frame`` (crops x collections) side by side on the grouped mark's ordinal scale."""
        keys: list[str] = []
        heights: list[float] = []
        colours: list[str] = []
        tick_labels: dict[str, str] = dict.fromkeys(_GROUPED_ENDS, "")
        n_coll = len(frame.columns)
        palette = dict(zip((str(c) for c in frame.columns), self.colours(frame.columns), strict=True))
        for i, (crop, row) in enumerate(frame.iterrows()):
            if i:
                keys.append(f" gap {i}")  # an empty slot between crops; never labelled
                heights.append(0.0)
                colours.append("#ffffff")
                tick_labels[keys[-1]] = ""
            for j, (collection, value) in enumerate(row.items()):
                keys.append(f"{crop} · {collection}")
                heights.append(float(value))
                colours.append(palette[str(collection)])
                tick_labels[keys[-1]] = short_label(str(crop)) if j == (n_coll - 1) // 2 else ""
        self._relabel(self._grouped_axis, tick_labels)
        with self.grouped_bars.hold_sync():
            self.grouped_bars.x = keys
            self.grouped_bars.y = np.asarray(heights, dtype=float)
            self.grouped_bars.colors = colours or COLLECTION_COLOURS
        # An empty slot at each end of the scale (no bar) keeps the first and last bars off the axes.
        self.grouped_bars.scales["x"].domain = [_GROUPED_ENDS[0], *keys, _GROUPED_ENDS[1]]
        self._grouped_axis.tick_labels = tick_labels

    def _update(self, change: dict | None = None) -> None:
        meaning = self.meaning
        matching = self.state.matching_by_label() if meaning == "matching" else None
        frame = self.state.counts_by_label() if matching is None else matching
        if self.figure.title != TITLES[meaning]:
            self.figure.title = TITLES[meaning]
        if not frame.empty:
            frame = frame.loc[frame.sum(axis=1) > 0]  # classes without samples (a ticked code none holds)
        self.n_classes = len(frame.index)
        self.n_shown = min(self.n_classes, self.max_labels if self.n_classes <= self.max_labels
                           else self.max_labels - 1)
        if frame.empty:
            # unlabelled empty slots, not an empty domain: an axis whose scale goes back to the marks' own
            # domain keeps drawing the old crop names (bqplot 0.13)
            slots = [f" before {i}" for i in range(MIN_SLOTS)]
            self._relabel(self._stacked_axis, dict.fromkeys(slots, ""))
            self._relabel(self._grouped_axis, dict.fromkeys(_GROUPED_ENDS, ""))
            self.bars.x, self.bars.y, self.bars.labels = [], [], []
            self.grouped_bars.x, self.grouped_bars.y = [], []
            self.grouped_bars.scales["x"].domain = list(_GROUPED_ENDS)
            self.bars.scales["x"].domain = slots
            self._stacked_axis.tick_labels = dict.fromkeys(slots, "")
            self._grouped_axis.tick_labels = dict.fromkeys(_GROUPED_ENDS, "")
            self.legend.value = ""
            self.note.value = ("<i>no counts yet</i>" if self.state.counts is None and matching is None else
                               f"<i>no samples{NOTE_ENDINGS[meaning]}</i>")
            return
        if len(frame) > self.max_labels:
            head = frame.iloc[: self.max_labels - 1]
            rest = frame.iloc[self.max_labels - 1:].sum().rename(OTHER_CROPS)
            frame = pd.concat([head, rest.to_frame().T])
        totals = frame.sum(axis=0).sort_values(ascending=False)
        columns = list(totals.index)
        if len(columns) > self.max_collections:
            keep = columns[: self.max_collections - 1]
            frame = frame[keep].assign(**{OTHER_COLLECTIONS: frame[columns[self.max_collections - 1:]].sum(axis=1)})
        else:
            frame = frame[columns]
        labels = [str(v) for v in frame.index]
        # empty slots either side of a few bars, so they keep the width of a bar among many
        missing = max(0, MIN_SLOTS - len(labels))
        before = [f" before {i}" for i in range(missing // 2)]
        after = [f" after {i}" for i in range(missing - missing // 2)]
        tick_labels = {**dict.fromkeys(before + after, ""), **{label: short_label(label) for label in labels}}
        self._relabel(self._stacked_axis, tick_labels)
        with self.bars.hold_sync():
            self.bars.x = labels
            self.bars.y = np.asarray(frame.T.to_numpy(dtype=float))
            self.bars.labels = [str(c) for c in frame.columns]
            # one colour per collection (bqplot would colour a single series bar by bar)
            self.bars.colors = self.colours(frame.columns) or COLLECTION_COLOURS[:1]
        # always an explicit domain: an axis whose scale went from a set domain back to the marks' own keeps
        # drawing the old ticks (bqplot 0.13)
        self.bars.scales["x"].domain = [*before, *labels, *after]
        self._stacked_axis.tick_labels = tick_labels
        self.figure.fig_margin = label_margins(labels)
        self._update_grouped(frame)
        self.legend.value = "".join(
            f"<span style='display:inline-block;margin-right:10px;font-size:12px'>"
            f"<span style='display:inline-block;width:10px;height:10px;background:{colour};margin-right:3px'>"
            f"</span>{html.escape(str(name))}</span>"
            for name, colour in zip(frame.columns, self.colours(frame.columns), strict=True)
        )
        total = int(frame.to_numpy().sum())
        self.note.value = (f"<span data-meaning='{meaning}' title='{html.escape(NOTE_TOOLTIPS[meaning])}'>"
                           f"{html.escape(chart_note(total, self.n_classes, self.n_shown) + NOTE_ENDINGS[meaning])}"
                           f"</span>")

    @staticmethod
    def _relabel(axis: bq.Axis, tick_labels: dict[str, str]) -> None:
        """Give ``axis`` the labels of the keys about to be drawn, before the bars and the domain change.

        In bqplot 0.13 labels set after new bars may never reach the drawing (the browser shows the raw
        keys); set first, the redraw for the new domain uses them. The old keys keep their labels meanwhile,
        so nothing is drawn unlabelled; the caller sets exactly the new ones after the bars. The axis stays
        the same model: a new one per update would have to be closed, which races the browser still
        drawing it.
        """
        merged = {**axis.tick_labels, **tick_labels} if axis.tick_labels else dict(tick_labels)
        if merged != axis.tick_labels:
            axis.tick_labels = merged

    def colours(self, collections: Any) -> list[str]:
        """The colours of ``collections`` (ids) shown together, in order: all different, and each the same as
        in this chart's earlier queries when it can be (see :func:`assign_colours`)."""
        return assign_colours(collections, self._colour_memory)
