"""The public sample query: what to read, validated once, shared by every engine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import BadParameterError
from ...extents import (
    SpatialExtent,
    TemporalExtent,
    normalize_ewoc_codes,
    normalize_spatial_extent,
    normalize_temporal_extent,
)
from ..query import RdmQuery, normalize_flag, normalize_ids, normalize_quality

__all__ = [
    "DEFAULT_COLUMNS",
    "INTEGER_COLUMNS",
    "OPTIONAL_STANDARD_COLUMNS",
    "STRING_COLUMNS",
    "SampleQuery",
    "normalize_ref_ids",
]

#: Columns returned by default, as in the WorldCereal client.
DEFAULT_COLUMNS = [
    "sample_id",
    "ewoc_code",
    "valid_time",
    "irrigation_status",
    "quality_score_lc",
    "quality_score_ct",
    "extract",
    "h3_l3_cell",
    "ref_id",
    "geometry",
]

#: RDM integer columns, returned as int64 whatever width the file uses.
INTEGER_COLUMNS = ("ewoc_code", "irrigation_status", "quality_score_lc", "quality_score_ct", "extract",
                   "sampling_ewoc_code")
#: RDM text columns.
STRING_COLUMNS = ("sample_id", "h3_l3_cell", "ref_id")
#: Standard columns that may be absent from a file; they are then returned as missing values.
OPTIONAL_STANDARD_COLUMNS = frozenset(DEFAULT_COLUMNS) - {"ref_id", "geometry"}


@dataclass(frozen=True)
class SampleQuery:
    """A validated sample query: which columns, and which samples of each collection.

    Construct it with :meth:`from_query` from an :class:`~worldcereal_explorer.rdm.query.RdmQuery` (its
    filters) and the output options, with :meth:`build` from user-style arguments (``spatial_extent=``,
    ``bbox=``, ...), or directly with the field names below; all validate and normalise every field, so an
    instance is always valid. Instances are immutable and hashable, and travel to Dask workers.

    Attributes
    ----------
    columns : tuple of str
        Columns to return, in this order (default :data:`DEFAULT_COLUMNS`). ``geometry`` is always
        returned (appended when missing); duplicates are dropped. Standard RDM columns a file lacks are
        returned as missing values; other unknown names are an error when a file is read.
    subset : bool
        Read the extraction subset files (``/sample/download``, falling back to the full file when a
        collection has none) and keep only samples with ``extract > 0``.
    spatial : SpatialExtent or None
        Keep samples whose geometry intersects this bbox or (Multi)Polygon (EPSG:4326); ``None``: no
        spatial filter. Validated by :func:`worldcereal_explorer.extents.normalize_spatial_extent`.
    temporal : TemporalExtent or None
        Keep samples whose ``valid_time`` falls within ``start``..``end``, both days included; ``None``: no
        time filter. Each date is parsed strictly by :func:`worldcereal_explorer.dates.parse_date`.
    ewoc_codes : tuple of int or None
        Keep samples whose ``ewoc_code`` is one of these (validated legend codes); ``None``: any code;
        an empty tuple matches nothing.
    min_quality_lc : int
        Keep samples with ``quality_score_lc >= min_quality_lc`` (0..100; 0 disables the filter;
        fractions round up, since scores are whole numbers).
    min_quality_ct : int
        Same for ``quality_score_ct``.
    clip : bool
        Cut the returned geometries to the spatial extent (default: whole intersecting geometries).

    Examples
    --------
    >>> q = SampleQuery.build(bbox=(4, 50, 5, 51), temporal_extent=("2021-01-01", "2021-12-31"))
    >>> q.temporal.as_tuple()
    ('2021-01-01', '2021-12-31')
    """

    columns: tuple[str, ...] = tuple(DEFAULT_COLUMNS)
    subset: bool = False
    spatial: SpatialExtent | None = None
    temporal: TemporalExtent | None = None
    ewoc_codes: tuple[int, ...] | None = None
    min_quality_lc: int = 0
    min_quality_ct: int = 0
    clip: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise in place once, at construction
        set_(self, "columns", _columns(self.columns))
        set_(self, "subset", normalize_flag(self.subset, "subset"))
        set_(self, "clip", normalize_flag(self.clip, "clip"))
        set_(self, "spatial", normalize_spatial_extent(self.spatial))
        set_(self, "temporal", normalize_temporal_extent(self.temporal))
        codes = normalize_ewoc_codes(self.ewoc_codes)
        set_(self, "ewoc_codes", None if codes is None else tuple(codes))
        set_(self, "min_quality_lc", normalize_quality(self.min_quality_lc, "min_quality_lc"))
        set_(self, "min_quality_ct", normalize_quality(self.min_quality_ct, "min_quality_ct"))

    @classmethod
    def from_query(cls, query: RdmQuery, *, columns: Sequence[str] | str | None = None,
                   clip: bool = False) -> SampleQuery:
        """The sample query of an :class:`~worldcereal_explorer.rdm.query.RdmQuery`: its area (the polygon when
        set), dates, codes (none: every crop), quality thresholds and subset flag.

        Parameters
        ----------
        query
            The filters.
        columns
            Column names (a single name is one column); ``None``: :data:`DEFAULT_COLUMNS`.
        clip
            Cut the returned geometries to the area.

        Raises
        ------
        BadParameterError
            When ``query`` is not an ``RdmQuery``, or for bad ``columns``/``clip``.
        """
        if not isinstance(query, RdmQuery):
            raise BadParameterError(f"query={query!r} is not allowed; use an RdmQuery")
        return cls(
            columns=tuple(DEFAULT_COLUMNS) if columns is None else columns,  # type: ignore[arg-type]
            subset=query.subset,
            spatial=query.spatial_extent,
            temporal=query.temporal_extent,
            ewoc_codes=None if not query.ewoc_codes else query.ewoc_codes,
            min_quality_lc=query.min_quality_lc,
            min_quality_ct=query.min_quality_ct,
            clip=clip,
        )

    #: The filters :meth:`build` takes besides ``columns`` and ``clip``: those of
    #: :meth:`RdmQuery.from_client_args <worldcereal_explorer.rdm.query.RdmQuery.from_client_args>` that
    #: decide which samples of a file match (collection access is decided before a file is read).
    BUILD_FILTERS = ("spatial_extent", "bbox", "temporal_extent", "ewoc_codes", "min_quality_lc", "min_quality_ct",
                     "subset")

    @classmethod
    def build(cls, *, columns: Sequence[str] | str | None = None, clip: bool = False, **filters: Any) -> SampleQuery:
        """A query from the arguments of :meth:`RdmClient.get_samples <worldcereal_explorer.rdm.client.RdmClient.get_samples>`.

        The filters are normalised by :meth:`RdmQuery.from_client_args
        <worldcereal_explorer.rdm.query.RdmQuery.from_client_args>`, the one definition of the client's
        arguments, so they mean here what they mean to ``get_samples`` (``ewoc_codes=[]``: every crop).

        Parameters
        ----------
        columns
            Column names (a single name is one column); ``None``: :data:`DEFAULT_COLUMNS`.
        clip
            Cut the returned geometries to the area (``True`` or ``False``).
        **filters
            Any of :data:`BUILD_FILTERS`: ``spatial_extent`` (or its alias ``bbox``), ``temporal_extent``,
            ``ewoc_codes``, ``min_quality_lc``, ``min_quality_ct`` and ``subset``, as ``get_samples`` takes them.

        Raises
        ------
        BadExtentError, BadTemporalExtentError, BadEwocCodeError
            From :mod:`worldcereal_explorer.extents` and :mod:`worldcereal_explorer.dates`.
        BadParameterError
            For columns that are not names, scores outside 0..100, non-boolean flags, both
            ``spatial_extent`` and ``bbox``, or a keyword that is not one of :data:`BUILD_FILTERS`.
        """
        unknown = sorted(set(filters) - set(cls.BUILD_FILTERS))
        if unknown:
            raise BadParameterError(f"SampleQuery.build got {', '.join(unknown)}; its filters are "
                                    f"{', '.join(cls.BUILD_FILTERS)} (besides columns and clip)")
        return cls.from_query(RdmQuery.from_client_args(**filters), columns=columns, clip=clip)

    @property
    def filter_columns(self) -> tuple[str, ...]:
        """Attribute columns the row filter needs."""
        names = []
        if self.ewoc_codes is not None:
            names.append("ewoc_code")
        if self.temporal is not None:
            names.append("valid_time")
        if self.subset:
            names.append("extract")
        if self.min_quality_lc > 0:
            names.append("quality_score_lc")
        if self.min_quality_ct > 0:
            names.append("quality_score_ct")
        return tuple(names)


def normalize_ref_ids(ref_ids: Any) -> list[str] | None:
    """Collection ids as a list without duplicates (order kept); ``None`` stays ``None``.

    A single string is one id (``"2021_bel_x_point_110"`` is not split into characters).

    Raises
    ------
    BadParameterError
        For anything that is not a string or an iterable of non-empty strings.
    """
    return normalize_ids(ref_ids, "ref_ids")


def _columns(columns: Any) -> tuple[str, ...]:
    if isinstance(columns, str):
        columns = [columns]
    elif not isinstance(columns, Iterable) or isinstance(columns, (bytes, Mapping)):
        raise BadParameterError(f"columns={columns!r} is not allowed; use a list of column names")
    names = list(columns)
    bad = [c for c in names if not isinstance(c, str) or not c]
    if bad:
        raise BadParameterError(f"column names {bad!r} are not allowed; columns must be non-empty strings")
    names = list(dict.fromkeys(names))
    if "geometry" not in names:  # a GeoDataFrame needs its geometry
        names.append("geometry")
    return tuple(names)
