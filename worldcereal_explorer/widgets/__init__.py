"""Composable explorer widgets; each binds to an :class:`~worldcereal_explorer.state.RdmQueryState`.

Every widget takes ``state=None`` (a new state) or a shared state, so they can be used one by one in a
notebook or composed, as :class:`~worldcereal_explorer.app.RdmExplorer` does.

``CropTypePicker`` (:mod:`.crop_picker`) is the one crop picker: bound to a state for the dashboard
(``CropTypePicker(state)``), or on its own as the reference client's drop-in
(``CropTypePicker(ewoc_codes=DEMO_CROPS)``), the same class as ``worldcereal_explorer.CropTypePicker``.
``RdmCropTypePicker`` is a former name of it, kept for old imports.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "StateWidget": "._base",
    "BBoxMap": ".bbox_map",
    "CountsChart": ".counts_chart",
    "CropTypePicker": ".crop_picker",
    "LegendTree": ".legend_tree",
    "RdmCropTypePicker": ".crop_picker",
    "DEMO_CROPS": ".crop_picker",
    "apply_croptypepicker_to_df": ".crop_picker",
    "DateRangePicker": ".date_range",
    "DownloadPanel": ".download_panel",
    "PrivacyToggle": ".privacy",
    "QualityFilter": ".quality",
    "ResultsTable": ".results_table",
    "SamplesLayer": ".samples_layer",
    "SamplesPreview": ".samples_preview",
    "StatusBar": ".status",
    "SubsetToggle": ".subset",
    "SharePanel": ".share_panel",
    "CollectionDetails": ".collection_details",
    "PlaceSearch": ".place_search",
    "TextSearch": ".text_search",
    "TrainingPanel": ".training_panel",
    "AoiMap": ".ui_map",
    "AoiUpload": ".ui_map",
}

#: Exported names that differ from the module's own name for the object.
_ALIASES = {"RdmCropTypePicker": "CropTypePicker"}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'worldcereal_explorer.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
