"""The query state's inputs, validated: what the search and the sample fetch read.

Each method raises the error a user needs (naming the bad value and what is allowed) instead of letting a
half-valid input reach the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..dates import parse_date
from ..errors import BadExtentError, BadTemporalExtentError
from ..extents import (
    SpatialExtent,
    TemporalExtent,
    normalize_ewoc_codes,
    normalize_spatial_extent,
    normalize_temporal_extent,
)

__all__ = ["InputsMixin"]


def _as_geometry(value: Any):
    """A GeoJSON geometry / Feature mapping or a shapely geometry as a shapely geometry."""
    from shapely.geometry import shape
    from shapely.geometry.base import BaseGeometry

    if isinstance(value, BaseGeometry):
        return value
    if isinstance(value, Mapping):
        if value.get("type") == "Feature":
            value = value.get("geometry") or {}
        try:
            return shape(value)
        except Exception as exc:  # shapely raises several types for malformed GeoJSON
            raise BadExtentError(
                f"polygon {str(dict(value))[:120]!r} is not valid GeoJSON ({exc}); allowed: a GeoJSON "
                "Polygon/MultiPolygon geometry or Feature, or a shapely Polygon"
            ) from None
    raise BadExtentError(
        f"polygon of type {type(value).__name__} is not allowed; use a GeoJSON mapping or a shapely Polygon"
    )


class InputsMixin:
    """The normalised inputs of :class:`~worldcereal_explorer.state.RdmQueryState`.

    Expects the host to have the input traits ``bbox``, ``polygon``, ``start_date``, ``end_date``,
    ``ewoc_codes`` and ``include_public``/``include_private``/``include_restricted``.
    """

    def spatial_extent(self) -> SpatialExtent | None:
        """The validated spatial filter: the polygon when one is set, else the bbox, else ``None``.

        Raises
        ------
        BadExtentError
            When the bbox or polygon is invalid (the message names the value and what is allowed).
        """
        if self.polygon is not None:
            return normalize_spatial_extent(_as_geometry(self.polygon))
        if self.bbox is None:
            return None
        return normalize_spatial_extent(self.bbox)

    def temporal_extent(self) -> TemporalExtent | None:
        """The validated date range, or ``None`` when neither date is set.

        Raises
        ------
        BadTemporalExtentError
            When only one date is set, a date cannot be parsed, or start is after end.
        """
        start = parse_date(self.start_date, name="start date", allow_missing=True)
        end = parse_date(self.end_date, name="end date", allow_missing=True)
        if start is None and end is None:
            return None
        if start is None or end is None:
            missing = "start" if start is None else "end"
            raise BadTemporalExtentError(f"the {missing} date is not set; set both start and end dates, or neither")
        return normalize_temporal_extent((start, end))

    def ewoc_code_filter(self) -> list[int] | None:
        """The validated crop filter; ``None`` when no code is selected (= every crop)."""
        codes = normalize_ewoc_codes(list(self.ewoc_codes))
        return codes or None

    def _access_allows(self, access_type: str) -> bool:
        kind = (access_type or "").lower()
        if kind == "public":
            return self.include_public
        if kind == "restricted":
            return self.include_restricted
        return self.include_private  # "Private" and any unknown non-public spelling
