"""Traits holding (Geo)DataFrames: a new frame always notifies, without comparing it to the old one.

traitlets decides whether to notify with ``old == new``. For frames that is an element-wise comparison of
every cell (for a GeoDataFrame, of every geometry in Python): 1.8 s for a million samples, after which
the result cannot even be turned into a bool. Frames are therefore compared by identity.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import traitlets

__all__ = ["AnyFrame", "DataFrameTrait"]


class _ByIdentity:
    """``TraitType.set`` with ``is`` instead of ``==`` (the rest as traitlets 5 does it)."""

    name: str | None
    default_value: Any

    def set(self, obj: traitlets.HasTraits, value: Any) -> None:
        new_value = self._validate(obj, value)  # type: ignore[attr-defined]
        assert self.name is not None
        old_value = obj._trait_values.get(self.name, self.default_value)
        obj._trait_values[self.name] = new_value
        if old_value is not new_value:
            obj._notify_trait(self.name, old_value, new_value)


class DataFrameTrait(_ByIdentity, traitlets.Instance):
    """A ``pandas.DataFrame`` (or ``None`` with ``allow_none=True``), compared by identity."""

    def __init__(self, **kwargs: Any):
        super().__init__(pd.DataFrame, **kwargs)


class AnyFrame(_ByIdentity, traitlets.Any):
    """Any value, typically a GeoDataFrame, compared by identity."""
