"""The WorldCereal legends: land cover/crop type (ewoc codes) and irrigation; loading, labels, hierarchy.

The land-cover/crop-type legend is a ``;``-separated CSV (UTF-8 with BOM) whose ``ewoc_code`` column holds
dashed codes (``11-01-06-000-0``); everywhere else (API, sample files) the same code is a 10-digit integer
(``1101060000``). Codes are hierarchical in groups of 2-2-2-3-1 digits. The irrigation legend is a small
CSV of ``irrigation_code`` values (the samples' ``irrigation_status``) and their labels.

Reference-client shaped functions: :func:`get_legend` (a DataFrame per topic), :func:`translate_ewoc_codes`
and :func:`ewoc_code_to_label`. The client and the dashboard use :func:`default_legend`, a process-wide
:class:`Legend` object.

Where this differs from the reference client (``worldcereal.utils.legend``), on purpose:

* codes missing from the legend are labelled ``'unknown (<code>)'`` (the reference: ``"Unknown"``; pass
  ``unknown="Unknown"`` to :func:`ewoc_code_to_label` for that), and :func:`translate_ewoc_codes` keeps the
  codes' order and gives unknown codes a row instead of dropping them;
* the irrigation legend is indexed by its own ``irrigation_code`` column (it has no ``ewoc_code``);
* offline, with nothing cached, the defaults fall back to the small demo legends the package ships.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd

from ..errors import BadParameterError, LegendError
from .codes import dashed_to_ewoc_code, ewoc_code_to_dashed, parent_code
from .sources import (
    DEFAULT_TTL_S,
    ENV_IRRIGATION_LEGEND_URL,
    IRRIGATION,
    LANDCOVER,
    OFFICIAL_LEGEND_URLS,
    TOPICS,
    load_irrigation_legend,
    load_legend,
    normalize_topic,
    official_legend_urls,
)
from .tables import LABEL_TYPES, LEVEL_COLUMNS, TRANSLATE_COLUMNS, IrrigationLegend, Legend, LegendNode

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TTL_S",
    "ENV_IRRIGATION_LEGEND_URL",
    "IrrigationLegend",
    "LABEL_TYPES",
    "LEVEL_COLUMNS",
    "Legend",
    "LegendNode",
    "OFFICIAL_LEGEND_URLS",
    "TOPICS",
    "TRANSLATE_COLUMNS",
    "bundled_demo_irrigation_legend",
    "bundled_demo_legend",
    "dashed_to_ewoc_code",
    "default_irrigation_legend",
    "default_legend",
    "ewoc_code_to_dashed",
    "ewoc_code_to_label",
    "get_legend",
    "load_irrigation_legend",
    "load_legend",
    "normalize_topic",
    "official_legend_urls",
    "parent_code",
    "set_default_irrigation_legend",
    "set_default_legend",
    "translate_ewoc_codes",
]

_DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
#: Integer-valued columns of each topic's file, given as nullable integers by :func:`get_legend`.
_INTEGER_COLUMNS = {LANDCOVER: ("LC_code",), IRRIGATION: ("level_0", "level_1", "level_2")}

L = TypeVar("L", Legend, IrrigationLegend)


class _ProcessDefault(Generic[L]):
    """One topic's process-wide legend: loaded on first use, replaceable, and offline (nothing cached) the
    bundled demo copy, with a warning, so that labels still work for the classes it has."""

    def __init__(self, load: Callable[[], L], demo: Callable[[], L], what: str):
        self._load: Callable[[], L] = load
        self._demo: Callable[[], L] = demo
        self._what = what
        self._lock = threading.Lock()
        self._value: L | None = None

    def get(self) -> L:
        with self._lock:
            if self._value is None:
                try:
                    self._value = self._load()
                except LegendError as exc:
                    logger.warning("%s; falling back to the bundled demo %s", exc, self._what)
                    self._value = self._demo()
            return self._value

    def set(self, value: L | None) -> None:
        with self._lock:
            self._value = value


def bundled_demo_legend() -> Legend:
    """The small demo land-cover/crop-type legend the package ships (the classes the demo catalogue uses)."""
    return load_legend(_DEMO_DIR / "demo_legend.csv")


def bundled_demo_irrigation_legend() -> IrrigationLegend:
    """The small demo irrigation legend the package ships (the codes the demo catalogue uses, and parents)."""
    return load_irrigation_legend(_DEMO_DIR / "demo_irrigation_legend.csv")


# Late-bound (lambdas): the loaders are looked up when the default is first needed.
_LANDCOVER_DEFAULT: _ProcessDefault[Legend] = _ProcessDefault(
    lambda: load_legend(), lambda: bundled_demo_legend(), "legend")
_IRRIGATION_DEFAULT: _ProcessDefault[IrrigationLegend] = _ProcessDefault(
    lambda: load_irrigation_legend(), lambda: bundled_demo_irrigation_legend(), "irrigation legend")


def default_legend() -> Legend:
    """The process-wide default legend, loaded once (see :func:`load_legend` for the source order).

    When the official legend cannot be reached and nothing is cached (offline machines), the bundled
    demo legend is used with a warning, so labels still work for the classes it has.
    """
    return _LANDCOVER_DEFAULT.get()


def default_irrigation_legend() -> IrrigationLegend:
    """The process-wide default irrigation legend, loaded once (see :func:`load_irrigation_legend`).

    Offline with nothing cached, the bundled demo irrigation legend is used with a warning.
    """
    return _IRRIGATION_DEFAULT.get()


def set_default_legend(legend: Legend | str | os.PathLike | None) -> None:
    """Replace the process-wide default legend (a Legend, a path/URL to load, or ``None`` to reset)."""
    _LANDCOVER_DEFAULT.set(legend if isinstance(legend, Legend) or legend is None else load_legend(legend))


def set_default_irrigation_legend(legend: IrrigationLegend | str | os.PathLike | None) -> None:
    """Replace the process-wide default irrigation legend (an IrrigationLegend, a path/URL, or ``None``)."""
    _IRRIGATION_DEFAULT.set(
        legend if isinstance(legend, IrrigationLegend) or legend is None else load_irrigation_legend(legend))


def _with_integer_columns(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    for column in columns:
        if column in frame.columns:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            if numbers.isna().sum() == frame[column].isna().sum():  # every value is a number
                frame[column] = numbers.astype("Int64")
    return frame


def get_legend(
    topic: str = LANDCOVER,
    *,
    source: str | os.PathLike | None = None,
    legend: Legend | IrrigationLegend | None = None,
) -> pd.DataFrame:
    """The land-cover/crop-type or irrigation legend as a DataFrame, as the reference client gives it.

    Parameters
    ----------
    topic : {"landcover", "irrigation"}
        Which legend (case-insensitive; ``"LC"``/``"LC_CT"`` and ``"IRR"`` are accepted too).
    source : str or os.PathLike, optional
        A path or URL to load the legend from (cached as in :func:`load_legend`). Default: the process-wide
        legend of the topic (:func:`default_legend` / :func:`default_irrigation_legend`).
    legend : Legend or IrrigationLegend, optional
        An already loaded legend of the topic to turn into a DataFrame.

    Returns
    -------
    pandas.DataFrame
        A new frame with every column of the file. ``landcover``: indexed by integer ``ewoc_code``; columns
        ``level_1`` .. ``level_5``, ``definition``, ``label_full``, ``LC_code`` (nullable integer),
        ``LC_label``, ``sampling_label``, ``sampling_label_v0``, ``finetune_class`` (those the file has).
        ``irrigation``: indexed by integer ``irrigation_code``; columns ``level_0`` .. ``level_2`` (nullable
        integers) and ``label``. Empty cells are missing values.

    Raises
    ------
    BadParameterError
        When ``topic`` is not a legend topic, ``legend`` is not a legend of that topic, or both ``source`` and
        ``legend`` are given.
    LegendError
        When ``source`` cannot be loaded.
    """
    topic = normalize_topic(topic)
    expected = Legend if topic == LANDCOVER else IrrigationLegend
    if legend is not None and source is not None:
        raise BadParameterError("give either source= or legend=, not both")
    if legend is not None and not isinstance(legend, expected):
        raise BadParameterError(
            f"legend= must be a {expected.__name__} for topic {topic!r}, not {type(legend).__name__}"
        )
    loaded: Legend | IrrigationLegend
    if legend is not None:
        loaded = legend
    elif topic == LANDCOVER:
        loaded = load_legend(source) if source is not None else default_legend()
    else:
        loaded = load_irrigation_legend(source) if source is not None else default_irrigation_legend()
    return _with_integer_columns(loaded.frame.copy(), _INTEGER_COLUMNS[topic])


def _as_legend(legend: Any) -> Legend:
    if legend is None:
        return default_legend()
    if isinstance(legend, Legend):
        return legend
    if isinstance(legend, pd.DataFrame):  # a frame from get_legend(), as the reference client accepts
        return Legend(legend, "<DataFrame>")
    raise BadParameterError(f"legend= must be a Legend or a DataFrame from get_legend(), not {type(legend).__name__}")


def translate_ewoc_codes(codes: Iterable[Any], legend: Legend | pd.DataFrame | None = None) -> pd.DataFrame:
    """Translate ewoc codes into legend rows.

    Parameters
    ----------
    codes : iterable of int or str
        Ewoc codes (integers, digit strings or dashed codes).
    legend : Legend or pandas.DataFrame, optional
        The legend to use (a DataFrame as :func:`get_legend` gives); default :func:`default_legend`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``ewoc_code`` in the order given (duplicates dropped); columns ``label_full``,
        ``level_1`` .. ``level_5``, ``sampling_label`` (when the legend has one) and ``definition``. Codes the
        legend lacks get the label ``'unknown (<code>)'`` instead of an error (the reference client drops
        them with a warning).

    Raises
    ------
    BadEwocCodeError
        When a code is not an ewoc code.
    """
    return _as_legend(legend).translate(codes)


def ewoc_code_to_label(
    codes: Any,
    label_type: str = "full",
    legend: Legend | pd.DataFrame | None = None,
    *,
    unknown: str | None = None,
) -> str | list[str]:
    """Label(s) of one code or a list of codes.

    Parameters
    ----------
    codes : int, str or iterable of them
        One ewoc code (gives a string) or several (gives a list, in order).
    label_type : {"full", "sampling"}
        ``label_full`` or ``sampling_label``.
    legend : Legend or pandas.DataFrame, optional
        The legend to use; default :func:`default_legend`. (Passed as the second positional argument, as
        before ``label_type`` existed, it is still taken as the legend.)
    unknown : str, optional
        Label for codes the legend lacks; default ``'unknown (<code>)'``. The reference client uses
        ``"Unknown"``.

    Returns
    -------
    str or list of str

    Raises
    ------
    BadParameterError
        When ``label_type`` is not ``"full"`` or ``"sampling"``.
    BadEwocCodeError
        When a code is not an ewoc code.
    LegendError
        When sampling labels are asked of a legend without a ``sampling_label`` column.
    """
    if isinstance(label_type, (Legend, pd.DataFrame)) and legend is None:
        label_type, legend = "full", label_type
    if not isinstance(label_type, str) or label_type not in LABEL_TYPES:
        raise BadParameterError(f"label_type {label_type!r} is not known; allowed: 'full' or 'sampling'")
    resolved = _as_legend(legend)
    if isinstance(codes, (int, str)) or (hasattr(codes, "dtype") and getattr(codes, "ndim", 1) == 0):
        return resolved.label(codes, label_type, unknown)
    return resolved.labels(codes, label_type, unknown)
