"""The "Training set" panel: from the fetched samples to a training set and its dataset card.

Six steps, top to bottom, each showing what it does before anything is written: the class mapping (from the crop
picker's grouping and selection, an uploaded CSV/JSON file, or one of WorldCereal's class schemes picked in a
drop-down; the samples a scheme classes ``ignore`` are counted and left out; every code without a class is listed
with its samples and label, and kept as "other", dropped or refused), the
season check (a month histogram per class and, per class, how many samples a month window would remove before the
filter is applied; the window may cross the year end), the de-duplication across collections (tolerance in metres;
drop or flag), the class balance (a bqplot chart class × collection, cap and minimum per class), the spatial split
(three shares, the achieved shares per class) and the export (the data file and the card, as download links).

Every computation and file runs in :class:`~worldcereal_explorer.state.training.TrainingService`; the panel sets
its inputs and shows its outputs (no I/O here).
"""

from __future__ import annotations

import html
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np
import pandas as pd
import traitlets

from ..errors import InvalidInputError
from ..state import RdmQueryState
from ..state.counts import plural
from ..state.training import MONTHS, TrainingService
from ._base import StateWidget, style_widget
from .counts_chart import COLLECTION_COLOURS, OTHER_COLLECTIONS, assign_colours
from .download_panel import link_html
from .parts import html_part

__all__ = ["CLASS_COLOURS", "OTHER_CLASSES", "TrainingPanel", "season_text"]

#: Colours of the classes' lines in the season chart.
CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#393b79", "#637939", "#7f7f7f"]
#: The bar (balance) or line (season) summing the classes beyond the panel's ``max_classes``.
OTHER_CLASSES = "other classes"

_TABLE = "class='wce-table wce-training-table' style='border-collapse:collapse;font-size:12px'"


def season_text(first: int, last: int) -> str:
    """``"Nov–Mar (11-03)"``: a month window in words and in the ``MM-MM`` form the steps take."""
    return f"{MONTHS[first - 1]}\u2013{MONTHS[last - 1]} ({first:02d}-{last:02d})"


def _table(head: list[str], rows: list[list[Any]], *, css_class: str, row_attrs: list[str] | None = None) -> str:
    """An HTML table; cells are escaped, numbers formatted with thousands separators."""
    def cell(value: Any) -> str:
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return f"{int(value):,}"
        return html.escape(str(value))

    attrs = row_attrs or [""] * len(rows)
    body = "".join(f"<tr{a}>" + "".join(f"<td style='padding:1px 8px'>{cell(v)}</td>" for v in row) + "</tr>"
                   for row, a in zip(rows, attrs, strict=True))
    header = "".join(f"<th style='padding:1px 8px'>{html.escape(h)}</th>" for h in head)
    return f"<table {_TABLE} data-table='{css_class}'><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _attr(**values: Any) -> str:
    return "".join(f" data-{k.replace('_', '-')}='{html.escape(str(v), quote=True)}'" for k, v in values.items())


def _section(title: str, *children: Any, css_class: str) -> w.VBox:
    box = w.VBox([w.HTML(f"<b>{html.escape(title)}</b>"), *children],
                 layout=w.Layout(border_top="1px solid #e0e0e0", padding="4px 0", width="100%"))
    box.add_class(css_class)
    return box


class TrainingPanel(StateWidget):
    """The "Training set" panel bound to a query state (and its :class:`TrainingService`).

    Parameters
    ----------
    state
        The query state whose fetched samples become the training set (a new one when ``None``).
    service
        The :class:`~worldcereal_explorer.state.training.TrainingService` to drive; by default one is made for
        ``state`` (and closed with the panel).
    download_dir
        Folder the export writes to (default: the state's ``exports.download_dir``).
    max_classes
        Classes drawn one by one in the charts (by size); the rest are summed into "other classes".
    max_collections
        Collections drawn one by one in the balance chart; the rest are summed into "other collections".
    """

    def __init__(self, state: RdmQueryState | None = None, *, service: TrainingService | None = None,
                 download_dir: Any = None, max_classes: int = 12, max_collections: int = 10, **kwargs: Any):
        super().__init__(state, **kwargs)
        self.add_class("wce-training")
        self._own_service = service is None
        self.service = service if service is not None else TrainingService(self.state)
        self.download_dir = download_dir
        self.max_classes = max_classes
        self.max_collections = max_collections
        self._colour_memory: dict[str, str] = {}
        #: The files of the last export (a :class:`~worldcereal_explorer.state.training.TrainingExport`).
        self.last_export: Any = None
        svc = self.service

        self.status = html_part("wce-training-status")
        self.stale_note = html_part("wce-training-stale", hidden=True)

        # 1. classes
        self.source = w.ToggleButtons(options=[("crop picker", "picker"), ("file", "upload"),
                                               ("WorldCereal scheme", "scheme")],
                                      description="Classes from", style={"button_width": "130px"})
        self.source.add_class("wce-training-source")
        self.upload = w.FileUpload(accept=".csv,.json", multiple=False, description="Mapping file")
        self.upload.add_class("wce-training-upload")
        self.upload.observe(self._on_upload, "value")
        self.scheme = w.Dropdown(options=list(svc.scheme_names), description="Scheme",
                                 layout=w.Layout(width="300px"))
        self.scheme.add_class("wce-training-scheme")
        self.scheme_to_picker = w.Button(description="Show in crop picker", icon="sitemap",
                                         tooltip="select the scheme's codes in the crop picker, grouped by its classes",
                                         layout=w.Layout(width="180px"))
        self.scheme_to_picker.add_class("wce-training-scheme-to-picker")
        self.scheme_to_picker.on_click(lambda _: self.seed_picker())
        self.unmapped = w.ToggleButtons(options=[("default", "auto"), ("keep as 'other'", "other"), ("drop", "drop"),
                                                 ("refuse", "error")],
                                        tooltips=["a scheme drops them, a picker or file mapping keeps them as "
                                                  "'other'", "", "", "stop with the list of codes"],
                                        description="Unmapped", style={"button_width": "110px"})
        self.unmapped.add_class("wce-training-unmapped")
        self.mapping_html = html_part("wce-training-mapping")
        #: Every code without a class, with its samples and label (a table of its own, below the classes).
        self.unmapped_html = html_part("wce-training-unmapped-codes")

        # 2. season
        months = [(name, i + 1) for i, name in enumerate(MONTHS)]
        self.season_start = w.Dropdown(options=months, description="From", layout=w.Layout(width="160px"))
        self.season_start.add_class("wce-training-season-start")
        self.season_end = w.Dropdown(options=months, description="to", layout=w.Layout(width="160px"))
        self.season_end.add_class("wce-training-season-end")
        self.apply_season = w.Checkbox(description="remove samples outside the window", indent=False)
        self.apply_season.add_class("wce-training-season-apply")
        x_scale, y_scale = bq.OrdinalScale(domain=list(MONTHS)), bq.LinearScale(min=0)
        self.window_bars = bq.Bars(x=list(MONTHS), y=np.zeros(12), scales={"x": x_scale, "y": y_scale},
                                   colors=["#fff3e0"], opacities=[0.9], padding=0.0)
        self.season_lines = bq.Lines(x=list(MONTHS), y=np.zeros((1, 12)), scales={"x": x_scale, "y": y_scale},
                                     colors=CLASS_COLOURS, display_legend=True, labels=[], marker="circle",
                                     marker_size=16)
        self.season_figure = bq.Figure(
            marks=[self.window_bars, self.season_lines],
            axes=[bq.Axis(scale=x_scale), bq.Axis(scale=y_scale, side="left", tick_format=",d")],
            title="Samples per month of valid_time (shaded: the window)", legend_location="top-left",
            fig_margin={"top": 40, "bottom": 30, "left": 60, "right": 20},
            layout=w.Layout(width="100%", height="300px"))
        self.season_figure.add_class("wce-training-season-chart")
        self.season_html = html_part("wce-training-season-preview")

        # 3. duplicates
        self.dedup = w.Checkbox(description="look for duplicates across collections", indent=False)
        self.dedup.add_class("wce-training-dedup-on")
        self.tolerance = w.BoundedFloatText(min=0.0, max=100_000.0, step=1.0, description="Tolerance (m)",
                                            style={"description_width": "initial"}, layout=w.Layout(width="200px"))
        self.tolerance.add_class("wce-training-tolerance")
        self.dedup_action = w.ToggleButtons(options=[("drop", False), ("flag (duplicate_of)", True)],
                                            style={"button_width": "130px"})
        self.dedup_action.add_class("wce-training-dedup-action")
        self.dedup_html = html_part("wce-training-dedup")

        # 4. balance
        self.max_per_class = w.BoundedIntText(min=0, max=10**9, description="Cap per class (0: none)",
                                              style={"description_width": "initial"}, layout=w.Layout(width="250px"))
        self.max_per_class.add_class("wce-training-max")
        self.min_per_class = w.BoundedIntText(min=0, max=10**9, description="Warn under (0: no check)",
                                              style={"description_width": "initial"}, layout=w.Layout(width="250px"))
        self.min_per_class.add_class("wce-training-min")
        self.balance_warnings = html_part("wce-training-warnings")
        bx, by = bq.OrdinalScale(), bq.LinearScale(min=0)
        self.balance_bars = bq.Bars(x=[], y=[], scales={"x": bx, "y": by}, type="stacked", colors=COLLECTION_COLOURS,
                                    labels=[], tooltip=bq.Tooltip(fields=["x", "y"], labels=["class", "samples"]))
        self.balance_figure = bq.Figure(
            marks=[self.balance_bars],
            axes=[bq.Axis(scale=bx, tick_rotate=-45, tick_style={"font-size": "10px", "text-anchor": "end"}),
                  bq.Axis(scale=by, side="left", tick_format=",d")],
            title="Training set: samples per class and collection",
            fig_margin={"top": 40, "bottom": 120, "left": 60, "right": 20},
            layout=w.Layout(width="100%", height="360px"))
        self.balance_figure.add_class("wce-training-balance")
        self.balance_legend = html_part("wce-training-balance-legend")

        # 5. split
        share_box = {"layout": w.Layout(width="170px"), "style": {"description_width": "initial"}}
        self.share_inputs = [w.BoundedFloatText(min=0.0, max=1.0, step=0.05, description=name.capitalize(),
                                                **share_box) for name in ("train", "validation", "test")]
        for name, box in zip(("train", "validation", "test"), self.share_inputs, strict=True):
            box.add_class(f"wce-training-share-{name}")
            box.observe(self._on_share_input, "value")
        self.block_res = w.BoundedIntText(min=0, max=15, description="Block H3 resolution",
                                          style={"description_width": "initial"}, layout=w.Layout(width="220px"))
        self.block_res.add_class("wce-training-block-res")
        self.seed = w.IntText(description="Seed", layout=w.Layout(width="160px"))
        self.seed.add_class("wce-training-seed")
        self.shares_note = html_part("wce-training-shares-note")
        self.split_html = html_part("wce-training-split")

        # 6. export
        self.export_button = w.Button(description="Export training set", icon="download", button_style="primary",
                                      layout=w.Layout(width="220px"))
        self.export_button.add_class("wce-training-export")
        self.export_button.on_click(lambda _: self.export())
        self.links = html_part("wce-training-links")
        self.licences = html_part("wce-training-licences")

        for widget, name in ((self.source, "mapping_source"), (self.unmapped, "unmapped"), (self.scheme, "scheme"),
                             (self.season_start, "season_start"), (self.season_end, "season_end"),
                             (self.apply_season, "apply_season"), (self.dedup, "dedup"),
                             (self.tolerance, "tolerance_m"), (self.dedup_action, "keep_duplicates"),
                             (self.max_per_class, "max_per_class"), (self.min_per_class, "min_per_class"),
                             (self.block_res, "block_h3_res"), (self.seed, "seed")):
            self._links.append(traitlets.link((svc, name), (widget, "value")))
        self._show_shares()

        self.children = [
            style_widget(),
            w.HTML("<h4 style='margin:4px 0'>Training set</h4><div style='color:#555;font-size:12px'>From the "
                   "fetched samples to a training set: classes, season, duplicates, balance, spatial split, then "
                   "the file and its dataset card (every collection's licence and citation).</div>"),
            self.status, self.stale_note,
            _section("1. Classes", w.HBox([self.source, self.upload], layout=w.Layout(flex_flow="row wrap")),
                     w.HBox([self.scheme, self.scheme_to_picker], layout=w.Layout(flex_flow="row wrap")),
                     self.unmapped, self.mapping_html, self.unmapped_html, css_class="wce-training-classes"),
            _section("2. Season", w.HBox([self.season_start, self.season_end, self.apply_season],
                                         layout=w.Layout(align_items="center", flex_flow="row wrap")),
                     self.season_html, self.season_figure, css_class="wce-training-season"),
            _section("3. Duplicates across collections",
                     w.HBox([self.dedup, self.tolerance, self.dedup_action],
                            layout=w.Layout(align_items="center", flex_flow="row wrap")),
                     self.dedup_html, css_class="wce-training-duplicates"),
            _section("4. Balance", w.HBox([self.max_per_class, self.min_per_class]), self.balance_warnings,
                     self.balance_figure, self.balance_legend, css_class="wce-training-balance-section"),
            _section("5. Spatial split", w.HBox([*self.share_inputs], layout=w.Layout(flex_flow="row wrap")),
                     w.HBox([self.block_res, self.seed]), self.shares_note, self.split_html,
                     css_class="wce-training-split-section"),
            _section("6. Export", self.export_button, self.links, self.licences, css_class="wce-training-export-section"),
        ]
        self._service_observers = [
            (self._on_status, ["status", "message"]),
            (self._on_mapping, ["mapped_summary", "mapping"]),
            (self._on_scheme_names, ["scheme_names", "mapping_source"]),
            (self._on_season, ["histogram", "season_preview"]),
            (self._on_dedup, ["dedup_report"]),
            (self._on_balance, ["balance", "warnings"]),
            (self._on_split, ["split_report"]),
            (self._on_card, ["card"]),
            (self._on_shares, ["shares"]),
            (self._clear_links, ["result"]),
        ]
        for handler, names in self._service_observers:
            svc.observe(handler, names=names)
        self._observe_state(self._on_stale, ["samples", "samples_stale"])
        self._refresh()

    # --- rendering ------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        for handler, _names in self._service_observers:
            handler()
        self._on_stale()

    def _on_stale(self, change: dict | None = None) -> None:
        stale = bool(self.state.samples_stale) and self.state.samples is not None
        self._show_stale(stale, [self.mapping_html, self.unmapped_html, self.season_html, self.dedup_html,
                                 self.split_html], self.stale_note)
        if stale:
            self.stale_note.value = ("<span class='wce-stale-note'>&#9888; the fetched samples are from earlier "
                                     "filters: press Fetch samples to prepare the training set from the current "
                                     "ones</span>")

    def _on_status(self, change: dict | None = None) -> None:
        svc = self.service
        colour = {"error": "#b71c1c", "loading": "#555"}.get(svc.status, "#1b5e20")
        text = svc.message or ("no samples yet: fetch samples first" if self.state.samples is None else "")
        self.status.value = (f"<div style='color:{colour};font-size:13px' data-status='{svc.status}'>"
                             f"{html.escape(text)}</div>")
        self.export_button.disabled = svc.status == "error" or (svc.result is None and not svc.busy)

    def _on_mapping(self, change: dict | None = None) -> None:
        summary = self.service.mapped_summary
        if not summary:
            self.mapping_html.value = self.unmapped_html.value = ""
            return
        mapping = self.service.mapping
        codes: dict[str, list[int]] = {}
        for code, name in mapping.items():
            codes.setdefault(str(name), []).append(int(code))
        rows, attrs = [], []
        for name, count in sorted(summary["classes"].items(), key=lambda kv: (-kv[1], kv[0])):
            listed = codes.get(name, [])
            shown = ", ".join(map(str, sorted(listed)[:4])) + (" \u2026" if len(listed) > 4 else "")
            rows.append([name, count, shown or ("unmapped codes" if name == summary["other_label"] else "")])
            attrs.append(_attr(cls=name, count=count))
        if summary.get("scheme"):
            source = (f"the WorldCereal class scheme {summary['scheme']} ({summary.get('scheme_source')}; codes "
                      "matched exactly)")
        elif self.service.mapping_source == "picker":
            source = "the crop picker (grouped codes: their group; ticked codes: their label; nothing ticked: every code)"
        else:
            source = f"the file {self.service.uploaded_name or '(none uploaded)'}"
        unmapped = summary["unmapped_samples"]
        what = ("dropped" if summary["unmapped"] == "drop" else f"kept as {summary['other_label']!r}")
        note = (f"{plural(unmapped, 'sample')} of {plural(len(summary['unmapped_codes']), 'code')} without a class: "
                f"{what}" if unmapped else "every sample has a class")
        ignored = int(summary.get("ignored_samples", 0))
        ignored_note = (f"; {plural(ignored, 'sample')} of {plural(len(summary.get('ignored_codes', [])), 'code')} "
                        "classed 'ignore': left out" if ignored else "")
        report = summary.get("unmapped_report") or []
        unmapped_table = ""
        if report:
            unmapped_table = (
                f"<div style='font-size:12px;margin-top:4px'>Codes without a class ({html.escape(what)}):</div>"
                + _table(["ewoc_code", "label", "samples"],
                         [[str(r["ewoc_code"]), str(r["label"]), int(r["samples"])] for r in report],
                         css_class="unmapped",
                         row_attrs=[_attr(code=r["ewoc_code"], samples=r["samples"]) for r in report]))
        self.mapping_html.value = (
            f"<div style='font-size:12px'>Classes from {html.escape(source)}: "
            f"{plural(len(summary['classes']), 'class', 'classes')} of {summary['n_samples']:,} samples; "
            f"<span data-unmapped='{unmapped}'>{html.escape(note)}</span>"
            f"<span data-ignored='{ignored}'>{html.escape(ignored_note)}</span></div>"
            + _table(["class", "samples", "codes"], rows, css_class="mapping", row_attrs=attrs))
        self.unmapped_html.value = unmapped_table

    def _on_scheme_names(self, change: dict | None = None) -> None:
        names = list(self.service.scheme_names)
        if list(self.scheme.options) != names:
            with self._sync():
                self.scheme.options = names
                self.scheme.value = self.service.scheme if self.service.scheme in names else None
        visible = self.service.mapping_source == "scheme"
        self.scheme.layout.display = self.scheme_to_picker.layout.display = None if visible else "none"

    def seed_picker(self) -> dict | None:
        """Select the chosen scheme's codes in the crop picker, grouped by its classes (through the service).

        Returns
        -------
        dict or None
            The grouping set; ``None`` when it failed (the panel says why).
        """
        try:
            return self.service.scheme_to_picker()
        except Exception as exc:  # shown in the panel, never a traceback
            self.mapping_html.value = f"<span style='color:#b71c1c;font-size:12px'>{html.escape(str(exc))}</span>"
            return None

    def _top_classes(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (index: classes) with the classes beyond ``max_classes`` (by row total) summed."""
        order = frame.sum(axis=1).sort_values(ascending=False, kind="stable").index
        frame = frame.loc[order]
        if len(frame) <= self.max_classes:
            return frame
        head = frame.iloc[: self.max_classes - 1]
        rest = frame.iloc[self.max_classes - 1:].sum().rename(OTHER_CLASSES)
        return pd.concat([head, rest.to_frame().T])

    def _on_season(self, change: dict | None = None) -> None:
        svc = self.service
        hist, preview = svc.histogram, svc.season_preview
        first, last = svc.season_start, svc.season_end
        months = [(first - 1 + i) % 12 + 1 for i in range((last - first) % 12 + 1)]
        if hist is None or preview is None:
            self.season_html.value = ""
            with self.season_lines.hold_sync():
                self.season_lines.y = np.zeros((1, 12))
                self.season_lines.labels = []
            self.window_bars.y = np.zeros(12)
            return
        table = self._top_classes(hist[list(MONTHS)])
        with self.season_lines.hold_sync():
            self.season_lines.y = table.to_numpy(dtype=float)
            self.season_lines.labels = [str(c) for c in table.index]
            self.season_lines.colors = CLASS_COLOURS
        peak = float(table.to_numpy().max()) if table.size else 0.0
        self.window_bars.y = np.array([peak if m in months else 0.0 for m in range(1, 13)])
        removed, total = int(preview["removed"].sum()), int(preview["total"].sum())
        verb = "removes" if svc.apply_season else "would remove"
        rows = [[str(cls), int(r.total), int(r.removed), int(r.kept), f"{r.removed_share:.1%}"]
                for cls, r in preview.sort_values("removed", ascending=False, kind="stable").iterrows()]
        attrs = [_attr(cls=row[0], removed=row[2], total=row[1]) for row in rows]
        self.season_html.value = (
            f"<div style='font-size:12px' data-window='{first:02d}-{last:02d}' data-removed='{removed}'>"
            f"The window {html.escape(season_text(first, last))} {verb} <b>{removed:,}</b> of {total:,} samples "
            f"(valid_time outside it{', or missing' if 'none' in hist.columns else ''})"
            f"{'' if svc.apply_season else '; tick the box to apply it'}:</div>"
            + _table(["class", "samples", "outside the window", "kept", "share removed"], rows,
                     css_class="season", row_attrs=attrs))

    def _on_dedup(self, change: dict | None = None) -> None:
        report = self.service.dedup_report
        if report is None:
            self.dedup_html.value = ("<div style='font-size:12px'>not checked</div>"
                                     if self.service.result is not None else "")
            return
        verb = "flagged in duplicate_of" if report.keep_duplicates else "dropped"
        rows = [[str(k), str(d), int(c)] for k, d, c in
                report.pairs[["kept_ref_id", "duplicate_ref_id", "count"]].itertuples(index=False)]
        attrs = [_attr(kept=k, duplicate=d, count=c) for k, d, c in rows]
        self.dedup_html.value = (
            f"<div style='font-size:12px' data-duplicates='{report.n_duplicates}'>"
            f"<b>{report.n_duplicates:,}</b> of {report.n_samples:,} samples describe the same place in the same "
            f"year as a sample of another collection (points within {report.tolerance_m:g} m, polygons overlapping "
            f"more than {report.min_overlap:.0%} of the smaller one): {verb}</div>"
            + (_table(["kept from", "duplicate from", "duplicates"], rows, css_class="dedup", row_attrs=attrs)
               if rows else ""))

    def _on_balance(self, change: dict | None = None) -> None:
        svc = self.service
        self.balance_warnings.value = "".join(f"<div class='wce-stale-note'>&#9888; {html.escape(t)}</div>"
                                              for t in svc.warnings)
        balance = svc.balance
        if balance is None or balance.empty:
            with self.balance_bars.hold_sync():
                self.balance_bars.x, self.balance_bars.y, self.balance_bars.labels = [], [], []
            self.balance_legend.value = ""
            return
        class_col = balance.columns[0]
        frame = balance.pivot_table(index=class_col, columns="ref_id", values="count", aggfunc="sum", fill_value=0)
        frame = self._top_classes(frame)
        totals = frame.sum(axis=0).sort_values(ascending=False, kind="stable")
        columns = [str(c) for c in totals.index]
        if len(columns) > self.max_collections:
            keep = columns[: self.max_collections - 1]
            frame = frame[keep].assign(**{OTHER_COLLECTIONS: frame[columns[self.max_collections - 1:]].sum(axis=1)})
        else:
            frame = frame[columns]
        # the counts chart's rule: no two collections of one chart share a colour, each keeps its own
        colours = assign_colours(frame.columns, self._colour_memory)
        with self.balance_bars.hold_sync():
            self.balance_bars.x = [str(v) for v in frame.index]
            self.balance_bars.y = frame.T.to_numpy(dtype=float)
            self.balance_bars.labels = [str(c) for c in frame.columns]
            self.balance_bars.colors = colours
        self.balance_legend.value = "".join(
            f"<span style='display:inline-block;margin-right:10px;font-size:12px' data-collection='{html.escape(n)}'>"
            f"<span style='display:inline-block;width:10px;height:10px;background:{c};margin-right:3px'></span>"
            f"{html.escape(n)}</span>" for n, c in zip(map(str, frame.columns), colours, strict=True))

    def _on_split(self, change: dict | None = None) -> None:
        report = self.service.split_report
        if report is None:
            self.split_html.value = ""
            return
        splits = ("train", "validation", "test")
        rows: list[list[Any]] = [["asked", "", "", "", *[f"{report.asked[s]:.1%}" for s in splits]]]
        attrs = [_attr(cls="asked", **{f"{s}_share": f"{report.asked[s]:.6f}" for s in splits})]
        for cls, row in report.table.iterrows():
            rows.append([str(cls), *[int(row[s]) for s in splits], *[f"{row[f'{s}_share']:.1%}" for s in splits]])
            attrs.append(_attr(cls=cls, **{s: int(row[s]) for s in splits},
                               **{f"{s}_share": f"{row[f'{s}_share']:.6f}" for s in splits}))
        blocks = ", ".join(f"{s} {n}" for s, n in report.blocks.items())
        self.split_html.value = (
            f"<div style='font-size:12px'>Whole H3 r{self.service.block_h3_res} blocks go to one split "
            f"({html.escape(blocks)} blocks); achieved shares per class:</div>"
            + _table(["class", "train", "validation", "test", "train share", "validation share", "test share"],
                     rows, css_class="split", row_attrs=attrs))

    def _on_card(self, change: dict | None = None) -> None:
        card = self.service.card
        if card is None:
            self.licences.value = ""
            return
        restricted = card.data.get("restricted_licences", [])
        items = "".join(f"<li data-collection='{html.escape(r['id'])}'><code>{html.escape(r['id'])}</code>: "
                        f"{html.escape(r['licence'] or r['licence_type'] or 'no licence stated')} "
                        f"({html.escape(', '.join(r['flags']))})</li>" for r in restricted)
        n = len(card.data.get("collections", []))
        self.licences.value = (f"<div style='font-size:12px'>The card lists the licence and citation of all "
                               f"{plural(n, 'collection')}."
                               + (f" <b>{len(restricted)} restrict reuse:</b><ul>{items}</ul>" if restricted else "")
                               + "</div>")

    # --- inputs -----------------------------------------------------------------------------------------
    def _show_shares(self) -> None:
        with self._sync():
            for box, value in zip(self.share_inputs, self.service.shares, strict=True):
                box.value = round(float(value), 6)

    def _on_shares(self, change: dict | None = None) -> None:
        if not self._syncing:
            self._show_shares()
        self.shares_note.value = ""

    def _on_share_input(self, change: dict) -> None:
        if self._syncing:
            return
        values = tuple(float(b.value) for b in self.share_inputs)
        try:
            with self._sync():
                self.service.shares = values
        except (traitlets.TraitError, InvalidInputError) as exc:
            self.shares_note.value = f"<span style='color:#b71c1c;font-size:12px'>{html.escape(str(exc))}</span>"
        else:
            self.shares_note.value = ""

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        try:
            self.service.load_mapping_file(item["name"], bytes(item["content"]))
        except Exception as exc:  # shown in the panel, never a traceback
            self.mapping_html.value = f"<span style='color:#b71c1c;font-size:12px'>{html.escape(str(exc))}</span>"

    def set_shares(self, train: float, validation: float, test: float) -> None:
        """Type the three split shares (as a user would) into the panel."""
        with self._sync():
            for box, value in zip(self.share_inputs, (train, validation, test), strict=True):
                box.value = value
        self._on_share_input({})

    # --- export -------------------------------------------------------------------------------------------
    def _clear_links(self, change: dict | None = None) -> None:
        self.links.value = ""

    def export(self, path: Any = None) -> Any:
        """Write the training set and its card (through the service) and show download links to them.

        Returns
        -------
        TrainingExport or None
            The files written; ``None`` when the export failed (the panel says why).
        """
        if path is None and self.download_dir is not None:
            path = Path(self.download_dir) / f"training_set_{datetime.now():%Y%m%d-%H%M%S}.parquet"
        try:
            written = self.service.export(path)
            links = [self.service.link(p) for p in written.paths]
        except Exception as exc:  # shown in the panel, never a traceback
            self.links.value = f"<div style='color:#b71c1c'>Could not export: {html.escape(str(exc))}</div>"
            return None
        self.last_export = written
        self.links.value = "<br>".join(link_html(saved, css_class="wce-training-link") for saved in links)
        return written

    def close(self) -> None:
        """Detach from the service and the state; close the service when the panel made it."""
        observers, self._service_observers = getattr(self, "_service_observers", []), []
        for handler, names in observers:
            with suppress(ValueError):
                self.service.unobserve(handler, names=names)
        if getattr(self, "_own_service", False):
            self.service.close()
        super().close()
