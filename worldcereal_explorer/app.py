"""The explorer dashboard: every widget around one shared query state.

In a notebook::

    from worldcereal_explorer import RdmExplorer
    RdmExplorer()                      # endpoint from $WORLDCEREAL_RDM_URL, else the live RDM

``apps/rdm_explorer.ipynb`` is exactly that, so ``voila apps/rdm_explorer.ipynb`` serves it as a web app.
"""

from __future__ import annotations

import html
from contextlib import suppress
from pathlib import Path
from typing import Any

import ipywidgets as w

from .state import RdmQueryState
from .widgets.bbox_map import BBoxMap
from .widgets.counts_chart import CountsChart
from .widgets.crop_picker import CropTypePicker
from .widgets.date_range import DateRangePicker
from .widgets.download_panel import DownloadPanel
from .widgets.privacy import PrivacyToggle
from .widgets.quality import QualityFilter
from .widgets.results_table import ResultsTable
from .widgets.samples_preview import SamplesPreview
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
</style>
"""


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
    """

    def __init__(self, endpoint: str | None = None, state: RdmQueryState | None = None, *,
                 search: bool = True, download_dir: str | Path | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("wce-explorer")
        self.state = state if state is not None else RdmQueryState(endpoint)
        state = self.state
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

        self.search_button = w.Button(description="Search now", icon="search")
        self.search_button.add_class("wce-search")
        self.search_button.on_click(lambda _: state.search(delay=0))
        self.fetch_button = w.Button(description="Fetch samples", icon="map-marker", button_style="success")
        self.fetch_button.add_class("wce-fetch-samples")
        self.fetch_button.on_click(lambda _: state.fetch_samples(wait=False))
        state.observe(self._on_stale, "samples_stale")

        endpoint_text = html.escape(getattr(state.client, "endpoint", "") or "")
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
        self.children = [header, self.status, top, results, bottom]
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
