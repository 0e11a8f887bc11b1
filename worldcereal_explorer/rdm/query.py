"""The single definition of what an RDM query is: :class:`RdmQuery`.

An :class:`RdmQuery` holds the area, the dates, the crop codes, the access levels, the quality thresholds, the
subset flag and the collections a sample query is restricted to. It is normalised once, when it is made (every
bad value raises the package's specific error naming it and what is allowed), it is immutable and hashable, and
equal inputs give equal queries. Everything that carries a query speaks it:

* the wire: :meth:`RdmQuery.to_params` (the ``/collections/search`` parameters the client sends);
* JSON: :meth:`RdmQuery.to_dict` / :meth:`RdmQuery.from_dict`;
* the dashboard's share links: :meth:`RdmQuery.to_url_query` / :meth:`RdmQuery.from_url_query`
  (:func:`parse_url_query` reads a link leniently, as the dashboard does);
* Python: :meth:`RdmQuery.to_code`;
* the client: ``client.get_samples(query=q)`` (and ``get_collections``, ``get_crop_counts``, ``count_samples``,
  ``download_samples``); today's keyword arguments build one with :meth:`RdmQuery.from_client_args`.

Adding a filter means adding one field here (with its ``metadata``), its normaliser in ``__post_init__`` and its
link parameter in :data:`URL_PARAMS`; the widget that sets it is the only other place.

Examples
--------
>>> q = RdmQuery(bbox=(3, 50, 6, 52), start_date="2021-01-01", end_date="2021-12-31", ewoc_codes=[1101060000])
>>> q.bbox
(3.0, 50.0, 6.0, 52.0)
>>> q.to_url_query()
'bbox=3,50,6,52&start=2021-01-01&end=2021-12-31&codes=1101060000'
>>> RdmQuery.from_url_query(q.to_url_query()) == q
True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode

import numpy as np

from ..dates import parse_date
from ..errors import (
    BadEwocCodeError,
    BadExtentError,
    BadParameterError,
    BadTemporalExtentError,
    InvalidInputError,
)
from ..extents import (
    WORLD_BBOX,
    BBox,
    SpatialExtent,
    TemporalExtent,
    normalize_bbox,
    normalize_code_filter,
    normalize_ewoc_codes,
    normalize_spatial_extent,
    normalize_temporal_extent,
    spatial_or_bbox,
)
from .models import ACCESS_TYPES

if TYPE_CHECKING:
    from shapely.geometry import MultiPolygon, Polygon

__all__ = [
    "ACCESS_KINDS",
    "MAX_CODES_PER_SEARCH",
    "RdmQuery",
    "SAMPLE_FIELDS",
    "SAMPLE_ONLY_FIELDS",
    "SEARCH_FIELDS",
    "URL_PARAMS",
    "client_query",
    "normalize_flag",
    "normalize_ids",
    "normalize_quality",
    "parse_url_query",
    "resolve_ref_ids",
    "search_bbox",
]

#: Most ``EwocCodes`` values sent in one search: more make a URL longer than servers accept (HTTP 400/414);
#: a longer code list is split into several searches whose results are joined.
MAX_CODES_PER_SEARCH = 150

#: The access kinds a query can include (``include_<kind>``); also a link's ``access`` values. They are the
#: API's ``accessType`` values in lower case, so a new access type is added in one place.
ACCESS_KINDS = tuple(access_type.lower() for access_type in ACCESS_TYPES)

#: Query-string parameters of a dashboard link and what each holds.
URL_PARAMS = {
    "bbox": "W,S,E,N in degrees",
    "wkt": "a query polygon as WKT (its bounds become the bbox)",
    "start": "start date YYYY-MM-DD",
    "end": "end date YYYY-MM-DD",
    "codes": "comma-separated ewoc codes",
    "access": "comma-separated public, private, restricted",
    "min_lc": "minimum land cover quality 0..100",
    "min_ct": "minimum crop type quality 0..100",
    "subset": "1 to read the sample subset",
    "ids": "comma-separated collection ids",
}

#: Parameters of a dashboard URL that belong to Voilà, not to the query (a link reader skips them).
_VOILA_PARAMS = ("voila-template", "voila-theme", "template", "theme", "token")

#: Half-width, in degrees, given to a point or line bbox (about 10 cm): the RDM rejects degenerate polygons.
_MIN_HALF_WIDTH = 1e-6


# --- normalisers shared with the sample query ------------------------------------------------------------

def normalize_flag(value: Any, name: str) -> bool:
    """``value`` as a bool; only ``True``/``False`` (numpy's too) are allowed.

    Raises
    ------
    BadParameterError
        Naming ``name`` and the value.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise BadParameterError(f"{name}={value!r} is not allowed; use True or False")
    return bool(value)


def normalize_quality(value: Any, name: str) -> int:
    """A minimum quality score as a whole number 0..100; fractions round up (scores are whole numbers).

    Raises
    ------
    BadParameterError
        For anything that is not a number from 0 to 100 (booleans included), naming ``name``.
    """
    if isinstance(value, bool) or value is None:
        raise BadParameterError(f"{name}={value!r} is not allowed; use a number from 0 to 100")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadParameterError(f"{name}={value!r} is not allowed; use a number from 0 to 100") from None
    if not 0 <= number <= 100:
        raise BadParameterError(f"{name}={value!r} is not allowed; use a number from 0 to 100")
    # Scores are whole numbers, so ">= 75.5" is ">= 76".
    return math.ceil(number)


def normalize_ids(value: Any, name: str = "ref_ids") -> list[str] | None:
    """Collection ids as a list without duplicates (order kept); ``None`` stays ``None``.

    A single string is one id (``"2021_bel_x_point_110"`` is not split into characters).

    Raises
    ------
    BadParameterError
        For anything that is not a string or an iterable of non-empty strings, naming ``name``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise BadParameterError(f"{name}={value!r} is not allowed; use a collection id or a list of collection ids")
    ids = list(value)
    bad = [r for r in ids if not isinstance(r, str) or not r.strip()]
    if bad:
        raise BadParameterError(f"{name} {bad!r} are not allowed; collection ids are non-empty strings")
    return list(dict.fromkeys(ids))


def search_bbox(bbox: BBox | None) -> BBox:
    """The box ``/collections/search`` is sent: ``bbox`` widened where it has no width or height (the RDM
    rejects degenerate polygons), or the world when there is none."""
    if bbox is None:
        return WORLD_BBOX
    west, south, east, north = bbox.as_tuple()
    if west == east:
        west, east = max(west - _MIN_HALF_WIDTH, -180.0), min(east + _MIN_HALF_WIDTH, 180.0)
    if south == north:
        south, north = max(south - _MIN_HALF_WIDTH, -90.0), min(north + _MIN_HALF_WIDTH, 90.0)
    return BBox(west, south, east, north)


def _polygon(value: Any) -> Polygon | MultiPolygon | None:
    """A query polygon (GeoJSON geometry or Feature, WKT, or shapely) as a valid shapely (Multi)Polygon."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon, shape
    from shapely.geometry.base import BaseGeometry

    if value is None:
        return None
    geometry = value
    if isinstance(value, str):
        try:
            geometry = shapely.from_wkt(value)
        except shapely.errors.ShapelyError as exc:
            raise BadExtentError(f"polygon {value[:80]!r} is not valid WKT ({exc}); allowed: a GeoJSON "
                                 "Polygon/MultiPolygon geometry or Feature, WKT, or a shapely Polygon") from None
    elif isinstance(value, Mapping):
        data = value.get("geometry") if value.get("type") == "Feature" else value
        try:
            geometry = shape(data or {})
        except Exception as exc:  # shapely raises several types for malformed GeoJSON
            raise BadExtentError(
                f"polygon {str(dict(value))[:120]!r} is not valid GeoJSON ({exc}); allowed: a GeoJSON "
                "Polygon/MultiPolygon geometry or Feature, WKT, or a shapely Polygon"
            ) from None
    elif not isinstance(value, BaseGeometry):
        raise BadExtentError(f"polygon of type {type(value).__name__} is not allowed; use a GeoJSON mapping, WKT "
                             "or a shapely Polygon/MultiPolygon")
    if geometry is None:
        raise BadExtentError(f"polygon {value!r} is empty; allowed: a Polygon or a MultiPolygon")
    if not isinstance(geometry, (Polygon, MultiPolygon)):
        raise BadExtentError(f"polygon of type {geometry.geom_type} is not allowed; use a Polygon or a MultiPolygon")
    extent = normalize_spatial_extent(geometry)  # empty -> error; invalid -> repaired or error
    assert extent is not None and extent.geometry is not None
    return extent.geometry


def _codes(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        raise BadEwocCodeError(f"ewoc_codes={dict(value)!r} is not allowed; use a list of ewoc codes")
    return tuple(sorted(normalize_ewoc_codes(value) or ()))


def _meta(doc: str, *, search: bool, **extra: Any) -> dict[str, Any]:
    return {"doc": doc, "search": search, "sample": True, **extra}


@dataclass(frozen=True, repr=False)
class RdmQuery:
    """Single definition of what an RDM query is.

    Every field is normalised when the query is made; invalid values raise the package's specific errors
    (:class:`~worldcereal_explorer.errors.BadExtentError`, ``BadTemporalExtentError``, ``BadEwocCodeError``,
    ``BadParameterError``), whose message names the value and what is allowed and whose ``field`` attribute
    names the field. Use :meth:`replace` to change fields (it normalises again).

    Parameters
    ----------
    bbox
        ``(west, south, east, north)`` in degrees: any 4-sequence, a mapping with ``west``/``south``/... keys, an
        object with those attributes (reprojected when it carries another ``epsg``), or a shapely geometry (its
        bounds). Stored as 4 floats. With a ``polygon``, the polygon's bounds (the polygon decides the area).
    polygon
        A GeoJSON geometry or Feature mapping, WKT, or a shapely (Multi)Polygon; stored as a valid shapely
        (Multi)Polygon (an invalid one is repaired). It takes precedence over ``bbox``: samples are tested
        against it, the collection search gets its bounding box.
    start_date, end_date
        Dates, datetimes (UTC date of aware ones) or ISO strings; both or neither, ``start_date <= end_date``;
        both days included. Stored as :class:`datetime.date`.
    ewoc_codes
        Crop codes (ints, digit strings or dashed legend notation), stored sorted without duplicates;
        ``()``: every crop.
    include_public, include_private, include_restricted
        Which access levels the collection search keeps.
    min_quality_lc, min_quality_ct
        Minimum per-sample quality scores, 0..100 (fractions round up).
    subset
        Read the samples selected for extraction only (``extract > 0``).
    selected_ids
        Collection ids the sample query is restricted to (order kept, duplicates dropped); ``()``: every
        collection the search finds.

    Notes
    -----
    Each field's ``dataclasses.field(...).metadata`` has ``"doc"`` (one line), ``"search"`` (``True`` when a
    change re-runs the collection search), ``"sample"`` (``True`` when a change changes the samples a fetch
    returns: every field) and, for numbers, ``"min"``/``"max"``. :data:`SEARCH_FIELDS`, :data:`SAMPLE_FIELDS`
    and :data:`SAMPLE_ONLY_FIELDS` are derived from it.
    """

    #: Every field name, in order.
    FIELDS: ClassVar[tuple[str, ...]]

    bbox: tuple[float, float, float, float] | None = field(
        default=None, metadata=_meta("(west, south, east, north) in degrees, or None", search=True))
    polygon: Polygon | MultiPolygon | None = field(
        default=None, metadata=_meta("query (Multi)Polygon; takes precedence over bbox", search=True))
    start_date: dt.date | None = field(
        default=None, metadata=_meta("first day of the valid_time range (both or neither)", search=True))
    end_date: dt.date | None = field(
        default=None, metadata=_meta("last day of the valid_time range, included", search=True))
    ewoc_codes: tuple[int, ...] = field(
        default=(), metadata=_meta("selected ewoc codes, sorted; empty = every crop", search=True))
    include_public: bool = field(default=True, metadata=_meta("include public collections", search=True))
    include_private: bool = field(default=False, metadata=_meta("include private collections", search=True))
    include_restricted: bool = field(
        default=False, metadata=_meta("include restricted collections", search=True))
    min_quality_lc: int = field(
        default=0, metadata=_meta("minimum land cover quality score", search=False, min=0, max=100))
    min_quality_ct: int = field(
        default=0, metadata=_meta("minimum crop type quality score", search=False, min=0, max=100))
    subset: bool = field(
        default=False, metadata=_meta("read the sample subset (extract > 0) only", search=False))
    selected_ids: tuple[str, ...] = field(
        default=(), metadata=_meta("collection ids the sample query is restricted to; empty = all", search=False))

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise in place once, at construction

        def normalized(name: str, func: Any) -> None:
            try:
                set_(self, name, func(getattr(self, name)))
            except InvalidInputError as exc:
                exc.field = name  # type: ignore[attr-defined]
                raise

        normalized("polygon", _polygon)
        if self.polygon is not None:  # the polygon decides the area; a bbox given with it is not even read
            set_(self, "bbox", tuple(float(v) for v in self.polygon.bounds))
        else:
            normalized("bbox", lambda v: None if v is None else tuple(float(c) for c in normalize_bbox(v).as_tuple()))
        normalized("start_date", lambda v: parse_date(v, name="start date", allow_missing=True))
        normalized("end_date", lambda v: parse_date(v, name="end date", allow_missing=True))
        if (self.start_date is None) != (self.end_date is None):
            missing = "start" if self.start_date is None else "end"
            error = BadTemporalExtentError(f"the {missing} date is not set; set both start and end dates, or neither")
            error.field = f"{missing}_date"  # type: ignore[attr-defined]
            raise error
        if self.start_date is not None and self.end_date is not None:
            normalized("end_date", lambda v: TemporalExtent(self.start_date, v).end)  # type: ignore[arg-type]
        normalized("ewoc_codes", _codes)
        for name in ("include_public", "include_private", "include_restricted", "subset"):
            normalized(name, lambda v, name=name: normalize_flag(v, name))
        for name in ("min_quality_lc", "min_quality_ct"):
            normalized(name, lambda v, name=name: normalize_quality(v, name))
        normalized("selected_ids", lambda v: tuple(normalize_ids(v, "selected_ids") or ()))

    # --- derived views ---------------------------------------------------------------------------------
    @property
    def spatial_extent(self) -> SpatialExtent | None:
        """The spatial filter: the polygon (with its bounding box) when set, else the bbox, else ``None``."""
        if self.bbox is None:
            return None
        return SpatialExtent(BBox(*self.bbox), self.polygon)

    @property
    def temporal_extent(self) -> TemporalExtent | None:
        """The date range (both days included), or ``None``."""
        if self.start_date is None or self.end_date is None:
            return None
        return TemporalExtent(self.start_date, self.end_date)

    @property
    def area(self) -> Any:
        """The area samples are tested against: the polygon when set, else the bbox tuple, else ``None``."""
        return self.polygon if self.polygon is not None else self.bbox

    @property
    def code_filter(self) -> list[int] | None:
        """The crop codes as the client's filter: a list, or ``None`` for every crop."""
        return list(self.ewoc_codes) or None

    @property
    def includes_non_public(self) -> bool:
        """True when private or restricted collections are asked for (they need a login)."""
        return self.include_private or self.include_restricted

    def allows_access(self, access_type: str) -> bool:
        """Whether a collection of this ``accessType`` (``"Public"``, ``"Private"``, ``"Restricted"``) is kept.

        Any other non-public spelling counts as private.
        """
        kind = (access_type or "").lower()
        if kind == "public":
            return self.include_public
        if kind == "restricted":
            return self.include_restricted
        return self.include_private

    def is_default(self, name: str) -> bool:
        """True when field ``name`` has its default value (= no filter)."""
        return bool(getattr(self, name) == _DEFAULTS[_check_names([name])[0]])

    # --- changing ----------------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> RdmQuery:
        """A copy with ``changes`` applied, normalised again.

        Raises
        ------
        BadParameterError
            For a name that is not a field (the message lists the fields); the normalisers' errors otherwise.
        """
        _check_names(changes)
        return dataclasses.replace(self, **changes)

    # --- the wire ------------------------------------------------------------------------------------------
    def to_params(self, ewoc_codes: Sequence[int] | None = None) -> list[tuple[str, str]]:
        """The query parameters of ``/collections/search`` in the live API's wire format.

        ``Bbox`` is always sent, 4 times, W,S,E,N (the world when there is no area; a polygon's bounding box;
        a point or line widened to a tiny box). The end date is sent as ``YYYY-MM-DDT23:59:59Z`` so that the
        whole end day counts. Quality, subset and the selected ids are not search parameters.

        Parameters
        ----------
        ewoc_codes
            The codes of this one search, in the order to send them (some of the query's codes; the client
            sends a long list as several searches, see :meth:`to_param_sets`). Default: all of them, sorted.

        Raises
        ------
        BadEwocCodeError
            When ``ewoc_codes`` names a code the query does not hold.
        """
        extent = self.spatial_extent
        params = [("Bbox", str(v)) for v in search_bbox(extent.bbox if extent is not None else None).as_tuple()]
        temporal = self.temporal_extent
        if temporal is not None:
            params.append(("ValidityTime.Start", f"{temporal.start.isoformat()}T00:00:00Z"))
            params.append(("ValidityTime.End", f"{temporal.end.isoformat()}T23:59:59Z"))
        for code in self._codes_to_send(ewoc_codes):
            params.append(("EwocCodes", str(code)))
        return params

    def to_param_sets(self, max_codes: int = MAX_CODES_PER_SEARCH, *,
                      ewoc_codes: Sequence[int] | None = None) -> list[list[tuple[str, str]]]:
        """The parameters of every search this query takes: one per ``max_codes`` codes (one without codes).

        Parameters
        ----------
        max_codes
            Most codes per search (a URL has a length limit).
        ewoc_codes
            The query's codes in the order to send them (default: sorted).
        """
        if isinstance(max_codes, bool) or not isinstance(max_codes, int) or max_codes < 1:
            raise BadParameterError(f"max_codes={max_codes!r} is not allowed; use a whole number >= 1")
        codes = self._codes_to_send(ewoc_codes)
        if not codes:
            return [self.to_params(())]
        return [self.to_params(codes[i : i + max_codes]) for i in range(0, len(codes), max_codes)]

    def _codes_to_send(self, ewoc_codes: Sequence[int] | None) -> list[int]:
        if ewoc_codes is None:
            return list(self.ewoc_codes)
        codes = normalize_ewoc_codes(list(ewoc_codes)) or []
        held = set(self.ewoc_codes)
        foreign = [c for c in codes if c not in held]
        if foreign:
            raise BadEwocCodeError(f"ewoc codes {foreign!r} are not in the query's ewoc_codes {list(self.ewoc_codes)!r}")
        return codes

    # --- JSON ------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fields that differ from their defaults, JSON-safe.

        Dates are ISO strings, the polygon is a GeoJSON geometry, tuples are lists; ``bbox`` is left out when a
        polygon is set (it is the polygon's bounds). :meth:`from_dict` reads it back to an equal query.
        """
        out: dict[str, Any] = {}
        for name in self.FIELDS:
            if self.is_default(name) or (name == "bbox" and self.polygon is not None):
                continue
            value = getattr(self, name)
            if name == "polygon":
                from shapely.geometry import mapping

                value = mapping(value)
            out[name] = _json_safe(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RdmQuery:
        """The query in ``data`` (from :meth:`to_dict`, a JSON file or elsewhere); missing fields are defaults.

        Raises
        ------
        BadParameterError
            When ``data`` is not a mapping, or for a key that is not a field (the message names it and lists the
            fields); the normalisers' errors for bad values.
        """
        if not isinstance(data, Mapping):
            raise BadParameterError(f"a query must be a mapping of fields, not {type(data).__name__}; "
                                    f"fields: {', '.join(cls.FIELDS)}")
        _check_names(data)
        return cls(**data)

    # --- share links ----------------------------------------------------------------------------------------
    def to_url_query(self) -> str:
        """The dashboard link's query string for this query (``bbox=3,50,6,52&start=...``; defaults left out).

        A polygon is written as ``wkt`` (its bounds are the bbox when read back); see :data:`URL_PARAMS`.
        """
        import shapely

        params: list[tuple[str, str]] = []
        if self.polygon is not None:
            params.append(("wkt", shapely.to_wkt(self.polygon, rounding_precision=-1)))
        elif self.bbox is not None:
            params.append(("bbox", ",".join(_short_number(v) for v in self.bbox)))
        if self.start_date is not None and self.end_date is not None:
            params.append(("start", self.start_date.isoformat()))
            params.append(("end", self.end_date.isoformat()))
        if self.ewoc_codes:
            params.append(("codes", ",".join(str(c) for c in self.ewoc_codes)))
        access = [a for a in ACCESS_KINDS if getattr(self, f"include_{a}")]
        if access != ["public"]:
            params.append(("access", ",".join(access) or "none"))
        if self.min_quality_lc:
            params.append(("min_lc", str(self.min_quality_lc)))
        if self.min_quality_ct:
            params.append(("min_ct", str(self.min_quality_ct)))
        if self.subset:
            params.append(("subset", "1"))
        if self.selected_ids:
            params.append(("ids", ",".join(self.selected_ids)))
        return urlencode(params, quote_via=quote, safe=",:()")

    @classmethod
    def from_url_query(cls, query: str | None) -> RdmQuery:
        """The query a dashboard link's query string holds (a leading ``?`` is allowed; Voilà's own parameters
        are skipped).

        Strict: the first bad or unknown parameter raises; :func:`parse_url_query` reads leniently instead.

        Raises
        ------
        InvalidInputError
            A subclass naming the parameter (``"min_lc=200: needs a whole number from 0 to 100"``).
        """
        values: dict[str, Any] = {}
        for key, value, parsed in _url_items(query):
            if isinstance(parsed, InvalidInputError):
                raise type(parsed)(f"{_shown(key, value)}: {parsed}")
            values.update(parsed)
        return cls(**values)

    # --- Python ---------------------------------------------------------------------------------------------
    def to_code(self, client_name: str = "client") -> str:
        """Python source that makes this query and fetches its samples with ``client_name.get_samples(query=...)``.

        Only fields that differ from their defaults are written; the polygon as WKT. Running the code with a
        client named ``client_name`` gives an equal query (``query``) and its samples (``samples``).

        Raises
        ------
        BadParameterError
            When ``client_name`` is not a Python identifier.
        """
        if not isinstance(client_name, str) or not client_name.isidentifier():
            raise BadParameterError(f"client_name={client_name!r} is not allowed; use a Python identifier")
        lines = ["from worldcereal_explorer import RdmQuery", ""]
        args = []
        for name in self.FIELDS:
            if self.is_default(name) or (name == "bbox" and self.polygon is not None):
                continue
            args.append(_code_argument(name, getattr(self, name)))
        if args:
            lines.append("query = RdmQuery(")
            lines += [f"    {arg}" for arg in args]
            lines.append(")")
        else:
            lines.append("query = RdmQuery()")
        lines.append(f"samples = {client_name}.get_samples(query=query)")
        return "\n".join(lines) + "\n"

    # --- the client's keyword arguments ----------------------------------------------------------------------
    @classmethod
    def from_client_args(cls, spatial_extent: Any = None, temporal_extent: Any = None, ewoc_codes: Any = None,
                         include_public: Any = True, include_private: Any = False, min_quality_lc: Any = 0,
                         min_quality_ct: Any = 0, subset: Any = False, *, bbox: Any = None) -> RdmQuery:
        """A query from the keyword arguments of the client's methods (``get_samples(spatial_extent=..., ...)``).

        Parameters
        ----------
        spatial_extent, bbox
            A bbox-like value or a (Multi)Polygon (give at most one: ``bbox`` is an alias); a polygon becomes
            ``polygon``, anything else ``bbox``.
        temporal_extent
            ``(start, end)``, a mapping with ``start``/``end``, or an object with ``start_date``/``end_date``.
        ewoc_codes
            Codes (or one code); ``None`` and ``[]`` mean every crop (the reference client's rule, logged).
        include_public, include_private
            Truth values, as the client always took them; ``include_private`` includes restricted collections.
        min_quality_lc, min_quality_ct, subset
            As the fields.

        Raises
        ------
        BadParameterError
            For both ``spatial_extent`` and ``bbox``; the normalisers' errors (with the client's wording for
            extents) otherwise.
        """
        spatial = normalize_spatial_extent(spatial_or_bbox(spatial_extent, bbox))
        temporal = normalize_temporal_extent(temporal_extent)
        private = bool(include_private)
        return cls(
            bbox=None if spatial is None else spatial.bbox.as_tuple(),
            polygon=None if spatial is None else spatial.geometry,
            start_date=None if temporal is None else temporal.start,
            end_date=None if temporal is None else temporal.end,
            ewoc_codes=tuple(normalize_code_filter(ewoc_codes) or ()),
            include_public=bool(include_public),
            include_private=private,
            include_restricted=private,
            min_quality_lc=min_quality_lc,
            min_quality_ct=min_quality_ct,
            subset=subset,
        )

    def __repr__(self) -> str:
        shown = []
        for name in self.FIELDS:
            if self.is_default(name) or (name == "bbox" and self.polygon is not None):
                continue
            value = getattr(self, name)
            if name == "polygon":
                text = value.wkt
                shown.append(f"polygon={text[:60] + '...' if len(text) > 60 else text!r}")
            else:
                shown.append(f"{name}={value!r}")
        return f"RdmQuery({', '.join(shown)})"


RdmQuery.FIELDS = tuple(f.name for f in dataclasses.fields(RdmQuery))
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(RdmQuery)}

#: Fields whose change re-runs the collection search (area, dates, codes, access).
SEARCH_FIELDS = tuple(f.name for f in dataclasses.fields(RdmQuery) if f.metadata["search"])
#: Fields whose change changes the samples a fetch returns: every field (a superset of :data:`SEARCH_FIELDS`).
SAMPLE_FIELDS = tuple(f.name for f in dataclasses.fields(RdmQuery) if f.metadata["sample"])
#: Fields that change the samples but not the collection search (quality, subset, selected ids).
SAMPLE_ONLY_FIELDS = tuple(name for name in SAMPLE_FIELDS if name not in SEARCH_FIELDS)


def _check_names(names: Iterable[str]) -> list[str]:
    names = list(names)
    unknown = [n for n in names if n not in RdmQuery.FIELDS]
    if unknown:
        error = BadParameterError(f"{unknown[0]!r} is not a query field; fields: {', '.join(RdmQuery.FIELDS)}")
        error.field = unknown[0]  # type: ignore[attr-defined]
        raise error
    return names


def _json_safe(value: Any) -> Any:
    """Tuples to lists, numpy scalars to Python numbers, dates to ISO strings, recursively."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def _short_number(value: float) -> str:
    """A coordinate written exactly and short: ``3`` rather than ``3.0``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _list_literal(values: Sequence[Any], per_line: int) -> str:
    if len(values) <= per_line:
        return "[" + ", ".join(repr(v) for v in values) + "]"
    rows = [", ".join(repr(v) for v in values[i : i + per_line]) for i in range(0, len(values), per_line)]
    return "[\n        " + ",\n        ".join(rows) + ",\n    ]"


def _code_argument(name: str, value: Any) -> str:
    if name == "bbox":
        return f"{name}=({', '.join(repr(v) for v in value)}),  # west, south, east, north"
    if name == "polygon":
        import shapely

        return f"{name}={shapely.to_wkt(value, rounding_precision=-1)!r},  # WKT"
    if name in ("start_date", "end_date"):
        return f"{name}={value.isoformat()!r},"
    if name == "ewoc_codes":
        return f"{name}={_list_literal(value, 5)},"
    if name == "selected_ids":
        return f"{name}={_list_literal(value, 3)},"
    return f"{name}={value!r},"


# --- reading links -------------------------------------------------------------------------------------------

def _shown(key: str, value: str | None) -> str:
    """``key=value`` as a problem names it (long values cut; the start/end pair has no single value)."""
    if value is None:
        return key
    return f"{key}={value if len(value) <= 60 else value[:57] + '...'}"


def _url_param(key: str, value: str) -> dict[str, Any]:
    """One link parameter as query fields; raises InvalidInputError with a readable message."""
    items = [v.strip() for v in value.split(",") if v.strip()]
    if key == "bbox":
        try:
            numbers = [float(v) for v in value.split(",")]
        except ValueError:
            raise BadExtentError("needs four numbers W,S,E,N") from None
        return {"bbox": normalize_bbox(numbers).as_tuple()}
    if key == "wkt":
        polygon = _polygon(value)
        assert polygon is not None
        return {"polygon": polygon, "bbox": tuple(float(v) for v in polygon.bounds)}
    if key in ("start", "end"):
        return {f"{key}_date": parse_date(value, name=f"{key} date")}
    if key == "codes":
        return {"ewoc_codes": _codes(items)}
    if key == "access":
        bad = [a for a in items if a.lower() not in (*ACCESS_KINDS, "none")]
        if bad:
            raise BadParameterError(f"{bad[0]!r} is not an access kind; use {', '.join(ACCESS_KINDS)}")
        kinds = {a.lower() for a in items}
        return {f"include_{a}": a in kinds for a in ACCESS_KINDS}
    if key in ("min_lc", "min_ct"):
        if not value.strip().isdigit() or not 0 <= int(value) <= 100:
            raise BadParameterError("needs a whole number from 0 to 100")
        return {f"min_quality_{key[4:]}": int(value)}
    if key == "subset":
        if value.strip().lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise BadParameterError("use 1 or 0")
        return {"subset": value.strip().lower() in ("1", "true", "yes")}
    if key == "ids":
        return {"selected_ids": tuple(normalize_ids(items, "ids") or ())}
    raise BadParameterError(f"unknown parameter; known: {', '.join(URL_PARAMS)}")


def _url_items(query: str | None) -> Iterable[tuple[str, str | None, dict[str, Any] | InvalidInputError]]:
    """Each query parameter of a link with the fields it sets, or the error that makes it unreadable.

    Dates are checked together at the end (a link needs both, start on or before end): the last item is then
    a ``start``/``end`` error.
    """
    dates: dict[str, dt.date] = {}
    for key, value in parse_qsl((query or "").lstrip("?"), keep_blank_values=True):
        if key in _VOILA_PARAMS:
            continue
        try:
            fields = _url_param(key, value)
        except InvalidInputError as exc:
            yield key, value, exc
            continue
        if key in ("start", "end"):
            dates.update(fields)
            continue
        yield key, value, fields
    if len(dates) == 1:
        given = "start" if "start_date" in dates else "end"
        yield given, "", BadTemporalExtentError("a link needs both start and end dates")
    elif dates and dates["start_date"] > dates["end_date"]:
        yield "start/end", None, BadTemporalExtentError(
            f"start {dates['start_date']} is after end {dates['end_date']}")
    elif dates:
        yield "start/end", None, dates


def parse_url_query(query: str | None) -> tuple[dict[str, Any], list[str]]:
    """Read a dashboard link's query string leniently, as the dashboard opens a shared link.

    Every parameter is read on its own: one that is unknown or malformed is left out and explained in the
    returned problems, never raised (a shared link must still open). ``RdmQuery(**values)`` is the link's query.

    Parameters
    ----------
    query
        ``"bbox=3,50,6,52&start=2021-01-01&end=2021-12-31"`` (a leading ``?`` is allowed).

    Returns
    -------
    values : dict
        The normalised query fields the link gives (only those; a ``wkt`` gives ``polygon``).
    problems : list of str
        One readable sentence per ignored parameter (``"ignored min_lc=200: needs a whole number ..."``).
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value, parsed in _url_items(query):
        if isinstance(parsed, InvalidInputError):
            problems.append(f"ignored {_shown(key, value)}: {parsed}")
        else:
            values.update(parsed)
    return values, problems


# --- the client's two ways of being given a query -----------------------------------------------------------

#: Keyword arguments of the client's methods, their defaults and the fields each one sets.
_CLIENT_KEYWORDS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "spatial_extent": (None, ("bbox", "polygon")),
    "bbox": (None, ("bbox", "polygon")),
    "temporal_extent": (None, ("start_date", "end_date")),
    "ewoc_codes": (None, ("ewoc_codes",)),
    "include_public": (True, ("include_public",)),
    "include_private": (False, ("include_private",)),
    "min_quality_lc": (0, ("min_quality_lc",)),
    "min_quality_ct": (0, ("min_quality_ct",)),
    "subset": (False, ("subset",)),
}


def _given(value: Any, default: Any) -> bool:
    if default is None:
        return value is not None
    try:
        return bool(value != default) or type(value) is not type(default)
    except (TypeError, ValueError):  # an array compared elementwise: certainly given
        return True


def client_query(query: Any = None, **keywords: Any) -> RdmQuery:
    """The query a client method was given: ``query`` itself, or one built from the keyword arguments.

    Parameters
    ----------
    query
        An :class:`RdmQuery`, or ``None`` to build one from ``keywords``.
    **keywords
        The method's filter keywords (``spatial_extent``, ``bbox``, ``temporal_extent``, ``ewoc_codes``,
        ``include_public``, ``include_private``, ``min_quality_lc``, ``min_quality_ct``, ``subset``); with a
        ``query``, one left at its default takes the query's value, and one given must agree with it.

    Raises
    ------
    BadParameterError
        When ``query`` is not an :class:`RdmQuery`, or a keyword given with it asks for something else than the
        query (the message names both and how to change the query).
    """
    unknown = [k for k in keywords if k not in _CLIENT_KEYWORDS]
    if unknown:
        raise BadParameterError(f"{unknown[0]!r} is not a query keyword; allowed: {', '.join(_CLIENT_KEYWORDS)}")
    if query is None:
        return RdmQuery.from_client_args(**keywords)
    if not isinstance(query, RdmQuery):
        raise BadParameterError(f"query={query!r} is not allowed; use an RdmQuery (worldcereal_explorer.RdmQuery)")
    given = {k: v for k, v in keywords.items() if _given(v, _CLIENT_KEYWORDS[k][0])}
    if not given:
        return query
    from_keywords = RdmQuery.from_client_args(**given)
    for name, value in given.items():
        for field_name in _CLIENT_KEYWORDS[name][1]:
            if getattr(from_keywords, field_name) != getattr(query, field_name):
                raise BadParameterError(
                    f"{name}={value!r} conflicts with query.{field_name}={getattr(query, field_name)!r}; pass the "
                    f"filters either as query= or as keywords, not both (query.replace({field_name}=...) changes it)"
                )
    return query


def resolve_ref_ids(ref_ids: Any, query: RdmQuery) -> Any:
    """The collections a sample method reads: ``ref_ids`` when given, else the query's ``selected_ids``, else
    ``None`` (the collections the search finds).

    Raises
    ------
    BadParameterError
        When both name collections and not the same ones.
    """
    if not query.selected_ids:
        return ref_ids
    if ref_ids is None:
        return list(query.selected_ids)
    if normalize_ids(ref_ids) != list(query.selected_ids):
        raise BadParameterError(
            f"ref_ids={ref_ids!r} conflicts with query.selected_ids={query.selected_ids!r}; pass the collections "
            "either as ref_ids or in the query, not both"
        )
    return ref_ids
