"""Composable explorer widgets; each binds to an :class:`~worldcereal_explorer.state.RdmQueryState`.

Every widget takes ``state=None`` (a new state) or a shared state, so they can be used one by one in a
notebook or composed, as :class:`~worldcereal_explorer.app.RdmExplorer` does.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "StateWidget": "._base",
    "BBoxMap": ".bbox_map",
    "CountsChart": ".counts_chart",
    "CropTypePicker": ".crop_picker",
    "DateRangePicker": ".date_range",
    "DownloadPanel": ".download_panel",
    "PrivacyToggle": ".privacy",
    "QualityFilter": ".quality",
    "ResultsTable": ".results_table",
    "SamplesLayer": ".samples_layer",
    "SamplesPreview": ".samples_preview",
    "StatusBar": ".status",
    "SubsetToggle": ".subset",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'worldcereal_explorer.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
