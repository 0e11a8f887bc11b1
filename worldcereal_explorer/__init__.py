"""worldcereal-explorer: find, count, look at and download WorldCereal RDM crop reference data.

The heavy parts (client, widgets, dashboard) are imported lazily, so ``import worldcereal_explorer``
stays fast and the server process does not pull in the widget stack.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

_LAZY = {
    "RdmClient": "worldcereal_explorer.rdm.client",
    "RdmInteraction": "worldcereal_explorer.rdm.client",
    "Collection": "worldcereal_explorer.rdm.models",
    "RdmCollection": "worldcereal_explorer.rdm.models",
    "HttpPolicy": "worldcereal_explorer.transport.http",
    "BoundingBoxExtent": "worldcereal_explorer.extents",
    "TemporalContext": "worldcereal_explorer.extents",
    "SampleQuery": "worldcereal_explorer.rdm.samples",
    "RdmQuery": "worldcereal_explorer.rdm.query",
    "get_legend": "worldcereal_explorer.legend",
    "CropTypePicker": "worldcereal_explorer.widgets.crop_picker",
    "DEMO_CROPS": "worldcereal_explorer.widgets.crop_picker",
    "apply_croptypepicker_to_df": "worldcereal_explorer.widgets.crop_picker",
    "ui_map": "worldcereal_explorer.widgets.ui_map",
    "visualize_rdm_geoparquet": "worldcereal_explorer.visualize",
    "visualize_spatial_extents": "worldcereal_explorer.visualize",
    "translate_ewoc_codes": "worldcereal_explorer.legend",
    "ewoc_code_to_label": "worldcereal_explorer.legend",
    "load_legend": "worldcereal_explorer.legend",
    "RdmQueryState": "worldcereal_explorer.state",
    "RdmExplorer": "worldcereal_explorer.app",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'worldcereal_explorer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
