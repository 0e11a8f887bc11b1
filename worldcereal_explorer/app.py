"""The explorer dashboard: every widget around one shared query state.

In a notebook::

    from worldcereal_explorer import RdmExplorer
    RdmExplorer()                      # endpoint from $WORLDCEREAL_RDM_URL, else the live RDM

``apps/rdm_explorer.ipynb`` is exactly that, so ``voila apps/rdm_explorer.ipynb`` serves it as a web app.
"""

from __future__ import annotations

import html
import logging
import os
from contextlib import suppress
from pathlib import Path
from typing import Any

import ipywidgets as w

from .config import data_banner, resolve_min_quality, warn_if_served_with_remembered_login
from .errors import InvalidInputError
from .state import RdmQueryState
from .state.links import parse_query_string
from .state.serialize import apply_state_dict
from .widgets._base import CSS as WIDGET_CSS
from .widgets._base import widget_tree
from .widgets.aria import aria_labels
from .widgets.bbox_map import BBoxMap
from .widgets.counts_chart import CountsChart
from .widgets.crop_picker import CropTypePicker
from .widgets.date_range import DateRangePicker
from .widgets.density_layer import PreviewDensityLayer
from .widgets.download_panel import DownloadPanel
from .widgets.kernel_watch import kernel_watch
from .widgets.preview_panel import PreviewPanel
from .widgets.privacy import PrivacyToggle
from .widgets.quality import QualityFilter
from .widgets.results_table import ResultsTable
from .widgets.samples_preview import SamplesPreview
from .widgets.share_panel import SharePanel
from .widgets.status import StatusBar
from .widgets.subset import SubsetToggle
from .widgets.text_search import TextSearch
from .widgets.training_panel import TrainingPanel

__all__ = ["MAP_HEIGHT", "RdmExplorer"]

#: The map's fixed height: the one panel that does not grow with its content (the page scrolls instead).
MAP_HEIGHT = "420px"

#: The page's layout rules (scoped to the dashboard). The page scrolls, the panels grow with their content:
#: no panel scrolls inside the page (the crop tree, the samples preview), only the map has a fixed height.
_CSS = """
<style>
.wce-explorer { box-sizing: border-box; max-width: 100%; }
.wce-explorer .wce-panel { border: 1px solid #e0e0e0; border-radius: 4px; padding: 6px; background: #fff;
  box-sizing: border-box; margin: 0 0 6px 0; overflow: visible; }
.wce-explorer .wce-main { flex-flow: row nowrap; align-items: flex-start; width: 100%; gap: 6px; }
.wce-explorer .wce-filters { flex: 0 0 390px; width: 390px; min-width: 0; }
/* ipywidgets boxes scroll their overflow by default: here nothing scrolls but the page */
.wce-explorer .widget-box, .wce-explorer .widget-gridbox { overflow: visible; }
.wce-explorer .wce-crop-picker .widget-text { max-width: calc(100% - 4px); }
.wce-explorer .wce-main-column { flex: 1 1 0; min-width: 0; }
.wce-explorer .wce-actions { flex-flow: row wrap; align-items: center; width: 100%; }
.wce-explorer .wce-actions .jupyter-button { width: auto; min-width: 96px; }
.wce-explorer .wce-actions .wce-reset-all { margin-left: auto; }
.wce-explorer .wce-header h3 { margin: 0 0 2px 0; font-size: 18px; }
.wce-explorer .wce-header .wce-intro { color: #555; font-size: 12px; }
/* the map's controls: the country box and the upload share a line, the typed edges the next one */
.wce-explorer .wce-map { flex-flow: row wrap; align-items: center; column-gap: 10px; }
.wce-explorer .wce-map > * { flex: 0 0 100%; order: 5; }
.wce-explorer .wce-map > .wce-place-search { flex: 0 1 auto; width: auto; order: 1; }
.wce-explorer .wce-map > .wce-aoi-upload { flex: 0 1 auto; width: auto; order: 2; }
.wce-explorer .wce-map > .widget-hbox { order: 3; }
.wce-explorer .wce-map > .wce-bbox-hint { order: 4; }
.wce-explorer .wce-map > .wce-outline-base { order: 5; }
/* the collections table: headers may take two lines, so the columns fit the right-hand column */
.wce-explorer .wce-results-grid { column-gap: 4px !important; grid-template-columns: 28px minmax(110px, 1.5fr)
  minmax(90px, 1.5fr) 56px 70px 78px 64px 62px !important; }
.wce-explorer .wce-results-grid:has(> .wce-sort-total) { grid-template-columns: 28px minmax(110px, 1.5fr)
  minmax(90px, 1.5fr) 56px 70px 78px 78px 64px 62px !important; }
.wce-explorer .wce-results-grid .jupyter-button { margin: 1px 0 !important; }
.wce-explorer .wce-results-grid .wce-sort { white-space: normal; height: auto; min-height: 30px; line-height: 1.2;
  padding: 2px 4px !important; font-size: 12px; text-overflow: clip; }
.wce-explorer .wce-results-grid .wce-link-button { white-space: normal; overflow-wrap: anywhere; height: auto;
  min-height: 24px; line-height: 1.3; text-align: left; }
.wce-explorer .wce-results-grid .widget-html-content { line-height: 1.3; }
/* no scrolling inside the scrolling page: these panels grow instead */
.wce-explorer .wce-crop-tree { max-height: none !important; overflow: visible !important; }
.wce-explorer .wce-samples-preview { max-height: none !important; overflow: visible !important; }
/* crop rows: label and count on one line (widgets/_base.py CSS); sub-classes are indented by the tree */
.wce-explorer .wce-crop-counts-note .widget-html-content { line-height: 1.3; }
.wce-explorer .wce-crop-row .jupyter-button { background: transparent; font-size: 15px; }
.wce-explorer .wce-results-grid .wce-sort { font-weight: 600; background: #eceff1; }
.wce-explorer .wce-table { border-collapse: collapse; font-size: 12px; line-height: 1.4; }
.wce-explorer .wce-table td, .wce-explorer .wce-table th { padding: 2px 6px; border-bottom: 1px solid #eee; }
/* the samples preview: the whole width, headers and values on one line (only the long ids may wrap) */
.wce-explorer .wce-samples-preview table { width: 100%; line-height: 1.4; }
.wce-explorer .wce-samples-preview th { white-space: nowrap; text-align: left; background: #eceff1; }
.wce-explorer .wce-samples-preview td { white-space: nowrap; }
.wce-explorer .wce-samples-preview td:nth-child(-n+2) { white-space: normal; overflow-wrap: anywhere; }
/* the share panel's code box is as tall as its code (no scroll bar inside the page) */
.wce-explorer .wce-share-code { height: auto !important; }
.wce-explorer .wce-share-code textarea { field-sizing: content; height: auto; min-height: 4em; }
.wce-explorer .wce-data-banner { padding: 4px 8px; border-radius: 4px; font-size: 13px; margin: 2px 0; }
.wce-explorer .wce-data-banner[data-kind='demo'] { background: #fff3e0; border: 1px solid #ffb74d; }
.wce-explorer .wce-data-banner[data-kind='live'] { background: #e8f5e9; border: 1px solid #81c784; }
.wce-explorer .wce-data-banner[data-kind='other'] { background: #e3f2fd; border: 1px solid #64b5f6; }
.wce-explorer .wce-url-problems { color: #8a4b00; background: #fff8e1; padding: 2px 8px; font-size: 13px; }
@media (max-width: 1100px) {
  /* a narrow window: slimmer tree buttons and table columns, so both columns still fit */
  .wce-explorer .wce-filters { flex-basis: 370px; width: 370px; }
  .wce-explorer .wce-crop-label .widget-html-content { font-size: 12px; }
  .wce-explorer .wce-crop-row .wce-crop-expand { width: 20px !important; }
  .wce-explorer .wce-crop-row .wce-crop-check { width: 24px !important; }
  .wce-explorer .wce-map .widget-text[class*='wce-bbox-'] { width: 118px !important; }
  .wce-explorer .wce-results-grid { column-gap: 2px !important; grid-template-columns: 28px minmax(90px, 1.5fr)
    minmax(80px, 1.5fr) 52px 64px 72px 58px 58px !important; }
  .wce-explorer .wce-results-grid:has(> .wce-sort-total) { grid-template-columns: 28px minmax(90px, 1.5fr)
    minmax(80px, 1.5fr) 52px 64px 72px 72px 58px 58px !important; }
  .wce-explorer .wce-results-grid .widget-html-content,
  .wce-explorer .wce-results-grid .wce-link-button { font-size: 12px; }
}
</style>
"""


log = logging.getLogger(__name__)


def _panel(children: list, name: str) -> w.VBox:
    """A bordered box (CSS class ``wce-panel`` and ``name``); its size comes from the page's CSS."""
    box = w.VBox(children)
    box.add_class("wce-panel")
    box.add_class(name)
    return box


def _configured_client(endpoint: str | None) -> Any:
    """A client using the config file's legend source when the file sets one (else ``None``: the default)."""
    from .config import resolve_setting

    legend = resolve_setting("legend_source")
    if legend.source != "config file":
        return None  # argument / environment / default: the legend loader resolves those itself
    from .rdm.client import RdmClient

    return RdmClient(endpoint, legend=legend.value)


class RdmExplorer(w.VBox):
    """The RDM explorer dashboard: status on top; filters left; map, collections and chart right; samples below.

    Parameters
    ----------
    endpoint
        RDM base URL; ``None`` = ``$WORLDCEREAL_RDM_URL`` or the live API.
    state
        A shared :class:`~worldcereal_explorer.state.RdmQueryState` (one is built from ``endpoint`` when
        ``None``); anything set on it from Python shows up in the dashboard and vice versa.
    search
        Start a search for the initial filters right away (in the background).
    download_dir
        Where the download panel writes files (default: a temporary folder).
    query_string
        Initial filters as a link's query string (``bbox=W,S,E,N&start=...&end=...&codes=...``; see
        :data:`~worldcereal_explorer.state.links.URL_PARAMS`). ``None``: the page's own query string
        under Voilà (``$QUERY_STRING``), else none. Unknown or malformed parameters are listed in a
        visible message and their defaults are kept.
    url_sync
        Keep the browser's address bar on the current filters; ``None``: on under Voilà only.
    """

    def __init__(self, endpoint: str | None = None, state: RdmQueryState | None = None, *,
                 search: bool = True, download_dir: str | Path | None = None, query_string: str | None = None,
                 url_sync: bool | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("wce-explorer")
        under_voila = "QUERY_STRING" in os.environ  # Voilà gives every kernel the page's query string
        warn_if_served_with_remembered_login(log)
        problems: list[str] = []
        if state is None:
            defaults: dict[str, int] = {}
            for kind in ("lc", "ct"):
                try:
                    defaults[f"min_quality_{kind}"] = resolve_min_quality(kind)
                except InvalidInputError as exc:
                    problems.append(f"default quality threshold ignored: {exc}")
            state = RdmQueryState(endpoint, client=_configured_client(endpoint), **defaults)
        self.state = state
        if query_string is None:
            query_string = os.environ.get("QUERY_STRING", "")
        values, url_problems = parse_query_string(query_string)
        problems += url_problems
        if values:
            apply_state_dict(state, values, validated=True)
        # Cancel sits next to "Fetch samples" (below), not in the status line.
        self.status = StatusBar(state, show_cancel=False)
        self.dates = DateRangePicker(state)
        self.privacy = PrivacyToggle(state)
        self.quality = QualityFilter(state)
        self.subset = SubsetToggle(state)
        # The legend arrives in the background; without one the picker says so and the rest still works.
        self.crop_picker = CropTypePicker(state)
        self.map = BBoxMap(state, height=MAP_HEIGHT)
        # One line ("maize Kenya 2021") sets crop, area and dates at once, at the top of the filters.
        self.text_search = TextSearch(state, zoom_to=self.map.zoom_to)
        # What a fetch would bring, before fetching: hexagons on the map and a line under it.
        self.density = PreviewDensityLayer(state, self.map.map)
        self.fetch_preview = PreviewPanel(state)  # turns state.auto_preview on
        self.table = ResultsTable(state)
        self.table.details.zoom_to = self.map.zoom_to
        if download_dir is not None:
            self.table.details.download_dir = download_dir
        self.preview = SamplesPreview(state)
        self.chart = CountsChart(state)
        self.downloads = DownloadPanel(state, download_dir=download_dir)
        self.training = TrainingPanel(state, download_dir=download_dir)
        self.share = SharePanel(state, url_sync=under_voila if url_sync is None else url_sync)

        self.search_button = w.Button(description="Search now", icon="search")
        self.search_button.add_class("wce-search")
        self.search_button.on_click(lambda _: state.search(delay=0))
        self.fetch_button = w.Button(description="Fetch samples", icon="map-marker", button_style="success")
        self.fetch_button.add_class("wce-fetch-samples")
        self.fetch_button.on_click(lambda _: state.fetch_samples(wait=False))
        self.reset_button = w.Button(description="Reset all", icon="undo",
                                     tooltip="every filter back to its default (area, dates, crops, access, "
                                             "quality, subset, selection) and search again")
        self.reset_button.add_class("wce-reset-all")
        self.reset_button.on_click(lambda _: self.reset())
        state.observe(self._on_stale, "samples_stale")

        endpoint_value = getattr(state.client, "endpoint", "") or ""
        endpoint_text = html.escape(endpoint_value)
        banner = data_banner(endpoint_value)
        self.banner = w.HTML(f"<div class='wce-data-banner' data-kind='{banner.kind}'>"
                             f"{html.escape(banner.text)}</div>")
        self.url_problems = w.HTML("".join(f"<div>{html.escape(p)}</div>" for p in problems))
        self.url_problems.add_class("wce-url-problems")
        self.url_problems.layout.display = "" if problems else "none"
        header = w.HTML(f"<h3>WorldCereal reference data explorer</h3>"
                        f"<div class='wce-intro'>Find crop reference data: draw or type an area, "
                        f"tick crop types, choose dates, then fetch the samples. RDM: "
                        f"<code class='wce-endpoint'>{endpoint_text}</code></div>{_CSS}{WIDGET_CSS}")
        header.add_class("wce-header")
        # Two columns: the filters (whose crop tree grows as branches open) on the left; the map, the
        # matching collections and the chart on the right, so opening the tree never pushes them down.
        filters = _panel([self.text_search, self.dates, self.privacy, self.quality, self.subset, self.crop_picker], "wce-filters")
        actions = w.HBox([self.search_button, self.fetch_button, self.status.cancel_button, self.reset_button])
        actions.add_class("wce-actions")
        main_column = w.VBox([_panel([actions, self.map, self.fetch_preview, self.density], "wce-map-panel"),
                              _panel([self.table], "wce-results-panel"),
                              _panel([self.chart], "wce-chart-panel")])
        main_column.add_class("wce-main-column")
        main = w.HBox([filters, main_column])
        main.add_class("wce-main")
        self.children = [header, self.banner, self.url_problems, self.status, main,
                         _panel([self.preview], "wce-preview-panel"), _panel([self.downloads], "wce-download-panel"),
                         _panel([self.training], "wce-training-panel"), _panel([self.share], "wce-share-panel")]
        # Names ipywidgets cannot give (slider handles, draw tools, one-letter edge labels): see widgets/aria.py.
        self.aria = aria_labels()
        if self.aria is not None:
            self.children = [*self.children, self.aria]
        # A dead kernel must not look like a working page: see widgets/kernel_watch.py.
        self.kernel_watch = kernel_watch()
        if self.kernel_watch is not None:
            self.children = [*self.children, self.kernel_watch]
        if search:
            state.search(delay=0)

    def reset(self) -> None:
        """"Reset all": every filter back to its default (nothing ticked, no area, the whole world in view,
        the state's initial inputs); one search follows."""
        self.crop_picker.reset()
        self.text_search.reset()
        self.map.reset()
        self.state.reset()

    def _on_stale(self, change: dict) -> None:
        # The samples on the map are from older filters: point at the button that brings them up to date.
        stale = bool(change["new"])
        self.fetch_button.button_style = "warning" if stale else "success"
        self.fetch_button.tooltip = "filters changed since the samples were fetched: fetch them again" if stale else ""

    def close(self) -> None:
        """Cancel pending work (the state's client is closed too), then close every widget of the dashboard
        (about a thousand models: closing the outer box alone would leave them all open)."""
        with suppress(ValueError):
            self.state.unobserve(self._on_stale, "samples_stale")
        self.training.close()
        self.state.close()
        # Walked after the state's work has stopped: a result arriving while it stops (the legend, a search)
        # still draws, and what it draws (the legend tree's rows) must be closed too.
        parts = widget_tree(self)
        for part in parts[1:]:
            part.close()
        super().close()
