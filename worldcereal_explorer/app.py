"""The explorer dashboard: every widget around one shared query state.

In a notebook::

    from worldcereal_explorer import RdmExplorer
    RdmExplorer()                      # endpoint from $WORLDCEREAL_RDM_URL, else the live RDM

``apps/rdm_explorer.ipynb`` is exactly that, so ``voila apps/rdm_explorer.ipynb`` serves it as a web app.
"""

from __future__ import annotations

import html
import os
from contextlib import suppress
from pathlib import Path
from typing import Any

import ipywidgets as w

from .config import data_banner, resolve_min_quality
from .errors import InvalidInputError
from .state import RdmQueryState
from .state.serialize import apply_state_dict, parse_query_string
from .widgets.bbox_map import BBoxMap
from .widgets.counts_chart import CountsChart
from .widgets.crop_picker import CropTypePicker
from .widgets.date_range import DateRangePicker
from .widgets.download_panel import DownloadPanel
from .widgets.privacy import PrivacyToggle
from .widgets.quality import QualityFilter
from .widgets.results_table import ResultsTable
from .widgets.samples_preview import SamplesPreview
from .widgets.share_panel import SharePanel
from .widgets.status import StatusBar
from .widgets.subset import SubsetToggle

__all__ = ["RdmExplorer"]

_CSS = """
<style>
.wce-explorer .wce-panel { border: 1px solid #e0e0e0; border-radius: 4px; padding: 6px; background: #fff; }
.wce-explorer .wce-crop-row .jupyter-button { background: transparent; font-size: 15px; }
.wce-explorer .wce-results-grid .wce-sort { font-weight: 600; background: #eceff1; }
.wce-explorer .wce-table { border-collapse: collapse; font-size: 12px; }
.wce-explorer .wce-table td, .wce-explorer .wce-table th { padding: 2px 6px; border-bottom: 1px solid #eee; }
.wce-explorer .wce-data-banner { padding: 4px 8px; border-radius: 4px; font-size: 13px; margin: 2px 0; }
.wce-explorer .wce-data-banner[data-kind='demo'] { background: #fff3e0; border: 1px solid #ffb74d; }
.wce-explorer .wce-data-banner[data-kind='live'] { background: #e8f5e9; border: 1px solid #81c784; }
.wce-explorer .wce-data-banner[data-kind='other'] { background: #e3f2fd; border: 1px solid #64b5f6; }
.wce-explorer .wce-url-problems { color: #8a4b00; background: #fff8e1; padding: 2px 8px; font-size: 13px; }
</style>
"""


def _configured_client(endpoint: str | None) -> Any:
    """A client using the config file's legend source when the file sets one (else ``None``: the default)."""
    from .config import resolve_setting

    legend = resolve_setting("legend_source")
    if legend.source != "config file":
        return None  # argument / environment / default: the legend loader resolves those itself
    from .rdm.client import RdmClient

    return RdmClient(endpoint, legend=legend.value)


def _panel(children: list, **layout: Any) -> w.VBox:
    box = w.VBox(children, layout=w.Layout(**layout))
    box.add_class("wce-panel")
    return box


class RdmExplorer(w.VBox):
    """The RDM explorer dashboard: filters left, map centre, table and chart below, status on top.

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
        :data:`~worldcereal_explorer.state.serialize.URL_PARAMS`). ``None``: the page's own query string
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
        self.status = StatusBar(state)
        self.dates = DateRangePicker(state)
        self.privacy = PrivacyToggle(state)
        self.quality = QualityFilter(state)
        self.subset = SubsetToggle(state)
        # The legend arrives in the background; without one the picker says so and the rest still works.
        self.crop_picker = CropTypePicker(state)
        self.map = BBoxMap(state)
        self.table = ResultsTable(state)
        self.preview = SamplesPreview(state)
        self.chart = CountsChart(state)
        self.downloads = DownloadPanel(state, download_dir=download_dir)
        self.share = SharePanel(state, url_sync=under_voila if url_sync is None else url_sync)

        self.search_button = w.Button(description="Search now", icon="search")
        self.search_button.add_class("wce-search")
        self.search_button.on_click(lambda _: state.search(delay=0))
        self.fetch_button = w.Button(description="Fetch samples", icon="map-marker", button_style="success")
        self.fetch_button.add_class("wce-fetch-samples")
        self.fetch_button.on_click(lambda _: state.fetch_samples(wait=False))
        state.observe(self._on_stale, "samples_stale")

        endpoint_value = getattr(state.client, "endpoint", "") or ""
        endpoint_text = html.escape(endpoint_value)
        banner = data_banner(endpoint_value)
        self.banner = w.HTML(f"<div class='wce-data-banner' data-kind='{banner.kind}'>"
                             f"{html.escape(banner.text)}</div>")
        self.url_problems = w.HTML("".join(f"<div>{html.escape(p)}</div>" for p in problems))
        self.url_problems.add_class("wce-url-problems")
        self.url_problems.layout.display = "" if problems else "none"
        header = w.HTML(f"<h3 style='margin:4px 0'>WorldCereal reference data explorer</h3>"
                        f"<div style='color:#555;font-size:13px'>Find crop reference data: draw or type an area, "
                        f"tick crop types, choose dates, then fetch the samples. RDM: "
                        f"<code class='wce-endpoint'>{endpoint_text}</code></div>{_CSS}")
        filters = _panel([self.dates, self.privacy, self.quality, self.subset, self.crop_picker],
                         width="340px", min_width="300px")
        centre = _panel([w.HBox([self.search_button, self.fetch_button]), self.map],
                        flex="1 1 auto", min_width="400px")
        top = w.HBox([filters, centre], layout=w.Layout(width="100%", align_items="flex-start"))
        results = _panel([self.table], width="100%")
        bottom = w.HBox([
            _panel([self.chart], flex="1 1 50%", min_width="420px"),
            _panel([self.preview, self.downloads], flex="1 1 50%", min_width="420px"),
        ], layout=w.Layout(width="100%", align_items="flex-start", flex_flow="row wrap"))
        share = _panel([self.share], width="100%")
        self.children = [header, self.banner, self.url_problems, self.status, top, results, bottom, share]
        if search:
            state.search(delay=0)

    def _on_stale(self, change: dict) -> None:
        # The samples on the map are from older filters: point at the button that brings them up to date.
        stale = bool(change["new"])
        self.fetch_button.button_style = "warning" if stale else "success"
        self.fetch_button.tooltip = "filters changed since the samples were fetched: fetch them again" if stale else ""

    def close(self) -> None:
        """Close every widget and cancel pending work (the state's client is closed too)."""
        with suppress(ValueError):
            self.state.unobserve(self._on_stale, "samples_stale")
        self.state.close()
        super().close()
