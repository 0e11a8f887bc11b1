"""Query parameters of the live API: their names, paging limits, and parsing into the package's types.

Parsing failures raise :class:`~worldcereal_explorer.server.api_errors.ApiError` (400, ABP
``ValidationError``) whose message says which parameter is wrong and what is allowed.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlencode

from ..errors import InvalidInputError
from ..extents import BBox
from .api_errors import ApiError
from .catalog import parse_api_datetime

__all__ = [
    "DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "DEFAULT_ITEMS_PAGE_SIZE", "MAX_ITEMS_PAGE_SIZE", "INT32_MAX",
    "canonical_query", "parse_time", "parse_bbox", "check_paging",
]

#: ABP's defaults for ``/collections`` paging (``LimitedResultRequestDto``).
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
#: Items paging: ABP default page size, and the cap the live API is reported to apply.
DEFAULT_ITEMS_PAGE_SIZE = 10
MAX_ITEMS_PAGE_SIZE = 2000
#: The live API binds paging parameters to .NET ``int``: larger values are a validation error there too.
INT32_MAX = 2**31 - 1

#: Query parameter names of the live API; ASP.NET binds them case-insensitively, so this server does too.
_CANONICAL_PARAMS = {
    name.lower(): name
    for name in (
        "Bbox", "ValidityTime.Start", "ValidityTime.End", "EwocCodes", "IrrigationTypes",
        "LandCoverConfidence.Start", "LandCoverConfidence.End", "CropTypeConfidence.Start", "CropTypeConfidence.End",
        "IrrigationConfidence.Start", "IrrigationConfidence.End", "SkipCount", "MaxResultCount",
        "ValidityStartTime", "ValidityEndTime",
    )
}


def canonical_query(query: bytes) -> bytes:
    """Rewrite known parameter names to the API's spelling (``bbox`` -> ``Bbox``), keeping order and values."""
    if not query:
        return query
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if all(_CANONICAL_PARAMS.get(k.lower(), k) == k for k, _ in pairs):
        return query
    return urlencode([(_CANONICAL_PARAMS.get(k.lower(), k), v) for k, v in pairs]).encode("latin-1")


def parse_time(value: str | None, name: str) -> dt.datetime | None:
    """Parse an ISO 8601 date-time parameter (``None``/empty: not given)."""
    if value is None or value == "":
        return None
    try:
        return parse_api_datetime(value)
    except ValueError:
        raise ApiError(
            400, "ValidationError", f"{name}={value!r} is not a date-time; allowed: ISO 8601 such as 2021-01-01T00:00:00Z",
            validation_errors=[{"message": "not an ISO 8601 date-time", "members": [name]}],
        ) from None


def parse_bbox(values: list[float] | None, *, required: bool) -> BBox | None:
    """Turn the repeated ``Bbox`` parameter (W, S, E, N) into a :class:`BBox`."""
    if not values:
        if required:
            raise ApiError(
                400, "ValidationError",
                "Bbox is required: repeat it exactly 4 times as W, S, E, N (e.g. Bbox=-180&Bbox=-90&Bbox=180&Bbox=90)",
                validation_errors=[{"message": "The Bbox field is required.", "members": ["bbox"]}],
            )
        return None
    if len(values) != 4:
        raise ApiError(
            400, "ValidationError",
            f"Bbox was given {len(values)} times ({values}); it must be repeated exactly 4 times as W, S, E, N",
            validation_errors=[{"message": "Bbox needs exactly 4 values", "members": ["bbox"]}],
        )
    try:
        return BBox(*values)
    except InvalidInputError as exc:
        raise ApiError(400, "ValidationError", f"Bbox {values} is not a valid box: {exc}",
                       validation_errors=[{"message": str(exc), "members": ["bbox"]}]) from None


def check_paging(skip: int, max_count: int, *, limit: int | None) -> None:
    """Check ``SkipCount``/``MaxResultCount`` the way ABP does (0 results per page is not a page)."""
    if not 0 <= skip <= INT32_MAX:
        raise ApiError(400, "ValidationError", f"SkipCount={skip} is not allowed; it must be >= 0 and <= {INT32_MAX}",
                       validation_errors=[{"message": "SkipCount must be >= 0", "members": ["skipCount"]}])
    if max_count < 1:
        raise ApiError(400, "ValidationError", f"MaxResultCount={max_count} is not allowed; it must be >= 1",
                       validation_errors=[{"message": "MaxResultCount must be >= 1", "members": ["maxResultCount"]}])
    upper = INT32_MAX if limit is None else limit
    if max_count > upper:
        raise ApiError(
            400, "ValidationError", f"MaxResultCount={max_count} is not allowed; it can not be more than {upper}",
            validation_errors=[{"message": f"MaxResultCount can not be more than {upper}!",
                                "members": ["maxResultCount"]}],
        )
