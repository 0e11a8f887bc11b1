"""Class balance: counts per class × collection × region, and stratified capping per class.

:func:`cap_per_class` keeps at most ``max_per_class`` samples of each class and spreads them as evenly as the
data allow: first across collections (each collection of a class gets an equal share; a collection with fewer
samples than its share gives the rest to the others: max-min fair "water filling"), then, within a collection,
across H3 cells the same way. Which samples of a cell are kept is decided by a pseudo-random priority fixed by
``seed`` and each sample's id, so the result does not depend on the row order.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BadParameterError
from ._common import check_h3_resolution, class_column, h3_cells, priority, record_step, require_columns

__all__ = ["ClassBalanceWarning", "below_minimum_message", "cap_per_class", "class_balance"]


class ClassBalanceWarning(UserWarning):
    """Some classes have fewer samples than asked for (:func:`cap_per_class` ``min_per_class``)."""


def below_minimum_message(minimum: int, counts: Mapping[str, int]) -> str | None:
    """The :class:`ClassBalanceWarning` text for the classes of ``counts`` (``{class: samples}``) under
    ``minimum``, in the order given; ``None`` when none is."""
    under = [(str(c), int(n)) for c, n in counts.items() if int(n) < minimum]
    if not under:
        return None
    return (f"{len(under)} class(es) have fewer than min_per_class={minimum} samples: "
            + ", ".join(f"{c} ({n})" for c, n in under))


def class_balance(
    samples: Any,
    *,
    by: Sequence[str] = ("downstream_class", "ref_id"),
    h3_resolution: int | None = None,
) -> pd.DataFrame:
    """Sample counts per class × collection (× region).

    Parameters
    ----------
    samples
        GeoDataFrame of samples. ``downstream_class`` in ``by`` falls back to ``ewoc_code`` when the samples
        have not been mapped.
    by
        Columns to count by.
    h3_resolution
        Also count by the H3 cell (``h3_cell`` column) of each sample's centroid at this resolution (0-15).

    Returns
    -------
    pandas.DataFrame
        One row per combination that occurs: the ``by`` columns (and ``h3_cell``), ``count`` and ``share`` (of
        the class total, when the class column is among ``by``), sorted by class then count descending.
    """
    keys = [class_column(samples) if b == "downstream_class" else b for b in by]
    require_columns(samples, keys, "class_balance")
    frame = pd.DataFrame({k: samples[k].to_numpy() for k in keys})
    if h3_resolution is not None:
        frame["h3_cell"] = h3_cells(samples, h3_resolution)
        keys = [*keys, "h3_cell"]
    if not keys:
        return pd.DataFrame({"count": [len(samples)]})
    counts = frame.groupby(keys, dropna=False, observed=True).size().rename("count").reset_index()
    first = keys[0]
    counts["share"] = counts["count"] / counts.groupby(first, dropna=False)["count"].transform("sum")
    return counts.sort_values([first, "count"], ascending=[True, False], kind="stable").reset_index(drop=True)


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise BadParameterError(f"{name}={value!r} is not allowed; allowed: a whole number >= 1")
    return int(value)


def _round_robin_rank(group: np.ndarray, sub: np.ndarray, tiebreak_sub: np.ndarray, order_in_sub: np.ndarray
                      ) -> np.ndarray:
    """Rank of each row in its ``group`` when the group's ``sub``-groups are visited round-robin.

    Rows of one sub-group are taken in ``order_in_sub`` order (0, 1, 2 ...); a round takes one row of every
    sub-group still holding rows, sub-groups in ``tiebreak_sub`` order.
    """
    order = np.lexsort((tiebreak_sub, order_in_sub, group))
    rank = np.empty(len(group), dtype=np.int64)
    sorted_group = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_group)) + 1]
    position = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    rank[order] = position
    return rank


def _within_rank(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """0-based position of each row within ``group`` when sorted by ``key``."""
    order = np.lexsort((key, group))
    rank = np.empty(len(group), dtype=np.int64)
    sorted_group = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_group)) + 1] if len(group) else np.array([], dtype=int)
    rank[order] = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    return rank


def cap_per_class(samples: Any, max_per_class: int, *, min_per_class: int | None = None, seed: int = 0,
                  h3_resolution: int = 3, warn: bool = True) -> Any:
    """Keep at most ``max_per_class`` samples per class, spread over collections and H3 cells.

    Parameters
    ----------
    samples
        GeoDataFrame; the class is ``downstream_class`` if present, else ``ewoc_code``. Without ``ref_id`` all
        samples count as one collection.
    max_per_class
        Cap per class (>= 1). Classes with fewer samples keep all of them.
    min_per_class
        Warn (:class:`ClassBalanceWarning`, naming them) about classes with fewer samples than this.
        Samples flagged by ``deduplicate(..., keep_duplicates=True)`` (``duplicate_of`` set) do not count: they
        stay exactly when the sample they duplicate stays.
    seed
        Seed of the pseudo-random choice within a cell; the same samples and seed give the same result.
    h3_resolution
        Resolution of the cells the samples are spread over (0-15; 3 ≈ 12,000 km² cells).
    warn
        ``False``: name the classes under the minimum only in the step record (``below_minimum``), for a
        caller that shows the record itself (the dashboard's training panel, on a worker thread, where
        ``warnings.catch_warnings`` is not thread-safe).

    Returns
    -------
    geopandas.GeoDataFrame
        The kept samples in their original order; the step (counts before/after per class, classes under the
        minimum) is recorded in ``attrs``.

    Raises
    ------
    BadParameterError
        For a cap or minimum that is not a whole number >= 1, or a bad resolution.
    """
    cap = _check_count(max_per_class, "max_per_class")
    minimum = None if min_per_class is None else _check_count(min_per_class, "min_per_class")
    if minimum is not None and minimum > cap:
        raise BadParameterError(
            f"min_per_class={minimum} is larger than max_per_class={cap}; allowed: min_per_class <= max_per_class"
        )
    check_h3_resolution(h3_resolution, "h3_resolution")
    if "duplicate_of" in samples.columns and samples["duplicate_of"].notna().any():
        return _cap_with_flagged_duplicates(samples, cap, minimum, seed, h3_resolution, warn)
    column = class_column(samples)
    n = len(samples)
    classes, cls = np.unique(samples[column].astype(str).to_numpy(), return_inverse=True)
    refs = samples["ref_id"].astype(str).to_numpy() if "ref_id" in samples.columns else np.zeros(n, dtype=object)
    _, coll = np.unique(refs, return_inverse=True)
    _, cell = np.unique(h3_cells(samples, h3_resolution).astype(str), return_inverse=True)
    prio = priority(samples, seed)
    # stratum ids: (class, collection, cell) and (class, collection)
    cc = cls.astype(np.int64) * (coll.max(initial=0) + 1) + coll
    ccc = cc * (cell.max(initial=0) + 1) + cell
    mix = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        cell_tiebreak = (ccc.astype(np.uint64) * mix) ^ np.uint64(seed & 0xFFFFFFFF)
        coll_tiebreak = (cc.astype(np.uint64) * mix) ^ np.uint64((seed * 7919) & 0xFFFFFFFF)
    in_cell = _within_rank(ccc, prio)  # order of a sample inside its cell
    in_coll = _round_robin_rank(cc, ccc, cell_tiebreak, in_cell)  # round-robin over the collection's cells
    in_class = _round_robin_rank(cls.astype(np.int64), cc, coll_tiebreak, in_coll)  # over the class's collections
    keep = in_class < cap
    before = np.bincount(cls, minlength=len(classes))
    after = np.bincount(cls[keep], minlength=len(classes))
    under = [str(c) for c, b in zip(classes, before, strict=True) if minimum is not None and b < minimum]
    message = None if minimum is None else below_minimum_message(
        minimum, {str(c): int(b) for c, b in zip(classes, before, strict=True)})
    if message and warn:
        warnings.warn(message, ClassBalanceWarning, stacklevel=2)
    out = samples.loc[keep].copy()
    return record_step(out, {
        "step": "cap_per_class",
        "class_column": column,
        "max_per_class": cap,
        "min_per_class": minimum,
        "seed": int(seed),
        "h3_resolution": int(h3_resolution),
        "before": {str(c): int(b) for c, b in zip(classes, before, strict=True)},
        "after": {str(c): int(a) for c, a in zip(classes, after, strict=True)},
        "below_minimum": under,
    })


def _cap_with_flagged_duplicates(samples: Any, cap: int, minimum: int | None, seed: int, h3_resolution: int,
                                 warn: bool) -> Any:
    """Cap the samples :func:`deduplicate` kept; a flagged duplicate stays exactly when its kept sample does."""
    flagged = samples["duplicate_of"].notna().to_numpy()
    positions = np.flatnonzero(~flagged)
    kept = cap_per_class(samples.iloc[positions].reset_index(drop=True), cap, min_per_class=minimum, seed=seed,
                         h3_resolution=h3_resolution, warn=warn)
    stay = np.zeros(len(samples), dtype=bool)
    stay[positions[kept.index.to_numpy()]] = True
    kept_ids = set(samples["sample_id"].astype(str).to_numpy()[stay])
    stay |= flagged & samples["duplicate_of"].astype(str).isin(kept_ids).to_numpy()
    out = samples.loc[stay].copy()
    step = kept.attrs["training_steps"][-1]
    return record_step(out, {**step, "flagged_duplicates_kept": int((stay & flagged).sum())})
