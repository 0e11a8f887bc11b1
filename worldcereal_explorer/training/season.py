"""Season check: month histograms of ``valid_time`` and a month-window filter (it may cross the year end)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BadParameterError
from ._common import class_column, record_step, require_columns

__all__ = ["parse_season", "season_filter", "season_filter_preview", "season_months", "valid_time_histogram"]

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_season(window: Any) -> tuple[int, int]:
    """``"MM-MM"`` (or a pair of months) as ``(first, last)`` months 1-12; ``"11-03"`` is November to March.

    Raises
    ------
    BadParameterError
        Naming the value and the allowed form.
    """
    if isinstance(window, str):
        match = re.fullmatch(r"\s*(\d{1,2})\s*-\s*(\d{1,2})\s*", window)
        pair = (int(match.group(1)), int(match.group(2))) if match else None
    elif isinstance(window, (tuple, list)) and len(window) == 2:
        try:
            pair = (int(window[0]), int(window[1]))
        except (TypeError, ValueError):
            pair = None
    else:
        pair = None
    if pair is None or not all(1 <= m <= 12 for m in pair):
        raise BadParameterError(
            f"season window {window!r} is not allowed; allowed: 'MM-MM' with months 01-12, e.g. '04-09' or "
            "'11-03' (November to March, across the year end)"
        )
    return pair


def season_months(window: Any) -> list[int]:
    """The months of a window, in season order (``"11-03"`` → ``[11, 12, 1, 2, 3]``)."""
    first, last = parse_season(window)
    return [(first - 1 + i) % 12 + 1 for i in range((last - first) % 12 + 1)]


def _months(samples: Any) -> np.ndarray:
    require_columns(samples, ["valid_time"], "the season check")
    times = pd.to_datetime(samples["valid_time"], errors="coerce", utc=False)
    return times.dt.month.fillna(0).astype("int64").to_numpy()  # 0: no valid_time


def valid_time_histogram(samples: Any, by: str = "downstream_class") -> pd.DataFrame:
    """Samples per month of ``valid_time``, per class or per collection.

    Parameters
    ----------
    samples
        GeoDataFrame with ``valid_time``.
    by
        ``"downstream_class"`` (falls back to ``ewoc_code`` before mapping), ``"ref_id"`` or any column.

    Returns
    -------
    pandas.DataFrame
        Index: the ``by`` values; columns ``Jan`` .. ``Dec`` (all twelve, zeros included); an extra ``none``
        column counts samples without a ``valid_time`` when there are any.
    """
    column = class_column(samples) if by == "downstream_class" else by
    require_columns(samples, [column], "valid_time_histogram")
    months = _months(samples)
    frame = pd.DataFrame({column: samples[column].to_numpy(), "month": months})
    table = frame.groupby([column, "month"], observed=True).size().unstack("month", fill_value=0)
    table = table.reindex(columns=range(0, 13), fill_value=0)
    table.columns = ["none", *_MONTH_NAMES]
    if not table["none"].any():
        table = table.drop(columns="none")
    return table.astype("int64")


def _inside(samples: Any, window: Any) -> np.ndarray:
    return np.isin(_months(samples), season_months(window))


def season_filter_preview(samples: Any, window: Any) -> pd.DataFrame:
    """What :func:`season_filter` would remove, per class, without removing anything.

    Returns
    -------
    pandas.DataFrame
        Index: class (``downstream_class`` or ``ewoc_code``); columns ``total``, ``kept``, ``removed``,
        ``removed_share``; sorted by class.
    """
    column = class_column(samples)
    inside = _inside(samples, window)
    frame = pd.DataFrame({column: samples[column].to_numpy(), "kept": inside})
    table = frame.groupby(column, observed=True)["kept"].agg(total="size", kept="sum")
    table["kept"] = table["kept"].astype("int64")
    table["removed"] = table["total"] - table["kept"]
    table["removed_share"] = table["removed"] / table["total"]
    return table.sort_index()


def season_filter(samples: Any, window: Any) -> Any:
    """Keep the samples whose ``valid_time`` month lies in ``window`` (``"MM-MM"``, both months included).

    ``"04-09"`` keeps April to September; ``"11-03"`` keeps November, December, January, February and March.
    Samples without a ``valid_time`` are removed.

    Returns
    -------
    geopandas.GeoDataFrame
        The kept samples; the removed counts per class are recorded in ``attrs``.
    """
    first, last = parse_season(window)
    preview = season_filter_preview(samples, window)
    out = samples.loc[_inside(samples, window)].copy()
    return record_step(out, {
        "step": "season_filter",
        "window": f"{first:02d}-{last:02d}",
        "months": season_months(window),
        "removed": {str(k): int(v) for k, v in preview["removed"].items()},
        "kept": int(len(out)),
        "removed_total": int(len(samples) - len(out)),
    })
