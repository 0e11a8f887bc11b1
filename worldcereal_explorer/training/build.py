"""The training-set steps in one call, in the order the CLI and the dashboard apply them."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import QueryCancelledError
from .balance import cap_per_class
from .dedup import deduplicate
from .mapping import map_classes
from .schemes import ClassScheme
from .season import season_filter
from .split import spatial_split

__all__ = ["build_training_set"]


def build_training_set(
    samples: Any,
    mapping: Mapping[Any, Any] | str | os.PathLike | ClassScheme | None = None,
    *,
    unmapped: str | None = None,
    other_label: str = "other",
    match: str | None = None,
    legend: Any = None,
    schemes_source: str | os.PathLike | None = None,
    season: Any = None,
    dedup: float | None = None,
    keep_duplicates: bool = False,
    max_per_class: int | None = None,
    min_per_class: int | None = None,
    split: Sequence[float] | str | None = None,
    block_h3_res: int = 5,
    seed: int = 0,
    cancel_event: Any = None,
) -> Any:
    """Turn samples into a training set: class mapping, season, de-duplication, cap per class, spatial split.

    Each step runs only when its option is given, in that order (the order of ``worldcereal-explorer samples``
    and of the dashboard's training panel); each records what it did in ``attrs`` for
    :meth:`~worldcereal_explorer.training.DatasetCard.build`::

        gdf = build_training_set(samples, "CROPTYPE24", season="04-09", dedup=10, max_per_class=5000,
                                 split=(0.7, 0.15, 0.15), seed=1)

    Parameters
    ----------
    samples
        GeoDataFrame of samples (as :meth:`RdmClient.get_samples` returns them).
    mapping
        Classes: a dict ``{ewoc_code: class}``, a CSV/JSON file, or a WorldCereal class scheme by name
        (``"CROPTYPE24"``, ``"LANDCOVER10"`` ...): see :func:`~worldcereal_explorer.training.map_classes`.
        ``None``: no mapping (the later steps work per ``ewoc_code``).
    unmapped, other_label, match, legend, schemes_source
        Passed to :func:`~worldcereal_explorer.training.map_classes`. ``unmapped`` defaults to ``"drop"`` for a
        scheme and ``"other"`` for a hand-written mapping; unmapped codes are reported either way (an
        :class:`~worldcereal_explorer.training.UnmappedCodesWarning` and the card), ``"error"`` refuses them.
    season
        Month window ``"MM-MM"`` (``"11-03"`` crosses the year end): :func:`season_filter`.
    dedup
        Tolerance in metres of the de-duplication across collections (:func:`deduplicate`); ``None``: none.
    keep_duplicates
        Flag duplicates in ``duplicate_of`` instead of dropping them.
    max_per_class, min_per_class
        Cap per class and the minimum below which a class is warned about (:func:`cap_per_class`).
    split
        Train/validation/test shares (:func:`spatial_split`); ``None``: no split.
    block_h3_res, seed
        H3 resolution of the split blocks; seed of the cap and the split.
    cancel_event
        A ``threading.Event``; when set, the build stops between steps with :class:`QueryCancelledError`.

    Returns
    -------
    geopandas.GeoDataFrame
        The training set, with ``downstream_class`` (when mapped) and ``split`` (when split).

    Raises
    ------
    BadParameterError
        For a bad option (the message names it and what is allowed), an unknown scheme name, or unmapped codes
        with ``unmapped="error"``.
    QueryCancelledError
        When ``cancel_event`` was set.
    """
    def check() -> None:
        if cancel_event is not None and cancel_event.is_set():
            raise QueryCancelledError("building the training set was cancelled")

    frame = samples
    check()
    if mapping is not None:
        frame = map_classes(frame, mapping, unmapped=unmapped, other_label=other_label, match=match, legend=legend,
                            schemes_source=schemes_source)
        check()
    if season is not None:
        frame = season_filter(frame, season)
        check()
    if dedup is not None:
        frame, _ = deduplicate(frame, dedup, keep_duplicates=keep_duplicates)
        check()
    if max_per_class is not None:
        frame = cap_per_class(frame, max_per_class, min_per_class=min_per_class, seed=seed)
        check()
    if split is not None:
        frame = spatial_split(frame, split, block_h3_res=block_h3_res, seed=seed)
    return frame
