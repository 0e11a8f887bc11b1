"""Date parsing: the one place the package turns user or API values into dates and times.

Strict on purpose: ``'2021-01-01garbage'`` or ``'2021-01-01T99:99:99'`` are errors, not 2021-01-01; an aware
time is converted to UTC before its date is taken; ``None``/``NaT``/``''`` are "no date" only where the caller
allows it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from .errors import BadTemporalExtentError

__all__ = ["parse_date", "parse_datetime", "is_missing"]

_ALLOWED = "allowed: 'YYYY-MM-DD', 'YYYY-MM-DDTHH:MM:SS[Z|±HH:MM]', a date, a datetime or a pandas Timestamp"


def is_missing(value: Any) -> bool:
    """True for ``None``, ``''``, ``NaN``, ``pd.NaT`` and ``numpy.datetime64('NaT')``."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (list, tuple, dict)) else False
    except (TypeError, ValueError):
        return False


def parse_datetime(value: Any, *, name: str = "date") -> dt.datetime:
    """Parse ``value`` as a naive UTC datetime (aware values are converted to UTC first).

    Raises
    ------
    BadTemporalExtentError
        Naming ``name`` and the value, for anything that is not exactly a date or date-time.
    """
    if is_missing(value):
        raise BadTemporalExtentError(f"{name} {value!r} is missing; {_ALLOWED}")
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        value = value.to_pydatetime()
    elif type(value).__name__ == "datetime64":
        import pandas as pd

        value = pd.Timestamp(value).to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise BadTemporalExtentError(f"{name} {value!r} of type {type(value).__name__} is not a date; {_ALLOWED}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        if len(text) == 10:
            parsed = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        elif len(text) > 10 and text[10] in "T ":
            parsed = dt.datetime.fromisoformat(text)
        else:
            raise ValueError(text)
    except ValueError:
        raise BadTemporalExtentError(f"{name} {value!r} is not a date; {_ALLOWED}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def parse_date(value: Any, *, name: str = "date", allow_missing: bool = False) -> dt.date | None:
    """Parse ``value`` as a calendar date (UTC for aware times); ``None`` when missing and allowed.

    Raises
    ------
    BadTemporalExtentError
        Naming ``name`` and the value, for anything that is not exactly a date or date-time.
    """
    if allow_missing and is_missing(value):
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return parse_datetime(value, name=name).date()
