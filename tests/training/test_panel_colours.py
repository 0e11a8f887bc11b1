"""The training panel's class-balance chart colours its collections as the counts chart does: no two alike."""

from __future__ import annotations

import time

from worldcereal_explorer.rdm.client import RdmClient
from worldcereal_explorer.state import RdmQueryState
from worldcereal_explorer.widgets.counts_chart import collection_colour
from worldcereal_explorer.widgets.training_panel import TrainingPanel


def _bars_drawn(panel: TrainingPanel, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not len(panel.balance_bars.labels):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_balance_chart_collections_never_share_a_colour(rdm_url):
    client = RdmClient(rdm_url, retries=2, backoff_factor=0.01, legend=f"{rdm_url}/legend.csv")
    query = RdmQueryState(client=client, auto_search=False, debounce_s=0.0)
    panel = None
    try:
        query.refresh()
        query.fetch_samples()
        panel = TrainingPanel(query, max_collections=10)
        assert panel.service.wait(60) and _bars_drawn(panel)
        labels = [str(label) for label in panel.balance_bars.labels]
        colours = list(panel.balance_bars.colors)
        # the demo's collections clash on their preferred colours, so this is the case the rule is for
        assert len({collection_colour(label) for label in labels}) < len(labels)
        assert len(colours) == len(labels) and len(set(colours)) == len(colours)
        for label, colour in zip(labels, colours, strict=True):  # the legend shows the bars' colours
            assert f"data-collection='{label}'" in panel.balance_legend.value
            assert f"background:{colour}" in panel.balance_legend.value
    finally:
        if panel is not None:
            panel.close()
        query.close()
