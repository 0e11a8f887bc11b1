"""Normalise the loose inputs users pass (bbox-likes, polygons, date ranges, code lists) once.

Everything downstream (client, server, state, widgets) works with the small, validated types defined
here, so each check and each error message exists in exactly one place.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from .dates import parse_date
from .errors import BadEwocCodeError, BadExtentError, BadParameterError, BadTemporalExtentError

__all__ = [
    "BBox",
    "SpatialExtent",
    "TemporalExtent",
    "WORLD_BBOX",
    "geometry_bounds",
    "normalize_bbox",
    "normalize_spatial_extent",
    "normalize_temporal_extent",
    "spatial_or_bbox",
    "normalize_ewoc_codes",
    "validate_ewoc_code",
]


@dataclass(frozen=True)
class BBox:
    """A validated bounding box in EPSG:4326 degrees (west, south, east, north).

    ``west <= east`` always: boxes crossing the antimeridian are not supported by the RDM search
    either, so they are rejected rather than silently reinterpreted.
    """

    west: float
    south: float
    east: float
    north: float

    def __post_init__(self) -> None:
        values = {"west": self.west, "south": self.south, "east": self.east, "north": self.north}
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise BadExtentError(f"bbox {name}={value!r} is not a finite number")
            if math.isinf(value):
                raise BadExtentError(f"bbox {name}={value!r} is not a finite number")
        for name in ("west", "east"):
            if not -180.0 <= values[name] <= 180.0:
                raise BadExtentError(f"bbox {name}={values[name]!r} is outside the allowed longitude range -180..180")
        for name in ("south", "north"):
            if not -90.0 <= values[name] <= 90.0:
                hint = ""
                if -90.0 <= self.west <= 90.0 and -90.0 <= self.east <= 90.0:
                    hint = "; did you swap latitude and longitude? the order is (west, south, east, north)"
                raise BadExtentError(
                    f"bbox {name}={values[name]!r} is outside the allowed latitude range -90..90{hint}"
                )
        if self.west > self.east:
            raise BadExtentError(
                f"bbox west={self.west!r} is greater than east={self.east!r}; west must be <= east "
                "(boxes across the antimeridian are not supported)"
            )
        if self.south > self.north:
            raise BadExtentError(f"bbox south={self.south!r} is greater than north={self.north!r}; south must be <= north")

    def as_tuple(self) -> tuple[float, float, float, float]:
        """Return ``(west, south, east, north)``."""
        return (self.west, self.south, self.east, self.north)

    def to_polygon(self) -> Polygon:
        """Return the box as a shapely polygon."""
        return box(self.west, self.south, self.east, self.north)

    def intersects(self, other: BBox) -> bool:
        """True when the two closed boxes share at least one point."""
        return not (
            other.west > self.east or other.east < self.west or other.south > self.north or other.north < self.south
        )

    @property
    def area(self) -> float:
        """Area in square degrees (used to rank boxes, not as a physical area)."""
        return (self.east - self.west) * (self.north - self.south)


WORLD_BBOX = BBox(-180.0, -90.0, 180.0, 90.0)


@dataclass(frozen=True)
class SpatialExtent:
    """A normalised spatial filter: its bounding box, plus the exact (Multi)Polygon when one was given."""

    bbox: BBox
    geometry: Polygon | MultiPolygon | None = None

    @property
    def shape(self) -> BaseGeometry:
        """The geometry to test samples against: the polygon if there is one, else the box."""
        return self.geometry if self.geometry is not None else self.bbox.to_polygon()


@dataclass(frozen=True)
class TemporalExtent:
    """A normalised, inclusive date range: both ``start`` and ``end`` days count entirely."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise BadTemporalExtentError(
                f"temporal extent start {self.start.isoformat()} is after end {self.end.isoformat()}; "
                "start must be on or before end"
            )

    def as_tuple(self) -> tuple[str, str]:
        """Return ``(start, end)`` as ISO dates."""
        return (self.start.isoformat(), self.end.isoformat())


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "b"):
        raise BadExtentError(f"bbox {name}={value!r} is a boolean, not a coordinate; allowed: a number in degrees")
    try:
        number = float(value)
    except OverflowError:
        raise BadExtentError(f"bbox {name}={_short(value)} is too large; allowed: a number in degrees") from None
    except (TypeError, ValueError):
        raise BadExtentError(f"bbox {name}={_short(value)} is not a number") from None
    if not math.isfinite(number):
        raise BadExtentError(f"bbox {name}={_short(value)} is not a finite number")
    return number


def _to_lonlat_bounds(values: tuple[float, float, float, float], epsg: Any) -> tuple[float, float, float, float]:
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(int(epsg) if str(epsg).isdigit() else epsg)
    except (CRSError, ValueError):
        raise BadExtentError(f"bbox epsg={epsg!r} is not a known coordinate reference system") from None
    transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    west, south, east, north = transformer.transform_bounds(*values, densify_pts=21)
    return float(west), float(south), float(east), float(north)


def geometry_bounds(geometry: BaseGeometry) -> tuple[float, float, float, float]:
    """The ``(west, south, east, north)`` of a shapely geometry, as plain floats.

    Parameters
    ----------
    geometry : shapely.geometry.base.BaseGeometry
        Any geometry; an empty one has NaN bounds.

    Returns
    -------
    tuple of 4 float
    """
    west, south, east, north = (float(v) for v in geometry.bounds)
    return (west, south, east, north)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} characters)"


def normalize_bbox(extent: Any) -> BBox:
    """Turn any bbox-like value into a validated :class:`BBox`.

    Parameters
    ----------
    extent
        A ``(west, south, east, north)`` sequence; a mapping with keys ``west/south/east/north`` (or
        ``minx/miny/maxx/maxy``, ``xmin/...``); any object with ``west``, ``south``, ``east`` and
        ``north`` attributes (for example openeo_gfmap's ``BoundingBoxExtent``); a :class:`BBox`; or a
        shapely geometry (its bounds are used).

    Raises
    ------
    BadExtentError
        When the value has no recognisable shape, or the numbers are not a valid lon/lat box.
    """
    if isinstance(extent, BBox):
        return extent
    if isinstance(extent, SpatialExtent):
        return extent.bbox
    if isinstance(extent, BaseGeometry):
        if extent.is_empty:
            raise BadExtentError("the geometry given as spatial extent is empty")
        return BBox(*(float(v) for v in extent.bounds))
    if isinstance(extent, Mapping):
        for keys in (("west", "south", "east", "north"), ("minx", "miny", "maxx", "maxy"),
                     ("xmin", "ymin", "xmax", "ymax")):
            if all(k in extent for k in keys):
                return BBox(*(_number(extent[k], k) for k in keys))
        raise BadExtentError(
            f"bbox mapping {dict(extent)!r} lacks keys; allowed: west/south/east/north (or minx/miny/maxx/maxy)"
        )
    if all(hasattr(extent, k) for k in ("west", "south", "east", "north")):
        box = (_number(extent.west, "west"), _number(extent.south, "south"), _number(extent.east, "east"),
               _number(extent.north, "north"))
        epsg = getattr(extent, "epsg", None)
        if epsg not in (None, 4326, "4326", "EPSG:4326"):
            # openeo_gfmap's BoundingBoxExtent and our ui_map's UTM boxes carry their CRS: reproject the box
            # (densified edges, so the lon/lat box covers all of it) instead of reading metres as degrees.
            box = _to_lonlat_bounds(box, epsg)
        return BBox(*box)
    if isinstance(extent, (str, bytes)) or not isinstance(extent, Iterable):
        raise BadExtentError(
            f"spatial extent {extent!r} is not a bbox; allowed: (west, south, east, north), a dict, "
            "a shapely Polygon/MultiPolygon or an object with west/south/east/north"
        )
    values = list(extent)
    if len(values) != 4:
        raise BadExtentError(f"bbox {values!r} has {len(values)} values; a bbox needs 4: (west, south, east, north)")
    return BBox(*(_number(v, n) for v, n in zip(values, ("west", "south", "east", "north"), strict=True)))


def spatial_or_bbox(spatial_extent: Any, bbox: Any) -> Any:
    """The one spatial argument of a call that takes ``bbox`` as an alias of ``spatial_extent``.

    Parameters
    ----------
    spatial_extent, bbox
        The two keyword arguments as the caller got them; at most one may be given.

    Returns
    -------
    object
        The one given (not normalised yet), or ``None``.

    Raises
    ------
    BadParameterError
        When both are given.
    """
    if spatial_extent is not None and bbox is not None:
        raise BadParameterError("pass either spatial_extent or bbox, not both")
    return spatial_extent if spatial_extent is not None else bbox


def normalize_spatial_extent(extent: Any) -> SpatialExtent | None:
    """Normalise a spatial filter; ``None`` stays ``None`` (no spatial filter).

    Polygons and MultiPolygons are kept exactly (for sample filtering) next to their bounding box
    (which is what the RDM search accepts). Other geometry types are rejected.
    """
    if extent is None:
        return None
    if isinstance(extent, SpatialExtent):
        return extent
    if isinstance(extent, BaseGeometry):
        if not isinstance(extent, (Polygon, MultiPolygon)):
            raise BadExtentError(
                f"spatial extent of type {extent.geom_type} is not allowed; use a bbox, a Polygon or a MultiPolygon"
            )
        if extent.is_empty:
            raise BadExtentError("the polygon given as spatial extent is empty")
        if not extent.is_valid:
            repaired = shapely.make_valid(extent)
            if not isinstance(repaired, (Polygon, MultiPolygon)):
                raise BadExtentError(f"the polygon given as spatial extent is invalid: {shapely.is_valid_reason(extent)}")
            extent = repaired
        return SpatialExtent(normalize_bbox(extent), extent)
    return SpatialExtent(normalize_bbox(extent))


def _to_date(value: Any, which: str) -> dt.date:
    parsed = parse_date(value, name=f"temporal extent {which}")
    assert parsed is not None
    return parsed


def normalize_temporal_extent(extent: Any) -> TemporalExtent | None:
    """Normalise a temporal filter; ``None`` stays ``None``.

    Parameters
    ----------
    extent
        ``(start, end)`` with ISO strings, dates or datetimes; a mapping with ``start``/``end`` (or
        ``start_date``/``end_date``); or any object with ``start_date``/``end_date`` attributes
        (openeo_gfmap's ``TemporalContext``). Both days are included entirely.
    """
    if extent is None:
        return None
    if isinstance(extent, TemporalExtent):
        return extent
    if isinstance(extent, Mapping):
        start = extent.get("start", extent.get("start_date"))
        end = extent.get("end", extent.get("end_date"))
    elif hasattr(extent, "start_date") and hasattr(extent, "end_date"):
        start, end = extent.start_date, extent.end_date
    elif isinstance(extent, (str, bytes)) or not isinstance(extent, Iterable):
        raise BadTemporalExtentError(
            f"temporal extent {extent!r} is not allowed; use (start, end) or an object with start_date/end_date"
        )
    else:
        values = list(extent)
        if len(values) != 2:
            raise BadTemporalExtentError(f"temporal extent {values!r} needs exactly 2 values: (start, end)")
        start, end = values
    return TemporalExtent(_to_date(start, "start"), _to_date(end, "end"))


def validate_ewoc_code(code: Any) -> int:
    """Return ``code`` as an int if it has the legend's shape (0, or exactly 10 digits), else raise.

    Dashed legend notation (``"11-01-06-000-0"``) and digit strings are accepted too.
    """
    if isinstance(code, bool):
        raise BadEwocCodeError(f"ewoc code {code!r} is not an integer; allowed: 0 or a 10-digit code such as 1101060000")
    value: int | None = None
    is_integer_like = isinstance(code, int) or (hasattr(code, "dtype") and getattr(code.dtype, "kind", "") in "iu")
    if is_integer_like or (isinstance(code, float) and code.is_integer()):
        value = int(code)
    elif isinstance(code, str):
        text = code.strip().replace("-", "")
        if text.isdigit():
            value = int(text)
    if value is None:
        raise BadEwocCodeError(f"ewoc code {code!r} is not an integer; allowed: 0 or a 10-digit code such as 1101060000")
    if value != 0 and not 1_000_000_000 <= value <= 9_999_999_999:
        raise BadEwocCodeError(
            f"ewoc code {code!r} does not have the legend's shape; allowed: 0 or a 10-digit code such as 1101060000"
        )
    return value


def normalize_ewoc_codes(codes: Any) -> list[int] | None:
    """Validate a list of ewoc codes; ``None`` (no filter) stays ``None``. Order kept, duplicates dropped.

    A single code is accepted too. An empty list is returned as an empty list (it matches nothing).
    """
    if codes is None:
        return None
    if isinstance(codes, (int, str)) or hasattr(codes, "dtype") and getattr(codes, "ndim", 1) == 0:
        codes = [codes]
    out: list[int] = []
    seen: set[int] = set()
    for code in codes:
        value = validate_ewoc_code(code)
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out


def normalize_code_filter(codes: Any) -> list[int] | None:
    """A crop-code *filter*: like :func:`normalize_ewoc_codes`, but ``[]`` means "no filter" (``None``).

    That is the reference client's rule for ``ewoc_codes=[]``; it is logged, since an empty selection that
    matches everything is easy to miss.
    """
    normalized = normalize_ewoc_codes(codes)
    if normalized is not None and not normalized:
        logging.getLogger(__name__).info(
            "ewoc_codes=[] is empty: no crop-code filter is applied (as in the reference client)"
        )
        return None
    return normalized


#: Earth radius of the spherical Web Mercator projection (EPSG:3857), metres.
_MERCATOR_R = 6378137.0


def densify_as_drawn(geometry: Any, max_step_m: float = 20000.0) -> Any:
    """``geometry`` (lon/lat) with extra vertices along its edges as a web map draws them.

    A map (Leaflet, OpenLayers) draws a polygon's edges as straight lines in Web Mercator, while a lon/lat
    filter treats them as straight in degrees; over tens of degrees of latitude the two lines lie tens of
    kilometres apart. Densifying along the Mercator line makes the filter use the shape the user sees.
    Rectangles are unchanged (their edges are straight in both).

    Parameters
    ----------
    geometry
        A shapely (Multi)Polygon in EPSG:4326.
    max_step_m
        Largest distance between vertices, in Web Mercator metres.
    """
    import numpy as np

    def forward(coords: np.ndarray) -> np.ndarray:
        lon, lat = coords[:, 0], np.clip(coords[:, 1], -85.05112878, 85.05112878)
        x = np.radians(lon) * _MERCATOR_R
        y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * _MERCATOR_R
        return np.column_stack([x, y])

    def backward(coords: np.ndarray) -> np.ndarray:
        lon = np.degrees(coords[:, 0] / _MERCATOR_R)
        lat = np.degrees(2 * np.arctan(np.exp(coords[:, 1] / _MERCATOR_R)) - np.pi / 2)
        return np.column_stack([lon, lat])

    projected = shapely.transform(geometry, forward)
    dense = shapely.segmentize(projected, max_step_m)
    return shapely.transform(dense, backward)


@dataclass(frozen=True)
class BoundingBoxExtent:
    """A bounding box with its CRS, shaped like openeo_gfmap's (the reference client's notebooks use it).

    Any function of this package that takes a spatial extent accepts it; a box in another CRS than
    EPSG:4326 is reprojected to lon/lat.
    """

    west: float
    south: float
    east: float
    north: float
    epsg: int = 4326


@dataclass(frozen=True)
class TemporalContext:
    """A date range shaped like openeo_gfmap's (``start_date``, ``end_date``; both days included)."""

    start_date: Any
    end_date: Any
