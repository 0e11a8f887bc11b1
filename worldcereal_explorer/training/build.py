"""The training-set steps in one call, in the order the CLI and the dashboard apply them."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import BadParameterError, QueryCancelledError
from .balance import cap_per_class
from .dedup import deduplicate
from .mapping import map_classes
from .schemes import ClassScheme
from .season import season_filter
from .split import spatial_split

if TYPE_CHECKING:
    from ..rdm.query import RdmQuery

__all__ = ["QUERY_ATTR", "build_training_set"]

#: ``attrs`` key of a training set built from a query: the query's :meth:`~worldcereal_explorer.rdm.query.RdmQuery.to_dict`.
QUERY_ATTR = "query"


def build_training_set(
    samples: Any = None,
    mapping: Mapping[Any, Any] | str | os.PathLike | ClassScheme | None = None,
    *,
    query: RdmQuery | None = None,
    client: Any = None,
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

    or straight from a query, whose samples are fetched first::

        gdf = build_training_set(query=RdmQuery(bbox=(3, 50, 6, 52), min_quality_ct=70), client=client,
                                 mapping="CROPTYPE24", split=(0.7, 0.15, 0.15))

    Parameters
    ----------
    samples
        GeoDataFrame of samples (as :meth:`RdmClient.get_samples` returns them); ``None`` with ``query``: the
        query's samples, fetched with ``client``.
    mapping
        Classes: a dict ``{ewoc_code: class}``, a CSV/JSON file, or a WorldCereal class scheme by name
        (``"CROPTYPE24"``, ``"LANDCOVER10"`` ...): see :func:`~worldcereal_explorer.training.map_classes`.
        ``None``: no mapping (the later steps work per ``ewoc_code``).
    query
        The :class:`~worldcereal_explorer.rdm.query.RdmQuery` the samples come from: recorded as
        ``attrs["query"]`` (its ``to_dict()``) for the dataset card, and fetched when ``samples`` is ``None``.
    client
        The :class:`~worldcereal_explorer.rdm.client.RdmClient` that fetches the query's samples (``cancel_event``
        stops the fetch too).
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
        For a bad option (the message names it and what is allowed), an unknown scheme name, unmapped codes
        with ``unmapped="error"``, no ``samples`` and no ``query``, a ``query`` that is not an ``RdmQuery``, or
        a query to fetch without a ``client``.
    QueryCancelledError
        When ``cancel_event`` was set.
    """
    def check() -> None:
        if cancel_event is not None and cancel_event.is_set():
            raise QueryCancelledError("building the training set was cancelled")

    if query is not None:
        from ..rdm.query import RdmQuery

        if not isinstance(query, RdmQuery):
            raise BadParameterError(f"query={query!r} is not allowed; use an RdmQuery (worldcereal_explorer.RdmQuery)")
    if samples is None:
        if query is None:
            raise BadParameterError("build_training_set needs samples (a GeoDataFrame) or query=RdmQuery(...)")
        if client is None:
            raise BadParameterError("query= without samples needs client= (an RdmClient) to fetch them")
        check()
        samples = client.get_samples(query=query, progress=False, cancel_event=cancel_event)
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
    if query is not None:
        if frame is samples:  # no step ran: leave the caller's frame as it was
            frame = frame.copy()
        frame.attrs = {**frame.attrs, QUERY_ATTR: query.to_dict()}  # a new dict: attrs may be shared with the input
    return frame
